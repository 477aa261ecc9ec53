"""Region faults for every service, query-protocol Action routing, caller identity, expired credentials."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from bedrockctl.sandbox import faults, server
from bedrockctl.sandbox.core import ROUTER
from bedrockctl.sandbox.dispatch import ACTIONS

ACCOUNT = "123456789012"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "hello"}]}]
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def _error(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as exc:
        call()
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


# -- 2. a Region that is down is down, for every service --------------------------------------------------------
REGIONAL_CALLS = [
    ("bedrock", lambda c: c.list_foundation_models(), "ServiceUnavailableException"),  # ours, rest-json
    ("bedrock", lambda c: c.list_custom_models(), "ServiceUnavailableException"),  # moto's Bedrock
    ("bedrock-agent", lambda c: c.list_agents(), "ServiceUnavailableException"),
    ("cloudtrail", lambda c: c.lookup_events(), "ServiceUnavailableException"),  # ours, awsJson
    ("cloudtrail", lambda c: c.describe_trails(), "ServiceUnavailableException"),  # moto, awsJson
    ("sagemaker", lambda c: c.list_endpoints(), "ServiceUnavailableException"),
    ("logs", lambda c: c.describe_log_groups(), "ServiceUnavailableException"),
    ("cloudwatch", lambda c: c.list_metrics(), "ServiceUnavailableException"),  # Smithy RPC v2 CBOR
    ("sts", lambda c: c.get_caller_identity(), "ServiceUnavailable"),  # awsQuery
    ("s3", lambda c: c.list_objects_v2(Bucket="any-bucket"), "ServiceUnavailable"),  # rest-xml
]


@pytest.mark.parametrize(
    ("service", "call", "code"), REGIONAL_CALLS, ids=[f"{s}-{i}" for i, (s, _, _) in enumerate(REGIONAL_CALLS)]
)
def test_unavailable_region_applies_to_every_service(
    boto_client: Any, sandbox_admin: Any, service: str, call: Any, code: str
) -> None:
    sandbox_admin.set_faults({"unavailable": ["us-west-2"]})
    kwargs = {"config": Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"})}
    assert _error(lambda: call(boto_client(service, "us-west-2", **kwargs))) == (code, 503)
    if service != "s3":  # the other Regions still answer
        call(boto_client(service, "eu-west-1", **kwargs))


def test_hanging_region_hangs_control_planes_too(boto_client: Any, sandbox_admin: Any) -> None:
    sandbox_admin.set_faults({"hang": ["us-west-2"], "hang_seconds": 5})
    cfg = Config(read_timeout=1, connect_timeout=1, retries={"total_max_attempts": 1})
    for service, call in (("sagemaker", lambda c: c.list_endpoints()), ("bedrock", lambda c: c.list_guardrails())):
        with pytest.raises(ReadTimeoutError):  # held past the 1 s read timeout (no wall-clock bound: CI is shared)
            call(boto_client(service, "us-west-2", config=cfg))
    assert boto_client("sagemaker", "us-east-1").list_endpoints()["Endpoints"] == []


def test_model_faults_stay_on_runtime_routes(boto_client: Any, sandbox_admin: Any) -> None:
    sandbox_admin.set_faults({"throttle": [{"rate": 1.0}], "not_ready": [{"model": HAIKU}]})
    assert boto_client("bedrock").get_foundation_model(modelIdentifier=HAIKU)["modelDetails"]["modelId"] == HAIKU
    assert _error(lambda: boto_client("bedrock-runtime").converse(modelId=HAIKU, messages=MESSAGES))[1] == 429


# -- 3. Action routing for query-protocol services -------------------------------------------------------------
def test_iam_actions_are_matched_at_dispatch_and_the_rest_reaches_the_one_moto(boto_client: Any) -> None:
    assert "bedrockctl.sandbox.iam_sim" in server.HANDLER_PACKAGES
    assert "iam_enforcement" in faults.KNOWN_KEYS and "expired_keys" in faults.KNOWN_KEYS
    assert ACTIONS.match("iam", "SimulatePrincipalPolicy") is not None
    assert ACTIONS.match("iam", "CreateUser") is None
    assert ROUTER.match("iam", "POST", "/") is None  # no catch-all route forwarding to a second moto
    iam = boto_client("iam")
    user = iam.create_user(UserName="carol")["User"]  # moto, through the dispatcher's own moto app
    iam.put_user_policy(
        UserName="carol",
        PolicyName="invoke",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}],
            }
        ),
    )
    results = iam.simulate_principal_policy(
        PolicySourceArn=user["Arn"], ActionNames=["bedrock:InvokeModel", "bedrock:InvokeAgent"]
    )["EvaluationResults"]
    assert [r["EvalDecision"] for r in results] == ["allowed", "implicitDeny"]
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["carol"]


def test_invoke_agent_is_enforced(boto_client: Any, sandbox_admin: Any) -> None:
    agent_id = boto_client("bedrock-agent").create_agent(
        agentName="helper",
        foundationModel=HAIKU,
        agentResourceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/AmazonBedrockExecutionRoleForAgents_helper",
    )["agent"]["agentId"]
    iam = boto_client("iam")
    iam.create_user(UserName="dave")
    key = iam.create_access_key(UserName="dave")["AccessKey"]
    creds = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    agents = boto_client("bedrock-agent-runtime", **creds)

    def invoke() -> str:
        resp = agents.invoke_agent(agentId=agent_id, agentAliasId="TSTALIASID", sessionId="s-1", inputText="hi")
        return b"".join(e["chunk"]["bytes"] for e in resp["completion"] if "chunk" in e).decode()

    assert invoke()  # enforcement off
    sandbox_admin.set_faults({"iam_enforcement": True})
    alias_arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/{agent_id}/TSTALIASID"
    with pytest.raises(ClientError) as exc:
        invoke()
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"bedrock:InvokeAgent on resource: {alias_arn}" in exc.value.response["Error"]["Message"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeAgent", "Resource": alias_arn}],
    }
    iam.put_user_policy(UserName="dave", PolicyName="agent", PolicyDocument=json.dumps(policy))
    assert invoke()


# -- 5. one caller identity everywhere ---------------------------------------------------------------------------
def test_default_caller_is_the_iam_user_moto_everywhere(boto_client: Any) -> None:
    ident = boto_client("sts").get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/moto" and ident["Account"] == ACCOUNT
    boto_client("bedrock-runtime").converse(modelId=HAIKU, messages=MESSAGES)
    event = json.loads(boto_client("cloudtrail").lookup_events()["Events"][0]["CloudTrailEvent"])
    assert event["userIdentity"]["arn"] == ident["Arn"]
    assert event["userIdentity"]["principalId"] == ident["UserId"]


def test_caller_identity_of_users_and_roles(boto_client: Any) -> None:
    iam = boto_client("iam")
    arn = iam.create_user(UserName="erin")["User"]["Arn"]
    key = iam.create_access_key(UserName="erin")["AccessKey"]
    sts = boto_client("sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"] == arn
    iam.create_role(RoleName="reader", AssumeRolePolicyDocument=TRUST)
    creds = boto_client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/reader", RoleSessionName="s1")
    c = creds["Credentials"]
    role_sts = boto_client(
        "sts",
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
    )
    ident = role_sts.get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/s1"
    assert ident["UserId"] == creds["AssumedRoleUser"]["AssumedRoleId"]


# -- 6. expired temporary credentials ----------------------------------------------------------------------------
def _assumed(boto_client: Any) -> dict[str, str]:
    boto_client("iam").create_role(RoleName="worker", AssumeRolePolicyDocument=TRUST)
    c = boto_client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/worker", RoleSessionName="worker-session")[
        "Credentials"
    ]
    return {
        "aws_access_key_id": c["AccessKeyId"],
        "aws_secret_access_key": c["SecretAccessKey"],
        "aws_session_token": c["SessionToken"],
    }


def test_expire_key_knob(boto_client: Any, sandbox_admin: Any) -> None:
    creds = _assumed(boto_client)
    bedrock, sts = boto_client("bedrock", **creds), boto_client("sts", **creds)
    assert bedrock.list_guardrails()["guardrails"] == []
    sandbox_admin.expire_key(creds["aws_access_key_id"])
    assert sandbox_admin.get_faults()["expired_keys"] == [creds["aws_access_key_id"]]
    assert _error(bedrock.list_guardrails) == ("ExpiredTokenException", 403)
    assert _error(lambda: boto_client("bedrock-runtime", **creds).converse(modelId=HAIKU, messages=MESSAGES)) == (
        "ExpiredTokenException",
        403,
    )
    assert _error(sts.get_caller_identity) == ("ExpiredToken", 400)
    assert _error(boto_client("sagemaker", **creds).list_endpoints)[0] == "ExpiredTokenException"
    assert boto_client("bedrock").list_guardrails()["guardrails"] == []  # other keys are fine
    with pytest.raises(Exception, match="400"):
        sandbox_admin.set_faults({"expired_keys": "not-a-list"})


def test_credentials_expire_when_sts_expiration_passes(boto_client: Any) -> None:
    from moto.sts.models import sts_backends

    creds = _assumed(boto_client)
    bedrock = boto_client("bedrock", **creds)
    assert bedrock.list_guardrails()["guardrails"] == []
    role = sts_backends[ACCOUNT]["aws"].get_assumed_role_from_access_key(creds["aws_access_key_id"])
    role.expiration = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)  # the clock moved on
    assert _error(bedrock.list_guardrails) == ("ExpiredTokenException", 403)
