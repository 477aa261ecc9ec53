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

from dataclasses import replace
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
    the input price), the 1-hour cache write (None: the 5-minute rate), and the long-context price above its
    threshold (prompt tokens, cache included)."""

    input: int
    output: int
    cache_read: int
    cache_write: int
    scale: int = _PICO_SCALE
    cache_write_1h: int | None = None
    long_context_threshold: int | None = None
    long_context: Rates | None = None

    @classmethod
    def of(cls, price: ModelPrice) -> Rates:
        values = per_1k(price)
        long = _long_price(price)
        scale = max(_PICO_SCALE, *(_decimals(v) for v in values))
        if long is not None:
            scale = max(scale, *(_decimals(v) for v in per_1k(long)))
        factor = Decimal(10) ** scale
        i, o, r, w, w1h = (int(v * factor) for v in values)
        long_rates = None
        if long is not None:
            li, lo, lr, lw, lw1h = (int(v * factor) for v in per_1k(long))
            long_rates = cls(li, lo, lr, lw, scale, lw1h)
        return cls(i, o, r, w, scale, w1h, price.long_context_threshold if long is not None else None, long_rates)


def per_1k(price: ModelPrice) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
    """USD per 1,000 tokens: input, output, cache read, cache write, 1-hour cache write (cache prices default to
    the input price; the 1-hour write to the 5-minute one)."""
    cr = price.cache_read_per_1k if price.cache_read_per_1k is not None else price.input_per_1k
    cw = price.cache_write_per_1k if price.cache_write_per_1k is not None else price.input_per_1k
    cw1h = price.cache_write_1h_per_1k if price.cache_write_1h_per_1k is not None else cw
    return price.input_per_1k, price.output_per_1k, cr, cw, cw1h


def _long_price(price: ModelPrice) -> ModelPrice | None:
    """The price a call above the model's long-context threshold pays (every token at the long-context rates)."""
    lc = price.long_context
    if lc is None or price.long_context_threshold is None:
        return None
    return replace(
        price,
        input_per_1k=lc.input,
        output_per_1k=lc.output,
        cache_read_per_1k=lc.cache_read,
        cache_write_per_1k=lc.cache_write,
        cache_write_1h_per_1k=lc.cache_write_1h,
        long_context=None,
    )


def _prompt(usage: TokenCounts) -> int:
    return (
        usage.input_tokens
        + usage.cache_read_tokens
        + usage.cache_write_tokens
        + int(getattr(usage, "cache_write_1h_tokens", 0))
    )


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def cost_usd(price: ModelPrice, usage: TokenCounts, *, long_context: bool | None = None) -> Decimal:
    """The exact cost in USD (no rounding). Above the long-context threshold every token bills at the
    long-context rates; 1-hour cache writes (``cache_write_1h_tokens`` where the usage has them) at their own.
    ``long_context`` says which rates apply when ``usage`` sums many calls (the threshold is per call): ``None``
    decides from ``usage`` as one call."""
    long = _long_price(price)
    threshold = price.long_context_threshold
    if long_context is None:
        long_context = threshold is not None and _prompt(usage) > threshold
    if long is not None and long_context:
        price = long
    i, o, r, w, w1h = per_1k(price)
    total = (
        Decimal(usage.input_tokens) * i
        + Decimal(usage.output_tokens) * o
        + Decimal(usage.cache_read_tokens) * r
        + Decimal(usage.cache_write_tokens) * w
        + Decimal(int(getattr(usage, "cache_write_1h_tokens", 0))) * w1h
    )
    return total / THOUSAND


def cost_nusd(rates: Rates, usage: TokenCounts) -> int:
    """The cost in whole nano-USD, rounded up once: ``to_nusd(cost_usd(price, usage))``, in integers."""
    threshold = rates.long_context_threshold
    if rates.long_context is not None and threshold is not None and _prompt(usage) > threshold:
        rates = rates.long_context
    w1h = rates.cache_write if rates.cache_write_1h is None else rates.cache_write_1h
    total = (
        usage.input_tokens * rates.input
        + usage.output_tokens * rates.output
        + usage.cache_read_tokens * rates.cache_read
        + usage.cache_write_tokens * rates.cache_write
        + int(getattr(usage, "cache_write_1h_tokens", 0)) * w1h
    )  # in 10**-(scale + 3) USD
    divisor: int = 10 ** (rates.scale - 6)
    return -(-total // divisor)


def to_nusd(usd: Decimal) -> int:
    """The rounding rule: an exact USD amount to whole nano-USD, rounded up."""
    return int((usd * NANO).to_integral_value(rounding=ROUND_CEILING))
