"""``bedrockctl.samples``: the packaged records keep the README totals, and every re-dating keeps them in the past,
within CloudWatch Logs' 14 days and inside one calendar month, with their offsets and times of day."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bedrockctl.samples import RECORDED_DAYS, RECORDED_FIRST_DAY, SampleSet, shift_for, write_samples


def _times(samples: SampleSet) -> list[datetime]:
    """Every timestamp of every written file (the CloudTrail ones too, inside LookupEvents' JSON strings)."""
    logs = [json.loads(x) for x in samples.invocation_logs.read_text().splitlines()]
    trail = json.loads(gzip.decompress(samples.trail_file.read_bytes()))["Records"]
    lookup = json.loads(samples.lookup_events.read_text())["Events"]
    stamps = [r["timestamp"] for r in logs] + [r["eventTime"] for r in trail]
    stamps += [
        r["userIdentity"]["sessionContext"]["attributes"]["creationDate"]
        for r in trail
        if "sessionContext" in r["userIdentity"]
    ]
    stamps += [e["EventTime"] for e in lookup] + [json.loads(e["CloudTrailEvent"])["eventTime"] for e in lookup]
    return [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps]


def test_written_records_keep_the_readme_totals_and_offsets(tmp_path: Path) -> None:
    samples = write_samples(tmp_path / "s", now=datetime(2031, 3, 17, 6, 0, tzinfo=UTC))
    logs = [json.loads(x) for x in samples.invocation_logs.read_text().splitlines()]
    assert gzip.decompress(samples.invocation_logs_gz.read_bytes()).decode() == samples.invocation_logs.read_text()
    assert sum(r["input"]["inputTokenCount"] for r in logs) == 11800
    assert sum(r["output"]["outputTokenCount"] for r in logs) == 2550
    assert sum(r["input"]["cacheReadInputTokenCount"] for r in logs) == 4096
    assert sum(r["input"]["cacheWriteInputTokenCount"] for r in logs) == 1800
    assert len({r["identity"]["arn"] for r in logs}) == 3 and len({r["modelId"] for r in logs}) == 5
    # the 2026-11-20/21 records land on 2031-03-14/15: the free third day is yesterday
    assert (samples.first_day, samples.day("2026-11-21"), samples.month) == (date(2031, 3, 14), "2031-03-15", "2031-03")
    assert [r["timestamp"] for r in logs][:2] == ["2031-03-14T09:15:02Z", "2031-03-14T09:16:40Z"]
    assert samples.timestamp("2026-11-21T08:31:10Z") == logs[-1]["timestamp"] == "2031-03-15T08:31:10Z"
    assert (samples.month_start, samples.next_month_start) == (date(2031, 3, 1), date(2031, 4, 1))


def test_every_day_of_two_years_gives_past_recent_single_month_records(tmp_path: Path) -> None:
    written = write_samples(tmp_path / "once", now=datetime(2027, 1, 1, tzinfo=UTC))
    recorded = [t - written.shift for t in _times(written)]
    start = datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC)
    for n in range(2 * 366):
        for hour in (0, 23):
            now = start + timedelta(days=n, hours=hour)
            shift = shift_for(now)
            assert shift.seconds == 0 and shift.microseconds == 0  # whole days: times of day are kept
            times = [t + shift for t in recorded]
            first, free_day = RECORDED_FIRST_DAY + shift, RECORDED_FIRST_DAY + shift + timedelta(RECORDED_DAYS - 1)
            assert max(times) < now and free_day < now.date(), now  # the free day too lies in the past
            assert now - min(times) < timedelta(days=14), now  # CloudWatch Logs accepts them
            assert first.month == free_day.month == max(times).month == min(times).month, now


def test_module_writes_the_files(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bedrockctl.samples", str(tmp_path / "try")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = sorted(p.name for p in (tmp_path / "try").iterdir())
    assert names == [
        "cloudtrail-lookup-events.json",
        "cloudtrail-trail-file.json.gz",
        "invocation-logs.json.gz",
        "invocation-logs.jsonl",
    ]
    assert str(tmp_path / "try" / "invocation-logs.jsonl") in out and "records dated" in out
