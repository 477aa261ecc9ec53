"""The sandbox's canonical prompt/generation model and the Converse wire format.

Every request format (Converse and each model-native InvokeModel body, see ``formats_native``) is parsed into
a ``Prompt``; the engine (``runtime_engine``) turns a ``Prompt`` into a ``Generation``; each format renders the
``Generation`` back in its own shape.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from bedrockctl.sandbox import servicemodel
from bedrockctl.sandbox.core import AwsError

from . import tokens

BLANK_TEXT = "The text field in the ContentBlock object at {where} is blank. Add text to the text field, and try again."
BLANK_GUARD = "The guard content field in the ContentBlock object at {where} is blank."
EMPTY_CONTENT = (
    "The content field in the Message object at {where} is empty. Add a ContentBlock object to the content field "
    "and try again."
)


@dataclass
class Block:
    """One content block: ``kind`` is text | tool_use | tool_result | media | document | cache_point."""

    kind: str
    text: str = ""
    name: str = ""
    tool_use_id: str = ""
    input: Any = None
    tokens: int = 0
    guard: bool = False  # Converse guardContent (the only text a guardrail checks, when present)


@dataclass
class Turn:
    role: str
    blocks: list[Block]


@dataclass
class ToolDef:
    name: str
    description: str = ""
    schema: dict[str, Any] = field(default_factory=dict)
    cache_point: bool = False  # a cache point follows this tool


@dataclass
class Prompt:
    system: list[Block] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    tools: list[ToolDef] = field(default_factory=list)
    tool_choice: str | None = None  # None/auto | any | <tool name>
    max_tokens: int | None = None
    stop_sequences: list[str] = field(default_factory=list)
    message_overhead: bool = True  # False for raw text prompts (Titan, Llama, Mistral)

    def last_user_text(self) -> str:
        for turn in reversed(self.turns):
            if turn.role == "user":
                return " ".join(b.text for b in turn.blocks if b.kind in ("text", "tool_result") and b.text)
        return ""

    def last_tool_result(self) -> Block | None:
        if self.turns and self.turns[-1].role == "user":
            for b in self.turns[-1].blocks:
                if b.kind == "tool_result":
                    return b
        return None

    def all_user_text(self) -> list[Block]:
        """Text blocks a guardrail evaluates (guardContent blocks only, when any are present)."""
        blocks = [b for t in self.turns if t.role == "user" for b in t.blocks if b.kind == "text"]
        blocks += [b for b in self.system if b.kind == "text"]
        guarded = [b for b in blocks if b.guard]
        return guarded or blocks


@dataclass
class ToolUse:
    tool_use_id: str
    name: str
    input: dict[str, Any]


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read: int = 0
    cache_write: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read + self.cache_write


@dataclass
class Generation:
    text: str
    tool_uses: list[ToolUse]
    stop_reason: str  # end_turn | max_tokens | tool_use | stop_sequence | guardrail_intervened
    usage: Usage
    stop_sequence: str | None = None
    guardrail_trace: dict[str, Any] | None = None
    latency_ms: int = 0
    embedding: list[float] | None = None
    vectors: list[list[float]] = field(default_factory=list)  # one per input (Cohere embed)
    images: list[str] = field(default_factory=list)  # base64 PNG (image generation)
    echo: dict[str, Any] = field(default_factory=dict)  # request details a native response repeats


def invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def text_block(text: str, *, guard: bool = False) -> Block:
    return Block("text", text=text, tokens=tokens.text_tokens(text), guard=guard)


def media_block() -> Block:
    return Block("media", tokens=tokens.MEDIA_TOKENS)


def _doc_block(doc: dict[str, Any]) -> Block:
    source = doc.get("source") or {}
    if "text" in source:
        return Block("document", text=str(source["text"]), tokens=tokens.text_tokens(str(source["text"])))
    raw = source.get("bytes") or ""
    size = len(base64.b64decode(raw)) if isinstance(raw, str) else len(raw)
    return Block("document", tokens=-(-size // tokens.BYTES_PER_TOKEN))


def _tool_result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for item in content or []:
        if isinstance(item, dict):
            if "text" in item:
                parts.append(str(item["text"]))
            elif "json" in item:
                parts.append(json.dumps(item["json"], separators=(",", ":"), sort_keys=True))
    return " ".join(parts)


def converse_block(raw: Any, where: str) -> Block:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise invalid(f"The content block at {where} must set exactly one content type.")
    ((kind, value),) = raw.items()
    if kind == "text":
        return text_block(str(value))
    if kind == "guardContent":
        return text_block(str((value.get("text") or {}).get("text", "")), guard=True)
    if kind in ("image", "video", "audio"):
        return media_block()
    if kind == "document":
        return _doc_block(value)
    if kind == "cachePoint":
        return Block("cache_point")
    if kind == "toolUse":
        return Block(
            "tool_use",
            name=value.get("name", ""),
            tool_use_id=value.get("toolUseId", ""),
            input=value.get("input"),
            tokens=tokens.json_tokens(value.get("input")),
        )
    if kind == "toolResult":
        text = _tool_result_text(value.get("content"))
        return Block("tool_result", text=text, tool_use_id=value.get("toolUseId", ""), tokens=tokens.text_tokens(text))
    if kind == "reasoningContent":
        text = str((value.get("reasoningText") or {}).get("text", ""))
        return Block("text", text="", tokens=tokens.text_tokens(text))
    return Block("text")


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def check_content(content: Any, where: str) -> None:
    """Converse's checks of one message's content: not empty, no blank text (empty or whitespace only)."""
    if isinstance(content, list) and not content:
        raise invalid(EMPTY_CONTENT.format(where=where))
    for j, raw in enumerate(content if isinstance(content, list) else []):
        if not isinstance(raw, dict):
            continue
        if "text" in raw and _blank(raw["text"]):
            raise invalid(BLANK_TEXT.format(where=f"{where}.content.{j}"))
        guard = raw.get("guardContent")
        if isinstance(guard, dict) and _blank((guard.get("text") or {}).get("text", "")):
            raise invalid(BLANK_GUARD.format(where=f"{where}.content.{j}"))


def _java_number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def check_inference_config(cfg: Any) -> None:
    """``inferenceConfig`` against the ranges of botocore's InferenceConfiguration shape, reported the way the
    service's request validation words it (``1 validation error detected: Value '5.0' at ...``)."""
    if not isinstance(cfg, dict):
        return
    shape = servicemodel.service_model("bedrock-runtime").shape_for("InferenceConfiguration")
    problems = []
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        value = cfg.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        lo, hi = member.metadata.get("min"), member.metadata.get("max")
        shown = _java_number(float(value) if member.type_name in ("float", "double") else value)
        at = f"Value '{shown}' at 'inferenceConfig.{name}' failed to satisfy constraint: Member must have value"
        if hi is not None and value > hi:
            problems.append(f"{at} less than or equal to {hi}")
        elif lo is not None and value < lo:
            problems.append(f"{at} greater than or equal to {lo}")
    if problems:
        count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected"
        raise invalid(f"{count}: {'; '.join(problems)}")


def parse_converse(body: dict[str, Any]) -> Prompt:
    """Build a ``Prompt`` from a Converse / ConverseStream request body."""
    messages = body.get("messages") or []
    if not isinstance(messages, list):
        raise invalid("1 validation error detected: Value at 'messages' failed to satisfy constraint")
    prompt = Prompt()
    for i, msg in enumerate(messages):
        role = msg.get("role") if isinstance(msg, dict) else None
        if role not in ("user", "assistant"):
            raise invalid(
                f"Value at 'messages.{i + 1}.member.role' failed to satisfy constraint: "
                "Member must satisfy enum value set: [user, assistant]"
            )
        content = msg.get("content") or []
        check_content(content, f"messages.{i}")
        prompt.turns.append(Turn(role, [converse_block(c, f"messages.{i}") for c in content]))
    if prompt.turns and prompt.turns[0].role != "user":
        raise invalid(
            "A conversation must start with a user message. Try again with a conversation that "
            "starts with a user message."
        )
    for prev, cur in zip(prompt.turns, prompt.turns[1:], strict=False):
        if prev.role == cur.role:
            raise invalid(
                "A conversation must alternate between user and assistant roles. Make sure the "
                "conversation alternates between user and assistant roles and try again."
            )
    prompt.system = [converse_block(s, "system") for s in body.get("system") or []]
    cfg = body.get("inferenceConfig") or {}
    check_inference_config(cfg)
    if cfg.get("maxTokens") is not None:
        prompt.max_tokens = int(cfg["maxTokens"])
    prompt.stop_sequences = [str(s) for s in cfg.get("stopSequences") or []]
    tool_cfg = body.get("toolConfig")
    if tool_cfg:
        for tool in tool_cfg.get("tools") or []:
            if "cachePoint" in tool and prompt.tools:
                prompt.tools[-1].cache_point = True
            spec = tool.get("toolSpec")
            if spec:
                prompt.tools.append(
                    ToolDef(
                        spec.get("name", ""),
                        spec.get("description", ""),
                        (spec.get("inputSchema") or {}).get("json") or {},
                    )
                )
        choice = tool_cfg.get("toolChoice") or {}
        if "any" in choice:
            prompt.tool_choice = "any"
        elif "tool" in choice:
            prompt.tool_choice = choice["tool"].get("name")
    return prompt


def converse_content(gen: Generation) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    if gen.text:
        content.append({"text": gen.text})
    for use in gen.tool_uses:
        content.append({"toolUse": {"toolUseId": use.tool_use_id, "name": use.name, "input": use.input}})
    return content


def converse_usage(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "totalTokens": usage.total,
    }
    if usage.cache_read or usage.cache_write:
        out["cacheReadInputTokens"] = usage.cache_read
        out["cacheWriteInputTokens"] = usage.cache_write
    return out


def converse_response(gen: Generation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": converse_content(gen)}},
        "stopReason": gen.stop_reason,
        "usage": converse_usage(gen.usage),
        "metrics": {"latencyMs": gen.latency_ms},
    }
    if gen.guardrail_trace is not None:
        out["trace"] = {"guardrail": gen.guardrail_trace}
    return out


def converse_stream_events(gen: Generation) -> list[tuple[str, dict[str, Any]]]:
    """The (event type, payload) sequence of a ConverseStream response, in AWS order."""
    events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
    index = 0
    if gen.text:
        for piece in split_text(gen.text):
            events.append(("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}}))
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
        index += 1
    for use in gen.tool_uses:
        start = {"toolUse": {"toolUseId": use.tool_use_id, "name": use.name}}
        events.append(("contentBlockStart", {"contentBlockIndex": index, "start": start}))
        raw = json.dumps(use.input, separators=(",", ":"))
        events.append(("contentBlockDelta", {"contentBlockIndex": index, "delta": {"toolUse": {"input": raw}}}))
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
        index += 1
    events.append(("messageStop", {"stopReason": gen.stop_reason}))
    meta: dict[str, Any] = {"usage": converse_usage(gen.usage), "metrics": {"latencyMs": gen.latency_ms}}
    if gen.guardrail_trace is not None:
        meta["trace"] = {"guardrail": gen.guardrail_trace}
    events.append(("metadata", meta))
    return events


def split_text(text: str, size: int = 24) -> list[str]:
    """Stream deltas: the text cut into pieces of ``size`` characters (joined, they give ``text``)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
