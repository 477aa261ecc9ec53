"""Model-native InvokeModel bodies: Anthropic Messages, Titan text/embeddings, Nova, Llama, Mistral.

Each ``BodyFormat`` parses the request body into a ``Prompt`` and renders a ``Generation`` as the response body
(``response``) or as the list of stream chunks (``chunks``) InvokeModelWithResponseStream base64-wraps. The last
chunk carries ``amazon-bedrock-invocationMetrics`` as Bedrock adds it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import tokens
from .formats import (
    Block,
    Generation,
    Prompt,
    ToolDef,
    Turn,
    check_content,
    converse_block,
    invalid,
    media_block,
    split_text,
    text_block,
)

_JSON_TYPE = {str: "String", bool: "Boolean", float: "BigDecimal", list: "JSONArray", dict: "JSONObject"}


def _require(body: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if key not in body:
            raise invalid(
                f"Malformed input request: #: required key [{key}] not found, please reformat your input and try again."
            )


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(
            f"Malformed input request: #/{key}: expected type: Integer, found: "
            f"{_JSON_TYPE.get(type(value), 'Null')}, please reformat your input and try again."
        )
    if value < 1:
        raise invalid(
            f"Malformed input request: #/{key}: {value} is not greater or equal to 1, please "
            "reformat your input and try again."
        )
    return value


def invocation_metrics(gen: Generation) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "inputTokenCount": gen.usage.input_tokens,
        "outputTokenCount": gen.usage.output_tokens,
        "invocationLatency": gen.latency_ms,
        "firstByteLatency": min(gen.latency_ms, 100),
    }
    if gen.usage.cache_read or gen.usage.cache_write:
        metrics["cacheReadInputTokenCount"] = gen.usage.cache_read
        metrics["cacheWriteInputTokenCount"] = gen.usage.cache_write
    return metrics


def _with_metrics(chunks: list[dict[str, Any]], gen: Generation) -> list[dict[str, Any]]:
    chunks[-1]["amazon-bedrock-invocationMetrics"] = invocation_metrics(gen)
    return chunks


class BodyFormat:
    name = ""
    streaming = True
    tool_id_prefix = "tooluse_"

    def parse(self, body: dict[str, Any]) -> Prompt:
        raise NotImplementedError

    def response(self, gen: Generation, model_id: str, request_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def chunks(self, gen: Generation, model_id: str, request_id: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def direct(self, body: dict[str, Any], prompt: Prompt, model_id: str) -> Generation | None:
        """The result of a model that does not chat (embeddings, images); None for chat formats, which the
        runtime runs through the sandbox model and the guardrail."""
        return None


# --- Anthropic Messages (anthropic_version bedrock-2023-05-31) -------------------------------------------


def _anthropic_text(text: str) -> Block:
    """A text block of a message; Anthropic refuses empty and whitespace-only ones."""
    if not text:
        raise invalid("messages: text content blocks must be non-empty")
    if not text.strip():
        raise invalid("messages: text content blocks must contain non-whitespace text")
    return text_block(text)


def _anthropic_block(raw: Any) -> list[Block]:
    if isinstance(raw, str):
        return [_anthropic_text(raw)]
    kind = raw.get("type")
    if kind == "text":
        block = _anthropic_text(str(raw.get("text", "")))
    elif kind in ("image", "document") and (raw.get("source") or {}).get("type") != "text":
        block = media_block()
    elif kind == "document":
        block = text_block(str(raw["source"].get("data", "")))
    elif kind == "tool_use":
        block = Block(
            "tool_use",
            name=raw.get("name", ""),
            tool_use_id=raw.get("id", ""),
            input=raw.get("input"),
            tokens=tokens.json_tokens(raw.get("input")),
        )
    elif kind == "tool_result":
        content = raw.get("content")
        text = (
            content
            if isinstance(content, str)
            else " ".join(str(c.get("text", "")) for c in content or [] if isinstance(c, dict))
        )
        block = Block("tool_result", text=text, tool_use_id=raw.get("tool_use_id", ""), tokens=tokens.text_tokens(text))
    elif kind in ("thinking", "redacted_thinking"):
        block = Block("text", tokens=tokens.text_tokens(str(raw.get("thinking", ""))))
    else:
        raise invalid(f"messages: Input tag '{kind}' found using 'type' does not match any of the expected tags")
    return [block, Block("cache_point")] if raw.get("cache_control") else [block]


def _anthropic_system_block(raw: Any) -> list[Block]:
    if isinstance(raw, str):
        return [text_block(raw)]
    if raw.get("type") == "text":
        block = text_block(str(raw.get("text", "")))
        return [block, Block("cache_point")] if raw.get("cache_control") else [block]
    return _anthropic_block(raw)


def _anthropic_model(model_id: str) -> str:
    name = model_id.rsplit("/", 1)[-1].split(".", 1)[-1] if "anthropic." in model_id else model_id
    return re.sub(r"-v\d+(:\d+)?$", "", name)


class AnthropicMessages(BodyFormat):
    name = "anthropic-messages"
    tool_id_prefix = "toolu_bdrk_"

    def parse(self, body: dict[str, Any]) -> Prompt:
        _require(body, "anthropic_version", "max_tokens", "messages")
        prompt = Prompt(max_tokens=_int(body["max_tokens"], "max_tokens"))
        for msg in body["messages"]:
            role = msg.get("role")
            if role not in ("user", "assistant"):
                raise invalid(f'messages: Unexpected role "{role}". Allowed roles are "user" or "assistant"')
            content = msg.get("content")
            items = [content] if isinstance(content, str) else (content or [])
            prompt.turns.append(Turn(role, [b for item in items for b in _anthropic_block(item)]))
        if not prompt.turns or prompt.turns[0].role != "user":
            raise invalid('messages: first message must use the "user" role')
        system = body.get("system")
        if system:
            items = [system] if isinstance(system, str) else system
            prompt.system = [b for item in items for b in _anthropic_system_block(item)]
        for tool in body.get("tools") or []:
            prompt.tools.append(
                ToolDef(
                    tool.get("name", ""),
                    tool.get("description", ""),
                    tool.get("input_schema") or {},
                    bool(tool.get("cache_control")),
                )
            )
        choice = body.get("tool_choice") or {}
        prompt.tool_choice = choice.get("name") if choice.get("type") == "tool" else choice.get("type")
        prompt.stop_sequences = [str(s) for s in body.get("stop_sequences") or []]
        return prompt

    def _content(self, gen: Generation) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{"type": "text", "text": gen.text}] if gen.text else []
        out += [{"type": "tool_use", "id": u.tool_use_id, "name": u.name, "input": u.input} for u in gen.tool_uses]
        return out

    def _usage(self, gen: Generation, output_tokens: int) -> dict[str, Any]:
        return {
            "input_tokens": gen.usage.input_tokens,
            "cache_creation_input_tokens": gen.usage.cache_write,
            "cache_read_input_tokens": gen.usage.cache_read,
            "output_tokens": output_tokens,
        }

    def _message(self, gen: Generation, model_id: str, request_id: str) -> dict[str, Any]:
        return {
            "id": "msg_bdrk_01" + request_id.replace("-", "")[:22],
            "type": "message",
            "role": "assistant",
            "model": _anthropic_model(model_id),
            "content": self._content(gen),
            "stop_reason": gen.stop_reason,
            "stop_sequence": gen.stop_sequence,
            "usage": self._usage(gen, gen.usage.output_tokens),
        }

    def response(self, gen: Generation, model_id: str, request_id: str) -> dict[str, Any]:
        return self._message(gen, model_id, request_id)

    def chunks(self, gen: Generation, model_id: str, request_id: str) -> list[dict[str, Any]]:
        start = self._message(gen, model_id, request_id)
        start.update(content=[], stop_reason=None, stop_sequence=None, usage=self._usage(gen, 1))
        out: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
        for index, block in enumerate(self._content(gen)):
            if block["type"] == "text":
                out.append(
                    {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
                )
                out += [
                    {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}
                    for piece in split_text(block["text"])
                ]
            else:
                out.append({"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}})
                raw = json.dumps(block["input"], separators=(",", ":"))
                out.append(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": raw},
                    }
                )
            out.append({"type": "content_block_stop", "index": index})
        out.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": gen.stop_reason, "stop_sequence": gen.stop_sequence},
                "usage": {"output_tokens": gen.usage.output_tokens},
            }
        )
        out.append({"type": "message_stop"})
        return _with_metrics(out, gen)


# --- Amazon Nova (messages-v1) ----------------------------------------------------------------------------


class NovaMessages(BodyFormat):
    name = "nova"

    def parse(self, body: dict[str, Any]) -> Prompt:
        _require(body, "messages")
        prompt = Prompt()
        for i, msg in enumerate(body["messages"]):
            check_content(msg.get("content") or [], f"messages.{i}")
            blocks = [converse_block(c, f"messages.{i}") for c in msg.get("content") or []]
            prompt.turns.append(Turn(msg.get("role", "user"), blocks))
        prompt.system = [converse_block(s, "system") for s in body.get("system") or []]
        cfg = body.get("inferenceConfig") or {}
        for key in ("maxTokens", "max_new_tokens"):
            if key in cfg:
                prompt.max_tokens = _int(cfg[key], f"inferenceConfig/{key}")
        prompt.stop_sequences = [str(s) for s in cfg.get("stopSequences") or []]
        for tool in (body.get("toolConfig") or {}).get("tools") or []:
            spec = tool.get("toolSpec") or {}
            prompt.tools.append(
                ToolDef(
                    spec.get("name", ""), spec.get("description", ""), (spec.get("inputSchema") or {}).get("json") or {}
                )
            )
        return prompt

    def _usage(self, gen: Generation) -> dict[str, Any]:
        return {
            "inputTokens": gen.usage.input_tokens,
            "outputTokens": gen.usage.output_tokens,
            "totalTokens": gen.usage.total,
            "cacheReadInputTokenCount": gen.usage.cache_read,
            "cacheWriteInputTokenCount": gen.usage.cache_write,
        }

    def response(self, gen: Generation, model_id: str, request_id: str) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"text": gen.text}] if gen.text else []
        content += [{"toolUse": {"toolUseId": u.tool_use_id, "name": u.name, "input": u.input}} for u in gen.tool_uses]
        return {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": gen.stop_reason,
            "usage": self._usage(gen),
        }

    def chunks(self, gen: Generation, model_id: str, request_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
        out += [{"contentBlockDelta": {"delta": {"text": p}, "contentBlockIndex": 0}} for p in split_text(gen.text)]
        out.append({"contentBlockStop": {"contentBlockIndex": 0}})
        out.append({"messageStop": {"stopReason": gen.stop_reason}})
        out.append({"metadata": {"usage": self._usage(gen), "metrics": {}, "trace": {}}})
        return _with_metrics(out, gen)
