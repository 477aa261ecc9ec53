"""The scheduler of ``bedrockctl serve``: each job runs once per interval across every worker and replica.

Every process that serves runs a ``Scheduler`` (a daemon thread). Each ``poll_seconds`` it looks at every job's
current *slot* (``floor(time / interval)``); for a slot it has not seen done, it tries to claim the job's lease
(``store.jobs.JobStore.claim``: one conditional UPDATE, so exactly one process wins the slot, on SQLite or
PostgreSQL). The winner records the run, runs the job in this thread, renews the lease from a second thread while
it runs, records the outcome with the job's figures, and frees the lease. A process that dies mid-run stops renewing:
its lease runs out after ``lease_seconds`` and the next slot goes to a live replica (its run is marked abandoned).
A failed run calls ``on_failure`` (``jobs.JobAlerts``: alerted once per failure streak).

Sleeps are short relative ``time.sleep`` calls (no timed ``Event.wait``), so the loop behaves under libfaketime.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bedrockctl.errors import BedrockctlError
from bedrockctl.store.jobs import FAILED, OK, JobStore

log = logging.getLogger("bedrockctl.jobs")
FailureHook = Callable[[str, int, str], None]


@dataclass(frozen=True)
class Job:
    name: str
    interval: int  # seconds
    run: Callable[[], dict[str, Any]]  # -> the run's figures


def holder_id() -> str:
    """This process, as the lease and the runs name it."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


class Scheduler:
    def __init__(
        self,
        jobs: list[Job],
        store: JobStore,
        *,
        holder: str | None = None,
        lease_seconds: float = 60.0,
        poll_seconds: float = 1.0,
        on_failure: FailureHook | None = None,
    ) -> None:
        self.jobs = jobs
        self.store = store
        self.holder = holder or holder_id()
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.on_failure = on_failure
        self._done: dict[str, int] = {}  # job -> the newest slot known to be taken (by us or another replica)
        self._running: set[str] = set()
        self._stopping = False
        self._threads: list[threading.Thread] = []

    def slot(self, job: Job) -> int:
        return int(self.store.clock() // job.interval)

    # -- one pass -----------------------------------------------------------------------------------------
    def tick(self) -> list[int]:
        """Run every job whose current slot is free; the ids of the runs made."""
        made = []
        for job in self.jobs:
            if self._stopping:
                break
            slot = self.slot(job)
            if self._done.get(job.name, -1) >= slot:
                continue
            if self.store.claim(job.name, slot, self.holder, self.lease_seconds):
                self._done[job.name] = slot
                made.append(self.run(job, slot))
                continue
            taken = self.store.claimed_slot(job.name)
            if taken is not None and taken >= slot:
                self._done[job.name] = taken  # another replica has it; else the lease is busy: try next pass
        return made

    def run(self, job: Job, slot: int | None) -> int:
        """Run ``job`` for ``slot`` (its lease held), record the outcome, free the lease."""
        run_id = self.store.start(job.name, slot, self.holder)
        self._running.add(job.name)
        try:
            figures = job.run()
        except BedrockctlError as exc:
            self._failed(job, run_id, f"{exc.code}: {exc.message}")
        except Exception as exc:  # a job's bug must not stop the scheduler: recorded and alerted
            log.exception("scheduled job %s failed", job.name)
            self._failed(job, run_id, f"{type(exc).__name__}: {exc}")
        else:
            self.store.finish(run_id, OK, figures)
        finally:
            self._running.discard(job.name)
            self.store.release(job.name, self.holder)
        return run_id

    def _failed(self, job: Job, run_id: int, error: str) -> None:
        self.store.finish(run_id, FAILED, {}, error)
        if self.on_failure is not None:
            try:
                self.on_failure(job.name, run_id, error)
            except BedrockctlError as exc:
                log.warning("job %s: the failure alert failed: %s", job.name, exc.message)

    # -- threads ------------------------------------------------------------------------------------------
    def start(self) -> Scheduler:
        for target, name in ((self._loop, "bedrockctl-scheduler"), (self._renew_loop, "bedrockctl-lease")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("scheduler %s: %s", self.holder, ", ".join(f"{j.name} every {j.interval}s" for j in self.jobs))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < end:
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))

    def _loop(self) -> None:
        while not self._stopping:
            try:
                self.tick()
            except Exception:  # the database away for a moment: log it, try again next pass
                log.exception("scheduler pass failed")
            self._sleep(self.poll_seconds)

    def _renew_loop(self) -> None:
        while not self._stopping:
            for name in list(self._running):
                try:
                    self.store.renew(name, self.holder, self.lease_seconds)
                except Exception:  # the next renewal tries again; the lease outlives a few misses
                    log.exception("renewing the lease of %s failed", name)
            self._sleep(max(0.1, self.lease_seconds / 3))
