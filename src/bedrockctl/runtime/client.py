"""The synchronous runtime client: converse, converse_stream, invoke_model(_stream), invoke_agent.

A thin driver of the call core (``core.py``, ``flows.py``): it performs the flows' commands with ``httpx.Client``
(``SyncTransport``) and blocking sleeps and store calls.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

from bedrockctl.runtime import flows
from bedrockctl.runtime.base import RuntimeBase
from bedrockctl.runtime.calls import encode_body
from bedrockctl.runtime.core import Blocking, Chunk, Emit, Flow, Read, Send, Sent, Sleep
from bedrockctl.runtime.local import LocalRequest
from bedrockctl.runtime.transport import SyncTransport
from bedrockctl.runtime.types import AgentResult, ConverseResult, InvokeResult, StreamEvent
from bedrockctl.runtime.wire import AwsCallError


class Runtime(RuntimeBase):
    """Library entry point. ``Runtime.from_context(AppContext.create())`` wires settings, store and prices."""

    def __init__(self, *args: Any, transport: SyncTransport | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transport = transport or SyncTransport(self.sessions)

    def close(self) -> None:
        self.transport.close()

    # -- the driver ----------------------------------------------------------------------------------------
    def drive(self, flow: Flow) -> Iterator[Any]:
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
                        reply = opened = self._send(cmd)
                    elif isinstance(cmd, Chunk):
                        reply = next(cmd.response.chunks, None)
                    elif isinstance(cmd, Read):
                        reply = cmd.response.read()
                    elif isinstance(cmd, Blocking):
                        reply = cmd.fn(*cmd.args)
                    elif isinstance(cmd, Sleep):
                        time.sleep(cmd.seconds)
                except AwsCallError as exc:
                    error = exc
        except StopIteration:
            return
        finally:
            flow.close()
            if opened is not None:
                opened.close()

    def _send(self, cmd: Send) -> Any:
        if isinstance(cmd.request, LocalRequest):
            return self.transport.send_local(cmd.request)
        return self.transport.send(cmd.request, cmd.target.region)

    def _result(self, flow: Flow) -> Any:
        out = None
        for item in self.drive(flow):
            out = item
        return out

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
        result: ConverseResult = self._result(flows.converse(self, model, payload, tags, use_cache))
        return result

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
        yield from self.drive(flows.converse_stream(self, model, payload, tags, use_cache))

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
        result: InvokeResult = self._result(flow)
        return result

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
        g = guardrail or self.guardrail
        yield from self.drive(
            flows.invoke_stream(self, model, encode_body(body), tags=tags, guardrail=g, trace=guardrail_trace)
        )

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
