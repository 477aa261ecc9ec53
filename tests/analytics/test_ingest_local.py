"""Local ingestion of the packaged samples: README totals, idempotency, bad records, the CloudTrail join."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from bedrockctl.analytics.ingest import ingest
from bedrockctl.analytics.reports import duckdb_runner, run_report
from bedrockctl.analytics.store import UsageStore
from bedrockctl.samples import SampleSet

TOTALS = {"input_tokens": 11800, "output_tokens": 2550, "cache_read_tokens": 4096, "cache_write_tokens": 1800}


def totals(store: UsageStore) -> dict[str, int]:
    con = store.connect()
    row = con.execute(
        "SELECT count(*), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens), "
        "count(DISTINCT principal), count(DISTINCT model_id) FROM invocations"
    ).fetchone()
    con.close()
    keys = ["invocations", *TOTALS, "identities", "model_ids"]
    return dict(zip(keys, (int(x) for x in row), strict=True))


def test_samples_give_readme_totals_and_twice_changes_nothing(tmp_path: Path, samples: SampleSet) -> None:
    store = UsageStore(tmp_path / "usage")
    first = ingest(store, [str(samples.dir)])
    assert first.bad_records == 0
    assert first.new_invocations == 6 and first.new_trail_events == 5
    expected = {"invocations": 6, **TOTALS, "identities": 3, "model_ids": 5}
    assert totals(store) == expected
    files = sorted(p.relative_to(store.root) for p in store.root.rglob("*.parquet"))

    again = ingest(store, [str(samples.dir)])  # checkpoints: nothing re-read
    assert (again.units_read, again.units_skipped, again.new_invocations) == (0, 4, 0)
    forced = ingest(store, [str(samples.dir)], full=True)  # re-read: every record is a duplicate
    assert forced.records_seen == first.records_seen
    assert (forced.new_invocations, forced.new_trail_events) == (0, 0)
    assert totals(store) == expected
    assert sorted(p.relative_to(store.root) for p in store.root.rglob("*.parquet")) == files


def test_cloudtrail_joins_by_request_id_or_by_call_identity(tmp_path: Path, samples: SampleSet) -> None:
    store = UsageStore(tmp_path / "usage")
    ingest(store, [str(samples.invocation_logs)])
    ingest(store, [str(samples.trail_file)])
    con = store.connect()
    rows = con.execute(
        "SELECT request_id, principal, source_ip, source FROM invocations ORDER BY request_id"
    ).fetchall()
    con.close()
    # the sample trail uses other request ids: matched on account, identity, operation, second and model
    assert [r[2] for r in rows] == ["198.51.100.7", "198.51.100.7", "10.0.12.34", "203.0.113.20", "203.0.113.20", None]
    assert {r[3] for r in rows} == {"invocation_log"}
    # CloudTrail alone counts invocations without tokens
    only = UsageStore(tmp_path / "trail-only")
    ingest(only, [str(samples.lookup_events)])
    t = totals(only)
    assert (t["invocations"], t["input_tokens"], t["identities"]) == (5, 0, 3)


def test_bad_records_are_reported_with_file_and_line_and_skipped(tmp_path: Path, samples: SampleSet) -> None:
    good = samples.invocation_logs.read_text().splitlines()
    missing = json.loads(good[0])
    del missing["requestId"]
    lines = [
        good[0],
        "{not json",
        json.dumps(missing),
        good[1],
        '{"input": "x"}',
        json.dumps({**json.loads(good[2]), "input": {"inputTokenCount": "many"}}),
        good[3],
    ]
    src = tmp_path / "mixed"
    src.mkdir()
    (src / "part.jsonl").write_text("\n".join(lines) + "\n")
    (src / "broken.json.gz").write_bytes(b"\x1f\x8b not gzip")
    store = UsageStore(tmp_path / "usage")
    rep = ingest(store, [str(src)])
    assert rep.new_invocations == 3
    assert rep.bad_records == 5
    where = {(Path(b.origin).name, b.line) for b in rep.bad}
    assert where == {("part.jsonl", 2), ("part.jsonl", 3), ("part.jsonl", 5), ("part.jsonl", 6), ("broken.json.gz", 0)}


def test_since_filters_older_records(tmp_path: Path, samples: SampleSet) -> None:
    store = UsageStore(tmp_path / "usage")
    rep = ingest(store, [str(samples.invocation_logs)], since=samples.day("2026-11-21"))
    assert rep.new_invocations == 2 and rep.skipped_records == 4


def test_parallel_path_matches_in_process(tmp_path: Path, samples: SampleSet) -> None:
    records = [json.loads(x) for x in samples.invocation_logs.read_text().splitlines()]
    src = tmp_path / "many"
    src.mkdir()
    for f in range(6):
        body = "\n".join(
            json.dumps({**r, "requestId": f"{f}-{i}-{r['requestId']}"}) for i in range(200) for r in records
        )
        (src / f"{f}.json.gz").write_bytes(gzip.compress(body.encode()))
    a, b = UsageStore(tmp_path / "a"), UsageStore(tmp_path / "b")
    import bedrockctl.analytics.ingest as mod

    old = mod.PARALLEL_MIN_BYTES
    mod.PARALLEL_MIN_BYTES = 0
    try:
        ra = ingest(a, [str(src)], workers=2)
    finally:
        mod.PARALLEL_MIN_BYTES = old
    rb = ingest(b, [str(src)], workers=1)
    assert ra.new_invocations == rb.new_invocations == 6 * 200 * 6
    ta, tb = totals(a), totals(b)
    assert ta == tb and ta["input_tokens"] == 11800 * 1200


def test_report_rows_and_exact_cost(tmp_path: Path, samples: SampleSet) -> None:
    from decimal import Decimal

    store = UsageStore(tmp_path / "usage")
    ingest(store, [str(samples.dir)])
    con = store.connect()
    rep = run_report(duckdb_runner(con), "user")
    assert rep.totals["cost_usd"] == Decimal("0.0557388")
    assert {r["user"]: r["invocations"] for r in rep.rows} == {
        "alice@example.com": 3,
        "bob": 2,
        "ci-runner/build-4711": 1,
    }
    by_tag = run_report(
        duckdb_runner(con), "tag:workflow,model", since=samples.day("2026-11-21"), until=samples.day("2026-11-21")
    )
    assert by_tag.totals["invocations"] == 2
    assert {(r["tag:workflow"], r["model"]) for r in by_tag.rows} == {
        ("docs-gen", "amazon.nova-lite-v1:0"),
        (None, "us.anthropic.claude-3-7-sonnet-20250219-v1:0"),
    }
    con.close()
