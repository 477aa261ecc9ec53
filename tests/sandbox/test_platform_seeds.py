"""The demo seed: a believable two-account, three-region estate, ready quickly."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from bedrockctl.sandbox.seeds import DEV, EXTERNAL_ID, PROD, REGIONS
from bedrockctl.sandbox.server import Sandbox


@pytest.fixture
def demo(sandbox):
    """A demo-seeded sandbox (moto state is per process: leave it empty for the next test)."""
    sb = Sandbox(port=0, seed="demo").start()
    try:
        yield sb
    finally:
        sb.stop()
        sandbox.reset(reseed=False)


def _client(sb, service, region="us-east-1", **creds):
    creds = creds or {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "testing"}
    return boto3.client(service, region_name=region, endpoint_url=sb.endpoint_url, **creds)


def test_demo_estate(demo):
    assert demo.seed_skipped == []
    assert demo.ready_seconds is not None and demo.ready_cpu_seconds is not None  # see test_readiness.py
    iam = _client(demo, "iam")
    assert {u["UserName"] for u in iam.list_users()["Users"]} == {"alice", "bob"}
    roles = {r["RoleName"]: r for r in iam.list_roles()["Roles"]}
    assert {"ci-runner", "bedrock-logging", "AWSReservedSSO_Developer_0a1b2c3d4e5f6a7b"} <= set(roles)
    assert roles["AWSReservedSSO_Developer_0a1b2c3d4e5f6a7b"]["Path"] == "/aws-reserved/sso.amazonaws.com/"
    trail = _client(demo, "cloudtrail")
    assert trail.get_trail_status(Name="org-trail")["IsLogging"] is True
    for region in REGIONS:
        br = _client(demo, "bedrock", region)
        cfg = br.get_model_invocation_logging_configuration()["loggingConfig"]
        assert cfg["s3Config"]["bucketName"] == f"bedrock-invocation-logs-{PROD}-{region}"
        profiles = br.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]
        assert len(profiles) == 2
        tags = br.list_tags_for_resource(resourceARN=profiles[0]["inferenceProfileArn"])["tags"]
        assert {"key": "team", "value": profiles[0]["inferenceProfileName"].split("-")[0]} in tags
        assert len(br.list_guardrails()["guardrails"]) == 1
    br = _client(demo, "bedrock")
    pts = br.list_provisioned_model_throughputs()["provisionedModelSummaries"]
    assert sorted(p["provisionedModelName"] for p in pts) == ["idle-pt", "search-pt"]
    assert [m["modelName"] for m in br.list_custom_models()["modelSummaries"]] == ["support-tone-haiku"]
    assert [m["modelName"] for m in br.list_imported_models()["modelSummaries"]] == ["ranker-llama-3-8b"]
    agent = _client(demo, "bedrock-agent")
    agents = agent.list_agents()["agentSummaries"]
    assert [a["agentName"] for a in agents] == ["support-assistant"]
    aliases = agent.list_agent_aliases(agentId=agents[0]["agentId"])["agentAliasSummaries"]
    assert sorted(a["agentAliasName"] for a in aliases) == ["AgentTestAlias", "live"]  # AWS adds the test alias
    sm = _client(demo, "sagemaker")
    assert sorted(e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]) == ["chat-ranker", "legacy-classifier"]
    assert len(sm.list_model_packages(ModelPackageGroupName="ranker-models")["ModelPackageSummaryList"]) == 2
    assert len(sm.list_training_jobs()["TrainingJobSummaries"]) == 1
    # usage history: three Converse calls by alice
    events = trail.lookup_events()["Events"]
    assert [e["Username"] for e in events] == ["alice"] * 3
    assert json.loads(events[0]["CloudTrailEvent"])["userIdentity"]["arn"] == f"arn:aws:iam::{PROD}:user/alice"
    logs = _client(demo, "logs").filter_log_events(logGroupName="/aws/bedrock/modelinvocations")["events"]
    assert len(logs) == 3


def test_demo_cross_account_role_requires_external_id(demo):
    iam = _client(demo, "iam")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    sts = _client(demo, "sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    role_arn = f"arn:aws:iam::{DEV}:role/bedrock-cross-account"
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="inventory")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="inventory", ExternalId=EXTERNAL_ID)["Credentials"]
    dev = {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }
    assert _client(demo, "sts", **dev).get_caller_identity()["Account"] == DEV
    profiles = _client(demo, "bedrock", "eu-west-1", **dev).list_inference_profiles(typeEquals="APPLICATION")
    tags = _client(demo, "bedrock", "eu-west-1", **dev).list_tags_for_resource(
        resourceARN=profiles["inferenceProfileSummaries"][0]["inferenceProfileArn"]
    )["tags"]
    assert {"key": "env", "value": "dev"} in tags
    assert {u["UserName"] for u in _client(demo, "iam", **dev).list_users()["Users"]} == {"alice", "bob"}


def test_reset_reapplies_the_seed_quickly(demo):
    import time

    _client(demo, "iam").create_user(UserName="temporary")
    _client(demo, "bedrock").create_guardrail(
        name="temporary", blockedInputMessaging="no", blockedOutputsMessaging="no"
    )
    started, started_cpu = time.perf_counter(), time.process_time()
    demo.reset()  # warm process: the in-process seed takes ~0.05 s of CPU; the budget is 2 s
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    assert cpu < 0.5 and wall < 2.0, (wall, cpu)
    assert {u["UserName"] for u in _client(demo, "iam").list_users()["Users"]} == {"alice", "bob"}
    assert [g["name"] for g in _client(demo, "bedrock").list_guardrails()["guardrails"]] == ["pii-and-topics"]
    assert len(_client(demo, "cloudtrail").lookup_events()["Events"]) == 3  # the seed's usage, once


def test_startup_faults_hit_clients_not_the_seed(sandbox):
    with Sandbox(seed="demo", faults={"unavailable": ["us-east-1"]}) as sb:
        try:
            assert sb.seed_skipped == []
            with pytest.raises(ClientError) as exc:
                _client(sb, "bedrock").list_guardrails()
            assert exc.value.response["Error"]["Code"] == "ServiceUnavailableException"
            assert len(_client(sb, "bedrock", "eu-west-1").list_guardrails()["guardrails"]) == 1
        finally:
            sandbox.reset(reseed=False)


def test_unknown_seed_is_rejected():
    with pytest.raises(ValueError, match="unknown seed"):
        Sandbox(seed="prod")
