"""Check a boto3-parsed response against botocore's output shape for the operation.

botocore's parser is lenient: it happily returns whatever the server sent, so a sandbox handler that forgets a
required member or returns a wrong type would still "work" in boto3 and then break a stricter SDK (Java, Go,
the AWS CLI's output filters). ``validate_output`` walks the parsed dict and reports every deviation from the
service model: missing required members, wrong scalar/container types, enum values outside the enum, unknown
keys, lengths (``min``/``max`` of lists, maps and strings), string patterns and numeric ranges.

Event streams (parsed into ``botocore.eventstream.EventStream``) and streaming blobs (``StreamingBody``) are
accepted as they are; ``ResponseMetadata`` at the top level is ignored.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from functools import lru_cache
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from bedrockctl.sandbox import servicemodel

# Values real AWS returns that the published botocore model rejects (the model lags the service). Each entry is
# a documented fact, not a loophole: keep this list short, explain every line and say where AWS shows it. These
# are the only exceptions the wire-fidelity tests (tests/sandbox/test_wire_fidelity.py) accept.
KNOWN_ENUM_DRIFT: dict[str, frozenset[str]] = {
    # ListFoundationModels reports profile-only models with inferenceTypesSupported ["INFERENCE_PROFILE"]
    # (models-supported.html marks them "Cross-Region inference only"; the ListFoundationModels output of such
    # a model, e.g. Claude Sonnet 4 in us-east-1, carries the value although botocore's enum lacks it).
    "InferenceType": frozenset({"INFERENCE_PROFILE"}),
    # Nova Lite/Pro/Premier list inputModalities ["TEXT", "IMAGE", "VIDEO"] (models-supported.html lists video
    # input for them; botocore's ModelModality enum has only TEXT, IMAGE, EMBEDDING).
    "ModelModality": frozenset({"VIDEO"}),
}
KNOWN_MAX_DRIFT: frozenset[str] = frozenset(
    {
        "BrandedName",  # modelName "Titan Text G1 - Express" (23 chars) > max 20
        "InferenceProfileModels",  # EU profiles route to 6 Regions > max 5
    }
)
KNOWN_PATTERN_DRIFT: dict[str, re.Pattern[str]] = {
    # global.* profiles list the Region-less foundation-model ARN next to the source Region's ARN.
    "FoundationModelArn": re.compile(r"^arn:aws(-[^:]+)?:bedrock:::foundation-model/[a-z0-9.:-]+$"),
    # botocore's PromptRouterArn names only default routers; CreatePromptRouter answers custom ones as
    # ``prompt-router/<id>``.
    "PromptRouterArn": re.compile(r"^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:prompt-router/[a-z0-9]+$"),
}


_service_model = servicemodel.service_model
_operation_model = servicemodel.operation_model


def validate_output(service: str, operation: str, parsed: dict[str, Any]) -> list[str]:
    """Return a list of human-readable problems (empty when ``parsed`` fits the output shape).

    ``service`` is the botocore service name (``bedrock``, ``bedrock-runtime``, ``bedrock-agent`` ...) and
    ``operation`` the operation name as in the model (``ListFoundationModels``).
    """
    op = _operation_model(service, operation)
    shape = op.output_shape
    if shape is None:
        extra = [k for k in parsed if k != "ResponseMetadata"]
        return [f"{operation}: operation has no output but got keys {extra}"] if extra else []
    body = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
    problems: list[str] = []
    _check(shape, body, operation, problems)
    return problems


def validate_value(service: str, shape_name: str, value: Any) -> list[str]:
    """Validate ``value`` against a named shape of ``service`` (handy for nested documents and events)."""
    problems: list[str] = []
    _check(_service_model(service).shape_for(shape_name), value, shape_name, problems)
    return problems


def _is_streaming_payload(shape: Shape) -> bool:
    return bool(shape.serialization.get("eventstream")) or bool(getattr(shape, "is_event_stream", False))


def _check(shape: Shape, value: Any, path: str, out: list[str]) -> None:
    t = shape.type_name
    if value is None:
        out.append(f"{path}: null value for {shape.name} ({t})")
        return
    if t == "structure":
        assert isinstance(shape, StructureShape)
        if shape.serialization.get("eventstream") or _is_event_stream(value):
            return  # parsed EventStream object: the stream's events are checked by its consumer
        if shape.is_document_type:
            return
        _check_structure(shape, value, path, out)
    elif t == "list":
        assert isinstance(shape, ListShape)
        if not isinstance(value, list):
            out.append(f"{path}: expected list, got {type(value).__name__}")
            return
        _check_len(shape, len(value), path, out)
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}[{i}]", out)
    elif t == "map":
        assert isinstance(shape, MapShape)
        if not isinstance(value, dict):
            out.append(f"{path}: expected map, got {type(value).__name__}")
            return
        _check_len(shape, len(value), path, out)
        for k, v in value.items():
            _check(shape.key, k, f"{path}.<key {k!r}>", out)
            _check(shape.value, v, f"{path}[{k!r}]", out)
    elif t == "string":
        if not isinstance(value, str):
            out.append(f"{path}: expected string, got {type(value).__name__}")
            return
        enum = getattr(shape, "enum", None)
        if enum and value not in enum and value not in KNOWN_ENUM_DRIFT.get(shape.name, ()):
            out.append(f"{path}: {value!r} is not one of {sorted(enum)}")
        _check_len(shape, len(value), path, out)
        _check_pattern(shape, value, path, out)
    elif t in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            out.append(f"{path}: expected {t}, got {type(value).__name__}")
            return
        _check_range(shape, value, path, out)
    elif t in ("float", "double"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            out.append(f"{path}: expected {t}, got {type(value).__name__}")
            return
        _check_range(shape, value, path, out)
    elif t == "boolean":
        if not isinstance(value, bool):
            out.append(f"{path}: expected boolean, got {type(value).__name__}")
    elif t == "timestamp":
        if not isinstance(value, _dt.datetime):
            out.append(f"{path}: expected timestamp (datetime), got {type(value).__name__}")
    elif t == "blob" and not isinstance(value, bytes | bytearray) and not hasattr(value, "read"):
        out.append(f"{path}: expected blob (bytes or stream), got {type(value).__name__}")
    # other types (document handled above) are accepted as-is


def _is_event_stream(value: Any) -> bool:
    return type(value).__name__ == "EventStream" and hasattr(value, "__iter__")


def _check_structure(shape: StructureShape, value: Any, path: str, out: list[str]) -> None:
    if not isinstance(value, dict):
        out.append(f"{path}: expected structure {shape.name}, got {type(value).__name__}")
        return
    members = shape.members
    for req in shape.required_members:
        if req not in value:
            out.append(f"{path}: missing required member {req!r} of {shape.name}")
    for key, item in value.items():
        member = members.get(key)
        if member is None:
            out.append(f"{path}: unknown member {key!r} for {shape.name}")
            continue
        _check(member, item, f"{path}.{key}", out)
    if shape.metadata.get("union"):
        set_members = [k for k in value if k != "SDK_UNKNOWN_MEMBER"]
        if len(set_members) != 1:
            out.append(f"{path}: union {shape.name} must have exactly one member set, got {set_members}")


def _check_len(shape: Shape, n: int, path: str, out: list[str]) -> None:
    lo = shape.metadata.get("min")
    hi = shape.metadata.get("max")
    if lo is not None and n < lo:
        out.append(f"{path}: length {n} below min {lo} of {shape.name}")
    if hi is not None and n > hi and shape.name not in KNOWN_MAX_DRIFT:
        out.append(f"{path}: length {n} above max {hi} of {shape.name}")


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # a Java-only construct: skip rather than report false problems
        return None


def _check_pattern(shape: Shape, value: str, path: str, out: list[str]) -> None:
    pattern = shape.metadata.get("pattern")
    if not pattern:
        return
    rx = _compiled(pattern)
    drift = KNOWN_PATTERN_DRIFT.get(shape.name)
    if drift is not None and drift.search(value):
        return
    if rx is not None and rx.search(value) is None:
        out.append(f"{path}: {value!r} does not match pattern {pattern!r} of {shape.name}")


def _check_range(shape: Shape, n: float, path: str, out: list[str]) -> None:
    lo = shape.metadata.get("min")
    hi = shape.metadata.get("max")
    if lo is not None and n < lo:
        out.append(f"{path}: {n} below min {lo} of {shape.name}")
    if hi is not None and n > hi:
        out.append(f"{path}: {n} above max {hi} of {shape.name}")


# --- the raw HTTP response, before botocore's parser ------------------------------------------------------

# Error codes AWS answers that no operation's model declares: the request front end's own errors.
FRONT_END_ERRORS: dict[str, int] = {
    "MissingAuthenticationTokenException": 403,  # no credentials at all
    "UnrecognizedClientException": 403,  # unknown access key
    "ExpiredTokenException": 403,  # temporary credentials past expiry (Bedrock answers 403)
    "UnknownOperationException": 404,  # a path no operation of the service has
    "SerializationException": 400,  # a body that is not JSON
}
_ISO8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def validate_wire(service: str, operation: str, status: int, headers: dict[str, str], body: bytes | None) -> list[str]:
    """Problems of one raw HTTP response to ``operation``: the status code the model gives the operation (or the
    error), ``Content-Type``, and a JSON body where every value has the wire type of its shape (no ``null``,
    timestamps in the shape's ``timestampFormat``). ``body`` is None for streamed payloads (not read here)."""
    op = _operation_model(service, operation)
    lower = {k.lower(): v for k, v in headers.items()}
    out: list[str] = []
    if status >= 300:
        return _validate_error(service, op, status, lower, body)
    expected = int(op.http.get("responseCode", 200))
    if status != expected:
        out.append(f"{operation}: status {status}, the model says {expected}")
    shape = op.output_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    if shape is not None:
        for name, member in shape.members.items():
            header = member.serialization.get("name", name)
            required = member.serialization.get("location") == "header" and name in shape.required_members
            if required and header.lower() not in lower:
                out.append(f"{operation}: missing required header {header}")
    if payload is not None and shape is not None:
        member = shape.members[payload]
        if _is_streaming_payload(member) and "eventstream" not in lower.get("content-type", ""):
            out.append(f"{operation}: event stream answered as {lower.get('content-type')!r}")
        return out
    if lower.get("content-type", "").split(";")[0].strip() != "application/json":
        out.append(f"{operation}: Content-Type {lower.get('content-type')!r}, expected application/json")
    if body is None:
        return out
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return [*out, f"{operation}: body is not JSON: {body[:80]!r}"]
    if shape is not None:
        _check_raw(shape, doc, operation, out)
    return out


def _validate_error(
    service: str, op: OperationModel, status: int, lower: dict[str, str], body: bytes | None
) -> list[str]:
    code = lower.get("x-amzn-errortype", "").split(":", 1)[0]
    name = op.name
    if not code:
        return [f"{name}: error {status} without x-amzn-ErrorType"]
    out: list[str] = []
    declared = {e.name: e for e in op.error_shapes}
    if code in declared:
        meta = declared[code].metadata.get("error") or {}
        expected = int(meta.get("httpStatusCode", status))
    elif code in FRONT_END_ERRORS:
        expected = FRONT_END_ERRORS[code]
    else:
        return [f"{name}: error {code} is not declared by the operation"]
    if status != expected:
        out.append(f"{name}: {code} answered {status}, the model says {expected}")
    if lower.get("content-type", "").split(";")[0].strip() != "application/json":
        out.append(f"{name}: error Content-Type {lower.get('content-type')!r}")
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("message", doc.get("Message")), str):
        out.append(f"{name}: error body without a message: {body!r}")
    return out


def _check_raw(shape: Shape, value: Any, path: str, out: list[str]) -> None:
    """JSON wire types: what botocore's parser would silently convert or drop."""
    t = shape.type_name
    if value is None:
        out.append(f"{path}: null on the wire")
    elif t == "structure" and isinstance(value, dict) and not shape.is_document_type:
        assert isinstance(shape, StructureShape)
        for key, item in value.items():
            if key in shape.members:
                _check_raw(shape.members[key], item, f"{path}.{key}", out)
    elif t == "list" and isinstance(value, list):
        assert isinstance(shape, ListShape)
        for i, item in enumerate(value):
            _check_raw(shape.member, item, f"{path}[{i}]", out)
    elif t == "map" and isinstance(value, dict):
        assert isinstance(shape, MapShape)
        for k, item in value.items():
            _check_raw(shape.value, item, f"{path}[{k!r}]", out)
    elif t == "timestamp":
        fmt = shape.serialization.get("timestampFormat", "unixTimestamp")
        if fmt == "iso8601" and not (isinstance(value, str) and _ISO8601.match(value)):
            out.append(f"{path}: {value!r} is not an ISO 8601 timestamp")
        elif fmt == "unixTimestamp" and (isinstance(value, bool) or not isinstance(value, int | float)):
            out.append(f"{path}: {value!r} is not an epoch-seconds timestamp")
    elif t in ("integer", "long", "float", "double") and (
        isinstance(value, bool) or not isinstance(value, int | float)
    ):
        out.append(f"{path}: {value!r} is not a JSON number")
    elif t == "string" and not isinstance(value, str):
        out.append(f"{path}: {value!r} is not a JSON string")
    elif t == "boolean" and not isinstance(value, bool):
        out.append(f"{path}: {value!r} is not a JSON boolean")
