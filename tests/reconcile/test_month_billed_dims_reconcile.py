"""``cost reconcile`` of the generated month with the dimensions a call is billed by besides its token rates
(``billed_month``: service tiers, images, guardrail text units, batch inference jobs read from S3) against a CUR 2.0
bill of the same month, built here from the by-hand costs: no unexplained gap, and without one Region's logs the
report names that Region.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from .billed_month import (
    BATCH_RATES,
    CANVAS,
    GUARDRAIL_USAGE_TYPES,
    HAIKU_35,
    NOVA_PRO,
    TIER_RATES,
    batch_jobs,
    billed_dimensions,
    by_hand,
    install_book,
)
from .test_cur_reconcile import (
    ACCOUNT,
    BUCKET,
    MONTH,
    PREFIX,
    cli,
    cur_rows,
    generated_month,
    ingest,
    parquet_bytes,
    row,
)

__all__ = ["cli"]


def bill(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The CUR 2.0 lines of ``records``: tier token lines (``...-input-tokens-flex``), image and guardrail lines,
    per day, Region, usage type and principal, each rounded to 6 decimals as a bill is."""
    lines: dict[tuple[str, ...], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    plain = {"input": "input-tokens", "output": "output-tokens", "cache_read": "cache-read-input-tokens"}
    for r in records:
        p, region = PREFIX[r["region"]], r["region"]
        resource = f"arn:aws:bedrock:{region}::foundation-model/{r['modelId']}"
        for part, usd in by_hand(r).items():
            kind, what = part.split(":")
            if kind in TIER_RATES:
                suffix = "" if kind == "default" else f"-{kind}"
                usage_type = f"{p}-NovaPro-{plain[what]}{suffix}"
            elif kind == "image":
                name = "NovaCanvas" if r["modelId"] == CANVAS else "TitanImageGeneratorV2"
                quality, size = what.split("/")
                usage_type = f"{p}-{name}-T2I-{size.split('x')[0]}-{quality.title()}"  # the Price List fixture's form
            else:
                usage_type, resource = f"{p}-{GUARDRAIL_USAGE_TYPES[what]}", ""
            key = (r["timestamp"][:10], region, usage_type, resource, r["identity"]["arn"])
            lines[key][0] += usd
            lines[key][1] += 1
    return [
        row(day, region, "AmazonBedrock", usage_type, resource or None, who, cost, qty)
        for (day, region, usage_type, resource, who), (cost, qty) in sorted(lines.items())
    ]


def batch_bill(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The CUR 2.0 lines of the batch jobs: ``<prefix>-<model>-input-tokens-batch`` per job and dimension."""
    names = {NOVA_PRO: "NovaPro", HAIKU_35: "Claude3.5Haiku"}
    lines: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    for b in batch:
        job, (i, o) = b["job"], BATCH_RATES[b["job"]["modelId"]]
        region, day = job["jobArn"].split(":")[3], job["endTime"][:10]
        resource = f"arn:aws:bedrock:{region}::foundation-model/{job['modelId']}"
        for dim, count, rate in (("input", b["input"], i), ("output", b["output"], o)):
            usage_type = f"{PREFIX[region]}-{names[job['modelId']]}-{dim}-tokens-batch"
            lines[(day, region, usage_type, resource)] += count * Decimal(rate) / 1000
    return [row(day, region, "AmazonBedrock", ut, res, None, cost) for (day, region, ut, res), cost in lines.items()]


def test_reconcile_of_the_month_with_tiers_images_and_guardrails_has_no_unexplained_gap(
    cli: Callable[..., Any],
    sandbox_env: Any,
    boto_client: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records = generated_month() + billed_dimensions()
    batch = batch_jobs(tmp_path)
    rows = cur_rows(generated_month()) + bill(billed_dimensions()) + batch_bill(batch)
    # what no log carries: an imported model's Custom Model Unit minutes, and SageMaker hosting (not Bedrock's)
    imported = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:imported-model/k2mq8abc1def"
    rows.append(row("2026-01-09", "us-east-1", "AmazonBedrock", "USE1-CustomModelImport-v1.0-Inference", imported))
    rows[-1].update(line_item_unblended_cost=4.71, line_item_usage_amount=60.0)
    rows.append(row("2026-01-09", "us-east-1", "AmazonSageMaker", "USE1-Host:ml.g5.xlarge", None, None, "33.9"))
    s3 = boto_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for path in (tmp_path / "batch-output").rglob("*"):  # the jobs' output where Bedrock writes it: S3
        if path.is_file():
            s3.put_object(
                Bucket=BUCKET, Key=f"batch/{path.relative_to(tmp_path / 'batch-output')}", Body=path.read_bytes()
            )
    s3.put_object(Bucket=BUCKET, Key="cur2/BILLING_PERIOD=2026-01/part-00001.snappy.parquet", Body=parquet_bytes(rows))
    cur = f"s3://{BUCKET}/cur2/"

    for name, kept in (("all", records), ("no-eu-west-1", [r for r in records if r["region"] != "eu-west-1"])):
        data = tmp_path / name
        monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(data))
        install_book(data)
        ingest(cli, tmp_path, kept)
        res = cli("usage", "ingest", "--batch-output", f"s3://{BUCKET}/batch/", "--output", "json")
        assert res.exit_code == 0 and json.loads(res.stdout)["new_invocations"] == len(batch), res.output
        res = cli("cost", "reconcile", "--month", MONTH, "--cur", cur, "--output", "json")
        assert res.exit_code == 0, res.output
        doc = json.loads(res.stdout)
        assert doc["unexplained_usd"] == "0", [g for g in doc["gaps"] if g["cause"] == "unexplained"]
        gaps = doc["gaps"]
        # flex and priority lines are matched with the estimate's tier prices: at most rounding, never a cause
        tier_gaps = [g for g in gaps if g["dimension"].split(":")[0] in ("flex", "priority", "batch")]
        assert {g["cause"] for g in tier_gaps} <= ({"rounding"} if name == "all" else {"rounding", "logging_off"})
        others = {u for g in gaps if g["cause"] == "other_usage" for u in g["usage_types"]}
        assert {"USE1-Guardrail-ContentPolicy-TextUnits", "USE1-NovaCanvas-T2I-2048-Premium"} <= others
        assert "USE1-CustomModelImport-v1.0-Inference" in others  # imported-model minutes: from the bill only
        bedrock = (
            Decimal(str(r["line_item_unblended_cost"])) for r in rows if r["line_item_product_code"] == "AmazonBedrock"
        )
        assert Decimal(doc["bill_usd"]) == sum(bedrock, Decimal(0))  # SageMaker hosting is not a Bedrock line
        if name == "all":
            assert doc["regions_without_logs"] == []
        else:
            assert doc["regions_without_logs"] == ["eu-west-1"]
            # the eu-west-1 batch job is still seen (its output is not a log): only the logged calls are missing
            eu = [g for g in gaps if g["region"] == "eu-west-1" and not g["dimension"].startswith("batch:")]
            assert {g["cause"] for g in eu} == {"logging_off"}
            assert {g["cause"] for g in gaps if g["dimension"].startswith("batch:")} <= {"rounding"}
            assert {"flex:input", "input", "cache_read"} <= {g["dimension"] for g in eu}
            eu_bill = sum(
                (
                    Decimal(str(r["line_item_unblended_cost"]))
                    for r in rows
                    if r["product_region_code"] == "eu-west-1" and not r["line_item_usage_type"].endswith("-batch")
                ),
                Decimal(0),
            )
            assert Decimal(doc["causes"]["logging_off"]) == eu_bill
