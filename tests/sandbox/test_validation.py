"""What AWS rejects, the sandbox rejects: blank text blocks, and inference parameters outside each model's
published range (Converse and native InvokeModel bodies), with AWS's ValidationException messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrockctl.catalog.model import load_catalog
from bedrockctl.sandbox.bedrock.formats_raw import format_for
from bedrockctl.sandbox.bedrock.validate import _table, params_for

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
ANTHROPIC = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50}


@pytest.fixture
def rt(boto_client: Any) -> Any:
    return boto_client("bedrock-runtime")


def _error(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response
    assert err["Error"]["Code"] == "ValidationException"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(err["Error"]["Message"])


def _user(*blocks: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(blocks)}]


@pytest.mark.parametrize("text", ["", " ", "\n\t "])
def test_converse_blank_text_block(rt: Any, text: str) -> None:
    message = _error(rt.converse, modelId=HAIKU, messages=_user({"text": text}))
    assert message == (
        "The text field in the ContentBlock object at messages.0.content.0 is blank. "
        "Add text to the text field, and try again."
    )
    later = [*_user({"text": "hi"}), {"role": "assistant", "content": [{"text": "ok"}, {"text": " "}]}]
    assert "at messages.1.content.1 is blank" in _error(rt.converse, modelId=HAIKU, messages=later)
    stream_message = _error(rt.converse_stream, modelId=HAIKU, messages=_user({"text": text}))
    assert stream_message == message


def test_converse_empty_content_and_blank_guard_content(rt: Any) -> None:
    assert _error(rt.converse, modelId=HAIKU, messages=[{"role": "user", "content": []}]) == (
        "The content field in the Message object at messages.0 is empty. Add a ContentBlock object to the "
        "content field and try again."
    )
    guarded = _user({"text": "hi"}, {"guardContent": {"text": {"text": "  "}}})
    assert _error(rt.converse, modelId=HAIKU, messages=guarded).startswith(
        "The guard content field in the ContentBlock object at messages.0.content.1 is blank"
    )


def test_converse_inference_config_ranges(rt: Any) -> None:
    msgs = _user({"text": "hi"})
    assert _error(rt.converse, modelId=HAIKU, messages=msgs, inferenceConfig={"temperature": 5.0}) == (
        "1 validation error detected: Value '5.0' at 'inferenceConfig.temperature' failed to satisfy constraint: "
        "Member must have value less than or equal to 1"
    )
    both = _error(rt.converse, modelId=HAIKU, messages=msgs, inferenceConfig={"temperature": 1.5, "topP": 2})
    assert both.startswith("2 validation errors detected: Value '1.5' at 'inferenceConfig.temperature'")
    assert "Value '2.0' at 'inferenceConfig.topP' failed to satisfy constraint" in both
    too_long = _error(rt.converse, modelId=HAIKU, messages=msgs, inferenceConfig={"maxTokens": 5000})
    assert "exceeds the model limit of 4096" in too_long
    edge = rt.converse(modelId=HAIKU, messages=msgs, inferenceConfig={"temperature": 1.0, "topP": 0, "maxTokens": 4096})
    assert edge["stopReason"] == "end_turn"


def test_converse_additional_fields_use_native_ranges(rt: Any) -> None:
    msgs = _user({"text": "hi"})
    assert _error(rt.converse, modelId=HAIKU, messages=msgs, additionalModelRequestFields={"top_k": 900}) == (
        "Malformed input request: #/top_k: 900 is not less or equal to 500, please reformat your input and try again."
    )
    ok = rt.converse(modelId=HAIKU, messages=msgs, additionalModelRequestFields={"top_k": 500})
    assert ok["stopReason"] == "end_turn"


def _invoke(rt: Any, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return json.loads(rt.invoke_model(modelId=model_id, body=json.dumps(body))["body"].read())


def _native_error(rt: Any, model_id: str, body: dict[str, Any]) -> str:
    return _error(rt.invoke_model, modelId=model_id, body=json.dumps(body))


def test_anthropic_native_blank_text_and_ranges(rt: Any) -> None:
    def body(content: Any, **extra: Any) -> dict[str, Any]:
        return {**ANTHROPIC, "messages": [{"role": "user", "content": content}], **extra}

    assert _native_error(rt, HAIKU, body("")) == "messages: text content blocks must be non-empty"
    assert _native_error(rt, HAIKU, body([{"type": "text", "text": "  "}])) == (
        "messages: text content blocks must contain non-whitespace text"
    )
    assert _native_error(rt, HAIKU, body("hi", temperature=5.0)) == (
        "Malformed input request: #/temperature: 5.0 is not less or equal to 1.0, please reformat your input and "
        "try again."
    )
    assert "#/top_k: 501 is not less or equal to 500" in _native_error(rt, HAIKU, body("hi", top_k=501))
    assert "#/top_p: -0.1 is not greater or equal to 0.0" in _native_error(rt, HAIKU, body("hi", top_p=-0.1))
    assert "#/temperature: expected type: Number, found: String" in _native_error(
        rt, HAIKU, body("hi", temperature="hot")
    )
    assert _invoke(rt, HAIKU, body("hi", temperature=1, top_p=1.0, top_k=0))["type"] == "message"


@pytest.mark.parametrize(
    ("model_id", "body", "needle"),
    [
        (
            "amazon.titan-text-express-v1",
            {"inputText": "hi", "textGenerationConfig": {"temperature": 2}},
            "#/textGenerationConfig/temperature: 2 is not less or equal to 1.0",
        ),
        (
            "amazon.nova-lite-v1:0",
            {"messages": [{"role": "user", "content": [{"text": "hi"}]}], "inferenceConfig": {"topK": 129}},
            "#/inferenceConfig/topK: 129 is not less or equal to 128",
        ),
        (
            "amazon.nova-lite-v1:0",
            {"messages": [{"role": "user", "content": [{"text": " "}]}]},
            "The text field in the ContentBlock object at messages.0.content.0 is blank.",
        ),
        ("meta.llama3-8b-instruct-v1:0", {"prompt": "hi", "top_p": 1.5}, "#/top_p: 1.5 is not less or equal to 1.0"),
        (
            "mistral.mistral-7b-instruct-v0:2",
            {"prompt": "hi", "top_k": 300},
            "#/top_k: 300 is not less or equal to 200",
        ),
        ("cohere.command-r-v1:0", {"message": "hi", "p": 1.0}, "#/p: 1.0 is not less or equal to 0.99"),
        ("cohere.command-r-v1:0", {"message": "hi", "k": 501}, "#/k: 501 is not less or equal to 500"),
        ("ai21.jamba-1-5-mini-v1:0", {"messages": [{"role": "user", "content": "hi"}], "temperature": 2.5}, "2.5 is"),
        (
            "cohere.embed-english-v3",
            {"texts": ["a"] * 97, "input_type": "search_query"},
            "#/texts: expected maximum item count: 96, found: 97",
        ),
        ("cohere.embed-english-v3", {"texts": ["a"], "input_type": "query"}, "#/input_type: query is not a valid enum"),
        (
            "amazon.titan-image-generator-v2:0",
            {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x"}, "imageGenerationConfig": {"cfgScale": 11}},
            "#/imageGenerationConfig/cfgScale: 11 is not less or equal to 10.0",
        ),
        (
            "amazon.nova-canvas-v1:0",
            {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x"}, "imageGenerationConfig": {"width": 1000}},
            "#/imageGenerationConfig/width: 1000 is not a multiple of 16",
        ),
    ],
)
def test_native_parameter_ranges(rt: Any, model_id: str, body: dict[str, Any], needle: str) -> None:
    assert needle in _native_error(rt, model_id, body)


def test_max_tokens_above_the_model_limit_on_native_bodies(rt: Any) -> None:
    message = _native_error(rt, "cohere.command-r-v1:0", {"message": "hi", "max_tokens": 4001})
    assert message.startswith("The maximum tokens you requested exceeds the model limit of 4000.")


def test_the_ranges_are_sourced_data_covering_every_native_format() -> None:
    table = _table()
    assert table["as_of"] and table["source"]
    assert all(entry["source"].startswith("https://docs.aws.amazon.com/") for entry in table["models"])
    for model in load_catalog().models:
        fmt = format_for(model.model_id, model.body_format)
        if fmt is not None and fmt.name != "titan-embed":
            assert params_for(model.model_id), f"no published ranges for {model.model_id}"
    assert params_for("amazon.nova-canvas-v1:0")["imageGenerationConfig/seed"]["max"] == 858993459
    assert "top_k" not in params_for("mistral.mistral-large-2407-v1:0")
