"""Bring a JSON document to the shape botocore's service model gives it, as AWS would have serialised it.

moto's Bedrock and Agents responses are close to AWS's but not equal: timestamps as ``"2026-12-04 21:39:21"`` or
epoch numbers where the model says ISO 8601, ``null`` for unset members, enum values in the wrong case
(``"Active"``), required members left out. Strict SDKs (the AWS SDK for JavaScript v3, Java, Go) reject such
responses. ``conform(shape, value)`` walks the output shape and fixes what can be fixed from the model alone:

- ``null`` members are dropped (AWS omits unset members) and members the shape does not declare are dropped;
- timestamps are parsed from any of moto's forms and written in the shape's ``timestampFormat`` (the JSON
  protocols default to epoch seconds);
- enum values are matched to the model's spelling, ignoring case and punctuation (``Active`` -> ``ACTIVE``);
- scalars are coerced to the model's type where the value is unambiguous (``"3"`` -> ``3``, ``1`` -> ``"1"``);
- missing required members are filled: with the AWS default in ``AWS_DEFAULTS`` when AWS documents one, else
  an empty list / map, a structure built from its own required members, or (timestamps) a sibling timestamp.

Nothing here is per operation: the model drives it, so every operation moto answers is covered.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

MISSING: Any = object()
_SCALAR_DEFAULTS: dict[str, Any] = {"string": "", "integer": 0, "long": 0, "float": 0.0, "double": 0.0}

# Required members AWS fills with a default when the caller leaves them out, keyed by (structure shape,
# member). Each line says where the value comes from.
AWS_DEFAULTS: dict[tuple[str, str], Any] = {
    # CreateAgent without idleSessionTTLInSeconds: GetAgent still returns it (required in the model); 600 s is
    # the idle session timeout the Bedrock console proposes (the API reference states no default).
    ("Agent", "idleSessionTTLInSeconds"): 600,
    ("AgentVersion", "idleSessionTTLInSeconds"): 600,
}


def conform(shape: Shape, value: Any, *, default_ts_format: str = "unixTimestamp") -> Any:
    """``value`` shaped like ``shape`` (``MISSING`` when it should be left out entirely)."""
    if value is None:
        return MISSING
    t = shape.type_name
    if t == "structure":
        assert isinstance(shape, StructureShape)
        if not isinstance(value, dict) or shape.is_document_type:
            return value
        return _structure(shape, value, default_ts_format)
    if t == "list":
        assert isinstance(shape, ListShape)
        if not isinstance(value, list):
            return value
        items = (conform(shape.member, v, default_ts_format=default_ts_format) for v in value)
        return [v for v in items if v is not MISSING]
    if t == "map":
        assert isinstance(shape, MapShape)
        if not isinstance(value, dict):
            return value
        pairs = ((k, conform(shape.value, v, default_ts_format=default_ts_format)) for k, v in value.items())
        return {k: v for k, v in pairs if v is not MISSING}
    if t == "timestamp":
        parsed = parse_timestamp(value)
        fmt = shape.serialization.get("timestampFormat") or default_ts_format
        return value if parsed is None else render_timestamp(parsed, fmt)
    return _scalar(shape, value)


def _structure(shape: StructureShape, value: dict[str, Any], ts_format: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    members = shape.members
    for key, item in value.items():
        member = members.get(key)
        if member is None or member.serialization.get("location"):
            continue  # not part of the body: unknown to the model, or a header / status code member
        fixed = conform(member, item, default_ts_format=ts_format)
        if fixed is not MISSING:
            out[key] = fixed
    for name in shape.required_members:
        if name not in out and not members[name].serialization.get("location"):
            filled = required_default(shape, name, out, ts_format)
            if filled is not MISSING:
                out[name] = filled
    return out


def required_default(parent: StructureShape, name: str, siblings: dict[str, Any], ts_format: str) -> Any:
    """The value AWS would send for a required member the source left out (``MISSING`` if none is known)."""
    if (parent.name, name) in AWS_DEFAULTS:
        return AWS_DEFAULTS[(parent.name, name)]
    member = parent.members[name]
    t = member.type_name
    if t == "list":
        return []
    if t == "map":
        return {}
    if t == "structure":
        assert isinstance(member, StructureShape)
        if member.metadata.get("union") or member.is_document_type:
            return MISSING
        return _structure(member, {}, ts_format)
    if t == "timestamp":
        fmt = member.serialization.get("timestampFormat") or ts_format
        for sibling_name, sibling in parent.members.items():
            if sibling.type_name == "timestamp" and sibling_name in siblings:
                parsed = parse_timestamp(siblings[sibling_name])
                if parsed is not None:
                    return render_timestamp(parsed, fmt)
        return render_timestamp(dt.datetime.now(dt.UTC), fmt)
    if t == "boolean":
        return False
    enum = getattr(member, "enum", None)
    if enum:
        return MISSING  # no value of an enum is a safe guess; leave it for the validator to report
    return _SCALAR_DEFAULTS.get(t, MISSING)


def _canon(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _scalar(shape: Shape, value: Any) -> Any:
    t = shape.type_name
    if t == "string":
        text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
        enum = getattr(shape, "enum", None)
        if enum and text not in enum:
            match = [e for e in enum if _canon(e) == _canon(text)]
            return match[0] if len(match) == 1 else text
        return text
    if t in ("integer", "long"):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        return value
    if t in ("float", "double"):
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return value
        return value
    if t == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def parse_timestamp(value: Any) -> dt.datetime | None:
    """A UTC datetime from an epoch number (seconds, or milliseconds when too large), an ISO 8601 string (with
    a space or ``T``, with or without zone: naive means the machine's local time, which is what moto's
    ``datetime.now()`` wrote) or an RFC 822 date; None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return parse_timestamp(float(text))
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return parsed.astimezone(dt.UTC)


def render_timestamp(ts: dt.datetime, fmt: str) -> Any:
    """``ts`` in a botocore ``timestampFormat``: ``iso8601`` (UTC, milliseconds, ``Z``, as Bedrock writes it),
    ``rfc822`` or ``unixTimestamp`` (epoch seconds, fractional when there are milliseconds)."""
    ts = ts.astimezone(dt.UTC)
    if fmt == "iso8601":
        return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if fmt == "rfc822":
        return email.utils.format_datetime(ts, usegmt=True)
    epoch = round(ts.timestamp(), 3)
    return int(epoch) if epoch.is_integer() else epoch
