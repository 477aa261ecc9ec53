"""iam:SimulatePrincipalPolicy in the sandbox, the evaluation subset, and IAM enforcement of InvokeModel."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrockctl.sandbox.faults import SandboxAdmin
from bedrockctl.sandbox.iam_eval import PolicySource, evaluate

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
TITAN = "amazon.titan-text-express-v1"
FM = "arn:aws:bedrock:us-east-1::foundation-model/"


def _doc(*statements: dict[str, Any]) -> PolicySource:
    return PolicySource("p", "user", {"Version": "2012-10-17", "Statement": list(statements)})


def test_evaluator_subset() -> None:
    allow = {"Effect": "Allow", "Action": "bedrock:Invoke*", "Resource": FM + "anthropic.*"}
    assert evaluate([_doc(allow)], "bedrock:InvokeModel", FM + HAIKU).decision == "allowed"
    assert evaluate([_doc(allow)], "BEDROCK:invokemodel", FM + HAIKU).allowed  # actions ignore case
    assert evaluate([_doc(allow)], "bedrock:InvokeModel", FM + TITAN).decision == "implicitDeny"
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*"}
    assert evaluate([_doc(allow, deny)], "bedrock:InvokeModel", FM + HAIKU).decision == "explicitDeny"
    not_action = {"Effect": "Allow", "NotAction": "iam:*", "NotResource": FM + TITAN}
    assert evaluate([_doc(not_action)], "bedrock:InvokeModel", FM + HAIKU).allowed
    assert not evaluate([_doc(not_action)], "bedrock:InvokeModel", FM + TITAN).allowed
    assert not evaluate([_doc(not_action)], "iam:CreateUser", "*").allowed

    cond = {
        "Effect": "Allow",
        "Action": "bedrock:InvokeModel",
        "Resource": "*",
        "Condition": {
            "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]},
            "StringEquals": {"aws:PrincipalTag/team": "search"},
            "StringLike": {"aws:username": "a*"},
            "Bool": {"aws:SecureTransport": "true"},
        },
    }
    ok = {
        "aws:SourceIp": "10.1.2.3",
        "aws:PrincipalTag/team": "search",
        "aws:username": "alice",
        "aws:SecureTransport": "true",
    }
    assert evaluate([_doc(cond)], "bedrock:InvokeModel", "x", ok).allowed
    for key, bad in (
        ("aws:SourceIp", "8.8.8.8"),
        ("aws:PrincipalTag/team", "ads"),
        ("aws:username", "bob"),
        ("aws:SecureTransport", "false"),
    ):
        assert not evaluate([_doc(cond)], "bedrock:InvokeModel", "x", {**ok, key: bad}).allowed, key
    missing = evaluate([_doc(cond)], "bedrock:InvokeModel", "x", {k: v for k, v in ok.items() if k != "aws:username"})
    assert missing.decision == "implicitDeny" and "aws:username" in missing.missing_context_keys
    negated = {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
    }
    assert evaluate([_doc(negated)], "s3:GetObject", "x", {}).decision == "explicitDeny"  # missing key: true
    assert evaluate([_doc(negated)], "s3:GetObject", "x", {"aws:SourceVpce": "vpce-1"}).decision == "implicitDeny"


def _user(iam: Any, name: str, policy: dict[str, Any] | None) -> dict[str, str]:
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"arn": arn, "aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


INVOKE_HAIKU = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["bedrock:InvokeModel"], "Resource": FM + HAIKU}],
}


def test_simulate_principal_policy(boto_client: Callable[..., Any]) -> None:
    iam = boto_client("iam")
    user = _user(iam, "dev", INVOKE_HAIKU)
    group_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Action": "bedrock:DeleteGuardrail", "Resource": "*"},
            {"Effect": "Allow", "Action": "bedrock:*Guardrail", "Resource": "*"},
        ],
    }
    iam.create_group(GroupName="g")
    iam.put_group_policy(GroupName="g", PolicyName="gp", PolicyDocument=json.dumps(group_policy))
    iam.add_user_to_group(GroupName="g", UserName="dev")
    resp = iam.simulate_principal_policy(
        PolicySourceArn=user["arn"],
        ActionNames=[
            "bedrock:InvokeModel",
            "bedrock:ListFoundationModels",
            "bedrock:GetGuardrail",
            "bedrock:DeleteGuardrail",
        ],
        ResourceArns=[FM + HAIKU],
    )
    got = {r["EvalActionName"]: r for r in resp["EvaluationResults"]}
    assert got["bedrock:InvokeModel"]["EvalDecision"] == "allowed"
    assert got["bedrock:InvokeModel"]["MatchedStatements"][0]["SourcePolicyType"] == "user"
    assert got["bedrock:ListFoundationModels"]["EvalDecision"] == "implicitDeny"
    assert got["bedrock:GetGuardrail"]["EvalDecision"] == "allowed"
    assert got["bedrock:DeleteGuardrail"]["EvalDecision"] == "explicitDeny"
    # managed policies attached to a role count too
    arn = iam.create_policy(PolicyName="m", PolicyDocument=json.dumps(INVOKE_HAIKU))["Policy"]["Arn"]
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    iam.attach_role_policy(RoleName="r", PolicyArn=arn)
    resp = iam.simulate_principal_policy(
        PolicySourceArn=role, ActionNames=["bedrock:InvokeModel"], ResourceArns=[FM + HAIKU, FM + TITAN]
    )
    assert [r["EvalDecision"] for r in resp["EvaluationResults"]] == ["allowed", "implicitDeny"]
    assert resp["EvaluationResults"][0]["MatchedStatements"][0]["SourcePolicyId"] == arn
    with pytest.raises(ClientError) as ei:
        iam.simulate_principal_policy(PolicySourceArn="arn:aws:iam::123456789012:user/ghost", ActionNames=["s3:*"])
    assert ei.value.response["Error"]["Code"] == "NoSuchEntity"
    # other IAM actions still reach moto through the same route
    assert iam.get_user(UserName="dev")["User"]["Arn"] == user["arn"]
    assert {u["UserName"] for u in iam.list_users()["Users"]} == {"dev"}


def test_simulate_custom_policy(boto_client: Callable[..., Any]) -> None:
    resp = boto_client("iam").simulate_custom_policy(
        PolicyInputList=[json.dumps(INVOKE_HAIKU)],
        ActionNames=["bedrock:InvokeModel"],
        ResourceArns=[FM + HAIKU, FM + TITAN],
    )
    assert [r["EvalDecision"] for r in resp["EvaluationResults"]] == ["allowed", "implicitDeny"]


def _converse(client: Any, model: str) -> Any:
    return client.converse(
        modelId=model, messages=[{"role": "user", "content": [{"text": "hi"}]}], inferenceConfig={"maxTokens": 1}
    )


def test_enforcement_denies_invoke_model(boto_client: Callable[..., Any], sandbox_admin: SandboxAdmin) -> None:
    iam = boto_client("iam")
    user = _user(iam, "dev", INVOKE_HAIKU)
    keys = {k: v for k, v in user.items() if k != "arn"}
    runtime = boto_client("bedrock-runtime", **keys)
    _converse(runtime, TITAN)  # enforcement off: everything goes
    sandbox_admin.set_faults({"iam_enforcement": True})
    _converse(runtime, HAIKU)
    with pytest.raises(ClientError) as ei:
        _converse(runtime, TITAN)
    err = ei.value.response
    assert err["Error"]["Code"] == "AccessDeniedException"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err["Error"]["Message"] == (
        f"User: {user['arn']} is not authorized to perform: bedrock:InvokeModel on resource: {FM}{TITAN} "
        "because no identity-based policy allows the bedrock:InvokeModel action"
    )
    # streaming needs its own action
    with pytest.raises(ClientError) as ei:
        runtime.converse_stream(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert "bedrock:InvokeModelWithResponseStream" in ei.value.response["Error"]["Message"]
    # unknown keys (the sandbox's default administrator) are not enforced
    _converse(boto_client("bedrock-runtime"), TITAN)


def test_date_operators_with_the_current_time() -> None:
    deny = {
        "Effect": "Deny",
        "Action": "bedrock:Invoke*",
        "Resource": "*",
        "Condition": {"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}},
    }
    allow = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    before, after = {"aws:CurrentTime": "2026-12-31T23:59:59Z"}, {"aws:CurrentTime": "2027-01-01T00:00:00Z"}
    assert evaluate([_doc(allow, deny)], "bedrock:InvokeModel", "x", before).decision == "explicitDeny"
    assert evaluate([_doc(allow, deny)], "bedrock:InvokeModel", "x", after).allowed  # expired at the window's end
    assert evaluate([_doc(allow, deny)], "bedrock:InvokeModel", "x", {}).allowed  # no current time: not matched
    for op, at, holds in (
        ("DateGreaterThan", "2027-01-01T00:00:01Z", True),
        ("DateGreaterThanEquals", "2027-01-01T00:00:00Z", True),
        ("DateLessThanEquals", "2027-01-01T00:00:00Z", True),
        ("DateEquals", "1798761600", True),  # epoch seconds of 2027-01-01T00:00:00Z
        ("DateNotEquals", "2027-01-01T00:00:00Z", False),
        ("DateLessThan", "not a date", False),
    ):
        stmt = {**deny, "Condition": {op: {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}}
        decision = evaluate([_doc(allow, stmt)], "bedrock:InvokeModel", "x", {"aws:CurrentTime": at})
        assert (decision.decision == "explicitDeny") is holds, op
