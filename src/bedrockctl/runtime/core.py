"""The one call core, free of I/O: a call is a flow (a generator) that yields commands and is sent their outcomes.

The decisions of a Bedrock call -- which route next, after what delay, what request, what a failure means (retry,
fail over, give up), what the answer says -- live in the flows (``attempts`` here, the operations in
``flows.py``). Drivers perform the commands with their own transport and feed back the outcome, or throw the
``AwsCallError`` it raised into the flow (the style of h11 / the httpx sans-IO core):

- ``Send(target, request)`` -> the response (status < 300; an error answer is raised by the transport as
  ``AwsCallError``); ``request`` is a ``WireRequest`` (Bedrock) or a ``LocalRequest`` (the local tier);
- ``Sleep(seconds)`` -> ``None``;
- ``Read(response)`` -> the whole body (``bytes``), the response closed;
- ``Chunk(response)`` -> the next piece of a streamed body, ``None`` at its end;
- ``Blocking(fn, args)`` -> ``fn(*args)``: a store or cache call (the async driver runs it in a thread);
- ``Emit(value)`` -> ``None``: a result or a stream event for the caller.

Drivers: ``Runtime.drive`` (sync, httpx), ``AsyncRuntime.drive`` / ``AsyncRuntime.run`` (asyncio, httpx; the
gateway's ``Gateway.send`` runs ``attempts`` alone through ``run`` over its own SigV4 transport and gets the
answering response back unread). A driver closes the last response it was handed when the flow ends or is
abandoned, unless the flow returned it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from bedrockctl.runtime import local
from bedrockctl.runtime.calls import CallState
from bedrockctl.runtime.errors import LocalUpstreamError
from bedrockctl.runtime.resolve import Target
from bedrockctl.runtime.wire import AwsCallError, WireRequest


@dataclass(slots=True)
class Send:
    target: Target
    request: WireRequest | local.LocalRequest


@dataclass(slots=True)
class Sleep:
    seconds: float


@dataclass(slots=True)
class Read:
    response: Any


@dataclass(slots=True)
class Chunk:
    response: Any


@dataclass(slots=True)
class Blocking:
    fn: Callable[..., Any]
    args: tuple[Any, ...]


@dataclass(slots=True)
class Emit:
    value: Any


Command = Send | Sleep | Read | Chunk | Blocking | Emit
Flow = Generator[Command, Any, None]


@dataclass(slots=True)
class Sent:
    """The outcome of ``attempts``: the route that answered, its response, and when that attempt started."""

    target: Target
    response: Any
    started: float


@dataclass(slots=True)
class Failed:
    """The outcome of a command whose transport raised: thrown into the flow."""

    error: AwsCallError


class Stepper:
    """The half of a driver that does no I/O: feeds each outcome to the flow (``Failed`` ones thrown in) and hands
    out the next command; keeps the last response to close when the flow ends, unless the flow returned it (as
    ``Sent``: ``attempts`` alone, the gateway's case) -- then the caller reads and closes it."""

    __slots__ = ("flow", "opened", "outcome", "result")

    def __init__(self, flow: Generator[Command, Any, Any]) -> None:
        self.flow = flow
        self.outcome: Any = None
        self.opened: Any = None
        self.result: Any = None  # what the flow returned

    def next(self) -> Command | None:
        """The next command, or ``None`` when the flow has ended."""
        outcome, self.outcome = self.outcome, None
        try:
            return self.flow.throw(outcome.error) if isinstance(outcome, Failed) else self.flow.send(outcome)
        except StopIteration as stop:
            self.result = stop.value
            if isinstance(stop.value, Sent):
                self.opened = None
            return None

    def done(self, cmd: Command, outcome: Any) -> None:
        self.outcome = outcome
        if isinstance(cmd, Send) and not isinstance(outcome, Failed):
            self.opened = outcome

    def close(self) -> Any:
        """End the flow; the response the driver must still close, if any."""
        self.flow.close()
        opened, self.opened = self.opened, None
        return opened


def attempts(state: CallState, build: Callable[[Target], Any]) -> Generator[Command, Any, Sent]:
    """Walk the plan until a route answers: the next route (``CallState.next``), the backoff before a new round,
    the request ``build(target)``, and after a failure the verdict of ``CallState.failed`` (raises the translated
    error, or ``AllRoutesFailed``, when no other attempt is allowed)."""
    while True:
        target, delay = state.next()
        if delay:
            yield Sleep(delay)
        started = time.perf_counter()
        try:
            resp = yield Send(target, build(target))
        except AwsCallError as err:
            state.failed(target, err, started)
            continue
        state.succeeded(target, started, resp.request_id)
        return Sent(target, resp, started)


def converse_body(target: Target, data: bytes) -> dict[str, Any]:
    """A Converse answer: Bedrock's JSON, or the local tier's OpenAI JSON turned into it."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        doc, why = None, f"non-JSON ({exc}): {data[:120].decode('utf-8', 'replace')!r}"
    else:
        why = "" if isinstance(doc, dict) else f"JSON that is not an object: {data[:120]!r}"
    if why and target.is_local:
        raise LocalUpstreamError(f"the local upstream answered {why}")
    if why:
        raise AwsCallError("InvalidResponse", f"the upstream answered {why}", 502, None, "Converse", target.region)
    return local.from_openai(doc) if target.is_local else doc


def invoke_body(data: bytes, content_type: str) -> dict[str, Any]:
    """A model-native InvokeModel answer: its JSON object; text as ``{"raw": text}``; anything else (an image,
    audio) as ``{}`` -- the exact bytes are always in ``InvokeResult.data``."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind.endswith("json") or (not kind and data[:1] in (b"{", b"[")):
        try:
            doc = json.loads(data)
        except ValueError:
            return {"raw": data.decode("utf-8", "replace")}
        return doc if isinstance(doc, dict) else {"value": doc}
    if kind.startswith("text/"):
        return {"raw": data.decode("utf-8", "replace")}
    return {}
