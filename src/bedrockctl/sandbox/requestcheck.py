"""A rest-json request body against its botocore input shape, as AWS's request validation reports it.

moto trusts its input: a CreateAgent without ``agentName`` crashes it (a 500 where AWS answers 400). Before
moto sees a Bedrock request, ``check_body`` walks the JSON body against the operation's input shape and raises
AWS's ``ValidationException``:

    2 validation errors detected: Value null at 'agentName' failed to satisfy constraint: Member must not be
    null; Value '9000' at 'idleSessionTTLInSeconds' failed to satisfy constraint: Member must have value less
    than or equal to 5400

Checked: required members, JSON types, enums, string/list/map lengths and numeric ranges. Patterns are not
(botocore's are Java regular expressions), so a value of the right type and size always reaches moto.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from bedrockctl.sandbox.core import AwsError

_JSON = {"string": str, "boolean": bool, "structure": dict, "map": dict, "list": list}


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        return "[...]" if isinstance(value, list) else "{...}"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _fail(out: list[str], value: Any, path: str, constraint: str) -> None:
    shown = "null" if value is None else f"'{_shown(value)}'"
    out.append(f"Value {shown} at '{path}' failed to satisfy constraint: Member must {constraint}")


def _type_ok(shape: Shape, value: Any) -> bool:
    t = shape.type_name
    if t in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if t in ("float", "double"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if t == "timestamp":
        return isinstance(value, int | float | str) and not isinstance(value, bool)
    expected = _JSON.get(t)
    return expected is None or isinstance(value, expected)


def _walk(shape: Shape, value: Any, path: str, out: list[str]) -> None:
    if getattr(shape, "is_document_type", False) or shape.type_name == "blob":
        return
    if not _type_ok(shape, value):
        _fail(out, value, path, f"be of type {shape.type_name}")
        return
    meta = shape.metadata
    lo, hi = meta.get("min"), meta.get("max")
    if isinstance(value, str | list | dict):
        if hi is not None and len(value) > hi:
            _fail(out, value, path, f"have length less than or equal to {hi}")
        elif lo is not None and len(value) < lo:
            _fail(out, value, path, f"have length greater than or equal to {lo}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if hi is not None and value > hi:
            _fail(out, value, path, f"have value less than or equal to {hi}")
        elif lo is not None and value < lo:
            _fail(out, value, path, f"have value greater than or equal to {lo}")
    enum = getattr(shape, "enum", None)
    if enum and isinstance(value, str) and value not in enum:
        _fail(out, value, path, f"satisfy enum value set: [{', '.join(enum)}]")
    if isinstance(shape, StructureShape):
        _structure(shape, value, path, out)
    elif isinstance(shape, ListShape):
        for i, item in enumerate(value):
            _walk(shape.member, item, f"{path}.{i + 1}.member", out)
    elif isinstance(shape, MapShape):
        for key, item in value.items():
            _walk(shape.value, item, f"{path}.{key}", out)


def _structure(shape: StructureShape, value: dict[str, Any], prefix: str, out: list[str]) -> None:
    for name, member in shape.members.items():
        if member.serialization.get("location"):
            continue  # URI label, query string or header: not in the body
        where = f"{prefix}.{name}" if prefix else name
        item = value.get(name)
        if item is None:
            if name in shape.required_members:
                _fail(out, None, where, "not be null")
            continue
        _walk(member, item, where, out)


def check_body(op: OperationModel, body: bytes) -> None:
    """Raise AWS's ValidationException when ``body`` does not fit the input shape of ``op``."""
    shape = op.input_shape
    if shape is None or shape.serialization.get("payload"):
        return
    try:
        doc = json.loads(body) if body.strip() else {}
    except ValueError as exc:
        raise AwsError("SerializationException", "Unable to parse the request body as JSON.") from exc
    if not isinstance(doc, dict):
        raise AwsError("SerializationException", "The request body must be a JSON object.")
    problems: list[str] = []
    _structure(shape, doc, "", problems)
    if problems:
        count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected"
        raise AwsError("ValidationException", f"{count}: {'; '.join(problems)}")
