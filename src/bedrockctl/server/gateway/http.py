"""Raw ASGI helpers for the hot path (no framework objects per request)."""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import weakref
from typing import Any

from botocore.utils import percent_encode

from bedrockctl.server.gateway import errors

Headers = list[tuple[bytes, bytes]]
MAX_BODY = 32 << 20


class RequestIds:
    """Request ids, UUID-shaped (version 4 layout): a random per-process prefix and a counter, so that the hot path
    makes no syscall per request (uuid4's getrandom() was ~7% of the gateway's CPU under load). Nothing is drawn
    before the first id; the fork hook (registered then, not at import) only forgets the prefix, so a forked worker
    draws its own on its first id."""

    __slots__ = ("__weakref__", "_count", "_hooked", "_prefix")

    def __init__(self) -> None:
        self._prefix = ""
        self._count: itertools.count[int] = itertools.count()
        self._hooked = False

    def __call__(self) -> str:
        if not self._prefix:
            self._seed()
        return f"{self._prefix}{next(self._count) & 0xFFFFFFFFFFFF:012x}"

    def _seed(self) -> None:
        r = os.urandom(10).hex()
        self._count = itertools.count(int.from_bytes(os.urandom(5), "big"))
        self._prefix = f"{r[:8]}-{r[8:12]}-4{r[12:15]}-{'89ab'[int(r[15], 16) & 3]}{r[16:19]}-"
        if not self._hooked:
            self._hooked = True
            ref = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _forget(ref()))


def _forget(ids: RequestIds | None) -> None:
    if ids is not None:
        ids._prefix = ""


request_id = RequestIds()  # ``request_id()``: unique per process and across processes (seeded on first use)


@functools.lru_cache(maxsize=4096)
def model_path(model_id: str, suffix: str) -> str:
    """``/model/<percent-encoded id>/<suffix>`` (cached: the same few models on every request)."""
    return f"/model/{percent_encode(model_id)}/{suffix}"


async def read_body(receive: Any, timeout: float | None = None) -> bytes:
    """The request body, at most ``MAX_BODY`` bytes (else 413); with ``timeout``, a body that stalls that many
    seconds between two of its parts is answered 408 (the connection closes after either answer). A body already
    in whole (``body_complete``) is read without a timer: reading it cannot wait."""
    if timeout is None or body_complete(receive):
        return await _read_body(receive, None)
    try:
        async with asyncio.timeout(timeout) as deadline:
            return await _read_body(receive, (deadline, timeout))
    except TimeoutError:
        raise errors.body_timeout(timeout) from None


def body_complete(receive: Any) -> bool:
    """Whether the server has the request's whole body already (uvicorn's httptools request cycle, what ``receive``
    is bound to: the parser finished the message and its event is set), so that ``receive`` returns it at once.
    Any other server: False (read under the timeout)."""
    cycle = getattr(receive, "__self__", None)
    event = getattr(cycle, "message_event", None)
    return isinstance(event, asyncio.Event) and event.is_set() and getattr(cycle, "more_body", True) is False


async def _read_body(receive: Any, idle: tuple[asyncio.Timeout, float] | None) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            break
        chunk = msg.get("body", b"")
        if chunk:
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BODY:
                raise errors.too_large(MAX_BODY)
        if not msg.get("more_body", False):
            break
        if idle is not None:
            idle[0].reschedule(asyncio.get_running_loop().time() + idle[1])
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def close_unread(err: errors.GatewayError, headers: dict[bytes, bytes]) -> errors.GatewayError:
    """``err``, answered before the request's body was read: the connection closes after the answer (else the
    server would read and discard whatever body the client goes on sending)."""
    if b"content-length" in headers or b"transfer-encoding" in headers:
        err.headers.setdefault("connection", "close")
    return err


async def unknown_path(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """AWS's answer to a path no route serves: 404, ``x-amzn-ErrorType: UnknownOperationException``."""
    err = close_unread(errors.unknown_operation(scope["method"], scope["path"]), dict(scope["headers"]))
    await respond(send, *err.bedrock(request_id()))


async def respond(send: Any, status: int, headers: Headers, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def client_of(scope: dict[str, Any], headers: dict[bytes, bytes], trust_forwarded: bool = False) -> str | None:
    if trust_forwarded and b"x-forwarded-for" in headers:
        return headers[b"x-forwarded-for"].decode("latin-1").split(",")[0].strip()
    client = scope.get("client")
    return str(client[0]) if client else None
