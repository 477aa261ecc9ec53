"""Bedrock usage for ``aws_bedrock``: invocations from CloudTrail (all four runtime operations, every page) joined
with model invocation log records (token counts, prompt-cache reads/writes) when a log group is configured."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bedrockctl.plugins.base import Item, iso

log = logging.getLogger("bedrockctl.plugins")

INVOCATION_OPERATIONS = frozenset({"Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"})
EVENT_SOURCE = "bedrock.amazonaws.com"
_FM_ARN_MARK = "::foundation-model/"


def normalize_model_id(model_id: str | None) -> str:
    """Foundation-model ARNs become their model id; profile ids, profile/provisioned ARNs stay as they are."""
    if not model_id:
        return "unknown"
    if _FM_ARN_MARK in model_id:
        return model_id.split(_FM_ARN_MARK, 1)[1]
    return model_id


def _principal(ident: dict[str, Any]) -> str:
    issuer = (ident.get("sessionContext") or {}).get("sessionIssuer") or {}
    return str(ident.get("arn") or issuer.get("arn") or ident.get("principalId") or "unknown")


def _window(days: int) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    # a minute of slack at the end: CloudWatch truncates EndTime to the second and excludes it
    return now - timedelta(days=days), now + timedelta(minutes=1)


class BedrockUsageMixin:
    """Needs ``pages``, ``region`` and ``config`` from ``Plugin``."""

    region: str
    config: dict[str, Any]

    if TYPE_CHECKING:

        def pages(self, service: str, operation: str, result_path: str, **params: Any) -> list[Item]: ...

    # -- sources -----------------------------------------------------------------------------------------------
    def _trail_invocations(self, start: datetime, end: datetime) -> list[Item]:
        events = self.pages(
            "cloudtrail",
            "lookup_events",
            "Events",
            LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": EVENT_SOURCE}],
            StartTime=start,
            EndTime=end,
            PaginationConfig={"PageSize": 50},
        )
        out = []
        for ev in events:
            if ev.get("EventName") not in INVOCATION_OPERATIONS:
                continue
            try:
                detail = json.loads(ev.get("CloudTrailEvent") or "{}")
            except ValueError:
                detail = {}
            ident = detail.get("userIdentity") or {}
            params = detail.get("requestParameters") or {}
            out.append(
                invocation_row(
                    id=ev.get("EventId"),
                    operation=ev.get("EventName"),
                    model_id=normalize_model_id(params.get("modelId")),
                    principal=_principal(ident),
                    principal_type=ident.get("type"),
                    principal_id=ident.get("principalId"),
                    user_arn=ident.get("arn"),
                    user_name=ev.get("Username"),
                    account_id=ident.get("accountId") or detail.get("recipientAccountId"),
                    access_key_id=ev.get("AccessKeyId"),
                    source_ip=detail.get("sourceIPAddress"),
                    user_agent=detail.get("userAgent"),
                    event_time=iso(ev.get("EventTime")),
                    region=detail.get("awsRegion") or self.region,
                    request_id=detail.get("requestID"),
                    error_code=detail.get("errorCode"),
                    error_message=detail.get("errorMessage"),
                    event_source=detail.get("eventSource"),
                    source="cloudtrail",
                )
            )
        return out

    def _log_records(self, start: datetime, end: datetime) -> list[Item]:
        group = self.config.get("cloudwatch_log_group")
        if not group:
            return []
        events = self.pages(
            "logs",
            "filter_log_events",
            "events",
            logGroupName=group,
            startTime=int(start.timestamp() * 1000),
            endTime=int(end.timestamp() * 1000),
        )
        out = []
        for ev in events:
            try:
                rec = json.loads(ev.get("message") or "{}")
            except ValueError:
                continue
            if rec.get("schemaType") != "ModelInvocationLog":
                continue
            out.append(rec)
        return out

    # -- public API --------------------------------------------------------------------------------------------
    def list_invocations(self, days: int = 7, max_results: int | None = None, **_: Any) -> list[Item]:
        """Invocations of the last ``days`` days (at most ``max_results`` when given, newest first from
        CloudTrail); token counts from the invocation log when configured."""
        start, end = _window(days)
        invocations = self._trail_invocations(start, end)
        records = self._log_records(start, end)
        by_request = {inv["request_id"]: inv for inv in invocations if inv.get("request_id")}
        for rec in records:
            inp, outp = rec.get("input") or {}, rec.get("output") or {}
            tokens = {
                "input_tokens": int(inp.get("inputTokenCount") or 0),
                "output_tokens": int(outp.get("outputTokenCount") or 0),
                "cache_read_tokens": int(inp.get("cacheReadInputTokenCount") or 0),
                "cache_write_tokens": int(inp.get("cacheWriteInputTokenCount") or 0),
            }
            inv = by_request.get(rec.get("requestId"))
            if inv is not None:
                inv.update(tokens, source="cloudtrail+invocation_log")
                continue
            arn = (rec.get("identity") or {}).get("arn")
            invocations.append(  # logged but not (yet) in CloudTrail: still an invocation
                invocation_row(
                    id=rec.get("requestId"),
                    operation=rec.get("operation"),
                    model_id=normalize_model_id(rec.get("modelId")),
                    principal=arn or "unknown",
                    user_arn=arn,
                    account_id=rec.get("accountId"),
                    event_time=rec.get("timestamp"),
                    region=rec.get("region") or self.region,
                    request_id=rec.get("requestId"),
                    source="invocation_log",
                    **tokens,
                )
            )
        return invocations if max_results is None else invocations[: max(0, int(max_results))]

    def get_usage_by_model(self, days: int = 7) -> dict[str, dict[str, Any]]:
        """Per model id: ours (``users``, tokens, ``operations`` ...) and OpenCITE's (``model_id``,
        ``unique_users`` / ``unique_user_count``: distinct caller ARNs, ``unique_ips`` / ``unique_ip_count``)."""
        rows = aggregate(
            self.list_invocations(days=days),
            "model_id",
            {"users": "principal", "unique_users": "user_arn", "unique_ips": "source_ip"},
        )
        for model_id, row in rows.items():
            row.update(
                model_id=model_id,
                unique_user_count=len(row["unique_users"]),
                unique_ip_count=len(row["unique_ips"]),
            )
        return rows

    def get_usage_by_user(self, days: int = 7) -> dict[str, dict[str, Any]]:
        """Per principal ARN: ours (``models``, ``unique_model_count``, tokens ...) and OpenCITE's (``user_arn``,
        ``user_type``, ``models_used``, ``model_count``)."""
        rows = aggregate(
            self.list_invocations(days=days),
            "principal",
            {"models": "model_id", "user_arns": "user_arn", "user_types": "principal_type"},
        )
        for row in rows.values():
            arns, types = row.pop("user_arns"), row.pop("user_types")
            row.update(
                unique_model_count=len(row["models"]),
                models_used=list(row["models"]),
                model_count=len(row["models"]),
                user_arn=arns[0] if arns else None,
                user_type=types[0] if types else None,
            )
        return rows

    def get_invocation_metric(self, model_ids: Iterable[str], days: int) -> tuple[float, str | None]:
        """Sum of ``AWS/Bedrock Invocations`` for any of ``model_ids`` (id, ARN or name) over ``days``, and the
        time of the last datapoint with invocations (idle detection for provisioned throughput)."""
        start, end = _window(days)
        total, last = 0.0, None
        for model_id in dict.fromkeys(model_ids):
            if not model_id:
                continue
            points = self.pages(
                "cloudwatch",
                "get_metric_statistics",
                "Datapoints",
                Namespace="AWS/Bedrock",
                MetricName="Invocations",
                Dimensions=[{"Name": "ModelId", "Value": model_id}],
                StartTime=start,
                EndTime=end,
                Period=3600 if days <= 60 else 86400,
                Statistics=["Sum"],
            )
            for p in points:
                if p.get("Sum"):
                    total += float(p["Sum"])
                    stamp = iso(p.get("Timestamp"))
                    last = max(last or "", stamp or "") or None
        return total, last


def invocation_row(**fields: Any) -> Item:
    """One invocation with every field (ours and OpenCITE's); unknown ones ``None``."""
    row: Item = dict.fromkeys(INVOCATION_FIELDS)
    row.update(fields)
    row["name"] = row["event_name"] = row["operation"]
    row["timestamp"] = row["event_time"]  # OpenCITE's names
    row["user_type"] = row["principal_type"]
    row["type"] = "bedrock_invocation"
    row["discovery_source"] = "cloudwatch_logs" if row["source"] == "invocation_log" else "cloudtrail"
    row["metadata"] = {
        "event_source": row.pop("event_source"),
        "aws_region": row["region"],
        "error_code": row["error_code"],
        "error_message": row.pop("error_message"),
    }
    return row


INVOCATION_FIELDS = (
    "id",
    "operation",
    "model_id",
    "principal",
    "principal_type",
    "principal_id",
    "user_arn",
    "user_name",
    "account_id",
    "access_key_id",
    "source_ip",
    "user_agent",
    "event_time",
    "region",
    "request_id",
    "error_code",
    "error_message",
    "event_source",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "source",
)


def aggregate(invocations: list[Item], key: str, sets: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Group invocations by ``key`` (model_id or principal) with counts, tokens, and for each ``name: field`` of
    ``sets`` the sorted distinct non-empty values of ``field``."""
    out: dict[str, dict[str, Any]] = {}
    for inv in invocations:
        k = str(inv.get(key) or "unknown")
        row = out.setdefault(
            k,
            {
                "invocation_count": 0,
                "error_count": 0,
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_read_tokens": 0,
                "cache_write_tokens": 0,
                "operations": {},
                **{name: set() for name in sets},
                "first_seen": None,
                "last_seen": None,
                "token_source": "none",
            },
        )
        row["invocation_count"] += 1
        if inv.get("error_code"):
            row["error_count"] += 1
        for t in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
            if inv.get(t) is not None:
                row[t] += int(inv[t])
        if inv.get("input_tokens") is not None:
            row["token_source"] = "invocation_log"  # noqa: S105 - not a secret
        op = str(inv.get("operation"))
        row["operations"][op] = row["operations"].get(op, 0) + 1
        for name, field in sets.items():
            if inv.get(field):
                row[name].add(str(inv[field]))
        when = inv.get("event_time")
        if when:
            row["first_seen"] = min(row["first_seen"] or when, when)
            row["last_seen"] = max(row["last_seen"] or when, when)
    for row in out.values():
        for name in sets:
            row[name] = sorted(row[name])
    return out
