"""Parse invocation-log records and CloudTrail events into columns (the hot path of ingestion).

One blob (a file, an S3 object, a page of log events) may hold JSON lines, a JSON array, a trail file
(``{"Records": [...]}``) or a LookupEvents dump (``{"Events": [...]}``); every record is classified by its content
(``schemaType`` -> invocation log, ``eventSource`` -> CloudTrail event, ``CloudTrailEvent`` -> LookupEvents item)
and appended to ``Columns`` (the tables' columns: ``record_columns``; each value converted by ``record_values``).
Bad records are collected with their origin and line (or record index) and skipped.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from bedrockctl.analytics.identity import Principal, normalise_arn, normalise_user_identity
from bedrockctl.analytics.record_columns import GUARDRAIL_UNITS as GUARDRAIL_UNITS  # re-exported: analytics.reports
from bedrockctl.analytics.record_columns import INV_COLUMNS, TRAIL_COLUMNS
from bedrockctl.analytics.record_values import billing_fields, count, json_text, resolve_base, router_invoked_base
from bedrockctl.aws.inference_profiles import is_router_arn

EVENT_SOURCE = "bedrock.amazonaws.com"
RUNTIME_EVENTS = frozenset(
    {
        "Converse",
        "ConverseStream",
        "InvokeModel",
        "InvokeModelWithResponseStream",
        "InvokeModelWithBidirectionalStream",
        "StartAsyncInvoke",
        "CountTokens",
        "ApplyGuardrail",
        "InvokeAgent",
        "InvokeInlineAgent",
        "InvokeFlow",
        "Retrieve",
        "RetrieveAndGenerate",
        "RetrieveAndGenerateStream",
    }
)


@dataclass(frozen=True)
class BadRecord:
    origin: str
    line: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "line": self.line, "reason": self.reason}


@dataclass
class Columns:
    """Column lists for both tables plus the bad and skipped record counts of what was parsed into them."""

    inv: dict[str, list[Any]] = field(default_factory=lambda: {n: [] for n, _ in INV_COLUMNS})
    trail: dict[str, list[Any]] = field(default_factory=lambda: {n: [] for n, _ in TRAIL_COLUMNS})
    bad: list[BadRecord] = field(default_factory=list)
    bad_count: int = 0
    skipped: int = 0
    max_bad_kept: int = 1000
    model_resolver: Any = None  # optional callable(model_id) -> base model id or None (application profiles)

    @property
    def n_inv(self) -> int:
        return len(self.inv["request_id"])

    @property
    def n_trail(self) -> int:
        return len(self.trail["event_id"])

    def add_bad(self, origin: str, line: int, reason: str) -> None:
        self.bad_count += 1
        if len(self.bad) < self.max_bad_kept:
            self.bad.append(BadRecord(origin, line, reason[:200]))

    def clear(self) -> None:
        for cols in (self.inv, self.trail):
            for v in cols.values():
                v.clear()


def _ok_ts(ts: Any) -> bool:
    return isinstance(ts, str) and len(ts) >= 19 and ts[4] == "-" and ts[10] == "T"


def add_invocation(cols: Columns, r: dict[str, Any], source: str = "invocation_log") -> None:
    """Append one ModelInvocationLog record; raises KeyError/TypeError/ValueError when it is malformed."""
    rid = json_text(r["requestId"])  # as the fast path's VARCHAR columns read any JSON value
    ts = r["timestamp"]
    model_id = json_text(r["modelId"])
    if not isinstance(rid, str) or not rid or not isinstance(model_id, str) or not _ok_ts(ts):
        raise ValueError("requestId, modelId or timestamp missing or malformed")
    inp = r.get("input") or {}
    out = r.get("output") or {}
    arn = json_text((r.get("identity") or {}).get("arn"))
    p: Principal = normalise_arn(arn)
    base = resolve_base(model_id)
    if base is None and is_router_arn(model_id):  # the log's modelId names no model
        base = router_invoked_base(out)
    if base is None and cols.model_resolver is not None:
        base = cols.model_resolver(model_id)
    meta = r.get("requestMetadata")
    account = json_text(r.get("accountId")) or ""
    op = json_text(r.get("operation")) or ""
    # convert everything that can fail before the first append, so a bad record never misaligns the columns
    tokens = (
        count(inp.get("inputTokenCount"), "inputTokenCount"),
        count(out.get("outputTokenCount"), "outputTokenCount"),
        count(inp.get("cacheReadInputTokenCount"), "cacheReadInputTokenCount"),
        count(inp.get("cacheWriteInputTokenCount"), "cacheWriteInputTokenCount"),
        sum(
            count(d.get("inputTokens"), "cacheDetails.inputTokens")
            for d in inp.get("cacheDetails") or ()
            if d.get("ttl") == "1h"
        ),
    )
    billed = billing_fields(r, op)
    latency = (r.get("metrics") or {}).get("latencyMs")
    latency = count(latency, "metrics.latencyMs") if latency is not None else None
    tags = orjson.dumps(meta, option=orjson.OPT_SORT_KEYS).decode() if meta else None
    if meta is not None and not isinstance(meta, dict):
        raise ValueError("requestMetadata is not an object")
    c = cols.inv
    c["input_tokens"].append(tokens[0])
    c["output_tokens"].append(tokens[1])
    c["cache_read_tokens"].append(tokens[2])
    c["cache_write_tokens"].append(tokens[3])
    c["cache_write_1h_tokens"].append(tokens[4])
    c["latency_ms"].append(latency)
    c["request_id"].append(rid)
    c["ts"].append(ts)
    c["account_id"].append(account)
    c["region"].append(json_text(r.get("region")))
    c["inference_region"].append(json_text(r.get("inferenceRegion")))
    c["operation"].append(op)
    c["model_id"].append(model_id)
    c["model_base"].append(base)
    c["identity_arn"].append(arn)
    c["principal"].append(p.principal)
    c["principal_type"].append(p.principal_type)
    c["permission_set"].append(p.permission_set)
    if meta:
        c["team"].append(json_text(meta.get("team")))
        c["workflow"].append(json_text(meta.get("workflow")))
        c["tags"].append(tags)
    else:
        c["team"].append(None)
        c["workflow"].append(None)
        c["tags"].append(None)
    c["error_code"].append(json_text(r.get("errorCode")))
    c["source"].append(source)
    c["match_key"].append(f"{account}|{arn}|{op}|{ts[:19]}|{base or model_id}")
    for column, value in billed.items():
        c[column].append(value)


def add_trail_event(cols: Columns, ev: dict[str, Any]) -> bool:
    """Append one CloudTrail event if it is a Bedrock runtime call; ``False`` when it is not one (skipped)."""
    if ev.get("eventSource") != EVENT_SOURCE or ev.get("eventName") not in RUNTIME_EVENTS:
        return False
    ts = ev["eventTime"]
    if not _ok_ts(ts):
        raise ValueError("eventTime missing or malformed")
    event_id = json_text(ev.get("eventID"))
    if not event_id:
        raise ValueError("eventID missing")
    ident = ev.get("userIdentity") or {}
    p = normalise_user_identity(ident)
    params = ev.get("requestParameters") or {}
    model_id = params.get("modelId") or params.get("modelIdentifier")
    if not model_id and params.get("agentId"):
        model_id = f"agent/{params['agentId']}"
    model_id = json_text(model_id) or ""
    base = resolve_base(model_id) if model_id else None
    if base is None and model_id and cols.model_resolver is not None:
        base = cols.model_resolver(model_id)
    account = json_text(ev.get("recipientAccountId") or ident.get("accountId")) or ""
    arn = json_text(ident.get("arn"))
    op = str(ev["eventName"])
    c = cols.trail
    c["event_id"].append(event_id)
    c["request_id"].append(json_text(ev.get("requestID")))
    c["ts"].append(ts)
    c["account_id"].append(account)
    c["region"].append(json_text(ev.get("awsRegion")))
    c["operation"].append(op)
    c["model_id"].append(model_id)
    c["model_base"].append(base)
    c["identity_arn"].append(arn)
    c["principal"].append(p.principal)
    c["principal_type"].append(p.principal_type)
    c["permission_set"].append(p.permission_set)
    c["source_ip"].append(json_text(ev.get("sourceIPAddress")))
    c["user_agent"].append(json_text(ev.get("userAgent")))
    c["error_code"].append(json_text(ev.get("errorCode")))
    c["match_key"].append(f"{account}|{arn}|{op}|{ts[:19]}|{base or model_id}")
    return True


def add_record(cols: Columns, obj: Any, since: str | None) -> None:
    """Classify and append one decoded record. Raises on malformed records."""
    if not isinstance(obj, dict):
        raise ValueError("record is not a JSON object")
    if "schemaType" in obj or "requestId" in obj:
        if since and str(obj.get("timestamp", "")) < since:
            cols.skipped += 1
            return
        add_invocation(cols, obj)
    elif "eventSource" in obj:
        if since and str(obj.get("eventTime", "")) < since:
            cols.skipped += 1
            return
        if not add_trail_event(cols, obj):
            cols.skipped += 1
    elif "CloudTrailEvent" in obj:
        add_record(cols, orjson.loads(obj["CloudTrailEvent"]), since)
    else:
        raise ValueError("neither a model invocation log record nor a CloudTrail event")


def _records_of(doc: Any) -> Iterable[Any] | None:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in ("Records", "Events"):
            items = doc.get(key)
            if isinstance(items, list):
                return items
        return [doc]
    return None


def parse_blob(data: bytes, origin: str, cols: Columns, since: str | None = None) -> int:
    """Parse one blob into ``cols``; returns the number of records seen (good + bad + skipped)."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            cols.add_bad(origin, 0, f"not a valid gzip file: {exc}")
            return 1
    stripped = data.lstrip()
    if not stripped:
        return 0
    doc: Any = None
    if stripped[:1] in (b"{", b"["):
        try:  # a whole-document parse stops at the end of the first JSON line when the blob is JSON lines
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            doc = None
    if doc is not None:
        items = _records_of(doc)
        if items is None:
            cols.add_bad(origin, 1, "JSON document is neither an object nor an array")
            return 1
        n = 0
        for n, item in enumerate(items, 1):
            try:
                add_record(cols, item, since)
            except (KeyError, TypeError, ValueError, AttributeError, orjson.JSONDecodeError) as exc:
                cols.add_bad(origin, n, f"record {n}: {type(exc).__name__}: {exc}")
        return n
    return parse_lines(data.split(b"\n"), origin, cols, since)


def parse_lines(lines: Iterable[bytes], origin: str, cols: Columns, since: str | None = None) -> int:
    loads = orjson.loads
    seen = 0
    for n, line in enumerate(lines, 1):
        if not line or line.isspace():
            continue
        seen += 1
        try:
            obj = loads(line)
            if since is None and type(obj) is dict and obj.get("schemaType") == "ModelInvocationLog":  # fast path
                add_invocation(cols, obj)
            else:
                add_record(cols, obj, since)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # JSONDecodeError is a ValueError
            cols.add_bad(origin, n, f"{type(exc).__name__}: {exc}")
    return seen
