"""``bedrockctl sandbox --seed demo`` as a real subprocess: ready (listening, seeded) in under 2 s."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import boto3
import pytest

LISTENING = re.compile(
    r"listening on (?P<url>http://[\d.]+:\d+) \(seed=demo, ready in (?P<secs>[\d.]+)s, cpu (?P<cpu>[\d.]+)s\)"
)
BUDGET_SECONDS = 2.0


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env.update(AWS_EC2_METADATA_DISABLED="true", NO_PROXY="127.0.0.1,localhost")
    return env


@pytest.fixture
def cli_sandbox() -> Any:
    code = "import sys; from bedrockctl.cli.main import main; sys.argv[0] = 'bedrockctl'; sys.exit(main())"
    cmd = [sys.executable, "-c", code, "sandbox", "--seed", "demo", "--port", "0"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if LISTENING.search(line):
                found.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert found.wait(60), "no listening line:\n" + "".join(lines)
        yield LISTENING.search("".join(lines)), time.perf_counter() - started
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _overloaded() -> bool:
    """More runnable work than cores (other test workers, other jobs): wall time then measures the machine."""
    return os.getloadavg()[0] > (os.cpu_count() or 1) * 1.5


def test_cli_sandbox_demo_is_ready_in_under_two_seconds(cli_sandbox: Any) -> None:
    match, wall = cli_sandbox
    ready, cpu = float(match.group("secs")), float(match.group("cpu"))
    detail = f"ready in {ready:.2f}s, cpu {cpu:.2f}s, process wall time to the line {wall:.2f}s"
    assert 0 < cpu < BUDGET_SECONDS, detail  # the work itself always fits the budget
    if not _overloaded():
        assert ready < BUDGET_SECONDS, detail
    if os.getloadavg()[0] < 1.0:  # an idle machine: from the command's start (interpreter, imports) to the line
        assert wall < BUDGET_SECONDS, detail
    url = match.group("url")
    creds = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "testing"}
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=url, **creds)
    assert {u["UserName"] for u in iam.list_users()["Users"]} == {"alice", "bob"}  # seeded, and moto answers
    bedrock = boto3.client("bedrock", region_name="eu-west-1", endpoint_url=url, **creds)
    assert len(bedrock.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]) == 2
