"""The gateway's upstream transport: the runtime's ``AsyncTransport`` contract (``send(WireRequest, region) ->
AsyncResponse``) at a fraction of its CPU. Requests are signed by ``sigv4.SigV4Signer`` (hashlib/hmac, proven
equal to botocore's ``SigV4Auth`` by a property test, ``tests/gateway/test_sigv4_botocore.py``; credentials are
re-read every 30 s so refreshing credentials keep working). HTTP/1.1 keep-alive connections are asyncio protocols
parsed by httptools (the C parser uvicorn uses). The sandbox the tests send to does not verify signatures.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httptools

from bedrockctl.runtime.transport import AsyncResponse
from bedrockctl.runtime.wire import SIGNING_NAME, AwsCallError, WireRequest, endpoint, parse_error
from bedrockctl.server.gateway.sigv4 import SigV4Signer, amz_date, host_header


async def _within(fut: asyncio.Future[None], timeout: float) -> None:
    """``await asyncio.wait_for(fut, timeout)`` for a plain future, without wait_for's per-call task machinery."""
    if fut.done():
        return fut.result()
    handle = fut.get_loop().call_later(timeout, _expire, fut, timeout)  # (its loop: no getpid() per call)
    try:
        await fut
    finally:
        handle.cancel()


def _expire(fut: asyncio.Future[None], timeout: float) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError(f"no answer from the upstream within {timeout:g} s"))


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.error: Exception | None = None

    def begin(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: dict[str, str] = {}
        self.chunks: deque[bytes] = deque()
        self.done = False
        self.keep = True
        self.waiter: asyncio.Future[None] | None = None
        self.head: asyncio.Future[None] = self.loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.loop = asyncio.get_running_loop()  # the connection's loop, once (get_running_loop calls getpid())

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not getattr(self, "done", True):
            self._fail(exc or ConnectionError("connection closed by the upstream"))

    def _fail(self, exc: Exception) -> None:
        self.error = exc
        self.closed = True
        if not self.head.done():
            self.head.set_exception(exc)
        self._wake()
        if self.transport is not None:
            self.transport.close()

    def _wake(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep = self.parser.should_keep_alive()
        if not self.head.done():
            self.head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.chunks.append(bytes(body))
        self._wake()

    def on_message_complete(self) -> None:
        self.done = True
        self._wake()


class FastTransport:
    def __init__(self, sessions: Any, *, max_idle: int = 256, timeout: float | None = None) -> None:
        self.sessions = sessions
        self.timeout = timeout or float(getattr(sessions.settings, "read_timeout", 120.0))
        self.connect_timeout = float(getattr(sessions.settings, "connect_timeout", 5.0))
        self.max_idle = max_idle
        self._idle: dict[tuple[str, int, bool], list[_Conn]] = {}
        self._bases: dict[tuple[str, str], tuple[str, str, int, bool, str]] = {}
        self._creds: tuple[float, Any] | None = None
        self._ssl: ssl.SSLContext | None = None
        self._signer = SigV4Signer()
        self._date: tuple[int, str] = (0, "")

    # -- credentials and signing ---------------------------------------------------------------------------
    def _frozen(self) -> Any:
        now = time.monotonic()
        if self._creds is None or now - self._creds[0] > 30:
            creds = self.sessions.session().get_credentials()
            if creds is None:
                raise AwsCallError("NoCredentials", "no AWS credentials")
            self._creds = (now, creds.get_frozen_credentials())
        return self._creds[1]

    def sign(self, req: WireRequest, host: str, region: str, target: str) -> dict[str, str]:
        """The headers to send ``req`` to ``target`` (path + query, percent-encoded) on ``host``, signed now."""
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, amz_date(now))
        headers = {"content-type": "application/json", "accept": "application/json"}
        for k, v in req.headers.items():
            headers[k.lower()] = v
        headers["host"] = host
        self._signer.sign(req.method, target, headers, req.body, self._frozen(), region, SIGNING_NAME, self._date[1])
        return headers

    # -- connections ---------------------------------------------------------------------------------------
    def _base(self, service: str, region: str) -> tuple[str, str, int, bool, str]:
        ck = (service, region)
        hit = self._bases.get(ck)
        if hit is None:
            base = endpoint(service, region, self.sessions.endpoint_for(service))
            url = urlsplit(base)
            tls = url.scheme == "https"
            port = url.port or (443 if tls else 80)
            hit = self._bases[ck] = (str(url.hostname), host_header(base), port, tls, url.path.rstrip("/"))
        return hit

    async def _connect(self, host: str, port: int, tls: bool) -> _Conn:
        idle = self._idle.get((host, port, tls))
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                return conn
        if tls and self._ssl is None:
            self._ssl = ssl.create_default_context()
        loop = asyncio.get_running_loop()
        _, conn = await asyncio.wait_for(
            loop.create_connection(
                _Conn, host, port, ssl=self._ssl if tls else None, server_hostname=host if tls else None
            ),
            self.connect_timeout,
        )
        return conn

    def _release(self, key: tuple[str, int, bool], conn: _Conn) -> None:
        if conn.keep and conn.done and not conn.closed and not conn.chunks:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.max_idle:
                idle.append(conn)
                return
        if conn.transport is not None:
            conn.transport.close()

    async def send(self, req: WireRequest, region: str) -> AsyncResponse:
        host, host_header, port, tls, prefix = self._base(req.service, region)
        path = prefix + req.path
        headers = self.sign(req, host_header, region, path)
        head = [f"{req.method} {path} HTTP/1.1\r\n"]
        head += [f"{k}: {v}\r\n" for k, v in headers.items()]
        head.append(f"content-length: {len(req.body)}\r\n\r\n")
        data = "".join(head).encode("latin-1") + req.body
        key = (host, port, tls)
        conn: _Conn | None = None
        try:
            conn = await self._connect(host, port, tls)
            conn.begin()
            assert conn.transport is not None
            conn.transport.write(data)
            await _within(conn.head, self.timeout)
        except (TimeoutError, OSError, httptools.HttpParserError, ConnectionError) as exc:
            if conn is not None and conn.transport is not None:
                conn.transport.close()  # never reuse a connection whose answer did not come
            code = "RequestTimeout" if isinstance(exc, asyncio.TimeoutError) else "ConnectionError"
            raise AwsCallError(
                code, f"{type(exc).__name__}: {exc}", None, None, req.operation, region, transport=True
            ) from exc

        async def chunks() -> AsyncIterator[bytes]:
            while True:
                while conn.chunks:
                    yield conn.chunks.popleft()
                if conn.done:
                    return
                if conn.error is not None or conn.closed:
                    raise AwsCallError(
                        "ConnectionError",
                        f"upstream connection lost: {conn.error}",
                        None,
                        None,
                        req.operation,
                        region,
                        transport=True,
                    )
                conn.waiter = conn.loop.create_future()
                try:
                    await _within(conn.waiter, self.timeout)
                except TimeoutError:
                    raise AwsCallError(
                        "RequestTimeout", "upstream read timed out", None, None, req.operation, region, transport=True
                    ) from None

        async def close() -> None:
            self._release(key, conn)

        if conn.status >= 300:
            body = b"".join([c async for c in chunks()])
            await close()
            raise parse_error(conn.status, conn.headers, body, req.operation, region)
        return AsyncResponse(conn.status, conn.headers, chunks(), close)

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for c in conns:
                if c.transport is not None:
                    c.transport.close()
        self._idle.clear()
