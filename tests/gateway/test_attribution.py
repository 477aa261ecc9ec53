"""Calls through the gateway carry the key's user, team and environment into AWS's own records."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai

from .conftest import HAIKU, RunningGateway
from .test_protocols import MSG, sigv4_client

LOG_GROUP = "/aws/bedrock/modelinvocations"


def _logging_on(boto_client: Callable[..., Any]) -> None:
    boto_client("logs").create_log_group(logGroupName=LOG_GROUP)
    boto_client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={"cloudWatchConfig": {"logGroupName": LOG_GROUP, "roleArn": "arn:aws:iam::123456789012:role/l"}}
    )


def _logged_metadata(boto_client: Callable[..., Any]) -> list[dict[str, str]]:
    events = boto_client("logs").filter_log_events(logGroupName=LOG_GROUP)["events"]
    return [json.loads(e["message"]).get("requestMetadata", {}) for e in events]


def test_gateway_stamps_request_metadata(gw: RunningGateway, boto_client: Callable[..., Any]) -> None:
    _logging_on(boto_client)
    key = gw.key(user="dana", team="search", environment="dev")
    sigv4_client(gw, key).converse(modelId=HAIKU, messages=MSG, requestMetadata={"workflow": "rag", "team": "spoofed"})
    oa = openai.OpenAI(api_key=key["token"], base_url=f"{gw.url}/v1", max_retries=0)
    oa.chat.completions.create(model=HAIKU, messages=[{"role": "user", "content": "hi"}], max_tokens=20)
    logged = _logged_metadata(boto_client)
    assert len(logged) == 2
    for meta in logged:  # the key is authoritative for who pays; the caller's own tags stay
        assert meta["gateway_user"] == "dana" and meta["team"] == "search" and meta["environment"] == "dev"
        assert meta["gateway_key"] == key["key_id"]
    assert sorted(m.get("workflow", "") for m in logged) == ["", "rag"]
    assert key["token"] not in json.dumps(logged)


def test_invoke_model_and_messages_api_carry_the_caller(gw: RunningGateway, boto_client: Callable[..., Any]) -> None:
    """InvokeModel (the Bedrock route and the Anthropic Messages API) gets the pairs in the
    X-Amzn-Bedrock-Request-Metadata header; characters Bedrock refuses in metadata become ``_``."""
    import anthropic
    import httpx

    _logging_on(boto_client)
    key = gw.key(user="dana!o'neil", team="search", environment="dev")
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    r = httpx.post(
        f"{gw.url}/model/{HAIKU}/invoke",
        json=body,
        headers={
            "authorization": f"Bearer {key['token']}",
            "x-amzn-bedrock-request-metadata": json.dumps({"workflow": "summaries", "gateway_user": "spoofed"}),
        },
        timeout=30,
    )
    assert r.status_code == 200, r.text
    client = anthropic.Anthropic(api_key=key["token"], base_url=gw.url, max_retries=0)
    client.messages.create(model=HAIKU, max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    logged = _logged_metadata(boto_client)
    assert len(logged) == 2
    for meta in logged:
        assert meta["gateway_user"] == "dana_o_neil" and meta["team"] == "search"
        assert meta["gateway_key"] == key["key_id"]
    assert sorted(m.get("workflow", "") for m in logged) == ["", "summaries"]
