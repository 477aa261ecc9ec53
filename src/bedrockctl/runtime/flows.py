"""The operations as flows of the call core (``core.py``): Converse, ConverseStream, InvokeModel,
InvokeModelWithResponseStream and InvokeAgent, once for the sync and the async client.

Each flow takes the client (``RuntimeBase``: plan, cache, records) and the request, and yields ``core`` commands:
a cache lookup, the attempts, reading the answer, the usage record, then ``Emit`` of the result (or of each
``StreamEvent`` and a final ``usage`` event).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from bedrockctl.errors import BedrockctlError
from bedrockctl.runtime import local
from bedrockctl.runtime.agent_cost import AgentInvocations
from bedrockctl.runtime.base import RuntimeBase
from bedrockctl.runtime.calls import (
    CallState,
    StreamAssembler,
    converse_guardrail,
    converse_text,
    invoke_guardrail,
    invoke_usage,
)
from bedrockctl.runtime.core import (
    Blocking,
    Chunk,
    Command,
    Emit,
    Flow,
    Read,
    Sent,
    attempts,
    converse_body,
    invoke_body,
)
from bedrockctl.runtime.errors import StreamInterrupted
from bedrockctl.runtime.resolve import Target
from bedrockctl.runtime.types import AgentResult, CallMeta, ConverseResult, InvokeResult, StreamEvent, Usage
from bedrockctl.runtime.wire import AwsCallError, EventDecoder, build_agent, build_converse, build_invoke, decode_chunk

Tags = dict[str, str] | None
Cached = tuple[str | None, dict[str, Any] | None]
T = TypeVar("T")
Step = Generator[Command, Any, T]


def _cached(rt: RuntimeBase, use_cache: bool, operation: str, model: str, request: Any) -> Step[Cached]:
    """(key, hit) of the response cache; no command at all when the cache is off."""
    if not use_cache or rt.cache is None or not rt.options.cache_enabled:
        return None, None
    found: Cached = yield Blocking(rt.cache_lookup, (operation, model, request))
    return found


def _send(rt: RuntimeBase, operation: str, model: str, state: CallState, build: Callable[[Target], Any]) -> Step[Sent]:
    """The attempts; a failure is recorded, then raised translated (``AllRoutesFailed`` or the upstream's error)."""
    try:
        sent: Sent = yield from attempts(state, build)
    except (BedrockctlError, AwsCallError) as exc:
        yield Blocking(rt.fail_record, (operation, model, state, exc))
        raise exc.translate() if isinstance(exc, AwsCallError) else exc from None
    return sent


def _converse_build(rt: RuntimeBase, payload: dict[str, Any], stream: bool) -> Callable[[Target], Any]:
    def build(target: Target) -> Any:
        if target.is_local:
            opts = rt.options
            return local.request(opts.local_base_url, opts.local_api_key, target.model_id, payload, stream)
        return build_converse(target.model_id, payload, stream)

    return build


def _hit_meta(model: str, raw: dict[str, Any], tags: Tags) -> CallMeta:
    usage = Usage.from_converse(raw.get("usage"))
    return CallMeta(model_requested=model, model_served=model, cache_hit=True, usage=usage, tags=dict(tags or {}))


def _converse_result(raw: dict[str, Any], meta: CallMeta) -> ConverseResult:
    message = (raw.get("output") or {}).get("message") or {"role": "assistant", "content": []}
    meta.guardrail = converse_guardrail(raw)
    return ConverseResult(converse_text(message), str(raw.get("stopReason", "")), message, raw, meta)


def converse(rt: RuntimeBase, model: str, payload: dict[str, Any], tags: Tags, use_cache: bool) -> Flow:
    key, hit = yield from _cached(rt, use_cache, "Converse", model, payload)
    if hit is not None:
        result = _converse_result(hit, _hit_meta(model, hit, tags))
        yield Blocking(rt.finish, ("Converse", result.meta, None))
        yield Emit(result)
        return
    if tags:
        payload["requestMetadata"] = dict(tags)
    state = rt.start("Converse", model)
    sent = yield from _send(rt, "Converse", model, state, _converse_build(rt, payload, False))
    try:
        raw = converse_body(sent.target, (yield Read(sent.response)))
    except (BedrockctlError, AwsCallError) as exc:
        yield Blocking(rt.fail_record, ("Converse", model, state, exc))
        raise exc.translate() if isinstance(exc, AwsCallError) else exc from None
    meta = state.meta(sent.target, sent.response.request_id, Usage.from_converse(raw.get("usage")), tags or {})
    result = _converse_result(raw, meta)
    yield Blocking(rt.finish, ("Converse", meta, sent.target))
    if result.stop_reason != "guardrail_intervened" and key is not None:
        yield Blocking(rt.cache_store, (key, model, raw))
    yield Emit(result)


def converse_stream(rt: RuntimeBase, model: str, payload: dict[str, Any], tags: Tags, use_cache: bool) -> Flow:
    key, hit = yield from _cached(rt, use_cache, "Converse", model, payload)
    if hit is not None:
        result = _converse_result(hit, _hit_meta(model, hit, tags))
        yield Blocking(rt.finish, ("ConverseStream", result.meta, None))
        yield Emit(StreamEvent("text", text=result.text))
        for tool in result.tool_uses:
            yield Emit(StreamEvent("tool_use", data=tool))
        yield Emit(StreamEvent("stop", data={"stopReason": result.stop_reason}))
        yield Emit(StreamEvent("usage", data=result.meta.to_dict(), meta=result.meta))
        return
    if tags:
        payload["requestMetadata"] = dict(tags)
    state = rt.start("ConverseStream", model)
    sent = yield from _send(rt, "ConverseStream", model, state, _converse_build(rt, payload, True))
    target, resp = sent.target, sent.response
    asm = StreamAssembler()
    decoder: Any = local.SSEToConverse() if target.is_local else EventDecoder("ConverseStream", target.region)
    try:
        while (chunk := (yield Chunk(resp))) is not None:
            for etype, body in decoder.feed(chunk):
                for event in asm.event(etype, body):
                    yield Emit(event)
        if target.is_local:
            for etype, body in decoder.finish():
                for event in asm.event(etype, body):
                    yield Emit(event)
    except AwsCallError as err:
        meta = state.meta(target, resp.request_id, Usage.from_converse(asm.usage), tags or {})
        yield Blocking(rt.finish, ("ConverseStream", meta, target, err.code))
        raise StreamInterrupted(f"{err.code}: {err.message}", details={"request_id": resp.request_id}) from None
    meta = state.meta(target, resp.request_id, Usage.from_converse(asm.usage), tags or {})
    if not asm.finished:
        yield Blocking(rt.finish, ("ConverseStream", meta, target, "incomplete"))
        raise StreamInterrupted("the stream ended before its metadata event")
    raw = asm.response()
    meta.guardrail = converse_guardrail(raw)
    yield Blocking(rt.finish, ("ConverseStream", meta, target))
    if asm.stop_reason != "guardrail_intervened" and key is not None:
        yield Blocking(rt.cache_store, (key, model, raw))
    yield Emit(StreamEvent("usage", data=meta.to_dict(), meta=meta))


def invoke(
    rt: RuntimeBase,
    model: str,
    body: bytes,
    *,
    content_type: str,
    accept: str,
    tags: Tags,
    guardrail: tuple[str, str] | None,
    trace: bool,
    use_cache: bool,
) -> Flow:
    key, hit = yield from _cached(rt, use_cache, "InvokeModel", model, body.decode("utf-8", "replace"))
    if hit is not None:
        usage = Usage(**hit["usage"])
        meta = CallMeta(model_requested=model, model_served=model, cache_hit=True, usage=usage, tags=dict(tags or {}))
        yield Blocking(rt.finish, ("InvokeModel", meta, None))
        yield Emit(InvokeResult(hit["body"], hit["content_type"], meta))
        return
    state = rt.start("InvokeModel", model, bedrock_only=True)

    def build(t: Target) -> Any:
        opts = {"content_type": content_type, "accept": accept, "guardrail": guardrail, "trace": trace}
        return build_invoke(t.model_id, body, stream=False, **opts)  # type: ignore[arg-type]

    sent = yield from _send(rt, "InvokeModel", model, state, build)
    try:
        data: bytes = yield Read(sent.response)
    except AwsCallError as exc:
        yield Blocking(rt.fail_record, ("InvokeModel", model, state, exc))
        raise exc.translate() from None
    ctype = str(sent.response.headers.get("content-type", accept))
    doc = invoke_body(data, ctype)
    usage = invoke_usage(sent.response.headers).split_anthropic(doc)
    meta = state.meta(sent.target, sent.response.request_id, usage, tags or {})
    meta.guardrail = invoke_guardrail(doc)
    yield Blocking(rt.finish, ("InvokeModel", meta, sent.target))
    if key is not None and doc and not (meta.guardrail and meta.guardrail.intervened):
        yield Blocking(rt.cache_store, (key, model, {"body": doc, "content_type": ctype, "usage": vars(usage)}))
    yield Emit(InvokeResult(doc, ctype, meta, data))


def invoke_stream(
    rt: RuntimeBase, model: str, body: bytes, *, tags: Tags, guardrail: tuple[str, str] | None, trace: bool
) -> Flow:
    operation = "InvokeModelWithResponseStream"
    state = rt.start(operation, model, bedrock_only=True)
    sent = yield from _send(
        rt,
        operation,
        model,
        state,
        lambda t: build_invoke(t.model_id, body, stream=True, guardrail=guardrail, trace=trace),
    )
    target, resp = sent.target, sent.response
    decoder = EventDecoder(operation, target.region)
    usage, guard, started = Usage(), None, None
    try:
        while (data := (yield Chunk(resp))) is not None:
            for etype, payload in decoder.feed(data):
                if etype != "chunk":
                    continue
                doc = decode_chunk(payload)
                if doc.get("type") == "message_start":  # Anthropic: the cache writes per TTL
                    started = doc
                if "amazon-bedrock-invocationMetrics" in doc:
                    usage = invoke_usage({}, doc).split_anthropic(started)
                guard = invoke_guardrail(doc) or guard
                yield Emit(StreamEvent("chunk", data=doc))
    except AwsCallError as err:
        yield Blocking(rt.finish, (operation, state.meta(target, resp.request_id, usage, tags or {}), target, err.code))
        raise StreamInterrupted(f"{err.code}: {err.message}", details={"request_id": resp.request_id}) from None
    meta = state.meta(target, resp.request_id, usage, tags or {})
    meta.guardrail = guard
    yield Blocking(rt.finish, (operation, meta, target))
    yield Emit(StreamEvent("usage", data=meta.to_dict(), meta=meta))


def agent_stream(
    rt: RuntimeBase, agent_id: str, alias_id: str, session_id: str, payload: dict[str, Any], tags: Tags
) -> Flow:
    label = f"agent:{agent_id}/{alias_id}"
    show_trace = bool(payload.get("enableTrace"))
    payload = {**payload, "enableTrace": True}  # the trace is what prices the call; shown only when asked for
    target = Target(label, agent_id, rt.region, "agent")
    state = CallState("InvokeAgent", label, [target], rt.retrier, rt.stats, rt.options.backoff_base)
    sent = yield from _send(
        rt, "InvokeAgent", label, state, lambda t: build_agent(agent_id, alias_id, session_id, payload)
    )
    resp = sent.response
    sid = str(resp.headers.get("x-amz-bedrock-agent-session-id") or session_id)
    decoder = EventDecoder("InvokeAgent", rt.region)
    usage = Usage()
    invocations = AgentInvocations()
    try:
        while (data := (yield Chunk(resp))) is not None:
            for etype, body in decoder.feed(data):
                if etype == "chunk":
                    text = base64.b64decode(body.get("bytes", "")).decode("utf-8", "replace")
                    yield Emit(StreamEvent("text", text=text, data={"sessionId": sid}))
                elif etype == "trace":
                    used = invocations.read(body.get("trace") or {})
                    usage.input_tokens += used.input_tokens
                    usage.output_tokens += used.output_tokens
                    if show_trace:
                        yield Emit(StreamEvent("trace", data=body))
    except AwsCallError as err:
        raise StreamInterrupted(f"{err.code}: {err.message}") from None
    meta = state.meta(target, resp.request_id, usage, tags or {})
    meta.tags.setdefault("sessionId", sid)
    meta.cost_usd, unpriced = invocations.cost(rt.prices, rt.region)
    if unpriced:
        meta.tags.setdefault("cost_unpriced", unpriced[:256])
    yield Blocking(rt.finish, ("InvokeAgent", meta, None))
    yield Emit(StreamEvent("usage", data={**meta.to_dict(), "session_id": sid}, meta=meta))


def agent_result(events: list[StreamEvent], session_id: str) -> AgentResult:
    text, traces, meta, sid = [], [], CallMeta(), session_id
    for ev in events:
        if ev.kind == "text":
            text.append(ev.text)
            sid = ev.data.get("sessionId", sid)
        elif ev.kind == "trace":
            traces.append(ev.data)
        elif ev.kind == "usage" and ev.meta is not None:
            meta, sid = ev.meta, ev.data.get("session_id", sid)
    return AgentResult("".join(text), sid, traces, meta)
