"""The synchronous runtime client: converse, converse_stream, invoke_model(_stream), invoke_agent.

A thin driver of the call core (``core.py``, ``flows.py``): it performs the flows' commands with ``httpx.Client``
(``SyncTransport``) and blocking sleeps and store calls.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bedrockctl.runtime import flows
from bedrockctl.runtime.base import ConverseOptions, InvokeOptions, RuntimeBase
from bedrockctl.runtime.core import Blocking, Chunk, Command, Emit, Failed, Flow, Read, Send, Sleep, Stepper
from bedrockctl.runtime.local import LocalRequest
from bedrockctl.runtime.transport import SyncTransport
from bedrockctl.runtime.types import AgentResult, ConverseResult, InvokeResult, StreamEvent
from bedrockctl.runtime.wire import AwsCallError

if TYPE_CHECKING:
    from typing_extensions import Unpack


class Runtime(RuntimeBase):
    """Library entry point. ``Runtime.from_context(AppContext.create())`` wires settings, store and prices."""

    def __init__(self, *args: Any, transport: SyncTransport | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transport = transport or SyncTransport(self.sessions)

    def close(self) -> None:
        self.transport.close()

    # -- the driver ----------------------------------------------------------------------------------------
    def drive(self, flow: Flow) -> Iterator[Any]:
        """Perform ``flow``'s commands and yield what it emits (``core.Stepper`` feeds the outcomes back)."""
        steps = Stepper(flow)
        try:
            while (cmd := steps.next()) is not None:
                if isinstance(cmd, Emit):
                    yield cmd.value
                else:
                    steps.done(cmd, self._perform(cmd))
        finally:
            if (opened := steps.close()) is not None:
                opened.close()

    def _perform(self, cmd: Command) -> Any:
        try:
            if isinstance(cmd, Send):
                req = cmd.request
                if isinstance(req, LocalRequest):
                    return self.transport.send_local(req)
                return self.transport.send(req, cmd.target.region)
            if isinstance(cmd, Chunk):
                return next(cmd.response.chunks, None)
            if isinstance(cmd, Read):
                return cmd.response.read()
            if isinstance(cmd, Blocking):
                return cmd.fn(*cmd.args)
            if isinstance(cmd, Sleep):
                time.sleep(cmd.seconds)
        except AwsCallError as exc:
            return Failed(exc)
        return None

    def _result(self, flow: Flow) -> Any:
        out = None
        for item in self.drive(flow):
            out = item
        return out

    # -- the operations (options: ``base.ConverseOptions`` / ``base.InvokeOptions``) ---------------------------
    def converse(
        self, model: str | None = None, messages: list[dict[str, Any]] | None = None, **options: Unpack[ConverseOptions]
    ) -> ConverseResult:
        """One Converse call: ``messages`` and/or ``prompt=``, with system, max_tokens, temperature, top_p,
        stop_sequences, tools, tool_choice, images=[(bytes, "png")], extra={...}, tags, guardrail, use_cache."""
        result: ConverseResult = self._result(self.converse_flow(model, messages, False, options))
        return result

    def converse_stream(
        self, model: str | None = None, messages: list[dict[str, Any]] | None = None, **options: Unpack[ConverseOptions]
    ) -> Iterator[StreamEvent]:
        """Yields ``text`` deltas, ``tool_use`` events, ``stop`` and a final ``usage`` event (with ``meta``)."""
        yield from self.drive(self.converse_flow(model, messages, True, options))

    def invoke_model(
        self, model: str | None, body: dict[str, Any] | bytes | str, **options: Unpack[InvokeOptions]
    ) -> InvokeResult:
        """InvokeModel with a model-native body; usage from the token-count headers."""
        result: InvokeResult = self._result(self.invoke_flow(model, body, False, options))
        return result

    def invoke_model_stream(
        self, model: str | None, body: dict[str, Any] | bytes | str, **options: Unpack[InvokeOptions]
    ) -> Iterator[StreamEvent]:
        """InvokeModelWithResponseStream: ``chunk`` events (native JSON), then ``usage``."""
        yield from self.drive(self.invoke_flow(model, body, True, options))

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
        payload: dict[str, Any] = {"inputText": prompt, "enableTrace": trace, "endSession": end_session}
        sid = session_id or uuid.uuid4().hex
        yield from self.drive(flows.agent_stream(self, agent_id, alias_id, sid, payload, tags))

    def invoke_agent(self, agent_id: str, alias_id: str, prompt: str, **kwargs: Any) -> AgentResult:
        events = list(self.invoke_agent_stream(agent_id, alias_id, prompt, **kwargs))
        return flows.agent_result(events, kwargs.get("session_id") or "")
