"""The store: migrations on SQLite (WAL) and PostgreSQL (own schema), snapshot semantics of the inventory repo."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import inspect, text

from bedrockctl.store import Store

TABLES = {"inventory_scans", "inventory_assets", "inventory_observations", "inventory_events", "inventory_scan_targets"}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'sub' / 'store.db'}")
        yield s
        s.close()
        return
    url = os.environ.get("BEDROCKCTL_TEST_PG_URL")
    if not url:
        pytest.skip(
            "PostgreSQL store test: set BEDROCKCTL_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    schema = f"t_{uuid.uuid4().hex[:12]}"
    s = Store(url, schema=schema)
    yield s
    with s.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    s.close()


def _asset(i: int, region: str = "us-east-1", **data: object) -> dict:
    return {
        "plugin": "aws_bedrock",
        "account_id": "111111111111",
        "region": region,
        "asset_type": "guardrail",
        "asset_id": f"g{i}",
        "name": f"guard{i}",
        "arn": f"arn:g{i}",
        "data": {"id": f"g{i}", **data},
    }


def _target(region: str = "us-east-1", ok: bool = True) -> dict:
    return {
        "plugin": "aws_bedrock",
        "account_id": "111111111111",
        "region": region,
        "asset_type": "guardrail",
        "ok": ok,
        "asset_count": 0,
        "error_code": None if ok else "REGION_UNREACHABLE",
        "error": None,
    }


def test_migrations_create_tables_once(store):
    assert "0001_inventory" in store.current_revisions()
    assert set(inspect(store.engine).get_table_names()) >= TABLES
    store.migrate()  # idempotent
    assert "0001_inventory" in store.current_revisions()
    if store.dialect == "sqlite":
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    else:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT current_schema()")).scalar() == store.schema


def test_snapshots_track_first_last_seen_removed_and_changes(store):
    repo = store.inventory
    s1 = repo.begin_scan(["aws_bedrock"], ["us-east-1", "eu-west-1"], ["111111111111"])
    r1 = repo.finish_scan(s1, [_asset(1), _asset(2), _asset(3, "eu-west-1")], [_target(), _target("eu-west-1")])
    assert (r1["added"], r1["removed"], r1["status"]) == (3, 0, "complete")
    # scan 2: g2 deleted, g1 changed, eu-west-1 unreachable -> its asset must NOT be marked removed
    s2 = repo.begin_scan(["aws_bedrock"], ["us-east-1", "eu-west-1"], ["111111111111"])
    r2 = repo.finish_scan(s2, [_asset(1, status="FAILED")], [_target(), _target("eu-west-1", ok=False)])
    assert (r2["added"], r2["removed"], r2["changed"], r2["status"]) == (0, 1, 1, "partial")
    current = {a["asset_id"]: a for a in repo.list_assets()}
    assert set(current) == {"g1", "g3"}
    assert current["g1"]["data"]["status"] == "FAILED" and current["g1"]["last_scan_id"] == s2
    assert current["g3"]["last_scan_id"] == s1  # not seen, not removed
    diff = repo.diff()
    assert [r["asset_id"] for r in diff["removed"]] == ["g2"]
    assert diff["changed"][0]["changes"] == {"status": {"before": None, "after": "FAILED"}}
    assert [e["region"] for e in repo.scan_errors(s2)] == ["eu-west-1"]
    # scan 3: g2 is back
    s3 = repo.begin_scan(["aws_bedrock"], ["us-east-1"], ["111111111111"])
    r3 = repo.finish_scan(s3, [_asset(1, status="FAILED"), _asset(2)], [_target()])
    assert (r3["reappeared"], r3["unchanged"]) == (1, 1)
    g2 = repo.get_asset("g2")[0]
    assert g2["removed_at"] is None and [h["kind"] for h in g2["history"]] == ["added", "removed", "reappeared"]
    assert [s["id"] for s in repo.scans()] == [s3, s2, s1]
