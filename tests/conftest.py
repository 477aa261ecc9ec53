"""Shared pytest configuration: the offline AWS sandbox fixtures, the sample records, and a summary of the
skipped tests with the command that would run them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bedrockctl.samples import SampleSet, write_samples

pytest_plugins = ["bedrockctl.sandbox.testing"]

# what a skip reason asks for -> the environment that provides it (the values ./scripts/test detects by itself)
_PROVIDES = (
    ("BEDROCKCTL_TEST_PG_URL", "BEDROCKCTL_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test"),
    ("BEDROCKCTL_TEST_REDIS_URL", "BEDROCKCTL_TEST_REDIS_URL=redis://127.0.0.1:6379/0"),
    ("chromium", "BEDROCKCTL_CHROMIUM=$(command -v chromium)"),
)


# The AWS SDK for JavaScript v3 (tests/sandbox/test_js_sdk.py, test_http2.py; tests/gateway/test_http2.py)
JS_SDK_PACKAGES = {
    "@aws-sdk/client-bedrock": "3.1178.0",
    "@aws-sdk/client-bedrock-agent": "3.1138.0",
    "@aws-sdk/client-bedrock-runtime": "3.1178.0",
}
JS_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture(scope="session")
def js_sdk() -> Path:
    """``node_modules`` with the pinned SDK packages (installed on first use, under a lock for xdist)."""
    from npm_tools import npm_install

    specs = [f"{name}@{version}" for name, version in JS_SDK_PACKAGES.items()]
    return npm_install("js-sdk", specs, what="the AWS SDK for JavaScript v3") / "node_modules"


@pytest.fixture
def js_runtime(js_sdk: Path, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """``run(doc, env=None)``: Converse then ConverseStream with the JavaScript SDK's runtime client on its default
    (HTTP/2) handler (tests/sandbox/js/runtime_stream.cjs documents ``doc``); returns what the script printed."""
    script = Path(__file__).with_name("sandbox") / "js" / "runtime_stream.cjs"

    def run(doc: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, Any]:
        request = tmp_path / "runtime-input.json"
        request.write_text(json.dumps({"region": "us-east-1", "modelId": JS_MODEL, **doc}))
        done = subprocess.run(
            [str(shutil.which("node")), str(script), str(request)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "NODE_PATH": str(js_sdk), **(env or {})},
            check=False,
        )
        assert done.returncode == 0, done.stderr
        out: dict[str, Any] = json.loads(done.stdout)
        return out

    return run


@pytest.fixture
def samples(tmp_path: Path) -> SampleSet:
    """The packaged sample records (``bedrockctl.samples``) written to a temporary folder, re-dated to end
    yesterday: expected dates come from ``samples.day("2026-11-21")``, ``samples.month`` and so on."""
    return write_samples(tmp_path / "samples")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    groups: dict[str, list[str]] = defaultdict(list)
    for rep in terminalreporter.stats.get("skipped", []):
        if isinstance(rep.longrepr, tuple) and len(rep.longrepr) == 3:
            groups[str(rep.longrepr[2]).removeprefix("Skipped: ")].append(rep.nodeid)
    if not groups:
        return
    terminalreporter.section("skipped tests, and how to run them")
    for reason, nodeids in sorted(groups.items()):
        env = " ".join(value for needle, value in _PROVIDES if needle in reason)
        files = sorted({n.split("::")[0] for n in nodeids})
        terminalreporter.write_line(f"{len(nodeids)} skipped: {reason}")
        terminalreporter.write_line(f"    run them: {(env + ' ') if env else ''}./scripts/test {' '.join(files)}")


@pytest.fixture
def invocation_log_reader(boto_client: Callable[..., Any]) -> Callable[[], list[dict[str, Any]]]:
    """Invocation logging to CloudWatch Logs in the sandbox; returns a reader of the log records, oldest first."""
    group = "/bedrock/billing"
    boto_client("logs").create_log_group(logGroupName=group)
    boto_client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={
            "cloudWatchConfig": {"logGroupName": group, "roleArn": "arn:aws:iam::123456789012:role/logs"},
            "textDataDeliveryEnabled": False,
        }
    )

    def read() -> list[dict[str, Any]]:
        events = boto_client("logs").filter_log_events(logGroupName=group)["events"]
        return [json.loads(e["message"]) for e in events]

    return read
