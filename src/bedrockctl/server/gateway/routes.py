"""Wire the gateway into a ``ServerApp``: protocol routes, readiness, metrics, lifecycle."""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

from sqlalchemy import text

from bedrockctl.server.gateway import anthropic, aws_routes, bedrock, openai
from bedrockctl.server.gateway.audit import journaled
from bedrockctl.server.gateway.hardening import metrics_refusal
from bedrockctl.server.gateway.http import respond
from bedrockctl.server.gateway.metrics import CONTENT_TYPE
from bedrockctl.server.gateway.pipeline import Gateway

_JSON = [(b"content-type", b"application/json")]


def install(app: Any, ctx: Any, gateway: Gateway | None = None) -> Gateway:
    gw = gateway or Gateway(ctx)
    app.state["gateway"] = gw

    async def bedrock_route(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["path"].endswith("/count-tokens"):
            await aws_routes.count_tokens(gw, scope, receive, send)
            return
        await bedrock.handle(gw, scope, receive, send)

    async def chat(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await openai.chat(gw, scope, receive, send)

    async def embeddings(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await openai.embeddings(gw, scope, receive, send)

    async def models(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await openai.models(gw, scope, receive, send)

    async def readyz(scope: dict[str, Any], receive: Any, send: Any) -> None:
        def probe() -> None:
            with gw.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        problems = []
        try:
            await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, probe), 2.0)
        except Exception as exc:
            problems.append(f"store: {type(exc).__name__}")
        if gw.runtime.prices is None:
            problems.append("price book not loaded")
        doc: dict[str, Any] = {"status": "not ready", "problems": problems} if problems else {"status": "ready"}
        await respond(send, 503 if problems else 200, list(_JSON), json.dumps(doc).encode())

    async def metrics(scope: dict[str, Any], receive: Any, send: Any) -> None:
        refused = metrics_refusal(gw.opts, scope, dict(scope["headers"]))
        if refused is not None:
            status, message = refused
            await respond(send, status, list(_JSON), json.dumps({"message": message}).encode())
            return
        await respond(send, 200, [(b"content-type", CONTENT_TYPE.encode())], gw.metrics.render())

    app.mount("/model/", journaled(gw.audit, bedrock_route, "bedrock"))  # answers wait for their audit record
    for prefix in ("", "/openai"):
        app.route(f"{prefix}/v1/chat/completions", journaled(gw.audit, chat, "openai"))
        app.route(f"{prefix}/v1/embeddings", journaled(gw.audit, embeddings, "openai"))
        app.route(f"{prefix}/v1/models", models)
    for prefix in ("", "/anthropic"):
        app.route(f"{prefix}/v1/messages", journaled(gw.audit, functools.partial(anthropic.messages, gw), "anthropic"))
        app.route(f"{prefix}/v1/messages/count_tokens", functools.partial(anthropic.count_tokens, gw))
    for path in aws_routes.LISTS:
        app.route(path, functools.partial(aws_routes.control_list, gw))
    app.route("/readyz", readyz)
    app.route("/metrics", metrics)
    app.on_startup.append(gw.start)

    async def metrics_close() -> None:
        gw.metrics.close()

    app.on_shutdown.append(metrics_close)  # runs after gw.stop (shutdown hooks run in reverse)
    app.on_shutdown.append(gw.stop)
    return gw
