"""``bedrockctl policy``: least-privilege documents, tested for real against the sandbox with IAM enforcement on."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import typer
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from bedrockctl.cli import app as cli_app
from bedrockctl.errors import ValidationFailed
from bedrockctl.sandbox.faults import SandboxAdmin
from bedrockctl.services.policy import build_policy
from bedrockctl.services.policy_features import feature_actions

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
TITAN = "amazon.titan-text-express-v1"
SONNET45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
ACCOUNT = "123456789012"


def cli() -> typer.Typer:
    return cli_app.app


def _converse(client: Any, model: str) -> Any:
    return client.converse(
        modelId=model, messages=[{"role": "user", "content": [{"text": "hi"}]}], inferenceConfig={"maxTokens": 1}
    )


def _user_with(boto_client: Callable[..., Any], name: str, document: dict[str, Any]) -> dict[str, str]:
    iam = boto_client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="bedrockctl", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def test_generated_policy_allows_x_and_denies_another_model(
    boto_client: Callable[..., Any], sandbox_admin: SandboxAdmin
) -> None:
    res = CliRunner().invoke(
        cli(),
        ["--region", "us-east-1", "policy", "--features", "invoke,discover", "--model", HAIKU],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    document = json.loads(res.stdout)
    keys = _user_with(boto_client, "app", document)
    sandbox_admin.set_faults({"iam_enforcement": True})
    runtime = boto_client("bedrock-runtime", **keys)
    assert _converse(runtime, HAIKU)["usage"]["outputTokens"] == 1
    with pytest.raises(ClientError) as ei:
        _converse(runtime, TITAN)
    assert ei.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"foundation-model/{TITAN}" in ei.value.response["Error"]["Message"]
    stream = runtime.converse_stream(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert any("messageStop" in event for event in stream["stream"])
    # discover actions are allowed, and nothing else (simulated by the sandbox's IAM)
    sim = boto_client("iam").simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/app",
        ActionNames=[*feature_actions("discover"), "bedrock:CreateGuardrail", "bedrock:InvokeAgent"],
    )
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in sim["EvaluationResults"]}
    assert all(decisions[a] == "allowed" for a in feature_actions("discover")), decisions
    assert decisions["bedrock:CreateGuardrail"] == decisions["bedrock:InvokeAgent"] == "implicitDeny"
    assert boto_client("bedrock", **keys).list_foundation_models()["modelSummaries"]


def test_profile_policy_covers_every_member_region(
    boto_client: Callable[..., Any], sandbox_admin: SandboxAdmin
) -> None:
    profile = f"us.{SONNET45}"
    result = build_policy("invoke", models=[SONNET45], region="us-east-1", account_id=ACCOUNT)
    resources = result.statements[0].resources
    assert f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/{profile}" in resources
    for member in ("us-east-1", "us-east-2", "us-west-1", "us-west-2"):
        assert f"arn:aws:bedrock:{member}::foundation-model/{SONNET45}" in resources
    keys = _user_with(boto_client, "app", result.document)
    sandbox_admin.set_faults({"iam_enforcement": True})
    runtime = boto_client("bedrock-runtime", **keys)
    for _ in range(4):  # the profile routes round-robin over its member Regions: each must be allowed
        _converse(runtime, profile)
    # a policy that only names the profile (not the models it routes to) is denied, as in AWS
    narrow = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "bedrock:InvokeModel",
                "Resource": f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/{profile}",
            }
        ],
    }
    runtime2 = boto_client("bedrock-runtime", **_user_with(boto_client, "narrow", narrow))
    with pytest.raises(ClientError) as ei:
        _converse(runtime2, profile)
    assert "foundation-model/" + SONNET45 in ei.value.response["Error"]["Message"]


def test_conditions_are_enforced(boto_client: Callable[..., Any], sandbox_admin: SandboxAdmin) -> None:
    inside = build_policy(
        "invoke",
        models=[HAIKU],
        region="us-east-1",
        account_id=ACCOUNT,
        source_cidrs=["127.0.0.0/8"],
        require_tags={"team": "search"},
    )
    cond = inside.statements[0].condition
    assert cond == {"StringEquals": {"aws:PrincipalTag/team": "search"}, "IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}
    keys = _user_with(boto_client, "tagged", inside.document)
    sandbox_admin.set_faults({"iam_enforcement": True})
    runtime = boto_client("bedrock-runtime", **keys)
    with pytest.raises(ClientError):  # the user lacks the tag
        _converse(runtime, HAIKU)
    boto_client("iam").tag_user(UserName="tagged", Tags=[{"Key": "team", "Value": "search"}])
    _converse(runtime, HAIKU)
    outside = build_policy(
        "invoke", models=[HAIKU], region="us-east-1", account_id=ACCOUNT, source_cidrs=["10.0.0.0/8"]
    )
    runtime2 = boto_client("bedrock-runtime", **_user_with(boto_client, "remote", outside.document))
    with pytest.raises(ClientError):
        _converse(runtime2, HAIKU)


def test_features_and_explain() -> None:
    result = build_policy(
        "discover,invoke,agents,usage,budgets,sagemaker",
        models=[HAIKU],
        region="eu-west-1",
        account_id=ACCOUNT,
        agent_ids=["AGENT12345"],
        vpc_endpoints=["vpce-0123456789abcdef0"],
    )
    doc = result.document
    actions = {a for s in doc["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {
        "bedrock:InvokeAgent",
        "cloudtrail:LookupEvents",
        "budgets:ViewBudget",
        "sagemaker:InvokeEndpoint",
    } <= actions
    invoke = next(s for s in result.statements if "bedrock:InvokeModel" in s.actions)
    assert invoke.resources == [f"arn:aws:bedrock:eu-west-1::foundation-model/{HAIKU}"]
    agent = next(s for s in result.statements if s.actions == ["bedrock:InvokeAgent"])
    assert agent.resources == [f"arn:aws:bedrock:eu-west-1:{ACCOUNT}:agent-alias/AGENT12345/*"]
    assert all(
        s["Condition"] == {"StringEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}} for s in doc["Statement"]
    )
    assert all(e["reason"] for e in result.explain())
    # a model without on-demand throughput in the Region gets the geography's profile too
    opus = build_policy(
        "invoke", models=["anthropic.claude-3-opus-20240229-v1:0"], region="us-west-2", account_id=ACCOUNT
    ).statements[0]
    assert any("inference-profile/us.anthropic.claude-3-opus" in r for r in opus.resources)
    assert any("on-demand" in why for why in opus.resource_reasons.values())
    with pytest.raises(ValidationFailed):
        build_policy("invoke,teleport")
    with pytest.raises(ValidationFailed):
        build_policy("invoke", source_cidrs=["not-a-cidr"])
    both = build_policy("invoke", source_cidrs=["10.0.0.0/8"], vpc_endpoints=["vpce-0123456789abcdef0"])
    assert any("SourceIp" in w for w in both.warnings)


def test_cli_explain_and_json(sandbox_env: Any) -> None:
    res = CliRunner().invoke(cli(), ["policy", "--features", "invoke", "--model", HAIKU, "--explain"])
    assert res.exit_code == 0, res.output
    assert "invoke " + HAIKU in res.stderr and json.loads(res.stdout)["Statement"]
    res = CliRunner().invoke(cli(), ["policy", "--features", "invoke", "--json", "--account", "111122223333"])
    data = json.loads(res.stdout)
    assert set(data) == {"policy", "explain", "warnings"}
    assert "arn:aws:bedrock:us-east-1:111122223333:inference-profile/*" in data["policy"]["Statement"][0]["Resource"]
    res = CliRunner().invoke(cli(), ["policy", "--features", "nope"])
    assert res.exit_code != 0


def test_prompt_router_policy_names_the_router_and_what_it_routes_to(
    boto_client: Callable[..., Any], sandbox_admin: SandboxAdmin
) -> None:
    router = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:default-prompt-router/meta.llama:1"
    result = build_policy("invoke", models=[router], region="us-east-1", account_id=ACCOUNT)
    resources = result.statements[0].resources
    assert router in resources
    assert "arn:aws:bedrock:*::foundation-model/*" in resources
    assert f"arn:aws:bedrock:*:{ACCOUNT}:inference-profile/*" in resources
    keys = _user_with(boto_client, "router-app", result.document)
    sandbox_admin.set_faults({"iam_enforcement": True})
    answer = _converse(boto_client("bedrock-runtime", **keys), router)
    assert answer["trace"]["promptRouter"]["invokedModelId"]
    with pytest.raises(ClientError) as ei:  # the policy names no other router
        _converse(boto_client("bedrock-runtime", **keys), router.replace("meta.llama", "amazon.nova"))
    assert ei.value.response["Error"]["Code"] == "AccessDeniedException"
