"""Bedrock-native routes, byte-for-byte the AWS wire format: ``POST /model/{modelId}/converse``,
``/converse-stream``, ``/invoke``, ``/invoke-with-response-stream`` (eventstream passed through unchanged)."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import orjson

from bedrockctl.runtime.calls import billed_invoke_usage
from bedrockctl.runtime.resolve import Target
from bedrockctl.runtime.types import Usage
from bedrockctl.runtime.wire import RUNTIME, AwsCallError, EventDecoder, WireRequest
from bedrockctl.server.gateway import errors, validate
from bedrockctl.server.gateway.admission import Admission
from bedrockctl.server.gateway.auth import authenticate_request
from bedrockctl.server.gateway.http import (
    client_of,
    close_unread,
    model_path,
    request_id,
    respond,
)
from bedrockctl.server.gateway.pipeline import Gateway
from bedrockctl.server.gateway.routers import invoked_model
from bedrockctl.server.gateway.streaming import CLIENT_CLOSED, ClientWatch, PartialUsage
from bedrockctl.store.keys import KeyRecord

OPERATIONS = {
    "converse": "Converse",
    "converse-stream": "ConverseStream",
    "invoke": "InvokeModel",
    "invoke-with-response-stream": "InvokeModelWithResponseStream",
}
_PASS_HEADERS = (
    b"content-type",
    b"x-amzn-requestid",
    b"x-amzn-bedrock-input-token-count",
    b"x-amzn-bedrock-output-token-count",
    b"x-amzn-bedrock-invocation-latency",
    b"x-amzn-bedrock-cache-read-input-token-count",
    b"x-amzn-bedrock-cache-write-input-token-count",
    b"x-amzn-bedrock-performanceconfig-latency",
)
_FORWARD = (
    b"content-type",
    b"accept",
    b"x-amzn-bedrock-accept",
    b"x-amzn-bedrock-trace",
    b"x-amzn-bedrock-guardrailidentifier",
    b"x-amzn-bedrock-guardrailversion",
    b"x-amzn-bedrock-performanceconfig-latency",
    b"x-amzn-bedrock-service-tier",
    b"x-amzn-bedrock-request-metadata",  # merged under the key's pairs (attribution.py)
)
_TITLE = {h: "-".join(p.capitalize() for p in h.decode().split("-")) for h in _FORWARD}
# where model-native bodies keep their output limit (first match wins); injected when the caller set none
_NATIVE_MAX = (
    ("max_tokens",),
    ("max_tokens_to_sample",),
    ("max_gen_len",),
    ("textGenerationConfig", "maxTokenCount"),
    ("inferenceConfig", "max_new_tokens"),
    ("inferenceConfig", "maxTokens"),
)


def _native_max(doc: dict[str, Any], model: str, default: int) -> tuple[int, bool]:
    """(max output tokens, whether the body was changed to set the default)."""
    for path in _NATIVE_MAX:
        node: Any = doc
        for p in path:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, int):
            return node, False
    bare = model.split(".", 1)[1] if model.split(".", 1)[0] in ("us", "eu", "apac", "global") else model
    if "embed" in bare:
        return 0, False
    if bare.startswith("anthropic."):
        doc["max_tokens"] = default
    elif bare.startswith("amazon.titan"):
        doc.setdefault("textGenerationConfig", {})["maxTokenCount"] = default
    elif bare.startswith("amazon.nova"):
        doc.setdefault("inferenceConfig", {})["max_new_tokens"] = default
    elif bare.startswith("meta."):
        doc["max_gen_len"] = default
    else:
        doc["max_tokens"] = default
    return default, True


async def handle(gw: Gateway, scope: dict[str, Any], receive: Any, send: Any) -> None:
    started = time.perf_counter()
    rid = request_id()
    headers = dict(scope["headers"])
    client = client_of(scope, headers)
    model, _, suffix = scope["path"][len("/model/") :].rpartition("/")
    operation = OPERATIONS.get(suffix, suffix)
    key: KeyRecord | None = None
    adm: Admission | None = None
    try:
        if suffix not in OPERATIONS or not model or scope["method"] != "POST":
            raise close_unread(errors.unknown_operation(scope["method"], scope["path"]), headers)
        key, body = await authenticate_request(gw.keys, gw.opts, scope, headers, receive)
        converse = operation.startswith("Converse")
        try:
            doc = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            if converse:
                raise errors.validation("The request body is not valid JSON.") from None
            doc = None
        changed = False
        limits = validate.model_limits(model)
        default_max = limits.default_max_tokens(gw.opts.default_max_tokens)
        if converse:
            if not isinstance(doc, dict):
                raise errors.validation("The request body must be a JSON object.")
            validate.converse(operation, doc, limits)
            cfg = doc.get("inferenceConfig") or {}
            max_tokens = cfg.get("maxTokens")
            if max_tokens is None:
                max_tokens = default_max
                doc["inferenceConfig"] = {**cfg, "maxTokens": max_tokens}
            est = limits.estimator.converse(doc)
            key.tag(doc)
            changed = True
        elif isinstance(doc, dict):
            validate.native(doc, _NATIVE_MAX, limits)
            max_tokens, changed = _native_max(doc, model, default_max)
            est = limits.estimator.native(doc)
        else:
            max_tokens, est = default_max, limits.estimator.raw(body)
        adm = await gw.admit(key, "bedrock", operation, model, est, max_tokens, client, rid)
        payload = orjson.dumps(doc) if changed else body
        fwd = {_TITLE[k]: v.decode("latin-1") for k, v in headers.items() if k in _TITLE}
        fwd.setdefault("Content-Type", "application/json")

        def build(t: Target) -> WireRequest:
            return WireRequest(RUNTIME, operation, model_path(t.model_id, suffix), payload, dict(fwd))

        resp = await gw.send(adm, build)
    except errors.GatewayError as err:
        if adm is not None:
            gw.finish(adm, Usage(), err.audit_status, err.status)
        else:
            gw.refuse(key, "bedrock", operation, model or None, client, rid, err, started)
        await respond(send, *err.bedrock(rid))
        return
    except ValueError as exc:  # body too large
        await respond(send, *errors.validation(str(exc)).bedrock(rid))
        return
    out_headers = [(k.encode(), str(v).encode()) for k, v in resp.headers.items() if k.encode() in _PASS_HEADERS]
    if not operation.endswith("Stream"):
        try:
            data = await resp.read()
        except AwsCallError as err:
            gw.finish(adm, Usage(), err.code, 502)
            await respond(send, *errors.upstream(err.code, err.message, 502).bedrock(rid))
            return
        if operation == "Converse":
            try:
                answer = orjson.loads(data)
                usage = Usage.from_converse(answer.get("usage"))
                adm.invoked = invoked_model(answer)  # a prompt router's choice: the call is priced at it
            except (orjson.JSONDecodeError, AttributeError):
                usage = Usage()
        else:
            usage = billed_invoke_usage(resp.headers, data)
        gw.finish(adm, usage, "ok", 200)
        await respond(send, 200, out_headers, data)
        return
    await stream(gw, adm, resp, send, out_headers, operation, receive, est)


async def stream(
    gw: Gateway,
    adm: Admission,
    resp: Any,
    send: Any,
    out_headers: list[tuple[bytes, bytes]],
    operation: str,
    receive: Any = None,
    est_input: int = 0,
) -> None:
    """Pass the eventstream through unchanged; read the usage from its last events on the way. A client that
    disconnects ends the upstream call; what the stream used so far is settled (``streaming``)."""
    await send({"type": "http.response.start", "status": 200, "headers": out_headers})
    region = adm.target.region if adm.target else ""
    decoder = EventDecoder(operation, region)
    usage: dict[str, Any] | None = None
    partial = PartialUsage(est_input, adm.max_tokens)
    status, http_status = "incomplete", 200
    watch = ClientWatch(receive) if receive is not None else None
    try:
        async for chunk in resp.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            try:
                for etype, payload in decoder.feed(chunk):
                    partial.feed(etype, payload)
                    if etype == "metadata":
                        usage = payload.get("usage")
                        adm.invoked = invoked_model(payload)
                        status = "ok"
                    elif etype == "chunk":
                        raw = base64.b64decode(payload.get("bytes", ""))
                        if b"amazon-bedrock-invocationMetrics" in raw:
                            m = orjson.loads(raw)["amazon-bedrock-invocationMetrics"]
                            usage = {
                                "inputTokens": m.get("inputTokenCount", 0),
                                "outputTokens": m.get("outputTokenCount", 0),
                                "cacheReadInputTokens": m.get("cacheReadInputTokenCount", 0),
                                "cacheWriteInputTokens": m.get("cacheWriteInputTokenCount", 0),
                            }
                            status = "ok"
            except AwsCallError as err:
                status = err.code
    except AwsCallError as err:
        status = err.code
    except asyncio.CancelledError:
        if watch is None or not watch.absorb():
            raise
        http_status = CLIENT_CLOSED
    finally:
        if watch is not None:
            watch.stop()
        await resp.close()
        gw.finish(adm, Usage.from_converse(usage) if usage is not None else partial.usage(), status, http_status)
    if http_status == 200:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
