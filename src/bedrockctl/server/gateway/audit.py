"""The audit trail: one append-only row per request, written in batches off the request path; shipped to the
analytics ledger (source ``gateway``) and optionally to S3: SSE-KMS, a lifecycle rule that expires the audit prefix
after ``retention_days`` and, on a bucket with Object Lock, a per-object retention of the same length."""

from __future__ import annotations

import gzip
import logging
import operator
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

import orjson
import sqlalchemy as sa

from bedrockctl.server.gateway.tables import gateway_audit

log = logging.getLogger("bedrockctl.gateway")
NANO = 1_000_000_000
S3_BACKLOG = 200_000  # records kept for S3 while it refuses them


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
            **({"errorCode": self.status} if self.status != "ok" else {}),
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


class AuditLog:
    """A buffer the request path appends to; ``flush`` (a worker thread) writes it in one batch."""

    def __init__(self, engine: Any, *, ledger: Any = None, s3: dict[str, Any] | None = None, sessions: Any = None):
        self.engine = engine
        self.ledger = ledger
        self.s3 = s3 or {}
        self.sessions = sessions
        self._buf: list[AuditRecord] = []
        self._ship: list[AuditRecord] = []
        self._s3q: list[AuditRecord] = []
        self._lifecycle_done = False

    def add(self, rec: AuditRecord) -> None:
        self._buf.append(rec)

    def take(self) -> list[AuditRecord]:
        buf, self._buf = self._buf, []
        return buf

    def write(self, batch: list[AuditRecord]) -> None:
        if not batch:
            return
        with self.engine.begin() as conn:
            style = conn.dialect.paramstyle
            if style in ("qmark", "format", "pyformat"):  # sqlite3 / psycopg: one executemany of plain tuples
                conn.exec_driver_sql(_INSERT["?" if style == "qmark" else "%s"], [_values(r) for r in batch])
            else:
                conn.execute(gateway_audit.insert(), [r.row() for r in batch])
        if self.ledger is not None or self.s3.get("bucket"):
            self._ship.extend(batch)

    def ship(self) -> int:
        """Send what was written since the last call to the ledger and to S3 (sync; slow path). A batch S3 refused
        is kept for the next call (up to ``S3_BACKLOG`` records); the rows stay in the database either way."""
        batch, self._ship = self._ship, []
        if batch and self.ledger is not None:
            try:
                self.ledger(batch)
            except Exception as exc:
                log.warning("gateway usage not added to the ledger: %s", exc)
        if self.s3.get("bucket") and self.sessions is not None:
            self._s3q.extend(batch)
            if len(self._s3q) > S3_BACKLOG:
                log.warning("audit S3 backlog full: %d records not shipped", len(self._s3q) - S3_BACKLOG)
                del self._s3q[: len(self._s3q) - S3_BACKLOG]
            if self._s3q:
                if not self._lifecycle_done and self.s3.get("retention_days"):
                    try:
                        ensure_lifecycle(self.sessions, self.s3)
                    except Exception as exc:
                        log.warning("audit retention rule not set on s3://%s: %s", self.s3["bucket"], exc)
                    self._lifecycle_done = True  # once per process, whatever the outcome (it is logged)
                try:
                    ship_s3(self.sessions, self.s3, self._s3q)
                    self._s3q = []
                except Exception as exc:
                    log.warning("audit batch not shipped to S3 (kept for the next attempt): %s", exc)
        return len(batch)


def ledger_writer(settings: Any) -> Any:
    """A callable adding audit records to the analytics ledger (``usage report --by tag:team``), or None."""
    try:
        from bedrockctl.analytics.records import Columns, add_invocation
        from bedrockctl.analytics.store import UsageStore
    except Exception:  # pragma: no cover - analytics extra not installed
        return None
    store = UsageStore.for_settings(settings)

    def write(batch: list[AuditRecord]) -> None:
        cols = Columns()
        for rec in batch:
            if (
                rec.operation
                in ("Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream", "Embeddings")
                and rec.http_status < 500
            ):
                add_invocation(cols, rec.invocation_log(), source="gateway")
        if cols.n_inv:
            staging = store.new_staging()
            store.stage(cols, staging)
            store.commit(staging)

    return write


LIFECYCLE_RULE_ID = "bedrockctl-gateway-audit-retention"


def _prefix(cfg: dict[str, Any]) -> str:
    return str(cfg.get("prefix", "bedrockctl/audit/")).strip("/")


def ensure_lifecycle(sessions: Any, cfg: dict[str, Any]) -> dict[str, Any]:
    """Add (or update) the bucket lifecycle rule expiring ``<prefix>/`` after ``retention_days``; other rules of
    the bucket are kept as they are."""
    s3 = sessions.client("s3", cfg.get("region"))
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=cfg["bucket"]).get("Rules", [])
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
            raise
        rules = []
    rule = {
        "ID": LIFECYCLE_RULE_ID,
        "Filter": {"Prefix": _prefix(cfg) + "/"},
        "Status": "Enabled",
        "Expiration": {"Days": int(cfg["retention_days"])},
    }
    rules = [r for r in rules if r.get("ID") != LIFECYCLE_RULE_ID] + [rule]
    s3.put_bucket_lifecycle_configuration(Bucket=cfg["bucket"], LifecycleConfiguration={"Rules": rules})
    return rule


def ship_s3(sessions: Any, cfg: dict[str, Any], batch: list[AuditRecord]) -> str:
    """One gzip JSON-lines object per batch, encrypted with SSE-KMS; with ``object_lock = true`` (a bucket with
    Object Lock enabled) each object is also locked for ``retention_days`` (mode ``retention_mode``)."""
    from datetime import UTC, datetime, timedelta

    body = gzip.compress(b"".join(orjson.dumps(r.public()) + b"\n" for r in batch))
    now = datetime.now(UTC)
    key = f"{_prefix(cfg)}/{now:%Y/%m/%d}/{now:%H%M%S}-{uuid.uuid4().hex[:12]}.jsonl.gz"
    kwargs: dict[str, Any] = {
        "Bucket": cfg["bucket"],
        "Key": key,
        "Body": body,
        "ContentType": "application/x-ndjson",
        "ContentEncoding": "gzip",
        "ServerSideEncryption": "aws:kms",
    }
    if cfg.get("kms_key_id"):
        kwargs["SSEKMSKeyId"] = cfg["kms_key_id"]
    if cfg.get("retention_days") and cfg.get("object_lock"):
        kwargs["ObjectLockMode"] = str(cfg.get("retention_mode", "GOVERNANCE"))
        kwargs["ObjectLockRetainUntilDate"] = now + timedelta(days=int(cfg["retention_days"]))
    sessions.client("s3", cfg.get("region")).put_object(**kwargs)
    return key


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
