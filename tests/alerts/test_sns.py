"""The SNS channel against the sandbox: published through the session factory's client, read back from a subscribed
SQS queue, recorded with its MessageId; a topic that does not exist is a recorded failure, not an exception."""

from __future__ import annotations

import json
import uuid
from typing import Any

from bedrockctl.alerts import Alert, AlertService, DeliveryPolicy, SnsChannel
from bedrockctl.aws.session import SessionFactory
from bedrockctl.settings import AwsSettings
from bedrockctl.store.alerts import AlertLedger


def test_sns_to_sqs_once_with_message_id(sandbox_env: Any, boto_client: Any, engine: Any) -> None:
    sns, sqs = boto_client("sns"), boto_client("sqs")
    name = f"alerts-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    svc = AlertService(AlertLedger(engine), DeliveryPolicy(attempts=1))
    channel = SnsChannel(SessionFactory(AwsSettings(region="eu-west-1")), topic)  # the topic's Region wins
    a = Alert("budget:env:prod", "m2026-11", 80.0, "bedrockctl budget: prod passed 80% \u2014 now", {"pct": 81})
    [out] = svc.notify(a, [channel])
    assert out.status == "sent" and out.receipt
    [msg] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert json.loads(msg["Body"]) == {"pct": 81}
    row = svc.ledger.get(a.key(f"sns:{topic}"))
    assert (row.status, row.receipt, row.attempts) == ("sent", out.receipt, 1)
    assert [o.status for o in svc.notify(a, [channel])] == ["already_sent"]
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)  # moto delivers at once


def test_sns_failure_is_recorded(sandbox_env: Any, engine: Any) -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    svc = AlertService(AlertLedger(engine), DeliveryPolicy(attempts=2, backoff=0.0))
    a = Alert("budget:env:prod", "m2026-11", 50.0, "prod passed 50%", {})
    [out] = svc.notify(a, [SnsChannel(SessionFactory(AwsSettings()), topic)])
    assert out.status == "failed" and out.attempts == 2
    assert out.error and out.error.startswith(f"SNS {topic}: NotFound")
    row = svc.ledger.get(a.key(f"sns:{topic}"))
    assert row.status == "failed" and row.last_error == out.error
