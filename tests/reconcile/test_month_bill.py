"""A generated month of invocation logs over every token dimension Bedrock bills, priced by ``usage report`` and
``cost`` and compared with a bill computed here by hand from the published rates (written out below, not read from
the price book): input, output, cache read, 5-minute and 1-hour cache writes, in-Region, geographic (``us.``) and
global profiles, long context (a call above 200k prompt tokens, and many small calls that only add up past it),
embeddings and an application inference profile; per model, per user and per tag.

The month is the CUR reconcile test's generator (``generated_month``) plus the records of the dimensions it lacks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from .test_cur_reconcile import ACCOUNT, ALICE, CI, MONTH, cli, generated_month, ingest

__all__ = ["cli"]  # the fixture, shared with the CUR test

SONNET_US = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
EMBED = "amazon.titan-embed-text-v2:0"
HAIKU_35 = "anthropic.claude-3-5-haiku-20241022-v1:0"
HAIKU_3 = "anthropic.claude-3-haiku-20240307-v1:0"  # behind the application inference profile
# USD per 1,000 tokens from the AWS Bedrock pricing page (us-east-1; the same in eu-west-1 for these models):
# input, output, cache read, 5-minute cache write, 1-hour cache write
RATES = {
    HAIKU_35: ("0.0008", "0.004", "0.00008", "0.001", "0.001"),
    HAIKU_3: ("0.00025", "0.00125", "0", "0", "0"),
    "amazon.nova-pro-v1:0": ("0.0008", "0.0032", "0.0002", "0.0008", "0.0008"),
    "global.anthropic.claude-haiku-4-5-20251001-v1:0": ("0.001", "0.005", "0.0001", "0.00125", "0.002"),
    SONNET_US: ("0.0033", "0.0165", "0.00033", "0.004125", "0.0066"),
    EMBED: ("0.00002", "0", "0", "0", "0"),
}
# Claude Sonnet 4.5 above 200,000 prompt tokens (input + cache, per call): every token at these rates
SONNET_US_LONG = ("0.0066", "0.02475", "0.00066", "0.00825", "0.0132")
USERS = {ALICE: "alice@example.com", CI: "ci-deploy/build-7"}


def _record(n: int, day: date, model: str, who: str, inp: dict[str, Any], out: int, tags: dict[str, str]) -> Any:
    return {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": f"{day}T15:{n % 60:02d}:00Z",
        "accountId": ACCOUNT,
        "identity": {"arn": who},
        "region": "us-east-1",
        "requestId": f"10000000-0000-4000-8000-{n:012d}",
        "operation": "InvokeModel" if model == EMBED else "Converse",
        "modelId": model,
        "input": {"inputContentType": "application/json", **inp},
        "output": {"outputContentType": "application/json", "outputTokenCount": out},
        "requestMetadata": tags,
    }


def more_dimensions(profile_arn: str) -> list[dict[str, Any]]:
    """What ``generated_month`` lacks: 1-hour writes, a geographic profile, long context, embeddings and an
    application inference profile, tagged with a team."""
    records, n, day = [], 0, date(2026, 1, 1)
    search = {"team": "search"}
    while day.month == 1:
        n += 1
        cached = {"cacheReadInputTokenCount": 1000, "cacheWriteInputTokenCount": 1500}
        details = [{"ttl": "1h", "inputTokens": 1000}, {"ttl": "5m", "inputTokens": 500}]
        inp = {"inputTokenCount": 6000, **cached, "cacheDetails": details}
        records.append(_record(n, day, SONNET_US, ALICE, inp, 400, search))
        n += 1
        records.append(_record(n, day, EMBED, CI, {"inputTokenCount": 500 + day.day}, 0, search))
        n += 1
        records.append(_record(n, day, profile_arn, ALICE, {"inputTokenCount": 800}, 120, {"team": "support"}))
        if day.weekday() == 0:  # one long-context call a week
            n += 1
            records.append(_record(n, day, SONNET_US, CI, {"inputTokenCount": 250_000}, 1000, search))
        day += timedelta(days=1)
    return records


def _by_hand(r: dict[str, Any], profile_arn: str) -> Decimal:
    model = HAIKU_3 if r["modelId"] == profile_arn else r["modelId"]
    inp = r["input"]
    hour = sum(d["inputTokens"] for d in inp.get("cacheDetails", []) if d["ttl"] == "1h")
    writes = inp.get("cacheWriteInputTokenCount", 0)
    counts = (
        inp["inputTokenCount"],
        r["output"]["outputTokenCount"],
        inp.get("cacheReadInputTokenCount", 0),
        writes - hour,
        hour,
    )
    prompt = counts[0] + counts[2] + writes
    rates = SONNET_US_LONG if model == SONNET_US and prompt > 200_000 else RATES[model]
    return sum((Decimal(c) * Decimal(rate) for c, rate in zip(counts, rates, strict=True)), Decimal(0)) / 1000


def _rows(cli: Callable[..., Any], *args: str) -> dict[str, Decimal]:
    res = cli(*args, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["unpriced"] == [], doc["unpriced"]
    key = doc["group_by"][0]
    return {str(r[key] or ""): Decimal(str(r["cost_usd"])) for r in doc["rows"]}


def test_a_generated_month_is_priced_to_the_cent_per_model_user_and_tag(
    cli: Callable[..., Any], boto_client: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(tmp_path / "data"))
    profile_arn = boto_client("bedrock").create_inference_profile(
        inferenceProfileName="support-haiku",
        modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU_3}"},
    )["inferenceProfileArn"]
    records = generated_month() + more_dimensions(profile_arn)
    ingest(cli, tmp_path, records)
    expected: dict[str, dict[str, Decimal]] = {"model": defaultdict(Decimal), "user": defaultdict(Decimal)}
    expected["tag:team"] = defaultdict(Decimal)
    for r in records:
        cost = _by_hand(r, profile_arn)
        expected["model"][r["modelId"]] += cost
        expected["user"][USERS[r["identity"]["arn"]]] += cost
        expected["tag:team"][(r.get("requestMetadata") or {}).get("team", "")] += cost
    since, until = f"{MONTH}-01", f"{MONTH}-31"
    for by, want in expected.items():
        got = _rows(cli, "usage", "report", "--by", by, "--since", since, "--until", until)
        assert got == dict(want), by
        cents = {k: v.quantize(Decimal("0.01")) for k, v in got.items()}
        assert cents == {k: v.quantize(Decimal("0.01")) for k, v in want.items()}
        assert _rows(cli, "cost", "--period", f"{since}:{until}", "--by", by) == got
    # the long-context rates apply to the weekly large calls only, not to small calls that add up past 200k
    small = [r for r in records if r["modelId"] == SONNET_US and r["input"]["inputTokenCount"] < 200_000]
    assert sum(r["input"]["inputTokenCount"] + 2500 for r in small) > 200_000


def test_the_reconcile_estimate_prices_1h_writes_and_long_context_per_call(tmp_path: Path) -> None:
    from bedrockctl.analytics.billgap import estimate
    from bedrockctl.analytics.ingest import ingest as ingest_logs
    from bedrockctl.analytics.store import UsageStore
    from bedrockctl.pricing import PriceBook

    profile_arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/abcdef123456"
    records = [r for r in more_dimensions(profile_arn) if r["modelId"] == SONNET_US]
    logs = tmp_path / "logs.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in records))
    store = UsageStore(tmp_path / "usage")
    ingest_logs(store, [str(logs)], progress=False)
    est = estimate(store, date(2026, 1, 1), date(2026, 2, 1), PriceBook.load())
    base = SONNET_US.removeprefix("us.")
    got = {slot: v for (day, _, model, slot), v in est.groups.items() if day == "2026-01-05" and model == base}
    # 2026-01-05 is a Monday: one small call (1h and 5m writes) and one long-context call
    small = Decimal(6000) * Decimal(RATES[SONNET_US][0]) / 1000
    long = Decimal(250_000) * Decimal(SONNET_US_LONG[0]) / 1000
    assert got["input"] == small + long
    assert got["cache_write_1h"] == Decimal(1000) * Decimal(RATES[SONNET_US][4]) / 1000
    assert got["cache_write"] == Decimal(500) * Decimal(RATES[SONNET_US][3]) / 1000
    hour = sum(v for (_, _, model, slot), v in est.groups.items() if model == base and slot == "cache_write_1h")
    assert hour == 31 * Decimal(1000) * Decimal(RATES[SONNET_US][4]) / 1000
