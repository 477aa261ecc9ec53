"""``usage export``: archive usage reports to S3 (CSV and Parquet), encrypted with SSE-KMS, kept N days.

Layout: ``s3://bucket/prefix/<YYYY-MM-DD>/usage-by-<dims>.{csv,parquet}`` (one pair per ``--by`` report, the
date is the export day, UTC). Every object is written with ``ServerSideEncryption=aws:kms`` (the given key, or
the AWS managed ``aws/s3`` key). ``retention_days`` sets one lifecycle rule (id ``bedrockctl-usage-export-...``)
expiring objects under the prefix; other rules of the bucket are kept.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bedrockctl.analytics.errors import UsageSourceError
from bedrockctl.analytics.reports import METRICS, Report


def parse_s3_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
        raise UsageSourceError(f"bad --to {url!r}: use s3://bucket/prefix")
    bucket, _, prefix = url[5:].partition("/")
    return bucket, prefix.strip("/")


def lifecycle_rule_id(prefix: str) -> str:
    return f"bedrockctl-usage-export-{hashlib.sha256(prefix.encode()).hexdigest()[:12]}"


def _columns(rep: Report) -> list[str]:
    return [*rep.groups, *METRICS, "unpriced_invocations"]


def report_csv(rep: Report) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = _columns(rep)
    w.writerow(cols)
    for r in rep.rows:
        w.writerow(
            ["" if r.get(c) is None else (format(r[c], "f") if isinstance(r[c], Decimal) else r[c]) for c in cols]
        )
    return buf.getvalue().encode()


def report_parquet(rep: Report) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays: dict[str, Any] = {}
    for c in _columns(rep):
        values = [r.get(c) for r in rep.rows]
        if c == "cost_usd":
            arrays[c] = pa.array(values, type=pa.decimal128(38, 12))
        elif c in METRICS or c == "unpriced_invocations":
            arrays[c] = pa.array([int(v or 0) for v in values], type=pa.int64())
        else:
            arrays[c] = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    buf = io.BytesIO()
    pq.write_table(pa.table(arrays), buf, compression="zstd")
    return buf.getvalue()


@dataclass
class ExportResult:
    bucket: str
    prefix: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    kms_key: str | None = None
    lifecycle_rule: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "objects": self.objects,
            "kms_key": self.kms_key,
            "lifecycle_rule": self.lifecycle_rule,
        }


def put_retention(s3: Any, bucket: str, prefix: str, days: int) -> dict[str, Any]:
    """Add or replace our expiration rule for ``prefix``, keeping the bucket's other lifecycle rules."""
    from bedrockctl.aws.s3 import put_lifecycle_rule

    if days <= 0:
        raise UsageSourceError("--retention-days must be positive")
    rule = {
        "ID": lifecycle_rule_id(prefix),
        "Filter": {"Prefix": f"{prefix}/" if prefix else ""},
        "Status": "Enabled",
        "Expiration": {"Days": days},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
    }
    return put_lifecycle_rule(s3, bucket, rule)


def export_reports(
    s3: Any,
    destination: str,
    reports: Sequence[Report],
    *,
    kms_key: str | None = None,
    retention_days: int | None = None,
    formats: Sequence[str] = ("csv", "parquet"),
    now: datetime | None = None,
) -> ExportResult:
    bucket, prefix = parse_s3_url(destination)
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%d")
    result = ExportResult(bucket, prefix, kms_key=kms_key)
    enc: dict[str, Any] = {"ServerSideEncryption": "aws:kms"}
    if kms_key:
        enc["SSEKMSKeyId"] = kms_key
    for rep in reports:
        name = "usage-by-" + ("-".join(g.replace(":", "_") for g in rep.groups) or "total")
        for fmt in formats:
            body, ctype = (
                (report_csv(rep), "text/csv") if fmt == "csv" else (report_parquet(rep), "application/x-parquet")
            )
            key = "/".join(p for p in (prefix, stamp, f"{name}.{fmt}") if p)
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType=ctype,
                Metadata={"bedrockctl-report": name, "period-since": str(rep.period.get("since") or "")},
                **enc,
            )
            result.objects.append({"key": key, "bytes": len(body), "rows": len(rep.rows)})
    if retention_days is not None:
        result.lifecycle_rule = put_retention(s3, bucket, prefix, retention_days)
    return result
