"""The DuckDB fast path gives what the Python parser gives: counts, bad records (file and line), stored rows
(values of unexpected JSON types: ``test_fastpath_odd_values``)."""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

import pytest

from bedrockctl.analytics.ingest import ingest
from bedrockctl.analytics.reports import duckdb_runner, run_report
from bedrockctl.analytics.store import UsageStore
from bedrockctl.samples import SampleSet

from .fastpath_set import ARNS, MODELS, build_set, record, stored, summary


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
