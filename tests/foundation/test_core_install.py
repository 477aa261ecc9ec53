"""A venv with only ``pip install .`` (no extras) runs the commands that need no server, against the sandbox over
HTTP; a command that needs an extra names the ``pip install`` line with ``BRC-INS-001``."""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("core") / "venv"
    venv.EnvBuilder(with_pip=True).create(where)
    pip = [str(where / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    if os.environ.get("BEDROCKCTL_DEPS") != "latest":  # the pinned set, like the suite's own venv
        pip += ["-c", str(ROOT / "constraints.txt")]
    done = subprocess.run([*pip, str(ROOT)], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        pytest.fail(f"pip install . failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return where


def run(core_venv: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(core_venv / "bin" / "bedrockctl"), *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture
def env(sandbox_env: Any, tmp_path: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {
        **keep,
        "AWS_ENDPOINT_URL": sandbox_env.endpoint_url,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "BEDROCKCTL_DATA_DIR": str(tmp_path / "data"),
        "NO_PROXY": "127.0.0.1,localhost",
        "COLUMNS": "200",
        "BEDROCK_MODEL_ID": HAIKU,
    }


def test_the_core_install_has_no_optional_module(core_venv: Path) -> None:
    optional = "('starlette', 'moto', 'duckdb', 'psycopg', 'redis', 'openai')"
    probe = f"import importlib.util as u; print([m for m in {optional} if u.find_spec(m)])"
    out = subprocess.run([str(core_venv / "bin" / "python"), "-c", probe], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (("invoke", "hello"), "Sandbox reply"),  # the model from BEDROCK_MODEL_ID
        (("invoke", "--model", "haiku", "hello", "--json"), '"output_tokens"'),
        (("whoami", "--json"), '"account"'),
        (("models", "--region", "us-east-1", "--json"), HAIKU),
        (("policy", "--features", "invoke", "--model", HAIKU), "bedrock:InvokeModel"),
        (("discover", "--regions", "us-east-1", "--json"), '"snapshot"'),
        (("chat", "--model", HAIKU, "--help"), "Commands inside the chat"),
        (("agent", "--help"), "--agent-id"),
    ],
)
def test_core_commands_run(core_venv: Path, env: dict[str, str], args: tuple[str, ...], expect: str) -> None:
    done = run(core_venv, env, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert expect in done.stdout


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (("serve",), "server"),
        (("sandbox",), "sandbox"),
        (("users", "list"), "server"),
        (("usage", "report"), "analytics"),
        (("demo", "--no-serve"), "all"),
    ],
)
def test_commands_that_need_an_extra_name_it(
    core_venv: Path, env: dict[str, str], args: tuple[str, ...], extra: str
) -> None:
    done = run(core_venv, env, *args)
    assert done.returncode == 10, done.stdout + done.stderr
    assert "BRC-INS-001" in done.stderr and f"pip install 'bedrockctl[{extra}]'" in done.stderr
    assert "Traceback" not in done.stderr
    as_json = run(core_venv, env, "--json", *args)
    assert f"bedrockctl[{extra}]" in as_json.stdout and '"BRC-INS-001"' in as_json.stdout
