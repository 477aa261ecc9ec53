"""AI21 Jamba's native InvokeModel body: an OpenAI-style chat completion.

Request: ``messages`` (``system`` / ``user`` / ``assistant`` / ``tool``, string content or text parts),
``max_tokens``, ``stop``, ``tools`` (``{"type": "function", "function": {...}}``). Reply: ``id``, ``choices``
(one, with ``message`` and ``finish_reason`` ``stop`` / ``length`` / ``tool_calls``), ``usage`` (``prompt_tokens``,
``completion_tokens``, ``total_tokens``), ``meta.requestDurationMillis`` and ``model``. Streams are chat
completion chunks (``delta``), the last with ``finish_reason`` and ``usage``. ``n`` above 1 still gets one
choice (the sandbox's replies are deterministic, so the choices would be equal).
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import tokens
from .formats import Block, Generation, Prompt, ToolDef, Turn, invalid, split_text, text_block
from .formats_native import BodyFormat, _int, _require, _with_metrics


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _model_name(model_id: str) -> str:
    """``ai21.jamba-1-5-large-v1:0`` -> ``jamba-1.5-large``."""
    name = re.sub(r"-v\d+(:\d+)?$", "", model_id.rsplit(".", 1)[-1] if "ai21." in model_id else model_id)
    return re.sub(r"(\d)-(\d)", r"\1.\2", name)


class Jamba(BodyFormat):
    name = "ai21-jamba"
    tool_id_prefix = "call_"

    def parse(self, body: dict[str, Any]) -> Prompt:
        _require(body, "messages")
        prompt = Prompt(max_tokens=_int(body["max_tokens"], "max_tokens") if "max_tokens" in body else None)
        for msg in body["messages"] or []:
            role = msg.get("role") if isinstance(msg, dict) else None
            text = _text_of(msg.get("content")) if isinstance(msg, dict) else ""
            if role == "system":
                prompt.system.append(text_block(text))
            elif role == "tool":
                block = Block("tool_result", text=text, tool_use_id=str(msg.get("tool_call_id", "")))
                block.tokens = tokens.text_tokens(text)
                prompt.turns.append(Turn("user", [block]))
            elif role in ("user", "assistant"):
                blocks = [text_block(text)] if text else []
                for call in msg.get("tool_calls") or []:
                    fn = call.get("function") or {}
                    args = fn.get("arguments") or "{}"
                    blocks.append(Block("tool_use", name=str(fn.get("name", "")), tokens=tokens.text_tokens(args)))
                prompt.turns.append(Turn(str(role), blocks))
            else:
                raise invalid(f"Malformed input request: #/messages: role {role!r} is not a valid enum value")
        for tool in body.get("tools") or []:
            fn = tool.get("function") or {}
            prompt.tools.append(
                ToolDef(str(fn.get("name", "")), str(fn.get("description", "")), fn.get("parameters") or {})
            )
        stop = body.get("stop")
        prompt.stop_sequences = [stop] if isinstance(stop, str) else [str(s) for s in stop or []]
        return prompt

    def _finish(self, gen: Generation) -> str:
        if gen.tool_uses:
            return "tool_calls"
        return "length" if gen.stop_reason == "max_tokens" else "stop"

    def _usage(self, gen: Generation) -> dict[str, int]:
        return {
            "prompt_tokens": gen.usage.input_tokens,
            "completion_tokens": gen.usage.output_tokens,
            "total_tokens": gen.usage.input_tokens + gen.usage.output_tokens,
        }

    def _calls(self, gen: Generation) -> list[dict[str, Any]]:
        return [
            {
                "id": u.tool_use_id,
                "type": "function",
                "function": {"name": u.name, "arguments": json.dumps(u.input, separators=(",", ":"))},
            }
            for u in gen.tool_uses
        ]

    def response(self, gen: Generation, model_id: str, request_id: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": gen.text}
        if gen.tool_uses:
            message["tool_calls"] = self._calls(gen)
        return {
            "id": "chatcmpl-" + request_id.replace("-", "")[:24],
            "choices": [{"index": 0, "message": message, "finish_reason": self._finish(gen)}],
            "usage": self._usage(gen),
            "meta": {"requestDurationMillis": gen.latency_ms},
            "model": _model_name(model_id),
        }

    def chunks(self, gen: Generation, model_id: str, request_id: str) -> list[dict[str, Any]]:
        ident = "chatcmpl-" + request_id.replace("-", "")[:24]

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"id": ident, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        out = [chunk({"role": "assistant", "content": ""})]
        out += [chunk({"content": piece}) for piece in split_text(gen.text) if piece]
        if gen.tool_uses:
            out.append(chunk({"tool_calls": self._calls(gen)}))
        last = chunk({}, self._finish(gen))
        last["usage"] = self._usage(gen)
        out.append(last)
        return _with_metrics(out, gen)
