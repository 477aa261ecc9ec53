"""HTTP/2 on the sandbox's port, beside werkzeug's HTTP/1.1: h2c with prior knowledge, h2 by ALPN over TLS.

werkzeug's server speaks HTTP/1.1 only, and the AWS SDK for JavaScript v3 sends Bedrock Runtime's streaming
operations (ConverseStream, InvokeModelWithResponseStream) only over HTTP/2. The keep-alive handler
(``http11.KeepAliveRequestHandler``) looks at each new connection: one that chose ``h2`` by ALPN (over TLS) or
opens with the HTTP/2 connection preface (cleartext; peeked, not read) is handed to ``H2Bridge``, which serves the
same WSGI app over HTTP/2 with hypercorn (its h2 stack; a2wsgi runs the WSGI app in a thread pool) on a private
loopback listener in a thread of its own, and copies the bytes between the client's socket and a connection to
that listener both ways until either side closes. Every other connection stays with werkzeug, unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import selectors
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from typing import Any

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# Requests served at once over HTTP/2 (each WSGI call holds a thread, as on the HTTP/1.1 side: injected latency
# sleeps in the handler).
MAX_THREADS = 256
_CHUNK = 65536
_GOAWAY = 0x7


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context for ``cert``/``key`` that offers HTTP/2 and HTTP/1.1 by ALPN."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


def speaks_h2(sock: socket.socket) -> bool:
    """Whether the client chose HTTP/2: by ALPN over TLS, else by opening with the preface (prior knowledge)."""
    if isinstance(sock, ssl.SSLSocket):
        return sock.selected_alpn_protocol() == "h2"
    return opens_with_preface(sock)


def opens_with_preface(sock: socket.socket) -> bool:
    """Whether the client's first bytes are the HTTP/2 preface; reads nothing (MSG_PEEK). An HTTP/1.1 request
    line differs from it in its first byte, so only a client that is sending the preface is waited for."""
    try:
        head = sock.recv(len(PREFACE), socket.MSG_PEEK)
        if not head or not PREFACE.startswith(head):
            return False
        if len(head) < len(PREFACE):
            head = sock.recv(len(PREFACE), socket.MSG_PEEK | socket.MSG_WAITALL)
    except OSError:
        return False
    return head == PREFACE


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def as_werkzeug_gives_it(app: WSGIApp) -> WSGIApp:
    """``app`` with the environ werkzeug's handler gives it (http11.py), from a2wsgi's: the request target as sent in
    ``RAW_URI`` (model ARNs arrive percent-encoded in one path segment) and the whole body with its length (an
    HTTP/2 request need not send content-length)."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        scope = environ["asgi.scope"]
        target = scope.get("raw_path") or environ["PATH_INFO"].encode("latin-1")
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        environ["RAW_URI"] = environ["REQUEST_URI"] = target.decode("latin-1")
        body = environ["wsgi.input"].read()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return app(environ, start_response)

    return wsgi


def _quiet_cancellation(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """hypercorn's connection tasks are cancelled when the bridge stops; asyncio reports each as an error."""
    if not isinstance(context.get("exception"), asyncio.CancelledError):
        loop.default_exception_handler(context)


class ClientFrames:
    """The client's side of an HTTP/2 connection, frame by frame, less its GOAWAY frames.

    hypercorn (0.18) closes the connection as soon as the client sends GOAWAY, dropping the responses still in
    flight, where RFC 9113 (6.8) has the server finish the streams the client already opened. The AWS SDK for
    JavaScript v3 opens a session per request and closes it (GOAWAY) right after sending the request, so its
    responses were lost. Holding the GOAWAY back changes nothing else: the client closes the socket once its
    responses are in, and the bridge then closes hypercorn's side."""

    def __init__(self) -> None:
        self._pending = b""
        self._preface = len(PREFACE)  # bytes of the preface still to pass through

    def feed(self, data: bytes) -> bytes:
        if self._preface:
            head, data = data[: self._preface], data[self._preface :]
            self._preface -= len(head)
            return head + self.feed(data) if data else head
        buf = self._pending + data
        out = bytearray()
        at = 0
        while len(buf) - at >= 9:
            end = at + 9 + int.from_bytes(buf[at : at + 3], "big")
            if end > len(buf):
                break
            if buf[at + 3] != _GOAWAY:
                out += buf[at:end]
            at = end
        self._pending = buf[at:]
        return bytes(out)


class H2Bridge:
    """hypercorn serving ``app`` (WSGI) over HTTP/2 on 127.0.0.1:<private port>, started on first use."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._address: tuple[str, int] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def address(self) -> tuple[str, int]:
        with self._lock:
            if self._address is None:
                self._start()
            assert self._address is not None
            return self._address

    def _start(self) -> None:
        from a2wsgi import WSGIMiddleware
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        address = listener.getsockname()
        config = Config()
        config.bind = [f"fd://{listener.detach()}"]  # hypercorn owns the socket from here on
        config.accesslog = None
        config.loglevel = "WARNING"
        config.graceful_timeout = 1
        config.include_server_header = False
        config.keep_alive_timeout = 75  # as the HTTP/1.1 side
        app: Any = WSGIMiddleware(as_werkzeug_gives_it(self.app), workers=MAX_THREADS)  # type: ignore[arg-type]
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_quiet_cancellation)
        stopped = asyncio.Event()
        ready = threading.Event()

        async def main() -> None:
            ready.set()
            await serve(app, config, mode="asgi", shutdown_trigger=stopped.wait)

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(main())
            finally:
                app.executor.shutdown(wait=False, cancel_futures=True)
                loop.close()

        self._loop, self._stopped = loop, stopped
        self._thread = threading.Thread(target=run, name="bedrockctl-sandbox-h2", daemon=True)
        self._thread.start()
        ready.wait(10)
        self._address = address

    def splice(self, client: socket.socket) -> None:
        """Copy bytes between ``client`` and a new connection to hypercorn until either side closes (blocks the
        calling thread, the connection's own)."""
        upstream = socket.create_connection(self.address())
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.settimeout(None)
        peer = {client: upstream, upstream: client}
        frames = ClientFrames()
        with selectors.DefaultSelector() as sel, upstream:
            sel.register(client, selectors.EVENT_READ)
            sel.register(upstream, selectors.EVENT_READ)
            while True:
                for key, _ in sel.select():
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = src.recv(_CHUNK)
                        while isinstance(src, ssl.SSLSocket) and src.pending():  # decrypted, unseen by select
                            data += src.recv(src.pending())
                        if data:
                            peer[src].sendall(frames.feed(data) if src is client else data)
                    except OSError:
                        data = b""
                    if not data:
                        with contextlib.suppress(OSError):
                            peer[src].shutdown(socket.SHUT_WR)
                        return

    def stop(self) -> None:
        with self._lock:
            loop, stopped, thread = self._loop, self._stopped, self._thread
            self._address = self._loop = self._stopped = self._thread = None
        if loop is not None and stopped is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stopped.set)
        if thread is not None:
            thread.join(timeout=5)
