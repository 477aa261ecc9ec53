"""Claude Code itself, in ``-p`` mode, through the gateway with the settings ``keys create --for claude-code``
prints: with the bearer token, and with the key's SigV4 pair instead (Claude Code from npm: ``tests/npm_tools.py``)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from npm_tools import claude_code_bin

from .test_cli import _cli, _config

QUIET = {  # no telemetry, updates or other traffic: the machine reaches only the gateway
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
}


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    return claude_code_bin()


def _claude(claude_bin: Path, env: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    home.mkdir(parents=True, exist_ok=True)
    full = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), **QUIET, **env}
    return subprocess.run(
        [str(claude_bin), "-p", "Reply with one word."], env=full, capture_output=True, text=True, timeout=180
    )


def _audit(tmp: Path) -> list[dict[str, Any]]:
    rows = json.loads(_cli(tmp, "audit", "list", "--json").stdout)
    return rows if isinstance(rows, list) else rows["records"]


@pytest.mark.skipif(
    "faketime" in os.environ.get("LD_PRELOAD", ""),
    reason="under libfaketime the in-process gateway and sandbox keep a shifted clock that Claude Code (run without "
    "it) does not share, and its requests stall; the pinned and latest runs cover this test (a served gateway under "
    "faketime answers Claude Code: checked by hand)",
)
def test_claude_code_print_mode_through_the_gateway(start_gateway: Any, tmp_path: Path, claude_bin: Path) -> None:
    gw = start_gateway()
    _config(tmp_path)
    created = json.loads(
        _cli(tmp_path, "keys", "create", "--user", "ana", "--team", "ml", "--env", "dev", "--for", "claude-code",
             "--gateway-url", gw.url, "--json").stdout
    )  # fmt: skip
    settings = created["claude_code"]["env"]
    bearer = _claude(claude_bin, settings, tmp_path / "home-bearer")
    assert bearer.returncode == 0, bearer.stderr[-2000:]
    assert bearer.stdout.strip()
    gw.flush()
    calls = [r for r in _audit(tmp_path) if r.get("key_id") == created["key_id"]]
    assert calls and all(r["status"] == "ok" for r in calls), calls
    assert {r["user_name"] for r in calls} == {"ana"}, calls[0]
    assert any(r["operation"] == "InvokeModelWithResponseStream" for r in calls)

    # the same settings with the key's SigV4 pair instead of the bearer token
    sigv4 = {k: v for k, v in settings.items() if k != "AWS_BEARER_TOKEN_BEDROCK"}
    sigv4["AWS_ACCESS_KEY_ID"] = created["aws_access_key_id"]
    sigv4["AWS_SECRET_ACCESS_KEY"] = created["aws_secret_access_key"]
    signed = _claude(claude_bin, sigv4, tmp_path / "home-sigv4")
    assert signed.returncode == 0, signed.stderr[-2000:]
    gw.flush()
    after = [r for r in _audit(tmp_path) if r.get("key_id") == created["key_id"]]
    assert len(after) > len(calls)
