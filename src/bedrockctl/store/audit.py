"""The gateway's audit trail in the store: one append-only row per request (``gateway_audit``), written in
batches (``write_batch``) and read back by ``query`` (``bedrockctl audit``, the console)."""

from __future__ import annotations

import operator
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

import sqlalchemy as sa

from bedrockctl.store.gateway import gateway_audit

NANO = 1_000_000_000


@dataclass(slots=True)
class AuditRecord:
    ts: float
    request_id: str
    key_id: str | None
    user_name: str | None
    team: str | None
    environment: str | None
    protocol: str
    operation: str
    model_requested: str | None
    model_served: str | None
    region: str | None
    input_tokens: int
    output_tokens: int
    cost_nusd: int
    status: str
    http_status: int
    latency_ms: int
    attempts: int
    client: str | None
    record_id: str | None = None  # unique (set when the record is journaled): replays insert it once
    guardrail_units: int = 0  # guardrail text units assessed (every policy), priced in cost_nusd

    def row(self) -> dict[str, Any]:
        return dict(zip(FIELDS, _values(self), strict=True))

    def invocation_log(self, account_id: str = "") -> dict[str, Any]:
        """The record in the shape of a Bedrock model invocation log (what the analytics ledger ingests)."""
        meta = {
            "team": self.team,
            "user": self.user_name,
            "environment": self.environment,
            "gateway_key": self.key_id,
            "protocol": self.protocol,
        }
        return {
            "schemaType": "ModelInvocationLog",
            "schemaVersion": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.ts)) + f".{int(self.ts % 1 * 1000):03d}Z",
            "accountId": account_id,
            "identity": {"arn": f"arn:bedrockctl:gateway::{self.team or '-'}:user/{self.user_name or '-'}"},
            "region": self.region,
            "requestId": self.request_id,
            "operation": self.operation,
            "modelId": self.model_served or self.model_requested or "",
            "input": {"inputTokenCount": self.input_tokens},
            "output": {"outputTokenCount": self.output_tokens},
            "metrics": {"latencyMs": self.latency_ms},
            "requestMetadata": {k: v for k, v in meta.items() if v},
            # a guardrail's intervention is an answer, as in Bedrock's own invocation logs (not an error)
            **({"errorCode": self.status} if self.status not in ("ok", "guardrail_intervened") else {}),
        }

    def public(self) -> dict[str, Any]:
        out = self.row()
        out["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.ts))
        out["cost_usd"] = f"{self.cost_nusd / NANO:.9f}"
        return out


FIELDS = tuple(f.name for f in fields(AuditRecord))
_values = operator.attrgetter(*FIELDS)  # record -> tuple of column values, in FIELDS order
_INSERT = {  # constant column names, positional parameters only
    mark: f"INSERT INTO gateway_audit ({', '.join(FIELDS)}) VALUES ({', '.join([mark] * len(FIELDS))})"  # noqa: S608
    for mark in ("?", "%s")
}


def write_batch(engine: Any, batch: list[AuditRecord]) -> None:
    """Append ``batch`` in one transaction (one ``executemany`` of plain tuples on sqlite3 and psycopg)."""
    if not batch:
        return
    with engine.begin() as conn:
        insert_batch(conn, batch)


def insert_batch(conn: Any, batch: list[AuditRecord]) -> None:
    """``write_batch`` inside the caller's transaction."""
    style = conn.dialect.paramstyle
    if style in ("qmark", "format", "pyformat"):
        conn.exec_driver_sql(_INSERT["?" if style == "qmark" else "%s"], [_values(r) for r in batch])
    else:
        conn.execute(gateway_audit.insert(), [r.row() for r in batch])


def insert_new(conn: Any, rec: AuditRecord) -> bool:
    """Insert ``rec`` unless a row with its ``record_id`` is there already; returns whether it was inserted."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = _INSERT[mark] + " ON CONFLICT (record_id) DO NOTHING"
    return bool(conn.exec_driver_sql(sql, _values(rec)).rowcount)


def query(
    engine: Any,
    *,
    since: float | None = None,
    until: float | None = None,
    key_id: str | None = None,
    team: str | None = None,
    user: str | None = None,
    status: str | None = None,
    limit: int | None = 100,
) -> Iterator[AuditRecord]:
    """Records in time order; with ``limit``, the most recent ``limit`` of them."""
    t = gateway_audit
    stmt = sa.select(t).order_by(t.c.id)
    for col, value in ((t.c.key_id, key_id), (t.c.team, team), (t.c.user_name, user), (t.c.status, status)):
        if value is not None:
            stmt = stmt.where(col == value)
    if since is not None:
        stmt = stmt.where(t.c.ts >= since)
    if until is not None:
        stmt = stmt.where(t.c.ts < until)
    if limit is not None:
        stmt = stmt.order_by(None).order_by(t.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = [AuditRecord(**{k: v for k, v in r._mapping.items() if k != "id"}) for r in conn.execute(stmt)]
    if limit is not None:
        rows.reverse()
    yield from rows


def spend_by(engine: Any, column: str, since: float, *, user: str | None = None) -> dict[str, float]:
    """Gateway spend (USD) since ``since`` grouped by ``environment``, ``team``, ``user_name`` or ``model_served``."""
    t = gateway_audit
    col = t.c[column]
    q = sa.select(col, sa.func.sum(t.c.cost_nusd)).where(t.c.ts >= since).group_by(col)
    if user is not None:
        q = q.where(t.c.user_name == user)
    with engine.connect() as conn:
        return {str(k or "-"): int(v or 0) / NANO for k, v in conn.execute(q)}
