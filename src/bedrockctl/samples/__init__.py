"""Real-format AWS records to try bedrockctl on without an AWS account, re-dated to the last few days.

Six Bedrock model invocation log records (Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream;
cross-Region inference profiles with ``inferenceRegion``; prompt-cache read and write tokens; ``requestMetadata``
tags; an SSO user, a CI role and an IAM user) with the matching CloudTrail management events, as a trail file and
as ``LookupEvents`` returns them. Account ids, ARNs, addresses and request ids are examples. Over the six
invocations: input 11,800 tokens, output 2,550, cache read 4,096, cache write 1,800; 3 identities; 5 model ids.

The records were captured on ``RECORDED_FIRST_DAY`` and the day after. ``write_samples(dest)`` writes them with
every timestamp moved by one whole number of days, so that they keep their offsets and times of day, lie in the
past, within the last 14 days (CloudWatch Logs refuses older events) and inside one calendar month, with the day
after the last record (``RECORDED_DAYS``) still in that month and in the past, free for events a caller adds.
Try it::

    python -m bedrockctl.samples ./samples
    bedrockctl usage ingest --invocation-logs ./samples/invocation-logs.json.gz \\
        --cloudtrail ./samples/cloudtrail-trail-file.json.gz
    bedrockctl usage report --by user
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

RECORDED_FIRST_DAY = date(2026, 11, 20)
RECORDED_DAYS = 3  # records on the first two days; the third is left free for events a caller adds
INVOCATION_LOGS = "invocation-logs.jsonl"
INVOCATION_LOGS_GZ = "invocation-logs.json.gz"  # the same records, gzipped as S3 delivery writes them
TRAIL_FILE = "cloudtrail-trail-file.json.gz"
LOOKUP_EVENTS = "cloudtrail-lookup-events.json"
_ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


@dataclass(frozen=True)
class SampleSet:
    """The written sample files and the shift applied to their timestamps."""

    dir: Path
    shift: timedelta

    @property
    def invocation_logs(self) -> Path:
        return self.dir / INVOCATION_LOGS

    @property
    def invocation_logs_gz(self) -> Path:
        return self.dir / INVOCATION_LOGS_GZ

    @property
    def trail_file(self) -> Path:
        return self.dir / TRAIL_FILE

    @property
    def lookup_events(self) -> Path:
        return self.dir / LOOKUP_EVENTS

    def day(self, recorded: str) -> str:
        """The written date of a recorded one: ``"2026-11-21"`` -> ``"YYYY-MM-DD"``."""
        return (date.fromisoformat(recorded) + self.shift).isoformat()

    def timestamp(self, recorded: str) -> str:
        """The written form of a recorded ``YYYY-MM-DDTHH:MM:SSZ`` timestamp."""
        return _shifted(recorded, self.shift)

    @property
    def first_day(self) -> date:
        return RECORDED_FIRST_DAY + self.shift

    @property
    def month(self) -> str:
        """``YYYY-MM``: every record (and the free day after them) falls in this month."""
        return self.first_day.strftime("%Y-%m")

    @property
    def month_start(self) -> date:
        return self.first_day.replace(day=1)

    @property
    def next_month_start(self) -> date:
        return (self.month_start + timedelta(days=32)).replace(day=1)


def shift_for(now: datetime | None = None) -> timedelta:
    """Whole days that move the recorded days to end yesterday, all inside one calendar month."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    last = today - timedelta(days=1)
    if (last - timedelta(days=RECORDED_DAYS - 1)).month != last.month:
        last = last.replace(day=1) - timedelta(days=1)  # the last days of the previous month
    return last - timedelta(days=RECORDED_DAYS - 1) - RECORDED_FIRST_DAY


def redate(value: Any, shift: timedelta) -> Any:
    """A copy of a JSON value with every ISO-8601 UTC timestamp string moved by ``shift`` (also inside the JSON
    string ``CloudTrailEvent`` of LookupEvents results)."""
    if isinstance(value, dict):
        return {
            k: json.dumps(redate(json.loads(v), shift)) if k == "CloudTrailEvent" else redate(v, shift)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redate(v, shift) for v in value]
    if isinstance(value, str) and _ISO_UTC.match(value):
        return _shifted(value, shift)
    return value


def write_samples(dest: Path, now: datetime | None = None) -> SampleSet:
    """Write the sample files into ``dest`` (created), re-dated relative to ``now`` (default: the current time)."""
    shift = shift_for(now)
    dest.mkdir(parents=True, exist_ok=True)
    logs = "".join(json.dumps(redate(rec, shift)) + "\n" for rec in _load_lines(INVOCATION_LOGS))
    (dest / INVOCATION_LOGS).write_text(logs)
    (dest / INVOCATION_LOGS_GZ).write_bytes(gzip.compress(logs.encode(), mtime=0))
    trail = json.dumps(redate(_load("cloudtrail-trail-file.json"), shift))
    (dest / TRAIL_FILE).write_bytes(gzip.compress(trail.encode(), mtime=0))
    (dest / LOOKUP_EVENTS).write_text(json.dumps(redate(_load(LOOKUP_EVENTS), shift), indent=1) + "\n")
    return SampleSet(dest, shift)


def _shifted(iso: str, shift: timedelta) -> str:
    moved = datetime.fromisoformat(iso.replace("Z", "+00:00")) + shift
    return moved.strftime("%Y-%m-%dT%H:%M:%S" + (".%f" if moved.microsecond else "") + "Z")


def _text(name: str) -> str:
    return resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")


def _load(name: str) -> Any:
    return json.loads(_text(name))


def _load_lines(name: str) -> list[Any]:
    return [json.loads(line) for line in _text(name).splitlines() if line.strip()]
