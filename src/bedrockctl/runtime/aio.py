"""The asyncio client: the call core's flows (``core.py``, ``flows.py``) driven with ``httpx.AsyncClient``.

Same flows, planner, retry budget, wire code, usage records and cost as ``Runtime``; no boto3 client on this path.
Store and cache calls (sync SQL) run in a worker thread. The gateway drives its attempts through ``drive`` over its
own SigV4 transport (``server/gateway/upstream.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator
from typing import TYPE_CHECKING, Any

from bedrockctl.runtime.base import ConverseOptions, InvokeOptions, RuntimeBase
from bedrockctl.runtime.core import Blocking, Chunk, Command, Emit, Failed, Flow, Read, Send, Sleep, Stepper
from bedrockctl.runtime.local import LocalRequest
from bedrockctl.runtime.transport import AsyncTransport
from bedrockctl.runtime.types import ConverseResult, InvokeResult, StreamEvent
from bedrockctl.runtime.wire import AwsCallError

if TYPE_CHECKING:
    from typing_extensions import Unpack


class AsyncRuntime(RuntimeBase):
    def __init__(self, *args: Any, transport: AsyncTransport | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transport = transport or AsyncTransport(self.sessions)

    async def aclose(self) -> None:
        await self.transport.aclose()

    # -- the driver ----------------------------------------------------------------------------------------
    async def drive(self, flow: Flow) -> AsyncIterator[Any]:
        """Perform ``flow``'s commands and yield what it emits (``core.Stepper`` feeds the outcomes back)."""
        steps = Stepper(flow)
        try:
            while (emitted := await self._until_emit(steps)) is not None:
                yield emitted.value
        finally:
            if (opened := steps.close()) is not None:
                await opened.close()

    async def run(self, flow: Generator[Command, Any, Any]) -> Any:
        """Perform ``flow`` up to what it emits first and return that, or what it returns (``core.attempts``
        returns the answering route and response: the gateway's case); no async generator on the way."""
        steps = Stepper(flow)
        try:
            while (cmd := steps.next()) is not None:
                if isinstance(cmd, Emit):
                    return cmd.value
                steps.done(cmd, await self._perform(cmd))
            return steps.result
        finally:
            if (opened := steps.close()) is not None:
                await opened.close()

    async def _until_emit(self, steps: Stepper) -> Emit | None:
        while (cmd := steps.next()) is not None:
            if isinstance(cmd, Emit):
                return cmd
            steps.done(cmd, await self._perform(cmd))
        return None

    async def _perform(self, cmd: Command) -> Any:
        try:
            if isinstance(cmd, Send):
                req = cmd.request
                if isinstance(req, LocalRequest):
                    return await self.transport.send_local(req)
                return await self.transport.send(req, cmd.target.region)
            if isinstance(cmd, Chunk):
                return await anext(cmd.response.chunks, None)
            if isinstance(cmd, Read):
                return await cmd.response.read()
            if isinstance(cmd, Blocking):
                return await asyncio.to_thread(cmd.fn, *cmd.args)
            if isinstance(cmd, Sleep):
                await asyncio.sleep(cmd.seconds)
        except AwsCallError as exc:
            return Failed(exc)
        return None

    # -- the operations (options: ``base.ConverseOptions`` / ``base.InvokeOptions``) ---------------------------
    async def converse(
        self, model: str | None = None, messages: list[dict[str, Any]] | None = None, **options: Unpack[ConverseOptions]
    ) -> ConverseResult:
        result: ConverseResult = await self.run(self.converse_flow(model, messages, False, options))
        return result

    async def converse_stream(
        self, model: str | None = None, messages: list[dict[str, Any]] | None = None, **options: Unpack[ConverseOptions]
    ) -> AsyncIterator[StreamEvent]:
        async for event in self.drive(self.converse_flow(model, messages, True, options)):
            yield event

    async def invoke_model(
        self, model: str | None, body: dict[str, Any] | bytes | str, **options: Unpack[InvokeOptions]
    ) -> InvokeResult:
        result: InvokeResult = await self.run(self.invoke_flow(model, body, False, options))
        return result

    async def invoke_model_stream(
        self, model: str | None, body: dict[str, Any] | bytes | str, **options: Unpack[InvokeOptions]
    ) -> AsyncIterator[StreamEvent]:
        async for event in self.drive(self.invoke_flow(model, body, True, options)):
            yield event
