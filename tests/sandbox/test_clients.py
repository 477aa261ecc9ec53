"""Other real clients against the sandbox: the AWS CLI (subprocess) and the Anthropic SDK's Bedrock client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
AWS = str(Path(sys.executable).with_name("aws"))


def _aws(*args: str) -> Any:
    proc = subprocess.run(
        [AWS, *args, "--output", "json"], capture_output=True, text=True, timeout=60, env=dict(os.environ), check=False
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_aws_cli_converse(sandbox_env: Any) -> None:
    messages = json.dumps([{"role": "user", "content": [{"text": "Hello from the CLI"}]}])
    out = _aws("bedrock-runtime", "converse", "--model-id", HAIKU, "--messages", messages)
    assert out["stopReason"] == "end_turn"
    assert '"Hello from the CLI"' in out["output"]["message"]["content"][0]["text"]
    assert out["usage"]["totalTokens"] == out["usage"]["inputTokens"] + out["usage"]["outputTokens"]


def test_aws_cli_list_foundation_models(sandbox_env: Any) -> None:
    out = _aws("bedrock", "list-foundation-models")
    assert HAIKU in {m["modelId"] for m in out["modelSummaries"]}


def test_aws_cli_error_exit_code(sandbox_env: Any) -> None:
    messages = json.dumps([{"role": "user", "content": [{"text": "x"}]}])
    proc = subprocess.run(
        [AWS, "bedrock-runtime", "converse", "--model-id", "acme.nope-v1:0", "--messages", messages],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        check=False,
    )
    assert proc.returncode != 0
    assert "ValidationException" in proc.stderr and "The provided model identifier is invalid." in proc.stderr


@pytest.fixture
def anthropic_client(sandbox_env: Any) -> Any:
    anthropic = pytest.importorskip("anthropic")
    return anthropic.AnthropicBedrock(
        aws_access_key="AKIAIOSFODNN7EXAMPLE",
        aws_secret_key="testing",
        aws_region="us-east-1",
        base_url=sandbox_env.endpoint_url,
        max_retries=0,
    )


def test_anthropic_sdk_messages_create(anthropic_client: Any) -> None:
    msg = anthropic_client.messages.create(
        model=HAIKU, max_tokens=256, system="Be brief.", messages=[{"role": "user", "content": "Hi from the SDK"}]
    )
    assert msg.role == "assistant" and msg.stop_reason == "end_turn"
    assert '"Hi from the SDK"' in msg.content[0].text
    assert msg.usage.output_tokens > 0 and msg.usage.input_tokens > 0


def test_anthropic_sdk_messages_stream(anthropic_client: Any) -> None:
    whole = anthropic_client.messages.create(
        model=HAIKU, max_tokens=256, messages=[{"role": "user", "content": "Stream from the SDK"}]
    )
    with anthropic_client.messages.stream(
        model=HAIKU, max_tokens=256, messages=[{"role": "user", "content": "Stream from the SDK"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == whole.content[0].text
    assert final.usage.output_tokens == whole.usage.output_tokens
    assert final.stop_reason == "end_turn"


def test_anthropic_sdk_profile_and_error(anthropic_client: Any) -> None:
    anthropic = pytest.importorskip("anthropic")
    msg = anthropic_client.messages.create(
        model="us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        max_tokens=64,
        messages=[{"role": "user", "content": "via profile"}],
    )
    assert msg.content[0].text
    with pytest.raises(anthropic.BadRequestError) as info:
        anthropic_client.messages.create(
            model="anthropic.claude-sonnet-4-5-20250929-v1:0",
            max_tokens=64,
            messages=[{"role": "user", "content": "on demand"}],
        )
    assert "on-demand throughput isn't supported" in str(info.value)
