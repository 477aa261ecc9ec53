"""The asyncio client: the call core's flows (``core.py``, ``flows.py``) driven with ``httpx.AsyncClient``.

Same flows, planner, retry budget, wire code, usage records and cost as ``Runtime``; no boto3 client on this path.
Store and cache calls (sync SQL) run in a worker thread. The gateway drives its attempts through ``drive`` over its
own SigV4 transport (``server/gateway/upstream.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from bedrockctl.runtime import flows
from bedrockctl.runtime.base import RuntimeBase
from bedrockctl.runtime.calls import encode_body
from bedrockctl.runtime.core import Blocking, Chunk, Emit, Flow, Read, Send, Sent, Sleep
from bedrockctl.runtime.local import LocalRequest
from bedrockctl.runtime.transport import AsyncTransport
from bedrockctl.runtime.types import ConverseResult, InvokeResult, StreamEvent
from bedrockctl.runtime.wire import AwsCallError


class AsyncRuntime(RuntimeBase):
    def __init__(self, *args: Any, transport: AsyncTransport | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transport = transport or AsyncTransport(self.sessions)

    async def aclose(self) -> None:
        await self.transport.aclose()

    # -- the driver ----------------------------------------------------------------------------------------
    async def drive(self, flow: Flow) -> AsyncIterator[Any]:
        """Perform ``flow``'s commands and yield what it emits; a response it did not hand over is closed at the
        end, also when the caller abandons the iteration."""
        reply: Any = None
        error: AwsCallError | None = None
        opened: Any = None
        try:
            while True:
                cmd = flow.send(reply) if error is None else flow.throw(error)
                reply = error = None
                if isinstance(cmd, Emit):
                    opened = None if isinstance(cmd.value, Sent) else opened
                    yield cmd.value
                    continue
                try:
                    if isinstance(cmd, Send):
                        reply = opened = await self._send(cmd)
                    elif isinstance(cmd, Chunk):
                        reply = await anext(cmd.response.chunks, None)
                    elif isinstance(cmd, Read):
                        reply = await cmd.response.read()
                    elif isinstance(cmd, Blocking):
                        reply = await asyncio.to_thread(cmd.fn, *cmd.args)
                    elif isinstance(cmd, Sleep):
                        await asyncio.sleep(cmd.seconds)
                except AwsCallError as exc:
                    error = exc
        except StopIteration:
            return
        finally:
            flow.close()
            if opened is not None:
                await opened.close()

    async def _send(self, cmd: Send) -> Any:
        if isinstance(cmd.request, LocalRequest):
            return await self.transport.send_local(cmd.request)
        return await self.transport.send(cmd.request, cmd.target.region)

    async def _result(self, flow: Flow) -> Any:
        out = None
        async for item in self.drive(flow):
            out = item
        return out

    # -- the operations ------------------------------------------------------------------------------------
    async def converse(
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
        model, payload = self.converse_request(model, messages, guardrail, guardrail_trace, kwargs)
        result: ConverseResult = await self._result(flows.converse(self, model, payload, tags, use_cache))
        return result

    async def converse_stream(
        self,
        model: str | None = None,
        messages: list[dict[str, Any]] | None = None,
        *,
        tags: dict[str, str] | None = None,
        guardrail: tuple[str, str] | None = None,
        guardrail_trace: bool = True,
        use_cache: bool = True,
        **kwargs: Any,
    ) -> AsyncIterator[StreamEvent]:
        model, payload = self.converse_request(model, messages, guardrail, guardrail_trace, kwargs)
        async for event in self.drive(flows.converse_stream(self, model, payload, tags, use_cache)):
            yield event

    async def invoke_model(
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
        flow = flows.invoke(
            self,
            self.model_or_default(model),
            encode_body(body),
            content_type=content_type,
            accept=accept,
            tags=tags,
            guardrail=guardrail or self.guardrail,
            trace=guardrail_trace,
            use_cache=use_cache,
        )
        result: InvokeResult = await self._result(flow)
        return result

    async def invoke_model_stream(
        self,
        model: str | None,
        body: dict[str, Any] | bytes | str,
        *,
        tags: dict[str, str] | None = None,
        guardrail: tuple[str, str] | None = None,
        guardrail_trace: bool = True,
    ) -> AsyncIterator[StreamEvent]:
        model = self.model_or_default(model)
        g = guardrail or self.guardrail
        flow = flows.invoke_stream(self, model, encode_body(body), tags=tags, guardrail=g, trace=guardrail_trace)
        async for event in self.drive(flow):
            yield event
