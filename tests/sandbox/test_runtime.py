"""Converse / ConverseStream against the running sandbox with real boto3 clients."""

from __future__ import annotations

import math
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrockctl.sandbox.core import InvocationRecord
from bedrockctl.sandbox.shapecheck import validate_output

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET_45_US = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def _tok(text: str) -> int:
    return math.ceil(len(text.encode()) / 4)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


@pytest.fixture
def records(sandbox_env: Any, monkeypatch: pytest.MonkeyPatch) -> list[InvocationRecord]:
    """Every InvocationRecord the handlers report (the real side effects still run)."""
    seen: list[InvocationRecord] = []
    original = sandbox_env.record_invocation

    def spy(req: Any, record: InvocationRecord) -> None:
        seen.append(record)
        original(req, record)

    monkeypatch.setattr(sandbox_env, "record_invocation", spy)
    return seen


@pytest.fixture
def rt(boto_client: Any) -> Any:
    return boto_client("bedrock-runtime")


def _clean(resp: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


def test_converse_reply_usage_and_record(rt: Any, records: list[InvocationRecord]) -> None:
    resp = rt.converse(
        modelId=HAIKU,
        messages=user("Hello there, sandbox"),
        system=[{"text": "Be brief."}],
        requestMetadata={"team": "platform", "workflow": "tests"},
    )
    assert validate_output("bedrock-runtime", "Converse", resp) == []
    text = resp["output"]["message"]["content"][0]["text"]
    assert text.startswith("Sandbox reply ") and '"Hello there, sandbox"' in text
    usage = resp["usage"]
    assert usage["inputTokens"] == 2 + _tok("Be brief.") + 3 + _tok("Hello there, sandbox")
    assert usage["outputTokens"] == _tok(text)
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert resp["stopReason"] == "end_turn"
    (rec,) = records
    assert (rec.operation, rec.model_id, rec.error_code) == ("Converse", HAIKU, None)
    assert (rec.input_tokens, rec.output_tokens) == (usage["inputTokens"], usage["outputTokens"])
    assert rec.request_metadata == {"team": "platform", "workflow": "tests"}
    assert rec.inference_region is None


def test_replies_are_deterministic_and_prompt_dependent(rt: Any) -> None:
    a1 = rt.converse(modelId=HAIKU, messages=user("alpha"))["output"]["message"]["content"][0]["text"]
    a2 = rt.converse(modelId=HAIKU, messages=user("alpha"))["output"]["message"]["content"][0]["text"]
    b = rt.converse(modelId=HAIKU, messages=user("beta"))["output"]["message"]["content"][0]["text"]
    assert a1 == a2 and a1 != b


def test_max_tokens_truncates_and_stops(rt: Any, records: list[InvocationRecord]) -> None:
    resp = rt.converse(modelId=HAIKU, messages=user("tell me a story"), inferenceConfig={"maxTokens": 3})
    assert resp["stopReason"] == "max_tokens"
    assert resp["usage"]["outputTokens"] == 3
    assert len(resp["output"]["message"]["content"][0]["text"].encode()) <= 12
    assert records[-1].output_tokens == 3


def test_max_tokens_above_model_limit_is_rejected(rt: Any) -> None:
    with pytest.raises(ClientError) as info:
        rt.converse(modelId=HAIKU, messages=user("x"), inferenceConfig={"maxTokens": 100000})
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert "4096" in info.value.response["Error"]["Message"]


def test_stop_sequence(rt: Any) -> None:
    resp = rt.converse(modelId=HAIKU, messages=user("stop here"), inferenceConfig={"stopSequences": ["received"]})
    assert resp["stopReason"] == "stop_sequence"
    assert resp["output"]["message"]["content"][0]["text"].endswith("I ")


WEATHER_TOOL = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Weather for a city",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city"],
            }
        },
    }
}


def test_tool_use_round_trip(rt: Any) -> None:
    first = rt.converse(modelId=HAIKU, messages=user("Use get_weather for Paris"), toolConfig={"tools": [WEATHER_TOOL]})
    assert validate_output("bedrock-runtime", "Converse", first) == []
    assert first["stopReason"] == "tool_use"
    use = next(c["toolUse"] for c in first["output"]["message"]["content"] if "toolUse" in c)
    assert use["name"] == "get_weather" and use["input"] == {"city": "sandbox"}
    second = rt.converse(
        modelId=HAIKU,
        toolConfig={"tools": [WEATHER_TOOL]},
        messages=[
            *user("Use get_weather for Paris"),
            first["output"]["message"],
            {
                "role": "user",
                "content": [{"toolResult": {"toolUseId": use["toolUseId"], "content": [{"text": "sunny, 21C"}]}}],
            },
        ],
    )
    assert second["stopReason"] == "end_turn"
    assert "sunny, 21C" in second["output"]["message"]["content"][0]["text"]
    plain = rt.converse(modelId=HAIKU, messages=user("no tools wanted"), toolConfig={"tools": [WEATHER_TOOL]})
    assert plain["stopReason"] == "end_turn"


def test_prompt_cache_write_then_read(rt: Any, records: list[InvocationRecord]) -> None:
    system = [{"text": "You are a careful reviewer. " * 40}, {"cachePoint": {"type": "default"}}]
    prefix = 2 + _tok("You are a careful reviewer. " * 40)
    first = rt.converse(modelId=SONNET_45_US, system=system, messages=user("first question"))
    assert first["usage"]["cacheWriteInputTokens"] == prefix
    assert first["usage"]["cacheReadInputTokens"] == 0
    assert first["usage"]["inputTokens"] == 3 + _tok("first question")
    second = rt.converse(modelId=SONNET_45_US, system=system, messages=user("second question"))
    assert validate_output("bedrock-runtime", "Converse", second) == []
    u = second["usage"]
    assert (u["cacheReadInputTokens"], u["cacheWriteInputTokens"]) == (prefix, 0)
    assert u["totalTokens"] == u["inputTokens"] + u["outputTokens"] + prefix
    assert (records[-1].cache_read_tokens, records[-1].cache_write_tokens) == (prefix, 0)
    assert (records[0].cache_read_tokens, records[0].cache_write_tokens) == (0, prefix)


def test_cross_region_profile_routes_to_member_regions(rt: Any, records: list[InvocationRecord]) -> None:
    for _ in range(4):
        rt.converse(modelId=SONNET_45_US, messages=user("route me"))
    regions = {r.inference_region or "us-east-1" for r in records}
    assert regions == {"us-east-1", "us-east-2", "us-west-1", "us-west-2"}
    assert all(r.model_id == SONNET_45_US for r in records)


def test_converse_stream_matches_converse(rt: Any, records: list[InvocationRecord]) -> None:
    whole = rt.converse(modelId=HAIKU, messages=user("stream this please"))
    resp = rt.converse_stream(modelId=HAIKU, messages=user("stream this please"), requestMetadata={"k": "v"})
    assert validate_output("bedrock-runtime", "ConverseStream", resp) == []
    events = list(resp["stream"])
    assert events[0] == {"messageStart": {"role": "assistant"}}
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == whole["output"]["message"]["content"][0]["text"]
    assert {"messageStop": {"stopReason": "end_turn"}} in events
    meta = events[-1]["metadata"]
    assert meta["usage"] == whole["usage"]
    rec = records[-1]
    assert (rec.operation, rec.output_tokens, rec.request_metadata) == (
        "ConverseStream",
        meta["usage"]["outputTokens"],
        {"k": "v"},
    )


def test_converse_stream_tool_use_events(rt: Any) -> None:
    resp = rt.converse_stream(
        modelId=HAIKU, messages=user("call get_weather now"), toolConfig={"tools": [WEATHER_TOOL]}
    )
    events = list(resp["stream"])
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["start"]["toolUse"]["name"] == "get_weather"
    assert {"messageStop": {"stopReason": "tool_use"}} in events


def _error(call: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]


def test_model_identifier_errors(rt: Any, boto_client: Any, records: list[InvocationRecord]) -> None:
    err = _error(rt.converse, modelId="acme.unknown-model-v1:0", messages=user("x"))
    assert err == {"Code": "ValidationException", "Message": "The provided model identifier is invalid."}
    assert records[-1].error_code == "ValidationException"
    err = _error(rt.converse, modelId="anthropic.claude-sonnet-4-5-20250929-v1:0", messages=user("x"))
    assert err["Message"] == (
        "Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand throughput isn't "
        "supported. Retry your request with the ID or ARN of an inference profile that contains this model."
    )
    eu = boto_client("bedrock-runtime", region="eu-west-1")
    err = _error(eu.converse, modelId="meta.llama3-8b-instruct-v1:0", messages=user("x"))
    assert err["Message"] == "The provided model identifier is invalid."
    err = _error(eu.converse, modelId=SONNET_45_US, messages=user("x"))  # a US profile from an EU region
    assert err["Message"] == "The provided model identifier is invalid."
    err = _error(rt.converse, modelId="amazon.titan-embed-text-v2:0", messages=user("x"))
    assert err["Code"] == "ValidationException" and "text or chat model" in err["Message"]


def test_foundation_model_arn(rt: Any, records: list[InvocationRecord]) -> None:
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
    resp = rt.converse(modelId=arn, messages=user("by arn"))
    assert resp["stopReason"] == "end_turn" and records[-1].model_id == arn
    other = f"arn:aws:bedrock:eu-west-1::foundation-model/{HAIKU}"
    assert _error(rt.converse, modelId=other, messages=user("x"))["Code"] == "ValidationException"
    profile_arn = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{SONNET_45_US}"
    assert rt.converse(modelId=profile_arn, messages=user("profile arn"))["stopReason"] == "end_turn"


def test_conversation_must_alternate(rt: Any) -> None:
    err = _error(rt.converse, modelId=HAIKU, messages=[*user("a"), *user("b")])
    assert err["Code"] == "ValidationException" and "alternate" in err["Message"]


@pytest.fixture
def guardrail(boto_client: Any) -> dict[str, str]:
    created = boto_client("bedrock").create_guardrail(
        name="no-advice",
        blockedInputMessaging="Input blocked by policy.",
        blockedOutputsMessaging="Output blocked by policy.",
        topicPolicyConfig={
            "topicsConfig": [
                {
                    "name": "Investment advice",
                    "definition": "Recommendations about investing money.",
                    "examples": ["Which stocks should I buy?"],
                    "type": "DENY",
                }
            ]
        },
        wordPolicyConfig={"wordsConfig": [{"text": "frobnicate"}]},
    )
    version = boto_client("bedrock").create_guardrail_version(guardrailIdentifier=created["guardrailId"])
    return {"id": created["guardrailId"], "arn": created["guardrailArn"], "version": version["version"]}


def test_guardrail_intervenes_on_trigger_word(
    rt: Any, guardrail: dict[str, str], records: list[InvocationRecord]
) -> None:
    gid = guardrail["id"]
    cfg = {"guardrailIdentifier": gid, "guardrailVersion": "DRAFT", "trace": "enabled"}
    resp = rt.converse(modelId=HAIKU, messages=user("please BLOCKME now"), guardrailConfig=cfg)
    assert validate_output("bedrock-runtime", "Converse", resp) == []
    assert resp["stopReason"] == "guardrail_intervened"
    assert resp["output"]["message"]["content"][0]["text"] == "Input blocked by policy."
    assert resp["usage"] == {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}
    words = resp["trace"]["guardrail"]["inputAssessment"][gid]["wordPolicy"]["customWords"]
    assert words[0]["match"] == "BLOCKME" and words[0]["action"] == "BLOCKED"
    assert records[-1].input_tokens == 0 and records[-1].error_code is None
    ok = rt.converse(modelId=HAIKU, messages=user("harmless"), guardrailConfig=cfg)
    assert ok["stopReason"] == "end_turn" and "outputAssessments" in ok["trace"]["guardrail"]
    quiet = rt.converse(modelId=HAIKU, messages=user("BLOCKME"), guardrailConfig={**cfg, "trace": "disabled"})
    assert quiet["stopReason"] == "guardrail_intervened" and "trace" not in quiet


def test_guardrail_denied_topic_and_custom_word(rt: Any, guardrail: dict[str, str]) -> None:
    cfg = {"guardrailIdentifier": guardrail["arn"], "guardrailVersion": guardrail["version"], "trace": "enabled"}
    topic = rt.converse(modelId=HAIKU, messages=user("Which stocks should I buy?"), guardrailConfig=cfg)
    assessment = topic["trace"]["guardrail"]["inputAssessment"][guardrail["id"]]
    assert assessment["topicPolicy"]["topics"][0]["name"] == "Investment advice"
    word = rt.converse(modelId=HAIKU, messages=user("please Frobnicate it"), guardrailConfig=cfg)
    assert word["stopReason"] == "guardrail_intervened"
    guarded = rt.converse(
        modelId=HAIKU,
        guardrailConfig=cfg,
        messages=[{"role": "user", "content": [{"text": "frobnicate"}, {"guardContent": {"text": {"text": "hi"}}}]}],
    )
    # only guardContent is assessed on input; the reply echoes the prompt, so the output check blocks it
    trace = guarded["trace"]["guardrail"]
    assert "wordPolicy" not in trace["inputAssessment"][guardrail["id"]]
    assert "wordPolicy" in trace["outputAssessments"][guardrail["id"]][0]
    assert guarded["stopReason"] == "guardrail_intervened"
    assert guarded["output"]["message"]["content"][0]["text"] == "Output blocked by policy."
    err = _error(
        rt.converse,
        modelId=HAIKU,
        messages=user("x"),
        guardrailConfig={**cfg, "guardrailIdentifier": "nosuchguardrail"},
    )
    assert err["Code"] == "ValidationException" and "guardrail" in err["Message"]


def test_apply_guardrail(rt: Any, guardrail: dict[str, str]) -> None:
    blocked = rt.apply_guardrail(
        guardrailIdentifier=guardrail["id"],
        guardrailVersion=guardrail["version"],
        source="INPUT",
        content=[{"text": {"text": "this says BLOCKME"}}],
    )
    assert validate_output("bedrock-runtime", "ApplyGuardrail", blocked) == []
    assert blocked["action"] == "GUARDRAIL_INTERVENED"
    assert blocked["outputs"] == [{"text": "Input blocked by policy."}]
    passed = rt.apply_guardrail(
        guardrailIdentifier=guardrail["arn"],
        guardrailVersion="DRAFT",
        source="OUTPUT",
        content=[{"text": {"text": "all fine"}}],
    )
    assert validate_output("bedrock-runtime", "ApplyGuardrail", passed) == []
    assert passed["action"] == "NONE" and passed["outputs"] == []
    assert passed["usage"]["wordPolicyUnits"] == 1 and passed["usage"]["topicPolicyUnits"] == 1
    with pytest.raises(ClientError) as info:
        rt.apply_guardrail(
            guardrailIdentifier="nosuchguardrail",
            guardrailVersion="1",
            source="INPUT",
            content=[{"text": {"text": "x"}}],
        )
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_access_denied(rt: Any, records: list[InvocationRecord]) -> None:
    from bedrockctl.sandbox.bedrock.control import set_model_access

    try:
        account = boto_account(rt)
        set_model_access(account, HAIKU, False)
        err = _error(rt.converse, modelId=HAIKU, messages=user("x"))
        assert err == {
            "Code": "AccessDeniedException",
            "Message": "You don't have access to the model with the specified model ID.",
        }
        assert records[-1].error_code == "AccessDeniedException"
    finally:
        set_model_access(account, HAIKU, True)
    assert rt.converse(modelId=HAIKU, messages=user("x"))["stopReason"] == "end_turn"


def boto_account(rt: Any) -> str:
    import boto3

    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=rt.meta.endpoint_url,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="testing",
    )
    return str(sts.get_caller_identity()["Account"])


def test_application_inference_profile(rt: Any, boto_client: Any, records: list[InvocationRecord]) -> None:
    bedrock = boto_client("bedrock")
    arn = bedrock.create_inference_profile(
        inferenceProfileName="team-a",
        modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"},
    )["inferenceProfileArn"]
    resp = rt.converse(modelId=arn, messages=user("via app profile"))
    assert resp["stopReason"] == "end_turn" and records[-1].model_id == arn
    bad = arn[:-4] + "zzzz"
    assert (
        _error(rt.converse, modelId=bad, messages=user("x"))["Message"] == "The provided model identifier is invalid."
    )


def test_provisioned_throughput_arn(rt: Any, boto_client: Any, records: list[InvocationRecord]) -> None:
    bedrock = boto_client("bedrock")
    arn = bedrock.create_provisioned_model_throughput(modelUnits=1, provisionedModelName="pt-a", modelId=HAIKU)[
        "provisionedModelArn"
    ]
    resp = rt.converse(modelId=arn, messages=user("via provisioned throughput"))
    assert resp["stopReason"] == "end_turn" and records[-1].model_id == arn
