"""Inference parameters checked the way Bedrock checks them, by each model's published ranges.

The ranges are data (``sandbox/data/inference_params.json``, with ``source`` and ``as_of``), keyed by model-id
prefix and by the parameter's path in the native InvokeModel body. A value out of range, of the wrong JSON type
or outside an enum is a ``ValidationException`` in the words of Bedrock's request-schema validator:

    Malformed input request: #/temperature: 5.0 is not less or equal to 1.0, please reformat your input and
    try again.

``check_native`` judges an InvokeModel body; ``check_converse`` the top-level keys of a Converse request's
``additionalModelRequestFields`` (they are merged into the native body). The range of ``inferenceConfig`` itself
is botocore's (``formats.check_inference_config``). Token maxima marked ``"model"`` are left to the runtime,
which checks them against the model's maximum output.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from .formats import invalid

_MISSING = object()
_JSON_TYPES = {
    str: "String",
    bool: "Boolean",
    int: "Integer",
    float: "BigDecimal",
    list: "JSONArray",
    dict: "JSONObject",
}


@cache
def _table() -> dict[str, Any]:
    text = resources.files("bedrockctl.sandbox").joinpath("data/inference_params.json").read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def params_for(model_id: str) -> dict[str, dict[str, Any]]:
    """The published parameter ranges of ``model_id`` (the entry with the longest matching prefix)."""
    best: dict[str, Any] | None = None
    for entry in _table()["models"]:
        if model_id.startswith(entry["prefix"]) and (best is None or len(entry["prefix"]) > len(best["prefix"])):
            best = entry
    return dict(best["params"]) if best else {}


def malformed(where: str, problem: str) -> Exception:
    return invalid(f"Malformed input request: {where}: {problem}, please reformat your input and try again.")


def _lookup(body: Any, path: str) -> Any:
    node = body
    for key in path.split("/"):
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def _java(value: Any) -> str:
    """A JSON value as the (Java) validator prints it: ``5.0``, ``5``, ``true``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _type_ok(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return kind == "boolean"
    return {
        "number": isinstance(value, int | float),
        "integer": isinstance(value, int) or (isinstance(value, float) and value.is_integer()),
        "string": isinstance(value, str),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }.get(kind, True)


def check_value(value: Any, spec: dict[str, Any], where: str) -> None:
    """Raise the validator's ValidationException when ``value`` breaks ``spec``."""
    kind = spec.get("type", "")
    if not _type_ok(value, kind):
        found = "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)
        raise malformed(where, f"expected type: {kind.capitalize()}, found: {found}")
    if "enum" in spec and value not in spec["enum"]:
        raise malformed(where, f"{_java(value)} is not a valid enum value")
    if isinstance(value, int | float) and not isinstance(value, bool):
        hi, lo = spec.get("max"), spec.get("min")
        if isinstance(hi, int | float) and value > hi:
            raise malformed(where, f"{_java(value)} is not less or equal to {_java(hi)}")
        if lo is not None and value < lo:
            raise malformed(where, f"{_java(value)} is not greater or equal to {_java(lo)}")
        step = spec.get("multiple_of")
        if step and value % step:
            raise malformed(where, f"{_java(value)} is not a multiple of {step}")
    if isinstance(value, str):
        if "min_length" in spec and len(value) < spec["min_length"]:
            raise malformed(where, f"expected minLength: {spec['min_length']}, actual: {len(value)}")
        if "max_length" in spec and len(value) > spec["max_length"]:
            raise malformed(where, f"expected maxLength: {spec['max_length']}, actual: {len(value)}")
    if isinstance(value, list):
        if "max_items" in spec and len(value) > spec["max_items"]:
            raise malformed(where, f"expected maximum item count: {spec['max_items']}, found: {len(value)}")
        for i, item in enumerate(value):
            if "items_enum" in spec and item not in spec["items_enum"]:
                raise malformed(f"{where}/{i}", f"{_java(item)} is not a valid enum value")


def check_native(body: dict[str, Any], model_id: str) -> None:
    """An InvokeModel body against the published parameter ranges of the foundation model ``model_id``."""
    for path, spec in params_for(model_id).items():
        value = _lookup(body, path)
        if value is not _MISSING:
            check_value(value, spec, f"#/{path}")


def check_converse(body: dict[str, Any], model_id: str) -> None:
    """The native parameters a Converse request passes in ``additionalModelRequestFields``."""
    extra = body.get("additionalModelRequestFields")
    if not isinstance(extra, dict):
        return
    for path, spec in params_for(model_id).items():
        if "/" not in path and path in extra:
            check_value(extra[path], spec, f"#/{path}")
