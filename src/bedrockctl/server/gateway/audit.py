"""The gateway's audit writer: the request path appends records to a buffer, the background flush writes them in
batches (``bedrockctl.store.audit``); written records are shipped to the analytics ledger (source ``gateway``) and
optionally to S3: SSE-KMS, a lifecycle rule that expires the audit prefix after ``retention_days`` and, on a bucket
with Object Lock, a per-object retention of the same length."""

from __future__ import annotations

import asyncio
import contextvars
import gzip
import logging
import operator
import pickle
import subprocess
import sys
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from bedrockctl.server.gateway.http import RequestIds
from bedrockctl.store.audit import FIELDS as _FIELDS
from bedrockctl.store.audit import AuditRecord, write_batch
from bedrockctl.store.audit_fields import sanitize

if TYPE_CHECKING:
    from bedrockctl.server.gateway.journal import Journal

log = logging.getLogger("bedrockctl.gateway")
S3_BACKLOG = 200_000  # records kept for S3 while it refuses them
Used = list[tuple[str, str, int]]  # what one request consumed, per counter: (scope, win, amount)
Entry = tuple[AuditRecord, Used]
# the journal write of the current request's record: its answer waits for it (``journaled``)
JOURNALED: contextvars.ContextVar[asyncio.Future[None] | None] = contextvars.ContextVar("journaled", default=None)


_values = operator.attrgetter(*_FIELDS)  # a record's fields as a tuple, in ``FIELDS`` order
SHIP_BATCH = 20_000  # ~10 MB of records held for the ledger and S3 at most, then shipped


class AuditLog:
    """A buffer the request path appends to; ``flush`` (a worker thread) writes it in one batch.

    Records are sanitized (``bedrockctl.store.audit_fields``) before they are buffered and, with a journal, appended
    to it (the request's answer waits for that: ``journaled``). The buffer is bounded by ``max_buffer``: while it
    is full (the database has been unreachable for a while) new requests are refused with 503 before they reach
    the upstream (``full``); records of requests already in flight are still kept."""

    def __init__(
        self,
        engine: Any,
        *,
        ledger: Any = None,
        s3: dict[str, Any] | None = None,
        sessions: Any = None,
        max_buffer: int = 100_000,
        ship_batch: int = SHIP_BATCH,
    ):
        self.engine = engine
        self.ledger = ledger
        self.s3 = s3 or {}
        self.sessions = sessions
        self.max_buffer = max_buffer
        self.ship_batch = ship_batch  # records held for the ledger / S3 before a ship is due whatever the interval
        self.journal: Journal | None = None
        self._record_ids = RequestIds()
        self._buf: list[Entry] = []
        self._ship: list[AuditRecord] = []
        self._s3q: list[AuditRecord] = []
        self._lifecycle_done = False

    def add(self, rec: AuditRecord, used: Used | None = None) -> None:
        rec = sanitize(rec)
        rec.record_id = self._record_ids().replace("-", "")  # unique, no syscall per record
        used = used or []
        if self.journal is not None:
            JOURNALED.set(self.journal.append(journal_entry(rec, used)))
        self._buf.append((rec, used))

    @property
    def backlog(self) -> int:
        """Records buffered, not yet in the database."""
        return len(self._buf)

    @property
    def ship_due(self) -> bool:
        """Enough written records wait for the ledger / S3 to ship them now: what the gateway holds for them is
        bounded by ``ship_batch`` records, not by ``ledger_interval`` x the request rate."""
        return len(self._ship) >= self.ship_batch

    def full(self) -> bool:
        return len(self._buf) >= self.max_buffer

    def take_entries(self) -> list[Entry]:
        buf, self._buf = self._buf, []
        return buf

    def put_back(self, entries: list[Entry]) -> None:
        """Entries a flush could not write, kept (first) for the next one."""
        self._buf[:0] = entries

    def write(self, batch: list[AuditRecord]) -> None:
        if not batch:
            return
        write_batch(self.engine, batch)
        self.written(batch)

    def written(self, batch: Sequence[AuditRecord]) -> None:
        """``batch`` is in the database: queue it for the ledger and S3 (``ship``)."""
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
    analytics extra (DuckDB) its calls fail, and ``AuditLog.ship`` logs that.

    Each batch is written by a child process (started for that batch, gone after it): DuckDB and pyarrow take
    ~150 MB once loaded and keep more after every batch, so they never enter the gateway's process, whose memory
    stays flat however long it runs (``bench/gateway/memory.py``). A child costs ~0.5 s of CPU per batch, one batch
    per ``ledger_interval``, off the event loop."""

    def write(batch: list[AuditRecord]) -> None:
        done = subprocess.run(
            [sys.executable, "-c", "from bedrockctl.services.gateway_ledger import ledger_child; ledger_child()"],
            input=pickle.dumps((settings, [_values(rec) for rec in batch])),  # tuples: ~10x faster than records
            capture_output=True,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(done.stderr.decode(errors="replace").strip().splitlines()[-1:] or done.returncode)

    return write


def journal_entry(rec: AuditRecord, used: Used) -> dict[str, Any]:
    """A journal line: the record's fields in ``FIELDS`` order and its usage per counter."""
    return {"r": _values(rec), "u": used}


def from_journal(entry: dict[str, Any]) -> Entry:
    rec = sanitize(AuditRecord(*entry["r"]))
    return rec, [(str(s), str(w), int(n)) for s, w, n in entry.get("u") or []]


def journaled(audit: AuditLog, handler: Any, protocol: str) -> Any:
    """Wrap a route so that its answer (the status line of a plain answer, the end of a stream) goes out only once the
    request's audit record is in the journal; while the audit buffer is full, refuse the request with 503."""
    from bedrockctl.server.gateway import errors
    from bedrockctl.server.gateway.http import request_id, respond

    async def run(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if audit.full():
            err = errors.GatewayError(
                503,
                "ServiceUnavailableException",
                "The gateway cannot record requests right now (its audit backlog is full); retry shortly.",
                audit_status="audit_backlog_full",
            )
            rid = request_id()
            if protocol == "anthropic":
                from bedrockctl.server.gateway import anthropic_wire

                await respond(send, *anthropic_wire.error(err, rid))
            else:
                await respond(send, *(err.openai(rid) if protocol == "openai" else err.bedrock(rid)))
            return
        JOURNALED.set(None)

        async def send_when_journaled(message: dict[str, Any]) -> None:
            fut = JOURNALED.get()
            final = message["type"] == "http.response.start" or not message.get("more_body", False)
            if fut is not None and not fut.done() and final:
                try:
                    await fut  # this request's own future: nothing else waits for it, so no shield
                except Exception as exc:  # the journal logged it; the record is still buffered for the database
                    log.error("answering without a journaled audit record: %s", exc)
            await send(message)

        await handler(scope, receive, send_when_journaled)

    return run


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


__all__ = [
    "LIFECYCLE_RULE_ID",
    "AuditLog",
    "AuditRecord",
    "ensure_lifecycle",
    "journaled",
    "ledger_writer",
    "ship_s3",
]
