"""The gateway's other AWS-shaped routes, driven by boto3: CountTokens (bedrock-runtime), ListFoundationModels and
ListInferenceProfiles (the bedrock control-plane client pointed at the gateway), and AWS's 404 for unknown paths."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bedrockctl.settings import EnvironmentSettings
from bedrockctl.store.audit import query

from .conftest import HAIKU, RunningGateway

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})
MSG = [{"role": "user", "content": [{"text": "count the tokens of this sentence"}]}]


def aws(gw: RunningGateway, key: dict[str, Any], service: str) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=gw.url,
        config=NO_RETRY,
        aws_access_key_id=key["aws_access_key_id"],
        aws_secret_access_key=key["aws_secret_access_key"],
    )


def test_count_tokens_converse_and_invoke(gw: RunningGateway, boto_client: Callable[..., Any]) -> None:
    rt = aws(gw, gw.key(), "bedrock-runtime")
    counted = rt.count_tokens(modelId=HAIKU, input={"converse": {"messages": MSG}})["inputTokens"]
    direct = boto_client("bedrock-runtime").count_tokens(modelId=HAIKU, input={"converse": {"messages": MSG}})
    assert counted == direct["inputTokens"] > 0
    profile = rt.count_tokens(modelId=f"us.{HAIKU}", input={"converse": {"messages": MSG}})  # counted by the model
    assert profile["inputTokens"] == counted
    native = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "x"}],
    }
    assert rt.count_tokens(modelId=HAIKU, input={"invokeModel": {"body": json.dumps(native)}})["inputTokens"] > 0
    gw.flush()
    rows = list(query(gw.gateway.engine, limit=None))
    assert [(r.operation, r.status, r.cost_nusd, r.output_tokens) for r in rows] == [("CountTokens", "ok", 0, 0)] * 3


def test_count_tokens_is_rate_limited_and_needs_a_key(gw: RunningGateway) -> None:
    rt = aws(gw, gw.key(limits={"rpm": 1}), "bedrock-runtime")
    rt.count_tokens(modelId=HAIKU, input={"converse": {"messages": MSG}})
    with pytest.raises(ClientError) as limited:
        rt.count_tokens(modelId=HAIKU, input={"converse": {"messages": MSG}})
    assert limited.value.response["Error"]["Code"] == "ThrottlingException"
    r = httpx.post(f"{gw.url}/model/{HAIKU}/count-tokens", json={"input": {"converse": {"messages": MSG}}})
    assert r.status_code == 403 and r.headers["x-amzn-errortype"].startswith("UnrecognizedClientException")


def test_count_tokens_free_under_an_exhausted_budget(start_gateway: Callable[..., RunningGateway]) -> None:
    gw = start_gateway(environments={"dev": EnvironmentSettings(name="dev", monthly_budget_usd=0.000001)})
    rt = aws(gw, gw.key(), "bedrock-runtime")
    with pytest.raises(ClientError) as refused:
        rt.converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 500})
    assert refused.value.response["Error"]["Code"] == "ServiceQuotaExceededException"
    assert rt.count_tokens(modelId=HAIKU, input={"converse": {"messages": MSG}})["inputTokens"] > 0


def test_list_foundation_models_and_inference_profiles(gw: RunningGateway, boto_client: Callable[..., Any]) -> None:
    control = aws(gw, gw.key(), "bedrock")
    models = control.list_foundation_models(byProvider="Anthropic")["modelSummaries"]
    direct = boto_client("bedrock").list_foundation_models(byProvider="Anthropic")["modelSummaries"]
    assert models and [m["modelId"] for m in models] == [m["modelId"] for m in direct]
    assert all(m["providerName"] == "Anthropic" for m in models)
    profiles = control.list_inference_profiles()["inferenceProfileSummaries"]
    assert profiles and all(p["inferenceProfileId"] and p["models"] for p in profiles)
    assert len(profiles) == len(boto_client("bedrock").list_inference_profiles()["inferenceProfileSummaries"])


def test_lists_show_only_the_models_a_key_may_call(gw: RunningGateway) -> None:
    control = aws(gw, gw.key(allowed_models=[HAIKU]), "bedrock")
    assert [m["modelId"] for m in control.list_foundation_models()["modelSummaries"]] == [HAIKU]
    profiles = control.list_inference_profiles()["inferenceProfileSummaries"]
    assert profiles and all(HAIKU in p["inferenceProfileId"] for p in profiles)
    with pytest.raises(ClientError) as anonymous:
        boto3.client(
            "bedrock",
            region_name="us-east-1",
            endpoint_url=gw.url,
            config=NO_RETRY,
            aws_access_key_id="GWNOTAKEY",
            aws_secret_access_key="x",
        ).list_foundation_models()
    assert anonymous.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/no/such/path"),
        ("POST", "/v1/completions"),
        ("GET", "/model/x/converse"),
        ("POST", f"/model/{HAIKU}/no-such-operation"),
        ("DELETE", "/inference-profiles"),
    ],
)
def test_unknown_paths_answer_like_aws(gw: RunningGateway, method: str, path: str) -> None:
    r = httpx.request(method, gw.url + path, content=b"{}" if method == "POST" else None)
    assert r.status_code == 404
    assert r.headers["x-amzn-errortype"].startswith("UnknownOperationException")
    assert r.headers["content-type"] == "application/json" and "x-amzn-requestid" in r.headers
    assert "Unknown operation" in r.json()["message"]


def test_unknown_operation_through_boto3(gw: RunningGateway) -> None:
    rt = aws(gw, gw.key(), "bedrock-runtime")
    with pytest.raises(ClientError) as unknown:
        rt.apply_guardrail(guardrailIdentifier="g", guardrailVersion="1", source="INPUT", content=[])
    assert unknown.value.response["Error"]["Code"] == "UnknownOperationException"


def test_the_console_still_answers_its_paths(gw: RunningGateway) -> None:
    r = httpx.get(gw.url + "/login")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
