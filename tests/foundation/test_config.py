"""Configuration precedence and every configuration error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bedrockctl.config import describe_sources, load_settings
from bedrockctl.errors import ConfigError, ConfigFileError, UnsupportedProviderError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_only(clean_env: Path, tmp_path: Path) -> None:
    s = load_settings(env={}, cwd=tmp_path, home=clean_env)
    assert s.aws.region is None
    assert s.aws.retry_attempts == 5
    assert s.config_file is None
    assert s.sources == {}


def test_precedence_flags_env_file_ssm_defaults(clean_env: Path, tmp_path: Path) -> None:
    write(
        tmp_path / "bedrockctl.toml",
        '[aws]\nregion = "eu-west-1"\nprofile = "file-profile"\n'
        'role_session_name = "from-file"\n[defaults]\nmodel = "file-model"\n',
    )
    env = {"AWS_REGION": "us-west-2", "BEDROCK_MODEL_ID": "env-model", "BEDROCKCTL_SSM_PATH": "/bedrockctl/"}
    calls: list[str] = []

    def ssm(path: str, aws: dict[str, object]) -> dict[str, str]:
        calls.append(path)
        assert aws["region"] in ("ca-central-1", "eu-west-1")  # read with what the other sources said
        return {
            "/bedrockctl/aws/region": "ap-south-1",
            "/bedrockctl/defaults/agent_id": "AGENT1",
            "/bedrockctl/defaults/model": "ssm-model",
        }

    s = load_settings(
        {"aws.region": "ca-central-1", "aws.profile": None},
        env=env,
        cwd=tmp_path,
        home=clean_env,
        ssm_loader=ssm,
    )
    assert calls == ["/bedrockctl/"]
    assert s.aws.region == "ca-central-1" and s.sources["aws.region"] == "flag"
    assert s.defaults.model == "env-model" and s.sources["defaults.model"] == "env:BEDROCK_MODEL_ID"
    assert s.aws.profile == "file-profile" and s.sources["aws.profile"].startswith("file:")
    assert s.defaults.agent_id == "AGENT1" and s.sources["defaults.agent_id"] == "ssm:/bedrockctl/defaults/agent_id"
    assert s.aws.retry_attempts == 5 and "aws.retry_attempts" not in s.sources
    s2 = load_settings(
        env={k: v for k, v in env.items() if k != "AWS_REGION"}, cwd=tmp_path, home=clean_env, ssm_loader=ssm
    )
    assert s2.aws.region == "eu-west-1"  # file beats SSM


def test_aws_region_beats_default_region(clean_env: Path, tmp_path: Path) -> None:
    s = load_settings(env={"AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "us-east-2"}, cwd=tmp_path, home=clean_env)
    assert s.aws.region == "us-east-2"
    s = load_settings(env={"AWS_DEFAULT_REGION": "eu-west-1"}, cwd=tmp_path, home=clean_env)
    assert s.aws.region == "eu-west-1"


def test_home_config_and_explicit_config(clean_env: Path, tmp_path: Path) -> None:
    write(clean_env / ".config" / "bedrockctl" / "config.toml", '[aws]\nregion = "eu-central-1"\n')
    assert load_settings(env={}, cwd=tmp_path, home=clean_env).aws.region == "eu-central-1"
    other = write(tmp_path / "other.toml", '[aws]\nregion = "eu-north-1"\n')
    s = load_settings(env={}, cwd=tmp_path, home=clean_env, config_path=other)
    assert s.aws.region == "eu-north-1" and s.config_file == other


def test_dotenv_fills_but_does_not_override(clean_env: Path, tmp_path: Path) -> None:
    write(tmp_path / ".env", "BEDROCK_AGENT_ID=FROMDOTENV\nAWS_REGION=eu-west-3\n")
    s = load_settings(env={"AWS_REGION": "us-east-1"}, cwd=tmp_path, home=clean_env)
    assert s.defaults.agent_id == "FROMDOTENV"
    assert s.aws.region == "us-east-1"


def test_environments_section(clean_env: Path, tmp_path: Path) -> None:
    write(
        tmp_path / "bedrockctl.toml",
        """
[environments.dev]
monthly_budget_usd = 50
alert_thresholds = [50, 80]
hard_stop_pct = 95
requests_per_hour = 100
requests_per_day = 1000
allowed_models = ["anthropic.claude-3-haiku-20240307-v1:0"]
default_model = "anthropic.claude-3-haiku-20240307-v1:0"
tier_routes = { sonnet = "haiku" }
[store]
url = "sqlite:///x.db"
[logging]
level = "debug"
""",
    )
    s = load_settings(env={}, cwd=tmp_path, home=clean_env)
    dev = s.environments["dev"]
    assert dev.monthly_budget_usd == 50.0 and dev.alert_thresholds == [50.0, 80.0] and dev.hard_stop_pct == 95
    assert dev.requests_per_hour == 100 and dev.tier_routes == {"sonnet": "haiku"}
    assert s.store.url == "sqlite:///x.db" and s.logging.level == "DEBUG"


def test_orchestrator_conf(clean_env: Path, tmp_path: Path) -> None:
    write(
        tmp_path / "orchestrator.conf",
        "[provider]\nprovider = bedrock\n[aws]\naws_region = eu-west-1\n"
        "[bedrock]\nmodel_id = anthropic.claude-3-haiku-20240307-v1:0\n",
    )
    s = load_settings(env={}, cwd=tmp_path, home=clean_env)
    assert s.aws.region == "eu-west-1"
    assert s.defaults.model == "anthropic.claude-3-haiku-20240307-v1:0"
    write(tmp_path / "bedrockctl.toml", '[aws]\nregion = "us-east-1"\n')
    assert load_settings(env={}, cwd=tmp_path, home=clean_env).aws.region == "us-east-1"


def test_orchestrator_other_provider_is_an_error(clean_env: Path, tmp_path: Path) -> None:
    conf = write(tmp_path / "orchestrator.conf", "[provider]\nprovider = openai\n")
    with pytest.raises(UnsupportedProviderError) as ei:
        load_settings(env={}, cwd=tmp_path, home=clean_env)
    assert str(conf) in ei.value.message and "openai" in ei.value.message


@pytest.mark.parametrize("value", ["openai", "anthropic", "ollama"])
def test_llm_provider_other_than_bedrock(clean_env: Path, tmp_path: Path, value: str) -> None:
    with pytest.raises(UnsupportedProviderError) as ei:
        load_settings(env={"LLM_PROVIDER": value}, cwd=tmp_path, home=clean_env)
    assert ei.value.code == "BRC-CFG-003" and value in ei.value.message
    load_settings(env={"LLM_PROVIDER": "Bedrock"}, cwd=tmp_path, home=clean_env)


@pytest.mark.parametrize(
    ("toml", "key", "value", "expected"),
    [
        ('[aws]\nregion = "moon-1"\n', "aws.region", "'moon-1'", "an AWS region name"),
        ("[aws]\nduration = 60\n", "aws.duration", "60", "seconds between 900 and 43200"),
        ('[aws]\nduration = "long"\n', "aws.duration", "'long'", "an integer"),
        ('[aws]\nrole_arn = "not-an-arn"\n', "aws.role_arn", "'not-an-arn'", "an IAM role ARN"),
        ('[aws]\nregoin = "us-east-1"\n', "aws.regoin", "'us-east-1'", "one of the keys"),
        (
            '[environments.dev]\nalert_thresholds = ["x"]\n',
            "environments.dev.alert_thresholds",
            "['x']",
            "a list of percentages",
        ),
        (
            "[environments.dev]\nmonthly_budget_usd = -5\n",
            "environments.dev.monthly_budget_usd",
            "-5",
            "a non-negative amount",
        ),
        ("[environments.dev]\nhard_stop_pct = 0\n", "environments.dev.hard_stop_pct", "0", "a percentage"),
        ('[logging]\nlevel = "chatty"\n', "logging.level", "'chatty'", "one of DEBUG"),
        ("[aws]\nretry_attempts = 99\n", "aws.retry_attempts", "99", "between 1 and 20"),
        ('[aws]\nendpoint_url = "localhost:4566"\n', "aws.endpoint_url", "'localhost:4566'", "http"),
    ],
)
def test_config_errors_name_file_key_value_expected(
    clean_env: Path, tmp_path: Path, toml: str, key: str, value: str, expected: str
) -> None:
    path = write(tmp_path / "bedrockctl.toml", toml)
    with pytest.raises(ConfigError) as ei:
        load_settings(env={}, cwd=tmp_path, home=clean_env)
    msg = ei.value.message
    assert str(path) in msg and key in msg and value in msg and expected in msg, msg
    assert ei.value.code.startswith("BRC-CFG")


def test_env_error_names_the_variable(clean_env: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        load_settings(env={"BEDROCKCTL_RETRY_ATTEMPTS": "many"}, cwd=tmp_path, home=clean_env)
    assert "BEDROCKCTL_RETRY_ATTEMPTS" in ei.value.message and "'many'" in ei.value.message


def test_unknown_section_and_bad_toml(clean_env: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "bedrockctl.toml", "[awz]\nregion = 1\n")
    with pytest.raises(ConfigError) as ei:
        load_settings(env={}, cwd=tmp_path, home=clean_env)
    assert "[awz]" in ei.value.message and str(path) in ei.value.message
    write(tmp_path / "bedrockctl.toml", "[aws\nregion=")
    with pytest.raises(ConfigFileError) as ei2:
        load_settings(env={}, cwd=tmp_path, home=clean_env)
    assert "not valid TOML" in ei2.value.message


def test_missing_explicit_config(clean_env: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as ei:
        load_settings(env={}, cwd=tmp_path, home=clean_env, config_path=tmp_path / "nope.toml")
    assert "nope.toml" in ei.value.message


def test_half_a_key_pair_is_an_error_and_secret_is_never_shown(clean_env: Path, tmp_path: Path) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    write(tmp_path / "bedrockctl.toml", f'[aws]\nsecret_access_key = "{secret}"\n')
    with pytest.raises(ConfigError) as ei:
        load_settings(env={}, cwd=tmp_path, home=clean_env)
    assert "aws.access_key_id" in ei.value.message
    assert secret not in str(ei.value.to_dict())


def test_describe_sources_masks_secrets(clean_env: Path, tmp_path: Path) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    write(
        tmp_path / "bedrockctl.toml",
        f'[aws]\naccess_key_id = "AKIAIOSFODNN7EXAMPLE"\nsecret_access_key = "{secret}"\n',
    )
    s = load_settings(env={}, cwd=tmp_path, home=clean_env)
    shown = describe_sources(s)
    assert secret not in repr(shown)
    assert shown["aws.secret_access_key"]["value"] == "****"
    assert shown["aws.access_key_id"]["value"] == "AKIA****MPLE"
