"""The one way the command line shows an amount of money (tables, ``--output text``, the demo summary).

Exact values stay ``Decimal`` (JSON and YAML carry them in full as strings); for people they are rounded
half-even to a number of decimals chosen by magnitude:

=====================  ========  ===========
amount (absolute)      decimals  example
=====================  ========  ===========
>= 1                   2         ``12.34``
>= 0.01                4         ``0.0529``
>= 0.0001              6         ``0.005289``
below                  8         ``0.00002450``
=====================  ========  ===========

A column takes the decimals of its smallest non-zero amount, so every row of it has the same number of
decimals (``money_column``). No thousands separators: the text stays parseable. An unknown amount is ``-``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

TIERS: tuple[tuple[Decimal, int], ...] = ((Decimal(1), 2), (Decimal("0.01"), 4), (Decimal("0.0001"), 6))
FINEST = 8
UNKNOWN = "-"


def to_decimal(value: Any) -> Decimal | None:
    """``value`` as an exact ``Decimal`` (floats through their shortest repr), ``None`` when it is not a number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def decimals_for(value: Decimal) -> int:
    """How many decimals an amount of this magnitude is shown with."""
    size = abs(value)
    for floor, places in TIERS:
        if size >= floor:
            return places
    return FINEST


def _column_decimals(amounts: Iterable[Decimal | None]) -> int:
    nonzero = [decimals_for(a) for a in amounts if a is not None and a != 0]
    return max(nonzero, default=TIERS[0][1])


def _fmt(amount: Decimal | None, places: int) -> str:
    if amount is None:
        return UNKNOWN
    q = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return f"{q:.{places}f}"


def money(value: Any) -> str:
    """One amount: ``money(Decimal("0.0052894"))`` -> ``0.005289``; ``money(None)`` -> ``-``."""
    amount = to_decimal(value)
    return _fmt(amount, _column_decimals([amount]))


def money_column(values: Iterable[Any]) -> list[str]:
    """A column of amounts with one number of decimals (that of its smallest non-zero amount)."""
    values = list(values)
    amounts = [to_decimal(v) for v in values]
    places = _column_decimals(amounts)
    return [
        _fmt(a, places) if a is not None else (UNKNOWN if v is None else str(v))
        for a, v in zip(amounts, values, strict=True)
    ]


def plain(value: Decimal) -> str:
    """The exact amount as a string for machines (JSON, YAML, CSV): no exponent, no trailing zeros."""
    return format(value.normalize(), "f") if value else "0"
