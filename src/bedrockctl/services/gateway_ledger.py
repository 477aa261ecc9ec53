"""The child process that adds a batch of gateway audit records to the analytics ledger (started by
``server.gateway.audit.ledger_writer`` for each batch, gone after it). It imports only what the ledger needs: the
record (``store.audit_record``, no SQLAlchemy) and the analytics store (DuckDB, pyarrow), ~0.15 s of CPU to start
instead of ~0.35 s through the gateway's modules.

A record is turned into the ledger's columns directly (``gateway_columns``), not through its invocation-log form
and the log parser (``AuditRecord.invocation_log`` + ``records.add_invocation``), which the rows are proven equal
to (``tests/gateway/test_ledger_child.py``): ~3-4 instead of ~9 µs a record. A record the direct path is not sure
of (a value of another type or out of range) takes the parser's path."""

from __future__ import annotations

import pickle
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bedrockctl.store.audit_record import AuditRecord

LEDGER_OPERATIONS = ("Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream", "Embeddings")
_MAX_TS = 253402300800.0  # 10000-01-01: a timestamp past it has no four-digit year
_NOT_ERRORS = ("ok", "guardrail_intervened")  # a guardrail's intervention is an answer (invocation_log)


def ledger_child() -> None:
    """The child process of ``ledger_writer``: (settings, batch as tuples in ``FIELDS`` order) pickled by the
    gateway on stdin."""
    settings, rows = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 - written by our own parent process
    write_rows(settings, rows)


def write_rows(settings: Any, rows: Iterable[Sequence[Any]]) -> None:
    """Add the invocations among ``rows`` (records' values in ``FIELDS`` order) to the analytics ledger."""
    from bedrockctl.analytics.store import UsageStore

    odd: list[int] = []
    cols = gateway_columns(rows, odd)
    if cols.n_inv:
        store = UsageStore.for_settings(settings)
        staging = store.new_staging()
        if odd:  # a record took the parser's path: its time may be anything, so the store parses and partitions
            store.stage(cols, staging)
            store.commit(staging)
        else:
            store.commit(staging, fast_inv=[stored_layout(cols, staging)])


def stored_layout(cols: Any, staging: Path) -> Path:
    """``cols`` (every row built by ``gateway_columns``' direct path) as the store's partitions in ``staging``:
    ``day=YYYY-MM-DD/*.parquet`` with the columns ``store.commit`` makes of a staged chunk (``INV_SELECT``: the
    time as a TIMESTAMP, no ``ts`` or ``match_key``), which ``commit`` takes as they are (``fast_inv``) instead of
    writing the chunk and then partitioning it (one Parquet write instead of two). The direct path's times are
    ``YYYY-MM-DDTHH:MM:SS.mmmZ``, read here as the store reads them (UTC, to the millisecond)."""
    import calendar
    import uuid

    import pyarrow as pa
    import pyarrow.parquet as pq

    from bedrockctl.analytics.record_columns import INV_COLUMNS

    c = cols.inv
    seconds: dict[str, int] = {}
    micros: list[int] = []
    for stamp in c["ts"]:
        sec = seconds.get(stamp[:19])
        if sec is None:
            sec = seconds[stamp[:19]] = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))
        micros.append(sec * 1_000_000 + int(stamp[20:23]) * 1000)
    days: dict[str, list[int]] = {}
    for i, stamp in enumerate(c["ts"]):
        days.setdefault(stamp[:10], []).append(i)
    types = {"string": pa.string(), "int64": pa.int64()}
    out = staging / "gateway-inv"
    for day, rows in days.items():
        whole = len(rows) == len(micros)

        def pick(values: list[Any], rows: list[int] = rows, whole: bool = whole) -> list[Any]:
            return values if whole else [values[i] for i in rows]

        arrays = {}
        for name, kind in INV_COLUMNS:
            if name == "ts":
                arrays["timestamp"] = pa.array(pick(micros), type=pa.timestamp("us"))
            elif name != "match_key":
                arrays[name] = pa.array(pick(c[name]), type=types[kind])
        part = out / f"day={day}"
        part.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(arrays), part / f"part-{uuid.uuid4().hex}.parquet", compression="zstd")
    return out


def gateway_columns(rows: Iterable[Sequence[Any]], odd: list[int] | None = None) -> Any:
    """The ledger's columns (``records.Columns``) for the invocations among ``rows``: per row what
    ``add_invocation(cols, AuditRecord(*row).invocation_log(), source="gateway")`` appends, built without the
    log's dictionaries (what repeats from row to row -- the second's timestamp text, the caller's identity and
    tags, the base model -- is worked out once). ``odd`` gets the column index of each row that took the parser's
    path."""
    from bedrockctl.analytics.identity import normalise_arn
    from bedrockctl.analytics.record_columns import INV_COLUMNS
    from bedrockctl.analytics.record_values import MAX_COUNT, resolve_base
    from bedrockctl.analytics.records import Columns, add_invocation

    cols = Columns()
    c = cols.inv
    # columns a gateway record never fills: a constant per row
    constant = {
        "account_id": "",
        "inference_region": None,
        "workflow": None,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "source": "gateway",
        "service_tier": None,
        "image_count": 0,
        "image_quality": None,
        "image_size": None,
        **{name: 0 for name, kind in INV_COLUMNS if name.startswith("guardrail_") and kind == "int64"},
    }
    seconds: dict[int, str] = {}
    who: dict[tuple[Any, ...], tuple[str, Any, Any, Any, Any, Any]] = {}
    bases: dict[str, str | None] = {}
    out: list[tuple[Any, ...]] = []
    for row in rows:
        ts, rid, key_id, user, team, env, protocol, op, requested, served, region, tin, tout = row[:13]
        status, http_status, latency = row[14:17]
        if op not in LEDGER_OPERATIONS or http_status >= 500:
            continue
        model = served or requested or ""
        if not (
            type(ts) is float
            and 0.0 <= ts < _MAX_TS
            and type(rid) is str
            and rid
            and type(model) is str
            and type(status) is str
            and (region is None or type(region) is str)
            and type(tin) is int
            and type(tout) is int
            and type(latency) is int
            and 0 <= tin <= MAX_COUNT
            and 0 <= tout <= MAX_COUNT
            and 0 <= latency <= MAX_COUNT
        ):
            _flush(c, constant, out)
            if odd is not None:
                odd.append(len(c["request_id"]))
            add_invocation(cols, AuditRecord(*row).invocation_log(), source="gateway")
            continue
        sec = int(ts)
        day = seconds.get(sec)
        if day is None:
            day = seconds[sec] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))
        stamp = f"{day}.{int(ts % 1 * 1000):03d}Z"
        ident: tuple[Any, ...] = (team, user, env, key_id, protocol)
        try:
            caller = who.get(ident)
        except TypeError:  # pragma: no cover - sanitized records hold text or None here
            caller = None
            ident = ()
        if caller is None:
            caller = _caller(normalise_arn, team, user, env, key_id, protocol)
            if ident:
                who[ident] = caller
        arn, principal, principal_type, permission_set, team_col, tags = caller
        base = bases.get(model, "")
        if base == "":
            base = bases[model] = resolve_base(model)
        out.append(
            (
                rid,
                stamp,
                region,
                op,
                model,
                base,
                arn,
                principal,
                principal_type,
                permission_set,
                team_col,
                tags,
                tin,
                tout,
                latency,
                None if status in _NOT_ERRORS else status,
                f"|{arn}|{op}|{stamp[:19]}|{base or model}",
            )
        )
    _flush(c, constant, out)
    return cols


# the order of the tuples ``gateway_columns`` builds
_ROW = (
    "request_id",
    "ts",
    "region",
    "operation",
    "model_id",
    "model_base",
    "identity_arn",
    "principal",
    "principal_type",
    "permission_set",
    "team",
    "tags",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "error_code",
    "match_key",
)


def _flush(c: dict[str, list[Any]], constant: dict[str, Any], out: list[tuple[Any, ...]]) -> None:
    """Append the rows built so far (``_ROW`` order; ``constant`` for the other columns) column-wise: at the end,
    and before a row of the parser's path, so that the columns keep the records' order."""
    if not out:
        return
    for name, values in zip(_ROW, zip(*out, strict=True), strict=True):
        c[name].extend(values)
    for name, value in constant.items():
        c[name].extend([value] * len(out))
    out.clear()


def _caller(normalise_arn: Any, team: Any, user: Any, env: Any, key_id: Any, protocol: Any) -> tuple[Any, ...]:
    """(identity ARN, principal, its type, permission set, team column, tags) as ``invocation_log`` and
    ``add_invocation`` derive them from the record's caller."""
    import orjson

    from bedrockctl.analytics.record_values import json_text

    arn = f"arn:bedrockctl:gateway::{team or '-'}:user/{user or '-'}"
    p = normalise_arn(arn)
    meta = {"team": team, "user": user, "environment": env, "gateway_key": key_id, "protocol": protocol}
    meta = {k: v for k, v in meta.items() if v}
    if meta:
        team_col, tags = json_text(meta.get("team")), orjson.dumps(meta, option=orjson.OPT_SORT_KEYS).decode()
    else:
        team_col, tags = None, None
    return arn, p.principal, p.principal_type, p.permission_set, team_col, tags
