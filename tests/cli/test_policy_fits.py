"""The policy ``bedrockctl policy --features F`` prints lets F's commands run: every AWS call the commands make
(recorded with botocore's client-side monitoring, ``calls.py``) is an action of F's policy, and the model and agent
calls pass the sandbox's IAM enforcement as an IAM user that holds exactly that policy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .calls import recorder
from .conftest import HAIKU, Workspace

DEMO_REGIONS = "us-east-1,us-west-2"
# feature -> the commands that use it (what the feature's policy must let run)
FEATURE_COMMANDS: dict[str, list[list[str]]] = {
    "discover": [
        ["discover", "--plugins", "aws_bedrock", "--regions", DEMO_REGIONS, "--no-store"],
        ["models"],
        ["inventory", "idle", "--regions", DEMO_REGIONS],
    ],
    "accounts": [
        ["discover", "--plugins", "aws_bedrock", "--asset-types", "guardrail", "--no-store", "--accounts", "org"],
        [
            "discover",
            "--plugins",
            "aws_bedrock",
            "--asset-types",
            "guardrail",
            "--no-store",
            "--accounts",
            "123456789012,210987654321",
            "--role-name",
            "bedrock-cross-account",
            "--external-id",
            "bedrockctl-demo",
        ],
    ],
    "sagemaker": [
        ["discover", "--plugins", "aws_sagemaker", "--regions", DEMO_REGIONS, "--no-store"],
        ["inventory", "idle", "--regions", DEMO_REGIONS],
    ],
    "usage": [["usage", "publish-metrics", "--since", "2000-01-01"], ["cost", "reconcile", "--month", "2026-11"]],
    "budgets": [["budget", "sync"], ["budget", "status"]],
    "pricing": [["pricing", "update"]],
    "doctor": [["doctor", "--features", "discover", "--timeout", "1"]],
}
# the sandbox serves no Price List API: pricing update fails (BRC-CAP-003) after its call is recorded
EXITS = {"pricing": (8,)}
NEEDS = {"inventory idle": {"discover", "sagemaker"}}  # commands that need more than one feature


def boto3_organizations(sandbox: Any) -> Any:
    import boto3

    return boto3.client("organizations", region_name="us-east-1", endpoint_url=sandbox.endpoint_url)


def _policy_actions(workspace: Workspace, *features: str) -> set[str]:
    doc = workspace.ok("policy", "--features", ",".join(features))["policy"]
    return {a for s in doc["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


@pytest.fixture
def demo_estate(workspace: Workspace, sandbox_env: Any) -> Workspace:
    from bedrockctl.sandbox.seeds import seed_demo

    assert not seed_demo(sandbox_env.endpoint_url, app=sandbox_env.app)
    boto3_organizations(sandbox_env).create_organization(FeatureSet="ALL")
    workspace.ok("usage", "ingest", "--invocation-logs", str(workspace.invocation_logs()))
    return workspace


def test_every_feature_has_commands(workspace: Workspace) -> None:
    from bedrockctl.services.policy_features import FEATURE_NAMES

    # invoke, agents: under IAM enforcement below; backstop: its deny and lift are tests/jobs/test_backstop.py's
    assert set(FEATURE_NAMES) == {*FEATURE_COMMANDS, "invoke", "agents", "backstop"}


@pytest.mark.parametrize("feature", FEATURE_COMMANDS)
def test_policy_lists_every_action_the_commands_call(feature: str, demo_estate: Workspace) -> None:
    with recorder() as calls:
        for command in FEATURE_COMMANDS[feature]:
            needs = NEEDS.get(" ".join(command[:2]), {feature} | ({"discover"} if feature == "accounts" else set()))
            res = demo_estate.run(*command, "--output", "json", env=calls.env)
            assert res.exit_code in EXITS.get(command[0], (0, 1)), (command, res.output)
            called = calls.actions()
            assert called, (command, "no AWS call recorded")
            missing = called - _policy_actions(demo_estate, *needs)
            assert not missing, f"`bedrockctl policy --features {','.join(sorted(needs))}` lacks {sorted(missing)}"


def _user(boto_client: Any, policy: dict[str, Any]) -> dict[str, str]:
    iam = boto_client("iam")
    iam.create_user(UserName="fits")
    iam.put_user_policy(UserName="fits", PolicyName="bedrockctl", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="fits")["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def test_invoke_policy_passes_iam_enforcement(workspace: Workspace, boto_client: Any, sandbox_admin: Any) -> None:
    policy = workspace.ok("policy", "--features", "invoke", "--model", HAIKU)["policy"]
    keys = _user(boto_client, policy)
    sandbox_admin.set_faults({"iam_enforcement": True})
    for model in (HAIKU, "claude-3-haiku"):  # the id, and the alias that names it
        res = workspace.run("invoke", "--model", model, "hello", "--output", "json", env=keys)
        assert res.exit_code == 0, res.output
    other = workspace.run("invoke", "--model", "amazon.nova-lite-v1:0", "hello", "--output", "json", env=keys)
    assert json.loads(other.stdout)["error"]["code"] in ("BRC-AUTH-001", "BRC-RUN-002"), other.output  # not in it


def test_agents_policy_passes_iam_enforcement(workspace: Workspace, boto_client: Any, sandbox_admin: Any) -> None:
    from .test_every_command import _agent

    agent_args = _agent(workspace, boto_client)
    policy = workspace.ok("policy", "--features", "agents", "--agent-id", agent_args[1])["policy"]
    keys = _user(boto_client, policy)
    sandbox_admin.set_faults({"iam_enforcement": True})
    res = workspace.run("agent", "hello agent", *agent_args, "--output", "json", env=keys)
    assert res.exit_code == 0, res.output
    refused = workspace.run("agent", "hello", "--agent-id", "OTHERAGENT", "--agent-alias-id", agent_args[3], env=keys)
    assert refused.exit_code != 0


def test_aliases_everywhere_a_model_is_accepted(workspace: Workspace) -> None:
    """One resolver (runtime/resolve.py): an alias names the same model in policy, pricing, doctor and invoke."""
    alias = "claude-3-haiku"
    for command in (["policy", "--features", "invoke", "--model"], ["pricing", "show", "--model"]):
        assert workspace.ok(*command, alias) == workspace.ok(*command, HAIKU), command
    report = json.loads(workspace.run("doctor", "--model", alias, "--timeout", "1", "--output", "json").stdout)
    exists = next(c for c in report["checks"] if c["id"] == "models.exists")
    assert exists["status"] == "pass" and exists["target"] == HAIKU, exists
    assert workspace.ok("invoke", "--model", alias, "hello")["base_model"] == HAIKU
