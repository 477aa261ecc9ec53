"""Parse invocation-log records and CloudTrail events into columns (the hot path of ingestion).

One blob (a file, an S3 object, a page of log events) may hold JSON lines, a JSON array, a trail file
(``{"Records": [...]}``) or a LookupEvents dump (``{"Events": [...]}``); every record is classified by its content
(``schemaType`` -> invocation log, ``eventSource`` -> CloudTrail event, ``CloudTrailEvent`` -> LookupEvents item).
Bad records are collected with their origin and line (or record index) and skipped.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from bedrockctl.analytics.identity import Principal, normalise_arn, normalise_user_identity
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

# The runtime's ``GuardrailUsage`` members: (log key, stored column, the price book's policy type)
GUARDRAIL_UNITS: tuple[tuple[str, str, str], ...] = (
    ("topicPolicyUnits", "guardrail_topic_units", "denied_topics"),
    ("contentPolicyUnits", "guardrail_content_units", "content_filter"),
    ("wordPolicyUnits", "guardrail_word_units", "word_filter"),
    ("sensitiveInformationPolicyUnits", "guardrail_pii_units", "sensitive_information"),
    ("sensitiveInformationPolicyFreeUnits", "guardrail_pii_free_units", "sensitive_information_regex"),
    ("contextualGroundingPolicyUnits", "guardrail_grounding_units", "contextual_grounding"),
    ("contentPolicyImageUnits", "guardrail_image_units", "image_content_filter"),
    ("automatedReasoningPolicyUnits", "guardrail_ar_units", "automated_reasoning"),
)
IMAGE_DEFAULTS = (1, "standard", 1024, 1024)  # Titan Image Generator v2 / Nova Canvas request defaults

INV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("request_id", "string"),
    ("ts", "string"),
    ("account_id", "string"),
    ("region", "string"),
    ("inference_region", "string"),
    ("operation", "string"),
    ("model_id", "string"),
    ("model_base", "string"),
    ("identity_arn", "string"),
    ("principal", "string"),
    ("principal_type", "string"),
    ("permission_set", "string"),
    ("team", "string"),
    ("workflow", "string"),
    ("tags", "string"),
    ("input_tokens", "int64"),
    ("output_tokens", "int64"),
    ("cache_read_tokens", "int64"),
    ("cache_write_tokens", "int64"),  # every cache write, as logged
    ("cache_write_1h_tokens", "int64"),  # of which with the 1-hour TTL (``input.cacheDetails``)
    ("latency_ms", "int64"),
    ("error_code", "string"),
    ("source", "string"),
    ("match_key", "string"),
    ("service_tier", "string"),  # priority | default | flex | reserved as logged (``serviceTier.type``); NULL: none
    ("image_count", "int64"),  # images requested (``imageGenerationConfig.numberOfImages``); 0: not an image call
    ("image_quality", "string"),  # standard | premium
    ("image_size", "string"),  # WIDTHxHEIGHT as requested
    *((column, "int64") for _, column, _ in GUARDRAIL_UNITS),
)
BILLING_COLUMNS = ("service_tier", "image_count", "image_quality", "image_size", *(c for _, c, _ in GUARDRAIL_UNITS))
BILLING_COUNTS = frozenset(c for c, kind in INV_COLUMNS if c in BILLING_COLUMNS and kind == "int64")
TRAIL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_id", "string"),
    ("request_id", "string"),
    ("ts", "string"),
    ("account_id", "string"),
    ("region", "string"),
    ("operation", "string"),
    ("model_id", "string"),
    ("model_base", "string"),
    ("identity_arn", "string"),
    ("principal", "string"),
    ("principal_type", "string"),
    ("permission_set", "string"),
    ("source_ip", "string"),
    ("user_agent", "string"),
    ("error_code", "string"),
    ("match_key", "string"),
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


@lru_cache(maxsize=65536)
def resolve_base(model_id: str) -> str | None:
    """The foundation model behind a model reference, when it can be told without AWS calls."""
    from bedrockctl.catalog import parse_model_ref

    try:
        ref = parse_model_ref(model_id)
    except ValueError:
        return None
    if ref.kind in ("foundation-model", "inference-profile", "custom-model"):
        return ref.model_id
    return None


def router_invoked_base(output: Any) -> str | None:
    """The model a prompt router sent a call to, from the logged response (``output.outputBodyJson``, logged with
    text data delivery): Converse answers name it in ``trace.promptRouter.invokedModelId``. The log has no field of
    its own for it (AWS documents none), so without the body the call stays unpriced."""
    body = output.get("outputBodyJson") if isinstance(output, dict) else None
    trace = body.get("trace") if isinstance(body, dict) else None
    router = trace.get("promptRouter") if isinstance(trace, dict) else None
    invoked = router.get("invokedModelId") if isinstance(router, dict) else None
    return resolve_base(invoked) if isinstance(invoked, str) else None


def _ok_ts(ts: Any) -> bool:
    return isinstance(ts, str) and len(ts) >= 19 and ts[4] == "-" and ts[10] == "T"


def add_invocation(cols: Columns, r: dict[str, Any], source: str = "invocation_log") -> None:
    """Append one ModelInvocationLog record; raises KeyError/TypeError/ValueError when it is malformed."""
    rid = r["requestId"]
    ts = r["timestamp"]
    model_id = r["modelId"]
    if not isinstance(rid, str) or not rid or not isinstance(model_id, str) or not _ok_ts(ts):
        raise ValueError("requestId, modelId or timestamp missing or malformed")
    inp = r.get("input") or {}
    out = r.get("output") or {}
    arn = (r.get("identity") or {}).get("arn")
    p: Principal = normalise_arn(arn)
    base = resolve_base(model_id)
    if base is None and is_router_arn(model_id):  # the log's modelId names no model
        base = router_invoked_base(out)
    if base is None and cols.model_resolver is not None:
        base = cols.model_resolver(model_id)
    meta = r.get("requestMetadata")
    account = str(r.get("accountId") or "")
    op = str(r.get("operation") or "")
    # convert everything that can fail before the first append, so a bad record never misaligns the columns
    tokens = (
        int(inp.get("inputTokenCount") or 0),
        int(out.get("outputTokenCount") or 0),
        int(inp.get("cacheReadInputTokenCount") or 0),
        int(inp.get("cacheWriteInputTokenCount") or 0),
        sum(int(d.get("inputTokens") or 0) for d in inp.get("cacheDetails") or () if d.get("ttl") == "1h"),
    )
    billed = billing_fields(r, op)
    latency = (r.get("metrics") or {}).get("latencyMs")
    latency = int(latency) if latency is not None else None
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
    c["region"].append(r.get("region"))
    c["inference_region"].append(r.get("inferenceRegion"))
    c["operation"].append(op)
    c["model_id"].append(model_id)
    c["model_base"].append(base)
    c["identity_arn"].append(arn)
    c["principal"].append(p.principal)
    c["principal_type"].append(p.principal_type)
    c["permission_set"].append(p.permission_set)
    if meta:
        c["team"].append(meta.get("team"))
        c["workflow"].append(meta.get("workflow"))
        c["tags"].append(tags)
    else:
        c["team"].append(None)
        c["workflow"].append(None)
        c["tags"].append(None)
    c["error_code"].append(r.get("errorCode"))
    c["source"].append(source)
    c["match_key"].append(f"{account}|{arn}|{op}|{ts[:19]}|{base or model_id}")
    for column, value in billed.items():
        c[column].append(value)


def billing_fields(r: dict[str, Any], op: str) -> dict[str, Any]:
    """What a record was billed by besides tokens, in the stored columns (``fastsql.select_sql`` says the same):

    - the service tier: the record's ``serviceTier.type``, else the logged Converse response body's;
    - guardrail text units per policy: the record's ``guardrailUsage``, else (ApplyGuardrail) the logged response
      body's ``usage``;
    - images: a logged request body with ``imageGenerationConfig`` (Titan Image Generator, Nova Canvas) asks for
      ``numberOfImages`` of ``quality`` at ``width`` x ``height`` (the models' defaults where a key is absent).
    """
    inp, out = r.get("input") or {}, r.get("output") or {}
    out_body = out.get("outputBodyJson") if isinstance(out.get("outputBodyJson"), dict) else {}
    tier = (r.get("serviceTier") or {}).get("type") or ((out_body or {}).get("serviceTier") or {}).get("type")
    units = r.get("guardrailUsage")
    if not isinstance(units, dict):
        units = (out_body or {}).get("usage") if op == "ApplyGuardrail" else None
        units = units if isinstance(units, dict) else {}
    fields: dict[str, Any] = {"service_tier": None if tier is None else str(tier)}
    for key, column, _ in GUARDRAIL_UNITS:
        fields[column] = int(units.get(key) or 0)
    in_body = inp.get("inputBodyJson")
    config = in_body.get("imageGenerationConfig") if isinstance(in_body, dict) else None
    if isinstance(config, dict):
        n, quality, width, height = IMAGE_DEFAULTS
        fields["image_count"] = int(config.get("numberOfImages") or n)
        fields["image_quality"] = str(config.get("quality") or quality)
        fields["image_size"] = f"{int(config.get('width') or width)}x{int(config.get('height') or height)}"
    else:
        fields.update(image_count=0, image_quality=None, image_size=None)
    return fields


def add_trail_event(cols: Columns, ev: dict[str, Any]) -> bool:
    """Append one CloudTrail event if it is a Bedrock runtime call; ``False`` when it is not one (skipped)."""
    if ev.get("eventSource") != EVENT_SOURCE or ev.get("eventName") not in RUNTIME_EVENTS:
        return False
    ts = ev["eventTime"]
    if not _ok_ts(ts):
        raise ValueError("eventTime missing or malformed")
    ident = ev.get("userIdentity") or {}
    p = normalise_user_identity(ident)
    params = ev.get("requestParameters") or {}
    model_id = params.get("modelId") or params.get("modelIdentifier")
    if not model_id and params.get("agentId"):
        model_id = f"agent/{params['agentId']}"
    model_id = str(model_id or "")
    base = resolve_base(model_id) if model_id else None
    if base is None and model_id and cols.model_resolver is not None:
        base = cols.model_resolver(model_id)
    account = str(ev.get("recipientAccountId") or ident.get("accountId") or "")
    arn = ident.get("arn")
    op = str(ev["eventName"])
    c = cols.trail
    c["event_id"].append(str(ev["eventID"]))
    c["request_id"].append(ev.get("requestID"))
    c["ts"].append(ts)
    c["account_id"].append(account)
    c["region"].append(ev.get("awsRegion"))
    c["operation"].append(op)
    c["model_id"].append(model_id)
    c["model_base"].append(base)
    c["identity_arn"].append(arn)
    c["principal"].append(p.principal)
    c["principal_type"].append(p.principal_type)
    c["permission_set"].append(p.permission_set)
    c["source_ip"].append(ev.get("sourceIPAddress"))
    c["user_agent"].append(ev.get("userAgent"))
    c["error_code"].append(ev.get("errorCode"))
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
