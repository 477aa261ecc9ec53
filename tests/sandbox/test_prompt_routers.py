"""Prompt routers through real boto3 clients against the sandbox: the control operations (checked against
botocore's output shapes) and runtime calls whose ``modelId`` is a router ARN."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrockctl.sandbox.bedrock.control_routers import ROUTE_BYTES
from bedrockctl.sandbox.shapecheck import validate_output

ACCOUNT = "123456789012"
META_ROUTER = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:default-prompt-router/meta.llama:1"
LLAMA_8B = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.meta.llama3-1-8b-instruct-v1:0"
LLAMA_70B = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.meta.llama3-1-70b-instruct-v1:0"
HAIKU_PROFILE = f"arn:aws:bedrock:us-west-2:{ACCOUNT}:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"
SONNET_PROFILE = f"arn:aws:bedrock:us-west-2:{ACCOUNT}:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def _ok(op: str, resp: dict[str, Any], service: str = "bedrock") -> dict[str, Any]:
    assert validate_output(service, op, resp) == []
    return resp


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _messages(size: int) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": "x" * size}]}]


def test_default_routers_listed_and_read(boto_client: Any) -> None:
    client = boto_client("bedrock", "us-east-1")
    listed = _ok("ListPromptRouters", client.list_prompt_routers())["promptRouterSummaries"]
    arns = {r["promptRouterArn"] for r in listed}
    assert META_ROUTER in arns
    assert f"arn:aws:bedrock:us-east-1:{ACCOUNT}:default-prompt-router/amazon.nova:1" in arns
    # the Anthropic router's Claude 3.5 Sonnet is past its end of life in the sandbox's calendar: not listed
    assert f"arn:aws:bedrock:us-east-1:{ACCOUNT}:default-prompt-router/anthropic.claude:1" not in arns
    assert all(r["type"] == "default" and r["status"] == "AVAILABLE" for r in listed)
    got = _ok("GetPromptRouter", client.get_prompt_router(promptRouterArn=META_ROUTER))
    assert [m["modelArn"] for m in got["models"]] == [LLAMA_8B, LLAMA_70B]
    assert got["fallbackModel"] == {"modelArn": LLAMA_70B}
    assert _ok("ListPromptRouters", client.list_prompt_routers(type="custom"))["promptRouterSummaries"] == []
    with pytest.raises(ClientError) as exc:
        client.get_prompt_router(promptRouterArn=META_ROUTER.replace("meta.llama:1", "nobody.none:1"))
    assert _code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        client.delete_prompt_router(promptRouterArn=META_ROUTER)
    assert _code(exc) == "ValidationException"


def test_custom_router_lifecycle(boto_client: Any) -> None:
    client = boto_client("bedrock", "us-west-2")
    haiku, sonnet = HAIKU_PROFILE, SONNET_PROFILE
    arn = client.create_prompt_router(
        promptRouterName="cheap-first",
        models=[{"modelArn": haiku}, {"modelArn": sonnet}],
        routingCriteria={"responseQualityDifference": 10},
        fallbackModel={"modelArn": sonnet},
        tags=[{"key": "team", "value": "ml"}],
    )["promptRouterArn"]
    assert arn.startswith(f"arn:aws:bedrock:us-west-2:{ACCOUNT}:prompt-router/")
    got = _ok("GetPromptRouter", client.get_prompt_router(promptRouterArn=arn))
    assert got["type"] == "custom" and got["routingCriteria"] == {"responseQualityDifference": 10.0}
    assert client.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "team", "value": "ml"}]
    assert [r["promptRouterArn"] for r in client.list_prompt_routers(type="custom")["promptRouterSummaries"]] == [arn]
    with pytest.raises(ClientError) as exc:  # the fallback must be one of the models
        client.create_prompt_router(
            promptRouterName="bad",
            models=[{"modelArn": haiku}],
            routingCriteria={"responseQualityDifference": 0},
            fallbackModel={"modelArn": sonnet},
        )
    assert _code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        client.create_prompt_router(
            promptRouterName="cheap-first",
            models=[{"modelArn": haiku}, {"modelArn": sonnet}],
            routingCriteria={"responseQualityDifference": 0},
            fallbackModel={"modelArn": sonnet},
        )
    assert _code(exc) == "ConflictException"
    client.delete_prompt_router(promptRouterArn=arn)
    with pytest.raises(ClientError) as exc:
        client.get_prompt_router(promptRouterArn=arn)
    assert _code(exc) == "ResourceNotFoundException"


def test_converse_through_a_router_names_the_invoked_model(boto_client: Any) -> None:
    rt = boto_client("bedrock-runtime", "us-east-1")
    short = _ok("Converse", rt.converse(modelId=META_ROUTER, messages=_messages(10)), "bedrock-runtime")
    assert short["trace"]["promptRouter"] == {"invokedModelId": LLAMA_8B}
    long = _ok("Converse", rt.converse(modelId=META_ROUTER, messages=_messages(ROUTE_BYTES)), "bedrock-runtime")
    assert long["trace"]["promptRouter"] == {"invokedModelId": LLAMA_70B}
    events = list(rt.converse_stream(modelId=META_ROUTER, messages=_messages(10))["stream"])
    meta = next(e["metadata"] for e in events if "metadata" in e)
    assert meta["trace"]["promptRouter"] == {"invokedModelId": LLAMA_8B}
    body = {"prompt": "hello", "max_gen_len": 20}
    out = json.loads(rt.invoke_model(modelId=META_ROUTER, body=json.dumps(body))["body"].read())
    assert out["prompt_token_count"] > 0 and "amazon-bedrock-trace" not in out
    with pytest.raises(ClientError) as exc:
        rt.converse(modelId=META_ROUTER.replace("meta.llama:1", "nobody.none:1"), messages=_messages(5))
    assert _code(exc) == "ValidationException"
