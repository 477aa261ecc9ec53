"""Access hygiene in doctor: the age of the access key in use, long-term Bedrock API keys, and who may call Bedrock
with an API key — against the sandbox's IAM, with a clock the test owns for the ages."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bedrockctl.sandbox.server import Sandbox
from bedrockctl.services.doctor import DoctorOptions, Report, run


def doctor(days_ahead: int = 0) -> Report:
    moved = datetime.now(UTC) + timedelta(days=days_ahead)
    options = DoctorOptions(network_timeout=1.0, deadline=30.0)
    return run(options, resolver=lambda host: ["127.0.0.1"], env=dict(os.environ), now=lambda: moved)


def _user(boto_client: Callable[..., Any], name: str, document: dict[str, Any] | None = None) -> dict[str, str]:
    iam = boto_client("iam")
    iam.create_user(UserName=name)
    if document is not None:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}


def test_key_age_warns_past_90_days(
    sandbox_env: Sandbox, boto_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _user(boto_client, "old-timer")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["secret"])

    fresh = doctor().get("access.key_age")
    assert fresh is not None and fresh.status == "pass", fresh
    assert fresh.data["user"] == "old-timer" and fresh.data["age_days"] == 0
    assert key["id"] not in json.dumps(fresh.to_dict())  # the key id is masked

    old = doctor(days_ahead=91).get("access.key_age")
    assert old is not None and old.status == "warn", old
    assert old.data["age_days"] == 91 and "Older than 90 days" in old.evidence
    assert "aws iam create-access-key --user-name old-timer" in old.remediation
    assert doctor(days_ahead=90).get("access.key_age").status == "pass"  # type: ignore[union-attr]


def test_temporary_and_unknown_keys_are_not_aged(sandbox_env: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    report = doctor(days_ahead=400)
    check = report.get("access.key_age")
    assert check is not None and check.status == "skip" and "not an IAM user's key" in check.evidence
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    temp = doctor(days_ahead=400).get("access.key_age")
    assert temp is not None and temp.status == "pass" and temp.data["long_term"] is False


def test_long_term_api_keys_and_bearer_principals(sandbox_env: Sandbox, boto_client: Callable[..., Any]) -> None:
    assert doctor().get("access.api_keys").status == "pass"  # type: ignore[union-attr]
    allow_bearer = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "bedrock:CallWithBearerToken", "Resource": "*"}],
    }
    _user(boto_client, "key-holder", allow_bearer)
    _user(boto_client, "careful")
    iam = boto_client("iam")
    iam.create_service_specific_credential(UserName="key-holder", ServiceName="bedrock.amazonaws.com")
    iam.create_service_specific_credential(
        UserName="careful", ServiceName="bedrock.amazonaws.com", CredentialAgeDays=30
    )

    report = doctor()
    keys = report.get("access.api_keys")
    assert keys is not None and keys.status == "warn", keys  # key-holder's key never expires
    assert {r["user"] for r in keys.data["keys"]} == {"key-holder", "careful"}
    assert "1 of 2 long-term keys" in keys.evidence
    principals = report.get("access.bearer_principals")
    assert principals is not None and principals.status == "warn", principals
    assert principals.data["allowed"] == ["arn:aws:iam::123456789012:user/key-holder"]
    assert "arn:aws:iam::123456789012:user/careful" in principals.data["denied"]
    # 31 days on, the 30-day key has expired by AWS's rule but is still listed as active by IAM: its age shows
    later = doctor(days_ahead=31).get("access.api_keys")
    assert later is not None and {r["age_days"] for r in later.data["keys"]} == {31}
