"""The gateway admits, prices and budgets calls to a prompt-router ARN: reserved at the dearest of the router's
models, settled at the model the router invoked (``trace.promptRouter.invokedModelId``), audited with it.

Meta's default router routes between Llama 3.1 8B and 70B (US profiles); the sandbox sends a request body under
``ROUTE_BYTES`` to the 8B model and a longer one to the 70B fallback. Prices (us-east-1 on demand, the price
book's, checked in tests/pricing): 8B USD 0.00022 per 1,000 input and output tokens = 220 nano-USD per token; 70B
USD 0.00072 = 720 nano-USD per token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import text

from bedrockctl.sandbox.bedrock.control_routers import ROUTE_BYTES
from bedrockctl.settings import EnvironmentSettings

from .test_protocols import audit, sigv4_client

ACCOUNT = "123456789012"
ROUTER = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:default-prompt-router/meta.llama:1"
SMALL, LARGE = "us.meta.llama3-1-8b-instruct-v1:0", "us.meta.llama3-1-70b-instruct-v1:0"
PER_TOKEN = {SMALL: 220, LARGE: 720}


def _msg(size: int) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": "word " * (size // 5)}]}]


def _budget_used(gw: Any) -> int:
    time.sleep(0.2)  # what is left of settled reservations goes back to the store once idle
    gw.flush()
    with gw.gateway.engine.connect() as conn:
        rows = conn.execute(text("SELECT scope, win, used, reserved FROM gateway_counters"))
        month = [r for r in rows if str(r[0]).startswith("budget:env:") and str(r[1]).count("-") == 1]
    assert len(month) == 1 and month[0][3] == 0, month
    return int(month[0][2])


def _cost(usage: dict[str, Any], model: str) -> int:
    return (int(usage["inputTokens"]) + int(usage["outputTokens"])) * PER_TOKEN[model]


def test_router_call_is_priced_and_budgeted_at_the_invoked_model(start_gateway: Callable[..., Any]) -> None:
    gw = start_gateway(
        {"dev": EnvironmentSettings(name="dev", monthly_budget_usd=5.0)},
        gateway={"lease_fraction": 0.0, "lease_idle_seconds": 0.05},
    )
    client = sigv4_client(gw, gw.key())
    short = client.converse(modelId=ROUTER, messages=_msg(20), inferenceConfig={"maxTokens": 20})
    assert short["trace"]["promptRouter"]["invokedModelId"].endswith(SMALL)  # passed through unchanged
    first = _cost(short["usage"], SMALL)
    assert _budget_used(gw) == first > 0  # the counter moved by the 8B model's cost, not the 70B reservation
    long = client.converse(modelId=ROUTER, messages=_msg(ROUTE_BYTES + 100), inferenceConfig={"maxTokens": 20})
    assert long["trace"]["promptRouter"]["invokedModelId"].endswith(LARGE)
    second = _cost(long["usage"], LARGE)
    assert _budget_used(gw) == first + second
    stream = client.converse_stream(modelId=ROUTER, messages=_msg(20), inferenceConfig={"maxTokens": 20})["stream"]
    events = list(stream)
    streamed = _cost(next(e["metadata"] for e in events if "metadata" in e)["usage"], SMALL)
    assert _budget_used(gw) == first + second + streamed
    rows = sorted((r for r in audit(gw) if r.model_requested == ROUTER), key=lambda r: r.ts)
    assert [(r.model_served, r.cost_nusd, r.status) for r in rows] == [
        (SMALL, first, "ok"),
        (LARGE, second, "ok"),
        (SMALL, streamed, "ok"),
    ]


def test_invoke_model_through_a_router_settles_at_the_dearest_model(start_gateway: Callable[..., Any]) -> None:
    """InvokeModel's native body names no invoked model: the call settles at the router's dearest model."""
    gw = start_gateway({"dev": EnvironmentSettings(name="dev", monthly_budget_usd=5.0)})
    client = sigv4_client(gw, gw.key())
    resp = client.invoke_model(modelId=ROUTER, body=json.dumps({"prompt": "hello", "max_gen_len": 20}))
    out = json.loads(resp["body"].read())
    tokens = int(out["prompt_token_count"]) + int(out["generation_token_count"])
    rows = [r for r in audit(gw) if r.model_requested == ROUTER]
    assert len(rows) == 1 and rows[0].status == "ok" and rows[0].cost_nusd == tokens * PER_TOKEN[LARGE]


def test_budget_too_small_for_the_dearest_router_model_refuses(start_gateway: Callable[..., Any]) -> None:
    """2,000 output tokens: at most 0.44 milli-USD on the 8B model, 1.44 on the 70B one; a budget of 1 milli-USD
    admits the 8B model called directly and refuses the router, which may pick the 70B model."""
    gw = start_gateway({"dev": EnvironmentSettings(name="dev", monthly_budget_usd=0.001)})
    client = sigv4_client(gw, gw.key())
    cfg = {"maxTokens": 2000}
    client.converse(modelId=SMALL, messages=_msg(20), inferenceConfig=cfg)
    with pytest.raises(ClientError) as caught:
        client.converse(modelId=ROUTER, messages=_msg(20), inferenceConfig=cfg)
    assert "Budget exceeded" in str(caught.value)
    refused = [r for r in audit(gw) if r.model_requested == ROUTER]
    assert len(refused) == 1 and refused[0].status != "ok" and refused[0].cost_nusd == 0


def test_openai_route_accepts_a_router_arn(start_gateway: Callable[..., Any]) -> None:
    import openai

    gw = start_gateway({"dev": EnvironmentSettings(name="dev", monthly_budget_usd=5.0)})
    client = openai.OpenAI(api_key=gw.key()["token"], base_url=f"{gw.url}/v1", max_retries=0)
    answer = client.chat.completions.create(model=ROUTER, messages=[{"role": "user", "content": "hi"}], max_tokens=20)
    assert answer.usage is not None
    rows = [r for r in audit(gw) if r.model_requested == ROUTER]
    expected = (answer.usage.prompt_tokens + answer.usage.completion_tokens) * PER_TOKEN[SMALL]
    assert [(r.protocol, r.model_served, r.cost_nusd) for r in rows] == [("openai", SMALL, expected)]


def test_messages_api_through_a_custom_router_settles_at_the_dearest_model(
    start_gateway: Callable[..., Any], boto_client: Callable[..., Any]
) -> None:
    """The Messages API (InvokeModel underneath) accepts a router ARN; no invoked model comes back, so the call is
    charged at the router's dearest model: Claude Sonnet 4.5 through the US profile, USD 0.0033 / 0.0165 per
    1,000 input / output tokens = 3,300 / 16,500 nano-USD per token (Claude 3 Haiku: 250 / 1,250)."""
    import anthropic

    profile = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.anthropic."
    haiku, sonnet = profile + "claude-3-haiku-20240307-v1:0", profile + "claude-sonnet-4-5-20250929-v1:0"
    router = boto_client("bedrock").create_prompt_router(
        promptRouterName="claude-cheap-first",
        models=[{"modelArn": haiku}, {"modelArn": sonnet}],
        routingCriteria={"responseQualityDifference": 5},
        fallbackModel={"modelArn": sonnet},
    )["promptRouterArn"]
    gw = start_gateway({"dev": EnvironmentSettings(name="dev", monthly_budget_usd=5.0)})
    client = anthropic.Anthropic(api_key=gw.key()["token"], base_url=gw.url, max_retries=0)
    answer = client.messages.create(model=router, max_tokens=20, messages=[{"role": "user", "content": "hi"}])
    rows = [r for r in audit(gw) if r.model_requested == router]
    expected = answer.usage.input_tokens * 3300 + answer.usage.output_tokens * 16500
    assert [(r.protocol, r.status, r.cost_nusd) for r in rows] == [("anthropic", "ok", expected)]
