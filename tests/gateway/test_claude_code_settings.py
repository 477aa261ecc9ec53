"""``bedrockctl keys create --for claude-code``: a settings.json whose environment, used as Claude Code uses it
(bearer token, Bedrock base URL, the mapped models), reaches the gateway and is admitted; a key Claude Code
could not use is refused before it is created."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from .test_cli import _cli, _config

SONNET_PROFILE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU_PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def test_claude_code_settings_reach_the_gateway(start_gateway: Any, tmp_path: Path) -> None:
    gw = start_gateway()
    _config(tmp_path)
    created = json.loads(
        _cli(tmp_path, "keys", "create", "--user", "ana", "--team", "ml", "--env", "dev", "--for", "claude-code",
             "--gateway-url", gw.url, "--model", "haiku", "--model", SONNET_PROFILE, "--max-output-tokens", "2048",
             "--json").stdout
    )  # fmt: skip
    env = created["claude_code"]["env"]
    assert env["CLAUDE_CODE_USE_BEDROCK"] == "1" and env["ANTHROPIC_BEDROCK_BASE_URL"] == gw.url
    assert env["AWS_REGION"] == "us-east-1" and env["AWS_BEARER_TOKEN_BEDROCK"] == created["token"]
    assert env["ANTHROPIC_MODEL"] == SONNET_PROFILE  # the largest Claude the key may use
    assert env["ANTHROPIC_SMALL_FAST_MODEL"] == env["ANTHROPIC_DEFAULT_HAIKU_MODEL"]
    assert "haiku" in env["ANTHROPIC_SMALL_FAST_MODEL"]
    assert env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] == "2048"
    assert f"export AWS_BEARER_TOKEN_BEDROCK={created['token']}" in created["claude_code_env"]

    # what Claude Code sends: the Anthropic Messages body to InvokeModel at the base URL, with the bearer token
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": int(env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"]),
        "messages": [{"role": "user", "content": "hi"}],
    }
    for model in (env["ANTHROPIC_MODEL"], env["ANTHROPIC_SMALL_FAST_MODEL"]):
        r = httpx.post(
            f"{env['ANTHROPIC_BEDROCK_BASE_URL']}/model/{model}/invoke",
            json=body,
            headers={"authorization": f"Bearer {env['AWS_BEARER_TOKEN_BEDROCK']}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        assert r.json()["type"] == "message"

    # the table output shows the settings once, with the token
    text = _cli(tmp_path, "keys", "create", "--user", "bo", "--team", "ml", "--env", "dev", "--for", "claude-code",
                "--model", SONNET_PROFILE).stdout  # fmt: skip
    token = next(w for w in text.split() if w.startswith("bgk."))
    assert '"CLAUDE_CODE_USE_BEDROCK": "1"' in text and f"export AWS_BEARER_TOKEN_BEDROCK={token}" in text


def test_a_key_claude_code_cannot_use_is_not_created(start_gateway: Any, tmp_path: Path) -> None:
    start_gateway()
    _config(tmp_path)
    before = json.loads(_cli(tmp_path, "keys", "list", "--json").stdout)
    refused = _cli(tmp_path, "keys", "create", "--user", "cy", "--team", "ml", "--env", "dev", "--for", "claude-code",
                   "--model", "amazon.titan-text-express-v1", "--json", check=False)  # fmt: skip
    assert refused.returncode != 0
    assert json.loads(refused.stdout)["error"]["code"] == "BRC-VAL-001"
    assert "no Claude model" in refused.stdout
    assert json.loads(_cli(tmp_path, "keys", "list", "--json").stdout) == before
    bad_url = _cli(tmp_path, "keys", "create", "--user", "cy", "--team", "ml", "--env", "dev", "--for", "claude-code",
                   "--gateway-url", "gw.example", "--json", check=False)  # fmt: skip
    assert bad_url.returncode != 0 and "not an http(s) URL" in bad_url.stdout
