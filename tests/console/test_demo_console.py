"""`bedrockctl demo` as a newcomer runs it, then the console in a real browser shows the workload's real numbers."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .test_browser import ARGS, CHROMIUM, pytestmark, sync_playwright  # noqa: F401 - same skips as the browser tests


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BEDROCK"))}
    env["HOME"] = str(tmp / "home")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bedrockctl.cli.main",
            "demo",
            "--json",
            "--port",
            "0",
            "--no-browser",
            "--data-dir",
            str(tmp / "data"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        lines = []
        for line in proc.stdout:  # the run's JSON comes first, then the demo keeps serving
            lines.append(line)
            if line.rstrip() == "}":
                break
        run = json.loads("".join(lines))
        login = None
        for line in proc.stderr:
            m = re.search(r"Console: (\S+)\s+user (\S+)\s+password (\S+)", line)
            if m:
                login = {"url": m.group(1), "user": m.group(2), "password": m.group(3)}
                break
        assert login is not None, "the demo printed no console login"
        yield {"run": run, "login": login, "db": tmp / "data" / "bedrockctl.db"}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _audit_sums(db: Path) -> tuple[dict[str, float], dict[str, int]]:
    with sqlite3.connect(db) as conn:
        spent = {
            env: nusd / 1e9
            for env, nusd in conn.execute("SELECT environment, SUM(cost_nusd) FROM gateway_audit GROUP BY environment")
        }
        calls = dict(
            conn.execute("SELECT user_name, COUNT(*) FROM gateway_audit WHERE status = 'ok' GROUP BY user_name")
        )
    return spent, calls


@pytest.mark.slow
def test_console_shows_the_demo_workload(demo: dict[str, Any]) -> None:
    run, login = demo["run"], demo["login"]
    assert all(s["ok"] for s in run["steps"])
    workload = next(s for s in run["steps"] if s["name"] == "workload")["detail"]
    spent, calls = _audit_sums(demo["db"])
    assert calls == workload["by_user"]  # every successful call of the workload is in the audit trail
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(login["url"] + "/")
        page.fill("#username", login["user"])
        page.fill("#password", login["password"])
        page.click("form.card button[type=submit]")
        page.wait_for_url(login["url"] + "/")
        page.wait_for_selector("#spend-chart[data-drawn]", timeout=15_000)
        shown = {
            row.query_selector("th").inner_text(): float(
                row.query_selector("td[data-spent]").get_attribute("data-spent")
            )
            for row in page.query_selector_all("#spend-table tbody tr")
        }
        assert set(shown) == {"prod", "dev"}
        for env in ("prod", "dev"):
            assert shown[env] == pytest.approx(spent.get(env, 0.0), abs=1e-6)
        assert shown["dev"] > 0 and shown["prod"] > 0
        dev_row = page.inner_text("#spend-table tbody tr:has(th:text-is('dev'))")
        # the dev budget refused calls once the next call's worst case no longer fit, and was never passed (the
        # reservation bounds what a call can bill, so how much of it is spent before refusals start depends on it)
        pct = float(re.search(r"(\d+\.\d)%", dev_row).group(1))  # type: ignore[union-attr]
        assert 0 < pct <= 100 and workload["refused_by_budget"] > 0, dev_row
        users = page.inner_text("#top-users")
        for user in ("alice", "bob", "carol"):
            assert user in users
        browser.close()
