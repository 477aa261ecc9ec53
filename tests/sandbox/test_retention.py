"""The sandbox keeps the newest N per-call effects of each kind (docs/sandbox.md, "Memory"): LookupEvents, trail
files and invocation-log objects in S3, invocation-log events, AWS/Bedrock datapoints; what a client wrote stays."""

from __future__ import annotations

import gc
import json

import pytest

from bedrockctl.sandbox.retention import WeakInstances
from bedrockctl.sandbox.testing import install_probe_route, signed_request

install_probe_route()

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
LIMIT = 4
CALLS = 11


def probe(sandbox, i):
    body = {"input_tokens": 100 + i, "output_tokens": 10 + i}
    status, _, raw = signed_request(sandbox.endpoint_url, "POST", f"/model/{MODEL}/sandbox-probe", body)
    assert status == 200, raw
    return json.loads(raw)["requestId"]


@pytest.fixture
def bounded(sandbox_env, boto_client):
    retention = sandbox_env.effects.retention
    before = retention.limit
    retention.limit = LIMIT
    boto_client("logs").create_log_group(logGroupName="/bedrock/invocations")
    s3 = boto_client("s3")
    s3.create_bucket(Bucket="invocation-logs")
    s3.create_bucket(Bucket="org-trail")
    s3.put_object(Bucket="invocation-logs", Key="mine/kept.txt", Body=b"a client's own object")
    role = "arn:aws:iam::123456789012:role/bedrock-logging"
    to_logs = {"logGroupName": "/bedrock/invocations", "roleArn": role}
    to_s3 = {"bucketName": "invocation-logs", "keyPrefix": "team-a"}
    config = {"cloudWatchConfig": to_logs, "s3Config": to_s3}
    boto_client("bedrock").put_model_invocation_logging_configuration(loggingConfig=config)
    ct = boto_client("cloudtrail")
    ct.create_trail(Name="org-trail", S3BucketName="org-trail", IsMultiRegionTrail=True)
    ct.start_logging(Name="org-trail")
    yield boto_client
    retention.limit = before


def _keys(s3, bucket):
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_each_effect_keeps_the_newest_limit(bounded, sandbox_env):
    ids = [probe(sandbox_env, i) for i in range(CALLS)]
    s3 = bounded("s3")
    trail_keys = _keys(s3, "org-trail")
    log_keys = _keys(s3, "invocation-logs")
    assert len(trail_keys) == LIMIT
    assert "mine/kept.txt" in log_keys and len(log_keys) == LIMIT + 1

    events = bounded("logs").filter_log_events(logGroupName="/bedrock/invocations")["events"]
    assert [json.loads(e["message"])["requestId"] for e in events] == ids[-LIMIT:]

    trail = bounded("cloudtrail").lookup_events(MaxResults=50)["Events"]
    assert sorted(json.loads(e["CloudTrailEvent"])["requestID"] for e in trail) == sorted(ids[-LIMIT:])

    from moto.cloudwatch.models import cloudwatch_backends

    data = [d for d in cloudwatch_backends["123456789012"]["us-east-1"].metric_data if d.namespace == "AWS/Bedrock"]
    assert len(data) <= LIMIT * 6 + LIMIT * 6 // 10  # trimmed in batches of 10% over the bound
    assert len(data) < CALLS * 4  # 4 datapoints a call (no cache tokens): some were dropped

    from moto.logs.models import LogEvent
    from moto.s3.models import FakeKey

    for model in (FakeKey, LogEvent, type(data[0])):  # loaded after the sandbox started, made weak on first use
        assert isinstance(model.instances_tracked, WeakInstances)


def test_unbounded_when_limit_is_none(bounded, sandbox_env):
    sandbox_env.effects.retention.limit = None
    for i in range(CALLS):
        probe(sandbox_env, i)
    assert len(_keys(bounded("s3"), "org-trail")) == CALLS


def test_dropped_objects_are_freed():
    """moto's per-class registry of instances holds them weakly in the sandbox."""

    class Thing:
        pass

    tracked = WeakInstances()
    kept = [Thing() for _ in range(3)]
    for obj in kept:
        tracked.append(obj)
    for _ in range(2_000):
        tracked.append(Thing())  # dropped at once
    gc.collect()
    assert list(tracked) == kept and len(tracked) == 3
    assert len(tracked._refs) < 2_000  # dead references pruned as it grows
