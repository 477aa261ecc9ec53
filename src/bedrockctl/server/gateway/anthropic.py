"""The Anthropic Messages API: ``POST /v1/messages`` (JSON or SSE; tools, images, ``anthropic-beta``) and
``POST /v1/messages/count_tokens``, served by Bedrock's Anthropic models (InvokeModel /
InvokeModelWithResponseStream / CountTokens) under the gateway's keys (``x-api-key`` or ``Authorization:
Bearer``), budgets, limits and audit (protocol ``anthropic``); errors in Anthropic's shape."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from bedrockctl.runtime.calls import billed_invoke_usage
from bedrockctl.runtime.resolve import Target, canonical_model_id
from bedrockctl.runtime.types import Usage
from bedrockctl.runtime.wire import RUNTIME, AwsCallError, EventDecoder, WireRequest
from bedrockctl.server.gateway import anthropic_wire as wire
from bedrockctl.server.gateway import errors, validate
from bedrockctl.server.gateway.admission import Admission
from bedrockctl.server.gateway.auth import authenticate_request
from bedrockctl.server.gateway.aws_routes import count_upstream
from bedrockctl.server.gateway.http import client_of, close_unread, model_path, request_id, respond
from bedrockctl.server.gateway.pipeline import Gateway
from bedrockctl.server.gateway.streaming import CLIENT_CLOSED, ClientWatch, PartialUsage
from bedrockctl.store.keys import KeyRecord

PROTOCOL = "anthropic"
_SSE = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
_JSON = (b"content-type", b"application/json")


def _anthropic_model(model: str) -> None:
    wanted = canonical_model_id(model)
    if not (wanted.startswith("arn:") or "anthropic." in wanted or "claude" in wanted.lower()):
        raise errors.validation(
            f"model: {model} is not an Anthropic model; the Messages API serves Claude models only "
            "(use /v1/chat/completions or the Bedrock routes for other models).",
            openai_status=404,
        )


async def _prologue(
    gw: Gateway, scope: dict[str, Any], receive: Any, headers: dict[bytes, bytes]
) -> tuple[KeyRecord, dict[str, Any]]:
    if scope["method"] != "POST":
        raise close_unread(errors.unknown_operation(scope["method"], scope["path"]), headers)
    key, body = await authenticate_request(gw.keys, gw.opts, scope, headers, receive)
    return key, wire.parse(body)


async def _refused(
    gw: Gateway,
    send: Any,
    err: errors.GatewayError,
    adm: Admission | None,
    who: tuple[KeyRecord | None, str, str | None, str | None, str, float],
) -> None:
    """Audit ``err`` (settled if the request was admitted, else refused) and answer it in Anthropic's shape."""
    key, operation, model, client, rid, started = who
    if adm is not None:
        gw.finish(adm, Usage(), err.audit_status, err.openai_status)
    else:
        gw.refuse(key, PROTOCOL, operation, model, client, rid, err, started)
    await respond(send, *wire.error(err, rid))


async def messages(gw: Gateway, scope: dict[str, Any], receive: Any, send: Any) -> None:
    started = time.perf_counter()
    rid = request_id()
    headers: dict[bytes, bytes] = dict(scope["headers"])
    client = client_of(scope, headers)
    key: KeyRecord | None = None
    adm: Admission | None = None
    model: str | None = None
    stream = False
    est = 0
    try:
        key, req = await _prologue(gw, scope, receive, headers)
        model = str(req["model"])
        _anthropic_model(model)
        stream = bool(req.get("stream"))
        limits = validate.model_limits(model)
        doc, max_tokens = wire.to_bedrock(
            req, wire.betas(headers), limits.default_max_tokens(gw.opts.default_max_tokens)
        )
        validate.native(doc, (("max_tokens",),), limits)
        operation = "InvokeModelWithResponseStream" if stream else "InvokeModel"
        est = limits.estimator.native(doc)
        adm = await gw.admit(key, PROTOCOL, operation, model, est, max_tokens, client, rid)
        payload = orjson.dumps(doc)
        suffix = "invoke-with-response-stream" if stream else "invoke"

        def build(t: Target) -> WireRequest:
            return WireRequest(
                RUNTIME,
                operation,
                model_path(t.model_id, suffix),
                payload,
                {"Content-Type": "application/json", "Accept": "application/json"},
            )

        resp = await gw.send(adm, build)
    except errors.GatewayError as err:
        await _refused(gw, send, err, adm, (key, "Messages", model, client, rid, started))
        return
    if not stream:
        try:
            raw = await resp.read()
            out, usage = wire.message(raw, model)
        except (AwsCallError, ValueError) as exc:
            gw.finish(adm, Usage(), getattr(exc, "code", "BadUpstreamResponse"), 502)
            await respond(send, *wire.error(errors.upstream("BadUpstreamResponse", str(exc), 502), rid))
            return
        billed = billed_invoke_usage(resp.headers, raw)  # Bedrock's count, when it sent one
        gw.finish(adm, billed if billed.total_tokens else usage, "ok", 200)
        await respond(send, 200, [_JSON, (b"request-id", rid.encode())], out)
        return
    await _stream(gw, adm, resp, receive, send, model, rid, est)


async def _stream(
    gw: Gateway, adm: Admission, resp: Any, receive: Any, send: Any, model: str, rid: str, est: int
) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [*_SSE, (b"request-id", rid.encode())]})
    decoder = EventDecoder("InvokeModelWithResponseStream", adm.target.region if adm.target else "")
    writer = wire.StreamWriter(model)
    partial = PartialUsage(est, adm.max_tokens)
    status, http_status = "incomplete", 200
    watch = ClientWatch(receive)
    try:
        async for chunk in resp.chunks:
            out = []
            for etype, payload in decoder.feed(chunk):
                partial.feed(etype, payload)
                if etype == "chunk":
                    out.append(writer.chunk(payload))
            if out:
                await send({"type": "http.response.body", "body": b"".join(out), "more_body": True})
        if writer.finished:
            status = "ok"
    except AwsCallError as err:
        status = err.code
        doc = wire.error_doc(errors.upstream(err.code, err.message, err.status))
        await send({"type": "http.response.body", "body": wire.sse("error", doc), "more_body": True})
    except asyncio.CancelledError:
        if not watch.absorb():
            raise
        http_status = CLIENT_CLOSED
    finally:
        watch.stop()
        await resp.close()
        gw.finish(adm, writer.usage if writer.finished else partial.usage(), status, http_status)
    if http_status == 200:
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def count_tokens(gw: Gateway, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``/v1/messages/count_tokens``: Bedrock CountTokens on the InvokeModel body the request would send; free,
    counted against the key's request limits, audited."""
    started = time.perf_counter()
    rid = request_id()
    headers: dict[bytes, bytes] = dict(scope["headers"])
    client = client_of(scope, headers)
    key: KeyRecord | None = None
    adm: Admission | None = None
    model: str | None = None
    try:
        key, req = await _prologue(gw, scope, receive, headers)
        model = str(req["model"])
        _anthropic_model(model)
        payload = wire.count_tokens_request(req, wire.betas(headers))
        adm = await gw.admit(key, PROTOCOL, "CountTokens", model, 0, 0, client, rid)
        tokens = _input_tokens(await count_upstream(gw, adm, payload))
    except errors.GatewayError as err:
        await _refused(gw, send, err, adm, (key, "CountTokens", model, client, rid, started))
        return
    gw.finish(adm, Usage(), "ok", 200)
    await respond(send, 200, [_JSON, (b"request-id", rid.encode())], orjson.dumps({"input_tokens": tokens}))


def _input_tokens(data: bytes) -> int:
    try:
        return int(orjson.loads(data)["inputTokens"])
    except (ValueError, KeyError, TypeError):
        raise errors.upstream("BadUpstreamResponse", "CountTokens answered without inputTokens", 502) from None
