"""Invocation logs, CloudTrail (LookupEvents + trail delivery) and CloudWatch metrics of runtime calls."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from bedrockctl.sandbox.testing import install_probe_route, signed_request

install_probe_route()

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
N = 55  # > 50: LookupEvents must paginate


def probe(sandbox, model=MODEL, region="us-east-1", **body):
    status, _, raw = signed_request(sandbox.endpoint_url, "POST", f"/model/{model}/sandbox-probe", body, region=region)
    assert status == 200, raw
    return json.loads(raw)["requestId"]


@pytest.fixture
def estate(boto_client):
    logs = boto_client("logs")
    logs.create_log_group(logGroupName="/bedrock/invocations")
    s3 = boto_client("s3")
    s3.create_bucket(Bucket="invocation-logs")
    s3.create_bucket(Bucket="org-trail")
    boto_client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={
            "cloudWatchConfig": {
                "logGroupName": "/bedrock/invocations",
                "roleArn": "arn:aws:iam::123456789012:role/bedrock-logging",
            },
            "s3Config": {"bucketName": "invocation-logs", "keyPrefix": "team-a"},
            "textDataDeliveryEnabled": True,
        }
    )
    ct = boto_client("cloudtrail")
    ct.create_trail(Name="org-trail", S3BucketName="org-trail", IsMultiRegionTrail=True)
    ct.start_logging(Name="org-trail")
    ct.create_trail(Name="stopped-trail", S3BucketName="org-trail", S3KeyPrefix="stopped")  # never logging
    return boto_client


def _s3_lines(s3, bucket, prefix=""):
    keys = []
    lines = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            keys.append(obj["Key"])
            data = gzip.decompress(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
            lines.extend(line for line in data.decode().splitlines() if line)
    return keys, lines


def test_n_calls_leave_n_records_everywhere(estate, sandbox_env):
    boto_client = estate
    request_ids = [
        probe(
            sandbox_env,
            input_tokens=100 + i,
            output_tokens=10 + i,
            cache_read_tokens=i % 3,
            request_metadata={"team": "platform"},
            input_body={"i": i},
            output_body={"o": i},
        )
        for i in range(N)
    ]
    want_in = sum(100 + i for i in range(N))
    want_out = sum(10 + i for i in range(N))

    # CloudWatch Logs
    events = boto_client("logs").filter_log_events(logGroupName="/bedrock/invocations")["events"]
    records = [json.loads(e["message"]) for e in events]
    assert len(records) == N
    assert sum(r["input"]["inputTokenCount"] for r in records) == want_in
    assert sum(r["output"]["outputTokenCount"] for r in records) == want_out
    assert {r["requestId"] for r in records} == set(request_ids)
    first = records[0]
    assert first["schemaType"] == "ModelInvocationLog" and first["schemaVersion"] == "1.0"
    assert first["identity"] == {"arn": "arn:aws:iam::123456789012:user/moto"}
    assert first["operation"] == "Converse" and first["modelId"] == MODEL
    assert first["region"] == "us-east-1" and first["accountId"] == "123456789012"
    assert first["requestMetadata"] == {"team": "platform"}
    assert first["input"]["inputBodyJson"] == {"i": 0}
    assert set(first["input"]) == {
        "inputContentType",
        "inputTokenCount",
        "cacheReadInputTokenCount",
        "cacheWriteInputTokenCount",
        "inputBodyJson",
    }

    # S3 invocation logs: one gzipped JSON line per object, AWS key layout under the prefix
    s3 = boto_client("s3")
    keys, lines = _s3_lines(s3, "invocation-logs")
    assert len(keys) == N and len(lines) == N
    pattern = (
        r"^team-a/AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/"
        r"\d{4}/\d{2}/\d{2}/\d{2}/[0-9a-f-]{36}\.json\.gz$"
    )
    assert all(re.match(pattern, k) for k in keys), keys[0]
    s3_records = [json.loads(line) for line in lines]
    assert sum(r["input"]["inputTokenCount"] for r in s3_records) == want_in
    assert sum(r["input"]["cacheReadInputTokenCount"] for r in s3_records) == sum(i % 3 for i in range(N))

    # CloudTrail trail delivery (logging trail only)
    keys, lines = _s3_lines(s3, "org-trail")
    assert not any(k.startswith("stopped") for k in keys)
    trail_records = [rec for line in lines for rec in json.loads(line)["Records"]]
    assert len(trail_records) == N
    assert all(
        re.match(
            r"^AWSLogs/123456789012/CloudTrail/us-east-1/\d{4}/\d{2}/\d{2}/123456789012_CloudTrail_us-east-1_"
            r"\d{8}T\d{4}Z_[0-9a-f]{16}\.json\.gz$",
            k,
        )
        for k in keys
    )
    assert {r["requestID"] for r in trail_records} == set(request_ids)
    rec = trail_records[0]
    assert rec["eventSource"] == "bedrock.amazonaws.com" and rec["eventName"] == "Converse"
    assert rec["requestParameters"] == {"modelId": MODEL}
    assert rec["eventType"] == "AwsApiCall" and rec["readOnly"] is True and rec["managementEvent"] is True
    assert rec["userAgent"].startswith("Python-urllib")

    # LookupEvents: newest first, full pagination
    ct = boto_client("cloudtrail")
    page1 = ct.lookup_events()
    assert len(page1["Events"]) == 50 and "NextToken" in page1
    page2 = ct.lookup_events(NextToken=page1["NextToken"])
    assert len(page2["Events"]) == N - 50 and "NextToken" not in page2
    got = [json.loads(e["CloudTrailEvent"])["requestID"] for e in page1["Events"] + page2["Events"]]
    assert got == list(reversed(request_ids))
    paged = [
        e
        for page in ct.get_paginator("lookup_events").paginate(PaginationConfig={"PageSize": 7})
        for e in page["Events"]
    ]
    assert len(paged) == N
    assert isinstance(page1["Events"][0]["EventTime"], datetime)

    # CloudWatch metrics
    cw = boto_client("cloudwatch")
    now = datetime.now(UTC)

    def metric_sum(name):
        stats = cw.get_metric_statistics(
            Namespace="AWS/Bedrock",
            MetricName=name,
            Dimensions=[{"Name": "ModelId", "Value": MODEL}],
            StartTime=now - timedelta(minutes=10),
            EndTime=now + timedelta(minutes=10),
            Period=3600,
            Statistics=["Sum"],
        )["Datapoints"]
        return sum(d["Sum"] for d in stats)

    assert metric_sum("Invocations") == N
    assert metric_sum("InputTokenCount") == want_in
    assert metric_sum("OutputTokenCount") == want_out


def test_lookup_filters_and_time_range(boto_client, sandbox_env):
    for i in range(3):
        probe(sandbox_env, input_tokens=1, output_tokens=1, operation="InvokeModel" if i else "Converse")
    probe(sandbox_env, region="eu-west-1", input_tokens=1, output_tokens=1)
    ct = boto_client("cloudtrail")
    everything = ct.lookup_events()["Events"]
    assert len(everything) == 3  # eu-west-1 events stay in eu-west-1
    assert len(boto_client("cloudtrail", region="eu-west-1").lookup_events()["Events"]) == 1

    def count(key, value, **kw):
        return len(ct.lookup_events(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], **kw)["Events"])

    assert count("EventName", "InvokeModel") == 2
    assert count("EventName", "Converse") == 1
    assert count("EventSource", "bedrock.amazonaws.com") == 3
    assert count("EventSource", "s3.amazonaws.com") == 0
    assert count("Username", "moto") == 3
    assert count("Username", "bob") == 0
    assert count("AccessKeyId", "AKIAIOSFODNN7EXAMPLE") == 3
    assert count("ReadOnly", "true") == 3
    assert count("ReadOnly", "false") == 0
    assert count("EventId", everything[1]["EventId"]) == 1
    assert count("ResourceName", MODEL) == 0  # Bedrock runtime events carry no resources, as in AWS
    now = datetime.now(UTC)
    assert (
        len(ct.lookup_events(StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=5))["Events"]) == 3
    )
    assert ct.lookup_events(StartTime=now + timedelta(minutes=5))["Events"] == []
    with pytest.raises(ClientError) as exc:
        ct.lookup_events(StartTime=now, EndTime=now - timedelta(hours=1))
    assert exc.value.response["Error"]["Code"] == "InvalidTimeRangeException"
    with pytest.raises(ClientError) as exc:
        ct.lookup_events(NextToken="bm90LWEtdG9rZW4=")
    assert exc.value.response["Error"]["Code"] == "InvalidNextTokenException"
    token = ct.lookup_events(MaxResults=1)["NextToken"]
    with pytest.raises(ClientError) as exc:  # a token only works with the filter it was issued for
        ct.lookup_events(
            NextToken=token, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Converse"}]
        )
    assert exc.value.response["Error"]["Code"] == "InvalidNextTokenException"


def test_failed_call_gives_trail_event_but_no_invocation_log(estate, sandbox_env):
    boto_client = estate
    probe(sandbox_env, error_code="ValidationException", output_body="The provided model identifier is invalid.")
    event = json.loads(boto_client("cloudtrail").lookup_events()["Events"][0]["CloudTrailEvent"])
    assert event["errorCode"] == "ValidationException"
    assert event["errorMessage"] == "The provided model identifier is invalid."
    assert boto_client("logs").filter_log_events(logGroupName="/bedrock/invocations")["events"] == []
    assert boto_client("s3").list_objects_v2(Bucket="invocation-logs")["KeyCount"] == 0


def test_logging_off_writes_no_logs_and_missing_group_is_tolerated(boto_client, sandbox_env):
    boto_client("s3").create_bucket(Bucket="only-bucket")
    probe(sandbox_env, input_tokens=1, output_tokens=1)
    assert boto_client("s3").list_objects_v2(Bucket="only-bucket")["KeyCount"] == 0
    boto_client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={
            "cloudWatchConfig": {"logGroupName": "/does/not/exist", "roleArn": "arn:aws:iam::123456789012:role/x"},
            "s3Config": {"bucketName": "only-bucket"},
        }
    )
    probe(sandbox_env, input_tokens=3, output_tokens=1)
    keys, lines = _s3_lines(boto_client("s3"), "only-bucket")
    assert len(lines) == 1 and keys[0].startswith("AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/")
    record = json.loads(lines[0])
    assert "inputBodyJson" not in record["input"]  # textDataDeliveryEnabled not set
