"""Fixtures for the command-line tests: ``bedrockctl`` run in-process against the sandbox, in a workspace of its
own (config file, data directory and store under the test's tmp_path)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import moto.core.base_backend  # noqa: F401 - import moto before the sandbox's warm-up thread does (import race)
import pytest
from typer.testing import CliRunner, Result

import bedrockctl.sandbox.billing  # noqa: F401 - registers the Budgets operations moto lacks (in-process sandbox)

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
CONFIG = """
[aws]
region = "us-east-1"

[environments.dev]
monthly_budget_usd = 100
alert_thresholds = [50, 80]
alert_emails = ["owner@example.com"]

[gateway]
master_secret = "test-master-secret"
"""


@dataclass
class Workspace:
    root: Path
    config: Path
    data: Path
    runner: CliRunner

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        from bedrockctl.cli.app import app

        return self.runner.invoke(app, list(args), input=input, env=env)

    def ok(self, *args: str, input: str | None = None) -> Any:
        """Run with --output json and return the parsed result (the command must succeed)."""
        res = self.run(*args, "--output", "json", input=input)
        assert res.exit_code == 0, (args, res.output)
        return json.loads(res.stdout)

    def invocation_logs(self, n: int = 3) -> Path:
        """A file of ``n`` Bedrock invocation-log records from the last hour (always relative to now)."""
        path = self.root / "invocation-logs.jsonl"
        now = datetime.now(UTC)
        lines = []
        for i in range(n):
            lines.append(
                json.dumps(
                    {
                        "schemaType": "ModelInvocationLog",
                        "schemaVersion": "1.0",
                        "timestamp": (now - timedelta(minutes=10 + i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "accountId": "123456789012",
                        "identity": {"arn": f"arn:aws:sts::123456789012:assumed-role/dev/user{i % 2}@example.com"},
                        "region": "us-east-1",
                        "requestId": f"cli-walk-{i}",
                        "operation": "Converse",
                        "modelId": HAIKU,
                        "input": {"inputTokenCount": 1000 + i, "cacheReadInputTokenCount": 0},
                        "output": {"outputTokenCount": 100 + i},
                        "requestMetadata": {"team": "platform", "environment": "dev"},
                    }
                )
            )
        path.write_text("\n".join(lines) + "\n")
        return path


@pytest.fixture
def workspace(sandbox_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    for name in ("BEDROCKCTL_STORE_URL", "BEDROCKCTL_REGION", "BEDROCKCTL_PROFILE", "BEDROCK_MODEL_ID"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "bedrockctl.toml"
    config.write_text(CONFIG)
    data = tmp_path / "data"
    monkeypatch.setenv("BEDROCKCTL_CONFIG", str(config))
    monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(data))
    monkeypatch.setenv("BEDROCKCTL_USER_PASSWORD", "a long enough password")
    monkeypatch.setenv("COLUMNS", "80")
    yield Workspace(root=tmp_path, config=config, data=data, runner=CliRunner())


def walk_commands() -> list[tuple[str, ...]]:
    """Every runnable command path, read from the click tree (a new command shows up here by itself)."""
    import typer

    from bedrockctl.cli.app import app

    found: list[tuple[str, ...]] = []

    def walk(cmd: Any, path: Sequence[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            if getattr(cmd, "invoke_without_command", False) and path:
                found.append(tuple(path))
            for name in list(subs):
                walk(subs[name], [*path, name])
        else:
            found.append(tuple(path))

    walk(typer.main.get_command(app), [])
    return found
