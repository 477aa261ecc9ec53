"""Role assumption sends the external id, refreshes past expiry, and chains."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import boto3
import pytest
from botocore.client import BaseClient
from dateutil.tz import tzlocal

from bedrockctl.aws.session import SessionFactory
from bedrockctl.settings import AwsSettings

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "ext-123"}},
        }
    ],
}


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(tzlocal()) + self.offset


def _base(moto_url: str) -> tuple[boto3.Session, list[dict[str, list[str]]]]:
    session = boto3.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="base-secret", region_name="us-east-1"
    )
    session.client("iam", endpoint_url=moto_url).create_role(
        RoleName="bedrock-reader", AssumeRolePolicyDocument=json.dumps(TRUST)
    )
    sent: list[dict[str, list[str]]] = []

    def capture(request: object, **_: object) -> None:
        body = getattr(request, "body", b"") or b""
        sent.append(parse_qs(body.decode() if isinstance(body, bytes) else str(body)))

    session.events.register("before-send.sts.AssumeRole", capture)
    return session, sent


def test_assume_role_sends_external_id_and_refreshes(moto_env: str) -> None:
    session, sent = _base(moto_env)
    clock = Clock()
    f = SessionFactory(
        AwsSettings(
            region="us-east-1",
            role_arn="arn:aws:iam::123456789012:role/bedrock-reader",
            external_id="ext-123",
            role_session_name="audit",
            duration=900,
        ),
        session=session,
        clock=clock,
    )
    who = f.whoami()
    assert who["arn"] == "arn:aws:sts::123456789012:assumed-role/bedrock-reader/audit"
    assert who["credential_source"] == "bedrockctl-assume-role"
    assert who["base_credential_source"] == "a boto3 Session supplied by the caller"
    assert who["assumed_roles"] == ["arn:aws:iam::123456789012:role/bedrock-reader"]
    assert who["external_id_used"] is True
    assert len(sent) == 1 and sent[0]["ExternalId"] == ["ext-123"] and sent[0]["RoleSessionName"] == ["audit"]
    first_expiry = f.provenance().expiry
    assert first_expiry is not None

    # An hour later the first credentials are dead; the next call refreshes them transparently.
    clock.offset = timedelta(hours=1)
    assert f.client("sts").get_caller_identity()["Arn"].endswith("/bedrock-reader/audit")
    assert len(sent) == 2 and sent[1]["ExternalId"] == ["ext-123"]
    # Three hours later still working, each refresh sending the external id again.
    clock.offset = timedelta(hours=3)
    f.client("sts").get_caller_identity()
    assert len(sent) == 3 and all(s["ExternalId"] == ["ext-123"] for s in sent)


def test_no_refresh_while_fresh(moto_env: str) -> None:
    session, sent = _base(moto_env)
    f = SessionFactory(
        AwsSettings(region="us-east-1", role_arn="arn:aws:iam::123456789012:role/bedrock-reader", duration=3600),
        session=session,
        clock=Clock(),
    )
    for _ in range(3):
        f.client("sts").get_caller_identity()
    assert len(sent) == 1
    assert "ExternalId" not in sent[0]


def test_role_chaining(moto_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    session, _ = _base(moto_env)
    sent: list[dict[str, list[str]]] = []
    original = BaseClient._make_api_call

    def observe(self: BaseClient, operation: str, params: dict[str, str]) -> object:
        if operation == "AssumeRole":  # every STS client the chain builds, whichever session owns it
            sent.append({"ExternalId": [params["ExternalId"]]})
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", observe)
    session.client("iam", endpoint_url=moto_env).create_role(
        RoleName="org-reader", AssumeRolePolicyDocument=json.dumps(TRUST)
    )
    first = SessionFactory(
        AwsSettings(
            region="us-east-1",
            role_arn="arn:aws:iam::123456789012:role/bedrock-reader",
            external_id="ext-123",
        ),
        session=session,
    )
    chained = first.for_role("arn:aws:iam::123456789012:role/org-reader", external_id="ext-456", session_name="scan")
    who = chained.whoami()
    assert who["arn"].endswith("assumed-role/org-reader/scan")
    assert who["assumed_roles"] == [
        "arn:aws:iam::123456789012:role/bedrock-reader",
        "arn:aws:iam::123456789012:role/org-reader",
    ]
    assert [s["ExternalId"] for s in sent] == [["ext-123"], ["ext-456"]]


def test_expiry_is_reported(moto_env: str) -> None:
    session, _ = _base(moto_env)
    f = SessionFactory(
        AwsSettings(region="us-east-1", role_arn="arn:aws:iam::123456789012:role/bedrock-reader", duration=900),
        session=session,
    )
    expiry = f.provenance().expiry
    assert expiry is not None
    assert timedelta(minutes=10) < expiry - datetime.now(UTC) <= timedelta(minutes=16)


def test_bad_role_arn_in_chain_is_a_config_error() -> None:
    from bedrockctl.config import load_settings
    from bedrockctl.errors import ConfigError

    with pytest.raises(ConfigError):
        load_settings({"aws.role_chain": [{"role_arn": "nope"}]}, env={})
