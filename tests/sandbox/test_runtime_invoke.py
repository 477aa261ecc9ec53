"""InvokeModel / InvokeModelWithResponseStream in each model-native body format, and CountTokens."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrockctl.sandbox.core import InvocationRecord
from bedrockctl.sandbox.shapecheck import validate_output

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def _tok(text: str) -> int:
    return math.ceil(len(text.encode()) / 4)


@pytest.fixture
def records(sandbox_env: Any, monkeypatch: pytest.MonkeyPatch) -> list[InvocationRecord]:
    seen: list[InvocationRecord] = []
    original = sandbox_env.record_invocation

    def spy(req: Any, record: InvocationRecord) -> None:
        seen.append(record)
        original(req, record)

    monkeypatch.setattr(sandbox_env, "record_invocation", spy)
    return seen


@pytest.fixture
def rt(boto_client: Any) -> Any:
    return boto_client("bedrock-runtime")


def invoke(rt: Any, model_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    resp = rt.invoke_model(modelId=model_id, body=json.dumps(body), contentType="application/json")
    assert validate_output("bedrock-runtime", "InvokeModel", resp) == []
    return json.loads(resp["body"].read()), resp["ResponseMetadata"]["HTTPHeaders"]


def stream(rt: Any, model_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    resp = rt.invoke_model_with_response_stream(modelId=model_id, body=json.dumps(body))
    assert validate_output("bedrock-runtime", "InvokeModelWithResponseStream", resp) == []
    assert resp["contentType"] == "application/json"
    return [json.loads(e["chunk"]["bytes"]) for e in resp["body"]]


ANTHROPIC = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 200,
    "messages": [{"role": "user", "content": "Hi Claude"}],
    "system": "Short answers.",
}


def test_anthropic_messages(rt: Any, records: list[InvocationRecord]) -> None:
    out, headers = invoke(rt, HAIKU, ANTHROPIC)
    assert (out["type"], out["role"], out["model"], out["stop_reason"]) == (
        "message",
        "assistant",
        "claude-3-haiku-20240307",
        "end_turn",
    )
    assert out["id"].startswith("msg_bdrk_")
    usage = out["usage"]
    assert usage["input_tokens"] == 2 + _tok("Short answers.") + 3 + _tok("Hi Claude")
    assert usage["output_tokens"] == _tok(out["content"][0]["text"])
    assert usage["cache_creation_input_tokens"] == usage["cache_read_input_tokens"] == 0
    assert headers["x-amzn-bedrock-input-token-count"] == str(usage["input_tokens"])
    assert headers["x-amzn-bedrock-output-token-count"] == str(usage["output_tokens"])
    assert int(headers["x-amzn-bedrock-invocation-latency"]) == records[-1].latency_ms > 0
    assert (records[-1].operation, records[-1].input_tokens) == ("InvokeModel", usage["input_tokens"])


def test_anthropic_stream_events_and_metrics(rt: Any, records: list[InvocationRecord]) -> None:
    whole, _ = invoke(rt, HAIKU, ANTHROPIC)
    chunks = stream(rt, HAIKU, ANTHROPIC)
    types = [c["type"] for c in chunks]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    assert {"content_block_start", "content_block_delta", "content_block_stop"} <= set(types)
    text = "".join(c["delta"]["text"] for c in chunks if c["type"] == "content_block_delta")
    assert text == whole["content"][0]["text"]
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] == whole["usage"]["input_tokens"]
    assert metrics["outputTokenCount"] == whole["usage"]["output_tokens"]
    assert records[-1].operation == "InvokeModelWithResponseStream"
    assert records[-1].output_tokens == metrics["outputTokenCount"]


def test_anthropic_cache_control_and_tools(rt: Any) -> None:
    body = {**ANTHROPIC, "system": [{"type": "text", "text": "policy " * 300, "cache_control": {"type": "ephemeral"}}]}
    first, h1 = invoke(rt, HAIKU, body)
    second, _ = invoke(rt, HAIKU, body)
    prefix = 2 + _tok("policy " * 300)
    assert first["usage"]["cache_creation_input_tokens"] == prefix
    assert second["usage"]["cache_read_input_tokens"] == prefix
    assert h1["x-amzn-bedrock-cache-write-input-token-count"] == str(prefix)
    tools = [
        {
            "name": "lookup",
            "description": "d",
            "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
        }
    ]
    out, _ = invoke(rt, HAIKU, {**ANTHROPIC, "tools": tools, "messages": [{"role": "user", "content": "lookup x"}]})
    assert out["stop_reason"] == "tool_use"
    assert out["content"][-1]["type"] == "tool_use" and out["content"][-1]["id"].startswith("toolu_bdrk_")


def test_anthropic_max_tokens(rt: Any) -> None:
    out, _ = invoke(rt, HAIKU, {**ANTHROPIC, "max_tokens": 2})
    assert out["stop_reason"] == "max_tokens" and out["usage"]["output_tokens"] == 2


def test_titan_text(rt: Any) -> None:
    body = {"inputText": "Write a haiku", "textGenerationConfig": {"maxTokenCount": 50}}
    out, _ = invoke(rt, "amazon.titan-text-express-v1", body)
    assert out["inputTextTokenCount"] == _tok("Write a haiku")
    (result,) = out["results"]
    assert result["completionReason"] == "FINISH" and result["tokenCount"] == _tok(result["outputText"])
    chunks = stream(rt, "amazon.titan-text-express-v1", body)
    assert "".join(c["outputText"] for c in chunks) == result["outputText"]
    assert chunks[-1]["completionReason"] == "FINISH"
    assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == result["tokenCount"]
    short, _ = invoke(
        rt, "amazon.titan-text-express-v1", {"inputText": "x", "textGenerationConfig": {"maxTokenCount": 1}}
    )
    assert short["results"][0]["completionReason"] == "LENGTH"


def test_titan_embeddings(rt: Any) -> None:
    out, _ = invoke(rt, "amazon.titan-embed-text-v2:0", {"inputText": "embed me", "dimensions": 256})
    assert len(out["embedding"]) == 256 and out["inputTextTokenCount"] == _tok("embed me")
    assert abs(sum(v * v for v in out["embedding"]) - 1.0) < 1e-3
    again, _ = invoke(rt, "amazon.titan-embed-text-v2:0", {"inputText": "embed me", "dimensions": 256})
    assert again["embedding"] == out["embedding"]
    v1, _ = invoke(rt, "amazon.titan-embed-text-v1", {"inputText": "embed me"})
    assert len(v1["embedding"]) == 1536
    with pytest.raises(ClientError) as info:
        stream(rt, "amazon.titan-embed-text-v2:0", {"inputText": "x"})
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_nova(rt: Any) -> None:
    body = {
        "schemaVersion": "messages-v1",
        "messages": [{"role": "user", "content": [{"text": "Hello Nova"}]}],
        "inferenceConfig": {"max_new_tokens": 100},
    }
    out, _ = invoke(rt, "amazon.nova-lite-v1:0", body)
    assert out["stopReason"] == "end_turn"
    text = out["output"]["message"]["content"][0]["text"]
    assert out["usage"]["inputTokens"] == 3 + _tok("Hello Nova")
    assert out["usage"]["outputTokens"] == _tok(text)
    chunks = stream(rt, "amazon.nova-lite-v1:0", body)
    assert chunks[0] == {"messageStart": {"role": "assistant"}}
    assert "".join(c["contentBlockDelta"]["delta"]["text"] for c in chunks if "contentBlockDelta" in c) == text
    assert chunks[-1]["metadata"]["usage"]["outputTokens"] == out["usage"]["outputTokens"]


def test_llama(rt: Any) -> None:
    body = {"prompt": "<|begin_of_text|>Hello Llama", "max_gen_len": 128}
    out, _ = invoke(rt, "meta.llama3-8b-instruct-v1:0", body)
    assert out["prompt_token_count"] == _tok(body["prompt"])
    assert out["generation_token_count"] == _tok(out["generation"]) and out["stop_reason"] == "stop"
    chunks = stream(rt, "meta.llama3-8b-instruct-v1:0", body)
    assert "".join(c["generation"] for c in chunks) == out["generation"]
    assert chunks[-1]["stop_reason"] == "stop" and chunks[-1]["generation_token_count"] == out["generation_token_count"]
    assert invoke(rt, "meta.llama3-8b-instruct-v1:0", {**body, "max_gen_len": 1})[0]["stop_reason"] == "length"


def test_mistral(rt: Any) -> None:
    body = {"prompt": "<s>[INST] Hello Mistral [/INST]", "max_tokens": 64}
    out, _ = invoke(rt, "mistral.mistral-7b-instruct-v0:2", body)
    (first,) = out["outputs"]
    assert first["stop_reason"] == "stop" and first["text"]
    chunks = stream(rt, "mistral.mistral-7b-instruct-v0:2", body)
    assert "".join(c["outputs"][0]["text"] for c in chunks) == first["text"]
    assert chunks[-1]["outputs"][0]["stop_reason"] == "stop"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "Malformed input request"),
        (json.dumps({"anthropic_version": "bedrock-2023-05-31", "messages": []}).encode(), "[max_tokens]"),
        # a body of the wrong shape is Bedrock's 400, not a 500 (found by the gateway's fuzz test)
        (
            json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": None}).encode(),
            "Malformed",
        ),
        (
            json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": True}).encode(),
            "Malformed",
        ),
    ],
)
def test_bad_bodies(rt: Any, records: list[InvocationRecord], body: bytes, needle: str) -> None:
    with pytest.raises(ClientError) as info:
        rt.invoke_model(modelId=HAIKU, body=body)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert needle in info.value.response["Error"]["Message"]
    assert records[-1].error_code == "ValidationException"


def test_guardrail_headers_on_invoke(rt: Any, boto_client: Any) -> None:
    gid = boto_client("bedrock").create_guardrail(
        name="g", blockedInputMessaging="Sorry, the model cannot answer this question.", blockedOutputsMessaging="no"
    )["guardrailId"]
    body = {**ANTHROPIC, "messages": [{"role": "user", "content": "BLOCKME please"}]}
    resp = rt.invoke_model(
        modelId=HAIKU, body=json.dumps(body), guardrailIdentifier=gid, guardrailVersion="DRAFT", trace="ENABLED"
    )
    out = json.loads(resp["body"].read())
    assert out["amazon-bedrock-guardrailAction"] == "INTERVENED"
    assert out["content"][0]["text"] == "Sorry, the model cannot answer this question."
    assert "guardrail" in out["amazon-bedrock-trace"]


def test_count_tokens(rt: Any) -> None:
    resp = rt.count_tokens(
        modelId=HAIKU, input={"converse": {"messages": [{"role": "user", "content": [{"text": "count me"}]}]}}
    )
    assert validate_output("bedrock-runtime", "CountTokens", resp) == []
    assert resp["inputTokens"] == 3 + _tok("count me")
    raw = json.dumps(ANTHROPIC).encode()
    resp = rt.count_tokens(modelId=HAIKU, input={"invokeModel": {"body": raw}})
    assert resp["inputTokens"] == 2 + _tok("Short answers.") + 3 + _tok("Hi Claude")
