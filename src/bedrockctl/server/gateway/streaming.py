"""Streams whose client goes away: ``ClientWatch`` cancels the task relaying a stream as soon as its client
disconnects (uvicorn's ``send`` drops what a gone client would receive without telling: without the watch the
gateway would read the upstream stream to its end); the relay then closes the upstream connection, which ends
the upstream call, and settles what was used. ``PartialUsage`` is that: the tokens the stream reported so far (an
Anthropic ``message_start`` / ``message_delta`` carries exact counts), else a conservative count of the text
relayed so far (``input_estimate``'s upper bound) and of the request's input (the estimate admission reserved for)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import orjson

from bedrockctl.runtime.types import Usage
from bedrockctl.server.gateway.input_estimate import json_tokens, text_tokens

CLIENT_CLOSED = 499  # the audit's http_status of a stream whose client went away (nginx's "client closed request")


class ClientWatch:
    """While active, a client disconnect cancels the task that created the watch (``gone`` tells it apart from any
    other cancellation). Call ``stop()`` before sending the response's last part."""

    __slots__ = ("_task", "_watcher", "gone")

    def __init__(self, receive: Any) -> None:
        self.gone = False
        self._task = asyncio.current_task()
        self._watcher: asyncio.Task[None] | None = asyncio.ensure_future(self._watch(receive))

    async def _watch(self, receive: Any) -> None:
        while (await receive())["type"] != "http.disconnect":
            continue
        self.gone = True
        if self._task is not None:
            self._task.cancel()

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None

    def absorb(self) -> bool:
        """In ``except CancelledError``: True (and the cancellation is consumed) when it was the client leaving."""
        if self.gone and self._task is not None:
            self._task.uncancel()
            return True
        return False


class PartialUsage:
    """The usage of a stream cut short, from the events relayed so far."""

    __slots__ = ("est_input", "input_tokens", "max_output", "output_tokens", "text_tokens")

    def __init__(self, est_input: int, max_output: int | None = None) -> None:
        self.est_input = est_input
        self.max_output = max_output  # an estimated output never passes the call's output limit
        self.input_tokens: int | None = None  # exact, when the stream said
        self.output_tokens: int | None = None
        self.text_tokens = 0  # counted from the text relayed

    def feed(self, etype: str, payload: dict[str, Any]) -> None:
        """One decoded eventstream event (ConverseStream or InvokeModelWithResponseStream)."""
        if etype == "contentBlockDelta":
            self._text((payload.get("delta") or {}).get("text") or (payload.get("delta") or {}).get("toolUse"))
        elif etype == "chunk":
            try:
                doc = orjson.loads(base64.b64decode(payload.get("bytes", "")))
            except (ValueError, TypeError):
                return
            if isinstance(doc, dict):
                self.feed_native(doc)

    def feed_native(self, doc: dict[str, Any]) -> None:
        """One model-native stream chunk (Anthropic Messages events; other families' text fields)."""
        kind = doc.get("type")
        if kind == "message_start":
            usage = (doc.get("message") or {}).get("usage") or {}
            if isinstance(usage.get("input_tokens"), int):
                self.input_tokens = usage["input_tokens"]
        elif kind == "message_delta":
            usage = doc.get("usage") or {}
            if isinstance(usage.get("output_tokens"), int):
                self.output_tokens = usage["output_tokens"]
        elif kind == "content_block_delta":
            delta = doc.get("delta") or {}
            self._text(delta.get("text") or delta.get("partial_json") or delta.get("thinking"))
        else:
            for field in ("outputText", "generation", "completion", "text"):
                if isinstance(doc.get(field), str):
                    self._text(doc[field])
                    break

    def _text(self, text: Any) -> None:
        if text:
            self.text_tokens += text_tokens(text) if isinstance(text, str) else json_tokens(text)

    def _estimated_output(self) -> int:
        return min(self.text_tokens, self.max_output) if self.max_output else self.text_tokens

    def usage(self) -> Usage:
        return Usage(
            input_tokens=self.input_tokens if self.input_tokens is not None else self.est_input,
            output_tokens=self.output_tokens if self.output_tokens is not None else self._estimated_output(),
        )
