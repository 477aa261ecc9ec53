"""The opt-in SSM Parameter Store source, read through the real loader from a moto server."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from bedrockctl.context import AppContext
from bedrockctl.errors import NoCredentialsFound, SSMConfigError


def test_ssm_parameters_fill_what_nothing_else_set(
    moto_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    ssm = boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_env)
    ssm.put_parameter(Name="/bedrockctl/defaults/model", Value="amazon.nova-lite-v1:0", Type="String")
    ssm.put_parameter(Name="/bedrockctl/environments/dev/monthly_budget_usd", Value="75", Type="String")
    ssm.put_parameter(Name="/bedrockctl/aws/region", Value="eu-west-1", Type="SecureString")
    monkeypatch.setenv("BEDROCKCTL_SSM_PATH", "/bedrockctl")
    ctx = AppContext.create(env=None)
    s = ctx.settings
    assert s.defaults.model == "amazon.nova-lite-v1:0"
    assert s.environments["dev"].monthly_budget_usd == 75.0
    assert s.aws.region == "us-east-1"  # the environment wins over SSM
    assert s.sources["defaults.model"] == "ssm:/bedrockctl/defaults/model"


def test_ssm_without_credentials_fails_clearly(moto_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEDROCKCTL_SSM_PATH", "/bedrockctl/")
    with pytest.raises(NoCredentialsFound):  # the chain fails before SSM is reached
        AppContext.create()


def test_ssm_invalid_value_names_the_parameter(moto_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_env).put_parameter(
        Name="/bedrockctl/aws/retry_attempts", Value="lots", Type="String"
    )
    monkeypatch.setenv("BEDROCKCTL_SSM_PATH", "/bedrockctl/")
    from bedrockctl.errors import ConfigError

    with pytest.raises(ConfigError) as ei:
        AppContext.create()
    assert "/bedrockctl/aws/retry_attempts" in ei.value.message and "'lots'" in ei.value.message
    assert not isinstance(ei.value, SSMConfigError)
