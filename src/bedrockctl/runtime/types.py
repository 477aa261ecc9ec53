"""Value types of the runtime: requests, usage, attempts, results and stream events."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Literal


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens

    @classmethod
    def from_converse(cls, usage: dict[str, Any] | None) -> Usage:
        u = usage or {}
        return cls(
            int(u.get("inputTokens", 0)),
            int(u.get("outputTokens", 0)),
            int(u.get("cacheReadInputTokens", 0)),
            int(u.get("cacheWriteInputTokens", 0)),
        )


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
