"""Tables for people. Ids are never cut: a table that does not fit the terminal (80 columns when piped) first
hides its optional columns (each ``Col`` says whether it may go, and in which order), then wraps; a long value
folds onto the next line rather than ending in ``…``. Money columns use one format (``money.py``). Text that comes
from data is never read as rich markup (``[bold]`` in a model id prints as it is), and it is redacted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from bedrockctl.cli.context import current
from bedrockctl.cli.money import money, money_column, plain
from bedrockctl.redact import redact, redact_text

if TYPE_CHECKING:
    from rich.console import Console

MONEY_SUFFIX = "_usd"


@dataclass(frozen=True)
class Col:
    """A column: ``drop`` 0 means essential (ids, names, money: never hidden); a higher ``drop`` is hidden
    sooner when the table does not fit. ``money`` formats the column with one number of decimals."""

    header: str
    drop: int = 0
    money: bool = False
    right: bool = False


def cell(value: Any) -> str:
    """A value as the text of a table cell (redacted; nested values as compact JSON)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, dict | list | tuple):
        return redact_text(orjson.dumps(redact(value), default=str).decode())
    return redact_text(str(value))


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=0)


def _fit(cols: Sequence[Col], cells: Sequence[Sequence[str]], width: int) -> list[int]:
    """Indexes of the columns to show: drop optional columns (highest ``drop`` first, rightmost on a tie) while
    the unbreakable words of the shown ones do not fit ``width`` (3 characters of border and padding each)."""
    minimum = [
        max([_longest_word(c.header), *(_longest_word(row[i]) for row in cells if i < len(row))])
        for i, c in enumerate(cols)
    ]
    shown = list(range(len(cols)))

    def needed() -> int:
        return sum(minimum[i] + 3 for i in shown) + 1

    while needed() > width:
        optional = [i for i in shown if cols[i].drop > 0]
        if not optional:
            break
        shown.remove(max(optional, key=lambda i: (cols[i].drop, i)))
    return shown


def print_table(
    title: str,
    columns: Sequence[str | Col],
    rows: Iterable[Sequence[Any]],
    *,
    console: Console | None = None,
) -> None:
    """A rich table of ``rows``; see the module docstring for what it promises."""
    from rich.table import Table
    from rich.text import Text

    cli = current()
    console = console or cli.out
    cols = [c if isinstance(c, Col) else Col(c) for c in columns]
    raw = [list(r) for r in rows]
    cells = [[v if isinstance(v, Text) else Text(cell(v)) for v in r] for r in raw]  # Text: our own styling
    for i, c in enumerate(cols):
        if c.money:
            for row, text in zip(cells, money_column(r[i] for r in raw), strict=True):
                row[i] = Text(text)
    shown = _fit(cols, [[t.plain for t in row] for row in cells], console.width)
    table = Table(title=Text(title), title_justify="left")
    for i in shown:
        c = cols[i]
        table.add_column(Text(c.header), overflow="fold", justify="right" if (c.right or c.money) else "left")
    for row in cells:
        table.add_row(*(row[i] if i < len(row) else Text("") for i in shown))
    console.print(table)
    hidden = [cols[i].header for i in range(len(cols)) if i not in shown]
    if hidden:
        cli.err.print(
            f"({', '.join(hidden)} hidden to fit {console.width} columns: widen the terminal, or see every field "
            "with --output json, yaml, text or csv)"
        )


def print_kv(title: str, fields: Mapping[str, Any], *, console: Console | None = None) -> None:
    """A two-column table of ``field  value`` (amounts of ``*_usd`` fields in the money format)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title), show_header=False, title_justify="left")
    table.add_column("field", style="bold", overflow="fold")
    table.add_column("value", overflow="fold")
    for k, v in redact(dict(fields)).items():
        shown = money(v) if str(k).endswith(MONEY_SUFFIX) and not isinstance(v, dict | list) else cell(v)
        table.add_row(Text(str(k)), Text(shown))
    (console or current().out).print(table)


def print_any(data: Any, title: str = "") -> None:
    """A table for any plain data (a ``--query`` result): objects as columns, one object as fields."""
    cli = current()
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        keys = list(dict.fromkeys(k for r in data for k in r))
        cols = [Col(k, money=k.endswith(MONEY_SUFFIX)) for k in keys]
        print_table(title, cols, [[r.get(k) for k in keys] for r in data])
    elif isinstance(data, list):
        print_table(title, ["value"], [[v] for v in data])
    elif isinstance(data, dict):
        print_kv(title, data)
    elif data is not None:
        cli.out.print(cell(data))
