"""Tables for people. Ids are never cut: a table that does not fit the terminal (80 columns when piped) first
hides its optional columns (each ``Col`` says whether it may go, and in which order), then wraps text at word
boundaries; a value is never folded or cut with ``…``. When even the essential columns cannot show their longest
word side by side, each row is printed as a block of ``field  value`` lines instead (long values run on, so a
terminal's soft wrap keeps them whole for copying). Money columns use one format (``money.py``). Text that comes
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
    from rich.text import Text

MONEY_SUFFIX = "_usd"
BORDER = 3  # a column's padding and separator in rich's default box
PROSE_WORD = 20


@dataclass(frozen=True)
class Col:
    """A column: ``drop`` 0 means essential (ids, names, money: never hidden); a higher ``drop`` is hidden
    sooner when the table does not fit. ``money`` formats the column with one number of decimals. ``prose`` marks
    free text (evidence, reasons): a word longer than ``PROSE_WORD`` may be folded there, never in other columns."""

    header: str
    drop: int = 0
    money: bool = False
    right: bool = False
    prose: bool = False


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


def _longest_line(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def layout(cols: Sequence[Col], cells: Sequence[Sequence[str]], width: int) -> tuple[list[int], list[int] | None, bool]:
    """Which columns to show, their widths (None: their natural widths fit) and whether they fit side by side.

    Optional columns go (highest ``drop`` first, rightmost on a tie) while the longest words of the shown ones
    do not fit ``width``; then the room beyond those words is shared in proportion to what each column lacks."""
    low = [max([_longest_word(c.header), *(_longest_word(r[i]) for r in cells)]) or 1 for i, c in enumerate(cols)]
    low = [min(PROSE_WORD, w) if c.prose else w for c, w in zip(cols, low, strict=True)]
    high = [
        max([_longest_line(c.header), *(_longest_line(r[i]) for r in cells)], default=1) or 1
        for i, c in enumerate(cols)
    ]
    shown = list(range(len(cols)))

    def need(sizes: list[int]) -> int:
        return sum(sizes[i] + BORDER for i in shown) + 1

    while need(low) > width and any(cols[i].drop > 0 for i in shown):
        shown.remove(max((i for i in shown if cols[i].drop > 0), key=lambda i: (cols[i].drop, i)))
    if need(low) > width:
        return shown, None, False
    if need(high) <= width:
        return shown, None, True
    room = width - need(low)
    lack = {i: high[i] - low[i] for i in shown}
    total = sum(lack.values()) or 1
    widths = {i: low[i] + room * lack[i] // total for i in shown}
    return shown, [widths[i] for i in shown], True


def print_table(
    title: str,
    columns: Sequence[str | Col],
    rows: Iterable[Sequence[Any]],
    *,
    console: Console | None = None,
) -> None:
    """A rich table of ``rows``; see the module docstring for what it promises. Values may be rich ``Text`` (our
    own styling); anything else is shown through ``cell``."""
    from rich.table import Table
    from rich.text import Text

    cli = current()
    console = console or cli.out
    cols = [c if isinstance(c, Col) else Col(c) for c in columns]
    raw = [list(r) + [None] * (len(cols) - len(r)) for r in rows]
    cells = [[v if isinstance(v, Text) else Text(cell(v)) for v in r] for r in raw]
    for i, c in enumerate(cols):
        if c.money:
            for row, text in zip(cells, money_column(r[i] for r in raw), strict=True):
                row[i] = Text(text)
    shown, widths, fits = layout(cols, [[t.plain for t in row] for row in cells], console.width)
    if not fits:
        _records(console, title, [cols[i].header for i in shown], [[row[i] for i in shown] for row in cells])
    else:
        table = Table(title=Text(title), title_justify="left")
        for n, i in enumerate(shown):
            c = cols[i]
            table.add_column(
                Text(c.header),
                overflow="fold",
                justify="right" if (c.right or c.money) else "left",
                width=None if widths is None else widths[n],
            )
        for row in cells:
            table.add_row(*(row[i] for i in shown))
        console.print(table)
    hidden = [c.header for i, c in enumerate(cols) if i not in shown]
    if hidden:
        cli.err.print(
            f"({', '.join(hidden)} hidden to fit {console.width} columns: widen the terminal, or see every field "
            "with --output json, yaml, text or csv)"
        )


def _records(console: Console, title: str, headers: list[str], rows: list[list[Text]]) -> None:
    """Each row as a block of ``field  value`` lines (long values run on: nothing is cut or folded)."""
    from rich.text import Text

    pad = max((len(h) for h in headers), default=0)
    console.print(Text(title), soft_wrap=True)
    for row in rows:
        console.print()
        for header, value in zip(headers, row, strict=True):
            lines = value.split("\n") if value.plain else [value]
            for n, line in enumerate(lines):
                label = header.ljust(pad) if n == 0 else " " * pad
                console.print(Text.assemble((label, "bold"), "  ", line), soft_wrap=True)


def print_kv(title: str, fields: Mapping[str, Any], *, console: Console | None = None) -> None:
    """``field  value`` pairs (amounts of ``*_usd`` fields in the money format), boxed when the longest value
    fits the terminal, else as plain lines."""
    from rich.table import Table
    from rich.text import Text

    console = console or current().out
    pairs: list[tuple[Text, Text]] = []
    for k, v in redact(dict(fields)).items():
        shown = money(v) if str(k).endswith(MONEY_SUFFIX) and not isinstance(v, dict | list) else cell(v)
        pairs.append((Text(str(k), style="bold"), Text(shown)))
    _, _, fits = layout([Col("field"), Col("value")], [[k.plain, v.plain] for k, v in pairs], console.width)
    if not fits:
        _records(console, title, [k.plain for k, _ in pairs], [[v for _, v in pairs]])
        return
    table = Table(title=Text(title), show_header=False, title_justify="left")
    table.add_column("field", overflow="fold")
    table.add_column("value", overflow="fold")
    for k, v in pairs:
        table.add_row(k, v)
    console.print(table)


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
        cli.out.print(cell(data), soft_wrap=True)
