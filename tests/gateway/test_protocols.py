"""Every client completes a call and a streamed call through the gateway to the sandbox."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from typing import Any

import boto3
import pytest
from botocore.config import Config

from bedrockctl.store.audit import query

from .conftest import HAIKU, RunningGateway

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})
MSG = [{"role": "user", "content": [{"text": "hello gateway"}]}]
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def sigv4_client(gw: RunningGateway, key: dict[str, Any]) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=gw.url,
        config=NO_RETRY,
        aws_access_key_id=key["aws_access_key_id"],
        aws_secret_access_key=key["aws_secret_access_key"],
    )


def audit(gw: RunningGateway) -> list[Any]:
    gw.flush()
    return list(query(gw.gateway.engine, limit=None))


def test_boto3_sigv4_converse_stream_invoke(gw: RunningGateway) -> None:
    key = gw.key()
    c = sigv4_client(gw, key)
    r = c.converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 50})
    assert "hello gateway" in r["output"]["message"]["content"][0]["text"]
    assert r["usage"]["inputTokens"] > 0
    events = list(c.converse_stream(modelId=HAIKU, messages=MSG)["stream"])
    assert "messageStart" in events[0] and "metadata" in events[-1]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert "hello gateway" in text
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 40,
        "messages": [{"role": "user", "content": "native hello"}],
    }
    r = c.invoke_model(modelId=HAIKU, body=json.dumps(body))
    assert json.loads(r["body"].read())["type"] == "message"
    assert int(r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-input-token-count"]) > 0
    chunks = list(c.invoke_model_with_response_stream(modelId=HAIKU, body=json.dumps(body))["body"])
    assert chunks and all("chunk" in ch for ch in chunks)
    rows = audit(gw)
    assert [r.operation for r in rows] == ["Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"]
    assert all(r.status == "ok" and r.key_id == key["key_id"] and r.team == "ml" for r in rows)
    assert all(r.input_tokens > 0 and r.output_tokens > 0 and r.cost_nusd > 0 for r in rows)
    assert rows[0].output_tokens == events[-1]["metadata"]["usage"]["outputTokens"] or rows[0].output_tokens > 0


def test_boto3_bearer_token(start_gateway: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    gw = start_gateway(tls=True)  # botocore >= 1.44 sends a bearer token over HTTPS only
    key = gw.key(user="bob")
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", key["token"])
    # the sandbox credentials in the environment are unknown to the gateway: only the bearer token can pass
    c = boto3.client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url=gw.url, config=NO_RETRY, verify=str(gw.ca)
    )
    assert c.converse(modelId=HAIKU, messages=MSG)["stopReason"]
    assert list(c.converse_stream(modelId=HAIKU, messages=MSG)["stream"])[-1]["metadata"]["usage"]
    assert {r.user_name for r in audit(gw)} == {"bob"}


def test_bad_signature_and_unknown_key(gw: RunningGateway) -> None:
    key = gw.key()
    c = sigv4_client(gw, {**key, "aws_secret_access_key": "x" * 40})
    with pytest.raises(c.exceptions.ClientError) as exc:
        c.converse(modelId=HAIKU, messages=MSG)
    assert exc.value.response["Error"]["Code"] == "InvalidSignatureException"
    c = sigv4_client(gw, {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "testing"})
    with pytest.raises(c.exceptions.ClientError) as exc:
        c.converse(modelId=HAIKU, messages=MSG)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_openai_sdk_chat_stream_tools_images_embeddings(gw: RunningGateway) -> None:
    import openai

    key = gw.key()
    client = openai.OpenAI(api_key=key["token"], base_url=gw.url + "/v1", max_retries=0)
    r = client.chat.completions.create(
        model="haiku", messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello openai"}]
    )
    assert "hello openai" in r.choices[0].message.content and r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.prompt_tokens > 0 and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    chunks = list(
        client.chat.completions.create(
            model="haiku",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0 and chunks[-1].choices == []
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather of a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ]
    r = client.chat.completions.create(
        model="haiku", tools=tools, tool_choice="required", messages=[{"role": "user", "content": "weather in Paris?"}]
    )
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    assert "city" in json.loads(call.function.arguments)
    r = client.chat.completions.create(
        model="haiku",
        messages=[
            {"role": "user", "content": "weather in Paris?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": call.function.arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"},
        ],
        tools=tools,
    )
    assert r.choices[0].message.content
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    r = client.chat.completions.create(
        model="haiku",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": data_url}},
                ],
            }
        ],
    )
    assert r.usage.prompt_tokens >= 1600  # an image counts as one media block
    e = client.embeddings.create(model="amazon.titan-embed-text-v2:0", input=["one", "two"])
    assert len(e.data) == 2 and len(e.data[0].embedding) > 10 and e.usage.prompt_tokens > 0
    models = [m.id for m in client.models.list()]
    assert "haiku" in models
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(api_key="bgk.nope.nope", base_url=gw.url + "/v1", max_retries=0).models.list()
    ops = [r.operation for r in audit(gw) if r.status == "ok"]
    assert ops.count("ConverseStream") == 1 and ops.count("Embeddings") == 1


def test_aws_cli(gw: RunningGateway, tmp_path: Any) -> None:
    key = gw.key(user="cli")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": key["aws_secret_access_key"],
        "AWS_MAX_ATTEMPTS": "1",
    }
    aws = [sys.executable, "-m", "awscli", "bedrock-runtime", "--endpoint-url", gw.url, "--region", "us-east-1"]
    out = subprocess.run(
        [*aws, "converse", "--model-id", HAIKU, "--messages", json.dumps(MSG)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "hello gateway" in out.stdout
    body = tmp_path / "body.json"
    body.write_text(
        json.dumps(
            {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 30,
                "messages": [{"role": "user", "content": "cli native"}],
            }
        )
    )
    out = subprocess.run(
        [*aws, "invoke-model", "--model-id", HAIKU, "--body", f"fileb://{body}", str(tmp_path / "out.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "out.json").read_text())["type"] == "message"
    # The bearer token works for the CLI too (botocore reads AWS_BEARER_TOKEN_BEDROCK)
    env2 = {k: v for k, v in env.items() if not k.startswith("AWS_ACCESS_KEY") and k != "AWS_SECRET_ACCESS_KEY"}
    env2["AWS_BEARER_TOKEN_BEDROCK"] = key["token"]
    out = subprocess.run(
        [*aws, "converse", "--model-id", HAIKU, "--messages", json.dumps(MSG)],
        env=env2,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert {r.user_name for r in audit(gw)} == {"cli"} and len(audit(gw)) == 3


def test_anthropic_bedrock_client(gw: RunningGateway) -> None:
    import anthropic

    key = gw.key(user="claude")
    client = anthropic.AnthropicBedrock(
        aws_access_key=key["aws_access_key_id"],
        aws_secret_key=key["aws_secret_access_key"],
        aws_region="us-east-1",
        base_url=gw.url,
        max_retries=0,
    )
    m = client.messages.create(model=HAIKU, max_tokens=64, messages=[{"role": "user", "content": "hello claude"}])
    assert "hello claude" in m.content[0].text and m.usage.input_tokens > 0
    with client.messages.stream(
        model=HAIKU, max_tokens=64, messages=[{"role": "user", "content": "hello stream"}]
    ) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert "hello stream" in text and final.usage.output_tokens > 0
    rows = audit(gw)
    assert [r.operation for r in rows] == ["InvokeModel", "InvokeModelWithResponseStream"]
    assert rows[1].output_tokens == final.usage.output_tokens


def test_health_ready_metrics(gw: RunningGateway) -> None:
    import httpx

    assert httpx.get(gw.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(gw.url + "/readyz").status_code == 200
    key = gw.key()
    sigv4_client(gw, key).converse(modelId=HAIKU, messages=MSG)
    text = httpx.get(gw.url + "/metrics").text
    assert 'protocol="bedrock",status="ok"} 1' in text
    assert "bedrockctl_gateway_request_duration_seconds_count" in text
