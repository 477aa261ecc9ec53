"""Usage records: one per call (success, failure or cache hit), with the estimated cost, written to a sink."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from bedrockctl.runtime.types import CallMeta


@dataclass
class UsageRecord:
    operation: str
    model_requested: str
    model_served: str | None
    base_model: str | None
    region_served: str | None
    request_id: str | None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0  # every cache write (5-minute and 1-hour; cost_usd prices each at its rate)
    latency_ms: int = 0
    attempts: list[dict[str, Any]] = field(default_factory=list)
    cache_hit: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    caller: str | None = None
    environment: str | None = None
    cost_usd: Decimal | None = None
    status: str = "ok"
    guardrail_intervened: bool = False
    ts: float = field(default_factory=time.time)

    @classmethod
    def from_meta(
        cls, operation: str, meta: CallMeta, *, caller: str | None, environment: str | None, status: str = "ok"
    ) -> UsageRecord:
        return cls(
            operation=operation,
            model_requested=meta.model_requested,
            model_served=meta.model_served or None,
            base_model=meta.base_model,
            region_served=meta.region_served or None,
            request_id=meta.request_id,
            input_tokens=meta.usage.input_tokens,
            output_tokens=meta.usage.output_tokens,
            cache_read_tokens=meta.usage.cache_read_tokens,
            cache_write_tokens=meta.usage.cache_write_tokens + meta.usage.cache_write_1h_tokens,
            latency_ms=meta.latency_ms,
            attempts=[a.to_dict() for a in meta.attempts],
            cache_hit=meta.cache_hit,
            tags=dict(meta.tags),
            caller=caller,
            environment=environment,
            cost_usd=meta.cost_usd,
            status=status,
            guardrail_intervened=bool(meta.guardrail and meta.guardrail.intervened),
        )

    def row(self) -> dict[str, Any]:
        out = asdict(self)
        out["attempts_json"] = json.dumps(out.pop("attempts"))
        out["tags_json"] = json.dumps(out.pop("tags"), sort_keys=True)
        out["attempts"] = len(self.attempts) or 1
        return out


class UsageSink(Protocol):
    def write(self, record: UsageRecord) -> None: ...


class MemorySink:
    """Keeps records in memory (library users who only want the numbers; tests)."""

    def __init__(self) -> None:
        self.records: list[UsageRecord] = []
        self._lock = threading.Lock()

    def write(self, record: UsageRecord) -> None:
        with self._lock:
            self.records.append(record)


class SqlSink:
    """Writes to the ``usage_records`` table of the local store (SQLite by default, PostgreSQL supported)."""

    def __init__(self, engine: Any) -> None:
        from bedrockctl.runtime.tables import ensure_tables

        self.engine = engine
        ensure_tables(engine)

    def write(self, record: UsageRecord) -> None:
        from bedrockctl.runtime.tables import usage_records

        with self.engine.begin() as conn:
            conn.execute(usage_records.insert().values(**record.row()))

    def all(self) -> list[dict[str, Any]]:
        from bedrockctl.runtime.tables import usage_records

        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(usage_records.select().order_by(usage_records.c.id))]
