"""Read Bedrock line items from a CUR 2.0 export (AWS Data Exports, ``COST_AND_USAGE_REPORT``), Parquet or CSV.

Columns read (CUR 2.0 names; ``docs.aws.amazon.com/cur/latest/userguide/table-dictionary-cur2.html``):
``line_item_usage_start_date``, ``line_item_line_item_type``, ``line_item_product_code``, ``line_item_usage_type``,
``line_item_resource_id``, ``line_item_usage_amount``, ``line_item_unblended_cost``, ``product_region_code``,
``line_item_iam_principal`` (the IAM principal that used the resource, CUR 2.0 only), and when present
``product`` (a map; ``product_name`` names Marketplace-sold models "... (Amazon Bedrock Edition)"),
``resource_tags`` and ``cost_category`` (maps). A line is Bedrock's when its product code is one of Bedrock's
service codes, its product name says "Bedrock", or its resource is a Bedrock ARN.

Each line gets a model (the foundation model of its resource ARN, else the model its usage type or product name
names, else ``(unattributed)``) and what it meters (``pricing.pricelist.describe_usage_type``). Files are read
with DuckDB (``read_parquet`` / ``read_csv``); an export in S3 is downloaded object by object first.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from bedrockctl.analytics.errors import BillExportError
from bedrockctl.analytics.store import duckdb_module
from bedrockctl.aws.errors import aws_errors
from bedrockctl.catalog import parse_model_ref
from bedrockctl.pricing.pricelist import SERVICE_CODES, describe_usage_type, model_for_name, model_names

UNATTRIBUTED = "(unattributed)"
_REQUIRED = (
    "line_item_usage_start_date",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_unblended_cost",
    "product_region_code",
)
_OPTIONAL = (
    "line_item_line_item_type",
    "line_item_resource_id",
    "line_item_usage_amount",
    "line_item_iam_principal",
    "product",
    "resource_tags",
    "cost_category",
)


@dataclass(frozen=True)
class BillLine:
    """One Bedrock line item of the bill, classified."""

    day: str
    region: str
    model: str
    usage_type: str
    kind: str  # token | provisioned | other
    dimension: str | None
    tier: str
    line_type: str
    cost: Decimal
    quantity: Decimal
    principal: str | None
    resource_id: str | None
    tags: dict[str, str] = field(default_factory=dict)


def _files(root: Path) -> list[Path]:
    found = [p for p in sorted(root.rglob("*")) if p.is_file() and _format(p) is not None]
    if not found:
        raise BillExportError(f"no CUR 2.0 Parquet or CSV files under {root}")
    return found


def _format(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".parquet") or name.endswith(".snappy.parquet"):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".csv.zip")):
        return "csv"
    return None


def _select(con: Any, path: Path) -> Iterator[dict[str, Any]]:
    reader = "read_parquet" if _format(path) == "parquet" else "read_csv"
    opts = "" if reader == "read_parquet" else ", header = true, all_varchar = true"
    rel = con.sql(f"SELECT * FROM {reader}(?{opts})", params=[str(path)])  # noqa: S608 - fixed reader names
    columns = [c.lower() for c in rel.columns]
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        raise BillExportError(f"{path.name} is not a CUR 2.0 export: no column {', '.join(missing)}")
    wanted = [c for c in (*_REQUIRED, *_OPTIONAL) if c in columns]
    cast = {
        "line_item_unblended_cost": "CAST(line_item_unblended_cost AS VARCHAR)",
        "line_item_usage_amount": "CAST(line_item_usage_amount AS VARCHAR)",
        "line_item_usage_start_date": "left(CAST(line_item_usage_start_date AS VARCHAR), 10)",
    }
    sql = ", ".join(f"{cast.get(c, c)} AS {c}" for c in wanted)
    cursor = con.sql(f"SELECT {sql} FROM {reader}(?{opts})", params=[str(path)])  # noqa: S608
    names = [c.lower() for c in cursor.columns]
    for values in cursor.fetchall():
        yield dict(zip(names, values, strict=True))


def _as_map(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):  # DuckDB MAP as a list of key/value pairs
        return {str(kv["key"]): str(kv["value"]) for kv in value if kv.get("value") is not None}
    if isinstance(value, str) and value.startswith("{"):
        import json

        return {str(k): str(v) for k, v in json.loads(value).items() if v is not None}
    return {}


def _model(row: dict[str, Any], hint: str, product_name: str, names: dict[str, str]) -> str:
    rid = row.get("line_item_resource_id") or ""
    if rid.startswith("arn:aws:bedrock:"):
        try:
            ref = parse_model_ref(rid)
        except ValueError:
            ref = None
        if ref is not None and ref.model_id:
            return ref.model_id
    return model_for_name(hint, names) or model_for_name(product_name, names) or UNATTRIBUTED


def classify_rows(rows: Iterable[dict[str, Any]], start: date, end: date) -> list[BillLine]:
    """Bedrock's lines of the month [start, end) from raw CUR 2.0 rows."""
    names = model_names()
    out: list[BillLine] = []
    for row in rows:
        day = str(row.get("line_item_usage_start_date") or "")[:10]
        if not day or not start.isoformat() <= day < end.isoformat():
            continue
        product = _as_map(row.get("product"))
        product_name = product.get("product_name", "")
        code = str(row.get("line_item_product_code") or "")
        rid = str(row.get("line_item_resource_id") or "")
        if code not in SERVICE_CODES and "Bedrock" not in product_name and not rid.startswith("arn:aws:bedrock:"):
            continue
        usage_type = str(row.get("line_item_usage_type") or "")
        info = describe_usage_type(usage_type)
        out.append(
            BillLine(
                day=day,
                region=str(row.get("product_region_code") or ""),
                model=_model(row, info.model_hint, product_name, names),
                usage_type=usage_type,
                kind=info.kind,
                dimension=info.dimension,
                tier=info.tier,
                line_type=str(row.get("line_item_line_item_type") or "Usage"),
                cost=Decimal(str(row.get("line_item_unblended_cost") or "0")),
                quantity=Decimal(str(row.get("line_item_usage_amount") or "0")),
                principal=row.get("line_item_iam_principal") or None,
                resource_id=rid or None,
                tags={**_as_map(row.get("resource_tags")), **_as_map(row.get("cost_category"))},
            )
        )
    return out


def read_cur(source: str, start: date, end: date, *, s3: Any = None) -> list[BillLine]:
    """Bedrock's lines of the month from a CUR 2.0 export: a local file or folder, or ``s3://bucket/prefix``."""
    con = duckdb_module().connect()
    try:
        if source.startswith("s3://"):
            with tempfile.TemporaryDirectory(prefix="bedrockctl-cur-") as tmp:
                _download(s3, source, Path(tmp))
                return classify_rows((r for p in _files(Path(tmp)) for r in _select(con, p)), start, end)
        path = Path(source)
        if not path.exists():
            raise BillExportError(f"no CUR 2.0 export at {source}")
        files = [path] if path.is_file() else _files(path)
        return classify_rows((r for p in files for r in _select(con, p)), start, end)
    finally:
        con.close()


def _download(s3: Any, uri: str, dest: Path) -> None:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not bucket or s3 is None:
        raise BillExportError(f"bad CUR location {uri!r}: use s3://bucket/prefix")
    with aws_errors(service="s3", operation="ListObjectsV2"):
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    for i, key in enumerate(k for k in keys if _format(Path(k)) is not None):
        target = dest / f"{i:05d}-{Path(key).name}"
        with aws_errors(service="s3", operation="GetObject"):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
            target.write_bytes(body.read())
