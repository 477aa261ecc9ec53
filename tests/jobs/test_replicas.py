"""Two real ``bedrockctl serve`` processes on one PostgreSQL database (a schema of their own) with short job intervals:
every slot of every job runs once; killing the replica that runs the jobs hands them to the other one by the next
slot (the slots are the scheduler's own record, not the test's clock)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bedrockctl.samples import SampleSet
from bedrockctl.store import Store
from bedrockctl.store.jobs import ABANDONED, OK, JobStore, Run

PG_URL = os.environ.get("BEDROCKCTL_TEST_PG_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="BEDROCKCTL_TEST_PG_URL is not set (a PostgreSQL URL to test on)")
INTERVAL = 2  # seconds, every job
JOBS = ("discovery", "ingest", "budgets")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp: Path, schema: str, samples: SampleSet) -> Path:
    cfg = tmp / "bedrockctl.toml"
    cfg.write_text(f"""
[aws]
region = "us-east-1"
retry_attempts = 1

[store]
url = "{PG_URL}"
data_dir = "{tmp / "data"}"

[environments.prod]
monthly_budget_usd = 1000

[gateway]
master_secret = "jobs-test-master-secret"
store_schema = "{schema}"

[jobs]
discovery_interval = {INTERVAL}
ingest_interval = {INTERVAL}
ingest_sources = ["{samples.invocation_logs}"]
budgets_interval = {INTERVAL}
lease_seconds = {INTERVAL}
poll_seconds = 0.2
""")
    return cfg


class Replica:
    def __init__(self, cfg: Path) -> None:
        self.port = _port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bedrockctl.cli.serve_cmd", "serve", "--port", str(self.port)],
            env={**os.environ, "BEDROCKCTL_CONFIG": str(cfg)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(self.proc.stderr.read().decode() if self.proc.stderr else "serve exited")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def schema() -> Iterator[tuple[str, Store]]:
    name = f"jobs_{uuid.uuid4().hex[:12]}"
    store = Store(str(PG_URL), schema=name)
    try:
        yield name, store
    finally:
        with store.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        store.close()


def _wait(what: Any, timeout: float = 120.0) -> Any:
    """Poll ``what()`` until it is truthy (a relative sleep: the test's time is not measured, only waited for)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def _pid(run: Run) -> int:
    return int(run.holder.split(":")[1])


def test_two_replicas_run_each_job_once_and_hand_over(
    tmp_path: Path, schema: tuple[str, Store], samples: SampleSet, sandbox_env: Any
) -> None:
    name, store = schema
    jobs = JobStore(store.engine)
    cfg = _config(tmp_path, name, samples)
    replicas = [Replica(cfg), Replica(cfg)]
    try:
        _wait(lambda: all(r.ready() for r in replicas))

        def done(job: str) -> list[Run]:
            return [r for r in jobs.runs(job, limit=None) if r.status != "running"]

        _wait(lambda: all(len(done(job)) >= 4 for job in JOBS))
        before = {job: done(job) for job in JOBS}
        for job, runs in before.items():
            slots = [r.slot for r in runs]
            assert len(slots) == len(set(slots)), (job, slots)  # never two runs of one slot
            assert {r.status for r in runs} == {OK}, [(r.status, r.error) for r in runs]
        ingests = sorted(before["ingest"], key=lambda r: r.slot or 0)
        assert ingests[0].figures["new_invocations"] == 6  # the first run ingested the samples...
        assert all(r.figures["units_read"] == 0 for r in ingests[1:])  # ...and no later one read them again

        leader = max(before["budgets"], key=lambda r: r.slot or 0)
        victim = next(r for r in replicas if r.proc.pid == _pid(leader))
        survivor = next(r for r in replicas if r is not victim)
        killed_at = time.time()
        victim.proc.kill()  # SIGKILL: no shutdown, no lease released
        victim.proc.wait()

        def after_kill(job: str) -> list[Run]:
            return [r for r in done(job) if r.started_at > killed_at]

        _wait(lambda: all(after_kill(job) for job in JOBS))
        holders = {job: sorted({_pid(r) for r in runs}) for job, runs in before.items()}
        print(f"runs before the kill per job: { {j: len(r) for j, r in before.items()} }, holders {holders}")
        for job in JOBS:
            runs = jobs.runs(job, limit=None)
            prev = max((r.slot or 0) for r in runs if r.started_at <= killed_at)
            later = after_kill(job)
            first = min((r.slot or 0) for r in later)
            assert {_pid(r) for r in later} == {survivor.proc.pid}
            # the slot after the kill's, or the one after it when the victim held the lease (lease = interval)
            assert first <= int(killed_at // INTERVAL) + 2, (job, prev, first, killed_at)
            started = min(r.started_at for r in later)
            print(f"{job}: last slot before the kill {prev}, first after {first}, {started - killed_at:.2f} s later")
            slots = [r.slot for r in runs]
            assert len(slots) == len(set(slots))
            assert {r.status for r in runs} <= {OK, ABANDONED, "running"}
        assert survivor.ready()
    finally:
        for r in replicas:
            r.stop()
