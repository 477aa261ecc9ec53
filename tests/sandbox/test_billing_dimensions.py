"""What a call is billed by, reported the way AWS reports it: cache writes per TTL (5 minutes vs 1 hour), the
service tier, and guardrail text units per policy, in runtime responses and invocation log records.

Real boto3 clients over HTTP against the sandbox; every response is checked against botocore's output shapes.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrockctl.sandbox.bedrock import runtime_engine
from bedrockctl.sandbox.shapecheck import validate_output

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET_45_US = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def _tok(text: str) -> int:
    return math.ceil(len(text.encode()) / 4)


def user(text: str, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}, *extra]}]


@pytest.fixture
def rt(boto_client: Any) -> Any:
    return boto_client("bedrock-runtime")


@pytest.fixture
def logged(invocation_log_reader: Any) -> Any:
    """Invocation logging to CloudWatch Logs; returns a reader of the log records, oldest first."""
    return invocation_log_reader


def _system(ttl_first: str | None, ttl_second: str | None) -> tuple[list[dict[str, Any]], int, int]:
    """A two-part system prompt with a cache point after each part; returns (blocks, part 1 tokens, part 2 tokens)."""
    one, two = f"Policy handbook {uuid.uuid4()}. " * 30, f"Style guide {uuid.uuid4()}. " * 20
    point = [{"cachePoint": {"type": "default", **({"ttl": t} if t else {})}} for t in (ttl_first, ttl_second)]
    return [{"text": one}, point[0], {"text": two}, point[1]], 2 + _tok(one), _tok(two)


def test_converse_reports_cache_writes_per_ttl(rt: Any, logged: Any) -> None:
    system, part1, part2 = _system("1h", "5m")
    first = rt.converse(modelId=SONNET_45_US, system=system, messages=user("first"))
    assert validate_output("bedrock-runtime", "Converse", first) == []
    usage = first["usage"]
    assert usage["cacheWriteInputTokens"] == part1 + part2 and usage["cacheReadInputTokens"] == 0
    assert usage["cacheDetails"] == [{"ttl": "1h", "inputTokens": part1}, {"ttl": "5m", "inputTokens": part2}]
    second = rt.converse(modelId=SONNET_45_US, system=system, messages=user("second"))
    assert second["usage"]["cacheReadInputTokens"] == part1 + part2
    assert second["usage"]["cacheWriteInputTokens"] == 0 and "cacheDetails" not in second["usage"]
    records = logged()
    assert [r["input"]["cacheWriteInputTokenCount"] for r in records] == [part1 + part2, 0]
    assert records[0]["input"]["cacheDetails"] == usage["cacheDetails"]
    assert "cacheDetails" not in records[1]["input"]


def test_default_ttl_is_five_minutes_and_longer_ttls_must_come_first(rt: Any) -> None:
    system, part1, part2 = _system(None, None)
    usage = rt.converse(modelId=SONNET_45_US, system=system, messages=user("q"))["usage"]
    assert usage["cacheDetails"] == [{"ttl": "5m", "inputTokens": part1 + part2}]
    bad, _, _ = _system("5m", "1h")
    with pytest.raises(ClientError) as exc:
        rt.converse(modelId=SONNET_45_US, system=bad, messages=user("q"))
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert "1h" in exc.value.response["Error"]["Message"]


def test_converse_stream_metadata_carries_ttl_split_and_tier(rt: Any, logged: Any) -> None:
    system, part1, part2 = _system("1h", "1h")
    resp = rt.converse_stream(
        modelId=SONNET_45_US, system=system, messages=user("stream it"), serviceTier={"type": "priority"}
    )
    assert validate_output("bedrock-runtime", "ConverseStream", resp) == []
    meta = next(e["metadata"] for e in resp["stream"] if "metadata" in e)
    assert meta["usage"]["cacheDetails"] == [{"ttl": "1h", "inputTokens": part1 + part2}]
    assert meta["serviceTier"] == {"type": "priority"}
    (record,) = logged()
    assert record["serviceTier"] == {"type": "priority"} and record["operation"] == "ConverseStream"
    assert record["input"]["cacheDetails"] == [{"ttl": "1h", "inputTokens": part1 + part2}]


@pytest.mark.parametrize("tier", ["priority", "default", "flex", "reserved"])
def test_service_tier_is_echoed_and_logged(rt: Any, logged: Any, tier: str) -> None:
    resp = rt.converse(
        modelId=HAIKU,
        messages=user("tiered"),
        serviceTier={"type": tier},
        performanceConfig={"latency": "standard"},
    )
    assert validate_output("bedrock-runtime", "Converse", resp) == []
    assert resp["serviceTier"] == {"type": tier} and resp["performanceConfig"] == {"latency": "standard"}
    assert logged()[-1]["serviceTier"] == {"type": tier}


def test_no_tier_asked_none_reported(rt: Any, logged: Any) -> None:
    resp = rt.converse(modelId=HAIKU, messages=user("plain"))
    assert "serviceTier" not in resp and "serviceTier" not in logged()[-1]


def test_bad_service_tier_is_a_validation_error(boto_client: Any) -> None:
    from botocore.config import Config

    # boto3 would refuse the value client-side; turn its validation off to reach the service
    rt = boto_client("bedrock-runtime", config=Config(parameter_validation=False, retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as exc:
        rt.converse(modelId=HAIKU, messages=user("x"), serviceTier={"type": "turbo"})
    err = exc.value.response
    assert err["Error"]["Code"] == "ValidationException" and err["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "priority, default, flex, reserved" in err["Error"]["Message"]


def test_invoke_model_anthropic_cache_creation_and_tier_header(rt: Any, logged: Any) -> None:
    doc = f"Reference manual {uuid.uuid4()}. " * 40
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 50,
        "system": [{"type": "text", "text": doc, "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "summarise"}]}],
    }
    resp = rt.invoke_model(modelId=SONNET_45_US, body=json.dumps(body), serviceTier="flex")
    assert resp["serviceTier"] == "flex"
    usage = json.loads(resp["body"].read())["usage"]
    written = usage["cache_creation_input_tokens"]
    assert written > 0 and usage["cache_creation"] == {
        "ephemeral_5m_input_tokens": 0,
        "ephemeral_1h_input_tokens": written,
    }
    stream = rt.invoke_model_with_response_stream(modelId=SONNET_45_US, body=json.dumps(body), serviceTier="flex")
    assert stream["serviceTier"] == "flex"
    chunks = [
        json.loads(base64.b64decode(e["chunk"]["bytes"]))
        if isinstance(e["chunk"]["bytes"], str)
        else json.loads(e["chunk"]["bytes"])
        for e in stream["body"]
    ]
    start = chunks[0]["message"]["usage"]
    assert start["cache_read_input_tokens"] == written
    assert start["cache_creation"] == {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
    records = logged()
    assert [r["serviceTier"] for r in records] == [{"type": "flex"}, {"type": "flex"}]
    assert records[0]["input"]["cacheDetails"] == [{"ttl": "1h", "inputTokens": written}]


@pytest.fixture
def guardrail(boto_client: Any) -> dict[str, str]:
    created = boto_client("bedrock").create_guardrail(
        name="billing-units",
        blockedInputMessaging="Blocked.",
        blockedOutputsMessaging="Blocked.",
        contentPolicyConfig={"filtersConfig": [{"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"}]},
        topicPolicyConfig={"topicsConfig": [{"name": "Legal advice", "definition": "Advice on law.", "type": "DENY"}]},
        sensitiveInformationPolicyConfig={"piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"}]},
    )
    regex_only = boto_client("bedrock").create_guardrail(
        name="regex-only",
        blockedInputMessaging="Blocked.",
        blockedOutputsMessaging="Blocked.",
        sensitiveInformationPolicyConfig={
            "regexesConfig": [{"name": "ticket", "pattern": "T-[0-9]+", "action": "ANONYMIZE"}]
        },
    )
    return {"id": created["guardrailId"], "regex": regex_only["guardrailId"]}


def test_apply_guardrail_units_per_policy(boto_client: Any, guardrail: dict[str, str]) -> None:
    rt = boto_client("bedrock-runtime")
    text = "x" * 2500  # 3 text units (1,000 characters each, started units count)
    resp = rt.apply_guardrail(
        guardrailIdentifier=guardrail["id"],
        guardrailVersion="DRAFT",
        source="INPUT",
        content=[{"text": {"text": text}}],
    )
    assert validate_output("bedrock-runtime", "ApplyGuardrail", resp) == []
    assert resp["usage"] == {
        "topicPolicyUnits": 3,
        "contentPolicyUnits": 3,
        "wordPolicyUnits": 3,
        "sensitiveInformationPolicyUnits": 3,
        "sensitiveInformationPolicyFreeUnits": 0,
        "contextualGroundingPolicyUnits": 0,
    }
    regex = rt.apply_guardrail(
        guardrailIdentifier=guardrail["regex"],
        guardrailVersion="DRAFT",
        source="OUTPUT",
        content=[{"text": {"text": "T-1"}}],
    )["usage"]
    assert (regex["sensitiveInformationPolicyUnits"], regex["sensitiveInformationPolicyFreeUnits"]) == (0, 1)


def test_converse_guardrail_units_in_trace_and_log(rt: Any, logged: Any, guardrail: dict[str, str]) -> None:
    cfg = {"guardrailIdentifier": guardrail["id"], "guardrailVersion": "DRAFT", "trace": "enabled"}
    resp = rt.converse(modelId=HAIKU, messages=user("hello"), guardrailConfig=cfg)
    assert validate_output("bedrock-runtime", "Converse", resp) == []
    trace = resp["trace"]["guardrail"]
    inp = trace["inputAssessment"][guardrail["id"]]["invocationMetrics"]["usage"]
    out = trace["outputAssessments"][guardrail["id"]][0]["invocationMetrics"]["usage"]
    record = logged()[-1]
    assert record["guardrailUsage"] == {k: inp[k] + out[k] for k in inp}
    assert record["guardrailUsage"]["contentPolicyUnits"] == 2  # one unit on the input, one on the reply
    rt.converse(modelId=HAIKU, messages=user("plain"))
    assert "guardrailUsage" not in logged()[-1]


def test_cache_entries_expire_after_their_ttl() -> None:
    """The engine's cache with a clock the test owns: a 5-minute prefix expires, a 1-hour one does not."""
    account = f"acct-{uuid.uuid4()}"
    points = [("p1", 100), ("p2", 150)]
    t0 = 1_000_000.0
    assert runtime_engine.apply_cache(account, "m", points, ["1h", "5m"], now=t0) == (0, {"1h": 100, "5m": 50})
    assert runtime_engine.apply_cache(account, "m", points, ["1h", "5m"], now=t0 + 299) == (150, {})
    # 5 minutes after the last read the 5m prefix is gone; the 1h prefix is read, the rest written again
    assert runtime_engine.apply_cache(account, "m", points, ["1h", "5m"], now=t0 + 299 + 300) == (100, {"5m": 50})
    assert runtime_engine.apply_cache(account, "m", points, ["1h", "5m"], now=t0 + 299 + 300 + 3600) == (
        0,
        {"1h": 100, "5m": 50},
    )
