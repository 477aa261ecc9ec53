"""Policy guards (``--require-guardrail``, ``--bearer-token-type``, ``--profile-region``), each checked in the
sandbox's IAM enforcement: allowed when the condition is met, denied when not."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from bedrockctl.cli import app as cli_app
from bedrockctl.errors import ValidationFailed
from bedrockctl.sandbox.faults import SandboxAdmin
from bedrockctl.services.policy import build_policy
from bedrockctl.services.policy_guards import InvokeGuards

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
ACCOUNT = "123456789012"
MESSAGES = [{"role": "user", "content": [{"text": "hi"}]}]


def _user_with(boto_client: Callable[..., Any], name: str, document: dict[str, Any]) -> dict[str, str]:
    iam = boto_client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="bedrockctl", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def _denied(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as ei:
        call()
    assert ei.value.response["Error"]["Code"] == "AccessDeniedException"
    return str(ei.value.response["Error"]["Message"])


def _guardrail(boto_client: Callable[..., Any]) -> tuple[str, str]:
    bedrock = boto_client("bedrock")
    created = bedrock.create_guardrail(
        name="required",
        blockedInputMessaging="blocked",
        blockedOutputsMessaging="blocked",
        wordPolicyConfig={"wordsConfig": [{"text": "forbidden"}]},
    )
    version = bedrock.create_guardrail_version(guardrailIdentifier=created["guardrailId"])["version"]
    return created["guardrailArn"], version


def test_required_guardrail_allows_only_calls_that_apply_it(
    boto_client: Callable[..., Any], sandbox_admin: SandboxAdmin
) -> None:
    arn, version = _guardrail(boto_client)
    guards = InvokeGuards.parse(f"{arn}:{version}")
    result = build_policy("invoke", models=[HAIKU], region="us-east-1", account_id=ACCOUNT, guards=guards)
    sids = {s.sid: s for s in result.statements}
    assert sids["BedrockctlDenyWithoutGuardrail"].effect == "Deny"
    assert sids["BedrockctlApplyGuardrail"].resources == [arn]
    runtime = boto_client("bedrock-runtime", **_user_with(boto_client, "guarded", result.document))
    sandbox_admin.set_faults({"iam_enforcement": True})

    message = _denied(lambda: runtime.converse(modelId=HAIKU, messages=MESSAGES))
    assert "explicit deny" in message
    config = {"guardrailIdentifier": arn, "guardrailVersion": version}
    assert runtime.converse(modelId=HAIKU, messages=MESSAGES, guardrailConfig=config)["output"]
    # by id as well as by ARN (Bedrock authorises the ARN the id names)
    by_id = {"guardrailIdentifier": arn.rsplit("/", 1)[1], "guardrailVersion": version}
    assert runtime.converse(modelId=HAIKU, messages=MESSAGES, guardrailConfig=by_id)["output"]
    _denied(
        lambda: runtime.converse(
            modelId=HAIKU, messages=MESSAGES, guardrailConfig={"guardrailIdentifier": arn, "guardrailVersion": "DRAFT"}
        )
    )
    body = json.dumps(
        {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    )
    assert runtime.invoke_model(modelId=HAIKU, body=body, guardrailIdentifier=arn, guardrailVersion=version)["body"]
    _denied(lambda: runtime.invoke_model(modelId=HAIKU, body=body))


def _short_term_token(keys: dict[str, str], region: str = "us-east-1") -> str:
    """A short-term Bedrock API key as AWS's token generator makes it: a presigned CallWithBearerToken URL."""
    request = AWSRequest(
        method="POST",
        url="https://bedrock.amazonaws.com/",
        headers={"host": "bedrock.amazonaws.com"},
        params={"Action": "CallWithBearerToken"},
    )
    creds = Credentials(keys["aws_access_key_id"], keys["aws_secret_access_key"])
    SigV4QueryAuth(creds, "bedrock", region, expires=43200).add_auth(request)
    url = request.url.replace("https://", "") + "&Version=1"
    return "bedrock-api-key-" + base64.b64encode(url.encode()).decode()


def _bearer_converse(endpoint: str, token: str) -> int:
    resp = httpx.post(
        f"{endpoint}/model/{HAIKU}/converse",
        headers={"Authorization": f"Bearer {token}", "Host": "bedrock-runtime.us-east-1.amazonaws.com"},
        json={"messages": MESSAGES, "inferenceConfig": {"maxTokens": 1}},
        timeout=10,
    )
    return resp.status_code


def test_bearer_token_types(boto_client: Callable[..., Any], sandbox_admin: SandboxAdmin, sandbox_env: Any) -> None:
    endpoint = sandbox_env.endpoint_url
    short_only = build_policy(
        "invoke",
        models=[HAIKU],
        region="us-east-1",
        account_id=ACCOUNT,
        guards=InvokeGuards.parse(None, ["short-term"]),
    )
    stmt = next(s for s in short_only.statements if s.sid == "BedrockctlApiKeys")
    assert stmt.condition == {"StringEquals": {"bedrock:bearerTokenType": "SHORT_TERM"}}
    keys = _user_with(boto_client, "keyholder", short_only.document)
    iam = boto_client("iam")
    long_term = iam.create_service_specific_credential(UserName="keyholder", ServiceName="bedrock.amazonaws.com")
    api_key = long_term["ServiceSpecificCredential"]["ServiceCredentialSecret"]
    assert api_key.startswith("ABSK")
    listed = iam.list_service_specific_credentials(UserName="keyholder", ServiceName="bedrock.amazonaws.com")
    assert [c["UserName"] for c in listed["ServiceSpecificCredentials"]] == ["keyholder"]
    sandbox_admin.set_faults({"iam_enforcement": True})

    assert _bearer_converse(endpoint, _short_term_token(keys)) == 200
    assert _bearer_converse(endpoint, api_key) == 403  # long-term keys are not allowed by this policy
    # the same user with long-term keys allowed instead
    both = build_policy(
        "invoke",
        models=[HAIKU],
        region="us-east-1",
        account_id=ACCOUNT,
        guards=InvokeGuards.parse(None, ["long-term"]),
    )
    iam.put_user_policy(UserName="keyholder", PolicyName="bedrockctl", PolicyDocument=json.dumps(both.document))
    assert _bearer_converse(endpoint, api_key) == 200
    assert _bearer_converse(endpoint, _short_term_token(keys)) == 403
    # none: every API key is refused, SigV4 still works
    none = build_policy(
        "invoke", models=[HAIKU], region="us-east-1", account_id=ACCOUNT, guards=InvokeGuards.parse(None, ["none"])
    )
    iam.put_user_policy(UserName="keyholder", PolicyName="bedrockctl", PolicyDocument=json.dumps(none.document))
    assert _bearer_converse(endpoint, api_key) == 403
    assert boto_client("bedrock-runtime", **keys).converse(modelId=HAIKU, messages=MESSAGES)["output"]


def test_profile_region_fence(boto_client: Callable[..., Any], sandbox_admin: SandboxAdmin) -> None:
    profile = f"us.{SONNET45}"
    fenced = build_policy(
        "invoke",
        models=[profile, HAIKU],
        region="us-east-1",
        account_id=ACCOUNT,
        guards=InvokeGuards.parse(profile_regions=["us-east-1"]),
    )
    cond = fenced.statements[0].condition["StringLikeIfExists"]["bedrock:InferenceProfileArn"]
    assert f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/*" in cond
    keys = _user_with(boto_client, "fenced", fenced.document)
    elsewhere = build_policy(
        "invoke",
        models=[profile, HAIKU],
        region="us-east-1",
        account_id=ACCOUNT,
        guards=InvokeGuards.parse(profile_regions=["us-west-2"]),
    )
    other = _user_with(boto_client, "elsewhere", elsewhere.document)
    sandbox_admin.set_faults({"iam_enforcement": True})
    assert boto_client("bedrock-runtime", **keys).converse(modelId=profile, messages=MESSAGES)["output"]
    message = _denied(lambda: boto_client("bedrock-runtime", **other).converse(modelId=profile, messages=MESSAGES))
    assert f"foundation-model/{SONNET45}" in message
    # a direct call carries no profile: the fence does not apply to it
    assert boto_client("bedrock-runtime", **other).converse(modelId=HAIKU, messages=MESSAGES)["output"]


def test_guard_options_are_validated_and_on_the_cli() -> None:
    with pytest.raises(ValidationFailed):
        InvokeGuards.parse("arn:aws:bedrock:us-east-1:123456789012:guardrail/abc")  # no version
    with pytest.raises(ValidationFailed):
        InvokeGuards.parse(None, ["forever"])
    with pytest.raises(ValidationFailed):
        InvokeGuards.parse(None, ["none", "short-term"])
    with pytest.raises(ValidationFailed):
        InvokeGuards.parse(None, (), ["mars-1"])
    guardrail = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:guardrail/abc123def456:1"
    res = CliRunner().invoke(
        cli_app.app,
        [
            "--region",
            "us-east-1",
            "policy",
            "--features",
            "invoke",
            "--model",
            HAIKU,
            "--account",
            ACCOUNT,
            "--require-guardrail",
            guardrail,
            "--bearer-token-type",
            "short-term",
            "--profile-region",
            "us-east-1",
            "--output",
            "json",
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    statements = {s["Sid"]: s for s in json.loads(res.stdout)["policy"]["Statement"]}
    assert statements["BedrockctlInvoke"]["Condition"]["StringEquals"] == {"bedrock:GuardrailIdentifier": guardrail}
    assert statements["BedrockctlDenyWithoutGuardrail"]["Effect"] == "Deny"
    assert statements["BedrockctlApiKeys"]["Condition"]["StringEquals"] == {"bedrock:bearerTokenType": "SHORT_TERM"}
    bad = CliRunner().invoke(
        cli_app.app, ["policy", "--features", "invoke", "--require-guardrail", "nope", "--output", "json"]
    )
    assert bad.exit_code != 0
    assert json.loads(bad.stdout)["error"]["code"] == ValidationFailed.code
