"""CloudTrail ``LookupEvents`` (awsJson1_1) over the sandbox's event store; other CloudTrail ops are moto's.

Events are those ``effects.Effects`` recorded for the caller's account in the request region, newest first.
One lookup attribute at most (as AWS), ``StartTime``/``EndTime`` inclusive, ``MaxResults`` 1..50 (default
50), ``NextToken`` pagination (the token names the last event returned and the filter it belongs to).
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from bedrockctl.sandbox.core import AwsError, SandboxRequest, SandboxResponse
from bedrockctl.sandbox.dispatch import TARGETS

ATTRIBUTE_KEYS = {
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
}


def _parse_time(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(float(value), tz=UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise AwsError("ValidationException", f"Invalid {name}: {value}") from exc


def _event_time(event: dict[str, Any]) -> datetime:
    return datetime.strptime(event["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _username(event: dict[str, Any]) -> str:
    ident = event.get("userIdentity", {})
    if ident.get("type") == "AssumedRole":
        return str(ident.get("arn", "")).rsplit("/", 1)[-1]
    return str(ident.get("userName", ""))


def _attr_value(event: dict[str, Any], key: str) -> list[str]:
    ident = event.get("userIdentity", {})
    if key == "EventId":
        return [event["eventID"]]
    if key == "EventName":
        return [event["eventName"]]
    if key == "ReadOnly":
        return ["true" if event.get("readOnly") else "false"]
    if key == "Username":
        return [_username(event)]
    if key == "EventSource":
        return [event["eventSource"]]
    if key == "AccessKeyId":
        return [str(ident.get("accessKeyId", ""))]
    resources = event.get("resources") or []
    if key == "ResourceName":
        return [str(r.get("ARN", "")) for r in resources]
    return [str(r.get("type", "")) for r in resources]  # ResourceType


def to_lookup_event(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "EventId": event["eventID"],
        "EventName": event["eventName"],
        "ReadOnly": "true" if event.get("readOnly") else "false",
        "AccessKeyId": event.get("userIdentity", {}).get("accessKeyId", ""),
        "EventTime": _event_time(event).timestamp(),
        "EventSource": event["eventSource"],
        "Username": _username(event),
        "Resources": [
            {"ResourceType": r.get("type"), "ResourceName": r.get("ARN")} for r in event.get("resources") or []
        ],
        "CloudTrailEvent": json.dumps(event),
    }


def _filter_key(attrs: list[dict[str, Any]], start: Any, end: Any) -> str:
    return hashlib.sha256(json.dumps([attrs, start, end], sort_keys=True, default=str).encode()).hexdigest()[:16]


@TARGETS.route("cloudtrail", "LookupEvents")
def lookup_events(req: SandboxRequest) -> SandboxResponse:
    body = req.json()
    attrs = body.get("LookupAttributes") or []
    if len(attrs) > 1:
        raise AwsError("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
    for attr in attrs:
        if attr.get("AttributeKey") not in ATTRIBUTE_KEYS or "AttributeValue" not in attr:
            raise AwsError("InvalidLookupAttributesException", "The lookup attribute is not valid.")
    max_results = body.get("MaxResults", 50)
    if not isinstance(max_results, int) or not 1 <= max_results <= 50:
        raise AwsError("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
    start = _parse_time(body.get("StartTime"), "StartTime")
    end = _parse_time(body.get("EndTime"), "EndTime")
    if start and end and start > end:
        raise AwsError("InvalidTimeRangeException", "Start time must be before end time.")
    category = body.get("EventCategory")
    if category not in (None, "insight"):
        raise AwsError("InvalidEventCategoryException", f"Invalid event category: {category}")

    events = [] if category == "insight" else req.sandbox.effects.events(req.account_id, req.region)
    if start or end:
        events = [e for e in events if (not start or _event_time(e) >= start) and (not end or _event_time(e) <= end)]
    for attr in attrs:
        events = [e for e in events if attr["AttributeValue"] in _attr_value(e, attr["AttributeKey"])]

    fkey = _filter_key(attrs, body.get("StartTime"), body.get("EndTime"))
    offset = 0
    token = body.get("NextToken")
    if token:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
            after, token_fkey = decoded["after"], decoded["f"]
        except (ValueError, KeyError, TypeError) as exc:
            raise AwsError("InvalidNextTokenException", "Invalid NextToken.") from exc
        ids = [e["eventID"] for e in events]
        if token_fkey != fkey or after not in ids:
            raise AwsError("InvalidNextTokenException", "Invalid NextToken.")
        offset = ids.index(after) + 1
    page = events[offset : offset + max_results]
    out: dict[str, Any] = {"Events": [to_lookup_event(e) for e in page]}
    if offset + max_results < len(events) and page:
        raw = json.dumps({"after": page[-1]["eventID"], "f": fkey}).encode()
        out["NextToken"] = base64.urlsafe_b64encode(raw).decode()
    return SandboxResponse.json(out, headers={"Content-Type": "application/x-amz-json-1.1"})
