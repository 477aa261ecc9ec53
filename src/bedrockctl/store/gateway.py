"""The gateway's tables: keys (hashed), counters (budgets and rate limits), the audit trail; and ``open_engine``,
the gateway's database (the CLI's ``keys``/``audit`` commands and the console open the same one).

Money is stored as integer nano-USD (1e-9 USD) so that reservations and settlements add up exactly.
Created by the Alembic migration ``0001_gateway`` (branch ``gateway``); ``ensure_tables`` for ad-hoc stores.
Budget alerts live in ``alert_deliveries`` (``bedrockctl.store.alerts``), shared with ``budget status --alert``.
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

gateway_keys = sa.Table(
    "gateway_keys",
    metadata,
    sa.Column("key_id", sa.String(40), primary_key=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("user_name", sa.String(200), nullable=False),
    sa.Column("team", sa.String(200), nullable=False),
    sa.Column("environment", sa.String(200), nullable=False),
    sa.Column("allowed_models", sa.JSON, nullable=False),
    sa.Column("limits", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float),
    sa.Column("revoked_at", sa.Float),
    sa.Column("guardrail_id", sa.String(300)),  # the guardrail applied to the key's requests (0004_gateway)
    sa.Column("guardrail_version", sa.String(20)),
)

gateway_counters = sa.Table(
    "gateway_counters",
    metadata,
    sa.Column("scope", sa.String(300), primary_key=True),  # e.g. budget:team:ml / rpm:key:gk_...
    sa.Column("win", sa.String(40), primary_key=True),  # window id: m2025-06, d2025-06-14, M29012345 ...
    sa.Column("cap", sa.BigInteger, nullable=False),  # hard stop (nano-USD, requests or tokens)
    sa.Column("used", sa.BigInteger, nullable=False, server_default="0"),  # settled
    sa.Column("reserved", sa.BigInteger, nullable=False, server_default="0"),  # in flight + leased
    sa.Column("resets_at", sa.Float, nullable=False),
)

gateway_audit = sa.Table(
    "gateway_audit",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False, index=True),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("key_id", sa.String(40)),
    sa.Column("user_name", sa.String(200)),
    sa.Column("team", sa.String(200)),
    sa.Column("environment", sa.String(200)),
    sa.Column("protocol", sa.String(20), nullable=False),
    sa.Column("operation", sa.String(60), nullable=False),
    sa.Column("model_requested", sa.String(300)),
    sa.Column("model_served", sa.String(300)),
    sa.Column("region", sa.String(40)),
    sa.Column("input_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("output_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cost_nusd", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("status", sa.String(80), nullable=False),
    sa.Column("http_status", sa.Integer, nullable=False),
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    sa.Column("client", sa.String(100)),
    sa.Column("record_id", sa.String(32)),  # unique per record: a journal replayed twice inserts it once
    sa.Column("guardrail_units", sa.Integer, nullable=False, server_default="0"),  # text units assessed (0004)
    sa.Index("ix_gateway_audit_record_id", "record_id", unique=True),
)

# A worker's lease on the reservations it holds (``bedrockctl.store.leases``): the worker renews ``expires_at``;
# once it passes (or the worker's journal lock is free), what it held is given back to ``gateway_counters``.
gateway_workers = sa.Table(
    "gateway_workers",
    metadata,
    sa.Column("worker_id", sa.String(32), primary_key=True),
    sa.Column("node", sa.String(200), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

# What each live worker holds of ``gateway_counters.reserved`` (their sum per counter is ``reserved``).
gateway_holds = sa.Table(
    "gateway_holds",
    metadata,
    sa.Column("worker_id", sa.String(32), primary_key=True),
    sa.Column("scope", sa.String(300), primary_key=True),
    sa.Column("win", sa.String(40), primary_key=True),
    sa.Column("reserved", sa.BigInteger, nullable=False, server_default="0"),
)

TABLES = (gateway_keys, gateway_counters, gateway_audit, gateway_workers, gateway_holds)


def ensure_tables(engine: Any) -> None:
    metadata.create_all(engine, tables=list(TABLES), checkfirst=True)


def store_schema(settings: Any) -> str | None:
    """The PostgreSQL schema every table of this deployment lives in (``gateway.store_schema`` or
    ``BEDROCKCTL_GATEWAY_STORE_SCHEMA``; None: the default schema). Everything that opens the store uses it."""
    raw = dict(getattr(settings, "gateway", {}) or {})
    return raw.get("store_schema") or os.environ.get("BEDROCKCTL_GATEWAY_STORE_SCHEMA") or None


def open_engine(settings: Any, _options: Any = None, *, migrate: bool | None = None) -> Any:
    """The gateway's database: the local store (``store.url``; SQLite default, PostgreSQL for many workers or
    replicas), optionally in a PostgreSQL schema (``gateway.store_schema``), migrated once unless told otherwise
    (``bedrockctl serve`` migrates before its workers start and tells them with ``BEDROCKCTL_GATEWAY_MIGRATED``).
    ``_options`` (the gateway's parsed options, which the pipeline passes) is not needed: the schema comes from the
    raw settings so that callers below the gateway can open the same database."""
    from bedrockctl.paths import default_store_url
    from bedrockctl.store import Store

    schema = store_schema(settings)
    if migrate is None:
        migrate = os.environ.get("BEDROCKCTL_GATEWAY_MIGRATED") != "1"
    return Store(default_store_url(settings), schema=schema, migrate=migrate).engine
