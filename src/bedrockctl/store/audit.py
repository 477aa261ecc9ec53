"""The gateway's audit trail in the store: one append-only row per request (``gateway_audit``), written in
batches (``write_batch``) and read back by ``query`` (``bedrockctl audit``, the console)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from bedrockctl.store.audit_record import FIELDS as FIELDS  # re-exported: the record lives in audit_record
from bedrockctl.store.audit_record import NANO as NANO
from bedrockctl.store.audit_record import AuditRecord as AuditRecord
from bedrockctl.store.audit_record import _values
from bedrockctl.store.gateway import gateway_audit

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
