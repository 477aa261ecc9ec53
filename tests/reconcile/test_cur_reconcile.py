"""``cost reconcile --cur``: a CUR 2.0 export in (sandbox) S3 joined to a month of generated invocation logs.

The test owns the clock: a fixed past month, generated records, a bill built from the same usage at the price
book's rates (rounded per line item as a bill is), compared with nothing but itself.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import moto.core.base_backend  # noqa: F401 - import moto before the sandbox's warm-up thread does (import race)
import pytest

from bedrockctl.pricing import PriceBook, Usage

MONTH = "2026-01"
ACCOUNT = "111122223333"
BUCKET = "billing-exports"
ALICE = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Developer_0a1b2c3d4e5f6a7b/alice@example.com"
CI = f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-deploy/build-7"
# (model reference as called, Regions, the usage-type model name of the Price List / CUR)
CALLS = [
    ("anthropic.claude-3-5-haiku-20241022-v1:0", ("us-east-1", "eu-west-1"), "Claude3.5Haiku"),
    ("amazon.nova-pro-v1:0", ("us-east-1", "eu-west-1"), "NovaPro"),
    ("global.anthropic.claude-haiku-4-5-20251001-v1:0", ("us-east-1",), None),  # Marketplace usage types
]
PREFIX = {"us-east-1": "USE1", "eu-west-1": "EU"}
TOKEN_TYPES = {
    "input_tokens": ("input-tokens", "InputTokenCount"),
    "output_tokens": ("output-tokens", "OutputTokenCount"),
    "cache_read_tokens": ("cache-read-input-tokens", "CacheReadInputTokenCount"),
    "cache_write_tokens": ("cache-write-input-tokens", "CacheWriteInputTokenCount"),
}
BOOK = PriceBook.load()


def generated_month() -> list[dict[str, Any]]:
    """Invocation-log records (the real ``ModelInvocationLog`` shape) for every day of the month."""
    records = []
    day = date(2026, 1, 1)
    n = 0
    while day.month == 1:
        for model, regions, _ in CALLS:
            for region in regions:
                for k, who in enumerate((ALICE, CI)):
                    n += 1
                    records.append(
                        {
                            "schemaType": "ModelInvocationLog",
                            "schemaVersion": "1.0",
                            "timestamp": f"{day}T{9 + k:02d}:{n % 60:02d}:00Z",
                            "accountId": ACCOUNT,
                            "identity": {"arn": who},
                            "region": region,
                            "requestId": f"00000000-0000-4000-8000-{n:012d}",
                            "operation": "Converse",
                            "modelId": model,
                            "input": {
                                "inputContentType": "application/json",
                                "inputTokenCount": 1000 + 37 * day.day + 11 * k,
                                "cacheReadInputTokenCount": 2048 if k == 0 else 0,
                                "cacheWriteInputTokenCount": 512 if day.day % 7 == 0 else 0,
                            },
                            "output": {"outputContentType": "application/json", "outputTokenCount": 200 + day.day},
                            "metrics": {"latencyMs": 500},
                        }
                    )
        day += timedelta(days=1)
    return records


def cur_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The bill AWS would send for ``records``: CUR 2.0 line items per day, resource, principal and usage type,
    each cost rounded to 6 decimals; plus provisioned throughput, a knowledge base and an S3 line."""
    lines: dict[tuple[str, ...], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for r in records:
        region, model = r["region"], r["modelId"]
        price = BOOK.price_for(model, region)
        assert price is not None
        name = next(n for m, _, n in CALLS if m == model)
        counts = {
            "input_tokens": r["input"]["inputTokenCount"],
            "output_tokens": r["output"]["outputTokenCount"],
            "cache_read_tokens": r["input"]["cacheReadInputTokenCount"],
            "cache_write_tokens": r["input"]["cacheWriteInputTokenCount"],
        }
        for field, count in counts.items():
            if not count:
                continue
            plain, marketplace = TOKEN_TYPES[field]
            p = PREFIX[region]
            usage_type = f"{p}-{name}-{plain}" if name else f"{p}-MP:{p}_{marketplace}_Global-Units"
            kind = "inference-profile" if model.startswith("global.") else "foundation-model"
            account = ACCOUNT if kind == "inference-profile" else ""
            resource = f"arn:aws:bedrock:{region}:{account}:{kind}/{model}"
            key = (r["timestamp"][:10], region, usage_type, resource, r["identity"]["arn"])
            lines[key][0] += price.cost(Usage(**{field: count}))
            lines[key][1] += count
    rows = [
        row(day, region, "AmazonBedrock", usage_type, resource, who, cost, qty)
        for (day, region, usage_type, resource, who), (cost, qty) in sorted(lines.items())
    ]
    provisioned = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:provisioned-model/abc123"
    rows.append(
        row("2026-01-10", "us-east-1", "AmazonBedrock", "USE1-ProvisionedThroughput-NoCommit-ModelUnits", provisioned)
    )
    rows[-1].update(line_item_unblended_cost=39.6, line_item_usage_amount=2.0)
    rows.append(row("2026-01-15", "us-east-1", "AmazonBedrock", "USE1-KnowledgeBase-Storage", None, None, "0.5"))
    rows.append(row("2026-01-15", "us-east-1", "AmazonS3", "TimedStorage-ByteHrs", None, None, "1.0"))
    return rows


def row(
    day: str,
    region: str,
    code: str,
    usage_type: str,
    resource: str | None,
    who: str | None = None,
    cost: Decimal | str = "0",
    qty: int = 1,
) -> dict[str, Any]:
    rounded = Decimal(cost).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    return {
        "identity_line_item_id": f"li-{abs(hash((day, usage_type, resource, who))) % 10**12}",
        "bill_billing_period_start_date": datetime(2026, 1, 1),
        "line_item_usage_start_date": datetime.fromisoformat(day),
        "line_item_line_item_type": "Usage",
        "line_item_product_code": code,
        "line_item_usage_type": usage_type,
        "line_item_resource_id": resource,
        "line_item_usage_amount": float(qty),
        "line_item_unblended_cost": float(rounded),
        "product_region_code": region,
        "line_item_iam_principal": who,
        "product": {"product_name": "Amazon Bedrock" if code == "AmazonBedrock" else "Amazon S3"},
        "resource_tags": {"user_team": "platform"} if who == ALICE else {},
        "cost_category": {},
    }


def parquet_bytes(rows: list[dict[str, Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    maps = ("product", "resource_tags", "cost_category")
    table = pa.Table.from_pylist(
        [{k: (list(v.items()) if k in maps else v) for k, v in r.items()} for r in rows],
        schema=pa.schema(
            [
                (k, pa.map_(pa.string(), pa.string()))
                if k in maps
                else (k, pa.timestamp("ms"))
                if isinstance(v, datetime)
                else (k, pa.float64())
                if isinstance(v, float)
                else (k, pa.string())
                for k, v in rows[0].items()
            ]
        ),
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="snappy")
    return buf.getvalue()


def csv_gz_bytes(rows: list[dict[str, Any]]) -> bytes:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    for r in rows:
        writer.writerow(
            {
                k: json.dumps(v)
                if isinstance(v, dict)
                else v.strftime("%Y-%m-%dT%H:%M:%SZ")
                if isinstance(v, datetime)
                else ("" if v is None else v)
                for k, v in r.items()
            }
        )
    return gzip.compress(text.getvalue().encode())


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    from typer.testing import CliRunner

    from bedrockctl.cli.app import app

    return lambda *a: CliRunner().invoke(app, list(a), catch_exceptions=False)


def ingest(cli: Callable[..., Any], tmp: Path, records: list[dict[str, Any]]) -> None:
    logs = tmp / "invocation-logs.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in records))
    res = cli("usage", "ingest", "--invocation-logs", str(logs))
    assert res.exit_code == 0, res.output


def test_a_month_of_generated_usage_reconciles_with_no_unexplained_gap_and_names_a_region_without_logs(
    cli: Callable[..., Any],
    sandbox_env: Any,
    boto_client: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records = generated_month()
    rows = cur_rows(records)
    s3 = boto_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(
        Bucket=BUCKET, Key="cur2/parquet/BILLING_PERIOD=2026-01/part-00001.snappy.parquet", Body=parquet_bytes(rows)
    )
    s3.put_object(Bucket=BUCKET, Key="cur2/parquet/BILLING_PERIOD=2026-01/Manifest.json", Body=b"{}")
    s3.put_object(Bucket=BUCKET, Key="cur2/csv/BILLING_PERIOD=2026-01/part-00001.csv.gz", Body=csv_gz_bytes(rows))
    bedrock_bill = sum(
        (Decimal(str(r["line_item_unblended_cost"])) for r in rows if r["line_item_product_code"] == "AmazonBedrock"),
        Decimal(0),
    )

    monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(tmp_path / "all-regions"))
    ingest(cli, tmp_path, records)
    res = cli("cost", "reconcile", "--month", MONTH, "--cur", f"s3://{BUCKET}/cur2/parquet/", "--output", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert Decimal(data["bill_usd"]) == bedrock_bill  # S3 is not Bedrock
    assert data["unexplained_usd"] == "0" and data["regions_without_logs"] == []
    assert set(data["causes"]) == {"provisioned", "other_usage", "rounding"}
    assert (data["causes"]["provisioned"], data["causes"]["other_usage"]) == ("39.6", "0.5")
    assert 0 < abs(Decimal(data["causes"]["rounding"])) < Decimal("0.001")  # 6-decimal line items
    factors = {c["model"]: Decimal(c["factor"]) for c in data["calibration"]}
    assert set(factors) == {
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "amazon.nova-pro-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
    }
    assert all(Decimal(1) <= f < Decimal("1.001") for f in factors.values())  # the bill rounds half up
    alice_bill = sum(
        (Decimal(str(r["line_item_unblended_cost"])) for r in rows if r["line_item_iam_principal"] == ALICE),
        Decimal(0),
    )
    assert data["by_tag"] == [{"tag": "user_team=platform", "bill_usd": str(alice_bill.normalize())}]
    alice = next(p for p in data["by_principal"] if p["principal"] == ALICE)
    assert Decimal(alice["bill_usd"]) == alice_bill
    assert abs(Decimal(alice["bill_usd"]) - Decimal(alice["estimate_usd"])) < Decimal("0.001")

    # the same bill as CSV, and the logs of eu-west-1 missing: the report names eu-west-1 as the cause
    monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(tmp_path / "no-eu-west-1"))
    ingest(cli, tmp_path, [r for r in records if r["region"] != "eu-west-1"])
    res = cli("cost", "reconcile", "--month", MONTH, "--cur", f"s3://{BUCKET}/cur2/csv/", "--output", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["regions_without_logs"] == ["eu-west-1"] and data["unexplained_usd"] == "0"
    eu = [g for g in data["gaps"] if g["region"] == "eu-west-1"]
    assert eu and {g["cause"] for g in eu} == {"logging_off"}
    assert "invocation logging off in eu-west-1" in eu[0]["cause_text"]
    eu_bill = sum(
        (Decimal(str(r["line_item_unblended_cost"])) for r in rows if r["product_region_code"] == "eu-west-1"),
        Decimal(0),
    )
    assert Decimal(data["causes"]["logging_off"]) == eu_bill
    text = cli("cost", "reconcile", "--month", MONTH, "--cur", f"s3://{BUCKET}/cur2/csv/").output
    assert "invocation logging off in eu-west-1" in text and "logging_off" in text


def test_a_file_that_is_not_cur_2_is_a_clear_error(cli: Callable[..., Any], tmp_path: Path, sandbox_env: Any) -> None:
    from bedrockctl.analytics.errors import BillExportError

    bad = tmp_path / "export.csv"
    bad.write_text("lineItem/UsageStartDate,lineItem/UnblendedCost\n2026-01-01T00:00:00Z,1\n")  # legacy CUR names
    res = cli("cost", "reconcile", "--month", MONTH, "--cur", str(bad), "--output", "json")
    assert res.exit_code == BillExportError.exit_code
    err = json.loads(res.stdout)["error"]
    assert err["code"] == BillExportError.code and "line_item_usage_start_date" in err["message"]
    res = cli("cost", "reconcile", "--month", MONTH, "--cur", str(tmp_path / "nothing-here"), "--output", "json")
    assert json.loads(res.stdout)["error"]["code"] == BillExportError.code
