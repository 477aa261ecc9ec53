"""HTTP/1.1 keep-alive for the sandbox's werkzeug server.

werkzeug's development server closes every connection (``Connection: close``) because it cannot tell where an
unread request body ends. AWS endpoints keep connections alive and botocore pools them, so a closed connection per
call costs a TCP handshake on the client and a new server thread per request: under a concurrent scan that, not
the handlers, was the sandbox's cost. This handler reads the whole request body before the application runs
(so the stream is always at the next request line), then answers with ``Content-Length`` when the application
gives one (every buffered response does) or ``Transfer-Encoding: chunked`` (event streams), and keeps the
connection open unless the client asked to close it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import threading
from typing import Any

from werkzeug.serving import WSGIRequestHandler

from bedrockctl.sandbox.http2 import speaks_h2

_NO_BODY = {204, 304}


class KeepAliveRequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    # An idle keep-alive connection is closed after this many seconds (its thread ends with it).
    timeout = 75
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm holds the body back
    # until the client's delayed ACK (~40 ms) on a kept-alive connection.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        with _LOCK:
            _open_connections(self.server).add(self.connection)

    def handle(self) -> None:
        bridge = getattr(self.server, "h2_bridge", None)  # HTTP/2: see http2.py
        if bridge is not None and speaks_h2(self.connection):
            bridge.splice(self.connection)
            return
        super().handle()

    def finish(self) -> None:
        with _LOCK:
            _open_connections(self.server).discard(self.connection)
        super().finish()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if logging.getLogger("werkzeug").isEnabledFor(logging.INFO):
            super().log_request(code, size)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        try:
            body = _read_all(environ)
        except (OSError, ValueError):
            self.close_connection = True
            return
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)

        state: dict[str, Any] = {"status": None, "headers": None, "sent": False, "chunked": False}
        method = environ["REQUEST_METHOD"]

        def send_headers() -> None:
            status, headers = state["status"], state["headers"]
            code_str, _, msg = status.partition(" ")
            code = int(code_str)
            self.send_response(code, msg)
            keys = set()
            for key, value in headers:
                if key.lower() == "connection":
                    continue
                self.send_header(key, value)
                keys.add(key.lower())
            if "content-length" not in keys and method != "HEAD" and not (100 <= code < 200 or code in _NO_BODY):
                state["chunked"] = True
                self.send_header("Transfer-Encoding", "chunked")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            state["sent"] = True

        def write(data: bytes) -> None:
            if not state["sent"]:
                send_headers()
            if data:
                if state["chunked"]:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)
            self.wfile.flush()

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if exc_info and state["sent"]:
                raise exc_info[1].with_traceback(exc_info[2])
            state["status"], state["headers"] = status, headers
            return write

        try:
            result = self.server.app(environ, start_response)
            try:
                for data in result:
                    write(data)
                if not state["sent"]:
                    write(b"")
                if state["chunked"]:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
            finally:
                if hasattr(result, "close"):
                    result.close()
        except (TimeoutError, ConnectionError) as exc:
            self.close_connection = True
            self.connection_dropped(exc, environ)
        except Exception as exc:  # an application error: a 500 if nothing was sent yet, else drop the connection
            self.close_connection = True
            self.server.log("error", f"Error on request: {exc!r}")
            if not state["sent"]:
                payload = b"Internal Server Error"
                state["status"] = "500 INTERNAL SERVER ERROR"
                state["headers"] = [("Content-Type", "text/plain"), ("Content-Length", str(len(payload)))]
                with contextlib.suppress(OSError):
                    write(payload)


_LOCK = threading.Lock()


def _open_connections(server: Any) -> set[socket.socket]:
    conns: set[socket.socket] | None = getattr(server, "_bedrockctl_connections", None)
    if conns is None:
        conns = server._bedrockctl_connections = set()
    return conns


def close_connections(server: Any) -> None:
    """Shut the kept-alive connections down (after ``server.shutdown()``): a stopped sandbox answers nothing."""
    with _LOCK:
        conns = list(_open_connections(server))
    for conn in conns:
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)


def _read_all(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):  # chunked request body (werkzeug's DechunkedInput)
        return bytes(stream.read())
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length <= 0:
        return b""
    chunks, left = [], length
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            raise OSError("request body truncated")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
