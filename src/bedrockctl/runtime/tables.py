"""SQL tables owned by the runtime (SQLAlchemy Core): the usage ledger and the response cache.

Created by the store migration ``runtime_0001`` (``store/migrations/versions/``); ``ensure_tables`` creates them
directly only for stores that have no migrations applied (a scratch SQLite file in tests, for example).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)

metadata = MetaData()

usage_records = Table(
    "usage_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False, index=True),  # epoch seconds
    Column("request_id", String(64), index=True),
    Column("operation", String(48), nullable=False),
    Column("model_requested", String(256), nullable=False),
    Column("model_served", String(256)),
    Column("base_model", String(128), index=True),
    Column("region_served", String(32)),
    Column("input_tokens", Integer, nullable=False, default=0),
    Column("output_tokens", Integer, nullable=False, default=0),
    Column("cache_read_tokens", Integer, nullable=False, default=0),
    Column("cache_write_tokens", Integer, nullable=False, default=0),
    Column("latency_ms", Integer, nullable=False, default=0),
    Column("attempts", Integer, nullable=False, default=1),
    Column("attempts_json", Text),
    Column("cache_hit", Boolean, nullable=False, default=False),
    Column("tags_json", Text),
    Column("caller", String(256)),
    Column("environment", String(64)),
    Column("cost_usd", Numeric(18, 10)),
    Column("status", String(64), nullable=False, default="ok"),
    Column("guardrail_intervened", Boolean, nullable=False, default=False),
)

response_cache = Table(
    "response_cache",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("model", String(256), nullable=False),
    Column("created", Float, nullable=False),
    Column("expires", Float, nullable=False, index=True),
    Column("body", LargeBinary, nullable=False),
)


def ensure_tables(engine: Any) -> None:
    metadata.create_all(engine, checkfirst=True)
