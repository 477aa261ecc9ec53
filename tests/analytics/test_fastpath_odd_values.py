"""The DuckDB fast path and the Python parser agree on records whose fields hold another JSON type than AWS writes
(numbers, objects, arrays, negative counts, null): both store or report them alike, and nothing stops the ingest."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

from bedrockctl.analytics.ingest import ingest
from bedrockctl.analytics.reports import duckdb_runner, run_report
from bedrockctl.analytics.store import UsageStore

from .fastpath_set import record, stored, summary, trail_event


def test_values_of_another_json_type_where_aws_writes_strings_are_stored_alike(tmp_path: Path) -> None:
    """A team or workflow that is a number, an object or an array, a numeric Region or error code: both paths store
    the record (as the value's JSON text), nothing is refused or lost, and the two stores agree."""
    odd: list[Any] = ["search", 5, 2.5, True, {"x": 1}, ["l", 2], None]
    lines = []
    for i, value in enumerate(odd):
        rec = record(random.Random(i), i, 1)
        rec["requestMetadata"] = {"team": value, "workflow": value, "note": "ok"}
        if i == 1:
            rec["errorCode"] = 429
        lines.append(json.dumps(rec))
    clean = tmp_path / "clean" / "2026/10/part-000.json.gz"
    clean.parent.mkdir(parents=True)
    clean.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    fast, slow = UsageStore(tmp_path / "fast"), UsageStore(tmp_path / "slow")
    rf = ingest(fast, [str(clean.parent.parent.parent)], fast=True)
    rs = ingest(slow, [str(clean.parent.parent.parent)], fast=False)
    assert rf.fast_records == len(odd) and rs.fast_records == 0
    assert rf.new_invocations == rs.new_invocations == len(odd) and rf.bad_records == rs.bad_records == 0
    assert stored(fast) == stored(slow)
    teams = run_report(duckdb_runner(slow.connect()), "team").to_dict()
    assert {r["team"] for r in teams["rows"]} == {"search", "5", "2.5", "true", '{"x":1}', '["l",2]', None}


ODD_VALUES: list[Any] = [5, -1, 2**62, 1.5, True, None, "", "x", {"a": 1}, [1], {"type": 5}]
FIELDS = [
    ("timestamp",), ("accountId",), ("identity",), ("identity", "arn"), ("region",), ("requestId",), ("operation",),
    ("modelId",), ("input",), ("input", "inputTokenCount"), ("input", "cacheDetails"), ("output",),
    ("output", "outputTokenCount"), ("metrics",), ("metrics", "latencyMs"), ("inferenceRegion",), ("serviceTier",),
    ("serviceTier", "type"), ("guardrailUsage",), ("guardrailUsage", "topicPolicyUnits"), ("requestMetadata",),
    ("errorCode",),
]  # fmt: skip


def test_every_field_of_another_json_type_is_stored_or_reported_alike_by_both_paths(tmp_path: Path) -> None:
    """Each field of a record replaced by each kind of JSON value, one record per file beside a good one (so the
    fast path reads every file it can): nothing crashes, no good record is lost, a negative count is a bad record,
    and the DuckDB and Python paths store the same rows and report the same bad records."""
    good = record(random.Random(0), 1, 1)
    good.update(serviceTier={"type": "flex"}, guardrailUsage={"topicPolicyUnits": 1}, errorCode=None)
    good["input"]["cacheDetails"] = [{"ttl": "1h", "inputTokens": 1}]
    src = tmp_path / "set"
    src.mkdir()
    n = 0
    for path in FIELDS:
        for value in ODD_VALUES:
            n += 1
            rec = json.loads(json.dumps(good))
            rec["requestId"] = f"odd-{n}"
            holder = rec
            for key in path[:-1]:
                holder = holder[key]
            holder[path[-1]] = value
            ok = {**good, "requestId": f"good-{n}"}
            (src / f"part-{n:04d}.jsonl").write_text(json.dumps(rec) + "\n" + json.dumps(ok) + "\n")
    fast, slow = UsageStore(tmp_path / "fast"), UsageStore(tmp_path / "slow")
    rf = ingest(fast, [str(src)], fast=True, progress=False)
    rs = ingest(slow, [str(src)], fast=False, progress=False)
    assert rf.fast_records > n and rs.fast_records == 0
    assert summary(rf) == summary(rs)
    rows = stored(fast)
    assert rows == stored(slow)
    ids = {r[0] for r in rows}
    assert {f"good-{i}" for i in range(1, n + 1)} <= ids  # no good record lost beside a bad one
    negative = [f"odd-{FIELDS.index(p) * len(ODD_VALUES) + 2}" for p in FIELDS if p[-1].endswith(("Count", "Units"))]
    assert negative and not ids & set(negative)  # -1 tokens or units: a bad record, not a refund


TRAIL_FIELDS = [
    ("userIdentity",), ("userIdentity", "arn"), ("userIdentity", "accountId"), ("userIdentity", "type"),
    ("eventTime",), ("awsRegion",), ("sourceIPAddress",), ("userAgent",), ("requestParameters",),
    ("requestParameters", "modelId"), ("requestID",), ("eventID",), ("recipientAccountId",), ("errorCode",),
]  # fmt: skip


def test_cloudtrail_fields_of_another_json_type_never_stop_the_ingest(tmp_path: Path) -> None:
    """Every field of a Bedrock CloudTrail event replaced by each kind of JSON value, in one trail file with a good
    event: the ingest finishes, the good event is stored, and each odd one is stored or reported as bad."""
    good = trail_event("req-good", "e-good")
    events, n = [good], 0
    for path in TRAIL_FIELDS:
        for value in ODD_VALUES:
            n += 1
            ev = json.loads(json.dumps(good))
            ev.update(eventID=f"e-{n}", requestID=f"req-{n}")
            holder = ev
            for key in path[:-1]:
                holder = holder[key]
            holder[path[-1]] = value
            events.append(ev)
    (tmp_path / "trail.json.gz").write_bytes(gzip.compress(json.dumps({"Records": events}).encode()))
    store = UsageStore(tmp_path / "usage")
    rep = ingest(store, [str(tmp_path / "trail.json.gz")], progress=False)
    assert (rep.records_seen, rep.new_trail_events + rep.bad_records, rep.duplicates) == (n + 1, n + 1, 0)
    assert rep.bad_records > 0 and all(b.reason for b in rep.bad)
    con = store.connect()
    ids = {r[0] for r in con.execute("SELECT event_id FROM trail").fetchall()}
    assert "e-good" in ids
