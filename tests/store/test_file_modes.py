"""Every file bedrockctl writes under its data directory is 0600 and every directory 0700 (``bedrockctl.files``),
checked after a demo-like flow: the store's database, gateway keys and master secret, the console's credentials key,
TLS material, a real ``usage ingest``, the gateway's ledger writes and the budget alert state."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bedrockctl.paths import data_dir, default_store_url
from bedrockctl.settings import Settings, StoreSettings


@pytest.fixture
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default: files would be 0644 unless created private
    yield
    os.umask(old)


def test_data_files_are_0600_and_directories_0700(tmp_path: Path, usual_umask: None) -> None:
    data = tmp_path / "data"
    settings = Settings(store=StoreSettings(data_dir=str(data)))
    assert data_dir(settings) == data

    from bedrockctl.store import Store

    store = Store(default_store_url(settings))  # the database, migrated

    from bedrockctl.server.gateway.keys import KeyStore
    from bedrockctl.server.gateway.options import GatewayOptions, master_secret

    KeyStore(store.engine, master_secret(GatewayOptions.from_settings(settings), settings)).create(
        user="ana", team="ml", environment="dev"
    )
    from bedrockctl.services.envelope import master_key_from_env

    master_key_from_env(settings, env={}).new_data_key()  # creates credentials-master.key
    from bedrockctl.security.tls import ensure_local_tls

    ensure_local_tls(data / "tls")

    now = dt.datetime.now(dt.UTC)
    logs = tmp_path / "logs.jsonl"
    rec = {
        "schemaType": "ModelInvocationLog",
        "timestamp": (now - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "accountId": "111122223333",
        "region": "us-east-1",
        "requestId": "req-1",
        "operation": "Converse",
        "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
        "input": {"inputTokenCount": 10},
        "output": {"outputTokenCount": 2},
    }
    logs.write_text(json.dumps(rec) + "\n")
    res = subprocess.run(
        [sys.executable, "-m", "bedrockctl.cli.main", "usage", "ingest", "--invocation-logs", str(logs)],
        env={**os.environ, "BEDROCKCTL_DATA_DIR": str(data)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr

    from bedrockctl.server.gateway.audit import AuditRecord, ledger_writer

    ledger_writer(settings)(
        [
            AuditRecord(
                ts=time.time(),
                request_id="gw-1",
                key_id="k1",
                user_name="ana",
                team="ml",
                environment="dev",
                protocol="bedrock",
                operation="Converse",
                model_requested="anthropic.claude-3-haiku-20240307-v1:0",
                model_served="anthropic.claude-3-haiku-20240307-v1:0",
                region="us-east-1",
                input_tokens=5,
                output_tokens=1,
                cost_nusd=1000,
                status="ok",
                http_status=200,
                latency_ms=10,
                attempts=1,
                client="test",
            )
        ]
    )
    from bedrockctl.analytics.budgets import AlertState

    state = AlertState(data / "budgets" / "alerts.json")
    state.sent["dev|2026-11|50|webhook"] = "now"
    state.save()

    from bedrockctl.analytics.store import UsageStore

    assert UsageStore.for_settings(settings).has_data()
    store.close()
    files = [p for p in data.rglob("*") if p.is_file()]
    names = {p.relative_to(data).as_posix() for p in files}
    assert {"bedrockctl.db", "gateway-master.key", "credentials-master.key", "tls/ca-key.pem"} <= names
    assert "usage/MANIFEST.json" in names and any(n.endswith(".parquet") for n in names)
    assert "budgets/alerts.json" in names
    loose = {p.relative_to(data).as_posix(): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert {n: m for n, m in loose.items() if m != "0o600"} == {}
    dirs = {p.relative_to(data).as_posix(): oct(stat.S_IMODE(p.stat().st_mode)) for p in data.rglob("*") if p.is_dir()}
    assert {n: m for n, m in dirs.items() if m != "0o700"} == {}
    assert oct(stat.S_IMODE(data.stat().st_mode)) == "0o700"
