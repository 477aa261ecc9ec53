"""``pricing update`` from a recorded pricing:GetProducts response (AmazonBedrock), and ``pricing show``."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from bedrockctl.pricing import PriceBook, Usage
from bedrockctl.pricing.pricelist import parse_products

RECORDED = Path(__file__).parent / "data" / "get-products-amazonbedrock.json"


def test_parse_products_normalises_units_and_skips_what_is_not_a_token_price() -> None:
    prices = parse_products(json.loads(RECORDED.read_text())["PriceList"])
    assert prices[("anthropic.claude-3-haiku-20240307-v1:0", "us-east-1")] == {"input": "0.00025", "output": "0.00125"}
    assert prices[("anthropic.claude-3-haiku-20240307-v1:0", "eu-central-1")] == {"input": "0.0003", "output": "0.0015"}
    # per 1M tokens -> per 1K
    assert prices[("amazon.nova-lite-v1:0", "us-east-1")] == {
        "input": "0.00007",
        "output": "0.00028",
        "cache_read": "0.0000175",
    }
    assert not any(m == "amazon.nova-canvas-v1:0" for m, _ in prices)  # per image
    assert len(prices) == 3  # the unknown model and the batch row are left out


def test_pricing_update_from_file_writes_the_data_dir_book(
    cli: Callable[..., Any], data_dir: Path, tmp_path: Path
) -> None:
    res = cli("pricing", "update", "--from-file", str(RECORDED), "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["prices"] == 3 and Path(summary["written"]).is_relative_to(data_dir)
    book = PriceBook.load_for()
    assert book.source[0].startswith("AWS Price List API")
    lite = book.price_for("amazon.nova-lite-v1:0", "us-east-1")
    assert lite is not None and lite.input_per_1k == Decimal("0.00007")
    assert lite.cache_write_per_1k == Decimal("0.00006")  # kept from the packaged book
    eu = book.price_for("anthropic.claude-3-haiku-20240307-v1:0", "eu-central-1")
    assert eu is not None and eu.cost(Usage(1000, 1000)) == Decimal("0.0018")
    us = book.price_for("anthropic.claude-3-haiku-20240307-v1:0", "us-east-1")
    assert us is not None and us.cost(Usage(1000, 1000)) == Decimal("0.0015")


def test_pricing_show(cli: Callable[..., Any], data_dir: Path) -> None:
    res = cli("pricing", "show", "--model", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    (p,) = data["prices"]
    assert (p["tier"], p["input_per_1k"], p["cache_write_per_1k"]) == ("global", "0.003", "0.00375")
    res = cli("pricing", "show", "--model", "stability.sd3-5-large-v1:0", "--json")
    assert json.loads(res.output)["priced"] is False
    listing = json.loads(cli("pricing", "show", "--region", "us-east-1", "--json").output)
    titan = next(p for p in listing["prices"] if p["model_id"] == "amazon.titan-text-express-v1")
    assert titan["provisioned_per_unit_hour"]["no_commitment"] == "20.50"
    assert "Bedrock prices in us-east-1" in cli("pricing", "show", "--region", "us-east-1").output
