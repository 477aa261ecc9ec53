"""Scheduled jobs (branch ``jobs``, migration ``0001_jobs``): one lease per job and one row per run.

A job runs once per *slot* (``floor(unix time / interval)``). A replica runs a slot only after it *claims* the
job's lease: a conditional ``UPDATE`` that succeeds when the lease row names an older slot and nobody holds it (or
its holder stopped renewing it: ``lease_until`` passed). The ``UPDATE`` is one statement, so on PostgreSQL and
SQLite exactly one replica wins each slot; the winner renews the lease while the job runs and frees it after, and a
replica that dies mid-run loses the lease after ``lease_seconds``. ``job_runs`` records every run (start, end,
outcome, figures); its unique (job, slot) is a second guard. Times are UNIX seconds (float).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bedrockctl.store.schema import metadata

RUNNING, OK, FAILED, ABANDONED = "running", "ok", "failed", "abandoned"

job_leases = sa.Table(
    "job_leases",
    metadata,
    sa.Column("job", sa.String(60), primary_key=True),
    sa.Column("slot", sa.BigInteger, nullable=False),  # the last slot claimed
    sa.Column("holder", sa.String(120)),  # the replica running it (NULL: free)
    sa.Column("lease_until", sa.Float),  # the holder lost it when this passed without a renewal
    sa.Column("updated_at", sa.Float, nullable=False),
)

job_runs = sa.Table(
    "job_runs",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("job", sa.String(60), nullable=False),
    sa.Column("slot", sa.BigInteger),  # NULL: a run asked for by hand (`bedrockctl jobs --run`)
    sa.Column("holder", sa.String(120), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # running | ok | failed | abandoned
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("figures", sa.JSON, nullable=False),  # what the run did: sources read, assets, budgets tripped
    sa.Column("error", sa.Text),
    sa.UniqueConstraint("job", "slot", name="uq_job_runs_job_slot"),
    sa.Index("ix_job_runs_started_at", "started_at"),
)


@dataclass(frozen=True)
class Run:
    id: int
    job: str
    slot: int | None
    holder: str
    status: str
    started_at: float
    finished_at: float | None
    figures: dict[str, Any]
    error: str | None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "job": self.job,
            "slot": self.slot,
            "holder": self.holder,
            "status": self.status,
            "started": iso_time(self.started_at),
            "finished": iso_time(self.finished_at),
            "seconds": None if self.finished_at is None else round(self.finished_at - self.started_at, 3),
            "figures": self.figures,
            "error": self.error,
        }


def iso_time(ts: float | None) -> str | None:
    """A UNIX time as ISO 8601 UTC (what the runs and the backstop's actions show)."""
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class JobStore:
    """Leases and runs of the scheduled jobs, in the gateway's database."""

    def __init__(self, engine: Any, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock

    # -- the lease -------------------------------------------------------------------------------------------
    def claim(self, job: str, slot: int, holder: str, lease_seconds: float) -> bool:
        """Take the lease of ``job`` for ``slot``: True for exactly one caller per slot."""
        now = self.clock()
        t = job_leases
        free = sa.or_(t.c.holder.is_(None), t.c.lease_until < now)
        with self.engine.begin() as conn:
            won = conn.execute(
                t.update()
                .where(t.c.job == job, t.c.slot < slot, free)
                .values(slot=slot, holder=holder, lease_until=now + lease_seconds, updated_at=now)
            ).rowcount
        # no row updated: the row is missing (the job's first run), or another replica has this slot (or a later
        # one), or holds the lease
        return won == 1 or self._first_lease(job, slot, holder, now, lease_seconds)

    def acquire(self, job: str, holder: str, lease_seconds: float) -> bool:
        """Take the lease of ``job`` outside its schedule (a run asked for by hand): only while nobody holds it; the
        claimed slot is left as it is."""
        now = self.clock()
        t = job_leases
        with self.engine.begin() as conn:
            won = conn.execute(
                t.update()
                .where(t.c.job == job, sa.or_(t.c.holder.is_(None), t.c.lease_until < now))
                .values(holder=holder, lease_until=now + lease_seconds, updated_at=now)
            ).rowcount
        return won == 1 or self._first_lease(job, -1, holder, now, lease_seconds)

    def _first_lease(self, job: str, slot: int, holder: str, now: float, lease_seconds: float) -> bool:
        """Create the lease row of a job that has none, held by ``holder``; False when it exists already."""
        row = {"job": job, "slot": slot, "holder": holder, "lease_until": now + lease_seconds, "updated_at": now}
        try:
            with self.engine.begin() as conn:
                conn.execute(job_leases.insert().values(**row))
        except IntegrityError:
            return False
        return True

    def renew(self, job: str, holder: str, lease_seconds: float) -> bool:
        now = self.clock()
        t = job_leases
        with self.engine.begin() as conn:
            n = conn.execute(
                t.update()
                .where(t.c.job == job, t.c.holder == holder)
                .values(lease_until=now + lease_seconds, updated_at=now)
            ).rowcount
        return bool(n)

    def release(self, job: str, holder: str) -> None:
        t = job_leases
        with self.engine.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.job == job, t.c.holder == holder)
                .values(holder=None, lease_until=None, updated_at=self.clock())
            )

    def claimed_slot(self, job: str) -> int | None:
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(job_leases.c.slot).where(job_leases.c.job == job)).scalar()
        return None if value is None else int(value)

    # -- runs ------------------------------------------------------------------------------------------------
    def start(self, job: str, slot: int | None, holder: str) -> int:
        """Record the start of a run (the lease held: runs of the job still marked running were left by a holder
        that died)."""
        now = self.clock()
        t = job_runs
        with self.engine.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.job == job, t.c.status == RUNNING)
                .values(status=ABANDONED, finished_at=now, error="its replica stopped before the run ended")
            )
            result = conn.execute(
                t.insert().values(job=job, slot=slot, holder=holder, status=RUNNING, started_at=now, figures={})
            )
        return int(result.inserted_primary_key[0])

    def finish(self, run_id: int, status: str, figures: dict[str, Any], error: str | None = None) -> None:
        t = job_runs
        with self.engine.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.id == run_id)
                .values(status=status, finished_at=self.clock(), figures=figures, error=error)
            )

    def runs(self, job: str | None = None, *, limit: int | None = 50) -> list[Run]:
        t = job_runs
        q = sa.select(t).order_by(t.c.started_at.desc(), t.c.id.desc())
        if job:
            q = q.where(t.c.job == job)
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [_run(r) for r in conn.execute(q).mappings()]

    def latest(self) -> list[Run]:
        """The newest run of every job."""
        t = job_runs
        newest = sa.select(t.c.job, sa.func.max(t.c.id).label("id")).group_by(t.c.job).subquery()
        q = sa.select(t).join(newest, newest.c.id == t.c.id).order_by(t.c.job)
        with self.engine.connect() as conn:
            return [_run(r) for r in conn.execute(q).mappings()]

    def failing_since(self, job: str, run_id: int) -> int:
        """The id of the first failed run of the failure streak that ``run_id`` ends (one alert per streak)."""
        t = job_runs
        with self.engine.connect() as conn:
            last_ok = conn.execute(
                sa.select(sa.func.max(t.c.id)).where(t.c.job == job, t.c.status == OK, t.c.id < run_id)
            ).scalar()
            first = conn.execute(
                sa.select(sa.func.min(t.c.id)).where(
                    t.c.job == job, t.c.status.in_((FAILED, ABANDONED)), t.c.id > (last_ok or 0), t.c.id <= run_id
                )
            ).scalar()
        return int(first or run_id)


def _run(r: Any) -> Run:
    return Run(
        id=int(r["id"]),
        job=r["job"],
        slot=None if r["slot"] is None else int(r["slot"]),
        holder=r["holder"],
        status=r["status"],
        started_at=float(r["started_at"]),
        finished_at=None if r["finished_at"] is None else float(r["finished_at"]),
        figures=dict(r["figures"] or {}),
        error=r["error"],
    )
