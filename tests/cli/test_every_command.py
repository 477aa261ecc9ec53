"""Every command, found by walking the click tree, honours ``--output`` and ``--query`` for its result and reports
its errors in the chosen format with the documented exit code (docs/cli.md), against the sandbox."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jmespath
import pytest
import yaml

from .conftest import HAIKU, Workspace, walk_commands

PRICES = Path(__file__).resolve().parents[1] / "pricing" / "data" / "get-products-amazonbedrock.json"
BAD_CONFIG = '[aws\nregion = "us-east-1"\n'  # not TOML


@dataclass
class Case:
    """How to run one command for a result, and how to make it fail.

    ``args`` run after ``setup`` (given the workspace and the sandbox's boto client factory, it returns more
    arguments; ``fresh`` runs it before every run, for commands that use up what it made). ``query`` is a JMESPath
    expression whose value is the same on every run. ``error`` are arguments that fail with ``code`` and ``exit``
    (default: the command with ``fail_args`` under an invalid config file). ``result`` other than "checked" says
    why the command has no result to check (it serves until stopped)."""

    args: list[str] = field(default_factory=list)
    query: str = "keys(@)"
    setup: Callable[[Workspace, Any], list[str]] | None = None
    fresh: bool = False
    input: str | None = None
    exits: tuple[int, ...] = (0,)
    fail_args: list[str] | None = None
    error: list[str] | None = None
    code: str = "BRC-CFG-002"
    exit: int = 3
    result: str = "checked"


def _discovered(ws: Workspace, boto_client: Any) -> list[str]:
    boto_client("bedrock").create_guardrail(
        name="cli-walk",
        blockedInputMessaging="no",
        blockedOutputsMessaging="no",
        contentPolicyConfig={"filtersConfig": [{"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"}]},
    )
    ws.ok("discover", "--plugins", "aws_bedrock", "--asset-types", "guardrail")
    return []


def _first_asset(ws: Workspace, boto_client: Any) -> list[str]:
    _discovered(ws, boto_client)
    return [ws.ok("inventory", "list")["assets"][0]["asset_id"]]


def _ingested(ws: Workspace, boto_client: Any) -> list[str]:
    ws.ok("usage", "ingest", "--invocation-logs", str(ws.invocation_logs()))
    return []


def _bucket(ws: Workspace, boto_client: Any) -> list[str]:
    _ingested(ws, boto_client)
    boto_client("s3").create_bucket(Bucket="cli-walk")
    return []


def _key(ws: Workspace, boto_client: Any) -> list[str]:
    return [ws.ok("keys", "create", "--user", "ana", "--team", "ml", "--env", "dev")["key_id"]]


def _user(ws: Workspace, boto_client: Any) -> list[str]:
    ws.ok("users", "create", "bo")
    return ["bo"]


def _before(setup: Callable[[Workspace, Any], list[str]]) -> Callable[[Workspace, Any], list[str]]:
    """``setup`` for a command that takes no argument from it."""
    return lambda ws, boto_client: setup(ws, boto_client) and []


def _new_name(ws: Workspace, boto_client: Any) -> list[str]:
    return [f"user{len(ws.ok('users', 'list'))}"]


def _agent(ws: Workspace, boto_client: Any) -> list[str]:
    agents = boto_client("bedrock-agent")
    agent = agents.create_agent(
        agentName="cli-walk",
        foundationModel=HAIKU,
        agentResourceRoleArn="arn:aws:iam::123456789012:role/agent",
        instruction="You are a helpful agent used by the CLI tests.",
    )["agent"]
    alias = agents.create_agent_alias(agentId=agent["agentId"], agentAliasName="live")["agentAlias"]
    return ["--agent-id", agent["agentId"], "--agent-alias-id", alias["agentAliasId"]]


USAGE = ["--since", "2000-01-01"]
CASES: dict[tuple[str, ...], Case] = {
    ("demo",): Case(
        result="covered by tests/demo/test_demo.py (runs `demo --no-serve --json` and `--query`: minutes)",
        error=["--port", "70000"],
        code="BRC-CLI-001",
        exit=2,
    ),
    ("whoami",): Case(query="account"),
    ("doctor",): Case(args=["--model", HAIKU, "--timeout", "1"], query="checks[].id", exits=(0, 1, 2)),
    ("policy",): Case(
        args=["--features", "invoke", "--model", HAIKU],
        query="policy.Statement[].Sid",
        error=["--features", "teleport"],
        code="BRC-VAL-001",
        exit=2,
    ),
    ("discover",): Case(
        args=["--plugins", "aws_bedrock", "--asset-types", "guardrail"], query="length(assets)", setup=_discovered
    ),
    ("inventory", "list"): Case(query="assets[].asset_id", setup=_discovered),
    ("inventory", "show"): Case(query="[].asset_id", setup=_first_asset, fail_args=["x"]),
    ("inventory", "diff"): Case(query="added[].asset_id", setup=_discovered),
    ("inventory", "scans"): Case(query="[].status", setup=_discovered),
    ("inventory", "idle"): Case(query="days"),
    ("models",): Case(
        query="models[?model_id=='anthropic.claude-3-haiku-20240307-v1:0'].model_id",
        error=["--region", "us-east-1", "--all-regions"],
        code="BRC-CLI-001",
        exit=2,
    ),
    ("invoke",): Case(args=["--model", HAIKU, "hello"], query="stop_reason"),
    ("chat",): Case(args=["--model", HAIKU], input="hello\n", query="keys(@)"),
    ("agent",): Case(args=["hello agent"], setup=_agent, query="keys(@)"),
    ("usage", "ingest"): Case(
        query="keys(@)",
        setup=lambda ws, _: ["--invocation-logs", str(ws.invocation_logs())],
        fail_args=["--invocation-logs", "x"],
    ),
    ("usage", "report"): Case(args=USAGE, query="rows[].model", setup=_ingested),
    ("usage", "export"): Case(args=["--to", "s3://cli-walk/usage", *USAGE], query="bucket", setup=_bucket),
    ("usage", "publish-metrics"): Case(args=USAGE, query="keys(@)", setup=_ingested),
    ("cost",): Case(args=["--period", "3650d"], query="totals.invocations", setup=_ingested),
    ("cost", "reconcile"): Case(args=["--month", "2026-11"], query="month", setup=_ingested),
    ("budget", "status"): Case(args=["--no-cost-explorer"], query="environments[].environment", setup=_ingested),
    ("budget", "sync"): Case(args=["--dry-run"], query="budgets[].environment"),
    ("budget", "backstop"): Case(args=["--dry-run"], query="budgets[].environment"),
    ("budget", "release"): Case(args=["--dry-run"], query="keys(@)"),
    ("jobs",): Case(
        args=["--run", "budgets"],
        query="runs[0].[job, status]",
        error=["--run", "teleport"],
        code="BRC-JOB-002",
        exit=2,
    ),
    ("pricing", "show"): Case(args=["--model", HAIKU], query="prices[].model_id"),
    ("pricing", "update"): Case(args=["--from-file", str(PRICES)], query="prices"),
    ("serve",): Case(
        result="serves until stopped: no result data", error=["--port", "70000"], code="BRC-CLI-001", exit=2
    ),
    ("audit", "list"): Case(query="length(@)"),
    ("audit", "export"): Case(query="length(@)"),
    ("keys", "create"): Case(args=["--user", "ana", "--team", "ml", "--env", "dev"], query="[user, team]"),
    ("keys", "list"): Case(query="[].user", setup=_before(_key)),
    ("keys", "revoke"): Case(query="state", setup=_key, fresh=True, fail_args=["BGKNOTAKEY"]),
    ("users", "create"): Case(query="[role, team]", setup=_new_name, fresh=True, fail_args=["ana"]),
    ("users", "list"): Case(query="[].username", setup=_before(_user)),
    ("users", "passwd"): Case(query="username", setup=_user, fail_args=["bo"]),
    ("users", "set"): Case(args=["--team", "search"], query="team", setup=_user, fail_args=["bo"]),
    ("users", "delete"): Case(args=["--yes"], query="deleted", setup=_user, fresh=True, fail_args=["bo", "--yes"]),
    ("config", "show"): Case(query='settings."aws.region".value'),
    ("sandbox",): Case(
        result="serves until stopped: no result data", error=["--seed", "nope"], code="BRC-CLI-001", exit=2
    ),
}
COMMANDS = walk_commands()


def test_every_command_has_a_case() -> None:
    assert set(COMMANDS) == set(CASES), "add the new command to CASES (how to run it for a result and an error)"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_result_follows_output_and_query(path: tuple[str, ...], workspace: Workspace, boto_client: Any) -> None:
    case = CASES[path]
    if case.result != "checked":
        pytest.skip(case.result)
    prepared = case.setup(workspace, boto_client) if case.setup and not case.fresh else []

    def run(*output: str) -> Any:
        made = case.setup(workspace, boto_client) if case.setup and case.fresh else prepared
        res = workspace.run(*path, *case.args, *made, *output, input=case.input)
        assert res.exit_code in case.exits, (path, output, res.output)
        return res

    full = json.loads(run("--output", "json").stdout)
    queried = json.loads(run("--output", "json", "--query", case.query).stdout)
    assert queried == jmespath.search(case.query, full) and queried not in (None, [], {}), (path, queried)
    assert yaml.safe_load(run("--output", "yaml", "--query", case.query).stdout) == queried
    text = run("--output", "text", "--query", case.query).stdout
    assert text.strip() and all(line for line in text.splitlines())
    rows = list(csv.reader(io.StringIO(run("--csv", "--query", case.query).stdout)))
    assert len(rows) >= 2  # a header and at least one record


@pytest.mark.parametrize("fmt", ["json", "yaml", "text", "csv"])
@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_error_follows_output(path: tuple[str, ...], fmt: str, workspace: Workspace) -> None:
    case = CASES[path]
    if case.error is None:
        workspace.config.write_text(BAD_CONFIG)
    args = case.error if case.error is not None else (case.fail_args if case.fail_args is not None else case.args)
    res = workspace.run(*path, *args, "--output", fmt)
    assert res.exit_code == case.exit, (path, res.output)
    error = _parse_error(fmt, res.stdout)
    assert error["code"] == case.code and error["message"] and error["remediation"], (path, res.stdout)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_usage_error_follows_output(path: tuple[str, ...], workspace: Workspace) -> None:
    """A bad option is a usage error with a stable code and exit 2, in the format given before or after it."""
    for args in ([*path, "--no-such-option", "--json"], ["--output", "yaml", *path, "--no-such-option"]):
        res = workspace.run(*args)
        assert res.exit_code == 2, (args, res.output)
        error = _parse_error("json" if "--json" in args else "yaml", res.stdout)
        assert error["code"] == "BRC-CLI-001" and "--no-such-option" in error["message"]


def _parse_error(fmt: str, out: str) -> dict[str, Any]:
    if fmt == "json":
        return json.loads(out)["error"]
    if fmt == "yaml":
        return yaml.safe_load(out)["error"]
    if fmt == "csv":
        (row,) = csv.DictReader(io.StringIO(out))
        return row
    (line,) = out.splitlines()
    first, code, _title, message, remediation = line.split("\t")
    assert first == "ERROR"
    return {"code": code, "message": message, "remediation": remediation}
