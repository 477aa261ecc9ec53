"""`bedrockctl demo` end to end, as a newcomer runs it (subprocess, fresh data directory, no AWS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_runs_every_step_offline(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BEDROCK"))}
    env["HOME"] = str(tmp_path / "home")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "bedrockctl.cli.main",
            "demo",
            "--no-serve",
            "--json",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    run = json.loads(res.stdout)
    steps = {s["name"]: s for s in run["steps"]}
    assert all(s["ok"] for s in steps.values()), {n: s["error"] for n, s in steps.items() if not s["ok"]}
    assert list(steps) == ["sandbox", "gateway", "discover", "workload", "ingest", "report", "doctor"]
    inv = steps["discover"]["detail"]
    assert inv["accounts"] == ["123456789012", "210987654321"] and inv["errors"] == 0 and inv["assets"] > 50
    wl = steps["workload"]["detail"]
    assert wl["calls"] > 30 and wl["errors"] == {}
    assert wl["refused_by_budget"] > 0  # the dev budget trips
    assert set(wl["by_protocol"]) == {"boto3-sigv4", "boto3-bearer", "openai"}
    assert steps["ingest"]["detail"]["new_invocations"] >= wl["calls"]
    summary = run["summary"]
    assert {t["team"] for t in summary["teams"]} >= {"platform", "search", "support"}
    assert float(summary["total_cost_usd"]) > 0
    assert summary["doctor"]["summary"]["fail"] == 0
    assert "demo-secret-not-real" not in res.stdout + res.stderr
