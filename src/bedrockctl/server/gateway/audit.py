"""The gateway's audit writer: the request path appends records to a buffer, the background flush writes them in
batches (``bedrockctl.store.audit``); written records are shipped to the analytics ledger (source ``gateway``) and
optionally to S3: SSE-KMS, a lifecycle rule that expires the audit prefix after ``retention_days`` and, on a bucket
with Object Lock, a per-object retention of the same length."""

from __future__ import annotations

import gzip
import logging
import uuid
from typing import Any

import orjson

from bedrockctl.store.audit import AuditRecord, write_batch

log = logging.getLogger("bedrockctl.gateway")
S3_BACKLOG = 200_000  # records kept for S3 while it refuses them


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
        write_batch(self.engine, batch)
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
    """A callable adding audit records to the analytics ledger (``usage report --by tag:team``); without the
    analytics extra (DuckDB) its calls fail, and ``AuditLog.ship`` logs that."""
    from bedrockctl.analytics.records import Columns, add_invocation
    from bedrockctl.analytics.store import UsageStore

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
    from bedrockctl.aws.s3 import put_lifecycle_rule

    rule = {
        "ID": LIFECYCLE_RULE_ID,
        "Filter": {"Prefix": _prefix(cfg) + "/"},
        "Status": "Enabled",
        "Expiration": {"Days": int(cfg["retention_days"])},
    }
    return put_lifecycle_rule(sessions.client("s3", cfg.get("region")), cfg["bucket"], rule)


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


__all__ = ["LIFECYCLE_RULE_ID", "AuditLog", "AuditRecord", "ensure_lifecycle", "ledger_writer", "ship_s3"]
