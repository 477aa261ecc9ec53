"""The one Region rule (``bedrockctl.aws.regions``): an unknown Region, or one without Amazon Bedrock, is
BRC-REG-001 (exit 2) in every command that takes a Region, found before any network call; ``discover`` skips it
with one line."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
import typer

from bedrockctl.aws.regions import bedrock_regions, check_region, region_problem
from bedrockctl.errors import UnsupportedRegion

from .conftest import Workspace, walk_commands
from .test_every_command import CASES

UNKNOWN = "xx-fake-1"
NO_BEDROCK = "ap-east-1"  # a Region botocore knows, without Amazon Bedrock
COMMANDS = walk_commands()


def _command(path: tuple[str, ...]) -> Any:
    from bedrockctl.cli.app import app

    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


def _takes(path: tuple[str, ...], option: str) -> bool:
    return any(option in getattr(p, "opts", ()) for p in _command(path).params)


OWN_REGION = [p for p in COMMANDS if _takes(p, "--region")]


def _error(res: Any) -> dict[str, Any]:
    assert res.exit_code == 2, res.output
    error: dict[str, Any] = json.loads(res.stdout)["error"]
    return error


def test_region_data_is_botocores() -> None:
    session = botocore.session.get_session()
    for partition in session.get_available_partitions():
        assert bedrock_regions(partition) == tuple(sorted(session.get_available_regions("bedrock", partition)))
    assert NO_BEDROCK in session.get_available_regions("ec2") and NO_BEDROCK not in bedrock_regions()
    assert region_problem("us-east-1") is None and region_problem(NO_BEDROCK, "sts") is None
    with pytest.raises(UnsupportedRegion) as caught:
        check_region(NO_BEDROCK, "bedrock-runtime", source="env:AWS_REGION")
    assert "env:AWS_REGION" in caught.value.message and caught.value.details["suggested_region"] in bedrock_regions()


@pytest.mark.parametrize("region", [UNKNOWN, NO_BEDROCK])
@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_global_region_is_checked_in_every_command(path: tuple[str, ...], region: str, workspace: Workspace) -> None:
    """``bedrockctl --region R COMMAND``: the error comes from parsing, in the format asked for after the command."""
    res = workspace.run("--region", region, *path, *CASES[path].args, "--output", "json")
    error = _error(res)
    assert error["code"] == "BRC-REG-001" and region in error["message"] and "--region" in error["message"]
    assert "--region" in error["remediation"]


@pytest.mark.parametrize("region", [UNKNOWN, NO_BEDROCK])
@pytest.mark.parametrize("path", OWN_REGION, ids=" ".join)
def test_command_region_option_is_checked(path: tuple[str, ...], region: str, workspace: Workspace) -> None:
    res = workspace.run(*path, *CASES[path].args, "--region", region, "--output", "json")
    assert _error(res)["code"] == "BRC-REG-001", (path, res.output)


def test_commands_with_a_region_option_are_walked() -> None:
    assert {("doctor",), ("models",), ("policy",), ("pricing", "show"), ("inventory", "list")} <= set(OWN_REGION)


def test_configured_region_is_checked_before_calling(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Region from the environment or the config file meets the same rule when the first client is built."""
    for region in (UNKNOWN, NO_BEDROCK):
        res = workspace.run("invoke", *CASES[("invoke",)].args, "--output", "json", env={"AWS_REGION": region})
        assert res.exit_code == 2, res.output
        assert json.loads(res.stdout)["error"]["code"] == "BRC-REG-001"
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    workspace.config.write_text(f'[aws]\nregion = "{NO_BEDROCK}"\n')
    res = workspace.run("invoke", *CASES[("invoke",)].args, "--output", "json")
    assert json.loads(res.stdout)["error"]["code"] == "BRC-REG-001", res.output


def test_inventory_idle_regions_are_checked(workspace: Workspace) -> None:
    res = workspace.run("inventory", "idle", "--regions", f"us-east-1,{NO_BEDROCK}", "--output", "json")
    assert _error(res)["code"] == "BRC-REG-001"


def test_discover_skips_a_bad_region_with_one_line(workspace: Workspace) -> None:
    res = workspace.run(
        "discover", "--plugins", "aws_bedrock", "--asset-types", "guardrail", "--regions",
        f"us-east-1,{UNKNOWN},{NO_BEDROCK}", "--output", "json",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    assert rep["regions"] == ["us-east-1"] and set(rep["skipped_regions"]) == {UNKNOWN, NO_BEDROCK}
    lines = [line for line in res.stderr.splitlines() if line.startswith("skipped region")]
    assert len(lines) == 2 and all("BRC-REG-001" in line for line in lines)
    only_bad = workspace.run("discover", "--plugins", "aws_bedrock", "--regions", NO_BEDROCK, "--output", "json")
    assert only_bad.exit_code == 1 and json.loads(only_bad.stdout)["targets_ok"] == 0
