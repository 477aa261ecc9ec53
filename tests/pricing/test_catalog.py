"""The price book: resolution rules and an exact, hand-computed cost table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bedrockctl.pricing import PriceBook, Usage

BOOK = PriceBook.load()

# (model reference, region, input, output, cache read, cache write, expected USD) -- computed by hand:
# cost = in/1000*p_in + out/1000*p_out + cache_read/1000*p_cr + cache_write/1000*p_cw
TABLE = [
    # 1.2*0.0008 + 0.31*0.004
    ("us.anthropic.claude-3-5-haiku-20241022-v1:0", "us-east-1", 1200, 310, 0, 0, "0.0022"),
    # 5.4*0.003 + 0.9*0.015 + 4.096*0.0003 (cache read = 0.1x input)
    ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "us-east-1", 5400, 900, 4096, 0, "0.0309288"),
    # 0.8*0.00025 + 0.12*0.00125
    ("anthropic.claude-3-haiku-20240307-v1:0", "us-east-1", 800, 120, 0, 0, "0.00035"),
    # 2.1*0.00072 + 0.64*0.00072 (a full foundation-model ARN)
    (
        "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-1-70b-instruct-v1:0",
        "us-east-1",
        2100,
        640,
        0,
        0,
        "0.0019728",
    ),
    # 0.3*0.00006 + 0.08*0.00024
    ("amazon.nova-lite-v1:0", "us-east-1", 300, 80, 0, 0, "0.0000372"),
    # 2*0.003 + 0.5*0.015 + 1.8*0.00375 (cache write = 1.25x input)
    ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "us-east-1", 2000, 500, 0, 1800, "0.02025"),
    # global profile: 10*0.003 + 2*0.015 + 50*0.0003 + 4*0.00375
    ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "us-east-1", 10000, 2000, 50000, 4000, "0.09"),
    # geographic profile is 10% dearer for Claude 4.5: 10*0.0033 + 2*0.0165 + 50*0.00033 + 4*0.004125
    ("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "eu-west-1", 10000, 2000, 50000, 4000, "0.099"),
    # Nova cache read = 0.25x input: 1*0.0008 + 1*0.0032 + 10*0.0002
    ("amazon.nova-pro-v1:0", "us-east-1", 1000, 1000, 10000, 0, "0.006"),
    # Nova cache write bills at the input price: 1*0.000035 + 1*0.00014 + 2*0.000035
    ("apac.amazon.nova-micro-v1:0", "ap-northeast-1", 1000, 1000, 0, 2000, "0.000245"),
]


@pytest.mark.parametrize(("ref", "region", "i", "o", "cr", "cw", "expected"), TABLE)
def test_cost_table_is_exact(ref: str, region: str, i: int, o: int, cr: int, cw: int, expected: str) -> None:
    price = BOOK.price_for(ref, region)
    assert price is not None
    got = price.cost(Usage(i, o, cr, cw))
    assert isinstance(got, Decimal)
    assert got == Decimal(expected)


def test_sample_total_is_the_sum_of_the_rows() -> None:
    total = sum((Decimal(row[-1]) for row in TABLE[:6]), Decimal(0))
    assert total == Decimal("0.0557388")
    computed = sum(
        (BOOK.cost(ref, region, Usage(i, o, cr, cw)) or Decimal(0) for ref, region, i, o, cr, cw, _ in TABLE[:6]),
        Decimal(0),
    )
    assert computed == total


def test_batch_is_half_price() -> None:
    price = BOOK.price_for("anthropic.claude-3-haiku-20240307-v1:0", "us-east-1", batch=True)
    assert price is not None and price.tier == "batch"
    assert price.cost(Usage(1_000_000, 1_000_000)) == Decimal("0.75")


def test_geo_profile_bills_source_region_and_global_tier() -> None:
    geo = BOOK.price_for("us.anthropic.claude-haiku-4-5-20251001-v1:0", "us-west-2")
    glob = BOOK.price_for("global.anthropic.claude-haiku-4-5-20251001-v1:0", "us-west-2")
    assert geo is not None and glob is not None
    assert (geo.tier, geo.region, geo.input_per_1k) == ("on_demand", "us-west-2", Decimal("0.0011"))
    assert (glob.tier, glob.input_per_1k) == ("global", Decimal("0.001"))
    # Sonnet 4 has no global discount: the global profile falls back to the on-demand price
    s4 = BOOK.price_for("global.anthropic.claude-sonnet-4-20250514-v1:0", "us-east-1")
    assert s4 is not None and s4.input_per_1k == Decimal("0.003")


def test_arn_region_wins_and_profile_arn_resolves() -> None:
    arn = "arn:aws:bedrock:eu-west-1:111122223333:inference-profile/eu.anthropic.claude-3-7-sonnet-20250219-v1:0"
    price = BOOK.price_for(arn, "us-east-1")
    assert price is not None and price.region == "eu-west-1"
    assert price.model_id == "anthropic.claude-3-7-sonnet-20250219-v1:0"


@pytest.mark.parametrize(
    "ref",
    [
        "stability.sd3-5-large-v1:0",  # per-image pricing: not in the token price list
        "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abcdef123456",
        "arn:aws:bedrock:us-east-1:111122223333:provisioned-model/abcdef123456",
        "not a model",
        "acme.unknown-model-v1:0",
    ],
)
def test_unpriced_refs_return_none(ref: str) -> None:
    assert BOOK.price_for(ref, "us-east-1") is None
    assert BOOK.cost(ref, "us-east-1", Usage(1, 1)) is None


def test_context_window_variant_bills_as_base_model() -> None:
    price = BOOK.price_for("anthropic.claude-3-haiku-20240307-v1:0:200k", "us-east-1")
    assert price is not None and price.model_id == "anthropic.claude-3-haiku-20240307-v1:0"


def test_facts_have_source_and_date_and_cover_the_catalog_text_models() -> None:
    from bedrockctl.catalog import load_catalog

    assert BOOK.source and BOOK.source[0].startswith("https://aws.amazon.com/bedrock/pricing")
    assert BOOK.as_of.year >= 2025
    text_models = [m for m in load_catalog().models if m.output_modalities == ("TEXT",)]
    missing = {m.model_id for m in text_models if BOOK.entry(m.model_id) is None}
    # added to the model catalog on 2026-12-04; unpriced (a visible state) until the price book carries their rates
    not_yet_priced = {
        "anthropic.claude-opus-4-5-20251101-v1:0",
        "anthropic.claude-opus-4-6-v1",
        "anthropic.claude-sonnet-4-6",
        "anthropic.claude-opus-4-7",
    }
    assert missing <= not_yet_priced
    prov = BOOK.price("amazon.titan-text-express-v1", "us-east-1")
    assert prov is not None and prov.provisioned is not None
    assert prov.provisioned.six_month is not None
    assert prov.provisioned.six_month < prov.provisioned.no_commitment  # type: ignore[operator]


def test_updated_price_list_in_data_dir_wins(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    from bedrockctl.pricing import updated_path

    monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(tmp_path))
    assert PriceBook.load_for().path.startswith("package:")
    path = updated_path()
    path.parent.mkdir(parents=True)
    doc = {
        "source": ["test"],
        "as_of": "2026-01-01",
        "models": {"amazon.nova-lite-v1:0": {"on_demand": {"input": "1", "output": "2"}}},
    }
    path.write_text(json.dumps(doc))
    book = PriceBook.load_for()
    assert book.path == str(path)
    assert book.cost("amazon.nova-lite-v1:0", "us-east-1", Usage(1000, 1000)) == Decimal(3)
