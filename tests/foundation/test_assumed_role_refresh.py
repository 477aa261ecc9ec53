"""Assumed-role credentials refresh within windows scaled to the session length (a third / a sixth of it, at most
botocore's 15 / 10 minutes), set through botocore's public ``RefreshableCredentials`` arguments."""

from __future__ import annotations

from datetime import timedelta

from botocore.credentials import RefreshableCredentials

from bedrockctl.aws.assumed_role import refresh_windows
from bedrockctl.aws.session import SessionFactory
from bedrockctl.settings import AwsSettings

from .test_assume_role import Clock, _base


def test_refresh_windows() -> None:
    assert refresh_windows(900) == (300, 150)
    assert refresh_windows(3600) == (900, 600)
    assert refresh_windows(43200) == (900, 600)


def test_short_session_refreshes_only_inside_its_window(moto_env: str) -> None:
    session, sent = _base(moto_env)
    clock = Clock()
    f = SessionFactory(
        AwsSettings(region="us-east-1", role_arn="arn:aws:iam::123456789012:role/bedrock-reader", duration=900),
        session=session,
        clock=clock,
    )
    creds = f.session().get_credentials()
    assert isinstance(creds, RefreshableCredentials) and creds.method == "bedrockctl-assume-role"
    expiry = f.provenance().expiry
    assert expiry is not None
    # 6 minutes left: outside the 5-minute advisory window, the credentials are used as they are
    clock.offset = expiry - timedelta(minutes=6) - clock()
    f.client("sts").get_caller_identity()
    assert len(sent) == 1
    # 4 minutes left: inside it, one refresh, and the new expiry is reported
    clock.offset += timedelta(minutes=2)
    f.client("sts").get_caller_identity()
    assert len(sent) == 2
    renewed = f.provenance().expiry
    assert renewed is not None and renewed > expiry
