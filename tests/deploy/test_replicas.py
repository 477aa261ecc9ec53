"""The fleet the manifests describe, on one machine: three ``bedrockctl serve`` replicas started at the same moment
on one fresh PostgreSQL schema, each with a data directory of its own (an emptyDir), configured the way the
Deployment configures them (store URL and master secret from the environment). They all start (the store's
migration takes turns), a key created once works on every replica (one master secret), a budget holds across them,
and when one is killed the others keep serving and keep refusing past the cap."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bedrockctl.store import Store
from bedrockctl.store.audit import query

from .calls import HAIKU, MESSAGES, converse
from .layout import k8s_object

PG_URL = os.environ.get("BEDROCKCTL_TEST_PG_URL")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="BEDROCKCTL_TEST_PG_URL is not set (a PostgreSQL URL to test on)"),
]
BODY = json.dumps({"messages": MESSAGES, "inferenceConfig": {"maxTokens": 10}}).encode()  # one call, one cost
SECRET = "one-master-secret-for-every-replica"
ROOM = 12  # calls the budgeted key has room for


@dataclass
class Replica:
    proc: subprocess.Popen[bytes]
    url: str


@dataclass
class Fleet:
    replicas: list[Replica]
    env: dict[str, str]
    store: Store


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(replicas: list[Replica]) -> None:
    deadline = time.monotonic() + 90
    waiting = list(replicas)
    while waiting and time.monotonic() < deadline:
        for r in list(waiting):
            if r.proc.poll() is not None:
                err = r.proc.stderr.read().decode() if r.proc.stderr else ""
                raise AssertionError(f"replica {r.url} exited with {r.proc.returncode}:\n{err[-3000:]}")
            try:
                if httpx.get(r.url + "/readyz", timeout=1).status_code == 200:
                    waiting.remove(r)
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    assert not waiting, f"not ready: {[r.url for r in waiting]}"


@pytest.fixture
def fleet(sandbox_env: Any, tmp_path: Path) -> Iterator[Fleet]:
    assert PG_URL
    schema = f"deploy_{uuid.uuid4().hex[:12]}"
    config = tmp_path / "bedrockctl.toml"
    config.write_text(f"""
[aws]
region = "us-east-1"
retry_attempts = 1

[environments.probe]

[gateway]
store_schema = "{schema}"
ledger = false
flush_interval = 0.05
lease_idle_seconds = 0.2
key_cache_ttl = 1
""")
    # as deployment.yaml sets them: the store URL and the master secret from the environment (a Secret)
    env = {**os.environ, "BEDROCKCTL_CONFIG": str(config), "BEDROCKCTL_STORE_URL": PG_URL}
    env["BEDROCKCTL_GATEWAY_SECRET"] = SECRET
    replicas = []
    for i in range(3):
        data = tmp_path / f"replica-{i}"  # each its own scratch directory, like an emptyDir per pod
        data.mkdir()
        port = _port()
        cmd = [sys.executable, "-m", "bedrockctl.cli.serve_cmd", "serve", "--host", "127.0.0.1", "--port", str(port)]
        proc = subprocess.Popen(
            cmd, env={**env, "BEDROCKCTL_DATA_DIR": str(data)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        replicas.append(Replica(proc, f"http://127.0.0.1:{port}"))
    store = Store(PG_URL, schema=schema, migrate=False)
    try:
        yield Fleet(replicas, env, store)
    finally:
        for r in replicas:
            if r.proc.poll() is None:
                r.proc.terminate()
        for r in replicas:
            try:
                r.proc.wait(20)
            except subprocess.TimeoutExpired:
                r.proc.kill()
        with store.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        store.close()


def _create_key(fleet: Fleet, environment: str, monthly_budget_usd: float | None = None) -> dict[str, Any]:
    """What an operator runs once (``kubectl exec deploy/bedrockctl -- bedrockctl keys create ...``)."""
    budget = ["--monthly-budget", repr(monthly_budget_usd)] if monthly_budget_usd else []
    cli = [sys.executable, "-m", "bedrockctl.cli.main", "keys", "create", "--json"]
    done = subprocess.run(
        [*cli, "--user", "ana", "--team", "ml", "--env", environment, *budget],
        env={**fleet.env, "BEDROCKCTL_DATA_DIR": str(Path(fleet.env["BEDROCKCTL_CONFIG"]).parent)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    key: dict[str, Any] = json.loads(done.stdout)
    return key


async def _fire(urls: list[str], token: str, n: int) -> list[httpx.Response]:
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=n)) as client:
        return await asyncio.gather(
            *[
                client.post(f"{urls[i % len(urls)]}/model/{HAIKU}/converse", content=BODY, headers=headers)
                for i in range(n)
            ]
        )


def _key_budget(fleet: Fleet, key_id: str) -> tuple[int, int, int]:
    with fleet.store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT used, reserved, cap FROM gateway_counters WHERE scope LIKE :s AND win LIKE 'm%'"),
            {"s": f"budget:%{key_id}%"},
        ).all()
    assert len(rows) == 1, rows
    used, reserved, cap = rows[0]
    return int(used), int(reserved), int(cap)


def test_a_fleet_starts_together_shares_one_secret_and_holds_one_budget(fleet: Fleet) -> None:
    _wait_ready(fleet.replicas)  # three first starts on an empty schema: none may lose the migration race
    container = k8s_object("Deployment")["spec"]["template"]["spec"]["containers"][0]
    probes = {container[p]["httpGet"]["path"] for p in ("startupProbe", "livenessProbe", "readinessProbe")}
    for r in fleet.replicas:
        for path in probes:
            assert httpx.get(r.url + path, timeout=5).status_code == 200, (r.url, path)
    urls = [r.url for r in fleet.replicas]

    # one key, created once: its SigV4 secret derives from the shared master secret, so every replica accepts it
    probe_key = _create_key(fleet, "probe")
    for url in urls:
        assert converse(url, probe_key)["usage"]["outputTokens"] == 10
    time.sleep(0.5)  # audit rows flushed (flush_interval 0.05 s)
    costs = {row.cost_nusd for row in query(fleet.store.engine, limit=None)}
    assert len(costs) == 1, costs  # the same call costs the same on every replica
    per_call = costs.pop()
    assert per_call > 0

    # a key budget with room for exactly ROOM calls, hit from all three replicas at once
    budget_key = _create_key(fleet, "probe", monthly_budget_usd=(ROOM * per_call + 0.5) / 1e9)
    responses = asyncio.run(_fire(urls, budget_key["token"], 3 * ROOM))
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert 0 < len(ok) <= ROOM
    assert refused and all(r.headers["x-amzn-errortype"].startswith("ServiceQuotaExceededException") for r in refused)
    time.sleep(1.0)  # settlements and idle leases flushed (lease_idle_seconds 0.2 s)
    used, reserved, cap = _key_budget(fleet, budget_key["key_id"])
    assert cap == ROOM * per_call and used == len(ok) * per_call <= cap and reserved == 0

    # one replica dies without warning (a node lost, an OOM kill): the others keep serving and keep the cap
    fleet.replicas[0].proc.send_signal(signal.SIGKILL)
    fleet.replicas[0].proc.wait(10)
    survivors = urls[1:]
    for url in survivors:
        assert httpx.get(url + "/readyz", timeout=5).status_code == 200
        assert converse(url, probe_key)["usage"]["outputTokens"] == 10
    after = asyncio.run(_fire(survivors, budget_key["token"], ROOM))
    ok_after = [r for r in after if r.status_code == 200]
    assert all(r.status_code in (200, 400) for r in after)
    assert len(ok) + len(ok_after) <= ROOM
    time.sleep(1.0)
    used_after, reserved_after, _ = _key_budget(fleet, budget_key["key_id"])
    assert used_after == (len(ok) + len(ok_after)) * per_call <= cap and reserved_after == 0
