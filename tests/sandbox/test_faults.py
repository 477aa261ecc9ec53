"""Fault injection: each knob yields the exact AWS error, retries recover, hangs time out, throttles count."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from bedrockctl.sandbox.core import ROUTER
from bedrockctl.sandbox.faults import Faults, SandboxAdmin
from bedrockctl.sandbox.server import Sandbox
from bedrockctl.sandbox.testing import install_probe_route, signed_request

install_probe_route()

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "hello"}]}]


@pytest.fixture
def runtime(boto_client):
    if ROUTER.match("bedrock-runtime", "POST", f"/model/{MODEL}/converse") is None:
        pytest.skip("runtime Converse handler not registered")
    return boto_client("bedrock-runtime")


def _code(call) -> tuple[str, int]:
    with pytest.raises(ClientError) as exc:
        call()
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_admin_api_roundtrip(sandbox_admin: SandboxAdmin):
    assert sandbox_admin.health()["status"] == "ok"
    cfg = {"throttle": [{"rate": 0.25, "region": "us-east-1"}], "unavailable": ["eu-west-1"], "seed": 3}
    assert sandbox_admin.set_faults(cfg) == cfg
    assert sandbox_admin.get_faults() == cfg
    sandbox_admin.clear_faults()
    assert sandbox_admin.get_faults() == {}
    with pytest.raises(Exception, match="400"):
        sandbox_admin.set_faults({"throttle": [{"rate": 2}]})
    with pytest.raises(Exception, match="400"):
        sandbox_admin.set_faults({"nonsense": []})


def test_each_knob_gives_the_aws_error(runtime, sandbox_admin):
    converse = lambda model=MODEL: runtime.converse(modelId=model, messages=MESSAGES)  # noqa: E731
    assert converse()["usage"]["inputTokens"] > 0
    sandbox_admin.set_faults({"unavailable": ["us-east-1"]})
    assert _code(converse) == ("ServiceUnavailableException", 503)
    sandbox_admin.set_faults({"not_ready": [{"model": MODEL}]})
    assert _code(converse) == ("ModelNotReadyException", 429)
    assert converse("amazon.nova-lite-v1:0")["usage"]["outputTokens"] > 0  # other models unaffected
    sandbox_admin.set_faults({"access_denied": [{"model": MODEL, "account": "123456789012"}]})
    assert _code(converse) == ("AccessDeniedException", 403)
    sandbox_admin.set_faults({"access_denied": [{"model": MODEL, "account": "999999999999"}]})
    assert converse()["output"]["message"]["role"] == "assistant"
    sandbox_admin.set_faults({"throttle": [{"rate": 1.0, "model": "claude-3-haiku"}]})
    assert _code(converse) == ("ThrottlingException", 429)
    assert _code(lambda: converse(f"us.{MODEL}")) == ("ThrottlingException", 429)  # contained in profile id
    sandbox_admin.set_faults({"throttle": [{"rate": 1.0, "region": "us-west-2"}]})
    assert converse()["usage"]["totalTokens"] > 0
    sandbox_admin.clear_faults()
    assert converse()["usage"]["totalTokens"] > 0


def test_rpm_and_tpm_quotas(runtime, sandbox_admin):
    sandbox_admin.set_faults({"quota": [{"model": MODEL, "rpm": 2}]})
    runtime.converse(modelId=MODEL, messages=MESSAGES)
    runtime.converse(modelId=MODEL, messages=MESSAGES)
    assert _code(lambda: runtime.converse(modelId=MODEL, messages=MESSAGES)) == ("ThrottlingException", 429)
    sandbox_admin.set_faults({"quota": [{"model": MODEL, "tpm": 60}]})
    used = 0
    while used <= 60:  # the window fills with the tokens of finished calls
        try:
            usage = runtime.converse(modelId=MODEL, messages=MESSAGES)["usage"]
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ThrottlingException"
            break
        used += usage["totalTokens"]
    else:
        pytest.fail("TPM quota never throttled")
    assert used > 0


def test_throttles_are_recorded(runtime, sandbox_admin, boto_client):
    sandbox_admin.set_faults({"throttle": [{"rate": 1.0}]})
    for _ in range(3):
        _code(lambda: runtime.converse(modelId=MODEL, messages=MESSAGES))
    now = datetime.now(UTC)
    stats = boto_client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Bedrock",
        MetricName="InvocationThrottles",
        Dimensions=[{"Name": "ModelId", "Value": MODEL}],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=5),
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    assert sum(d["Sum"] for d in stats) == 3
    events = boto_client("cloudtrail").lookup_events()["Events"]
    assert [json.loads(e["CloudTrailEvent"])["errorCode"] for e in events] == ["ThrottlingException"] * 3
    assert {e["EventName"] for e in events} == {"Converse"}


def test_standard_retries_recover_from_half_throttling(boto_client, sandbox_admin, runtime):
    sandbox_admin.set_faults({"throttle": [{"rate": 0.5}], "seed": 11})
    client = boto_client("bedrock-runtime", config=Config(retries={"mode": "standard", "max_attempts": 10}))
    retries = 0
    for _ in range(10):
        resp = client.converse(modelId=MODEL, messages=MESSAGES)
        retries += resp["ResponseMetadata"]["RetryAttempts"]
    assert retries > 0  # throttling really happened, and was retried away


def test_hanging_region_fails_fast_with_client_timeout(boto_client, sandbox_admin):
    sandbox_admin.set_faults({"hang": ["us-west-2"], "hang_seconds": 5})
    client = boto_client(
        "bedrock-runtime",
        region="us-west-2",
        config=Config(read_timeout=1, connect_timeout=1, retries={"mode": "standard", "total_max_attempts": 1}),
    )
    started = time.perf_counter()
    with pytest.raises(ReadTimeoutError):
        client.converse(modelId=MODEL, messages=MESSAGES)
    assert time.perf_counter() - started < 3


def test_latency_applies_to_everything(sandbox_admin, boto_client):
    s3 = boto_client("s3")
    sandbox_admin.set_faults({"latency": [{"ms": 300, "service": "s3"}]})
    started = time.perf_counter()
    s3.list_buckets()
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    boto_client("sts").get_caller_identity()
    assert time.perf_counter() - started < 0.3


def test_faults_via_probe_route_without_runtime(sandbox_env, sandbox_admin):
    sandbox_admin.set_faults({"not_ready": [{"model": "meta.llama3"}], "unavailable": ["ap-south-1"]})
    status, headers, body = signed_request(
        sandbox_env.endpoint_url, "POST", "/model/meta.llama3-1-8b-instruct-v1:0/sandbox-probe", {}
    )
    assert (status, headers["x-amzn-ErrorType"]) == (429, "ModelNotReadyException")
    assert json.loads(body)["message"]
    status, headers, _ = signed_request(
        sandbox_env.endpoint_url, "POST", "/model/amazon.nova-lite-v1:0/sandbox-probe", {}, region="ap-south-1"
    )
    assert (status, headers["x-amzn-ErrorType"]) == (503, "ServiceUnavailableException")


def test_startup_faults_and_hang_ends_on_stop():
    faults = Faults({"hang": ["eu-west-1"], "hang_seconds": 30})
    with Sandbox(faults=faults.config) as sb:
        assert SandboxAdmin(sb.endpoint_url).get_faults()["hang"] == ["eu-west-1"]
        import threading

        result: list[int] = []
        t = threading.Thread(
            target=lambda: result.append(
                signed_request(sb.endpoint_url, "POST", "/model/x/sandbox-probe", {}, region="eu-west-1", timeout=20)[0]
            )
        )
        t.start()
        time.sleep(0.3)
        started = time.perf_counter()
    t.join(10)
    assert time.perf_counter() - started < 5
    assert not t.is_alive()
