"""``bedrockctl jobs``: the schedule from [jobs], a job run by hand recorded like a scheduled one, a failed run
reported with its own code and exit status, and a name that is no job refused."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bedrockctl.cli.app import app


def test_jobs_run_by_hand_and_listed(tmp_path: Path) -> None:
    cfg = tmp_path / "bedrockctl.toml"
    cfg.write_text(f"""
[aws]
region = "us-east-1"

[store]
data_dir = "{tmp_path / "data"}"

[environments.dev]
monthly_budget_usd = 10

[jobs]
ingest_interval = 600
ingest_sources = ["{tmp_path / "missing"}"]
budgets_interval = 300
""")
    runner = CliRunner()
    env = {"BEDROCKCTL_CONFIG": str(cfg)}
    ok = runner.invoke(app, ["jobs", "--run", "budgets", "--output", "json"], env=env)
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data["schedule"] == [{"job": "ingest", "interval_s": 600}, {"job": "budgets", "interval_s": 300}]
    assert data["ran"]["status"] == "ok" and data["ran"]["slot"] is None
    assert data["ran"]["figures"] == {"budgets": 1, "tripped": 0, "actions": 0, "released": 0, "ledger": False}

    failed = runner.invoke(app, ["jobs", "--run", "ingest", "--output", "json"], env=env)
    assert failed.exit_code == 1
    error = json.loads(failed.stdout)["error"]
    assert error["code"] == "BRC-JOB-004" and "no such file or directory" in error["details"]["run"]["error"]

    listed = json.loads(runner.invoke(app, ["jobs", "--output", "json"], env=env).stdout)
    assert [(r["job"], r["status"]) for r in listed["runs"]] == [("ingest", "failed"), ("budgets", "ok")]
    only = json.loads(runner.invoke(app, ["jobs", "--job", "budgets", "--output", "json"], env=env).stdout)
    assert [r["job"] for r in only["runs"]] == ["budgets"]

    unknown = runner.invoke(app, ["jobs", "--run", "teleport", "--output", "json"], env=env)
    assert unknown.exit_code == 2 and json.loads(unknown.stdout)["error"]["code"] == "BRC-JOB-002"
