"""The floor: uvicorn (httptools, uvloop) + raw ASGI that forwards /model/* to the upstream with the same pooled,
SigV4-signing transport as the gateway, and nothing else (no auth, budgets, limits, audit)."""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

from bedrockctl.aws.session import SessionFactory
from bedrockctl.runtime.wire import RUNTIME, WireRequest
from bedrockctl.server.gateway.http import read_body
from bedrockctl.server.gateway.upstream import FastTransport
from bedrockctl.settings import AwsSettings

transport = FastTransport(SessionFactory(AwsSettings(region="us-east-1")))


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    op = "ConverseStream" if scope["path"].endswith("-stream") else "Converse"
    resp = await transport.send(WireRequest(RUNTIME, op, scope["raw_path"].decode(), body), "us-east-1")
    headers = [(k.encode(), v.encode()) for k, v in resp.headers.items() if k in ("content-type", "x-amzn-requestid")]
    await send({"type": "http.response.start", "status": resp.status, "headers": headers})
    async for chunk in resp.chunks:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await resp.close()
    await send({"type": "http.response.body", "body": b""})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
    )
