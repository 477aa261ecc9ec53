"""Where usage records come from, each read incrementally with a checkpoint.

- local file or directory (``.json``, ``.jsonl``, ``.json.gz``, ``.jsonl.gz``, ``.gz``) -- checkpoint: size + mtime
- ``s3://bucket/prefix`` -- checkpoint per object: ETag
- ``cloudwatch:LOG_GROUP`` -- checkpoint per stream: timestamp of the last event read
- ``batch:PATH`` / ``batch:s3://bucket/prefix`` -- batch inference job output (``batch.py``) -- checkpoint per job:
  its files' sizes and times / ETags
- ``lookup`` / ``lookup:REGION`` -- CloudTrail LookupEvents (event source ``bedrock.amazonaws.com``, every runtime event
  name kept), full ``NextToken`` pagination -- checkpoint: newest event time

A unit whose checkpoint did not change is skipped. Re-reads overlap on purpose (a stream's last timestamp, the
newest event time): the store drops the duplicates by request id / event id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bedrockctl.analytics.errors import UsageSourceError

SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz", ".gz", ".ndjson")


@dataclass
class Unit:
    """One readable piece of a source: a file, an object, a log stream, a lookup."""

    key: str
    stamp: str | None  # checkpoint value known before reading (None: only known after reading)
    read: Callable[[], tuple[bytes | list[bytes], str]]  # -> payload (blob or lines), checkpoint value
    size: int = 0
    local_path: str | None = None
    parse: Callable[[bytes, str, Any], int] | None = None  # parse(payload, origin, columns) -> records seen


class Checkpoints:
    """The checkpoint of every unit read so far. They are saved in the usage store's manifest, in the same atomic
    step as the files holding the records read (``UsageStore.commit``), so they never run ahead of the data."""

    def __init__(self, data: dict[str, str] | None = None) -> None:
        self.data: dict[str, str] = dict(data or {})

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str) -> None:
        self.data[key] = value


class Source:
    spec: str

    def units(self, checkpoints: Checkpoints) -> Iterator[Unit]:  # pragma: no cover - interface
        raise NotImplementedError


def parse_source(spec: str, sessions: Any = None, since: str | None = None) -> Source:
    if spec.startswith("batch:"):
        from bedrockctl.analytics.batch import BatchSource

        return BatchSource(spec, sessions)
    if spec == "lookup" or spec.startswith("lookup:"):
        return LookupSource(spec, sessions, region=spec.partition(":")[2] or None, since=since)
    if spec.startswith("s3://"):
        bucket, _, prefix = spec[5:].partition("/")
        if not bucket:
            raise UsageSourceError(f"no bucket in {spec!r}")
        return S3Source(spec, sessions, bucket, prefix)
    if spec.startswith("cloudwatch:"):
        group = spec.partition(":")[2]
        if not group:
            raise UsageSourceError(f"no log group in {spec!r}")
        return CloudWatchSource(spec, sessions, group, since=since)
    return LocalSource(spec)


class LocalSource(Source):
    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.path = Path(spec).expanduser()
        if not self.path.exists():
            raise UsageSourceError(f"{spec}: no such file or directory")

    def files(self) -> list[Path]:
        if self.path.is_file():
            return [self.path]
        return sorted(p for p in self.path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))

    def units(self, checkpoints: Checkpoints) -> Iterator[Unit]:
        for p in self.files():
            st = p.stat()
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
            path = p.resolve()

            def read(path: Path = path, stamp: str = stamp) -> tuple[bytes, str]:
                return path.read_bytes(), stamp

            yield Unit(f"file:{path}", stamp, read, st.st_size, str(path))


def client(sessions: Any, service: str, region: str | None = None) -> Any:
    if sessions is None:
        raise UsageSourceError(f"reading {service} needs AWS access (no session factory given)")
    return sessions.client(service, region) if region else sessions.client(service)


def aws_call(fn: Callable[[], Any], what: str) -> Any:
    from bedrockctl.aws.errors import aws_errors
    from bedrockctl.errors import BedrockctlError

    try:
        with aws_errors(service=what.split(":")[0], operation=what.split(":")[-1]):
            return fn()
    except BedrockctlError as exc:
        raise UsageSourceError(f"{what} failed: {exc.message}", remediation=exc.remediation) from exc


class S3Source(Source):
    def __init__(self, spec: str, sessions: Any, bucket: str, prefix: str) -> None:
        self.spec, self.sessions, self.bucket, self.prefix = spec, sessions, bucket, prefix

    def units(self, checkpoints: Checkpoints) -> Iterator[Unit]:
        s3 = client(self.sessions, "s3")

        def listing() -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                out.extend(page.get("Contents", []))
            return out

        for obj in aws_call(listing, "s3:ListObjectsV2"):
            key = obj["Key"]
            if key.endswith("/") or not (key.endswith(SUFFIXES) or "." not in key.rsplit("/", 1)[-1]):
                continue
            etag = str(obj.get("ETag", "")).strip('"')

            def read(key: str = key, etag: str = etag) -> tuple[bytes, str]:
                body = aws_call(lambda: s3.get_object(Bucket=self.bucket, Key=key)["Body"].read(), "s3:GetObject")
                return body, etag

            yield Unit(f"s3://{self.bucket}/{key}", etag, read, int(obj.get("Size", 0)))


class CloudWatchSource(Source):
    def __init__(self, spec: str, sessions: Any, group: str, since: str | None = None) -> None:
        self.spec, self.sessions, self.group, self.since = spec, sessions, group, since

    def units(self, checkpoints: Checkpoints) -> Iterator[Unit]:
        logs = client(self.sessions, "logs")

        def streams() -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=self.group):
                out.extend(page.get("logStreams", []))
            return out

        since_ms = _ms(self.since) if self.since else 0
        for stream in aws_call(streams, "logs:DescribeLogStreams"):
            name = stream["logStreamName"]
            key = f"cloudwatch:{self.group}/{name}"
            last = int(checkpoints.get(key) or 0)
            newest = stream.get("lastEventTimestamp") or stream.get("lastIngestionTime")
            unchanged = last > 0 and newest is not None and int(newest) <= last

            def read(name: str = name, start: int = max(last, since_ms)) -> tuple[list[bytes], str]:
                lines: list[bytes] = []
                hi = start
                kwargs: dict[str, Any] = {"logGroupName": self.group, "logStreamName": name, "startFromHead": True}
                if start:
                    kwargs["startTime"] = start
                token = None
                while True:
                    if token:
                        kwargs["nextToken"] = token
                    page = aws_call(lambda: logs.get_log_events(**kwargs), "logs:GetLogEvents")
                    for ev in page.get("events", []):
                        lines.append(ev["message"].encode())
                        hi = max(hi, int(ev["timestamp"]))
                    nxt = page.get("nextForwardToken")
                    if not nxt or nxt == token or not page.get("events"):
                        break
                    token = nxt
                return lines, str(hi)

            yield Unit(key, checkpoints.get(key) if unchanged else None, read)


class LookupSource(Source):
    def __init__(self, spec: str, sessions: Any, region: str | None = None, since: str | None = None) -> None:
        self.spec, self.sessions, self.region, self.since = spec, sessions, region, since

    def units(self, checkpoints: Checkpoints) -> Iterator[Unit]:
        ct = client(self.sessions, "cloudtrail", self.region)
        region = self.region or ct.meta.region_name
        key = f"lookup:{region}"
        start = checkpoints.get(key) or self.since

        def read() -> tuple[list[bytes], str]:
            kwargs: dict[str, Any] = {
                "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": "bedrock.amazonaws.com"}]
            }
            if start:
                kwargs["StartTime"] = _dt(start)
            lines: list[bytes] = []
            newest = start or ""

            def fetch() -> None:
                nonlocal newest
                for page in ct.get_paginator("lookup_events").paginate(**kwargs):
                    for ev in page.get("Events", []):
                        lines.append(ev["CloudTrailEvent"].encode())
                        t = ev.get("EventTime")
                        if isinstance(t, datetime):
                            iso = t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                            newest = max(newest, iso)

            aws_call(fetch, "cloudtrail:LookupEvents")
            return lines, newest

        yield Unit(key, None, read)


def _dt(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ms(value: str) -> int:
    return int(_dt(value).timestamp() * 1000)
