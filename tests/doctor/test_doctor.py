"""``bedrockctl doctor`` against the sandbox: each failure mode is reported by the right check, with evidence and
remediation. Real boto3 clients, real HTTP, real files; DNS answers come from an injected resolver."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bedrockctl.catalog import bedrock_regions
from bedrockctl.sandbox.faults import SandboxAdmin
from bedrockctl.sandbox.server import Sandbox
from bedrockctl.services.doctor import DoctorOptions, Report, run

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def doctor(resolver: Callable[[str], list[str]] | None = None, **kw: Any) -> Report:
    kw.setdefault("network_timeout", 1.0)
    kw.setdefault("deadline", 30.0)
    return run(DoctorOptions(**kw), resolver=resolver or (lambda host: ["127.0.0.1"]), env=dict(os.environ))


def failed(report: Report, check_id: str, target: str | None = None) -> Any:
    check = report.get(check_id, target)
    assert check is not None, [c.id for c in report.checks]
    assert check.status == "fail", check
    assert check.evidence and check.remediation, check
    return check


def test_healthy_sandbox(sandbox_env: Sandbox) -> None:
    report = doctor(models=[HAIKU], invoke=True)
    assert report.failed() == [], [c.to_dict() for c in report.failed()]
    assert report.get("credentials.identity").evidence.startswith("account 123456789012")  # type: ignore[union-attr]
    access = report.get("models.access", HAIKU)
    assert access is not None and access.status == "pass" and access.data["latency_ms"] >= 0
    assert report.get("network.endpoint").evidence.startswith("Custom endpoint in use")  # type: ignore[union-attr]
    assert sandbox_env.endpoint_url in report.get("network.endpoint").evidence  # type: ignore[union-attr]
    assert report.get("observability.invocation_logging").status == "warn"  # type: ignore[union-attr]
    assert report.exit_code == 1
    data = report.to_dict()
    assert data["schema"] == "bedrockctl.doctor/v1" and data["summary"]["fail"] == 0
    json.dumps(data)


def test_no_credentials(sandbox_env: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    report = doctor(models=[HAIKU])
    check = failed(report, "credentials.source")
    assert check.data["error_code"] == "BRC-CRED-001"
    assert "AWS_PROFILE" in check.remediation
    assert report.get("models.exists", HAIKU).status == "skip"  # type: ignore[union-attr]
    assert report.exit_code == 2


def test_expired_session_token(sandbox_env: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "expired-session-token")
    monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", (datetime.now(UTC) - timedelta(minutes=5)).isoformat())
    report = doctor()
    check = failed(report, "credentials.expiry")
    assert "expired" in check.evidence.lower()
    assert failed(report, "credentials.source").data["error_code"] == "BRC-CRED-002"
    assert "expired-session-token" not in json.dumps(report.to_dict())


def test_expired_sso_token_cache(sandbox_env: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from botocore.credentials import SSOProvider
    from botocore.tokens import SSOTokenProvider

    Path(os.environ["AWS_CONFIG_FILE"]).write_text(
        "[profile corp]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Developer\n"
        "region = us-east-1\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = us-east-1\n"
    )
    cache = tmp_path / "sso-cache"
    cache.mkdir()
    monkeypatch.setattr(SSOProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    monkeypatch.setattr(SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    expired = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    name = hashlib.sha1(b"corp").hexdigest() + ".json"  # noqa: S324 - botocore's cache naming
    (cache / name).write_text(
        json.dumps(
            {
                "startUrl": "https://corp.awsapps.com/start",
                "region": "us-east-1",
                "accessToken": "cached-token",
                "expiresAt": expired.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    )
    monkeypatch.setenv("AWS_PROFILE", "corp")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    from bedrockctl.settings import AwsSettings

    report = run(
        DoctorOptions(network_timeout=1.0),
        settings=AwsSettings(profile="corp"),
        resolver=lambda h: ["127.0.0.1"],
        env=dict(os.environ),
    )
    check = failed(report, "credentials.sso")
    assert "aws sso login --profile corp" in check.remediation
    assert check.data["sso_token_expiry"] == expired.isoformat()
    assert report.get("credentials.source").status == "fail"  # type: ignore[union-attr]


def test_wrong_region(sandbox_env: Sandbox) -> None:
    region = next(r for r in ("ap-east-1", "mx-central-1", "me-south-1", "us-west-1") if r not in bedrock_regions())
    report = doctor(region=region, models=[HAIKU])
    check = failed(report, "region.bedrock")
    assert region in check.evidence and "--region" in check.remediation
    failed(report, "models.exists", HAIKU)


def test_model_without_access(sandbox_env: Sandbox, sandbox_admin: SandboxAdmin) -> None:
    sandbox_admin.set_faults({"access_denied": [{"model": HAIKU}]})
    report = doctor(models=[HAIKU], invoke=True)
    check = failed(report, "models.access", HAIKU)
    assert "don't have access to the model" in check.evidence
    assert "Model access" in check.remediation
    assert report.get("models.exists", HAIKU).status == "pass"  # type: ignore[union-attr]


def test_bare_model_id_needs_inference_profile(sandbox_env: Sandbox) -> None:
    report = doctor(models=[SONNET45], invoke=True)
    check = failed(report, "models.on_demand", SONNET45)
    assert check.data["suggested_profile"] == f"us.{SONNET45}"
    assert f"us.{SONNET45}" in check.remediation
    assert "on-demand throughput" in failed(report, "models.access", SONNET45).evidence
    ok = doctor(models=[f"us.{SONNET45}"], invoke=True)
    assert ok.get("models.on_demand", f"us.{SONNET45}").status == "pass"  # type: ignore[union-attr]
    assert ok.get("models.access", f"us.{SONNET45}").status == "pass"  # type: ignore[union-attr]


def test_unknown_agent_alias(sandbox_env: Sandbox, boto_client: Callable[..., Any]) -> None:
    agent = boto_client("bedrock-agent").create_agent(
        agentName="support",
        foundationModel=HAIKU,
        instruction="Help the customer with their order questions.",
        agentResourceRoleArn="arn:aws:iam::123456789012:role/AmazonBedrockExecutionRoleForAgents_support",
    )["agent"]
    report = doctor(agent_id=agent["agentId"], agent_alias_id="NOPE000000")
    assert report.get("agent.exists").status == "pass"  # type: ignore[union-attr]
    check = failed(report, "agent.alias", f"{agent['agentId']}/NOPE000000")
    assert "TSTALIASID" in check.evidence and "create-agent-alias" in check.remediation
    good = doctor(agent_id=agent["agentId"], agent_alias_id="TSTALIASID")
    assert good.get("agent.alias").status in ("pass", "warn")  # type: ignore[union-attr]
    assert good.get("agent.model").status == "pass"  # type: ignore[union-attr]


def _user(boto_client: Callable[..., Any], actions: list[str]) -> None:
    iam = boto_client("iam")
    iam.create_user(UserName="dev")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    iam.put_user_policy(UserName="dev", PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="dev")["AccessKey"]
    os.environ["AWS_ACCESS_KEY_ID"] = key["AccessKeyId"]  # restored by sandbox_env's monkeypatch
    os.environ["AWS_SECRET_ACCESS_KEY"] = key["SecretAccessKey"]


@pytest.mark.parametrize("can_simulate", [True, False])
def test_missing_permission_with_iam_enforcement(
    sandbox_env: Sandbox, boto_client: Callable[..., Any], sandbox_admin: SandboxAdmin, can_simulate: bool
) -> None:
    actions = ["bedrock:List*", "bedrock:Get*", "cloudwatch:GetMetricStatistics"] + (
        ["iam:SimulatePrincipalPolicy", "iam:GetRole"] if can_simulate else []
    )
    _user(boto_client, actions)
    sandbox_admin.set_faults({"iam_enforcement": True})
    report = doctor(models=[HAIKU], invoke=True)
    check = failed(report, "permissions", "invoke")
    assert "bedrock:InvokeModel" in check.evidence
    assert check.data["method"] == ("iam:SimulatePrincipalPolicy" if can_simulate else "harmless probes")
    assert "bedrockctl policy --features invoke --model " + HAIKU in check.remediation
    assert report.get("permissions", "discover").status == "pass"  # type: ignore[union-attr]
    assert "not authorized to perform: bedrock:InvokeModel" in failed(report, "models.access", HAIKU).evidence


def _vpce(boto_client: Callable[..., Any], private_dns: bool) -> str:
    ec2 = boto_client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    return str(
        ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName="com.amazonaws.us-east-1.bedrock-runtime",
            VpcEndpointType="Interface",
            SubnetIds=[subnet],
            PrivateDnsEnabled=private_dns,
        )["VpcEndpoint"]["VpcEndpointId"]
    )


def public(host: str) -> list[str]:
    return ["52.94.133.131", "52.94.133.132"]


def test_public_dns_while_vpc_endpoint_has_private_dns_off(
    sandbox_env: Sandbox, boto_client: Callable[..., Any]
) -> None:
    vpce_id = _vpce(boto_client, private_dns=False)
    report = doctor(resolver=public)
    check = failed(report, "network.vpce", "bedrock-runtime")
    assert "private DNS is off" in check.evidence and "52.94.133.131" in check.evidence and vpce_id in check.evidence
    assert check.remediation.startswith(
        f"aws ec2 modify-vpc-endpoint --vpc-endpoint-id {vpce_id} --private-dns-enabled"
    )
    assert report.get("network.vpce", "bedrock").status == "pass"  # type: ignore[union-attr]


def test_vpc_endpoint_with_private_dns(sandbox_env: Sandbox, boto_client: Callable[..., Any]) -> None:
    _vpce(boto_client, private_dns=True)
    ok = doctor(resolver=lambda host: ["10.0.1.25"])
    assert ok.get("network.vpce", "bedrock-runtime").status == "pass"  # type: ignore[union-attr]
    wrong_resolver = doctor(resolver=public)
    assert "does not use the VPC's resolver" in failed(wrong_resolver, "network.vpce", "bedrock-runtime").evidence


@pytest.fixture
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections (kernel backlog) but never speaks: a TLS handshake there can only time out."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    yield int(s.getsockname()[1])
    s.close()


def test_unreachable_endpoint_fails_fast(
    sandbox_env: Sandbox, monkeypatch: pytest.MonkeyPatch, closed_port: int, silent_server: int
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME", f"https://127.0.0.1:{silent_server}")
    started = time.monotonic()
    report = doctor(models=[HAIKU], invoke=True, network_timeout=1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 15, elapsed
    refused = failed(report, "network.reach", "bedrock-runtime")
    assert f"127.0.0.1:{closed_port}" in refused.evidence and "doctor" in refused.remediation
    silent = failed(report, "network.reach", "bedrock-agent-runtime")
    assert "within 1.0s" in silent.evidence
    assert "AWS_ENDPOINT_URL_BEDROCK_RUNTIME" in report.get("network.endpoint").evidence  # type: ignore[union-attr]
    assert failed(report, "models.access", HAIKU).data["error_code"].startswith("BRC-NET")
    assert report.get("network.reach", "bedrock").status == "pass"  # type: ignore[union-attr]


def test_models_all_is_a_health_check_of_enabled_models(sandbox_env: Sandbox) -> None:
    nova = "amazon.nova-lite-v1:0"
    report = doctor(models=["all"], invoke=True)
    assert nova in report.get("models.all").data["enabled"]  # type: ignore[union-attr]
    access = report.get("models.access", nova)
    assert access is not None and access.status == "pass" and "ms" in access.evidence
    quotas = report.get("quotas", nova)
    assert quotas is not None and quotas.status == "pass" and "tokens per minute for Nova Lite" in quotas.evidence


def test_cli_json_and_exit_code(sandbox_env: Sandbox, sandbox_admin: SandboxAdmin) -> None:
    from typer.testing import CliRunner

    from bedrockctl.cli.app import app

    sandbox_admin.set_faults({"access_denied": [{"model": HAIKU}]})
    res = CliRunner().invoke(app, ["doctor", "--model", HAIKU, "--invoke", "--json", "--timeout", "1"])
    assert res.exit_code == 2, res.output
    data = json.loads(res.stdout)
    assert data["exit_code"] == 2 and data["status"] == "fail"
    assert {
        "id",
        "title",
        "severity",
        "status",
        "target",
        "region",
        "evidence",
        "remediation",
        "duration_ms",
        "data",
    } == set(data["checks"][0])
    assert any(c["id"] == "models.access" and c["status"] == "fail" for c in data["checks"])
    sandbox_admin.clear_faults()
    res = CliRunner().invoke(app, ["doctor", "--model", HAIKU, "--timeout", "1"])
    assert res.exit_code == 1, res.output  # invocation logging is off: a warning
    assert "models.exists" in res.stdout and "fix:" in res.stdout


def test_a_prompt_router_is_described_by_its_fallback_model(sandbox_env: Sandbox) -> None:
    router = "arn:aws:bedrock:us-east-1:123456789012:default-prompt-router/meta.llama:1"
    report = doctor(models=[router], invoke=True)
    exists = report.get("models.exists", router)
    assert exists is not None and exists.status == "pass", exists
    assert "via prompt router" in exists.evidence and "llama3-1-70b" in exists.evidence
    assert report.get("models.on_demand", router).status == "pass"  # type: ignore[union-attr]
    assert report.get("models.access", router).status == "pass"  # type: ignore[union-attr]
