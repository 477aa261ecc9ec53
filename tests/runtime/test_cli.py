"""``bedrockctl invoke / chat / agent`` in a subprocess against the sandbox (AWS_ENDPOINT_URL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
# Runs the real CLI (the console script's entry point).
LAUNCH = "import sys\nfrom bedrockctl.cli.main import main\nmain(sys.argv[1:])\n"


@pytest.fixture
def cli(sandbox_env: Any, tmp_path: Path) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BEDROCK_", "BEDROCKCTL_"))}
    env.update(BEDROCKCTL_DATA_DIR=str(tmp_path / "data"), BEDROCKCTL_CONFIG=str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")

    def run(*args: str, stdin: str = "", extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", LAUNCH, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env={**env, **(extra or {})},
        )

    run.db = tmp_path / "data" / "bedrockctl.db"  # type: ignore[attr-defined]
    return run


def _usage_rows(db: Path) -> list[dict[str, Any]]:
    with create_engine(f"sqlite:///{db}").connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM usage_records ORDER BY id"))]


def test_invoke_json_stdin_tags_and_usage_record(cli: Any) -> None:
    out = cli("invoke", "--model", "claude-3-haiku", "--tag", "team=search", "--json", "-", stdin="hello from stdin")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert "hello from stdin" in doc["text"] and doc["stop_reason"] == "end_turn"
    assert doc["model_served"] == HAIKU and doc["region_served"] == "us-east-1" and doc["tags"] == {"team": "search"}
    rows = _usage_rows(cli.db)
    assert len(rows) == 1 and rows[0]["request_id"] == doc["request_id"]
    assert json.loads(rows[0]["tags_json"]) == {"team": "search"} and float(rows[0]["cost_usd"]) > 0


def test_invoke_stream_verbose_and_env_default_model(cli: Any, tmp_path: Path) -> None:
    img = tmp_path / "dot.png"
    img.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    out = cli("--verbose", "invoke", "--stream", "--image", str(img), "describe", extra={"BEDROCK_MODEL_ID": HAIKU})
    assert out.returncode == 0, out.stderr
    assert 'I received "describe"' in out.stdout
    assert "attempt 1: " + HAIKU + " @ us-east-1 -> ok" in out.stderr


def test_invoke_errors_are_reported_with_codes(cli: Any) -> None:
    out = cli("invoke", "--model", "no-such-model", "hi")
    assert out.returncode == 2 and "BRC-RUN-006" in out.stderr


def test_chat_history_model_switch_usage(cli: Any) -> None:
    script = "first line\n/model claude-3-haiku\nsecond line\n/usage\n/exit\n"
    out = cli("chat", "--model", "nova-micro", stdin=script)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert 'I received "first line"' in lines[0]
    assert lines[1] == "model: claude-3-haiku"
    assert 'I received "second line"' in lines[2]
    assert lines[3].startswith("calls: 2  input: ")
    rows = _usage_rows(cli.db)
    assert [r["base_model"] for r in rows] == ["amazon.nova-micro-v1:0", HAIKU]
    assert rows[1]["input_tokens"] > rows[0]["input_tokens"]  # the history was sent


def test_agent_command(cli: Any, boto_client: Any) -> None:
    agents = boto_client("bedrock-agent")
    agent = agents.create_agent(
        agentName="cli-agent",
        foundationModel=HAIKU,
        agentResourceRoleArn="arn:aws:iam::123456789012:role/agent",
        instruction="You are a helpful agent used by the CLI tests.",
    )["agent"]
    alias = agents.create_agent_alias(agentId=agent["agentId"], agentAliasName="live")["agentAlias"]
    ids = {"BEDROCK_AGENT_ID": agent["agentId"], "BEDROCK_AGENT_ALIAS_ID": alias["agentAliasId"]}
    first = cli("agent", "--trace", "--json", "hello agent", extra=ids)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert "(turn 1)" in doc["text"] and doc["traces"]
    second = cli("agent", "--session-id", doc["session_id"], "again", extra=ids)
    assert "(turn 2)" in second.stdout and f"session id: {doc['session_id']}" in second.stderr
