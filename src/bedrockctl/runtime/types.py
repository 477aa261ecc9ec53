"""Value types of the runtime: requests, usage, attempts, results and stream events."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Literal

from bedrockctl.pricing.rates import split_cache_writes


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0  # the 5-minute cache writes
    cache_write_1h_tokens: int = 0  # the 1-hour cache writes (their own, dearer rate)

    @property
    def total_tokens(self) -> int:
        cache = self.cache_read_tokens + self.cache_write_tokens + self.cache_write_1h_tokens
        return self.input_tokens + self.output_tokens + cache

    @classmethod
    def from_converse(cls, usage: dict[str, Any] | None) -> Usage:
        """Converse ``TokenUsage``: ``cacheWriteInputTokens`` is every write, ``cacheDetails`` splits it by TTL."""
        u = usage or {}
        five, hour = split_cache_writes(int(u.get("cacheWriteInputTokens", 0)), u.get("cacheDetails"))
        return cls(
            int(u.get("inputTokens", 0)),
            int(u.get("outputTokens", 0)),
            int(u.get("cacheReadInputTokens", 0)),
            five,
            hour,
        )

    def split_anthropic(self, body: dict[str, Any] | None) -> Usage:
        """Move the 1-hour writes an Anthropic body reports (``usage.cache_creation.ephemeral_1h_input_tokens``,
        also on a stream's ``message_start``) out of ``cache_write_tokens``."""
        u = (body or {}).get("usage") or ((body or {}).get("message") or {}).get("usage") or {}
        creation = u.get("cache_creation") if isinstance(u, dict) else None
        if not isinstance(creation, dict):
            return self
        hour = int(creation.get("ephemeral_1h_input_tokens") or 0)
        total = self.cache_write_tokens + self.cache_write_1h_tokens
        self.cache_write_1h_tokens = min(hour, total)
        self.cache_write_tokens = total - self.cache_write_1h_tokens
        return self


@dataclass
class Attempt:
    """One try against one route (recorded whether it succeeded or not)."""

    number: int
    model_id: str
    region: str
    outcome: str  # ok | error code (ThrottlingException, ServiceUnavailableException, ...) | skipped reason
    latency_ms: int
    request_id: str | None = None
    status: int | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class GuardrailReport:
    intervened: bool
    action: str | None = None  # INTERVENED / NONE
    trace: dict[str, Any] | None = None


@dataclass
class CallMeta:
    """What every result carries: where it ran, usage, attempts, cost, cache."""

    request_id: str | None = None
    model_requested: str = ""
    model_served: str = ""
    base_model: str | None = None
    region_served: str = ""
    usage: Usage = field(default_factory=Usage)
    latency_ms: int = 0
    attempts: list[Attempt] = field(default_factory=list)
    cache_hit: bool = False
    cost_usd: Decimal | None = None
    guardrail: GuardrailReport | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["usage"]["total_tokens"] = self.usage.total_tokens
        out["cost_usd"] = str(self.cost_usd) if self.cost_usd is not None else None
        return out


@dataclass
class ConverseResult:
    text: str
    stop_reason: str
    message: dict[str, Any]  # the assistant message (Converse wire shape)
    raw: dict[str, Any]  # the whole Converse response (wire shape)
    meta: CallMeta

    @property
    def tool_uses(self) -> list[dict[str, Any]]:
        return [b["toolUse"] for b in self.message.get("content", []) if "toolUse" in b]


@dataclass
class InvokeResult:
    body: dict[str, Any]  # the model's native JSON answer ({"raw": text} for text, {} for an image or audio)
    content_type: str
    meta: CallMeta
    data: bytes = b""  # the answer's exact bytes (empty for a cache hit)


@dataclass
class AgentResult:
    text: str
    session_id: str
    traces: list[dict[str, Any]]
    meta: CallMeta


EventKind = Literal["text", "tool_use", "stop", "usage", "chunk", "trace", "guardrail"]


@dataclass
class StreamEvent:
    """One item of a stream: ``text`` (delta), ``tool_use`` (a complete tool call), ``chunk`` (native body),
    ``trace`` (agent trace), ``stop`` (stop reason), ``usage`` (final, with ``meta``)."""

    kind: EventKind
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    meta: CallMeta | None = None
