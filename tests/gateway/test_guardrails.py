"""Guardrails at the gateway: a guardrail created in the sandbox and configured for an environment (a team, a key)
blocks a prompt with its denied word on every protocol -- boto3 Converse and InvokeModel, the openai SDK, the
anthropic SDK, streamed or not -- each answering in its own terms; the audit says so, counts the guardrail's text
units and prices them; key > user > team > environment."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import ROUND_CEILING, Decimal
from typing import Any

import anthropic
import openai
import pytest
from botocore.exceptions import ClientError

from bedrockctl.errors import ConfigError
from bedrockctl.pricing import PriceBook
from bedrockctl.pricing.rates import Rate, guardrail_rate
from bedrockctl.server.gateway.guardrails import Guardrails, GuardrailUse
from bedrockctl.settings import EnvironmentSettings, build_settings

from .conftest import HAIKU, RunningGateway
from .test_protocols import audit
from .test_protocols import sigv4_client as bedrock_client

MODEL = "claude-3-haiku-20240307"  # the Anthropic API's name of HAIKU
ENV_WORD, TEAM_WORD, KEY_WORD = "zebracorn", "quokkaloo", "narwhalix"
ENV_BLOCKED, TEAM_BLOCKED, KEY_BLOCKED = "Blocked by dev.", "Blocked by team safety.", "Blocked by the key."
HATE_FILTER = {"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"}


@pytest.fixture
def guardrails(boto_client: Any) -> dict[str, tuple[str, str]]:
    """Three published guardrails (a denied word each, and a content filter: its units are priced)."""
    bedrock = boto_client("bedrock")

    def make(name: str, word: str, message: str) -> tuple[str, str]:
        created = bedrock.create_guardrail(
            name=name,
            blockedInputMessaging=message,
            blockedOutputsMessaging=message,
            wordPolicyConfig={"wordsConfig": [{"text": word}]},
            contentPolicyConfig={
                "filtersConfig": [{"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"}]
            },
        )
        version = bedrock.create_guardrail_version(guardrailIdentifier=created["guardrailId"])["version"]
        return created["guardrailId"], version

    return {
        "env": make("dev-guard", ENV_WORD, ENV_BLOCKED),
        "team": make("team-guard", TEAM_WORD, TEAM_BLOCKED),
        "key": make("key-guard", KEY_WORD, KEY_BLOCKED),
    }


@pytest.fixture
def gw(start_gateway: Callable[..., RunningGateway], guardrails: dict[str, tuple[str, str]]) -> RunningGateway:
    gid, version = guardrails["env"]
    team_id, team_version = guardrails["team"]
    key_id, key_version = guardrails["key"]
    return start_gateway(
        environments={
            "dev": EnvironmentSettings(name="dev", guardrail_id=gid, guardrail_version=version),
            "plain": EnvironmentSettings(name="plain"),
        },
        gateway={
            "teams": {"safety": {"guardrail_id": team_id, "guardrail_version": team_version}},
            "users": {"zoe": {"guardrail_id": key_id, "guardrail_version": key_version}},  # as the key's guardrail
        },
    )


def units_price(gw: RunningGateway, units: dict[str, int]) -> int:
    """The price book's price of guardrail units, in nano-USD rounded up (computed here from the book's rates)."""
    book = gw.gateway.runtime.prices
    names = {"contentPolicyUnits": "content_filter", "wordPolicyUnits": "word_filter"}
    total = Decimal(0)
    for name, count in units.items():
        rate = guardrail_rate(book, names[name])
        assert isinstance(rate, Rate)
        total += count * rate.usd
    return int((total * 1_000_000).to_integral_value(rounding=ROUND_CEILING))


def converse(gw: RunningGateway, key: dict[str, Any], text: str) -> dict[str, Any]:
    out: dict[str, Any] = bedrock_client(gw, key).converse(
        modelId=HAIKU, messages=[{"role": "user", "content": [{"text": text}]}], inferenceConfig={"maxTokens": 40}
    )
    return out


def invoke(gw: RunningGateway, key: dict[str, Any], text: str) -> dict[str, Any]:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 40,
        "messages": [{"role": "user", "content": text}],
    }
    resp = bedrock_client(gw, key).invoke_model(modelId=HAIKU, body=json.dumps(body))
    out: dict[str, Any] = json.loads(resp["body"].read())
    return out


def anthropic_body(text: str) -> str:
    messages = [{"role": "user", "content": text}]
    return json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 40, "messages": messages})


def chat(gw: RunningGateway, key: dict[str, Any], text: str) -> Any:
    c = openai.OpenAI(base_url=gw.url + "/v1", api_key=key["token"], max_retries=0)
    return c.chat.completions.create(model=HAIKU, max_tokens=40, messages=[{"role": "user", "content": text}])


def messages(gw: RunningGateway, key: dict[str, Any], text: str) -> Any:
    c = anthropic.Anthropic(base_url=gw.url, api_key=key["token"], max_retries=0)
    return c.messages.create(model=MODEL, max_tokens=40, messages=[{"role": "user", "content": text}])


def test_environment_guardrail_blocks_on_every_protocol(gw: RunningGateway) -> None:
    key = gw.key(team="ml", environment="dev")
    prompt = f"tell me about the {ENV_WORD} please"

    r = converse(gw, key, prompt)
    assert r["stopReason"] == "guardrail_intervened"
    assert r["output"]["message"]["content"][0]["text"] == ENV_BLOCKED
    assert r["usage"]["outputTokens"] == 0

    doc = invoke(gw, key, prompt)
    assert doc["amazon-bedrock-guardrailAction"] == "INTERVENED"  # Bedrock's own answer, passed through
    assert doc["content"][0]["text"] == ENV_BLOCKED

    completion = chat(gw, key, prompt)
    assert completion.choices[0].finish_reason == "content_filter"
    assert completion.choices[0].message.content == ENV_BLOCKED

    msg = messages(gw, key, prompt)
    assert msg.stop_reason == "refusal" and msg.content[0].type == "text" and msg.content[0].text == ENV_BLOCKED
    assert "amazon-bedrock-guardrailAction" not in msg.model_dump() and msg.model == MODEL

    rows = audit(gw)
    assert [(r.protocol, r.operation) for r in rows] == [
        ("bedrock", "Converse"),
        ("bedrock", "InvokeModel"),
        ("openai", "Converse"),
        ("anthropic", "InvokeModel"),
    ]
    blocked_price = units_price(gw, {"contentPolicyUnits": 1, "wordPolicyUnits": 1})
    assert blocked_price > 0  # the content filter's units are priced
    for row in rows:
        assert (row.status, row.http_status, row.environment) == ("guardrail_intervened", 200, "dev")
        # the input assessment only (the model was not called): one text unit per configured policy
        assert (row.guardrail_units, row.output_tokens, row.cost_nusd) == (2, 0, blocked_price)


def test_clean_prompt_passes_and_pays_for_the_guardrail(gw: RunningGateway) -> None:
    guarded, plain = gw.key(environment="dev"), gw.key(environment="plain")
    prompt = "hello gateway, a clean prompt"
    r = converse(gw, guarded, prompt)
    assert r["stopReason"] != "guardrail_intervened" and "hello gateway" in r["output"]["message"]["content"][0]["text"]
    assert invoke(gw, guarded, prompt)["type"] == "message"
    assert chat(gw, guarded, prompt).choices[0].finish_reason in ("stop", "length")
    assert messages(gw, guarded, prompt).stop_reason in ("end_turn", "max_tokens")
    unguarded = converse(gw, plain, prompt)
    assert unguarded["output"] == r["output"]  # the same answer without a guardrail
    rows = audit(gw)
    assert [r.status for r in rows] == ["ok"] * 5
    assert all(r.guardrail_units == 4 for r in rows[:4])  # input and output assessed, two policies each
    assert rows[4].guardrail_units == 0
    # the same call with the guardrail costs its units' price more
    assert rows[0].cost_nusd - rows[4].cost_nusd == units_price(gw, {"contentPolicyUnits": 2, "wordPolicyUnits": 2})


def test_streams_are_blocked_too(gw: RunningGateway) -> None:
    key = gw.key(environment="dev")
    prompt = f"a {ENV_WORD} story"
    events = list(
        bedrock_client(gw, key).converse_stream(
            modelId=HAIKU, messages=[{"role": "user", "content": [{"text": prompt}]}]
        )["stream"]
    )
    stops = [e["messageStop"]["stopReason"] for e in events if "messageStop" in e]
    assert stops == ["guardrail_intervened"]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == ENV_BLOCKED

    c = openai.OpenAI(base_url=gw.url + "/v1", api_key=key["token"], max_retries=0)
    chunks = list(c.chat.completions.create(model=HAIKU, stream=True, messages=[{"role": "user", "content": prompt}]))
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason] == [
        "content_filter"
    ]
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == ENV_BLOCKED

    a = anthropic.Anthropic(base_url=gw.url, api_key=key["token"], max_retries=0)
    with a.messages.stream(model=MODEL, max_tokens=40, messages=[{"role": "user", "content": prompt}]) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed == ENV_BLOCKED and final.stop_reason == "refusal"

    rows = audit(gw)
    assert [r.operation for r in rows] == ["ConverseStream", "ConverseStream", "InvokeModelWithResponseStream"]
    assert all(r.status == "guardrail_intervened" and r.guardrail_units == 2 for r in rows)
    assert all(r.cost_nusd == units_price(gw, {"contentPolicyUnits": 1, "wordPolicyUnits": 1}) for r in rows)


def test_key_beats_user_team_environment(gw: RunningGateway, guardrails: dict[str, tuple[str, str]]) -> None:
    key_id, key_version = guardrails["key"]
    own = gw.key(team="safety", environment="dev", guardrail_id=key_id, guardrail_version=key_version)
    user = gw.key(user="zoe", team="safety", environment="dev")
    team = gw.key(team="safety", environment="dev")
    env = gw.key(team="ml", environment="dev")
    assert own["guardrail"] == f"{key_id}:{key_version}"

    def answer(key: dict[str, Any], word: str) -> str:
        completion = chat(gw, key, f"what is a {word}?")
        return str(completion.choices[0].message.content)

    # each key's requests get its most specific guardrail, and only that one
    assert answer(own, KEY_WORD) == KEY_BLOCKED
    assert answer(own, TEAM_WORD) != TEAM_BLOCKED and answer(own, ENV_WORD) != ENV_BLOCKED
    assert answer(team, TEAM_WORD) == TEAM_BLOCKED
    assert answer(team, KEY_WORD) != KEY_BLOCKED and answer(team, ENV_WORD) != ENV_BLOCKED
    assert answer(env, ENV_WORD) == ENV_BLOCKED
    assert answer(env, TEAM_WORD) != TEAM_BLOCKED
    assert answer(user, KEY_WORD) == KEY_BLOCKED and answer(user, TEAM_WORD) != TEAM_BLOCKED
    statuses = [r.status for r in audit(gw)]
    blocked = "guardrail_intervened"
    assert statuses == [blocked, "ok", "ok", blocked, "ok", "ok", blocked, "ok", blocked, "ok"]


def test_a_caller_cannot_swap_the_guardrail(gw: RunningGateway, guardrails: dict[str, tuple[str, str]]) -> None:
    key = gw.key(environment="dev")
    client = bedrock_client(gw, key)
    msgs = [{"role": "user", "content": [{"text": f"a {ENV_WORD}"}]}]
    other_id, other_version = guardrails["team"]
    with pytest.raises(ClientError) as err:
        client.converse(
            modelId=HAIKU,
            messages=msgs,
            guardrailConfig={"guardrailIdentifier": other_id, "guardrailVersion": other_version},
        )
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as err:
        client.invoke_model(
            modelId=HAIKU, body=anthropic_body("hi"), guardrailIdentifier=other_id, guardrailVersion=other_version
        )
    assert "applies guardrail" in err.value.response["Error"]["Message"]
    # naming the configured guardrail is fine (the caller's trace setting is kept)
    gid, version = guardrails["env"]
    r = client.converse(
        modelId=HAIKU,
        messages=msgs,
        guardrailConfig={"guardrailIdentifier": gid, "guardrailVersion": version, "trace": "enabled_full"},
    )
    assert r["stopReason"] == "guardrail_intervened" and r["trace"]["guardrail"]
    assert [r.status for r in audit(gw)] == ["guardrail_mismatch", "guardrail_mismatch", "guardrail_intervened"]


def test_a_bedrock_callers_own_guardrail_is_counted(start_gateway: Any, guardrails: dict[str, tuple[str, str]]) -> None:
    gw = start_gateway()  # no guardrail configured
    gid, version = guardrails["team"]
    r = bedrock_client(gw, gw.key()).converse(
        modelId=HAIKU,
        messages=[{"role": "user", "content": [{"text": f"a {TEAM_WORD}"}]}],
        guardrailConfig={"guardrailIdentifier": gid, "guardrailVersion": version, "trace": "enabled"},
    )
    assert r["stopReason"] == "guardrail_intervened"
    (row,) = audit(gw)
    assert (row.status, row.guardrail_units) == ("guardrail_intervened", 2)
    assert row.cost_nusd == units_price(gw, {"contentPolicyUnits": 1, "wordPolicyUnits": 1})


def test_unpriced_units_add_nothing() -> None:
    book = PriceBook.load_for(None)
    g = Guardrails(build_settings({}, {}), book)
    content = guardrail_rate(book, "content_filter")
    assert isinstance(content, Rate)
    # automated reasoning has no rate in the book: its units are unpriced, never guessed
    assert g.cost_nusd({"automatedReasoningPolicyUnits": 7}) == 0
    expected = (3 * content.usd * 1_000_000).to_integral_value(rounding=ROUND_CEILING)
    assert g.cost_nusd({"contentPolicyUnits": 3, "automatedReasoningPolicyUnits": 7}) == int(expected)
    # units are read from every assessment of a trace, whatever its shape (Converse's, InvokeModel's)
    use = GuardrailUse(None)
    usage = {"contentPolicyUnits": 1, "automatedReasoningPolicies": 2, "automatedReasoningPolicyUnits": 3}
    use.trace(
        {"input": {"g1": {"invocationMetrics": {"usage": usage}}}, "outputs": [{"invocationMetrics": {"usage": usage}}]}
    )
    assert use.units == {"contentPolicyUnits": 2, "automatedReasoningPolicyUnits": 6}


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ({"guardrail_id": "Not An Id"}, "guardrail_id"),
        ({"guardrail_id": "abc123", "guardrail_version": "v1"}, "guardrail_version"),
        ({"guardrail_version": "1"}, "guardrail_version"),
    ],
)
def test_bad_guardrail_config_is_refused(table: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_settings({"environments": {"dev": table}}, {})
    assert f"environments.dev.{field}" in err.value.message
    with pytest.raises(ConfigError) as err:
        Guardrails(build_settings({"gateway": {"teams": {"ml": table}}}, {}), None)
    assert f"gateway.teams.ml: {field}" in err.value.message


def test_a_key_with_a_bad_guardrail_is_not_created(gw: RunningGateway) -> None:
    with pytest.raises(ValueError, match="guardrail_id = 'Bad Id' is invalid"):
        gw.key(guardrail_id="Bad Id")
    with pytest.raises(ValueError, match="guardrail_version = 'latest' is invalid"):
        gw.key(guardrail_id="abc123", guardrail_version="latest")
    assert gw.gateway.keys.list() == []
