"""Audit fields made storable before they are buffered: whatever a request carried (a 400-character model id, a NUL
byte in a path, a JSON object where a string belongs, a lone surrogate), ``sanitize`` returns a record every
database accepts -- text of the column's type and length with no control characters, integers in the column's
range, a finite timestamp. ``plain`` is the fallback for a row the database still refuses: ASCII text only.

The bounds come from the table definition (``bedrockctl.store.gateway.gateway_audit``), so a column widened there
is used in full here.
"""

from __future__ import annotations

import math
import time
from dataclasses import fields
from typing import Any

import orjson
import sqlalchemy as sa

from bedrockctl.store.audit import AuditRecord
from bedrockctl.store.audit_record import FIELDS, _values
from bedrockctl.store.gateway import gateway_audit

MARK = "\u2026"  # ends a value cut to its column's length
_CONTROLS = dict.fromkeys([*range(0x20), 0x7F], "\ufffd")  # NUL (PostgreSQL text refuses it) and the rest of C0
_INT_BOUND = {"Integer": 2**31 - 1, "BigInteger": 2**63 - 1}


def _specs() -> list[tuple[str, str, int, bool]]:
    """(field, kind, bound, nullable) per record field: kind text (bound = length), int (bound = |max|) or float."""
    out = []
    for f in fields(AuditRecord):
        col = gateway_audit.c[f.name]
        kind = type(col.type).__name__
        if isinstance(col.type, sa.String):
            out.append((f.name, "text", int(col.type.length or 10_000), bool(col.nullable)))
        elif kind in _INT_BOUND:
            out.append((f.name, "int", _INT_BOUND[kind], bool(col.nullable)))
        else:
            out.append((f.name, "float", 0, bool(col.nullable)))
    return out


_SPECS = _specs()
assert tuple(name for name, *_ in _SPECS) == FIELDS  # ``_values`` gives the fields in this order


def text_value(raw: Any, length: int) -> str:
    """``raw`` as text of at most ``length`` characters, valid UTF-8, without control characters."""
    value = raw
    if not isinstance(value, str):
        try:
            value = orjson.dumps(value, default=repr, option=orjson.OPT_SORT_KEYS).decode()
        except (TypeError, orjson.JSONEncodeError):
            value = repr(value)
    if not value.isprintable():
        value = value.translate(_CONTROLS)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (from surrogateescape-decoded paths or JSON \\ud800)
        value = value.encode("utf-8", "replace").decode("utf-8")
    if len(value) > length:
        value = value[: length - 1] + MARK
    return value


def int_value(raw: Any, bound: int) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError, OverflowError):
        return 0
    return max(-bound, min(bound, value))


_TEXT_AT = tuple((i, bound, nullable) for i, (_, kind, bound, nullable) in enumerate(_SPECS) if kind == "text")
_INT_AT = tuple((i, bound) for i, (_, kind, bound, _) in enumerate(_SPECS) if kind == "int")
_FLOAT_AT = tuple(i for i, (_, kind, _, _) in enumerate(_SPECS) if kind == "float")


def _fits(values: tuple[Any, ...]) -> bool:
    """Whether every field (``values``: the record's, in ``_SPECS`` order) fits as it is: ``sanitize``'s checks
    alone, kind by kind (the hot path: one call per request)."""
    for i, bound, nullable in _TEXT_AT:
        v = values[i]
        if v is None:
            if not nullable:
                return False
        elif type(v) is not str or len(v) > bound or not v.isprintable():
            return False
    for i, bound in _INT_AT:
        v = values[i]
        if type(v) is not int or not -bound <= v <= bound:
            return False
    for i in _FLOAT_AT:
        v = values[i]
        if type(v) is not float or not math.isfinite(v):
            return False
    return True


def sanitize(rec: AuditRecord) -> AuditRecord:
    """``rec`` itself when every field already fits (the common case, no copy), else a cleaned copy."""
    if _fits(_values(rec)):
        return rec
    return _cleaned(rec)


def _cleaned(rec: AuditRecord) -> AuditRecord:
    """``sanitize`` field by field: ``rec`` when nothing needed changing, else a copy with the changes."""
    clean: dict[str, Any] | None = None
    for name, kind, bound, nullable in _SPECS:
        value = getattr(rec, name)
        fixed: Any
        if kind == "text":
            if value is None:
                fixed = None if nullable else ""
            elif type(value) is str and len(value) <= bound and value.isprintable():
                continue
            else:
                fixed = text_value(value, bound)
        elif kind == "int":
            if type(value) is int and -bound <= value <= bound:
                continue
            fixed = 0 if value is None else int_value(value, bound)
        else:
            if type(value) is float and math.isfinite(value):
                continue
            try:
                fixed = float(value)
            except (TypeError, ValueError):
                fixed = time.time()
            if not math.isfinite(fixed):
                fixed = time.time()
        if fixed is value:
            continue
        if clean is None:
            clean = {}
        clean[name] = fixed
    if clean is None:
        return rec
    return AuditRecord(**{f.name: clean.get(f.name, getattr(rec, f.name)) for f in fields(AuditRecord)})


def plain(rec: AuditRecord) -> AuditRecord:
    """A last-resort copy of a sanitized record: every text field ASCII only (money and counts unchanged)."""
    out = {}
    for name, kind, _bound, _nullable in _SPECS:
        value = getattr(rec, name)
        if kind == "text" and isinstance(value, str):
            value = value.encode("ascii", "replace").decode("ascii")
        out[name] = value
    return AuditRecord(**out)
