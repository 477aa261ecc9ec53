"""The one cost function: what a call's tokens cost at a model's price, exactly.

Two forms of one computation, proven equal in ``tests/pricing/test_cost.py``:

- ``cost_usd(price, usage)``: exact ``Decimal`` USD, no rounding at all (the runtime's ``CallMeta.cost_usd``,
  the analytics reports, which sum exact values);
- ``cost_nusd(rates, usage)``: whole nano-USD for the integer counters (the gateway's budgets, metrics and audit
  rows), by integer arithmetic only, from ``Rates`` computed once per price.

The one rounding rule: a call's exact cost is rounded once, **up** to a whole nano-USD (``to_nusd``), so an
integer budget is never under-charged; sums of calls add the rounded integers. Cache tokens without a published
cache price bill at the input price. A model without a price is "unpriced" (``None`` upstream of here), never
priced at zero.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from bedrockctl.pricing.catalog import ModelPrice

THOUSAND = Decimal(1000)
NANO = Decimal(1_000_000_000)
_PICO_SCALE = 9  # rates per 1,000 tokens x 10**9 = pico-USD per token


class TokenCounts(Protocol):
    """Any usage with the four billed counts (``pricing.Usage``, ``runtime.types.Usage``)."""

    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cache_read_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...


class Rates(NamedTuple):
    """A price as integers: USD per 1,000 tokens times ``10**scale`` (``scale`` >= 9, so with the usual scale of
    9 each rate is pico-USD per token). Input, output, cache read, cache write (the last two already defaulted to
    the input price)."""

    input: int
    output: int
    cache_read: int
    cache_write: int
    scale: int = _PICO_SCALE

    @classmethod
    def of(cls, price: ModelPrice) -> Rates:
        values = per_1k(price)
        scale = max(_PICO_SCALE, *(_decimals(v) for v in values))
        factor = Decimal(10) ** scale
        i, o, r, w = (int(v * factor) for v in values)
        return cls(i, o, r, w, scale)


def per_1k(price: ModelPrice) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """USD per 1,000 tokens: input, output, cache read, cache write (cache prices default to the input price)."""
    cr = price.cache_read_per_1k if price.cache_read_per_1k is not None else price.input_per_1k
    cw = price.cache_write_per_1k if price.cache_write_per_1k is not None else price.input_per_1k
    return price.input_per_1k, price.output_per_1k, cr, cw


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def cost_usd(price: ModelPrice, usage: TokenCounts) -> Decimal:
    """The exact cost in USD (no rounding)."""
    i, o, r, w = per_1k(price)
    total = (
        Decimal(usage.input_tokens) * i
        + Decimal(usage.output_tokens) * o
        + Decimal(usage.cache_read_tokens) * r
        + Decimal(usage.cache_write_tokens) * w
    )
    return total / THOUSAND


def cost_nusd(rates: Rates, usage: TokenCounts) -> int:
    """The cost in whole nano-USD, rounded up once: ``to_nusd(cost_usd(price, usage))``, in integers."""
    total = (
        usage.input_tokens * rates.input
        + usage.output_tokens * rates.output
        + usage.cache_read_tokens * rates.cache_read
        + usage.cache_write_tokens * rates.cache_write
    )  # in 10**-(scale + 3) USD
    divisor: int = 10 ** (rates.scale - 6)
    return -(-total // divisor)


def to_nusd(usd: Decimal) -> int:
    """The rounding rule: an exact USD amount to whole nano-USD, rounded up."""
    return int((usd * NANO).to_integral_value(rounding=ROUND_CEILING))
