"""``kill -9`` of ``bedrockctl serve`` under concurrent load, then a restart: every call a client saw succeed (200)
is in the audit, ``used`` of the budget equals the audit's sum, and no reservation stays stranded -- with one worker
on SQLite, and with four workers on PostgreSQL, where the dead node's reservations are given back by another node
once their lease runs out (``gateway.worker_lease_seconds``, small here) and its journal is replayed when it comes
back.

The gateway is killed as a whole process group (the supervisor and its workers, as an OOM kill of the container
does). Leases are long (``lease_idle_seconds``) and the flush slow, so that at the kill each worker holds part of
the budget and has answered calls whose records are only in its journal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bedrockctl.server.gateway.counters import SqlCounters
from bedrockctl.store import Store
from bedrockctl.store.audit import query
from bedrockctl.store.keys import KeyStore
from bedrockctl.store.leases import held
from ports import spawn_listening

from .test_policy import month_window
from .test_postgres import outside_month_end

PG_URL = os.environ.get("BEDROCKCTL_TEST_PG_URL")
SECRET = "crash-test-master-secret"
LEASE_SECONDS = 1.5
CHAT = {"model": "anthropic.claude-3-haiku-20240307-v1:0", "messages": [{"role": "user", "content": "hi"}]}


def _config(path: Path, store_url: str, data_dir: Path, schema: str | None) -> Path:
    path.write_text(f"""
[aws]
region = "us-east-1"
retry_attempts = 1

[store]
url = "{store_url}"
data_dir = "{data_dir}"

[environments.prod]
monthly_budget_usd = 1000.0

[gateway]
master_secret = "{SECRET}"
{f'store_schema = "{schema}"' if schema else ""}
ledger = false
flush_interval = 0.5
lease_idle_seconds = 60
lease_fraction = 0.05
worker_lease_seconds = {LEASE_SECONDS}
key_cache_ttl = 5
default_max_tokens = 20
""")
    return path


class Serve:
    def __init__(self, cfg: Path, workers: int) -> None:
        self.proc, self.port = spawn_listening(
            lambda port: [
                *(sys.executable, "-m", "bedrockctl.cli.main", "serve", "--workers", str(workers)),
                *("--port", str(port)),
            ],
            env={**os.environ, "BEDROCKCTL_CONFIG": str(cfg)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: kill -9 takes the workers too
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read().decode() if self.proc.stderr else "serve exited")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("bedrockctl serve did not become ready")
            time.sleep(0.2)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(60)


class Load:
    """``threads`` clients posting chat completions in a loop; keeps the request id of every 200."""

    def __init__(self, url: str, token: str, threads: int) -> None:
        self.ok: list[str] = []
        self.failed = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(url, token), daemon=True) for _ in range(threads)]
        for t in self._threads:
            t.start()

    def _run(self, url: str, token: str) -> None:
        with httpx.Client(timeout=30, headers={"authorization": f"Bearer {token}"}) as client:
            while not self._stop.is_set():
                try:
                    r = client.post(url + "/v1/chat/completions", json=CHAT)
                except httpx.HTTPError:
                    with self._lock:
                        self.failed += 1
                    time.sleep(0.01)
                    continue
                with self._lock:
                    if r.status_code == 200:
                        self.ok.append(r.headers["x-request-id"])
                    else:
                        self.failed += 1

    def wait_for(self, n: int) -> None:
        deadline = time.monotonic() + 120
        while len(self.ok) < n:
            assert time.monotonic() < deadline, f"only {len(self.ok)} calls succeeded"
            time.sleep(0.02)

    def stop(self) -> list[str]:
        self._stop.set()
        for t in self._threads:
            t.join(60)
        return list(self.ok)


def _state(engine: Any, window: str) -> tuple[int, int, int, set[str]]:
    """(used, reserved, audit cost sum, audited request ids) of the prod budget."""
    rows = list(query(engine, limit=None))
    values = SqlCounters(engine).read([("budget:env:prod", window)])
    used, reserved, _cap = values.get(("budget:env:prod", window), (0, 0, 0))
    return used, reserved, sum(r.cost_nusd for r in rows), {r.request_id for r in rows}


def _poll(engine: Any, window: str, done: Any, what: str, limit: float = 60.0) -> tuple[float, Any]:
    """Poll the store until ``done(state)``; returns (seconds waited, state)."""
    started = time.monotonic()
    while True:
        state = _state(engine, window)
        if done(state):
            return time.monotonic() - started, state
        assert time.monotonic() - started < limit, f"{what}: {state[:3]}"
        time.sleep(0.05)


def _crash_and_recover(tmp_path: Path, store_url: str, schema: str | None, workers: int, engine: Any) -> None:
    node_a = tmp_path / "node-a"
    node_b = tmp_path / "node-b"
    cfg_a = _config(tmp_path / "a.toml", store_url, node_a, schema)
    key = KeyStore(engine, SECRET.encode()).create(user="ana", team="ml", environment="prod")
    window = month_window(outside_month_end())
    # with several workers, a second node (its own data directory) runs beside the first: it gives the dead node's
    # reservations back once their lease has run out
    other = Serve(_config(tmp_path / "b.toml", store_url, node_b, schema), 1) if workers > 1 else None
    try:
        gw = Serve(cfg_a, workers)
        load = Load(gw.url, key["token"], threads=12)
        try:
            load.wait_for(300)
            gw.kill()
            killed_at = time.monotonic()
            used, reserved, audited_cost, audited = _state(engine, window)  # at once: before a lease runs out
        finally:
            ok = load.stop()
            gw.stop()
        missing = [rid for rid in ok if rid not in audited]
        print(
            f"at the kill: {len(ok)} calls answered 200, {len(missing)} of them not in the audit yet; "
            f"reserved {reserved / 1e9:.6f} USD ({100 * reserved / 1e12:.2f}% of the monthly budget)"
        )
        assert reserved > 0  # the dead workers held part of the budget: without leases it would stay stranded
        assert used == audited_cost  # rows and usage are written together
        if other is not None:
            _waited, (used, reserved, audited_cost, _ids) = _poll(
                engine, window, lambda s: s[1] == 0, "reservations of the dead node given back"
            )
            since_kill = time.monotonic() - killed_at
            print(f"reserved back to 0 (given back by the other node) {since_kill:.2f} s after the kill")
            assert used == audited_cost
    finally:
        if other is not None:
            other.stop()

    restarted = Serve(cfg_a, workers)  # the dead node again: replays its journals
    try:
        waited, (used, reserved, audited_cost, audited) = _poll(
            engine, window, lambda s: s[1] == 0 and set(ok) <= s[3], "audit replayed and reservations released"
        )
        print(f"after the restart: all {len(ok)} answered calls audited, reserved 0, within {waited:.2f} s")
        assert used == audited_cost > 0
    finally:
        restarted.stop()
    used, reserved, audited_cost, audited = _state(engine, window)
    assert reserved == 0 and used == audited_cost and set(ok) <= audited
    assert not [rid for rid in ok if rid not in audited]
    assert held(engine) == {}  # every lease given back on the clean stop
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM gateway_workers")).scalar() == 0
        dupes = conn.execute(
            text(
                "SELECT COUNT(*) FROM (SELECT request_id FROM gateway_audit GROUP BY request_id HAVING COUNT(*) > 1) d"
            )
        ).scalar()
    assert dupes == 0  # replays never insert a record twice


def test_kill_9_one_worker_sqlite(sandbox_env: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    store = Store(url)
    try:
        _crash_and_recover(tmp_path, url, None, 1, store.engine)
    finally:
        store.close()


@pytest.mark.skipif(not PG_URL, reason="BEDROCKCTL_TEST_PG_URL is not set (a PostgreSQL URL to test on)")
def test_kill_9_four_workers_postgres(sandbox_env: Any, tmp_path: Path) -> None:
    assert PG_URL is not None
    schema = f"gwcrash_{uuid.uuid4().hex[:12]}"
    store = Store(PG_URL, schema=schema)
    try:
        _crash_and_recover(tmp_path, PG_URL, schema, 4, store.engine)
    finally:
        with store.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        store.close()
