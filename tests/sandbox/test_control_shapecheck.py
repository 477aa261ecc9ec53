"""``validate_output`` must catch what botocore's lenient parser lets through (pure, no server)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from botocore.response import StreamingBody

from bedrockctl.sandbox.shapecheck import validate_output, validate_value

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
ARN = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"


def _summary(**over: Any) -> dict[str, Any]:
    base = {
        "modelArn": ARN,
        "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
        "modelName": "Claude 3 Haiku",
        "providerName": "Anthropic",
        "inputModalities": ["TEXT", "IMAGE"],
        "outputModalities": ["TEXT"],
        "responseStreamingSupported": True,
        "customizationsSupported": [],
        "inferenceTypesSupported": ["ON_DEMAND"],
        "modelLifecycle": {"status": "ACTIVE"},
    }
    base.update(over)
    return base


def _problems(**over: Any) -> list[str]:
    return validate_output("bedrock", "ListFoundationModels", {"modelSummaries": [_summary(**over)]})


def test_valid_response_and_response_metadata_ignored() -> None:
    resp = {"modelSummaries": [_summary()], "ResponseMetadata": {"HTTPStatusCode": 200}}
    assert validate_output("bedrock", "ListFoundationModels", resp) == []


def test_each_kind_of_problem_is_reported() -> None:
    assert any(
        "missing required member 'modelId'" in p
        for p in _problems(modelId=None)
        + validate_output("bedrock", "ListFoundationModels", {"modelSummaries": [{"modelArn": ARN}]})
    )
    assert any("expected boolean" in p for p in _problems(responseStreamingSupported="yes"))
    assert any("expected list" in p for p in _problems(inputModalities="TEXT"))
    assert any("is not one of" in p for p in _problems(inferenceTypesSupported=["SOMETIMES"]))
    assert any("unknown member 'extra'" in p for p in _problems(extra=1))
    assert any("expected structure" in p for p in _problems(modelLifecycle="ACTIVE"))
    assert any("does not match pattern" in p for p in _problems(modelArn="not-an-arn"))
    assert any("expected timestamp" in p for p in _problems(modelLifecycle={"status": "LEGACY", "legacyTime": "2025"}))
    assert _problems(modelLifecycle={"status": "LEGACY", "legacyTime": NOW}) == []


def test_integers_maps_and_ranges() -> None:
    ok = {"inferenceProfileSummaries": [], "nextToken": "abc"}
    assert validate_output("bedrock", "ListInferenceProfiles", ok) == []
    bad = validate_output("bedrock", "GetProvisionedModelThroughput", {"modelUnits": True})
    assert any("expected integer" in p for p in bad)
    assert any("missing required member" in p for p in bad)
    assert validate_value("bedrock-runtime", "TokenUsage", {"inputTokens": -1, "outputTokens": 1, "totalTokens": 0})
    assert (
        validate_value("bedrock-runtime", "TokenUsage", {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}) == []
    )


def test_known_aws_drift_is_accepted() -> None:
    assert _problems(inferenceTypesSupported=["INFERENCE_PROFILE"], modelName="Titan Text G1 - Express") == []
    assert _problems(inputModalities=["TEXT", "IMAGE", "VIDEO"]) == []
    region_less = {"modelArn": "arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"}
    assert validate_value("bedrock", "InferenceProfileModel", region_less) == []


def test_streaming_payloads_are_accepted() -> None:
    body = StreamingBody(io.BytesIO(b"{}"), 2)
    resp = {"body": body, "contentType": "application/json"}
    assert validate_output("bedrock-runtime", "InvokeModel", resp) == []
    assert any(
        "expected blob" in p for p in validate_output("bedrock-runtime", "InvokeModel", {"body": 3, "contentType": "x"})
    )


def test_unions_need_exactly_one_member() -> None:
    assert validate_value("bedrock-runtime", "ContentBlock", {"text": "hi"}) == []
    assert validate_value("bedrock-runtime", "ContentBlock", {"text": "hi", "image": {}})
