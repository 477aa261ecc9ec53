"""``pricing update`` from recorded Price List bulk offer files: every dimension, and the change report."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from bedrockctl.pricing import PriceBook, Usage
from bedrockctl.pricing.hourly import provisioned_rate
from bedrockctl.pricing.pricelist import parse_rows
from bedrockctl.pricing.rates import Rate, custom_model_unit_rate, guardrail_rate, image_rate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pricelist"
BEDROCK = FIXTURES / "AmazonBedrock-offer.json"
MARKETPLACE = FIXTURES / "AmazonBedrockFoundationModels-offer.json"
SONNET45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def test_rows_cover_every_dimension_of_the_offer_files() -> None:
    rows, skipped = parse_rows([json.loads(BEDROCK.read_text()), json.loads(MARKETPLACE.read_text())])
    kinds = {(r.kind, r.tier, r.routing, r.context) for r in rows}
    assert {
        ("token", "standard", "regional", "standard"),
        ("token", "standard", "global", "standard"),
        ("token", "standard", "regional", "long"),
        ("token", "batch", "regional", "standard"),
        ("token", "priority", "regional", "standard"),
        ("token", "flex", "regional", "standard"),
        ("image", "standard", "regional", "standard"),
        ("provisioned", "standard", "regional", "standard"),
        ("guardrail", "standard", "regional", "standard"),
        ("cmu", "standard", "regional", "standard"),
    } <= kinds
    one_hour = next(r for r in rows if r.dimension == "cache_write_1h" and r.routing == "regional")
    assert (one_hour.subject, one_hour.usd) == (SONNET45, Decimal("0.0066"))  # 6.60 per 1M -> per 1K
    # the knowledge-base storage and the unknown model; reserved capacity is not an on-demand rate
    assert skipped == {"no catalog model": 2, "reserved capacity rate:": 1}


def test_update_reports_added_and_changed_rates_and_the_book_prices_them(
    cli: Callable[..., Any], data_dir: Path
) -> None:
    res = cli("pricing", "update", "--from-file", str(BEDROCK), "--from-file", str(MARKETPLACE), "--output", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    changes = {(c["subject"], c["dimension"]): (c["change"], c["old"], c["new"]) for c in out["changes"]}
    assert changes[("amazon.nova-lite-v1:0", "tiers.priority.input")] == ("added", None, "0.000105")
    assert changes[("amazon.nova-lite-v1:0", "region_overrides.eu-west-1.input")] == ("added", None, "0.000078")
    assert changes[("amazon.titan-text-express-v1", "provisioned.six_month")] == ("changed", "14.80", "14.2")
    assert changes[("images", "models.amazon.nova-canvas-v1:0.premium/1024x1024")] == ("added", None, "0.06")
    assert changes[("guardrails", "policies.automated_reasoning")] == ("added", None, "0.17")
    assert changes[("custom_model_import", "per_cmu_minute.1.0.us-east-1")] == ("added", None, "0.0785")
    assert (SONNET45, "on_demand.input") not in changes  # 3.30 per 1M is the book's 0.0033 per 1K: no change
    assert ("amazon.titan-text-express-v1", "provisioned.no_commitment") not in changes  # 20.5 == 20.50
    counts = {k: sum(1 for c in out["changes"] if c["change"] == k) for k in ("added", "removed", "changed")}
    assert counts == {k: out[k] for k in counts} and out["removed"] == 0

    book = PriceBook.load_for()
    priority = book.rates("amazon.nova-lite-v1:0", "us-east-1", tier="priority")
    assert priority is not None and priority.usd("output") == Decimal("0.00042")
    assert priority.rates["input"].source.startswith("AWS Price List API")
    assert priority.rates["input"].as_of == date(2026, 12, 1)  # the offer's publicationDate
    # a model the Price List does not cover keeps its rates and its provenance
    haiku3 = book.rates("anthropic.claude-3-haiku-20240307-v1:0", "us-east-1")
    assert haiku3 is not None and haiku3.rates["input"].source.startswith("https://aws.amazon.com/bedrock/pricing")
    assert haiku3.rates["input"].as_of == date(2026, 11, 21)
    eu = book.price_for("amazon.nova-lite-v1:0", "eu-west-1")
    assert eu is not None and eu.cost(Usage(1000, 1000)) == Decimal("0.00039")  # 0.000078 + 0.000312
    long_global = book.rates(f"global.{SONNET45}", "us-east-1", context="long")
    assert long_global is not None and long_global.usd("input") == Decimal("0.006")
    canvas = image_rate(book, "amazon.nova-canvas-v1:0", "standard", "2048x2048")
    assert isinstance(canvas, Rate) and canvas.usd == Decimal("0.06")
    cmu = custom_model_unit_rate(book, "1.0", "us-east-1")
    assert isinstance(cmu, Rate) and cmu.usd == Decimal("0.0785")
    ar = guardrail_rate(book, "automated_reasoning")
    assert isinstance(ar, Rate) and ar.usd == Decimal("0.17")
    prov = provisioned_rate(book, "amazon.titan-text-express-v1", "SixMonths")
    assert not isinstance(prov, str) and prov.usd_per_hour == Decimal("14.2")  # type: ignore[union-attr]

    table = cli("pricing", "update", "--from-file", str(BEDROCK), "--from-file", str(MARKETPLACE)).output
    assert "0 added, 0 removed, 0 changed" in table  # the same files again change nothing


def test_a_region_the_price_list_drops_is_reported_removed(
    cli: Callable[..., Any], data_dir: Path, tmp_path: Path
) -> None:
    assert cli("pricing", "update", "--from-file", str(BEDROCK)).exit_code == 0
    offer = json.loads(BEDROCK.read_text())
    gone = [sku for sku, p in offer["products"].items() if p["attributes"]["regionCode"] == "eu-west-1"]
    for sku in gone:
        del offer["products"][sku]
        del offer["terms"]["OnDemand"][sku]
    smaller = tmp_path / "offer-without-eu-west-1.json"
    smaller.write_text(json.dumps(offer))
    out = json.loads(cli("pricing", "update", "--from-file", str(smaller), "--output", "json").stdout)
    removed = {(c["subject"], c["dimension"]) for c in out["changes"] if c["change"] == "removed"}
    assert ("amazon.nova-lite-v1:0", "region_overrides.eu-west-1.input") in removed
    assert out["added"] == 0 and out["changed"] == 0
    eu = PriceBook.load_for().price_for("amazon.nova-lite-v1:0", "eu-west-1")
    assert eu is not None and eu.input_per_1k == Decimal("0.00006")  # back to the default rate


def test_provenance_is_per_rate_after_an_update(cli: Callable[..., Any], data_dir: Path) -> None:
    assert cli("pricing", "update", "--from-file", str(MARKETPLACE)).exit_code == 0
    rec = PriceBook.load_for().rates(f"global.{SONNET45}", "us-east-1", ttl="1h")
    assert rec is not None
    assert rec.rates["input"].source.startswith("AWS Price List API")  # stated by the offer file
    assert rec.rates["cache_write_1h"].source.startswith("AWS Price List API")
    # the global cache read is not in the offer file: it keeps the hand-curated book's provenance
    assert rec.rates["cache_read"].source.startswith("https://aws.amazon.com/bedrock/pricing")
    assert rec.rates["cache_read"].as_of == date(2026, 11, 21)


def test_a_file_that_is_not_a_price_list_is_a_clear_error_and_writes_nothing(
    cli: Callable[..., Any], data_dir: Path, tmp_path: Path
) -> None:
    from bedrockctl.pricing import updated_path
    from bedrockctl.pricing.errors import PriceListError

    for name, text in (("broken.json", "{not json"), ("other.json", '{"Items": []}')):
        bad = tmp_path / name
        bad.write_text(text)
        res = cli("pricing", "update", "--from-file", str(bad), "--output", "json")
        assert res.exit_code == PriceListError.exit_code
        assert json.loads(res.stdout)["error"]["code"] == PriceListError.code
    assert not updated_path().exists()
