"""The one cost function (``pricing/cost.py``): hand-computed values, its one rounding rule, the integer form proven
equal to the exact ``Decimal`` form, and the gateway and the runtime charging what it says."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrockctl.aws.session import SessionFactory
from bedrockctl.context import AppContext
from bedrockctl.pricing import ModelPrice, PriceBook, Rates, Usage, cost_nusd, cost_usd, to_nusd
from bedrockctl.runtime import resolve
from bedrockctl.runtime.calls import cost_of
from bedrockctl.runtime.types import Usage as CallUsage
from bedrockctl.settings import AwsSettings, Settings, StoreSettings

BOOK = PriceBook.load()
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"  # USD 0.00025 in, 0.00125 out per 1,000 tokens
SONNET_37 = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"  # 0.003 in, 0.015 out, 0.0003 cache read, 0.00375 write


def _price(ref: str, *, batch: bool = False) -> ModelPrice:
    price = BOOK.price_for(ref, "us-east-1", batch=batch)
    assert price is not None
    return price


# (price, usage, exact USD by hand, nano-USD by hand)
HAND = [
    # 1.234 x 0.00025 + 0.567 x 0.00125 = 0.0003085 + 0.00070875
    (HAIKU, False, Usage(1234, 567), "0.00101725", 1_017_250),
    # 1.234 x 0.003 + 0.567 x 0.015 + 10 x 0.0003 + 2 x 0.00375 = 0.003702 + 0.008505 + 0.003 + 0.0075
    (SONNET_37, False, Usage(1234, 567, 10_000, 2_000), "0.022707", 22_707_000),
    # batch: half price, 0.000125 / 0.000625: 1.234 x 0.000125 + 0.567 x 0.000625 = 0.00015425 + 0.000354375
    (HAIKU, True, Usage(1234, 567), "0.000508625", 508_625),
    # Haiku 3 has no cache price: cache tokens bill at the input price, 1.234 x 0.00025 + 4 x 0.00025
    (HAIKU, False, Usage(1234, 0, 3000, 1000), "0.0013085", 1_308_500),
]


@pytest.mark.parametrize(("ref", "batch", "usage", "usd", "nusd"), HAND)
def test_hand_computed_costs(ref: str, batch: bool, usage: Usage, usd: str, nusd: int) -> None:
    price = _price(ref, batch=batch)
    assert cost_usd(price, usage) == Decimal(usd)
    assert price.cost(usage) == Decimal(usd)  # the price book answers with the same function
    assert cost_nusd(Rates.of(price), usage) == nusd == to_nusd(Decimal(usd))


def _synthetic(input_per_1k: str, output_per_1k: str = "0") -> ModelPrice:
    doc = {
        "as_of": "2026-01-01",
        "models": {"x.model-v1:0": {"on_demand": {"input": input_per_1k, "output": output_per_1k}}},
    }
    price = PriceBook.parse(doc).price("x.model-v1:0", "us-east-1")
    assert price is not None
    return price


def test_the_rounding_rule_is_up_to_a_whole_nano_usd_once_per_call() -> None:
    tiny = _synthetic("0.0000001")  # 1 token = 1e-10 USD = 0.1 nano-USD
    assert cost_usd(tiny, Usage(1)) == Decimal("1E-10")
    assert cost_nusd(Rates.of(tiny), Usage(1)) == 1  # rounded up, never down to zero
    assert cost_nusd(Rates.of(tiny), Usage(10)) == 1  # exactly 1 nano-USD: nothing to round
    assert cost_nusd(Rates.of(tiny), Usage(11)) == 2  # 1.1 -> 2
    assert cost_nusd(Rates.of(tiny), Usage(0)) == 0
    # once per call, on the call's total: 0.35 + 0.7 = 1.05 nano-USD -> 2 (rounding each part would give 1 + 1)
    mixed = _synthetic("0.00000035", "0.0000007")
    assert cost_nusd(Rates.of(mixed), Usage(1, 1)) == 2 == to_nusd(cost_usd(mixed, Usage(1, 1)))


def test_prices_finer_than_a_pico_usd_per_token_stay_exact() -> None:
    fine = _synthetic("0.0000000001234", "0.00000000005")  # 13 and 11 decimals per 1,000 tokens
    rates = Rates.of(fine)
    assert rates.scale == 13 and rates.input == 1234 and rates.output == 500
    usage = Usage(7_000_000, 3_000_000)  # 7,000 x 1.234e-10 + 3,000 x 5e-11 = 8.638e-7 + 1.5e-7 USD
    assert cost_usd(fine, usage) == Decimal("0.0000010138")
    assert cost_nusd(rates, usage) == 1014  # 1,013.8 nano-USD, rounded up


def _every_price() -> list[ModelPrice]:
    out = []
    for entry in BOOK:
        for tier in ("on_demand", "global", "batch"):
            price = BOOK.price(entry.model_id, "us-east-1", tier)  # type: ignore[arg-type]
            if price is not None:
                out.append(price)
    return out


PRICES = _every_price()
COUNT = st.integers(min_value=0, max_value=5_000_000)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PRICES), COUNT, COUNT, COUNT, COUNT)
def test_integer_form_equals_the_exact_form(price: ModelPrice, i: int, o: int, r: int, w: int) -> None:
    usage = Usage(i, o, r, w)
    rates = Rates.of(price)
    assert cost_nusd(rates, usage) == to_nusd(cost_usd(price, usage))
    # every price of the packaged book is a whole number of pico-USD per token, so the gateway's old arithmetic
    # (pico-USD per token = USD per 1,000 tokens x 10**9, summed, rounded up to nano-USD) is the same function
    assert rates.scale == 9
    pico = [int(v * 1_000_000_000) for v in (price.input_per_1k, price.output_per_1k)]
    cache = [
        int((p if p is not None else price.input_per_1k) * 1_000_000_000)
        for p in (price.cache_read_per_1k, price.cache_write_per_1k)
    ]
    old = -(-(i * pico[0] + o * pico[1] + r * cache[0] + w * cache[1]) // 1000)
    if price.long_context_threshold is None or i + r + w <= price.long_context_threshold:
        assert cost_nusd(rates, usage) == old  # (the old arithmetic knew no long-context rates)


def test_gateway_and_runtime_charge_what_the_function_says(tmp_path: Path) -> None:
    from bedrockctl.server.gateway.pipeline import Gateway

    settings = Settings(
        aws=AwsSettings(region="us-east-1"),
        gateway={"ledger": False, "master_secret": "test-master-secret"},
        store=StoreSettings(url=f"sqlite:///{tmp_path / 'gateway.db'}", data_dir=str(tmp_path)),
    )
    gateway = Gateway(AppContext(settings=settings, sessions=SessionFactory(settings.aws)))
    for ref, usage, usd, nusd in [
        (HAIKU, CallUsage(1234, 567), "0.00101725", 1_017_250),
        (SONNET_37, CallUsage(1234, 567, 10_000, 2_000), "0.022707", 22_707_000),
    ]:
        target = resolve(ref, "us-east-1")
        assert gateway.cost_nusd(target, usage) == nusd  # the gateway's audit and budget charge
        assert cost_of(BOOK, target, usage) == Decimal(usd)  # the runtime's CallMeta.cost_usd
    unpriced = resolve("local:llama3.2", "us-east-1")
    assert gateway.cost_nusd(None, CallUsage(5, 5)) == 0
    assert cost_of(BOOK, unpriced, CallUsage(5, 5)) == Decimal(0)  # the local tier costs nothing
    gateway.counters.close()


def test_long_context_and_one_hour_cache_writes_by_hand() -> None:
    """Claude Sonnet 4.5 in us-east-1 (in-Region): USD 0.0033 / 0.0165 per 1,000 input / output tokens, 1-hour cache
    write 0.0066; above 200,000 prompt tokens every token bills at 0.0066 / 0.02475 (the book's rates, checked)."""
    from bedrockctl.pricing import PriceBook, Rates, Usage, cost_nusd, cost_usd

    price = PriceBook.load().price("anthropic.claude-sonnet-4-5-20250929-v1:0", "us-east-1")
    assert price is not None and price.long_context is not None
    assert (price.input_per_1k, price.output_per_1k, price.cache_write_1h_per_1k) == (
        Decimal("0.0033"),
        Decimal("0.0165"),
        Decimal("0.0066"),
    )
    assert (price.long_context_threshold, price.long_context.input, price.long_context.output) == (
        200_000,
        Decimal("0.0066"),
        Decimal("0.02475"),
    )
    below = Usage(100_000, 1_000, 0, 0, 10_000)  # 100 x 0.0033 + 1 x 0.0165 + 10 x 0.0066
    assert cost_usd(price, below) == Decimal("0.4125")
    assert cost_nusd(Rates.of(price), below) == 412_500_000
    above = Usage(210_000, 1_000)  # 210 x 0.0066 + 1 x 0.02475: every token at the long-context rates
    assert cost_usd(price, above) == Decimal("1.41075")
    assert cost_nusd(Rates.of(price), above) == 1_410_750_000
    at = Usage(200_000, 1_000)  # at the threshold: still the standard rates
    assert cost_usd(price, at) == Decimal("0.6765")


def test_gateway_worst_case_reservation_by_hand() -> None:
    """The gateway reserves the dearest input rate and, past the long-context threshold, the long-context rates:
    Sonnet 4.5 in us-east-1 with 250,000 prompt tokens and 1,000 output tokens at most = 250,000 x USD 0.0132 (the
    long-context 1-hour cache write) + 1,000 x 0.02475 per 1,000 = USD 3.32475; 100,000 prompt tokens = 100,000 x
    0.0066 (the 1-hour cache write) + 1,000 x 0.0165 per 1,000 = USD 0.6765."""
    from bedrockctl.pricing import PriceBook, Rates
    from bedrockctl.server.gateway.admission import worst_case

    price = PriceBook.load().price("anthropic.claude-sonnet-4-5-20250929-v1:0", "us-east-1")
    assert price is not None
    rates = Rates.of(price)
    assert worst_case(rates, 250_000, 1_000) == 3_324_750_000
    assert worst_case(rates, 100_000, 1_000) == 676_500_000
