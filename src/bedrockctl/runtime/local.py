"""The local tier: an OpenAI-compatible upstream (Ollama, llama.cpp, vLLM...) behind the Converse shapes.

``to_openai`` turns a Converse request into a ``/chat/completions`` body; ``from_openai`` turns the answer back
into a Converse response, so the rest of the runtime (results, usage records, cache) does not care where the
call ran. Cost: zero.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bedrockctl.runtime.wire import AwsCallError

DEFAULT_BASE_URL = "http://localhost:11434/v1"

_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "content_filtered"}


def _text(content: list[dict[str, Any]]) -> str:
    return "".join(str(b.get("text", "")) for b in content if "text" in b)


def to_openai(model: str, payload: dict[str, Any], stream: bool) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    system = _text(payload.get("system") or [])
    if system:
        messages.append({"role": "system", "content": system})
    for msg in payload.get("messages", []):
        messages.append({"role": msg.get("role", "user"), "content": _text(msg.get("content", []))})
    body: dict[str, Any] = {"model": model, "messages": messages, "stream": stream}
    cfg = payload.get("inferenceConfig") or {}
    for src, dst in (
        ("maxTokens", "max_tokens"),
        ("temperature", "temperature"),
        ("topP", "top_p"),
        ("stopSequences", "stop"),
    ):
        if src in cfg:
            body[dst] = cfg[src]
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def from_openai(doc: dict[str, Any]) -> dict[str, Any]:
    choice = (doc.get("choices") or [{}])[0]
    text = str((choice.get("message") or {}).get("content") or "")
    usage = doc.get("usage") or {}
    inp, out = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": _STOP.get(str(choice.get("finish_reason") or "stop"), "end_turn"),
        "usage": {"inputTokens": inp, "outputTokens": out, "totalTokens": inp + out},
        "metrics": {"latencyMs": 0},
    }


class SSEToConverse:
    """Feed OpenAI SSE bytes; yields Converse stream events ``(event_type, payload)``."""

    def __init__(self) -> None:
        self._buf = b""
        self.usage = {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}
        self.stop = "end_turn"
        self.started = False

    def feed(self, data: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
        self._buf += data
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            line = line.strip()
            if not line.startswith(b"data:"):
                continue
            raw = line[5:].strip()
            if raw == b"[DONE]":
                continue
            try:
                doc = json.loads(raw)
            except ValueError as exc:
                text = raw[:120].decode("utf-8", "replace")
                raise AwsCallError(
                    "InvalidResponse",
                    f"the local upstream sent non-JSON ({exc}): {text!r}",
                    502,
                    None,
                    "ConverseStream",
                    "local",
                ) from None
            if not self.started:
                self.started = True
                yield "messageStart", {"role": "assistant"}
            for choice in doc.get("choices") or []:
                delta = (choice.get("delta") or {}).get("content")
                if delta:
                    yield "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": delta}}
                if choice.get("finish_reason"):
                    self.stop = _STOP.get(str(choice["finish_reason"]), "end_turn")
            if doc.get("usage"):
                u = doc["usage"]
                inp, out = int(u.get("prompt_tokens", 0)), int(u.get("completion_tokens", 0))
                self.usage = {"inputTokens": inp, "outputTokens": out, "totalTokens": inp + out}

    def finish(self) -> Iterator[tuple[str, dict[str, Any]]]:
        yield "contentBlockStop", {"contentBlockIndex": 0}
        yield "messageStop", {"stopReason": self.stop}
        yield "metadata", {"usage": self.usage, "metrics": {"latencyMs": 0}}


def endpoint(base_url: str) -> str:
    return base_url.rstrip("/") + "/chat/completions"


def headers(api_key: str | None) -> dict[str, str]:
    out = {"Content-Type": "application/json"}
    if api_key:
        out["Authorization"] = f"Bearer {api_key}"
    return out


@dataclass(slots=True)
class LocalRequest:
    """A ``/chat/completions`` request to the local tier (what ``core.Send`` carries for a local target)."""

    url: str
    body: bytes
    headers: dict[str, str]
    operation: str = "Converse"


def request(
    base_url: str | None, api_key: str | None, model: str, payload: dict[str, Any], stream: bool
) -> LocalRequest:
    body = json.dumps(to_openai(model, payload, stream)).encode()
    op = "ConverseStream" if stream else "Converse"
    return LocalRequest(endpoint(base_url or DEFAULT_BASE_URL), body, headers(api_key), op)


def upstream_error(status: int, body: bytes, operation: str) -> AwsCallError:
    """A local answer of status >= 300: 429 is throttling (retry), anything else the route being down (fail
    over); the upstream's text is kept."""
    code = "ThrottlingException" if status == 429 else "ServiceUnavailableException"
    text = body[:200].decode("utf-8", "replace")
    return AwsCallError(code, f"local upstream {status}: {text}", status, None, operation, "local")
