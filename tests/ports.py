"""Start a server process on a free port without losing the race for it.

Picking a free port and handing it to a child leaves a window in which another process (a parallel test, a
client's ephemeral port) can take it; the child then dies with "address already in use". ``spawn_listening``
tries again on a new port when that happens, and returns once the child accepts connections."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any

IN_USE = ("address already in use", "Errno 98")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def spawn_listening(
    command: Callable[[int], list[str]],
    *,
    host: str = "127.0.0.1",
    attempts: int = 5,
    timeout: float = 60.0,
    **popen: Any,
) -> tuple[subprocess.Popen[Any], int]:
    """``Popen(command(port), **popen)`` once it listens on ``host:port``; stderr must be piped (``popen``) for a
    lost race to be recognised. A child that exits for another reason is returned as is (the caller asserts)."""
    for _ in range(attempts):
        port = free_port(host)
        proc: subprocess.Popen[Any] = subprocess.Popen(command(port), **popen)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr is not None else ""
                text = err.decode(errors="replace") if isinstance(err, bytes) else str(err)
                if any(marker in text for marker in IN_USE):
                    break  # another process took the port first: try a new one
                raise RuntimeError(f"the server exited ({proc.returncode}): {text[-2000:]}")
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return proc, port
            except OSError:
                time.sleep(0.1)
        else:
            proc.kill()
            raise RuntimeError(f"the server did not listen on {host}:{port} within {timeout} s")
    raise RuntimeError(f"no free port after {attempts} attempts")
