"""OpenAI chat completions <-> Bedrock Converse (pure functions, no I/O)."""

from __future__ import annotations

import time
from typing import Any

import orjson

from bedrockctl.server.gateway import errors

FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "model_context_window_exceeded": "length",
}
_IMAGE_FORMATS = {"png", "jpeg", "gif", "webp"}


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")


def _image(part: dict[str, Any]) -> dict[str, Any]:
    ref = part.get("image_url")
    url = ref.get("url") if isinstance(ref, dict) else ref
    if not isinstance(url, str) or not url.startswith("data:image/") or ";base64," not in url:
        raise errors.validation(
            "image_url must be a data URL (data:image/<png|jpeg|gif|webp>;base64,...); "
            "remote image URLs are not fetched by the gateway."
        )
    head, data = url.split(";base64,", 1)
    fmt = head[len("data:image/") :].lower().replace("jpg", "jpeg")
    if fmt not in _IMAGE_FORMATS:
        raise errors.validation(f"image format {fmt!r} is not supported; use png, jpeg, gif or webp.")
    return {"image": {"format": fmt, "source": {"bytes": data}}}


def _content(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    out: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            out.append({"text": part.get("text", "")})
        elif kind == "image_url":
            out.append(_image(part))
        else:
            raise errors.validation(f"message content part of type {kind!r} is not supported.")
    return out


def to_converse(req: dict[str, Any], default_max_tokens: int) -> tuple[dict[str, Any], int]:
    """The Converse body for a chat completions request, and its max output tokens."""
    msgs = req.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise errors.validation("'messages' must be a non-empty array.")
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for m in msgs:
        if not isinstance(m, dict):
            raise errors.validation("each message must be an object.")
        role = m.get("role")
        if role in ("system", "developer"):
            text = _text_of(m.get("content"))
            if text:
                system.append({"text": text})
        elif role == "user":
            add("user", _content(m.get("content")))
        elif role == "assistant":
            blocks = _content(m.get("content")) if m.get("content") else []
            for call in m.get("tool_calls") or []:
                fn = call.get("function") or {}
                try:
                    args = orjson.loads(fn.get("arguments") or "{}")
                except orjson.JSONDecodeError:
                    raise errors.validation("tool_calls[].function.arguments must be a JSON string.") from None
                blocks.append({"toolUse": {"toolUseId": call.get("id", ""), "name": fn.get("name", ""), "input": args}})
            add("assistant", blocks)
        elif role == "tool":
            add(
                "user",
                [
                    {
                        "toolResult": {
                            "toolUseId": m.get("tool_call_id", ""),
                            "content": [{"text": _text_of(m.get("content"))}],
                        }
                    }
                ],
            )
        else:
            raise errors.validation(f"unsupported message role {role!r}.")
    body: dict[str, Any] = {"messages": out}
    if system:
        body["system"] = system
    max_tokens = req.get("max_completion_tokens") or req.get("max_tokens") or default_max_tokens
    cfg: dict[str, Any] = {"maxTokens": int(max_tokens)}
    if req.get("temperature") is not None:
        cfg["temperature"] = float(req["temperature"])
    if req.get("top_p") is not None:
        cfg["topP"] = float(req["top_p"])
    stop = req.get("stop")
    if stop:
        cfg["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    body["inferenceConfig"] = cfg
    tools = req.get("tools") or []
    choice = req.get("tool_choice")
    if tools and choice != "none":
        specs = []
        for t in tools:
            fn = t.get("function") or {}
            spec: dict[str, Any] = {
                "name": fn.get("name", ""),
                "inputSchema": {"json": fn.get("parameters") or {"type": "object", "properties": {}}},
            }
            if fn.get("description"):
                spec["description"] = fn["description"]
            specs.append({"toolSpec": spec})
        tool_config: dict[str, Any] = {"tools": specs}
        if choice == "required":
            tool_config["toolChoice"] = {"any": {}}
        elif choice == "auto":
            tool_config["toolChoice"] = {"auto": {}}
        elif isinstance(choice, dict) and (choice.get("function") or {}).get("name"):
            tool_config["toolChoice"] = {"tool": {"name": choice["function"]["name"]}}
        body["toolConfig"] = tool_config
    return body, int(max_tokens)


def usage_of(u: dict[str, Any] | None) -> dict[str, Any]:
    u = u or {}
    prompt = (
        int(u.get("inputTokens", 0)) + int(u.get("cacheReadInputTokens", 0)) + int(u.get("cacheWriteInputTokens", 0))
    )
    completion = int(u.get("outputTokens", 0))
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if u.get("cacheReadInputTokens"):
        out["prompt_tokens_details"] = {"cached_tokens": int(u["cacheReadInputTokens"])}
    return out


def from_converse(raw: dict[str, Any], model: str, rid: str) -> dict[str, Any]:
    message = (raw.get("output") or {}).get("message") or {}
    text = ""
    calls = []
    for block in message.get("content") or []:
        if "text" in block:
            text += block["text"]
        elif "toolUse" in block:
            tu = block["toolUse"]
            calls.append(
                {
                    "id": tu.get("toolUseId"),
                    "type": "function",
                    "function": {"name": tu.get("name"), "arguments": orjson.dumps(tu.get("input")).decode()},
                }
            )
    msg: dict[str, Any] = {"role": "assistant", "content": text or (None if calls else "")}
    if calls:
        msg["tool_calls"] = calls
    return {
        "id": f"chatcmpl-{rid}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": msg,
                "logprobs": None,
                "finish_reason": FINISH.get(str(raw.get("stopReason")), "stop"),
            }
        ],
        "usage": usage_of(raw.get("usage")),
    }


class ChunkWriter:
    """Converse stream events -> ``chat.completion.chunk`` SSE lines."""

    def __init__(self, model: str, rid: str, include_usage: bool) -> None:
        self.base = {
            "id": f"chatcmpl-{rid}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        self.include_usage = include_usage
        self.tool_index: dict[int, int] = {}
        self.usage: dict[str, Any] | None = None
        self.finished = False

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        doc = {**self.base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        return b"data: " + orjson.dumps(doc) + b"\n\n"

    def event(self, etype: str, p: dict[str, Any]) -> bytes:
        if etype == "messageStart":
            return self._chunk({"role": "assistant", "content": ""})
        if etype == "contentBlockStart":
            tu = (p.get("start") or {}).get("toolUse")
            if tu:
                i = self.tool_index.setdefault(int(p.get("contentBlockIndex", 0)), len(self.tool_index))
                return self._chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": tu.get("toolUseId"),
                                "type": "function",
                                "function": {"name": tu.get("name"), "arguments": ""},
                            }
                        ]
                    }
                )
        elif etype == "contentBlockDelta":
            d = p.get("delta") or {}
            if "text" in d:
                return self._chunk({"content": d["text"]})
            if "toolUse" in d:
                i = self.tool_index.setdefault(int(p.get("contentBlockIndex", 0)), len(self.tool_index))
                return self._chunk(
                    {"tool_calls": [{"index": i, "function": {"arguments": d["toolUse"].get("input", "")}}]}
                )
        elif etype == "messageStop":
            return self._chunk({}, FINISH.get(str(p.get("stopReason")), "stop"))
        elif etype == "metadata":
            self.usage = p.get("usage")
            self.finished = True
            if self.include_usage:
                doc = {**self.base, "choices": [], "usage": usage_of(self.usage)}
                return b"data: " + orjson.dumps(doc) + b"\n\n"
        return b""
