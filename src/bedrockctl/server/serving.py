"""Serve the gateway's ASGI app (``bedrockctl.server.asgi:app``) over HTTP/2 as well as HTTP/1.1.

``bedrockctl serve`` runs uvicorn (uvloop + httptools) for HTTP/1.1 alone, the default: it costs the least CPU per
request (bench/RESULTS.md, "gateway: HTTP/2"). ``--http 2`` runs granian (hyper, in Rust) instead, which serves
both on one port: over TLS the protocol is negotiated by ALPN (``h2``, ``http/1.1``); in cleartext a connection
that opens with the HTTP/2 preface is HTTP/2 with prior knowledge (h2c), any other is HTTP/1.1. The AWS SDK for
JavaScript v3 sends the streaming runtime operations (ConverseStream, InvokeModelWithResponseStream) only over
HTTP/2. Both servers run the same app with the same lifespan, in the environment ``bedrockctl serve`` prepared.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APP = "bedrockctl.server.asgi:app_behind_proxy"
HTTP_VERSIONS = ("1.1", "2")


@dataclass(frozen=True)
class Listener:
    """Where to serve: address, worker processes and the TLS files (none: cleartext)."""

    host: str
    port: int
    workers: int = 1
    log_level: str = "warning"
    tls_cert: str | None = None
    tls_key: str | None = None


def raise_open_file_limit() -> tuple[int, int]:
    """Raise this process's soft open-file limit to its hard limit (the workers inherit it) and return
    ``(before, after)``. Every open HTTP/1.1 stream holds two sockets in the process (the client's and the one to
    Bedrock), so the default soft limit of many hosts (1,024) would cap a gateway at about 500 open streams; the
    hard limit is what the host allows (systemd ``LimitNOFILE=``, the container runtime's ``nofile``)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    if target <= soft:
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):  # e.g. macOS, whose kernel caps the soft limit below an unlimited hard one
        return soft, soft
    return soft, target


def open_file_warning(limit: int) -> str | None:
    """A line for the operator when ``limit`` holds fewer than 4,000 open HTTP/1.1 streams."""
    streams = max(0, (limit - 100) // 2)
    if streams >= 4000:
        return None
    return (
        f"warning: the open-file limit ({limit}) holds about {streams} open HTTP/1.1 streams (two sockets each); "
        "raise the hard limit (ulimit -Hn, systemd LimitNOFILE=, the container's nofile ulimit) or serve "
        "--http 2, whose clients multiplex their streams on one connection\n"
    )


def check_http_version(http: str) -> None:
    from bedrockctl.errors import ValidationFailed

    if http not in HTTP_VERSIONS:
        raise ValidationFailed(
            f"--http {http!r}: the values are {' and '.join(HTTP_VERSIONS)}",
            remediation="Use --http 1.1 (HTTP/1.1 only) or --http 2 (HTTP/2 and HTTP/1.1 on one port).",
        )


def run_http2(listener: Listener, limits: dict[str, Any]) -> None:
    """Serve HTTP/2 and HTTP/1.1 until interrupted (blocks); ``limits``: ``hardening.granian_options``."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops, SSLProtocols
    from granian.log import LogLevels

    key = pkcs8_key(Path(listener.tls_key)) if listener.tls_key else None
    how = "h2 by ALPN over TLS" if listener.tls_cert else "h2c with prior knowledge"
    sys.stderr.write(f"HTTP/2 ({how}) and HTTP/1.1 on this port (granian)\n")
    Granian(
        APP,
        address=listener.host,
        port=listener.port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=listener.workers,
        loop=Loops.uvloop,
        http=HTTPModes.auto,  # HTTP/1.1 and HTTP/2: ALPN over TLS, the preface in cleartext
        websockets=False,
        log_level=LogLevels(listener.log_level),
        log_access=False,
        ssl_cert=Path(listener.tls_cert) if listener.tls_cert else None,
        ssl_key=key,
        ssl_protocol_min=SSLProtocols.tls12,  # as uvicorn (Python's ssl); granian's default is TLS 1.3 only
        workers_kill_timeout=10,
        **limits,
    ).serve()


def pkcs8_key(path: Path) -> Path:
    """``path`` if it holds a PKCS#8 PEM key (the only form granian reads), else a private temporary copy
    converted to PKCS#8 (a traditional RSA/EC key, as openssl writes by default), removed when serve exits."""
    data = path.read_bytes()
    if b"-----BEGIN PRIVATE KEY-----" in data:
        return path
    import atexit

    from cryptography.hazmat.primitives import serialization

    from bedrockctl.errors import ValidationFailed

    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(
            f"--tls-key {path}: not an unencrypted PEM private key ({exc})",
            remediation="Give the PEM private key of --tls-cert without a passphrase "
            "(openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem).",
        ) from None
    fd, name = tempfile.mkstemp(prefix="bedrockctl-tls-", suffix=".pem")
    with os.fdopen(fd, "wb") as fh:  # mkstemp: mode 0600
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    atexit.register(os.unlink, name)
    return Path(name)
