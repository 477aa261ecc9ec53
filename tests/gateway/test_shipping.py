"""What leaves the gateway: budget alerts to SNS (read back from a subscribed SQS queue), the audit trail shipped to
S3 (SSE-KMS, lifecycle retention rule), gateway usage in the analytics ledger (``usage report --by tag:team``)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import orjson

from bedrockctl.server.gateway.audit import LIFECYCLE_RULE_ID
from bedrockctl.settings import EnvironmentSettings

from .conftest import HAIKU, RunningGateway
from .test_policy import MSG, _cost_of_one_call, bedrock, oai


def _sqs_messages(sqs: Any, url: str, want: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Poll the queue until ``want`` messages arrived or ``timeout`` passed.

    Short polls with a sleep in between, not a long poll: moto waits for messages with ``Condition.wait(timeout)``,
    a CPython timed lock wait (``sem_clockwait`` on CLOCK_MONOTONIC with an absolute deadline) that libfaketime
    does not intercept while it shifts the monotonic clock, so under ``faketime -f +60d`` the sandbox would sleep
    60 days instead of 1 s. ``time.sleep`` is a relative sleep and unaffected.
    """
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        for m in resp.get("Messages", []):
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if len(got) < want:
            time.sleep(0.1)
    return got


def test_budget_alerts_to_sns_once_per_threshold(start_gateway: Any) -> None:
    per_call = _cost_of_one_call(start_gateway)
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    name = f"gw-alerts-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    env = EnvironmentSettings(name="prod", monthly_budget_usd=10 * per_call / 1e9, alert_thresholds=[20, 50])
    gw = start_gateway({"prod": env}, gateway={"sns_topic_arn": topic})
    c = bedrock(gw, gw.key(environment="prod", team="search"))
    for _ in range(2):
        c.converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 10})
    gw.flush()
    first = _sqs_messages(sqs, queue_url, 1)
    assert len(first) == 1
    assert first[0]["TopicArn"] == topic and "budget alert" in first[0]["Subject"]
    alert = json.loads(first[0]["Message"])
    assert alert["threshold_pct"] == 20 and alert["scope"] == "budget:env:prod"
    assert alert["spent_pct"] >= 20 and alert["environment"] == "prod" and alert["resets_at"].endswith("Z")
    for _ in range(4):  # 60%: crosses 50 once; 20 is not sent again
        c.converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 10})
        gw.flush()
    rest = _sqs_messages(sqs, queue_url, 2, timeout=4)
    assert [json.loads(m["Message"])["threshold_pct"] for m in rest] == [50]


def test_audit_shipped_to_s3_with_kms_and_retention(start_gateway: Any) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    kms = boto3.client("kms", region_name="us-east-1")
    key_arn = kms.create_key(Description="gateway audit")["KeyMetadata"]["Arn"]
    bucket = f"gw-audit-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    other = {"ID": "keep-me", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 3}}
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [other]})
    cfg = {"bucket": bucket, "prefix": "audit/gw/", "kms_key_id": key_arn, "retention_days": 400}
    gw = start_gateway(gateway={"audit_s3": cfg})
    key = gw.key(team="ml")
    bedrock(gw, key).converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 5})
    oai(gw, key).chat.completions.create(model="haiku", messages=[{"role": "user", "content": "x"}], max_tokens=5)
    gw.flush()
    assert gw.gateway.audit.ship() == 2
    objects = s3.list_objects_v2(Bucket=bucket, Prefix="audit/gw/")["Contents"]
    assert len(objects) == 1 and objects[0]["Key"].endswith(".jsonl.gz")
    head = s3.head_object(Bucket=bucket, Key=objects[0]["Key"])
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn
    assert head["ContentType"] == "application/x-ndjson"
    body = s3.get_object(Bucket=bucket, Key=objects[0]["Key"])["Body"].read()
    rows = [orjson.loads(line) for line in gzip.decompress(body).splitlines()]
    assert sorted(r["protocol"] for r in rows) == ["bedrock", "openai"]
    assert all(r["team"] == "ml" and r["key_id"] == key["key_id"] and r["status"] == "ok" for r in rows)
    assert key["token"] not in body.decode("latin-1") and key["token"] not in gzip.decompress(body).decode()
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules["keep-me"]["Expiration"]["Days"] == 3  # the bucket's other rules are kept
    mine = rules[LIFECYCLE_RULE_ID]
    assert mine["Status"] == "Enabled" and mine["Expiration"]["Days"] == 400
    assert mine["Filter"]["Prefix"] == "audit/gw/"
    assert gw.gateway.audit.ship() == 0  # nothing new: no empty objects
    assert len(s3.list_objects_v2(Bucket=bucket, Prefix="audit/gw/")["Contents"]) == 1


def test_audit_s3_object_lock_retention(start_gateway: Any) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    bucket = f"gw-locked-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    cfg = {"bucket": bucket, "retention_days": 30, "object_lock": True, "retention_mode": "GOVERNANCE"}
    gw = start_gateway(gateway={"audit_s3": cfg})
    bedrock(gw, gw.key()).converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 5})
    gw.flush()
    assert gw.gateway.audit.ship() == 1
    (obj,) = s3.list_objects_v2(Bucket=bucket, Prefix="bedrockctl/audit/")["Contents"]
    head = s3.head_object(Bucket=bucket, Key=obj["Key"])
    assert head["ObjectLockMode"] == "GOVERNANCE"
    days = (head["ObjectLockRetainUntilDate"].timestamp() - time.time()) / 86400
    assert 29.9 < days <= 30.01


def test_gateway_usage_in_usage_report_by_team(start_gateway: Any, tmp_path: Path) -> None:
    gw: RunningGateway = start_gateway(gateway={"ledger": True})
    ml, search = gw.key(team="ml"), gw.key(team="search", user="bo")
    for _ in range(2):
        bedrock(gw, ml).converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 5})
    oai(gw, search).chat.completions.create(model="haiku", messages=[{"role": "user", "content": "x"}], max_tokens=5)
    gw.flush()
    assert gw.gateway.audit.ship() == 3
    cfg = tmp_path / "report.toml"
    cfg.write_text(f'[store]\ndata_dir = "{tmp_path}"\n')
    env = {**os.environ, "BEDROCKCTL_CONFIG": str(cfg)}
    out = subprocess.run(
        [sys.executable, "-m", "bedrockctl.cli.main", "usage", "report", "--by", "tag:team", "--days", "1", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    rows = doc["rows"] if isinstance(doc, dict) else doc
    by_team = {r["tag:team"]: r for r in rows}
    assert by_team["ml"]["invocations"] == 2 and by_team["search"]["invocations"] == 1
    assert by_team["ml"]["output_tokens"] == 10 and by_team["search"]["output_tokens"] == 5
    assert float(by_team["ml"]["cost_usd"]) > 0
