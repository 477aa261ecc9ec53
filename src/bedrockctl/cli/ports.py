"""The commands that listen (``serve``, ``sandbox``, ``demo``) check each port before they start anything, so a
busy port is one clear error naming the flag to change (BRC-CLI-003), not a server's traceback."""

from __future__ import annotations

import errno
import socket

from bedrockctl.cli.errors import PortUnavailable


def check_port(host: str, port: int, flag: str = "--port", host_flag: str = "--host") -> None:
    """Raise ``PortUnavailable`` when ``host:port`` cannot be listened on (port 0: the OS picks a free one).

    The probe binds the way the servers do (``SO_REUSEADDR``: a port left in TIME_WAIT counts as free) and closes
    at once; on Linux a port another process listens on fails that bind."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise _unavailable(exc, host, port, flag, host_flag) from exc


def _unavailable(exc: OSError, host: str, port: int, flag: str, host_flag: str) -> PortUnavailable:
    if exc.errno == errno.EADDRINUSE:
        return PortUnavailable(
            f"port {port} is in use on {host}; choose another with {flag}",
            remediation=f"Pass another port with {flag}, or stop what listens on it (`ss -ltnp 'sport = :{port}'`).",
            details={"port": port, "host": host, "flag": flag},
        )
    if exc.errno == errno.EACCES:
        return PortUnavailable(
            f"port {port} needs privileges on {host}; choose another with {flag}",
            remediation=f"Pass a port of 1024 or above with {flag}.",
            details={"port": port, "host": host, "flag": flag},
        )
    return PortUnavailable(
        f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another address with {host_flag}",
        remediation=f"Pass an address of this machine with {host_flag} (127.0.0.1, or 0.0.0.0 for every interface).",
        details={"port": port, "host": host, "flag": host_flag},
    )
