"""The Anthropic Messages API through the gateway, driven by the ``anthropic`` SDK: plain, streamed, tools,
images, ``anthropic-beta``, count_tokens; errors in Anthropic's shape; keys, limits and audit as for the others."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import pytest

from bedrockctl.store.audit import query

from .conftest import HAIKU, RunningGateway

MODEL = "claude-3-haiku-20240307"  # the Anthropic API's name; the gateway maps it to the Bedrock id
LOG_GROUP = "/bedrock/gateway-anthropic"


def client(gw: RunningGateway, token: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=token, max_retries=0)


def audit(gw: RunningGateway) -> list[Any]:
    gw.flush()
    return list(query(gw.gateway.engine, limit=None))


def _png() -> bytes:
    """A 2x2 RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_messages_plain_and_audited(gw: RunningGateway) -> None:
    c = client(gw, gw.key()["token"])
    msg = c.messages.create(model=MODEL, max_tokens=40, messages=[{"role": "user", "content": "hello gateway"}])
    assert msg.type == "message" and msg.role == "assistant" and msg.model == MODEL
    assert msg.content and msg.content[0].type == "text" and msg.content[0].text
    assert msg.usage.input_tokens > 0 and 0 < msg.usage.output_tokens <= 40
    (row,) = audit(gw)
    assert (row.protocol, row.operation, row.status, row.model_served) == ("anthropic", "InvokeModel", "ok", HAIKU)
    assert (row.input_tokens, row.output_tokens) == (msg.usage.input_tokens, msg.usage.output_tokens)
    assert row.cost_nusd > 0


def test_messages_streamed(gw: RunningGateway) -> None:
    c = client(gw, gw.key()["token"])
    with c.messages.stream(
        model=MODEL, max_tokens=60, messages=[{"role": "user", "content": "stream a story"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.content[0].text == text and final.model == MODEL
    assert final.stop_reason in ("end_turn", "max_tokens") and final.usage.output_tokens > 0
    (row,) = audit(gw)
    assert (row.operation, row.status, row.http_status) == ("InvokeModelWithResponseStream", "ok", 200)
    assert row.output_tokens == final.usage.output_tokens and row.input_tokens == final.usage.input_tokens


def test_messages_raw_sse_events(gw: RunningGateway) -> None:
    body = {"model": MODEL, "max_tokens": 30, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    r = httpx.post(gw.url + "/v1/messages", json=body, headers={"x-api-key": gw.key()["token"]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = [line[len("event: ") :] for line in r.text.splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-1] == "message_stop" and "content_block_delta" in events
    assert "amazon-bedrock-invocationMetrics" not in r.text  # Bedrock's own metrics are not Anthropic's


def test_tools_and_images(gw: RunningGateway) -> None:
    c = client(gw, gw.key()["token"])
    tool = {
        "name": "get_weather",
        "description": "Weather of a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
    msg = c.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[tool],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    )
    assert msg.stop_reason == "tool_use"
    use = next(b for b in msg.content if b.type == "tool_use")
    assert use.name == "get_weather" and isinstance(use.input, dict)
    image = {"type": "base64", "media_type": "image/png", "data": base64.b64encode(_png()).decode()}
    seen = c.messages.create(
        model=MODEL,
        max_tokens=40,
        messages=[
            {"role": "user", "content": [{"type": "image", "source": image}, {"type": "text", "text": "What is it?"}]}
        ],
    )
    assert seen.content[0].type == "text"


def test_anthropic_beta_and_version_reach_bedrock(gw: RunningGateway, boto_client: Callable[..., Any]) -> None:
    """The body Bedrock receives (read back from the sandbox's model invocation log) carries
    ``anthropic_version: bedrock-2023-05-31`` and the caller's ``anthropic-beta`` header as ``anthropic_beta``."""
    logs = boto_client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    boto_client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={
            "cloudWatchConfig": {"logGroupName": LOG_GROUP, "roleArn": "arn:aws:iam::123456789012:role/logs"},
            "textDataDeliveryEnabled": True,
        }
    )
    try:
        c = client(gw, gw.key()["token"])
        c.messages.create(
            model=MODEL,
            max_tokens=20,
            messages=[{"role": "user", "content": "beta please"}],
            metadata={"user_id": "u-1"},  # the Messages API's field Bedrock does not take: dropped
            extra_headers={"anthropic-beta": "token-efficient-tools-2025-02-19, interleaved-thinking-2025-05-14"},
        )
        events = logs.filter_log_events(logGroupName=LOG_GROUP)["events"]
        (record,) = [json.loads(e["message"]) for e in events]
    finally:
        boto_client("bedrock").delete_model_invocation_logging_configuration()
    sent = record["input"]["inputBodyJson"]
    assert sent["anthropic_version"] == "bedrock-2023-05-31"
    assert sent["anthropic_beta"] == ["interleaved-thinking-2025-05-14", "token-efficient-tools-2025-02-19"]
    assert "model" not in sent and "metadata" not in sent and "stream" not in sent


def test_count_tokens_is_free_and_matches_the_call(gw: RunningGateway) -> None:
    c = client(gw, gw.key()["token"])
    messages = [{"role": "user", "content": "count these words for me"}]
    counted = c.messages.count_tokens(model=MODEL, messages=messages, system="be brief")
    sent = c.messages.create(model=MODEL, max_tokens=10, messages=messages, system="be brief")
    assert counted.input_tokens == sent.usage.input_tokens > 0
    rows = {r.operation: r for r in audit(gw)}
    assert rows["CountTokens"].status == "ok" and rows["CountTokens"].cost_nusd == 0
    assert rows["CountTokens"].protocol == "anthropic"


def test_errors_in_anthropic_shape(gw: RunningGateway) -> None:
    with pytest.raises(anthropic.AuthenticationError) as bad_key:
        client(gw, "not-a-key").messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert bad_key.value.status_code == 401
    assert bad_key.value.body["type"] == "error" and bad_key.value.body["error"]["type"] == "authentication_error"
    c = client(gw, gw.key()["token"])
    with pytest.raises(anthropic.BadRequestError) as bad:
        c.messages.create(model=MODEL, max_tokens=5, messages="not a list")  # type: ignore[arg-type]
    assert bad.value.body["error"]["type"] == "invalid_request_error"
    with pytest.raises(anthropic.NotFoundError):
        c.messages.create(
            model="amazon.titan-text-express-v1", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    limited = client(gw, gw.key(limits={"rpm": 1})["token"])
    limited.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "one"}])
    with pytest.raises(anthropic.RateLimitError) as rl:
        limited.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "two"}])
    assert rl.value.body["error"]["type"] == "rate_limit_error" and "retry-after" in rl.value.response.headers
    refused = {(r.status, r.http_status) for r in audit(gw) if r.protocol == "anthropic" and r.status != "ok"}
    assert refused == {
        ("unauthenticated", 401),
        ("invalid_request", 400),
        ("invalid_request", 404),
        ("rate_limited", 429),
    }


def test_bearer_authorization_is_accepted(gw: RunningGateway) -> None:
    body = {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    token = gw.key()["token"]
    r = httpx.post(gw.url + "/v1/messages", json=body, headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["type"] == "message"
