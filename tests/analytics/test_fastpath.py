"""The DuckDB fast path gives what the Python parser gives: counts, bad records (file and line), stored rows."""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from bedrockctl.analytics.ingest import IngestReport, ingest
from bedrockctl.analytics.reports import duckdb_runner, run_report
from bedrockctl.analytics.store import UsageStore
from bedrockctl.samples import SampleSet

ARNS = [
    "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Developer_0a1b2c3d4e5f6a7b/alice@example.com",
    "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin-Team_0123456789abcdef/bob@example.com",
    "arn:aws:sts::111122223333:assumed-role/ci-runner/build-4711",
    "arn:aws:sts::111122223333:assumed-role/lonely-role",
    "arn:aws:iam::111122223333:user/path/to/carol",
    "arn:aws:iam::111122223333:root",
    "arn:aws:sts::111122223333:federated-user/dave",
    "arn:aws:iam::111122223333:role/service/app",
    "arn:aws:iam::111122223333:user/odd:name",  # a colon in the resource: the SQL rules get this one wrong
    "not-an-arn",
]
MODELS = [
    "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "eu.amazon.nova-lite-v1:0",
    "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
    "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abcdef123456",
    "Not A Model",
]


def record(rnd: random.Random, n: int, day: int) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": f"2026-10-{day:02d}T{n % 24:02d}:{n % 60:02d}:{n * 7 % 60:02d}Z",
        "accountId": "111122223333",
        "identity": {"arn": ARNS[n % len(ARNS)]},
        "region": "us-east-1",
        "requestId": f"req-{n:06d}",
        "operation": "Converse" if n % 3 else "InvokeModel",
        "modelId": MODELS[n % len(MODELS)],
        "input": {
            "inputContentType": "application/json",
            "inputTokenCount": rnd.randint(1, 5000),
            "cacheReadInputTokenCount": rnd.choice((0, 1024)),
            "cacheWriteInputTokenCount": rnd.choice((0, 0, 2048)),
        },
        "output": {"outputContentType": "application/json", "outputTokenCount": rnd.randint(1, 900)},
        "metrics": {"latencyMs": rnd.randint(50, 3000)},
    }
    if n % 4:
        rec["requestMetadata"] = {"team": f"t{n % 3}", "workflow": f"w{n % 5}", "user": f"u{n % 7}"}
    if n % 11 == 0:
        rec["inferenceRegion"] = "us-west-2"
    if n % 13 == 0:
        rec["errorCode"] = "ThrottlingException"
    if n % 17 == 0:
        del rec["input"]["cacheWriteInputTokenCount"]
    if n % 19 == 0:
        del rec["identity"]  # no identity: principal "unknown"
    billed(rec, n)
    return rec


def billed(rec: dict[str, Any], n: int) -> None:
    """What a call is billed by besides tokens: service tier, guardrail units, images (each in its logged forms)."""
    if n % 5 == 0:
        rec["serviceTier"] = {"type": ("priority", "flex", "default")[n % 3]}
    elif n % 29 == 0:  # only in the logged Converse response body
        rec["output"]["outputBodyJson"] = {"serviceTier": {"type": "flex"}, "stopReason": "end_turn"}
    if n % 7 == 0:
        rec["guardrailUsage"] = {"topicPolicyUnits": n % 4, "contentPolicyUnits": 2, "wordPolicyUnits": 1}
    elif n % 23 == 0:
        rec["operation"] = "ApplyGuardrail"
        usage = {"contentPolicyUnits": 3, "sensitiveInformationPolicyUnits": 1, "contextualGroundingPolicyUnits": 2}
        rec["output"]["outputBodyJson"] = {"action": "NONE", "usage": usage}
    if n % 9 == 0:
        configs = (
            {"numberOfImages": 2, "quality": "premium", "width": 2048, "height": 2048},
            {"numberOfImages": 1, "width": 512, "height": 512},
            {},  # every key at its default
        )
        body = {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a lighthouse"}}
        rec["input"]["inputBodyJson"] = {**body, "imageGenerationConfig": configs[n // 9 % 3]}


BAD_LINES = [
    "{not json",
    '{"input": "x"}',
    "[1, 2]",
    "42",
]


def build_set(root: Path, files: int = 8, per_file: int = 120) -> None:
    """Clean gzip files (one spanning two days), files with bad lines mixed in, duplicates across files, blank lines
    and a trail file."""
    rnd = random.Random(7)
    root.mkdir()
    n = 0
    first: list[str] = []
    for f in range(files):
        lines = []
        for i in range(per_file):
            rec = record(rnd, n, 2 if f == 2 and i % 2 else 1 + f % 3)  # file 2 holds records of two days
            n += 1
            if f == 5 and i == 10:
                del rec["requestId"]  # parses, but is not a valid record
            if f == 6 and i == 20:
                rec["input"]["inputTokenCount"] = "many"
            if f == 6 and i == 21:
                rec["requestMetadata"] = "not an object"
            if f == 7 and i == 30:
                rec["timestamp"] = "20261001 10:00"
            lines.append(json.dumps(rec))
            if f == 4 and i == 50:
                lines.append(BAD_LINES[0])
            if i == 60:
                lines.append("")  # blank lines are not records
        if f == 0:
            first = lines[:30]
        if f == 3:
            lines[40:40] = BAD_LINES[1:]
        body = ("\n".join(lines) + "\n").encode()
        path = root / f"2026/10/part-{f:03d}.json.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(body))
    # the first 30 records again in another file: duplicates across files of one run
    (root / "again.jsonl").write_text("\n".join(first) + "\n")
    trail = {
        "Records": [
            {
                "eventVersion": "1.09",
                "userIdentity": {"type": "IAMUser", "arn": ARNS[4], "accountId": "111122223333"},
                "eventTime": "2026-10-02T04:04:28Z",
                "eventSource": "bedrock.amazonaws.com",
                "eventName": "Converse",
                "awsRegion": "us-east-1",
                "sourceIPAddress": "203.0.113.9",
                "userAgent": "test",
                "requestParameters": {"modelId": MODELS[4]},
                "requestID": "req-000004",
                "eventID": "e-1",
                "recipientAccountId": "111122223333",
            }
        ]
    }
    (root / "trail.json.gz").write_bytes(gzip.compress(json.dumps(trail).encode()))


def stored(store: UsageStore) -> list[tuple[Any, ...]]:
    con = store.connect()
    rows = con.execute("SELECT * EXCLUDE (tags), tags FROM inv ORDER BY request_id").fetchall()
    con.close()
    return [(*r[:-1], json.loads(r[-1]) if r[-1] else None) for r in rows]


def summary(rep: IngestReport) -> dict[str, Any]:
    out = rep.to_dict()
    out.pop("fast_records")
    out["bad"] = sorted((Path(b["origin"]).name, b["line"]) for b in out["bad"])
    return out


@pytest.mark.parametrize("since", [None, "2026-10-02"])
def test_fast_path_matches_python_path_with_bad_lines_mixed_in(tmp_path: Path, since: str | None) -> None:
    src = tmp_path / "set"
    build_set(src)
    fast, slow = UsageStore(tmp_path / "fast"), UsageStore(tmp_path / "slow")
    rf = ingest(fast, [str(src)], since=since, fast=True)
    rs = ingest(slow, [str(src)], since=since, fast=False)
    assert rf.fast_records == 3 * 120 + 30 and rs.fast_records == 0  # the clean files went through DuckDB
    assert summary(rf) == summary(rs)
    # with --since, the records of day 1 (duplicates and two bad ones among them) are skipped before any check
    assert rf.bad_records == (8 if since is None else 6) and rf.duplicates == (30 if since is None else 0)
    assert ("part-004.json.gz", 52) in summary(rf)["bad"]
    if since is None:
        assert {("part-006.json.gz", 21), ("part-006.json.gz", 22)} <= set(summary(rf)["bad"])
    assert stored(fast) == stored(slow)
    odd = [r for r in stored(fast) if r[8] == "arn:aws:iam::111122223333:user/odd:name"]
    assert odd and {r[9] for r in odd} == {"odd:name"}  # fixed by the check against the Python rules
    for by in ("model", "user", "day", "tag:workflow,base_model", "source_ip", "service_tier"):
        a = run_report(duckdb_runner(fast.connect()), by).to_dict()
        b = run_report(duckdb_runner(slow.connect()), by).to_dict()
        for rep in (a, b):
            rep["unpriced"].sort(key=lambda u: (u["model_id"], u["region"], u.get("service_tier", "")))
        assert a == b, by


def test_fast_path_on_the_samples_and_twice(tmp_path: Path, samples: SampleSet) -> None:
    fast, slow = UsageStore(tmp_path / "fast"), UsageStore(tmp_path / "slow")
    rf = ingest(fast, [str(samples.dir)], fast=True)
    rs = ingest(slow, [str(samples.dir)], fast=False)
    assert rf.fast_records == 12  # both invocation-log files; the CloudTrail ones go to the Python parser
    assert summary(rf) == summary(rs)
    assert (rf.new_invocations, rf.new_trail_events) == (6, 5)
    assert stored(fast) == stored(slow)
    con = fast.connect()
    rep = run_report(duckdb_runner(con), "user")
    assert str(rep.totals["cost_usd"]) == "0.0557388"
    again = ingest(fast, [str(samples.dir)], fast=True, full=True)
    assert (again.new_invocations, again.new_trail_events) == (0, 0)
    assert again.duplicates == again.invocation_records + again.trail_events == 22
    assert stored(fast) == stored(slow)


def test_a_clean_run_moves_staged_files_without_rewriting(tmp_path: Path) -> None:
    src = tmp_path / "set"
    build_set(src, files=3)
    for p in [*src.rglob("again.jsonl"), *src.rglob("trail.json.gz")]:
        p.unlink()
    store = UsageStore(tmp_path / "usage")
    rep = ingest(store, [str(src)])
    assert rep.fast_records == rep.records_seen == rep.new_invocations == 360
    names = [p.name for p in (store.root / "invocations").rglob("*.parquet")]
    # moved into place by commit, not rewritten (a deduplicated rewrite is named ``<tag>-dedup-<uuid>.parquet``)
    assert names and all(re.match(r"^[0-9a-f]{8}-", n) and "dedup-" not in n for n in names)
    later = src / "2026/10/part-100.json.gz"  # a new file later on: only it is read, duplicates dropped
    later.write_bytes((src / "2026/10/part-000.json.gz").read_bytes())
    rep2 = ingest(store, [str(src)])
    assert (rep2.units_read, rep2.units_skipped, rep2.new_invocations, rep2.duplicates) == (1, 3, 0, 120)


@pytest.mark.parametrize("since", [None, "2026-10-01T12"])
def test_identities_and_models_first_seen_past_the_sample_are_looked_up_again(
    tmp_path: Path, since: str | None
) -> None:
    """The lookup tables are built from the first records of every file: values that appear only later (and a record
    without identity) are marked by the scan, added to the tables, and the scan repeated -- still all in DuckDB."""
    src = tmp_path / "set"
    rnd = random.Random(3)
    for f, day in ((0, 1), (1, 1), (2, 2)):
        lines = []
        for i in range(150):
            rec = record(rnd, 1000 * f + i, day)
            rec["identity"] = {"arn": ARNS[i % 3]}
            rec["modelId"] = MODELS[i % 2]
            if i >= 120:  # past the sample: new identities, new models, no identity at all
                rec["identity"] = {"arn": ARNS[3 + i % 6]}
                rec["modelId"] = MODELS[2 + i % 5]
                if i % 10 == 0:
                    del rec["identity"]
            lines.append(json.dumps(rec))
        path = src / f"2026/10/part-{f:03d}.json.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    fast, slow = UsageStore(tmp_path / "fast"), UsageStore(tmp_path / "slow")
    rf = ingest(fast, [str(src)], since=since, fast=True)
    rs = ingest(slow, [str(src)], since=since, fast=False)
    assert rf.fast_records == rf.records_seen == 450  # no file was handed to the Python parser
    assert summary(rf) == summary(rs)
    rows = stored(fast)
    assert rows == stored(slow)
    assert {r[9] for r in rows} >= {"unknown", "odd:name", "carol"}  # principals only seen past the sample
    assert {r[7] for r in rows} >= {"amazon.nova-pro-v1:0", None}  # base models too (None: not resolvable)


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
    good = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": ARNS[4], "accountId": "111122223333"},
        "eventTime": "2026-10-02T04:04:28Z",
        "eventSource": "bedrock.amazonaws.com",
        "eventName": "Converse",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "test",
        "requestParameters": {"modelId": MODELS[4]},
        "requestID": "req-good",
        "eventID": "e-good",
        "recipientAccountId": "111122223333",
    }
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


def test_the_scan_vouches_only_for_day_files_it_found_free_of_duplicates(tmp_path: Path) -> None:
    """The day workers count each day file's distinct ids (so that the commit need not): a day holding a request id
    twice is left to the commit's check, which drops the copy."""
    from bedrockctl.analytics import fastpath
    from bedrockctl.analytics.store import duckdb_module

    rnd = random.Random(3)
    day1 = [record(rnd, n, 1) for n in range(50)]
    day2 = [record(rnd, 100 + n, 2) for n in range(40)]
    files = {"a.jsonl": day1[:25], "b.jsonl": [*day1[25:], day1[3]], "c.jsonl": day2}
    paths = []
    for name, recs in files.items():
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in recs))
        paths.append(str(tmp_path / name))
    con = duckdb_module().connect()
    try:
        seeds = [r for p in paths for r in fastpath.sample(p) or []]
        days = {p: str(recs[0]["timestamp"])[:10] for p, recs in zip(paths, files.values(), strict=True)}
        res = fastpath.scan(con, paths, tmp_path / "staging", None, seeds, days)
    finally:
        con.close()
    vouched = {Path(p).parent.name: rows for p, rows in res.distinct.items()}
    assert vouched == {"day=2026-10-02": 40}  # day 1 holds day1[3] twice
    store = UsageStore(tmp_path / "usage")
    rep = ingest(store, [str(tmp_path / name) for name in files])
    assert (rep.fast_records, rep.new_invocations, rep.duplicates) == (91, 90, 1)
