"""``--accounts org`` scans the AWS Organization's accounts; without an organization it says so and exits non-zero
(BRC-RES-003) instead of scanning nothing. The remediation names the way that works: the accounts themselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bedrockctl.errors import OrganizationNotInUse

from .conftest import Workspace

DISCOVER = ["discover", "--plugins", "aws_bedrock", "--asset-types", "guardrail", "--no-store"]


@pytest.mark.parametrize(
    "args",
    [
        [*DISCOVER, "--accounts", "org", "--role-name", "Audit"],
        ["inventory", "idle", "--accounts", "org", "--role-name", "Audit"],
    ],
    ids=["discover", "inventory idle"],
)
def test_org_without_organizations_fails(args: list[str], workspace: Workspace) -> None:
    res = workspace.run(*args, "--output", "json")
    assert res.exit_code == OrganizationNotInUse.exit_code != 0, res.output
    error = json.loads(res.stdout)["error"]
    assert error["code"] == "BRC-RES-003" and "not a member of an organization" in error["message"], error
    assert "--accounts 123456789012,210987654321" in error["remediation"]
    people = workspace.run(*args)
    assert people.exit_code != 0 and "BRC-RES-003" in people.stderr


def test_org_lists_the_organizations_accounts(workspace: Workspace, boto_client: Any) -> None:
    boto_client("organizations").create_organization(FeatureSet="ALL")
    res = workspace.run(*DISCOVER, "--accounts", "org", "--output", "json")
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    assert rep["accounts"] == [boto_client("sts").get_caller_identity()["Account"]] and rep["targets_ok"] == 1


def test_the_demos_scan_command_scans_both_accounts(workspace: Workspace, sandbox_env: Any) -> None:
    """The command the README and the demo's summary show, against the demo estate."""
    from bedrockctl.demo.runner import scan_args
    from bedrockctl.sandbox.seeds import DEV, PROD, seed_demo

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"bedrockctl {' '.join(scan_args())}" in readme
    assert not seed_demo(sandbox_env.endpoint_url, app=sandbox_env.app)
    env = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "testing"}
    res = workspace.run(*scan_args(), "--output", "json", env=env)
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    assert sorted(rep["accounts"]) == sorted([PROD, DEV]) and rep["targets_ok"] == rep["targets"] > 0, rep["errors"]
    assert {a["account_id"] for a in rep["assets"]} == {PROD, DEV}
