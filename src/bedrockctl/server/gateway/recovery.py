"""A gateway worker's crash safety: its lease on what it reserves, its audit journal, the flush that writes audit
rows and counter settlements together, and the recovery of workers that died.

- Start: register a lease (``gateway_workers``; what the worker reserves is mirrored in ``gateway_holds``), open the
  journal, then recover: replay the journal of every dead worker of this node (its journal lock is free) and give
  back what it held at once; give back what workers of any node held once their lease ran out.
- Every flush: write the buffered audit records with the counters' deltas in one transaction
  (``durable.AuditCommit``), drop the journal segments that are now in the database, renew the lease (every
  third of ``worker_lease_seconds``) and look for dead workers (as often).
- Stop: final flush, close the journal (removed when everything is in the database), give the lease back.

So ``reserved`` of a counter returns to what live workers hold within ``worker_lease_seconds`` (plus one flush
interval) of a worker's death -- at once when a worker starts on the same node -- and ``used`` equals the sum of
the audit rows.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bedrockctl.server.gateway.audit import AuditLog, from_journal
from bedrockctl.server.gateway.counters import Counters, Key
from bedrockctl.server.gateway.durable import AuditCommit, StoreUnavailable, used_deltas
from bedrockctl.server.gateway.journal import Journal, orphans
from bedrockctl.store import leases
from bedrockctl.store.audit import AuditRecord

log = logging.getLogger("bedrockctl.gateway")


class WorkerLease:
    def __init__(
        self,
        engine: Any,
        counters: Counters,
        audit: AuditLog,
        commit: AuditCommit,
        journal_dir: Path | None,
        lease_seconds: float,
    ) -> None:
        self.engine = engine
        self.counters = counters
        self.audit = audit
        self.committer = commit
        self.lease_seconds = lease_seconds
        # the lease runs ``ttl`` past each renewal and is renewed (and dead workers looked for) every ``period``: a
        # worker that dies is given back within ttl + period = lease_seconds (plus at most one flush interval),
        # and a live one may miss a renewal without losing its lease
        self.ttl = lease_seconds * 2 / 3
        self.period = lease_seconds / 3
        self.worker_id = uuid.uuid4().hex
        self.journal = Journal(journal_dir, self.worker_id) if journal_dir is not None else None
        self.journal_dir = journal_dir
        self.replayed = 0  # records of dead workers written by this one
        self.released: dict[Key, int] = {}  # what this worker gave back for dead ones, per counter
        self._next_check = 0.0
        self._started = False
        self._registered = False

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def start(self) -> None:
        self.audit.written(await asyncio.get_running_loop().run_in_executor(None, self._start))
        self._started = True

    def _start(self) -> list[AuditRecord]:
        self.counters.store.owner = self.worker_id
        if self.journal is not None:
            self.journal.open()
            self.audit.journal = self.journal
        self._next_check = time.monotonic() + self.period
        try:
            leases.register(self.engine, self.worker_id, self.ttl, time.time())
            self._registered = True
            return self.recover()
        except SQLAlchemyError as exc:  # the database is down: serve anyway (/readyz says so), retry at the next check
            log.warning("gateway worker lease not registered yet (retried every %.1f s): %s", self.period, exc)
            self._next_check = 0.0
            return []

    async def stop(self) -> None:
        """After the final flush and ``counters.close``: close the journal, give back what is still held."""
        if not self._started:
            return
        self._started = False
        everything_written = not self.audit.backlog
        if self.journal is not None:
            self.audit.journal = None
            await self.journal.close(remove=everything_written)
        await asyncio.get_running_loop().run_in_executor(None, leases.release, self.engine, self.worker_id)

    # -- the flush -----------------------------------------------------------------------------------------
    async def flush(self, everything: bool = False) -> dict[Key, list[int]]:
        """Settle counters and write audit rows in one transaction; returns the deltas applied ({} if none)."""
        pending = self.counters.take_pending(everything)
        entries = self.audit.take_entries()
        loop = asyncio.get_running_loop()
        applied: dict[Key, list[int]] = {}
        if pending or entries:
            upto = self.journal.rotate() if self.journal is not None and entries else None
            try:
                left = await loop.run_in_executor(None, self.committer.commit, entries, pending)
            except Exception as exc:
                level = logging.WARNING if isinstance(exc, StoreUnavailable) else logging.ERROR
                log.log(level, "audit and counters not written (kept for the next flush): %s", exc)
                self.counters.restore(pending)
                self.audit.put_back(entries)
                left = None
            if left is not None:
                applied = pending
                if left:  # the database went away in the middle: the rest waits, with its usage
                    self.counters.restore(used_deltas(left))
                    self.audit.put_back(left)
                else:
                    if upto is not None and self.journal is not None:
                        self.journal.discard(upto)
                done = {id(rec) for rec, _ in left}
                self.audit.written([rec for rec, _ in entries if id(rec) not in done])
        if self._started and time.monotonic() >= self._next_check:
            self._next_check = time.monotonic() + self.period
            self.audit.written(await loop.run_in_executor(None, self.check))  # ledger and S3 (on the loop)
        return applied

    # -- lease and recovery --------------------------------------------------------------------------------
    def check(self) -> list[AuditRecord]:
        """Renew this worker's lease; recover dead workers (returns the records replayed)."""
        try:
            if not self._registered:
                leases.register(self.engine, self.worker_id, self.ttl, time.time())
                self._registered = True
            elif not leases.renew(self.engine, self.worker_id, self.ttl, time.time()):
                log.error(
                    "gateway worker %s outlived its lease (stalled for over %.0f s): what it held was given back; "
                    "registering again",
                    self.worker_id,
                    self.lease_seconds,
                )
                leases.register(self.engine, self.worker_id, self.ttl, time.time())
            return self.recover()
        except Exception:
            log.exception("gateway worker lease check failed (retried at the next flush)")
            return []

    def recover(self) -> list[AuditRecord]:
        """Replay dead workers' journals of this node and give back their holds; give back expired leases' holds.
        Returns the records that were missing from the database."""
        replayed: list[AuditRecord] = []
        if self.journal_dir is not None:
            for orphan in orphans(self.journal_dir, self.worker_id):
                try:
                    missing = self.committer.replay(from_journal(e) for e in orphan.entries())
                    self._released(leases.release(self.engine, orphan.worker_id))
                except Exception:
                    orphan.give_up()
                    log.exception("replaying the journal of dead gateway worker %s failed", orphan.worker_id)
                    continue
                orphan.done()
                replayed.extend(missing)
                n = len(missing)
                self.replayed += n
                log.warning(
                    "gateway worker %s had died: %d audit records replayed from its journal, its reservations given "
                    "back",
                    orphan.worker_id,
                    n,
                )
        now = time.time()
        for worker_id in leases.expired(self.engine, now):
            if worker_id != self.worker_id:
                given = leases.release(self.engine, worker_id, expired_before=now)
                if given:
                    log.warning("gateway worker %s's lease ran out: its reservations given back", worker_id)
                self._released(given)
        return replayed

    def _released(self, given: dict[Key, int]) -> None:
        for key, amount in given.items():
            self.released[key] = self.released.get(key, 0) + amount


def worker_lease(gw: Any) -> WorkerLease:
    """The lease of gateway ``gw``'s worker: journal under the data directory (one per database), dead letters next
    to it, an alert and ``bedrockctl_gateway_audit_dead_letters_total`` for each dead letter."""
    import os
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime

    from prometheus_client import Counter

    from bedrockctl.alerts.model import Alert
    from bedrockctl.paths import data_dir
    from bedrockctl.server.gateway.journal import journal_dir

    settings = gw.ctx.settings
    home = data_dir(settings)
    schema = (getattr(settings, "gateway", {}) or {}).get("store_schema") or os.environ.get(
        "BEDROCKCTL_GATEWAY_STORE_SCHEMA"
    )
    dead = Counter(
        "bedrockctl_gateway_audit_dead_letters",
        "Audit records the database refused, kept in the dead-letter file.",
        registry=gw.metrics.registry,
    )
    alerts = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gw-dead-letter")

    def alert(rec: Any, error: str) -> None:
        dead.inc()
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        note = Alert(
            "audit:dead_letter",
            f"d{day}",
            0.0,
            "bedrockctl gateway: an audit record was refused by the database",
            {
                "event": "audit_dead_letter",
                "record_id": rec.record_id,
                "request_id": rec.request_id,
                "error": error,
                "file": str(home / "gateway-audit-dead-letter.jsonl"),
                "environment": rec.environment,
            },
        )
        alerts.submit(gw.alerter.service.notify, note, gw.alerter.channels(rec.environment or ""))

    commit = AuditCommit(gw.engine, gw.counters.store, home, on_dead_letter=alert)
    jdir = journal_dir(home, str(gw.engine.url), schema) if gw.opts.audit and gw.opts.audit_journal else None
    return WorkerLease(gw.engine, gw.counters, gw.audit, commit, jdir, gw.opts.worker_lease_seconds)
