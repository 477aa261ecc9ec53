"""Native InvokeModel bodies of Cohere Command R / R+, Cohere Embed (v3 and v4 shapes), AI21 Jamba and Amazon
Titan Image Generator / Nova Canvas, through boto3: each provider's documented response shape, token-count
headers equal to the reported usage, streams where Bedrock streams, and an invocation log like any call."""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrockctl.sandbox.bedrock.formats_cohere import CohereEmbed
from bedrockctl.sandbox.shapecheck import validate_output

COMMAND_R = "cohere.command-r-v1:0"
COMMAND_R_PLUS = "cohere.command-r-plus-v1:0"
EMBED_V3 = "cohere.embed-english-v3"
JAMBA = "ai21.jamba-1-5-mini-v1:0"
TITAN_IMAGE = "amazon.titan-image-generator-v2:0"
CANVAS = "amazon.nova-canvas-v1:0"


def _tok(text: str) -> int:
    return math.ceil(len(text.encode()) / 4)


@pytest.fixture
def rt(boto_client: Any) -> Any:
    return boto_client("bedrock-runtime")


def invoke(rt: Any, model_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    resp = rt.invoke_model(modelId=model_id, body=json.dumps(body))
    assert validate_output("bedrock-runtime", "InvokeModel", resp) == []
    assert resp["contentType"] == "application/json"
    return json.loads(resp["body"].read()), resp["ResponseMetadata"]["HTTPHeaders"]


def stream(rt: Any, model_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    resp = rt.invoke_model_with_response_stream(modelId=model_id, body=json.dumps(body))
    assert validate_output("bedrock-runtime", "InvokeModelWithResponseStream", resp) == []
    return [json.loads(e["chunk"]["bytes"]) for e in resp["body"]]


def _headers_match(headers: dict[str, str], input_tokens: int, output_tokens: int) -> None:
    assert headers["x-amzn-bedrock-input-token-count"] == str(input_tokens)
    assert headers["x-amzn-bedrock-output-token-count"] == str(output_tokens)
    assert int(headers["x-amzn-bedrock-invocation-latency"]) > 0


def test_cohere_command_r_chat(rt: Any) -> None:
    body = {
        "message": "What is the sandbox?",
        "chat_history": [{"role": "USER", "message": "Hello"}, {"role": "CHATBOT", "message": "Hi there"}],
        "preamble": "Be brief.",
        "max_tokens": 200,
        "temperature": 0.3,
        "p": 0.75,
        "k": 50,
    }
    out, headers = invoke(rt, COMMAND_R, body)
    assert set(out) == {"response_id", "text", "generation_id", "finish_reason", "meta"}
    assert out["finish_reason"] == "COMPLETE" and 'I received "What is the sandbox?"' in out["text"]
    billed = out["meta"]["billed_units"]
    assert out["meta"]["api_version"] == {"version": "1"}
    assert billed["input_tokens"] == 2 + _tok("Be brief.") + 3 * 3 + _tok("Hello") + _tok("Hi there") + _tok(
        "What is the sandbox?"
    )
    assert billed["output_tokens"] == _tok(out["text"])
    _headers_match(headers, billed["input_tokens"], billed["output_tokens"])
    short, _ = invoke(rt, COMMAND_R_PLUS, {"message": "Tell me a long story", "max_tokens": 3})
    assert short["finish_reason"] == "MAX_TOKENS" and short["meta"]["billed_units"]["output_tokens"] == 3


def test_cohere_command_r_tools_and_stream(rt: Any) -> None:
    tools = [
        {
            "name": "get_weather",
            "description": "Weather of a city",
            "parameter_definitions": {"city": {"type": "str", "description": "City", "required": True}},
        }
    ]
    out, _ = invoke(rt, COMMAND_R_PLUS, {"message": "use get_weather for Paris", "tools": tools})
    assert out["tool_calls"] == [{"name": "get_weather", "parameters": {"city": "sandbox"}}]
    follow = {
        "message": "",
        "tools": tools,
        "chat_history": [{"role": "USER", "message": "use get_weather for Paris"}],
        "tool_results": [{"call": out["tool_calls"][0], "outputs": [{"temperature": "21C"}]}],
    }
    answer, _ = invoke(rt, COMMAND_R_PLUS, follow)
    assert "tool_calls" not in answer and "21C" in answer["text"]
    events = stream(rt, COMMAND_R, {"message": "stream please"})
    assert [e["event_type"] for e in (events[0], events[-1])] == ["stream-start", "stream-end"]
    text = "".join(e["text"] for e in events if e["event_type"] == "text-generation")
    end = events[-1]
    assert end["is_finished"] is True and end["response"]["text"] == text
    metrics = end["amazon-bedrock-invocationMetrics"]
    assert metrics["outputTokenCount"] == end["response"]["meta"]["billed_units"]["output_tokens"] == _tok(text)


def test_cohere_embed_v3_floats_and_types(rt: Any) -> None:
    texts = ["first document", "second document"]
    out, headers = invoke(rt, EMBED_V3, {"texts": texts, "input_type": "search_document"})
    assert out["response_type"] == "embeddings_floats" and out["texts"] == texts
    assert [len(v) for v in out["embeddings"]] == [1024, 1024]
    assert out["embeddings"][0] != out["embeddings"][1]
    _headers_match(headers, _tok(texts[0]) + _tok(texts[1]), 0)
    typed, _ = invoke(
        rt,
        EMBED_V3,
        {"texts": texts[:1], "input_type": "search_query", "embedding_types": ["float", "int8", "ubinary"]},
    )
    assert typed["response_type"] == "embeddings_by_type"
    assert set(typed["embeddings"]) == {"float", "int8", "ubinary"}
    assert len(typed["embeddings"]["int8"][0]) == 1024 and max(map(abs, typed["embeddings"]["int8"][0])) == 127
    assert len(typed["embeddings"]["ubinary"][0]) == 128
    assert all(0 <= b <= 255 for b in typed["embeddings"]["ubinary"][0])
    with pytest.raises(ClientError) as info:
        rt.invoke_model_with_response_stream(modelId=EMBED_V3, body=json.dumps({"texts": ["x"], "input_type": "x"}))
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_cohere_embed_v4_shape() -> None:
    """The v4 body (interleaved ``inputs``, ``output_dimension``) by the format directly: the sandbox catalog
    has no v4 model to invoke."""
    fmt = CohereEmbed()
    body = {
        "input_type": "search_document",
        "inputs": [{"content": [{"type": "text", "text": "page one"}, {"type": "image_url", "image_url": "data:"}]}],
        "output_dimension": 256,
        "embedding_types": ["float", "binary"],
    }
    prompt = fmt.parse(body)
    gen = fmt.direct(body, prompt, "cohere.embed-v4:0")
    out = fmt.response(gen, "cohere.embed-v4:0", "req-1")
    assert out["response_type"] == "embeddings_by_type"
    assert len(out["embeddings"]["float"][0]) == 256 and len(out["embeddings"]["binary"][0]) == 32
    assert gen.usage.input_tokens == _tok("page one") + 1600
    default = fmt.direct(
        {"input_type": "clustering", "texts": ["a"]},
        fmt.parse({"input_type": "x", "texts": ["a"]}),
        "cohere.embed-v4:0",
    )
    assert len(default.vectors[0]) == 1536


def test_ai21_jamba_chat_and_stream(rt: Any) -> None:
    body = {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello Jamba"}],
        "max_tokens": 100,
        "temperature": 1.5,
    }
    out, headers = invoke(rt, JAMBA, body)
    assert out["model"] == "jamba-1.5-mini" and out["id"].startswith("chatcmpl-")
    choice = out["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "stop"
    usage = out["usage"]
    assert usage["prompt_tokens"] == 2 + _tok("Be brief.") + 3 + _tok("Hello Jamba")
    assert usage["completion_tokens"] == _tok(choice["message"]["content"])
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    _headers_match(headers, usage["prompt_tokens"], usage["completion_tokens"])
    chunks = stream(rt, JAMBA, body)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == choice["message"]["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["usage"] == usage
    assert chunks[-1]["amazon-bedrock-invocationMetrics"]["inputTokenCount"] == usage["prompt_tokens"]
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    called, _ = invoke(rt, JAMBA, {"messages": [{"role": "user", "content": "run lookup"}], "tools": tools})
    call = called["choices"][0]["message"]["tool_calls"][0]
    assert call["type"] == "function" and call["function"]["name"] == "lookup"
    assert called["choices"][0]["finish_reason"] == "tool_calls"


def _png_size(b64: str) -> tuple[int, int]:
    raw = base64.b64decode(b64)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR"
    width, height = struct.unpack(">II", raw[16:24])
    return width, height


@pytest.mark.parametrize("model_id", [TITAN_IMAGE, CANVAS])
def test_image_generation(rt: Any, model_id: str) -> None:
    body = {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": "a lighthouse at dusk"},
        "imageGenerationConfig": {"numberOfImages": 2, "width": 512, "height": 512, "cfgScale": 8.0, "seed": 7},
    }
    out, headers = invoke(rt, model_id, body)
    assert list(out) == ["images"] and len(out["images"]) == 2
    assert [_png_size(i) for i in out["images"]] == [(512, 512), (512, 512)]
    again, _ = invoke(rt, model_id, body)
    assert again == out  # deterministic for the same request
    _headers_match(headers, _tok("a lighthouse at dusk"), 0)
    with pytest.raises(ClientError) as info:
        rt.invoke_model_with_response_stream(modelId=model_id, body=json.dumps(body))
    assert info.value.response["Error"]["Message"] == "The model is unsupported for streaming."


def test_native_calls_are_logged_like_the_others(boto_client: Any, rt: Any) -> None:
    logs = boto_client("logs")
    logs.create_log_group(logGroupName="/bedrock/invocations")
    boto_client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={
            "cloudWatchConfig": {
                "logGroupName": "/bedrock/invocations",
                "roleArn": "arn:aws:iam::123456789012:role/bedrock-logging",
            },
            "textDataDeliveryEnabled": True,
            "embeddingDataDeliveryEnabled": True,
        }
    )
    invoke(rt, COMMAND_R, {"message": "log me"})
    invoke(rt, EMBED_V3, {"texts": ["log me"], "input_type": "search_query"})
    invoke(rt, JAMBA, {"messages": [{"role": "user", "content": "log me"}]})
    events = logs.filter_log_events(logGroupName="/bedrock/invocations")["events"]
    records = {json.loads(e["message"])["modelId"]: json.loads(e["message"]) for e in events}
    assert set(records) == {COMMAND_R, EMBED_V3, JAMBA}
    assert records[COMMAND_R]["operation"] == "InvokeModel"
    assert records[COMMAND_R]["input"]["inputBodyJson"] == {"message": "log me"}
    assert records[COMMAND_R]["output"]["outputTokenCount"] == _tok(
        records[COMMAND_R]["output"]["outputBodyJson"]["text"]
    )
    assert records[EMBED_V3]["input"]["inputTokenCount"] == _tok("log me")
