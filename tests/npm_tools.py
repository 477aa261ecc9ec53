"""npm packages the tests run (real clients and servers on Node): installed from the npm registry into
``.cache/<name>/<key>/`` (ignored by git) once per package set, under a lock for xdist workers. The test is skipped,
with the reason, when node or npm is missing or the registry cannot be reached."""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLAUDE_CODE = "@anthropic-ai/claude-code@2.1.197"


def npm_install(name: str, packages: Sequence[str], *, what: str) -> Path:
    """The folder whose ``node_modules`` holds ``packages`` (``name@version`` each); ``what`` names them in skips."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip(f"node and npm are needed to run {what}")
    key = hashlib.sha256(json.dumps(sorted(packages)).encode()).hexdigest()[:12]
    target = ROOT / ".cache" / name / key
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "installed").exists():
            (target / "package.json").write_text('{"private": true}')
            cmd = [npm, "install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error", *packages]
            try:
                done = subprocess.run(cmd, cwd=target, capture_output=True, text=True, timeout=600, check=False)
            except subprocess.TimeoutExpired:
                pytest.skip(f"npm install of {what} timed out")
            if done.returncode != 0:
                pytest.skip(f"npm install of {what} failed: {done.stderr.strip()[-300:]}")
            (target / "installed").write_text("\n".join(packages))
    return target


def claude_code_bin() -> Path:
    return npm_install("claude-code", [CLAUDE_CODE], what="Claude Code") / "node_modules" / ".bin" / "claude"
