"""Raw ASGI helpers for the hot path (no framework objects per request)."""

from __future__ import annotations

import functools
import itertools
import os
import weakref
from typing import Any

from botocore.utils import percent_encode

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


async def read_body(receive: Any) -> bytes:
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
                raise ValueError("request body too large")
        if not msg.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


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
