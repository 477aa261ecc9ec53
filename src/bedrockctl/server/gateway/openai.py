"""OpenAI-compatible routes: ``/v1/chat/completions`` (JSON or SSE with a final usage chunk, tools, images),
``/v1/embeddings`` (Titan / Cohere embeddings, float or base64), ``/v1/models``; OpenAI-shaped errors."""

from __future__ import annotations

import array
import asyncio
import base64
import time
from typing import Any

import orjson
from botocore.utils import percent_encode

from bedrockctl.runtime.calls import CallState
from bedrockctl.runtime.resolve import ALIASES, Target, canonical_model_id
from bedrockctl.runtime.types import Usage
from bedrockctl.runtime.wire import RUNTIME, AwsCallError, EventDecoder, WireRequest
from bedrockctl.server.gateway import errors, validate
from bedrockctl.server.gateway.admission import Admission
from bedrockctl.server.gateway.auth import authenticate_request
from bedrockctl.server.gateway.http import client_of, model_path, request_id, respond
from bedrockctl.server.gateway.openai_wire import ChunkWriter, from_converse, to_converse
from bedrockctl.server.gateway.pipeline import Gateway
from bedrockctl.server.gateway.routers import invoked_model
from bedrockctl.server.gateway.streaming import CLIENT_CLOSED, ClientWatch, PartialUsage
from bedrockctl.store.keys import KeyRecord

_SSE = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
_JSON = [(b"content-type", b"application/json")]


async def _prologue(gw: Gateway, scope: dict[str, Any], receive: Any) -> tuple[dict[bytes, bytes], bytes, KeyRecord]:
    headers = dict(scope["headers"])
    key, body = await authenticate_request(gw.keys, gw.opts, scope, headers, receive)
    return headers, body, key


def _json(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise errors.validation("We could not parse the JSON body of your request.") from None
    if not isinstance(doc, dict):
        raise errors.validation("The request body must be a JSON object.")
    return doc


async def chat(gw: Gateway, scope: dict[str, Any], receive: Any, send: Any) -> None:
    started = time.perf_counter()
    rid = request_id().replace("-", "")
    headers: dict[bytes, bytes] = dict(scope["headers"])
    client = client_of(scope, headers)
    key: KeyRecord | None = None
    adm: Admission | None = None
    model: str | None = None
    stream = False
    try:
        if scope["method"] != "POST":
            raise errors.GatewayError(405, "UnknownOperationException", "Use POST.")
        headers, body, key = await _prologue(gw, scope, receive)
        req = _json(body)
        model = req.get("model")
        if not isinstance(model, str) or not model:
            raise errors.validation("'model' is required.")
        limits = validate.model_limits(model)
        validate.chat(req, limits)
        stream = bool(req.get("stream"))
        include_usage = bool((req.get("stream_options") or {}).get("include_usage"))
        converse, max_tokens = to_converse(req, limits.default_max_tokens(gw.opts.default_max_tokens))
        operation = "ConverseStream" if stream else "Converse"
        est = limits.estimator.converse(converse)
        key.tag(converse)
        adm = await gw.admit(key, "openai", operation, model, est, max_tokens, client, rid)
        payload = orjson.dumps(converse)
        suffix = "converse-stream" if stream else "converse"

        def build(t: Target) -> WireRequest:
            return WireRequest(
                RUNTIME,
                operation,
                model_path(t.model_id, suffix),
                payload,
                {"Content-Type": "application/json"},
            )

        resp = await gw.send(adm, build)
    except errors.GatewayError as err:
        if adm is not None:
            gw.finish(adm, Usage(), err.audit_status, err.openai_status)
        else:
            gw.refuse(key, "openai", "ChatCompletions", model, client, rid, err, started)
        await respond(send, *err.openai(rid))
        return
    except ValueError as exc:
        await respond(send, *errors.validation(str(exc)).openai(rid))
        return
    if not stream:
        try:
            raw = orjson.loads(await resp.read())
        except (AwsCallError, orjson.JSONDecodeError) as exc:
            gw.finish(adm, Usage(), getattr(exc, "code", "BadUpstreamResponse"), 502)
            await respond(send, *errors.upstream("BadUpstreamResponse", str(exc), 502).openai(rid))
            return
        adm.invoked = invoked_model(raw)  # a prompt router's choice: the call is priced at it
        gw.finish(adm, Usage.from_converse(raw.get("usage")), "ok", 200)
        out_body = orjson.dumps(from_converse(raw, model, rid))
        await respond(send, 200, [*_JSON, (b"x-request-id", rid.encode())], out_body)
        return
    await send({"type": "http.response.start", "status": 200, "headers": [*_SSE, (b"x-request-id", rid.encode())]})
    writer = ChunkWriter(model, rid, include_usage)
    decoder = EventDecoder("ConverseStream", adm.target.region if adm.target else "")
    status, http_status = "incomplete", 200
    partial = PartialUsage(est, adm.max_tokens)
    watch = ClientWatch(receive)
    try:
        async for chunk in resp.chunks:
            events = list(decoder.feed(chunk))
            for etype, p in events:
                partial.feed(etype, p)
                if etype == "metadata":
                    adm.invoked = invoked_model(p)
            out = b"".join(writer.event(etype, p) for etype, p in events)
            if out:
                await send({"type": "http.response.body", "body": out, "more_body": True})
        if writer.finished:
            status = "ok"
    except AwsCallError as err:
        status = err.code
        doc = {"error": {"message": err.message, "type": "api_error", "param": None, "code": err.code}}
        await send({"type": "http.response.body", "body": b"data: " + orjson.dumps(doc) + b"\n\n", "more_body": True})
    except asyncio.CancelledError:
        if not watch.absorb():
            raise
        http_status = CLIENT_CLOSED
    finally:
        watch.stop()
        await resp.close()
        gw.finish(adm, Usage.from_converse(writer.usage) if writer.usage else partial.usage(), status, http_status)
    if http_status == 200:
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


async def models(gw: Gateway, scope: dict[str, Any], receive: Any, send: Any) -> None:
    rid = request_id().replace("-", "")
    try:
        _, _, key = await _prologue(gw, scope, receive)
    except errors.GatewayError as err:
        await respond(send, *err.openai(rid))
        return
    env = gw.policy.environments.get(key.environment)
    names = key.allowed_models or (env.allowed_models if env else []) or sorted(ALIASES)
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "amazon-bedrock"} for m in names]
    await respond(send, 200, list(_JSON), orjson.dumps({"object": "list", "data": data}))


def _embed_body(model_id: str, texts: list[str], dimensions: int | None) -> bytes:
    if "cohere" in model_id:
        return orjson.dumps({"texts": texts, "input_type": "search_document"})
    doc: dict[str, Any] = {"inputText": texts[0]}
    if dimensions:
        doc["dimensions"] = dimensions
    return orjson.dumps(doc)


async def embeddings(gw: Gateway, scope: dict[str, Any], receive: Any, send: Any) -> None:
    started = time.perf_counter()
    rid = request_id().replace("-", "")
    headers: dict[bytes, bytes] = dict(scope["headers"])
    client = client_of(scope, headers)
    key: KeyRecord | None = None
    adm: Admission | None = None
    model: str | None = None
    usage = Usage()
    try:
        headers, body, key = await _prologue(gw, scope, receive)
        req = _json(body)
        model = req.get("model")
        if not isinstance(model, str) or not model:
            raise errors.validation("'model' is required.")
        texts = validate.embeddings(req)
        est = validate.model_limits(model).estimator.texts(texts)
        adm = await gw.admit(key, "openai", "Embeddings", model, est, 0, client, rid)
        cohere = "cohere" in canonical_model_id(model)
        batches = [texts] if cohere else [[t] for t in texts]
        vectors: list[list[float]] = []
        for i, batch in enumerate(batches):
            if i:
                adm.state = CallState(
                    "InvokeModel",
                    adm.model,
                    adm.state.plan if adm.state else [],
                    gw.runtime.retrier,
                    gw.runtime.stats,
                    gw.runtime.options.backoff_base,
                )

            def build(t: Target, batch: list[str] = batch) -> WireRequest:
                return WireRequest(
                    RUNTIME,
                    "InvokeModel",
                    f"/model/{percent_encode(t.model_id)}/invoke",
                    _embed_body(t.model_id, batch, req.get("dimensions")),
                    {"Content-Type": "application/json", "Accept": "application/json"},
                )

            resp = await gw.send(adm, build)
            doc = orjson.loads(await resp.read())
            if cohere:
                embs = doc.get("embeddings")
                vectors += embs.get("float", []) if isinstance(embs, dict) else embs
                usage.input_tokens += int(resp.headers.get("x-amzn-bedrock-input-token-count") or 0)
            else:
                vectors.append(doc["embedding"])
                usage.input_tokens += int(doc.get("inputTextTokenCount") or 0)
    except errors.GatewayError as err:
        if adm is not None:
            gw.finish(adm, usage, err.audit_status, err.openai_status)
        else:
            gw.refuse(key, "openai", "Embeddings", model, client, rid, err, started)
        await respond(send, *err.openai(rid))
        return
    except (ValueError, KeyError, AwsCallError) as exc:
        if adm is not None:
            gw.finish(adm, usage, "BadUpstreamResponse", 502)
        await respond(send, *errors.upstream("BadUpstreamResponse", str(exc), 502).openai(rid))
        return
    gw.finish(adm, usage, "ok", 200)
    b64 = req.get("encoding_format") == "base64"
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": base64.b64encode(array.array("f", v).tobytes()).decode() if b64 else v,
        }
        for i, v in enumerate(vectors)
    ]
    out = {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": usage.input_tokens, "total_tokens": usage.input_tokens},
    }
    await respond(send, 200, list(_JSON), orjson.dumps(out))
