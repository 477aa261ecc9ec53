"""Writing the audit with the counters it settles, so that neither a bad row nor a crash can stop or split them.

``AuditCommit.commit`` writes one flush in one transaction: the counters' settled deltas (``used``, ``reserved``)
and the audit rows of the same requests. So after any crash a record is in ``gateway_audit`` exactly when what it
consumed is in ``gateway_counters.used``, and replaying a journal (``replay``) inserts the missing records and adds
their usage once (``record_id`` is unique: an inserted row adds its usage, a present one is skipped).

When the database refuses the batch -- a row it will not take -- the batch is written row by row (each row with
its own usage, in its own transaction); a row refused even in its plain-ASCII form (``audit_fields.plain``) goes
to the dead-letter file (``<data dir>/gateway-audit-dead-letter.jsonl``, 0600) with an alert, and its usage is
still counted. When the database is unreachable or busy (an operational error: lock timeout, lost connection,
deadlock; or any error while a probe fails), nothing is dropped: the caller keeps the batch for the next flush.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bedrockctl.files import append_private
from bedrockctl.server.gateway.audit import Entry, Used, journal_entry
from bedrockctl.server.gateway.counters import Key, SqlCounters
from bedrockctl.store.audit import AuditRecord, insert_batch, insert_new
from bedrockctl.store.audit_fields import plain

log = logging.getLogger("bedrockctl.gateway")
DEAD_LETTER_FILE = "gateway-audit-dead-letter.jsonl"


class StoreUnavailable(Exception):
    """The database cannot be reached: keep everything for the next attempt."""


def used_deltas(entries: Iterable[Entry]) -> dict[Key, list[int]]:
    out: dict[Key, list[int]] = {}
    for _rec, used in entries:
        for scope, win, amount in used:
            if amount:
                out.setdefault((scope, win), [0, 0])[0] += amount
    return out


class AuditCommit:
    def __init__(
        self,
        engine: Any,
        counters: SqlCounters,
        data_dir: Path,
        on_dead_letter: Callable[[AuditRecord, str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.counters = counters
        self.dead_letter_path = data_dir / DEAD_LETTER_FILE
        self.on_dead_letter = on_dead_letter
        self.dead_letters = 0

    def commit(self, entries: list[Entry], pending: dict[Key, list[int]]) -> list[Entry]:
        """Write ``entries`` and settle ``pending`` (whose ``used`` includes the entries' usage); returns the
        entries left for the next attempt (the database went away in the middle). Raises ``StoreUnavailable``
        when nothing could be written."""
        try:
            with self.engine.begin() as conn:
                self.counters.apply_in(conn, pending)
                if entries:
                    insert_batch(conn, [rec for rec, _ in entries])
            return []
        except SQLAlchemyError as exc:
            self._raise_if_unavailable(exc)
            log.warning("audit batch of %d refused (%s); writing it row by row", len(entries), _short(exc))
        residual = {k: list(d) for k, d in pending.items()}
        for key, (amount, _r) in used_deltas(entries).items():
            residual.setdefault(key, [0, 0])[0] -= amount
        try:
            with self.engine.begin() as conn:
                self.counters.apply_in(conn, residual)  # lease releases and the like: everything but the rows' usage
        except SQLAlchemyError as exc:
            self._raise_if_unavailable(exc)
            raise
        for i, (rec, used) in enumerate(entries):
            try:
                self.write_one(rec, used)
            except StoreUnavailable:
                return entries[i:]
        return []

    def replay(self, entries: Iterable[Entry]) -> list[AuditRecord]:
        """Insert the records a dead worker journaled but did not write, adding their usage once; returns those that
        were missing."""
        return [rec for rec, used in entries if self.write_one(rec, used)]

    def write_one(self, rec: AuditRecord, used: Used) -> bool:
        """One record and its usage in one transaction, unless its ``record_id`` is there; a row refused as is and in
        plain ASCII goes to the dead letters (its usage is still counted)."""
        deltas = used_deltas([(rec, used)])
        error = ""
        for candidate in (rec, plain(rec)):
            try:
                with self.engine.begin() as conn:
                    inserted = insert_new(conn, candidate)
                    if inserted:
                        self.counters.apply_in(conn, deltas)
                return inserted
            except SQLAlchemyError as exc:
                self._raise_if_unavailable(exc)
                error = _short(exc)
        try:
            with self.engine.begin() as conn:
                self.counters.apply_in(conn, deltas)
        except SQLAlchemyError as exc:
            self._raise_if_unavailable(exc)
            raise
        self.dead_letter(rec, used, error)
        return True

    def dead_letter(self, rec: AuditRecord, used: Used, error: str) -> None:
        line = {"time": time.time(), "error": error, "used": used, "record": journal_entry(rec, used)["r"]}
        append_private(self.dead_letter_path, orjson.dumps(line, default=repr) + b"\n")
        self.dead_letters += 1
        log.error(
            "audit record %s refused by the database, kept in %s: %s",
            rec.record_id,
            self.dead_letter_path,
            error,
            extra={"event": "audit_dead_letter", "record_id": rec.record_id, "path": str(self.dead_letter_path)},
        )
        if self.on_dead_letter is not None:
            self.on_dead_letter(rec, error)

    def _raise_if_unavailable(self, exc: Exception) -> None:
        """A lock timeout, a lost connection, a deadlock or a serialization failure is the database's state, not the
        row's: retry later. Anything else is the row's fault only if the database still answers."""
        if isinstance(exc, OperationalError) or getattr(exc, "connection_invalidated", False):
            raise StoreUnavailable(_short(exc)) from exc
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            raise StoreUnavailable(_short(exc)) from exc


def _short(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
