"""200 concurrent requests against a budget with room for exactly 50: ``bedrockctl serve --workers 4`` on
PostgreSQL (BEDROCKCTL_TEST_PG_URL), isolated in a schema of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bedrockctl.store import Store
from bedrockctl.store.audit import query
from bedrockctl.store.keys import KeyStore
from ports import spawn_listening

from .test_policy import _cost_of_one_call, check_exact_budget, month_window


def outside_month_end(margin: float = 120.0) -> float:
    """Wait until no month ends within ``margin`` seconds (the server in another process keeps the real clock, so
    its requests must not straddle two monthly windows); return the time to name the window by."""
    while month_window(time.time()) != month_window(time.time() + margin):
        time.sleep(1.0)
    return time.time()


PG_URL = os.environ.get("BEDROCKCTL_TEST_PG_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="BEDROCKCTL_TEST_PG_URL is not set (a PostgreSQL URL to test on)")
SECRET = "pg-test-master-secret"


def _serve(tmp: Path, schema: str, budget_usd: float) -> tuple[subprocess.Popen[bytes], str]:
    cfg = tmp / "bedrockctl.toml"
    cfg.write_text(f"""
[aws]
region = "us-east-1"
retry_attempts = 1

[store]
url = "{PG_URL}"
data_dir = "{tmp}"

[environments.prod]
monthly_budget_usd = {budget_usd!r}

[environments.probe]

[gateway]
master_secret = "{SECRET}"
store_schema = "{schema}"
ledger = false
flush_interval = 0.05
lease_idle_seconds = 0.2
key_cache_ttl = 1
""")
    env = {**os.environ, "BEDROCKCTL_CONFIG": str(cfg)}
    proc, port = spawn_listening(
        lambda port: [sys.executable, "-m", "bedrockctl.cli.serve_cmd", "serve", "--workers", "4", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "serve exited")
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("bedrockctl serve did not become ready")


def test_budget_exact_with_four_workers_on_postgres(start_gateway: Any, tmp_path: Path) -> None:
    per_call = _cost_of_one_call(start_gateway)  # what one call costs (measured through an in-process gateway)
    schema = f"gwtest_{uuid.uuid4().hex[:12]}"
    store = Store(PG_URL, schema=schema)  # migrated here; the server's parent migrates again (no-op)
    key = KeyStore(store.engine, SECRET.encode()).create(user="ana", team="ml", environment="prod")
    proc = None
    try:
        started = time.monotonic()
        proc, url = _serve(tmp_path, schema, (50 * per_call + 0.5) / 1e9)
        print(f"serve ready in {time.monotonic() - started:.1f} s")
        pids = {
            int(line.split('pid="')[1].split('"')[0])
            for _ in range(40)
            for line in httpx.get(url + "/metrics").text.splitlines()
            if 'pid="' in line
        }
        window = month_window(outside_month_end())
        check_exact_budget(url, key["token"], store.engine, 50 * per_call, per_call, window)
        assert len(pids) >= 2  # several workers really answered
        assert len(list(query(store.engine, status="budget_exceeded", limit=None))) > 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(20)
        with store.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        store.close()
