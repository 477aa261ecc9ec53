"""The machine formats of every command's result: ``json``, ``yaml``, ``text`` (one record per line, tab-separated,
like the AWS CLI) and ``csv``, and ``--query`` (JMESPath, as in the AWS CLI) applied before any of them.

Everything here works on plain data (``plain``: dicts, lists, strings, numbers, booleans, None): Decimals become
exact strings, datetimes ISO 8601 strings. Tables for people live in ``tables.py``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from bedrockctl.cli.money import money_column
from bedrockctl.cli.money import plain as plain_decimal

MONEY_SUFFIX = "_usd"


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return plain_decimal(obj) if obj.is_finite() else str(obj)
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return str(obj)


def plain(data: Any) -> Any:
    """``data`` as JSON-able plain values (Decimal -> exact string, datetime -> ISO 8601, keys -> strings)."""
    return orjson.loads(orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS))


def compile_query(expression: str) -> Any:
    """A compiled JMESPath expression; ``jmespath.exceptions.ParseError`` when it is not one."""
    import jmespath

    return jmespath.compile(expression)


def search(expression: str, data: Any) -> Any:
    return compile_query(expression).search(data)


# -- formats -------------------------------------------------------------------------------------------------
def to_json(data: Any) -> str:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"


def to_yaml(data: Any) -> str:
    import yaml

    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return text


def tabulate(data: Any, columns: Sequence[str] | None = None) -> tuple[list[str] | None, list[list[Any]]]:
    """Header (None when the records have no field names) and rows: a list of objects is one row per object
    (columns: ``columns`` or every key in first-seen order), an object is one row, a list of scalars one row
    per item, a scalar one row."""
    if isinstance(data, list):
        if data and all(isinstance(r, dict) for r in data):
            cols = list(columns or _keys(data))
            return cols, [[r.get(c) for c in cols] for r in data]
        return None, [list(v) if isinstance(v, list) else [v] for v in data]
    if isinstance(data, dict):
        cols = list(columns or data)
        return cols, [[data.get(c) for c in cols]]
    return None, [[data]]


def _keys(rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for r in rows:
        seen.update(dict.fromkeys(r))
    return list(seen)


def _text_cell(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return str(value)  # None / True / False, as the AWS CLI prints them
    if isinstance(value, dict | list):
        value = orjson.dumps(value).decode()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def to_text(data: Any, columns: Sequence[str] | None = None) -> str:
    """One record per line, fields separated by tabs, no header (tabs and newlines inside a field escaped); the
    amounts of ``*_usd`` fields in the money format, one number of decimals per column. A single string result
    is printed as it is."""
    if isinstance(data, str):
        return data if data.endswith("\n") else data + "\n"
    if data is None:
        return ""
    header, rows = tabulate(data, columns)
    cells = [[_text_cell(v) for v in row] for row in rows]
    for i, name in enumerate(header or []):
        if not name.endswith(MONEY_SUFFIX):
            continue
        amounts = [None if isinstance(row[i], dict | list) else row[i] for row in rows]
        for row, amount, shown in zip(cells, amounts, money_column(amounts), strict=True):
            if amount is not None:
                row[i] = shown
    return "".join("\t".join(row) + "\n" for row in cells)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value


def to_csv(data: Any, columns: Sequence[str] | None = None) -> str:
    """RFC 4180 CSV with a header row (``value`` when the records have no field names); amounts in full."""
    header, rows = tabulate(data, columns)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if data is None:
        return ""
    width = len(rows[0]) if rows else 1
    writer.writerow(header or (["value"] if width == 1 else [f"value{i}" for i in range(1, width + 1)]))
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return buf.getvalue()


def render(fmt: str, data: Any, columns: Sequence[str] | None = None) -> str:
    """``data`` (plain) in a machine format."""
    if fmt == "json":
        return to_json(data)
    if fmt == "yaml":
        return to_yaml(data)
    if fmt == "text":
        return to_text(data, columns)
    if fmt == "csv":
        return to_csv(data, columns)
    raise ValueError(f"not a machine format: {fmt}")
