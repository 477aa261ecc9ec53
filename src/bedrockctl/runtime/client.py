"""The synchronous runtime client: converse, converse_stream, invoke_model(_stream), invoke_agent."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from bedrockctl.errors import BedrockctlError
from bedrockctl.runtime import local
from bedrockctl.runtime.base import RuntimeBase
from bedrockctl.runtime.calls import (
    CallState,
    StreamAssembler,
    converse_guardrail,
    converse_text,
    encode_body,
    invoke_guardrail,
    invoke_usage,
)
from bedrockctl.runtime.errors import LocalUpstreamError, StreamInterrupted
from bedrockctl.runtime.resolve import Target
from bedrockctl.runtime.transport import Response, SyncTransport
from bedrockctl.runtime.types import AgentResult, CallMeta, ConverseResult, InvokeResult, StreamEvent, Usage
from bedrockctl.runtime.wire import AwsCallError, EventDecoder, build_agent, build_converse, build_invoke, decode_chunk


class Runtime(RuntimeBase):
    """Library entry point. ``Runtime.from_context(AppContext.create())`` wires settings, store and prices."""

    def __init__(self, *args: Any, transport: SyncTransport | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transport = transport or SyncTransport(self.sessions)

    def close(self) -> None:
        self.transport.close()

    # -- sending with failover -----------------------------------------------------------------------------
    def _send(self, state: CallState, build: Any) -> tuple[Target, Response, float]:
        while True:
            target, delay = state.next()
            if delay:
                time.sleep(delay)
            started = time.perf_counter()
            try:
                resp = (
                    self._local(target, build(target))
                    if target.is_local
                    else self.transport.send(build(target), target.region)
                )
            except AwsCallError as err:
                state.failed(target, err, started)
                continue
            return target, resp, started

    def _local(self, target: Target, payload: dict[str, Any]) -> Response:
        url = local.endpoint(self.options.local_base_url or "http://localhost:11434/v1")
        body = local.to_openai(target.model_id, payload["converse"], payload["stream"])
        try:
            req = self.transport.client.build_request(
                "POST", url, json=body, headers=local.headers(self.options.local_api_key)
            )
            resp = self.transport.client.send(req, stream=True)
        except httpx.HTTPError as exc:
            raise AwsCallError("ConnectionError", str(exc), None, None, "Converse", "local", transport=True) from exc
        if resp.status_code >= 300:
            text = resp.read().decode("utf-8", "replace")[:200]
            resp.close()
            code = "ThrottlingException" if resp.status_code == 429 else "ServiceUnavailableException"
            raise AwsCallError(
                code, f"local upstream {resp.status_code}: {text}", resp.status_code, None, "Converse", "local"
            )
        return Response(resp.status_code, resp.headers, resp.iter_bytes(), resp.close)

    # -- Converse ------------------------------------------------------------------------------------------
    def converse(
        self,
        model: str | None = None,
        messages: list[dict[str, Any]] | None = None,
        *,
        tags: dict[str, str] | None = None,
        guardrail: tuple[str, str] | None = None,
        guardrail_trace: bool = True,
        use_cache: bool = True,
        **kwargs: Any,
    ) -> ConverseResult:
        """One Converse call. ``kwargs``: prompt, system, max_tokens, temperature, top_p, stop_sequences, tools,
        tool_choice, images=[(bytes, "png")], extra={...} (see ``converse_payload``)."""
        model, payload = self.converse_request(model, messages, guardrail, guardrail_trace, kwargs)
        key, hit = self.cache_lookup("Converse", model, payload) if use_cache else (None, None)
        if hit is not None:
            return self._converse_result(hit, self._hit_meta(model, hit, tags), "Converse")
        if tags:
            payload["requestMetadata"] = dict(tags)
        state = self.start("Converse", model)
        try:
            target, resp, _ = self._send(state, lambda t: self._converse_req(t, payload, False))
            raw = self._read_converse(target, resp)
        except (BedrockctlError, AwsCallError) as exc:
            self.fail_record("Converse", model, state, exc)
            raise exc.translate() if isinstance(exc, AwsCallError) else exc from None
        state.succeeded(target, _, resp.request_id)
        meta = state.meta(target, resp.request_id, Usage.from_converse(raw.get("usage")), tags or {})
        result = self._converse_result(raw, meta, "Converse", target)
        if raw.get("stopReason") != "guardrail_intervened":
            self.cache_store(key, model, raw)
        return result

    def _converse_req(self, target: Target, payload: dict[str, Any], stream: bool) -> Any:
        if target.is_local:
            return {"converse": payload, "stream": stream}
        return build_converse(target.model_id, payload, stream)

    def _read_converse(self, target: Target, resp: Response) -> dict[str, Any]:
        if target.is_local:
            try:
                return local.from_openai(json.loads(resp.read()))
            except ValueError as exc:
                raise LocalUpstreamError(f"local upstream answered non-JSON: {exc}") from exc
        doc: dict[str, Any] = json.loads(resp.read())
        return doc

    def _hit_meta(self, model: str, raw: dict[str, Any], tags: dict[str, str] | None) -> CallMeta:
        return CallMeta(
            request_id=None,
            model_requested=model,
            model_served=model,
            cache_hit=True,
            usage=Usage.from_converse(raw.get("usage")),
            tags=dict(tags or {}),
        )

    def _converse_result(
        self, raw: dict[str, Any], meta: CallMeta, operation: str, target: Target | None = None
    ) -> ConverseResult:
        message = (raw.get("output") or {}).get("message") or {"role": "assistant", "content": []}
        meta.guardrail = converse_guardrail(raw)
        self.finish(operation, meta, target)
        return ConverseResult(converse_text(message), str(raw.get("stopReason", "")), message, raw, meta)

    def converse_stream(
        self,
        model: str | None = None,
        messages: list[dict[str, Any]] | None = None,
        *,
        tags: dict[str, str] | None = None,
        guardrail: tuple[str, str] | None = None,
        guardrail_trace: bool = True,
        use_cache: bool = True,
        **kwargs: Any,
    ) -> Iterator[StreamEvent]:
        """Yields ``text`` deltas, ``tool_use`` events, ``stop`` and a final ``usage`` event (with ``meta``)."""
        model, payload = self.converse_request(model, messages, guardrail, guardrail_trace, kwargs)
        key, hit = self.cache_lookup("Converse", model, payload) if use_cache else (None, None)
        if hit is not None:
            result = self._converse_result(hit, self._hit_meta(model, hit, tags), "ConverseStream")
            yield StreamEvent("text", text=result.text)
            yield from (StreamEvent("tool_use", data=t) for t in result.tool_uses)
            yield StreamEvent("stop", data={"stopReason": result.stop_reason})
            yield StreamEvent("usage", data=result.meta.to_dict(), meta=result.meta)
            return
        if tags:
            payload["requestMetadata"] = dict(tags)
        state = self.start("ConverseStream", model)
        try:
            target, resp, started = self._send(state, lambda t: self._converse_req(t, payload, True))
        except (BedrockctlError, AwsCallError) as exc:
            self.fail_record("ConverseStream", model, state, exc)
            raise
        state.succeeded(target, started, resp.request_id)
        asm = StreamAssembler()
        decoder: Any = local.SSEToConverse() if target.is_local else EventDecoder("ConverseStream", target.region)
        try:
            for chunk in resp.chunks:
                for etype, body in decoder.feed(chunk):
                    yield from asm.event(etype, body)
            if target.is_local:
                for etype, body in decoder.finish():
                    yield from asm.event(etype, body)
        except AwsCallError as err:
            meta = state.meta(target, resp.request_id, Usage.from_converse(asm.usage), tags or {})
            self.finish("ConverseStream", meta, target, status=err.code)
            raise StreamInterrupted(f"{err.code}: {err.message}", details={"request_id": resp.request_id}) from None
        finally:
            resp.close()
        if not asm.finished:
            meta = state.meta(target, resp.request_id, Usage.from_converse(asm.usage), tags or {})
            self.finish("ConverseStream", meta, target, status="incomplete")
            raise StreamInterrupted("the stream ended before its metadata event")
        raw = asm.response()
        meta = state.meta(target, resp.request_id, Usage.from_converse(asm.usage), tags or {})
        meta.guardrail = converse_guardrail(raw)
        self.finish("ConverseStream", meta, target)
        if asm.stop_reason != "guardrail_intervened":
            self.cache_store(key, model, raw)
        yield StreamEvent("usage", data=meta.to_dict(), meta=meta)

    # -- InvokeModel ---------------------------------------------------------------------------------------
    def invoke_model(
        self,
        model: str | None,
        body: dict[str, Any] | bytes | str,
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
        tags: dict[str, str] | None = None,
        guardrail: tuple[str, str] | None = None,
        guardrail_trace: bool = True,
        use_cache: bool = True,
    ) -> InvokeResult:
        """InvokeModel with a raw (model-native) body; usage from the token-count headers."""
        model = self.model_or_default(model)
        raw_body = encode_body(body)
        g = guardrail or self.guardrail
        key, hit = (
            self.cache_lookup("InvokeModel", model, raw_body.decode("utf-8", "replace")) if use_cache else (None, None)
        )
        if hit is not None:
            meta = CallMeta(
                model_requested=model,
                model_served=model,
                cache_hit=True,
                usage=Usage(**hit["usage"]),
                tags=dict(tags or {}),
            )
            self.finish("InvokeModel", meta, None)
            return InvokeResult(hit["body"], hit["content_type"], meta)
        state = self.start("InvokeModel", model, bedrock_only=True)
        build = lambda t: build_invoke(  # noqa: E731
            t.model_id,
            raw_body,
            stream=False,
            content_type=content_type,
            accept=accept,
            guardrail=g,
            trace=guardrail_trace,
        )
        try:
            target, resp, started = self._send(state, build)
            data = resp.read()
        except (BedrockctlError, AwsCallError) as exc:
            self.fail_record("InvokeModel", model, state, exc)
            raise exc.translate() if isinstance(exc, AwsCallError) else exc from None
        state.succeeded(target, started, resp.request_id)
        doc = json.loads(data) if data[:1] in (b"{", b"[") else {"raw": data.decode("utf-8", "replace")}
        usage = invoke_usage(resp.headers)
        meta = state.meta(target, resp.request_id, usage, tags or {})
        meta.guardrail = invoke_guardrail(doc) if isinstance(doc, dict) else None
        self.finish("InvokeModel", meta, target)
        ctype = str(resp.headers.get("content-type", accept))
        if not (meta.guardrail and meta.guardrail.intervened):
            self.cache_store(key, model, {"body": doc, "content_type": ctype, "usage": vars(usage)})
        return InvokeResult(doc, ctype, meta)

    def invoke_model_stream(
        self,
        model: str | None,
        body: dict[str, Any] | bytes | str,
        *,
        tags: dict[str, str] | None = None,
        guardrail: tuple[str, str] | None = None,
        guardrail_trace: bool = True,
    ) -> Iterator[StreamEvent]:
        """InvokeModelWithResponseStream: ``chunk`` events (native JSON), then ``usage``."""
        model = self.model_or_default(model)
        raw_body = encode_body(body)
        g = guardrail or self.guardrail
        state = self.start("InvokeModelWithResponseStream", model, bedrock_only=True)
        build = lambda t: build_invoke(t.model_id, raw_body, stream=True, guardrail=g, trace=guardrail_trace)  # noqa: E731
        try:
            target, resp, started = self._send(state, build)
        except (BedrockctlError, AwsCallError) as exc:
            self.fail_record("InvokeModelWithResponseStream", model, state, exc)
            raise
        state.succeeded(target, started, resp.request_id)
        decoder = EventDecoder("InvokeModelWithResponseStream", target.region)
        usage, guard = Usage(), None
        try:
            for data in resp.chunks:
                for etype, payload in decoder.feed(data):
                    if etype != "chunk":
                        continue
                    doc = decode_chunk(payload)
                    if "amazon-bedrock-invocationMetrics" in doc:
                        usage = invoke_usage({}, doc)
                    guard = invoke_guardrail(doc) or guard
                    yield StreamEvent("chunk", data=doc)
        except AwsCallError as err:
            self.finish(
                "InvokeModelWithResponseStream",
                state.meta(target, resp.request_id, usage, tags or {}),
                target,
                status=err.code,
            )
            raise StreamInterrupted(f"{err.code}: {err.message}") from None
        finally:
            resp.close()
        meta = state.meta(target, resp.request_id, usage, tags or {})
        meta.guardrail = guard
        self.finish("InvokeModelWithResponseStream", meta, target)
        yield StreamEvent("usage", data=meta.to_dict(), meta=meta)

    # -- InvokeAgent ---------------------------------------------------------------------------------------
    def invoke_agent_stream(
        self,
        agent_id: str,
        alias_id: str,
        prompt: str,
        *,
        session_id: str | None = None,
        trace: bool = False,
        end_session: bool = False,
        tags: dict[str, str] | None = None,
    ) -> Iterator[StreamEvent]:
        """Yields ``text`` chunks, ``trace`` events (when ``trace``) and a final ``usage`` event."""
        session_id = session_id or uuid.uuid4().hex
        payload: dict[str, Any] = {"inputText": prompt, "enableTrace": trace, "endSession": end_session}
        label = f"agent:{agent_id}/{alias_id}"
        target = Target(label, agent_id, self.region, "agent")
        state = CallState("InvokeAgent", label, [target], self.retrier, self.stats, self.options.backoff_base)
        try:
            target, resp, started = self._send(state, lambda t: build_agent(agent_id, alias_id, session_id, payload))
        except (BedrockctlError, AwsCallError) as exc:
            self.fail_record("InvokeAgent", label, state, exc)
            raise
        state.succeeded(target, started, resp.request_id)
        sid = str(resp.headers.get("x-amz-bedrock-agent-session-id") or session_id)
        decoder = EventDecoder("InvokeAgent", self.region)
        usage = Usage()
        try:
            for data in resp.chunks:
                for etype, body in decoder.feed(data):
                    if etype == "chunk":
                        yield StreamEvent("text", text=decode_chunk_text(body), data={"sessionId": sid})
                    elif etype == "trace":
                        out = ((body.get("trace") or {}).get("orchestrationTrace") or {}).get(
                            "modelInvocationOutput"
                        ) or {}
                        u = (out.get("metadata") or {}).get("usage") or {}
                        usage.input_tokens += int(u.get("inputTokens", 0))
                        usage.output_tokens += int(u.get("outputTokens", 0))
                        yield StreamEvent("trace", data=body)
        except AwsCallError as err:
            raise StreamInterrupted(f"{err.code}: {err.message}") from None
        finally:
            resp.close()
        meta = state.meta(target, resp.request_id, usage, tags or {})
        meta.tags.setdefault("sessionId", sid)
        self.finish("InvokeAgent", meta, None)
        yield StreamEvent("usage", data={**meta.to_dict(), "session_id": sid}, meta=meta)

    def invoke_agent(self, agent_id: str, alias_id: str, prompt: str, **kwargs: Any) -> AgentResult:
        text, traces, meta, sid = [], [], CallMeta(), kwargs.get("session_id") or ""
        for ev in self.invoke_agent_stream(agent_id, alias_id, prompt, **kwargs):
            if ev.kind == "text":
                text.append(ev.text)
                sid = ev.data.get("sessionId", sid)
            elif ev.kind == "trace":
                traces.append(ev.data)
            elif ev.kind == "usage" and ev.meta is not None:
                meta, sid = ev.meta, ev.data.get("session_id", sid)
        return AgentResult("".join(text), sid, traces, meta)


def decode_chunk_text(payload: dict[str, Any]) -> str:
    import base64

    return base64.b64decode(payload.get("bytes", "")).decode("utf-8", "replace")
