"""The gateway admits, prices and budgets calls to an application inference profile ARN (the model it routes to,
in its Region); a model without a price goes through audited at cost 0 unless the operator asks to refuse it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bedrockctl.settings import EnvironmentSettings

from .conftest import HAIKU
from .test_protocols import MSG, audit, sigv4_client

# Claude 3 Haiku on demand in us-east-1: USD 0.00025 / 0.00125 per 1,000 input / output tokens = 250 / 1,250 nano-USD
# per token (the price book's rates, checked in tests/pricing)
HAIKU_IN, HAIKU_OUT = 250, 1250


def _profile(boto_client: Callable[..., Any]) -> str:
    arn: str = boto_client("bedrock").create_inference_profile(
        inferenceProfileName="search-haiku",
        modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"},
        tags=[{"key": "team", "value": "search"}],
    )["inferenceProfileArn"]
    return arn


def test_application_profile_is_admitted_priced_and_budgeted(
    start_gateway: Any, boto_client: Callable[..., Any]
) -> None:
    arn = _profile(boto_client)
    gw = start_gateway(environments={"dev": EnvironmentSettings(name="dev", monthly_budget_usd=5.0)})
    client = sigv4_client(gw, gw.key())
    answer = client.converse(modelId=arn, messages=MSG, inferenceConfig={"maxTokens": 20})
    used = answer["usage"]
    rows = [r for r in audit(gw) if r.model_requested == arn]
    assert len(rows) == 1 and rows[0].status == "ok"
    assert rows[0].cost_nusd == used["inputTokens"] * HAIKU_IN + used["outputTokens"] * HAIKU_OUT
    assert rows[0].cost_nusd > 0


@pytest.mark.parametrize("mode", ["allow", "refuse"])
def test_unpriced_model_is_allowed_unless_refused(
    start_gateway: Any, boto_client: Callable[..., Any], mode: str
) -> None:
    missing = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdef123456"
    gw = start_gateway(
        environments={"dev": EnvironmentSettings(name="dev", monthly_budget_usd=5.0)}, gateway={"unpriced": mode}
    )
    client = sigv4_client(gw, gw.key())
    if mode == "refuse":
        with pytest.raises(client.exceptions.ValidationException, match="has no price"):
            client.converse(modelId=missing, messages=MSG, inferenceConfig={"maxTokens": 20})
        return
    # allowed: the call reaches Bedrock (which answers for the profile it does not know) and nothing is refused here
    with pytest.raises(client.exceptions.ClientError) as caught:
        client.converse(modelId=missing, messages=MSG, inferenceConfig={"maxTokens": 20})
    assert "has no price" not in str(caught.value)


def test_provisioned_model_is_admitted_at_no_per_token_cost(
    start_gateway: Any, boto_client: Callable[..., Any]
) -> None:
    """Provisioned throughput bills by the hour (``inventory idle`` prices it), nothing per token: a call to a
    provisioned model ARN is admitted under a budget and audited at cost 0."""
    arn = boto_client("bedrock").create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName="pt-haiku", modelId=HAIKU
    )["provisionedModelArn"]
    gw = start_gateway(  # priced (at zero per token), so admitted even where unpriced models are refused
        environments={"dev": EnvironmentSettings(name="dev", monthly_budget_usd=5.0)}, gateway={"unpriced": "refuse"}
    )
    client = sigv4_client(gw, gw.key())
    client.converse(modelId=arn, messages=MSG, inferenceConfig={"maxTokens": 20})
    rows = [r for r in audit(gw) if r.model_requested == arn]
    assert len(rows) == 1 and rows[0].status == "ok" and rows[0].cost_nusd == 0


def test_messages_api_prices_one_hour_cache_writes(start_gateway: Any) -> None:
    """A Messages-API call writing a 1-hour cache prefix is charged at the 1-hour rate (Sonnet 4.5 through the US
    profile: USD 0.0033 / 0.0165 per 1,000 input / output tokens, 1-hour cache write 0.0066 = 3,300 / 16,500 /
    6,600 nano-USD per token)."""
    import uuid

    import anthropic

    gw = start_gateway()
    key = gw.key()
    client = anthropic.Anthropic(api_key=key["token"], base_url=gw.url, max_retries=0)
    doc = f"Reference manual {uuid.uuid4()}. " * 40
    answer = client.messages.create(
        model="us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        max_tokens=20,
        system=[{"type": "text", "text": doc, "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        messages=[{"role": "user", "content": "summarise"}],
    )
    used = answer.usage
    assert used.cache_creation_input_tokens and used.cache_creation_input_tokens > 0
    rows = [r for r in audit(gw) if r.protocol == "anthropic"]
    assert len(rows) == 1
    expected = used.input_tokens * 3300 + used.output_tokens * 16500 + used.cache_creation_input_tokens * 6600
    assert rows[0].cost_nusd == expected, (used, rows[0])
