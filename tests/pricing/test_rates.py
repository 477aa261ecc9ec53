"""``PriceBook.rates``: every billing dimension with its source and date, or unpriced with the reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bedrockctl.pricing import PriceBook, Usage
from bedrockctl.pricing.hourly import Unpriced
from bedrockctl.pricing.rates import Rate, custom_model_unit_rate, guardrail_rate, image_rate

BOOK = PriceBook.load()
SONNET45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def test_routing_in_region_geo_and_global_and_both_cache_ttls() -> None:
    geo = BOOK.rates(f"us.{SONNET45}", "us-west-2", ttl="1h")
    glob = BOOK.rates(f"global.{SONNET45}", "us-west-2", ttl="1h")
    local = BOOK.rates(SONNET45, "us-east-1")
    assert geo is not None and glob is not None and local is not None
    assert (geo.routing, glob.routing, local.routing) == ("geo", "global", "in_region")
    assert geo.cache_write == Decimal("0.0066") and glob.cache_write == Decimal("0.006")  # 1-hour: 2x input
    assert local.cache_write == Decimal("0.004125")  # 5-minute: 1.25x input
    assert geo.usd("input") == local.usd("input") == Decimal("0.0033")  # geo bills the source Region's rate
    one_hour = geo.rates["cache_write_1h"]
    assert "1-hour" in one_hour.source and one_hour.as_of == date(2026, 12, 5)
    assert geo.rates["input"].source.startswith("https://aws.amazon.com/bedrock/pricing") and geo.rates[
        "input"
    ].as_of == date(2026, 11, 21)


def test_every_rate_of_the_packaged_book_has_a_source_and_a_date() -> None:
    seen = 0
    for entry in BOOK:
        for ref in (entry.model_id, f"global.{entry.model_id}"):
            for context in ("standard", "long"):
                rec = BOOK.rates(ref, "us-east-1", context=context)  # type: ignore[arg-type]
                assert rec is not None
                for rate in rec.rates.values():
                    assert rate.source and isinstance(rate.as_of, date) and rate.usd >= 0
                    seen += 1
                assert set(rec.rates) | set(rec.unpriced) >= {"input", "output"} or "*" in rec.unpriced
    assert seen > 200


def test_long_context_rates_apply_above_the_threshold_only() -> None:
    rec = BOOK.rates(f"eu.{SONNET45}", "eu-west-1", context="long")
    assert rec is not None and rec.long_context_threshold == 200_000
    assert (rec.usd("input"), rec.usd("output")) == (Decimal("0.0066"), Decimal("0.02475"))
    price = BOOK.price_for(f"eu.{SONNET45}", "eu-west-1")
    assert price is not None
    # at the threshold: standard rates, 190*0.0033 + 10*0.00033 (cache read) + 1*0.0165
    assert price.cost(Usage(190_000, 1_000, 10_000)) == Decimal("0.6468")
    # one token above: every token at the long-context rates, 190.001*0.0066 + 10*0.00066 + 1*0.02475
    assert price.cost(Usage(190_001, 1_000, 10_000)) == Decimal("1.2853566")
    glob = BOOK.price_for(f"global.{SONNET45}", "eu-west-1")
    assert glob is not None and glob.cost(Usage(300_000, 2_000)) == Decimal("1.845")  # 300*0.006 + 2*0.0225


def test_one_hour_cache_writes_bill_at_their_own_rate() -> None:
    price = BOOK.price_for("us.anthropic.claude-haiku-4-5-20251001-v1:0", "us-east-1")
    assert price is not None
    # 1*0.0011 + 2*0.001375 (5-minute) + 3*0.0022 (1-hour)
    usage = Usage(input_tokens=1000, cache_write_tokens=2000, cache_write_1h_tokens=3000)
    assert price.cost(usage) == Decimal("0.01045")
    batch = BOOK.price_for("us.anthropic.claude-haiku-4-5-20251001-v1:0", "us-east-1", batch=True)
    assert batch is not None and batch.cost(Usage(cache_write_1h_tokens=1000)) == Decimal("0.0011")


def test_tiers_batch_and_reserved() -> None:
    batch = BOOK.rates("anthropic.claude-3-haiku-20240307-v1:0", "us-east-1", tier="batch")
    assert batch is not None and batch.usd("input") == Decimal("0.000125")
    for tier in ("priority", "flex"):
        rec = BOOK.rates("amazon.nova-lite-v1:0", "us-east-1", tier=tier)  # type: ignore[arg-type]
        assert rec is not None and not rec.rates
        assert f"{tier}-tier" in rec.unpriced["*"] and "pricing update" in rec.unpriced["*"]
    reserved = BOOK.rates("amazon.nova-lite-v1:0", "us-east-1", tier="reserved")
    assert reserved is not None and "negotiated" in reserved.unpriced["*"]
    no_batch = BOOK.rates("meta.llama3-8b-instruct-v1:0", "us-east-1", tier="batch")
    assert no_batch is not None and "batch" in no_batch.unpriced["*"]
    assert BOOK.rates("acme.unknown-v1:0", "us-east-1") is None


def test_guardrails_images_and_imported_models() -> None:
    content = guardrail_rate(BOOK, "content_filter")
    assert isinstance(content, Rate) and content.usd == Decimal("0.15") and content.unit == "1K text units"
    pii = guardrail_rate(BOOK, "sensitive_information")
    assert isinstance(pii, Rate) and pii.usd == Decimal("0.10")
    assert isinstance(guardrail_rate(BOOK, "automated_reasoning"), Unpriced)
    img = image_rate(BOOK, "amazon.nova-canvas-v1:0", "standard", "1024x1024")
    assert isinstance(img, Unpriced)  # not in the packaged book, no entry for the model
    cmu = custom_model_unit_rate(BOOK, "1.0", "us-east-1")
    assert isinstance(cmu, Unpriced) and "pricing update" in cmu.reason


def test_a_schema_1_book_still_reads() -> None:
    doc = {
        "source": ["test"],
        "as_of": "2026-01-01",
        "schema_version": 1,
        "models": {SONNET45: {"on_demand": {"input": "1", "output": "2", "cache_write": "1.25"}}},
    }
    book = PriceBook.parse(doc)
    rec = book.rates(SONNET45, "us-east-1", ttl="1h")
    assert rec is not None and rec.cache_write is None and "cache_write_1h" in rec.unpriced
    price = book.price_for(SONNET45, "us-east-1")
    assert price is not None and price.long_context is None
    # a 1-hour write without its own rate bills at the 5-minute one, as the cost rule says
    assert price.cost(Usage(cache_write_1h_tokens=1000)) == Decimal("1.25")


@pytest.mark.parametrize("ref", ["not a model", "arn:aws:bedrock:us-east-1:111122223333:provisioned-model/abc"])
def test_unresolvable_refs_have_no_rates(ref: str) -> None:
    assert BOOK.rates(ref, "us-east-1") is None


def test_pricing_show_gives_every_rate_with_its_source(cli, data_dir) -> None:  # type: ignore[no-untyped-def]
    import json

    res = cli("pricing", "show", "--model", f"global.{SONNET45}", "--ttl", "1h", "--context", "long", "--json")
    assert res.exit_code == 0, res.output
    rates = json.loads(res.output)["rates"]
    assert (rates["routing"], rates["ttl"], rates["context"]) == ("global", "1h", "long")
    assert rates["rates"]["cache_write_1h"]["usd"] == "0.012" and rates["rates"]["input"]["as_of"] == "2026-12-05"
    res = cli("pricing", "show", "--model", "amazon.nova-lite-v1:0", "--tier", "flex")
    assert "unpriced: flex-tier rates are per model" in " ".join(res.output.split())
    bad = cli("pricing", "show", "--model", "amazon.nova-lite-v1:0", "--tier", "fastest", "--json")
    assert bad.exit_code != 0 and "--tier" in json.loads(bad.output)["error"]["message"]


def test_the_runtime_usage_splits_cache_writes_by_ttl() -> None:
    from bedrockctl.pricing.rates import split_cache_writes

    details = [{"ttl": "1h", "inputTokens": 3000}, {"ttl": "5m", "inputTokens": 2000}]  # Converse's cacheDetails
    assert split_cache_writes(5000, details) == (2000, 3000)
    assert split_cache_writes(5000) == (5000, 0)  # no details: the default 5-minute TTL
    five, hour = split_cache_writes(5000, details)
    price = BOOK.price_for("us.anthropic.claude-haiku-4-5-20251001-v1:0", "us-east-1")
    assert price is not None  # 2*0.001375 + 3*0.0022
    assert price.cost(Usage(cache_write_tokens=five, cache_write_1h_tokens=hour)) == Decimal("0.00935")


def test_tier_prices_and_image_size_classes() -> None:
    from bedrockctl.pricing.rates import image_size_class

    nova = "amazon.nova-lite-v1:0"
    batch, why = BOOK.tier_price(nova, "us-east-1", "batch")
    assert why is None and batch is not None and batch.input_per_1k == Decimal("0.00003")  # 50% of 0.00006
    flex, why = BOOK.tier_price(nova, "us-east-1", "flex")
    assert flex is None and why is not None and "flex-tier rates" in why  # the packaged book has none: unpriced
    same, why = BOOK.tier_price(nova, "us-east-1", "default")
    assert same == BOOK.price_for(nova, "us-east-1") and why is None
    doc = {**BOOK.doc, "models": {**BOOK.doc["models"]}}
    doc["models"][nova] = {**doc["models"][nova], "tiers": {"priority": {"input": "0.000105", "output": "0.00042"}}}
    doc["images"] = {
        "source": "test",
        "models": {"amazon.nova-canvas-v1:0": {"standard/1024x1024": "0.04", "standard/2048x2048": "0.06"}},
    }
    book = PriceBook.parse(doc)
    priority, why = book.tier_price(f"us.{nova}", "us-east-1", "priority")
    assert why is None and priority is not None
    assert priority.cost(Usage(1000, 1000)) == Decimal("0.000525")  # cache prices default to the tier's input
    canvas = "amazon.nova-canvas-v1:0"
    assert image_size_class(book, canvas, "1024x1024") == "1024x1024"
    assert image_size_class(book, canvas, "1280x720") == "1024x1024"  # by pixel count: fewer than 1024 x 1024
    assert image_size_class(book, canvas, "1408x768") == "2048x2048"  # more than 1024 x 1024
    assert image_size_class(book, canvas, "4096x4096") is None  # above the largest class
    assert image_size_class(BOOK, canvas, "1024x1024") is None  # no image rates in the packaged book
