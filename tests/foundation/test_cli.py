"""The CLI as users run it: a real subprocess against a real moto server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bedrockctl.cli.main", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else dict(os.environ),
        cwd=cwd,
        timeout=60,
    )


def test_help_lists_command_groups() -> None:
    res = run("--help")
    assert res.returncode == 0
    for group in ("whoami", "config", "sandbox"):
        assert group in res.stdout


def _commands() -> list[list[str]]:
    import typer

    from bedrockctl.cli.app import app

    out: list[list[str]] = []
    cmd = typer.main.get_command(app)

    def walk(c: object, path: list[str]) -> None:
        subs = getattr(c, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            out.append(path)

    walk(cmd, [])
    return out


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p))
def test_every_command_help_has_an_example(path: list[str]) -> None:
    res = run(*path, "--help")
    assert res.returncode == 0, res.stderr
    assert "Example" in res.stdout, f"`bedrockctl {' '.join(path)} --help` shows no example"


def test_version() -> None:
    res = run("--version")
    assert res.returncode == 0 and res.stdout.startswith("bedrockctl ")


def test_whoami_json_against_moto(moto_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    res = run("whoami", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["account"] == "123456789012"
    assert data["arn"].startswith("arn:aws:")
    assert data["credential_source"] == "env"
    assert data["region"] == "us-east-1"
    assert "expiry" in data
    assert SECRET not in res.stdout + res.stderr
    assert "AKIAIOSFODNN7EXAMPLE" not in res.stdout + res.stderr


def test_whoami_with_temporary_credentials_shows_expiry(moto_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("BEDROCKCTL_ROLE_ARN", "arn:aws:iam::123456789012:role/reader")
    monkeypatch.setenv("BEDROCKCTL_EXTERNAL_ID", "ext-1")
    res = run("--region", "eu-west-1", "whoami", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["expiry"] and data["region"] == "eu-west-1"
    assert data["credential_source"] == "bedrockctl-assume-role"
    assert "session_token" not in res.stdout.lower() or "****" in res.stdout


def test_whoami_table(moto_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    res = run("whoami")
    assert res.returncode == 0 and "123456789012" in res.stdout and SECRET not in res.stdout


def test_no_credentials_is_one_line_with_code(moto_env: str) -> None:
    res = run("whoami")
    assert res.returncode == 4
    assert "BRC-CRED-001" in res.stderr and "fix:" in res.stderr
    assert "Traceback" not in res.stderr
    res = run("--json", "whoami")
    err = json.loads(res.stdout)["error"]
    assert err["code"] == "BRC-CRED-001" and err["remediation"]
    res = run("--verbose", "whoami")
    assert "Traceback" in res.stderr


def test_config_error_exit_code_and_json(clean_env: Path, tmp_path: Path) -> None:
    (Path.cwd() / "bedrockctl.toml").write_text(f'[aws]\nregion = "moon"\nsecret_access_key = "{SECRET}"\n')
    res = run("--json", "config", "show")
    assert res.returncode == 3
    err = json.loads(res.stdout)["error"]
    assert err["code"] == "BRC-CFG-001" and "aws.region" in err["message"] and "bedrockctl.toml" in err["message"]
    assert SECRET not in res.stdout + res.stderr


def test_config_show_masks_secrets(clean_env: Path) -> None:
    (Path.cwd() / "bedrockctl.toml").write_text(
        f'[aws]\nregion = "eu-west-1"\naccess_key_id = "AKIAIOSFODNN7EXAMPLE"\nsecret_access_key = "{SECRET}"\n'
    )
    res = run("config", "show", "--json", env={**os.environ, "BEDROCK_MODEL_ID": "amazon.nova-lite-v1:0"})
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)["settings"]
    assert data["aws.region"]["source"].startswith("file:")
    assert data["defaults.model"] == {"value": "amazon.nova-lite-v1:0", "source": "env:BEDROCK_MODEL_ID"}
    assert SECRET not in res.stdout and "AKIAIOSFODNN7EXAMPLE" not in res.stdout


def test_llm_provider_error(clean_env: Path) -> None:
    res = run("whoami", env={**os.environ, "LLM_PROVIDER": "openai"})
    assert res.returncode == 3 and "BRC-CFG-003" in res.stderr
