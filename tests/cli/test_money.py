"""One money format for people (tables, --output text), exact amounts for machines (JSON, YAML, CSV)."""

from __future__ import annotations

from decimal import Decimal

from bedrockctl.cli.money import money, money_column, plain


def test_decimals_by_magnitude() -> None:
    assert money(Decimal("1234.5")) == "1234.50"
    assert money(Decimal("1")) == "1.00"
    assert money(Decimal("0.0529")) == "0.0529"
    assert money(Decimal("0.005289")) == "0.005289"
    assert money(Decimal("0.0000245")) == "0.00002450"
    assert money(Decimal("-3.456")) == "-3.46"
    assert money(0) == "0.00"
    assert money(None) == "-"
    assert money("0.0018632") == "0.001863"  # strings from --output json round-trip
    assert money(0.1) == "0.1000"  # a float through its shortest repr, not 0.1000000000000000055...


def test_rounding_is_half_even_and_never_an_exponent() -> None:
    assert (
        money(Decimal("0.125")) == "0.1250" and money(Decimal("2.125")) == "2.12" and money(Decimal("2.135")) == "2.14"
    )
    assert money(Decimal("1E-7")) == "0.00000010"
    assert plain(Decimal("1.2E-7")) == "0.00000012" and plain(Decimal("0.00186320")) == "0.0018632"
    assert plain(Decimal("1E+2")) == "100" and plain(Decimal("0.000")) == "0"


def test_a_column_has_one_number_of_decimals() -> None:
    """The issue's column: 0.005289, 0.00186320, 0.0014075 printed with 3 different lengths."""
    column = money_column([Decimal("0.005289"), Decimal("0.00186320"), Decimal("0.0014075"), Decimal("12.5"), None])
    assert column == ["0.005289", "0.001863", "0.001408", "12.500000", "-"]
    assert len({len(c.split(".")[1]) for c in column if c != "-"}) == 1
    assert money_column(["n/a", Decimal("2")]) == ["n/a", "2.00"]


def test_an_average_is_not_shown_with_28_digits() -> None:
    per_call = Decimal("0.0557388") / 7  # an average, as cost reconcile computes one
    assert len(str(per_call * 2)) > 20
    assert money(per_call * 2) == "0.0159"
