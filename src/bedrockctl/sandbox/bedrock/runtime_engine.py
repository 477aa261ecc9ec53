"""The sandbox "model": deterministic replies, honest token counts and the prompt cache.

Reply text: ``Sandbox reply <h>: I received "<snippet>" and this is a deterministic answer.`` where ``<h>`` is
the first 8 hex digits of SHA-256(model id + last user text) and ``<snippet>`` the first 48 characters of the
last user text (whitespace collapsed). Tool use: when tools are given and the last user message names one (or
``toolChoice`` is ``any``/a tool), the reply is ``I will call the <name> tool.`` plus a tool-use block whose
input fills the schema's required properties with placeholders; a user turn holding a tool result gets a
text answer that quotes the result. Token counts follow ``tokens.py``.

Prompt cache (per account): each cache point closes a prefix (tools, then system, then messages). The longest
prefix seen before (and not yet expired) is reported as ``cacheReadInputTokens``; the tokens between it and the last
cache point as ``cacheWriteInputTokens`` (the new prefixes are remembered); ``inputTokens`` is the rest. Each cache
point has a TTL (``5m`` by default, or ``1h``): the tokens a point closes are written with its TTL (``CacheUsage``
keeps the split, reported as ``cacheDetails``), and a prefix expires that long after it was last written or read.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bedrockctl.sandbox.state import StateStore

from . import tokens
from .formats import Generation, Prompt, ToolDef, ToolUse, Usage

DEFAULT_TTL = "5m"
TTL_SECONDS = {"5m": 300, "1h": 3600}


@dataclass
class CacheUsage(Usage):
    """``Usage`` plus how many cache-write tokens went in with each TTL (they add up to ``cache_write``)."""

    cache_write_by_ttl: dict[str, int] = field(default_factory=dict)


class _CacheState:
    def __init__(self, account_id: str, region: str) -> None:
        self.prefixes: dict[str, float] = {}  # prefix key -> expiry (epoch seconds)
        self.lock = threading.Lock()


CACHE: StateStore[_CacheState] = StateStore(_CacheState)
_ACCOUNT_WIDE = "*"


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def count_input(prompt: Prompt) -> tuple[int, list[tuple[str, int]]]:
    """Total input tokens and, for each cache point, (hash of the prefix it closes, prefix tokens)."""
    total = 0
    points: list[tuple[str, int]] = []
    h = hashlib.sha256()

    def close() -> None:
        points.append((h.copy().hexdigest(), total))

    for tool in prompt.tools:
        raw = json.dumps(
            {"name": tool.name, "description": tool.description, "inputSchema": tool.schema},
            separators=(",", ":"),
            sort_keys=True,
        )
        total += tokens.text_tokens(raw)
        h.update(raw.encode())
        if tool.cache_point:
            close()
    if any(b.kind != "cache_point" for b in prompt.system):
        total += tokens.SYSTEM_OVERHEAD
    for block in prompt.system:
        if block.kind == "cache_point":
            close()
            continue
        total += block.tokens
        h.update(f"system:{block.kind}:{block.text}:{block.tokens}".encode())
    for turn in prompt.turns:
        total += tokens.MESSAGE_OVERHEAD if prompt.message_overhead else 0
        h.update(f"turn:{turn.role}".encode())
        for block in turn.blocks:
            if block.kind == "cache_point":
                close()
                continue
            total += block.tokens
            extra = json.dumps(block.input, sort_keys=True, default=str) if block.input is not None else ""
            h.update(f"{block.kind}:{block.name}:{block.text}:{extra}:{block.tokens}".encode())
    return total, points


def apply_cache(
    account_id: str,
    model_id: str,
    points: list[tuple[str, int]],
    ttls: Sequence[str] = (),
    *,
    now: float | None = None,
) -> tuple[int, dict[str, int]]:
    """(cache read tokens, cache write tokens per TTL) for the cache points of one request.

    ``ttls`` holds one TTL per point (missing ones are the 5-minute default). Written and read prefixes are
    remembered until ``now`` + their TTL; an expired prefix is written again.
    """
    if not points:
        return 0, {}
    clock = time.time() if now is None else now
    lifetimes = [TTL_SECONDS.get(t, TTL_SECONDS[DEFAULT_TTL]) for t in ttls] + [TTL_SECONDS[DEFAULT_TTL]] * len(points)
    state = CACHE.get(account_id, _ACCOUNT_WIDE)
    keyed = [(f"{model_id}:{h}", n) for h, n in points]
    with state.lock:
        live = {k for k, expires in state.prefixes.items() if expires > clock}
        read = max((n for k, n in keyed if k in live), default=0)
        written: dict[str, int] = {}
        previous = 0
        for i, (key, n) in enumerate(keyed):
            ttl = ttls[i] if i < len(ttls) else DEFAULT_TTL
            segment = n - max(read, previous)
            if segment > 0:
                written[ttl] = written.get(ttl, 0) + segment
            previous = max(previous, n)
            state.prefixes[key] = max(state.prefixes.get(key, 0.0), clock + lifetimes[i])
    return read, written


def _snippet(text: str, size: int = 48) -> str:
    return " ".join(text.split())[:size]


def placeholder(schema: dict[str, Any]) -> Any:
    """A value that satisfies a (simple) JSON schema."""
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        return "sandbox"
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        wanted = schema.get("required") or list(props)
        return {name: placeholder(props.get(name) or {}) for name in wanted}
    return "sandbox"


def _pick_tool(prompt: Prompt) -> ToolDef | None:
    if not prompt.tools or prompt.last_tool_result() is not None:
        return None
    by_name = {t.name: t for t in prompt.tools}
    if prompt.tool_choice and prompt.tool_choice not in ("auto", "any"):
        return by_name.get(prompt.tool_choice)
    text = prompt.last_user_text().lower()
    for tool in prompt.tools:
        if tool.name and re.search(rf"(?<![\w-]){re.escape(tool.name.lower())}(?![\w-])", text):
            return tool
    return prompt.tools[0] if prompt.tool_choice == "any" else None


def reply_text(prompt: Prompt, model_id: str) -> str:
    result = prompt.last_tool_result()
    if result is not None:
        return f'The tool returned "{_snippet(result.text)}". That completes the request.'
    last = prompt.last_user_text()
    digest = _digest(model_id, last)[:8]
    return f'Sandbox reply {digest}: I received "{_snippet(last)}" and this is a deterministic answer.'


def generate(
    prompt: Prompt,
    model_id: str,
    account_id: str,
    *,
    tool_id_prefix: str = "tooluse_",
    cache_ttls: Sequence[str] = (),
) -> Generation:
    """Run the sandbox model on ``prompt`` (``model_id`` is the resolved foundation model id; ``cache_ttls`` the
    TTL of each cache point, in prompt order)."""
    total_in, points = count_input(prompt)
    read, by_ttl = apply_cache(account_id, model_id, points, cache_ttls)
    write = sum(by_ttl.values())
    usage = CacheUsage(
        input_tokens=max(total_in - read - write, 0), cache_read=read, cache_write=write, cache_write_by_ttl=by_ttl
    )
    tool = _pick_tool(prompt)
    uses: list[ToolUse] = []
    if tool is not None:
        text = f"I will call the {tool.name} tool."
        use_id = tool_id_prefix + _digest(model_id, prompt.last_user_text(), tool.name)[:22]
        uses.append(ToolUse(use_id, tool.name, placeholder(tool.schema or {"type": "object"})))
    else:
        text = reply_text(prompt, model_id)
    stop_reason, stop_seq = ("tool_use" if uses else "end_turn"), None
    cut = [(text.find(s), s) for s in prompt.stop_sequences if s and s in text]
    if cut:
        pos, stop_seq = min(cut)
        text, uses, stop_reason = text[:pos], [], "stop_sequence"
    out = tokens.text_tokens(text) + sum(tokens.json_tokens(u.input) for u in uses)
    if prompt.max_tokens is not None and out > prompt.max_tokens:
        text, uses, stop_reason, stop_seq = tokens.truncate_to_tokens(text, prompt.max_tokens), [], "max_tokens", None
        out = tokens.text_tokens(text)
    usage.output_tokens = out
    gen = Generation(text=text, tool_uses=uses, stop_reason=stop_reason, usage=usage, stop_sequence=stop_seq)
    gen.latency_ms = latency_for(usage)
    return gen


def latency_for(usage: Usage) -> int:
    """A deterministic latency: 120 ms plus 2 ms per input and 9 ms per output token (capped)."""
    return min(120 + 2 * usage.input_tokens // 10 + 9 * usage.output_tokens, 60_000)


def embed(text: str, model_id: str, dimensions: int, *, normalize: bool = True) -> list[float]:
    """A deterministic embedding vector derived from SHA-256 of the text."""
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        block = hashlib.sha256(f"{model_id}:{counter}:{text}".encode()).digest()
        values.extend((b - 127.5) / 127.5 for b in block)
        counter += 1
    values = values[:dimensions]
    if normalize:
        norm = math.sqrt(sum(v * v for v in values)) or 1.0
        values = [v / norm for v in values]
    return [round(v, 6) for v in values]
