"""The asyncio client for the gateway: SigV4-signed httpx.AsyncClient requests, botocore event-stream parsing.

Same planner, retry budget, wire code, usage records and cost as ``Runtime``; no boto3 client on this path.
Store/cache writes (sync SQL) run in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
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
from bedrockctl.runtime.errors import StreamInterrupted
from bedrockctl.runtime.resolve import Target
from bedrockctl.runtime.transport import AsyncResponse, AsyncTransport
from bedrockctl.runtime.types import ConverseResult, InvokeResult, StreamEvent, Usage
from bedrockctl.runtime.wire import AwsCallError, EventDecoder, build_converse, build_invoke


class AsyncRuntime(RuntimeBase):
    def __init__(self, *args: Any, transport: AsyncTransport | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transport = transport or AsyncTransport(self.sessions)

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def _send(self, state: CallState, build: Any) -> tuple[Target, AsyncResponse, float]:
        while True:
            target, delay = state.next()
            if delay:
                await asyncio.sleep(delay)
            started = time.perf_counter()
            try:
                if target.is_local:
                    resp = await self._local(target, build(target))
                else:
                    resp = await self.transport.send(build(target), target.region)
            except AwsCallError as err:
                state.failed(target, err, started)
                continue
            return target, resp, started

    async def _local(self, target: Target, payload: dict[str, Any]) -> AsyncResponse:
        url = local.endpoint(self.options.local_base_url or "http://localhost:11434/v1")
        body = local.to_openai(target.model_id, payload["converse"], payload["stream"])
        client = self.transport.client
        try:
            resp = await client.send(
                client.build_request("POST", url, json=body, headers=local.headers(self.options.local_api_key)),
                stream=True,
            )
        except httpx.HTTPError as exc:
            raise AwsCallError("ConnectionError", str(exc), None, None, "Converse", "local", transport=True) from exc
        if resp.status_code >= 300:
            await resp.aread()
            await resp.aclose()
            code = "ThrottlingException" if resp.status_code == 429 else "ServiceUnavailableException"
            raise AwsCallError(code, f"local upstream {resp.status_code}", resp.status_code, None, "Converse", "local")
        return AsyncResponse(resp.status_code, resp.headers, resp.aiter_bytes(), resp.aclose)

    @staticmethod
    def _req(target: Target, payload: dict[str, Any], stream: bool) -> Any:
        if target.is_local:
            return {"converse": payload, "stream": stream}
        return build_converse(target.model_id, payload, stream)

    async def _finish(self, operation: str, meta: Any, target: Target | None, status: str = "ok") -> None:
        await asyncio.to_thread(self.finish, operation, meta, target, status)

    async def converse(
        self,
        model: str | None = None,
        messages: list[dict[str, Any]] | None = None,
        *,
        tags: dict[str, str] | None = None,
        guardrail: tuple[str, str] | None = None,
        guardrail_trace: bool = True,
        **kwargs: Any,
    ) -> ConverseResult:
        model, payload = self.converse_request(model, messages, guardrail, guardrail_trace, kwargs)
        if tags:
            payload["requestMetadata"] = dict(tags)
        state = self.start("Converse", model)
        try:
            target, resp, started = await self._send(state, lambda t: self._req(t, payload, False))
            data = await resp.read()
        except (BedrockctlError, AwsCallError) as exc:
            await asyncio.to_thread(self.fail_record, "Converse", model, state, exc)
            raise exc.translate() if isinstance(exc, AwsCallError) else exc from None
        raw: dict[str, Any] = local.from_openai(json.loads(data)) if target.is_local else json.loads(data)
        state.succeeded(target, started, resp.request_id)
        meta = state.meta(target, resp.request_id, Usage.from_converse(raw.get("usage")), tags or {})
        meta.guardrail = converse_guardrail(raw)
        await self._finish("Converse", meta, target)
        message = (raw.get("output") or {}).get("message") or {"role": "assistant", "content": []}
        return ConverseResult(converse_text(message), str(raw.get("stopReason", "")), message, raw, meta)

    async def converse_stream(
        self,
        model: str | None = None,
        messages: list[dict[str, Any]] | None = None,
        *,
        tags: dict[str, str] | None = None,
        guardrail: tuple[str, str] | None = None,
        guardrail_trace: bool = True,
        **kwargs: Any,
    ) -> AsyncIterator[StreamEvent]:
        model, payload = self.converse_request(model, messages, guardrail, guardrail_trace, kwargs)
        if tags:
            payload["requestMetadata"] = dict(tags)
        state = self.start("ConverseStream", model)
        try:
            target, resp, started = await self._send(state, lambda t: self._req(t, payload, True))
        except BedrockctlError as exc:
            await asyncio.to_thread(self.fail_record, "ConverseStream", model, state, exc)
            raise
        state.succeeded(target, started, resp.request_id)
        asm = StreamAssembler()
        decoder: Any = local.SSEToConverse() if target.is_local else EventDecoder("ConverseStream", target.region)
        try:
            async for chunk in resp.chunks:
                for etype, body in decoder.feed(chunk):
                    for ev in asm.event(etype, body):
                        yield ev
            if target.is_local:
                for etype, body in decoder.finish():
                    for ev in asm.event(etype, body):
                        yield ev
        except AwsCallError as err:
            meta = state.meta(target, resp.request_id, Usage.from_converse(asm.usage), tags or {})
            await self._finish("ConverseStream", meta, target, err.code)
            raise StreamInterrupted(f"{err.code}: {err.message}") from None
        finally:
            await resp.close()
        meta = state.meta(target, resp.request_id, Usage.from_converse(asm.usage), tags or {})
        meta.guardrail = converse_guardrail(asm.response())
        await self._finish("ConverseStream", meta, target, "ok" if asm.finished else "incomplete")
        if not asm.finished:
            raise StreamInterrupted("the stream ended before its metadata event")
        yield StreamEvent("usage", data=meta.to_dict(), meta=meta)

    async def invoke_model(
        self,
        model: str | None,
        body: dict[str, Any] | bytes | str,
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
        tags: dict[str, str] | None = None,
        guardrail: tuple[str, str] | None = None,
    ) -> InvokeResult:
        model = self.model_or_default(model)
        raw_body = encode_body(body)
        g = guardrail or self.guardrail
        state = self.start("InvokeModel", model, bedrock_only=True)
        try:
            target, resp, started = await self._send(
                state,
                lambda t: build_invoke(
                    t.model_id, raw_body, stream=False, content_type=content_type, accept=accept, guardrail=g
                ),
            )
            data = await resp.read()
        except (BedrockctlError, AwsCallError) as exc:
            await asyncio.to_thread(self.fail_record, "InvokeModel", model, state, exc)
            raise exc.translate() if isinstance(exc, AwsCallError) else exc from None
        state.succeeded(target, started, resp.request_id)
        doc = json.loads(data)
        meta = state.meta(target, resp.request_id, invoke_usage(resp.headers), tags or {})
        meta.guardrail = invoke_guardrail(doc)
        await self._finish("InvokeModel", meta, target)
        return InvokeResult(doc, str(resp.headers.get("content-type", accept)), meta)
