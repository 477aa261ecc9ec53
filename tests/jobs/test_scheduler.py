"""The scheduler's lease on SQLite and PostgreSQL with a clock the test owns: each slot of a job runs once among
replicas, a replica that died mid-run loses the job after its lease, runs are recorded with their figures, and a
failing job is alerted once per failure streak (a real webhook)."""

from __future__ import annotations

import threading
from typing import Any

from bedrockctl.services.jobs import JobAlerts
from bedrockctl.services.scheduler import Job, Scheduler
from bedrockctl.settings import Settings
from bedrockctl.store.jobs import ABANDONED, FAILED, OK, JobStore

from .conftest import Clock, Hook, Stores

INTERVAL = 60


def _replicas(stores: Stores, clock: Clock, job: Job, n: int = 2, lease: float = 30, **kwargs: Any) -> list[Scheduler]:
    """``n`` schedulers, each with its own engine on the same database (as replicas have)."""
    return [
        Scheduler([job], JobStore(stores.open(), clock=clock), holder=f"replica-{i}", lease_seconds=lease, **kwargs)
        for i in range(n)
    ]


def test_each_slot_runs_once_across_replicas(stores: Stores, clock: Clock) -> None:
    ran: list[tuple[int, float]] = []
    job = Job("ingest", INTERVAL, lambda: ran.append((len(ran), clock())) or {"n": len(ran)})
    a, b = _replicas(stores, clock, job)
    clock.now = (clock.now // INTERVAL) * INTERVAL + 1  # a second into a slot
    for _ in range(5):
        for replica in (a, b, a, b):  # every replica looks several times per slot
            replica.tick()
        clock.advance(INTERVAL)
    runs = JobStore(stores.open(), clock=clock).runs("ingest", limit=None)
    slots = sorted(r.slot for r in runs if r.slot is not None)
    assert len(ran) == 5 and slots == list(range(slots[0], slots[0] + 5))
    assert {r.status for r in runs} == {OK} and all(r.finished_at is not None for r in runs)
    assert sorted(r.figures["n"] for r in runs) == [1, 2, 3, 4, 5]


def test_one_winner_when_replicas_race(stores: Stores, clock: Clock) -> None:
    store_engines = [stores.open() for _ in range(6)]
    wins: list[str] = []
    barrier = threading.Barrier(len(store_engines))

    def race(i: int, engine: Any) -> None:
        barrier.wait()
        if JobStore(engine, clock=clock).claim("budgets", 100, f"r{i}", 30):
            wins.append(f"r{i}")

    threads = [threading.Thread(target=race, args=(i, e)) for i, e in enumerate(store_engines)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert not JobStore(store_engines[0], clock=clock).claim("budgets", 100, "late", 30)  # the slot is taken


def test_a_dead_holder_loses_the_job_after_its_lease(stores: Stores, clock: Clock) -> None:
    ran: list[str] = []
    job = Job("discovery", INTERVAL, lambda: ran.append("b") or {})
    (b,) = _replicas(stores, clock, job, n=1, lease=90)
    dead = JobStore(stores.open(), clock=clock)
    clock.now = (clock.now // INTERVAL) * INTERVAL + 1
    slot = int(clock() // INTERVAL)
    assert dead.claim("discovery", slot, "dead", 90)  # a lease longer than the interval: a long run
    dead.start("discovery", slot, "dead")  # ...and the process is killed: no finish, no release, no renewal
    clock.advance(INTERVAL)
    b.tick()
    assert ran == []  # the next slot is due, but the lease of the dead holder still runs
    clock.advance(31)  # 91 s after the claim: the lease ran out, still within the next slot
    b.tick()
    assert ran == ["b"]
    runs = {r.holder: r for r in dead.runs("discovery")}
    assert runs["dead"].status == ABANDONED and runs["replica-0"].status == OK
    assert runs["replica-0"].slot == slot + 1  # the survivor took the very next slot


def test_a_failing_job_is_alerted_once_per_streak(stores: Stores, clock: Clock, hook: Hook) -> None:
    outcome = {"fail": True}

    def flaky() -> dict[str, Any]:
        if outcome["fail"]:
            raise RuntimeError("the source went away")
        return {"ok": 1}

    engine = stores.open()
    settings = Settings(gateway={"webhook_url": hook.url})
    job = Job("ingest", INTERVAL, flaky)
    (a,) = _replicas(stores, clock, job, n=1, on_failure=JobAlerts(settings, engine, None))
    for fail in (True, True, True, False, True, True):
        outcome["fail"] = fail
        a.tick()
        clock.advance(INTERVAL)
    statuses = [r.status for r in reversed(JobStore(engine, clock=clock).runs("ingest"))]
    assert statuses == [FAILED, FAILED, FAILED, OK, FAILED, FAILED]
    assert hook.requests == 2  # the first failure of each streak, not every failed run
    assert [b["job"] for b in hook.received] == ["ingest", "ingest"]
    assert "the source went away" in hook.received[0]["error"]
