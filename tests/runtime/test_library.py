"""The runtime library against the sandbox: converse, stream, invoke (native bodies), agents, guardrails."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import pytest

from bedrockctl.errors import ValidationFailed
from bedrockctl.runtime import Runtime

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET_45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def tok(text: str) -> int:
    return math.ceil(len(text.encode()) / 4)


def test_converse_result_usage_and_record(rt: Runtime) -> None:
    res = rt.converse(HAIKU, prompt="hello there", system="be brief", tags={"team": "search"})
    assert res.stop_reason == "end_turn" and "hello there" in res.text
    # sandbox tokenizer: ceil(bytes/4) + 3 per message + 2 for a system prompt
    assert res.meta.usage.input_tokens == tok("hello there") + 3 + tok("be brief") + 2
    assert res.meta.usage.output_tokens == tok(res.text)
    rec = rt.usage_sink.records[-1]  # type: ignore[union-attr]
    assert rec.request_id and rec.request_id == res.meta.request_id
    assert (rec.model_served, rec.region_served, rec.tags) == (HAIKU, "us-east-1", {"team": "search"})
    assert rec.caller and rec.caller.startswith("arn:aws:")
    assert rec.status == "ok" and len(rec.attempts) == 1 and not rec.cache_hit


def test_converse_stream_yields_deltas_tools_and_final_usage(rt: Runtime) -> None:
    tool = {
        "toolSpec": {
            "name": "get_weather",
            "description": "Weather for a city",
            "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}},
        }
    }
    events = list(rt.converse_stream("claude-sonnet-4-5", prompt="weather in Paris?", tools=[tool]))
    kinds = [e.kind for e in events]
    assert kinds[-1] == "usage" and "stop" in kinds
    final = events[-1].meta
    assert final is not None and final.model_served == f"us.{SONNET_45}"
    text = "".join(e.text for e in events if e.kind == "text")
    tool_uses = [e.data for e in events if e.kind == "tool_use"]
    if tool_uses:  # the sandbox model calls a tool when tools are offered
        assert tool_uses[0]["name"] == "get_weather" and isinstance(tool_uses[0]["input"], dict)
    assert final.usage.output_tokens > 0 and (text or tool_uses)


def _enable_invocation_logs(boto_client: Any) -> Any:
    logs = boto_client("logs")
    logs.create_log_group(logGroupName="/bedrock/inv")
    boto_client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={
            "cloudWatchConfig": {"logGroupName": "/bedrock/inv", "roleArn": "arn:aws:iam::123456789012:role/log"},
            "textDataDeliveryEnabled": False,
        }
    )
    return logs


def test_stream_usage_equals_invocation_log(rt: Runtime, boto_client: Any) -> None:
    logs = _enable_invocation_logs(boto_client)
    system = [{"text": "You are a careful reviewer. " * 40}, {"cachePoint": {"type": "default"}}]
    for question in ("first question", "second question, a little longer"):
        events = list(rt.converse_stream(f"us.{SONNET_45}", prompt=question, system=system))
        meta = events[-1].meta
        assert meta is not None and meta.request_id
        found = logs.get_log_events(logGroupName="/bedrock/inv", logStreamName="aws/bedrock/modelinvocations")
        entries = [json.loads(e["message"]) for e in found["events"]]
        mine = [e for e in entries if e["requestId"] == meta.request_id]
        assert len(mine) == 1, entries
        log_in, log_out = mine[0]["input"], mine[0]["output"]
        assert meta.usage.input_tokens == log_in["inputTokenCount"]
        assert meta.usage.output_tokens == log_out["outputTokenCount"]
        assert meta.usage.cache_read_tokens == log_in["cacheReadInputTokenCount"]
        assert meta.usage.cache_write_tokens == log_in["cacheWriteInputTokenCount"]
    rec = rt.usage_sink.records[-1]  # type: ignore[union-attr]
    assert rec.cache_read_tokens > 0 and rec.request_id == meta.request_id


@pytest.mark.parametrize(
    ("model", "body", "text_of"),
    [
        (
            HAIKU,
            {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 200,
                "messages": [{"role": "user", "content": "hi claude"}],
            },
            lambda b: b["content"][0]["text"],
        ),
        ("amazon.titan-text-express-v1", {"inputText": "hi titan"}, lambda b: b["results"][0]["outputText"]),
        ("meta.llama3-8b-instruct-v1:0", {"prompt": "hi llama", "max_gen_len": 200}, lambda b: b["generation"]),
        (
            "mistral.mistral-7b-instruct-v0:2",
            {"prompt": "<s>[INST] hi mistral [/INST]"},
            lambda b: b["outputs"][0]["text"],
        ),
        (
            "amazon.nova-micro-v1:0",
            {"messages": [{"role": "user", "content": [{"text": "hi nova"}]}]},
            lambda b: b["output"]["message"]["content"][0]["text"],
        ),
    ],
)
def test_invoke_model_native_bodies(rt: Runtime, model: str, body: dict[str, Any], text_of: Any) -> None:
    res = rt.invoke_model(model, body)
    assert "I received" in text_of(res.body)
    assert res.meta.usage.input_tokens > 0 and res.meta.usage.output_tokens > 0
    assert res.meta.request_id and res.meta.model_served == model
    streamed = list(rt.invoke_model_stream(model, body))
    assert streamed[-1].kind == "usage" and streamed[-1].meta is not None
    assert streamed[-1].meta.usage == res.meta.usage
    assert all(e.kind == "chunk" for e in streamed[:-1]) and len(streamed) > 1


def test_invoke_agent_session_and_traces(rt: Runtime, boto_client: Any) -> None:
    agents = boto_client("bedrock-agent")
    agent = agents.create_agent(
        agentName="helper",
        foundationModel=HAIKU,
        agentResourceRoleArn="arn:aws:iam::123456789012:role/agent",
        instruction="You are a helpful agent used by the runtime tests.",
    )["agent"]
    alias = agents.create_agent_alias(agentId=agent["agentId"], agentAliasName="live")["agentAlias"]
    first = rt.invoke_agent(agent["agentId"], alias["agentAliasId"], "hello agent", trace=True)
    assert "(turn 1)" in first.text and first.session_id
    assert first.traces and "orchestrationTrace" in first.traces[0]["trace"]
    assert first.meta.usage.input_tokens > 0 and first.meta.request_id
    second = rt.invoke_agent(agent["agentId"], alias["agentAliasId"], "again", session_id=first.session_id)
    assert "(turn 2)" in second.text and second.session_id == first.session_id and second.traces == []
    rec = rt.usage_sink.records[-1]  # type: ignore[union-attr]
    assert rec.operation == "InvokeAgent" and rec.tags["sessionId"] == first.session_id
    # the agent's calls are priced by the model its trace names (Haiku: USD 0.00025 / 0.00125 per 1,000 tokens),
    # with or without the trace shown to the caller
    for call in (first, second):
        used = call.meta.usage
        assert used.input_tokens > 0 and used.output_tokens > 0
        expected = Decimal(used.input_tokens) * Decimal("0.00025") + Decimal(used.output_tokens) * Decimal("0.00125")
        assert call.meta.cost_usd == expected / 1000


def test_guardrail_from_config_applies_and_reports(make_runtime: Any, boto_client: Any) -> None:
    created = boto_client("bedrock").create_guardrail(
        name="words",
        blockedInputMessaging="Input blocked.",
        blockedOutputsMessaging="Output blocked.",
        wordPolicyConfig={"wordsConfig": [{"text": "frobnicate"}]},
    )
    from bedrockctl.settings import DefaultsSettings, Settings

    settings = Settings(defaults=DefaultsSettings(guardrail_id=created["guardrailId"], guardrail_version="DRAFT"))
    rt = make_runtime(settings=settings)
    ok = rt.converse(HAIKU, prompt="a harmless question")
    assert ok.stop_reason == "end_turn"
    blocked = rt.converse(HAIKU, prompt="please frobnicate this")
    assert blocked.stop_reason == "guardrail_intervened" and blocked.text == "Input blocked."
    assert blocked.meta.guardrail is not None and blocked.meta.guardrail.intervened
    assert blocked.meta.guardrail.trace and "inputAssessment" in blocked.meta.guardrail.trace
    assert rt.usage_sink.records[-1].guardrail_intervened
    native = rt.invoke_model(
        HAIKU,
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": "frobnicate"}],
        },
    )
    assert native.meta.guardrail is not None and native.meta.guardrail.intervened


def test_application_profile_and_provisioned_arns(rt: Runtime, boto_client: Any) -> None:
    bedrock = boto_client("bedrock")
    app = bedrock.create_inference_profile(
        inferenceProfileName="team-a",
        modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"},
    )["inferenceProfileArn"]
    pt = bedrock.create_provisioned_model_throughput(modelUnits=1, provisionedModelName="pt", modelId=HAIKU)[
        "provisionedModelArn"
    ]
    for arn in (app, pt):
        res = rt.converse(arn, prompt="via arn")
        assert res.stop_reason == "end_turn" and res.meta.model_served == arn


def test_validation_errors_are_not_retried(rt: Runtime) -> None:
    with pytest.raises(ValidationFailed):
        rt.converse(HAIKU, prompt="x", max_tokens=10_000_000)
    rec = rt.usage_sink.records[-1]  # type: ignore[union-attr]
    assert rec.status == "BRC-VAL-001" and len(rec.attempts) == 1


def test_cost_equals_tokens_times_catalog_price(rt: Runtime) -> None:
    """Hand-computed from pricing/data/prices.json (USD per 1k tokens), cache reads and writes included."""
    system = [{"text": "You are a careful reviewer. " * 40}, {"cachePoint": {"type": "default"}}]
    prefix = 2 + tok("You are a careful reviewer. " * 40)  # 282 tokens
    sonnet4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"
    first = rt.converse(sonnet4, prompt="first question", system=system)
    second = rt.converse(sonnet4, prompt="second question", system=system)
    haiku = rt.converse(HAIKU, prompt="cheap one")
    table = [
        # (meta, input, output, cache_read, cache_write, in$, out$, read$, write$)
        (first.meta, 3 + tok("first question"), None, 0, prefix, "0.003", "0.015", "0.0003", "0.00375"),
        (second.meta, 3 + tok("second question"), None, prefix, 0, "0.003", "0.015", "0.0003", "0.00375"),
        (haiku.meta, 3 + tok("cheap one"), None, 0, 0, "0.00025", "0.00125", "0", "0"),
    ]
    for meta, inp, _, cr, cw, p_in, p_out, p_cr, p_cw in table:
        u = meta.usage
        assert (u.input_tokens, u.cache_read_tokens, u.cache_write_tokens) == (inp, cr, cw)
        expected = (
            Decimal(inp) * Decimal(p_in)
            + Decimal(u.output_tokens) * Decimal(p_out)
            + Decimal(cr) * Decimal(p_cr)
            + Decimal(cw) * Decimal(p_cw)
        ) / 1000
        assert meta.cost_usd == expected
    # worked by hand: 7 input x 0.003 + 22 output x 0.015 + 282 cache-write x 0.00375 = 1.4085 per 1k
    assert (first.meta.usage.input_tokens, first.meta.usage.output_tokens) == (7, 22)
    assert first.meta.cost_usd == Decimal("0.0014085")
    assert rt.usage_sink.records[0].cost_usd == Decimal("0.0014085")  # type: ignore[union-attr]
