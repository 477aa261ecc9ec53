"""Calls made through the gateway are attributed to the key's user, not to the gateway's AWS identity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bedrockctl.analytics.ingest import ingest
from bedrockctl.analytics.reports import duckdb_runner, run_report
from bedrockctl.analytics.store import UsageStore


def _record(n: int, meta: dict[str, str] | None) -> dict[str, object]:
    rec: dict[str, object] = {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": f"2026-11-20T10:00:0{n}Z",
        "accountId": "111122223333",
        "identity": {"arn": "arn:aws:sts::111122223333:assumed-role/gateway/i-0abc"},
        "region": "us-east-1",
        "requestId": f"00000000-0000-4000-8000-00000000000{n}",
        "operation": "Converse",
        "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
        "input": {"inputContentType": "application/json", "inputTokenCount": 100},
        "output": {"outputContentType": "application/json", "outputTokenCount": 10},
    }
    if meta:
        rec["requestMetadata"] = meta
    return rec


@pytest.mark.parametrize("fast", [True, False])
def test_report_by_user_names_the_gateway_user(tmp_path: Path, fast: bool) -> None:
    logs = tmp_path / "logs.jsonl"
    rows = [
        _record(1, {"gateway_user": "alice", "team": "search"}),
        _record(2, {"gateway_user": "alice"}),
        _record(3, {"gateway_user": "bob"}),
        _record(4, None),
    ]
    logs.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    store = UsageStore(tmp_path / "usage")
    ingest(store, [str(logs)], fast=fast, progress=False)
    con = store.connect()
    try:
        report = run_report(duckdb_runner(con), "user", since="2026-11-01", until="2026-12-01")
    finally:
        con.close()
    by_user = {r["user"]: r["invocations"] for r in report.rows}
    assert by_user == {"alice": 2, "bob": 1, "gateway/i-0abc": 1}
    assert report.totals["unique_users"] == 3


def test_report_by_gateway_key_environment_and_principal(tmp_path: Path) -> None:
    logs = tmp_path / "logs.jsonl"
    rows = [
        _record(1, {"gateway_user": "alice", "gateway_key": "BGKAAAA", "environment": "prod"}),
        _record(2, {"gateway_user": "alice", "gateway_key": "BGKBBBB", "environment": "dev"}),
        _record(3, {"gateway_user": "bob", "gateway_key": "BGKBBBB", "environment": "dev"}),
        _record(4, None),
    ]
    logs.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    store = UsageStore(tmp_path / "usage")
    ingest(store, [str(logs)], fast=True, progress=False)
    con = store.connect()
    try:
        by_key = run_report(duckdb_runner(con), "key", since="2026-11-01", until="2026-12-01")
        by_env = run_report(duckdb_runner(con), "environment", since="2026-11-01", until="2026-12-01")
        by_principal = run_report(duckdb_runner(con), "principal", since="2026-11-01", until="2026-12-01")
        by_two = run_report(duckdb_runner(con), "key,environment", since="2026-11-01", until="2026-12-01")
    finally:
        con.close()
    assert {r["key"]: r["invocations"] for r in by_key.rows} == {"BGKAAAA": 1, "BGKBBBB": 2, None: 1}
    # the total counts a user once however many groups they are in (alice: two keys), and the group whose key is
    # NULL is a group, not the total
    assert {r["key"]: r["unique_users"] for r in by_key.rows} == {"BGKAAAA": 1, "BGKBBBB": 2, None: 1}
    assert by_key.totals["unique_users"] == 3 and by_two.totals["unique_users"] == 3
    assert sum(r["invocations"] for r in by_two.rows) == 4 and len(by_two.rows) == 3
    assert {r["environment"]: r["invocations"] for r in by_env.rows} == {"prod": 1, "dev": 2, None: 1}
    assert [r["invocations"] for r in by_principal.rows] == [4]  # all four ran as the gateway's role
