"""One ConverseStream call through the gateway, in process: the console hands a request to the ``bedrockctl serve``
app (the ASGI app the gateway's routes live in) exactly as a client's request arrives there, so it passes the same
route, authentication, admission (model rules, budgets, limits), upstream call, settlement and audit.

The request is signed with the caller's gateway access key (SigV4, botocore's ``SigV4Auth``, as the gateway verifies
it). The answer's AWS eventstream is decoded as it comes (``runtime.wire.EventDecoder``) into ``Delta`` text pieces,
then one ``Finished`` or ``Failed``. httpx's ASGI transport would buffer the whole answer, hence this small driver:
a queue between the app's ``send`` and the reader. A reader that stops early (the browser left) tells the gateway
the client disconnected, and the gateway ends the upstream call and settles what it used.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from bedrockctl.runtime.wire import AwsCallError, EventDecoder

log = logging.getLogger("bedrockctl.console")
HOST = "gateway.console.internal"  # the Host the in-process request carries (signed, as any client's)


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class Finished:
    stop_reason: str
    usage: dict[str, Any]


@dataclass(frozen=True)
class Failed:
    status: int
    code: str
    message: str
    request_id: str


Event = Delta | Finished | Failed


def signed_scope(
    *,
    key_id: str,
    secret: str,
    region: str,
    model: str,
    body: bytes,
    client: tuple[str, int] | None,
) -> dict[str, Any]:
    """The ASGI scope of ``POST /model/{model}/converse-stream`` signed with the key's SigV4 pair."""
    raw_path = f"/model/{quote(model, safe='')}/converse-stream"
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}{raw_path}",
        data=body,
        headers={
            "Host": HOST,
            "Content-Type": "application/json",
            "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest(),
        },
    )
    request.context["timestamp"] = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    SigV4Auth(ReadOnlyCredentials(key_id, secret, None), "bedrock", region).add_auth(request)
    headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in request.headers.items()]
    headers.append((b"content-length", str(len(body)).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/model/{model}/converse-stream",
        "raw_path": raw_path.encode("latin-1"),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": client,
        "server": (HOST, 80),
        "state": {},
    }


async def converse_stream(app: Any, scope: dict[str, Any], body: bytes, region: str) -> AsyncIterator[Event]:
    """Run ``app`` on ``scope`` and yield the answer as events (the last one is ``Finished`` or ``Failed``)."""
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    gone = asyncio.Event()
    body_sent = False

    async def receive() -> dict[str, Any]:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        await queue.put(message)

    task = asyncio.create_task(app(scope, receive, send))
    task.add_done_callback(lambda _: queue.put_nowait(None))
    try:
        async for event in _events(queue, region):
            yield event
    finally:
        gone.set()  # the reader is done (or left): a stream still running sees its client disconnect
        await asyncio.wait([task])
        if not task.cancelled() and task.exception() is not None:  # the reader was told (Failed); keep the cause
            log.error("the gateway failed on a console call", exc_info=task.exception())


async def _events(queue: asyncio.Queue[dict[str, Any] | None], region: str) -> AsyncIterator[Event]:
    start = await queue.get()
    if start is None or start["type"] != "http.response.start":
        yield Failed(502, "InternalServerException", "The gateway gave no answer.", "")
        return
    status = int(start["status"])
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])}
    if status != 200:
        data = b""
        while (msg := await queue.get()) is not None:
            data += msg.get("body", b"")
        yield _failure(status, headers, data)
        return
    decoder = EventDecoder("ConverseStream", region)
    stop_reason, usage, finished = "", {}, False
    try:
        while (msg := await queue.get()) is not None:
            for etype, payload in decoder.feed(msg.get("body", b"")):
                if etype == "contentBlockDelta":
                    text = (payload.get("delta") or {}).get("text")
                    if text:
                        yield Delta(str(text))
                elif etype == "messageStop":
                    stop_reason = str(payload.get("stopReason", ""))
                elif etype == "metadata":
                    usage, finished = dict(payload.get("usage") or {}), True
    except AwsCallError as err:
        yield Failed(502, err.code, err.message, headers.get("x-amzn-requestid", ""))
        return
    if not finished:
        yield Failed(502, "IncompleteStream", "The answer stopped before its end.", headers.get("x-amzn-requestid", ""))
        return
    yield Finished(stop_reason, usage)


def _failure(status: int, headers: dict[str, str], data: bytes) -> Failed:
    """The gateway's error answer (Bedrock's shape: ``{"message": ...}`` and ``x-amzn-errortype``)."""
    try:
        doc = orjson.loads(data) if data else {}
    except orjson.JSONDecodeError:
        doc = {}
    message = str(doc.get("message") or doc.get("Message") or "") if isinstance(doc, dict) else ""
    code = headers.get("x-amzn-errortype", "").split(":", 1)[0] or f"HTTP{status}"
    return Failed(status, code, message or data.decode("utf-8", "replace")[:500], headers.get("x-amzn-requestid", ""))
