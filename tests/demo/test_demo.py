"""`bedrockctl demo` end to end, as a newcomer runs it (subprocess, no AWS), and its friendly failures."""

from __future__ import annotations

import ast
import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "bedrockctl"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BEDROCK"))}
    env["HOME"] = str(tmp_path / "home")
    # a user's own Bedrock API key in the shell must not change how the demo authenticates (botocore >= 1.44 would
    # refuse to send it to the plain-HTTP sandbox)
    env["AWS_BEARER_TOKEN_BEDROCK"] = "a-users-own-key-not-for-the-demo"
    return env


def _demo(tmp_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bedrockctl.cli.main", "demo", "--no-serve", "--json", *args],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=timeout,
    )


def _totals(run: dict[str, Any]) -> tuple[Any, ...]:
    s = run["summary"]
    return (
        sorted((u["user"], u["invocations"], u["cost_usd"]) for u in s["users"]),
        sorted((str(t["team"]), t["invocations"], t["cost_usd"]) for t in s["teams"]),
        s["total_cost_usd"],
    )


RUN_FIELDS = ("data_dir", "data_dir_emptied", "gateway", "console")


@pytest.mark.slow
def test_two_demo_runs_in_a_row_print_the_same_figures(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runs = []
    for query in (
        [],
        ["--query", "{" + ", ".join(f"{f}: {f}" for f in ("steps", "summary", "ca_cert", *RUN_FIELDS)) + "}"],
    ):
        res = _demo(tmp_path, "--port", "0", "--data-dir", str(data), *query)
        assert res.returncode == 0, res.stderr[-3000:]
        runs.append(json.loads(res.stdout))
    first, second = runs
    assert set(second) == {"steps", "summary", "ca_cert", *RUN_FIELDS} < set(first)  # --query shaped the result
    assert _totals(first) == _totals(second)  # each run starts from an empty data directory
    for run in runs:
        steps = {s["name"]: s for s in run["steps"]}
        assert list(steps) == ["sandbox", "gateway", "discover", "workload", "ingest", "report", "doctor"]
        assert all(s["ok"] for s in steps.values()), {n: s["error"] for n, s in steps.items() if not s["ok"]}
        assert run["data_dir"] == str(data.resolve()) and run["data_dir_emptied"]
        assert run["gateway"].startswith("https://127.0.0.1:") and run["console"].startswith("http://127.0.0.1:")
        inv = steps["discover"]["detail"]
        assert inv["accounts"] == ["123456789012", "210987654321"] and inv["errors"] == 0 and inv["assets"] > 50
        wl = steps["workload"]["detail"]
        assert wl["errors"] == {} and wl["calls"] > 30  # zero unexpected client errors
        assert wl["refused_by_budget"] > 0 and wl["expected"]["ServiceQuotaExceededException"] > 0  # the dev budget
        assert wl["expected"]["ThrottlingException"] > 0 and wl["failed_over"] > 0  # us-east-1 throttles
        assert set(wl["by_protocol"]) == {"boto3-sigv4", "boto3-bearer", "openai"}  # bearer over HTTPS
        assert steps["ingest"]["detail"]["new_invocations"] >= wl["calls"]
        summary = run["summary"]
        assert {t["team"] for t in summary["teams"]} >= {"platform", "search", "support"}
        assert {u["user"] for u in summary["users"]} >= {"alice", "bob", "carol"}
        # each call counted once: carol (team platform, no seeded history) has exactly her answered calls
        teams = {t["team"]: t["invocations"] for t in summary["teams"]}
        assert teams["platform"] == wl["by_user"]["carol"]
        assert not [u for u in summary["users"] if str(u["user"]).startswith("user/")]
        assert float(summary["total_cost_usd"]) > 0
        assert summary["doctor"]["summary"]["fail"] == 0
        res_text = json.dumps(run)
        assert "demo-secret-not-real" not in res_text and "a-users-own-key" not in res_text
    ca = Path(second["ca_cert"])
    assert ca.parent.parent == data.resolve()
    assert {stat.S_IMODE(p.stat().st_mode) for p in ca.parent.iterdir()} == {0o600}


def test_a_busy_port_names_the_flag_to_change(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for args, flag in ((["--port", str(port)], "--port"), (["--port", "0", "--tls-port", str(port)], "--tls-port")):
            res = _demo(tmp_path, *args, "--data-dir", str(tmp_path / "data"), timeout=60)
            assert res.returncode == 2, res.stderr[-2000:]
            error = json.loads(res.stdout)["error"]
            assert error["code"] == "BRC-DEMO-001" and flag in error["message"] and flag in error["remediation"]
            assert "Errno" not in res.stdout + res.stderr


def test_a_directory_the_demo_did_not_make_is_refused_and_kept(tmp_path: Path) -> None:
    mine = tmp_path / "my-project"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    res = _demo(tmp_path, "--port", "0", "--data-dir", str(mine), timeout=60)
    assert res.returncode == 2
    assert json.loads(res.stdout)["error"]["code"] == "BRC-DEMO-002"
    assert (mine / "notes.txt").read_text() == "keep me"


@pytest.mark.slow
def test_unexpected_client_errors_fail_the_workload_step_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Clients that do not trust the gateway's certificate: every call fails, the step says so and why."""
    from bedrockctl.cli.demo_cmd import _render
    from bedrockctl.demo.runner import Demo
    from bedrockctl.security.tls import ensure_local_tls

    before = dict(os.environ)
    said: list[str] = []
    demo = Demo(port=0, data_dir=tmp_path / "data", say=said.append)
    try:
        demo.prepare()
        demo.start_sandbox()
        demo.start_server()
        demo.tls = ensure_local_tls(tmp_path / "another-ca")  # the clients trust a CA that signed nothing here
        demo.workload()
        demo.ingest()
        run = demo.finish()
    finally:
        demo.close()
    assert dict(os.environ) == before  # the demo steers its clients without touching the environment
    assert said[0] == f"starting from an empty demo data directory: {(tmp_path / 'data').resolve()}"
    workload = next(s for s in run.steps if s.name == "workload")
    assert not workload.ok and workload.error.startswith("BRC-DEMO-003")
    assert "SSLError" in workload.error and "APIConnectionError" in workload.error
    assert workload.detail["calls"] == 0 and sum(workload.detail["errors"].values()) == 58
    _render(run)
    shown = capsys.readouterr().out
    assert "UNEXPECTED: SSLError" in shown and "NO" in shown
    assert "{" not in shown  # figures in tables, no raw dicts


def test_services_do_not_import_the_demo_the_sandbox_or_the_server_for_it() -> None:
    offenders = []
    for path in (SRC / "services").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(("bedrockctl.demo", "bedrockctl.sandbox"))]
    assert offenders == []
    assert not (SRC / "services" / "demo.py").exists() and not (SRC / "services" / "demo_gateway.py").exists()
