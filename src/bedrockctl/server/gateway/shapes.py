"""Check a Bedrock request body against botocore's service model (the shapes and ranges AWS publishes), as Bedrock
does before it runs a call: types, required members, unions (exactly one member), list and string lengths,
numeric ranges, and integers that fit their wire type (``integer``: 32 bits, ``long``: 64 bits).

The model is read from botocore's data on first use (nothing at import). Enum values and string patterns are left
to Bedrock (the published model lags the service); members bound to the URI or headers are not in the body. The
walk stops at the first problem and names it by its path (``messages[0].content[1].text``), in the words of AWS's
own ValidationException ("Value ... at '...' failed to satisfy constraint: ...").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

_INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_FLOAT_TYPES = frozenset({"float", "double"})
_DEPTH = 64  # deeper than any Converse body; a deeper one is refused rather than walked


@dataclass(frozen=True)
class Problem:
    path: str  # messages[0].content[1].text
    message: str  # what AWS's ValidationException says


@cache
def input_shape(operation: str) -> StructureShape:
    """The input shape of a bedrock-runtime operation (``Converse``, ``ConverseStream``, ...)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    shape = model.operation_model(operation).input_shape
    assert isinstance(shape, StructureShape)
    return shape


def check_body(operation: str, body: dict[str, Any]) -> Problem | None:
    """The first problem of a JSON request body against the operation's input shape (None: it fits)."""
    shape = input_shape(operation)
    return _structure(shape, body, "", 0, in_body=True)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _fail(path: str, value: Any, constraint: str) -> Problem:
    shown = repr(value) if isinstance(value, (int, float, bool)) or value is None else type(value).__name__
    return Problem(path, f"Value {shown} at '{path}' failed to satisfy constraint: Member must {constraint}")


def _check(shape: Shape, value: Any, path: str, depth: int) -> Problem | None:
    if depth > _DEPTH:
        return Problem(path, f"The request at '{path}' is nested too deeply.")
    kind = shape.type_name
    if shape.metadata.get("document"):
        return None  # any JSON (tool inputs and schemas, additionalModelRequestFields)
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        return _structure(shape, value, path, depth)
    if kind == "list":
        assert isinstance(shape, ListShape)
        if not isinstance(value, list):
            return _fail(path, value, "be an array")
        problem = _length(shape, len(value), path, value)
        if problem:
            return problem
        for i, item in enumerate(value):
            problem = _check(shape.member, item, f"{path}[{i}]", depth + 1)
            if problem:
                return problem
        return None
    if kind == "map":
        assert isinstance(shape, MapShape)
        if not isinstance(value, dict):
            return _fail(path, value, "be an object")
        for k, item in value.items():
            problem = _check(shape.key, k, f"{path}.{k}", depth + 1) or _check(
                shape.value, item, f"{path}.{k}", depth + 1
            )
            if problem:
                return problem
        return None
    if kind == "string":
        if not isinstance(value, str):
            return _fail(path, value, "be a string")
        return _length(shape, len(value), path, value)
    if kind in _INT_RANGE:
        if not isinstance(value, int) or isinstance(value, bool):
            return _fail(path, value, "be an integer")
        low, high = _INT_RANGE[kind]
        return _range(shape, value, path, low, high)
    if kind in _FLOAT_TYPES:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            return _fail(path, value, "be a finite number")
        return _range(shape, value, path, None, None)
    if kind == "boolean":
        return None if isinstance(value, bool) else _fail(path, value, "be a boolean")
    if kind == "blob":
        return None if isinstance(value, str) else _fail(path, value, "be a base64-encoded string")
    if kind == "timestamp":
        ok = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        return None if ok else _fail(path, value, "be a timestamp")
    return None  # anything newer


def _structure(shape: StructureShape, value: Any, path: str, depth: int, in_body: bool = False) -> Problem | None:
    if not isinstance(value, dict):
        return _fail(path or "body", value, "be an object")
    members = shape.members
    one_set = len(value) == 1 and next(iter(value.values())) is not None  # as botocore counts union members
    if shape.metadata.get("union") and not one_set:
        where = path or "body"
        return Problem(where, f"The value at '{where}' must set exactly one of: {', '.join(members)}.")
    for name in shape.required_members:
        member = members[name]
        if in_body and member.serialization.get("location"):
            continue
        if value.get(name) is None:
            return Problem(_join(path, name), f"'{_join(path, name)}' is required.")
    for name, item in value.items():
        member = members.get(name)
        if member is None or item is None:  # unknown members are Bedrock's to judge; null is "not set"
            continue
        if in_body and member.serialization.get("location"):
            continue
        problem = _check(member, item, _join(path, name), depth + 1)
        if problem:
            return problem
    return None


def _length(shape: Shape, n: int, path: str, value: Any) -> Problem | None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    what = "length" if isinstance(value, str) else "number of items"
    if low is not None and n < low:
        return Problem(path, f"The {what} at '{path}' is {n}; it must be at least {low}.")
    if high is not None and n > high:
        return Problem(path, f"The {what} at '{path}' is {n}; it must be at most {high}.")
    return None


def _range(shape: Shape, value: float, path: str, low: float | None, high: float | None) -> Problem | None:
    mlow, mhigh = shape.metadata.get("min"), shape.metadata.get("max")
    low = mlow if mlow is not None else low
    high = mhigh if mhigh is not None else high
    if low is not None and value < low:
        return _fail(path, value, f"have value greater than or equal to {low}")
    if high is not None and value > high:
        return _fail(path, value, f"have value less than or equal to {high}")
    return None
