"""The generated month, with the dimensions a call is billed by besides its token rates: service tiers (priority,
flex), images per image by quality and size, guardrail text units per policy type, and batch inference jobs (their
output ingested with ``usage ingest --batch-output``, from a directory and from S3). Each is priced by
``usage report`` and ``cost`` and compared with a bill computed here by hand from rates written out below (not read
from the price book), per model, per user and per tag; and ``cost reconcile`` against a CUR 2.0 bill of the same
month has no unexplained gap, and names the Region whose logs are missing.

Rates: guardrails are the AWS Bedrock pricing page's (the packaged book's ``guardrails``); image and tier rates are
not in the packaged book (no AWS figure confirmed for it: ``bedrockctl pricing update`` reads them from the Price
List), so the test installs a book with them in the data directory, where ``pricing update`` writes one. The image
rates are the AWS page's figures for Nova Canvas and Titan Image Generator v2 as secondary sources quote them (not
re-read from the page); batch rates are on-demand less 50% (the book's ``batch_discount``); the tier rates are the
test's own
(Nova Pro at 1.75x standard for priority and 0.5x for flex, the multipliers of the Price List fixture of
``tests/pricing``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from .test_cur_reconcile import (
    ACCOUNT,
    ALICE,
    BUCKET,
    CI,
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

NOVA_PRO = "amazon.nova-pro-v1:0"
CANVAS = "amazon.nova-canvas-v1:0"
TITAN_IMAGE = "amazon.titan-image-generator-v2:0"
# USD per 1,000 tokens: input, output, cache read
TIER_RATES = {
    "default": ("0.0008", "0.0032", "0.0002"),
    "priority": ("0.0014", "0.0056", "0.00035"),
    "flex": ("0.0004", "0.0016", "0.0001"),
}
# USD per image, by quality / "up to" size
IMAGE_RATES = {
    CANVAS: {
        "standard/1024x1024": "0.04",
        "standard/2048x2048": "0.06",
        "premium/1024x1024": "0.06",
        "premium/2048x2048": "0.08",
    },
    TITAN_IMAGE: {
        "standard/512x512": "0.008",
        "standard/1024x1024": "0.01",
        "premium/512x512": "0.01",
        "premium/1024x1024": "0.012",
    },
}
# USD per 1,000 text units, by GuardrailUsage member
GUARDRAIL_RATES = {
    "topicPolicyUnits": "0.15",
    "contentPolicyUnits": "0.15",
    "wordPolicyUnits": "0",
    "sensitiveInformationPolicyUnits": "0.10",
    "sensitiveInformationPolicyFreeUnits": "0",
    "contextualGroundingPolicyUnits": "0.10",
}
GUARDRAIL_USAGE_TYPES = {
    "topicPolicyUnits": "Guardrail-DeniedTopics-TextUnits",
    "contentPolicyUnits": "Guardrail-ContentPolicy-TextUnits",
    "sensitiveInformationPolicyUnits": "Guardrail-SensitiveInformation-TextUnits",
    "contextualGroundingPolicyUnits": "Guardrail-ContextualGrounding-TextUnits",
}
USERS = {ALICE: "alice@example.com", CI: "ci-deploy/build-7"}
HAIKU_35 = "anthropic.claude-3-5-haiku-20241022-v1:0"
# batch inference, USD per 1,000 tokens (input, output): on-demand less 50%, as the AWS pricing page lists them
BATCH_RATES = {NOVA_PRO: ("0.0004", "0.0016"), HAIKU_35: ("0.0004", "0.002")}


def batch_jobs(root: Path) -> list[dict[str, Any]]:
    """Two finished batch inference jobs as Bedrock leaves them (``<job id>/<input>.jsonl.out`` and
    ``manifest.json.out``), each with its ``GetModelInvocationJob`` response (and tags) saved as ``job.json``: a Nova
    Pro job of Converse records in us-east-1 and a Claude 3.5 Haiku job of Messages records in eu-west-1. Returns
    the successful records as (job, record, input tokens, output tokens)."""
    out = []
    jobs = (
        (
            "us-east-1",
            "n0vapr0b4tch",
            NOVA_PRO,
            "2026-01-12T03:04:05.123000+00:00",
            [{"key": "team", "value": "evals"}],
        ),
        (
            "eu-west-1",
            "h41kub4tch01",
            HAIKU_35,
            "2026-01-20T22:10:00Z",
            [{"key": "team", "value": "support"}, {"key": "gateway_user", "value": "alice@example.com"}],
        ),
    )
    for region, job_id, model, end, tags in jobs:
        folder = root / "batch-output" / job_id
        folder.mkdir(parents=True)
        arn = f"arn:aws:bedrock:{region}:{ACCOUNT}:model-invocation-job/{job_id}"
        job = {
            "jobArn": arn,
            "jobName": f"nightly-{job_id}",
            "modelId": model,
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/bedrock-batch",
            "status": "Completed",
            "submitTime": "2026-01-11T20:00:00+00:00",
            "endTime": end,
            "tags": tags,
        }
        (folder / "job.json").write_text(json.dumps(job))
        lines, tin, tout = [], 0, 0
        for k in range(120):
            i, o = 900 + 7 * k, 200 + k
            if model == NOVA_PRO:  # Converse jobs: the Converse response
                body: dict[str, Any] = {"usage": {"inputTokens": i, "outputTokens": o, "totalTokens": i + o}}
            else:  # InvokeModel jobs: the model's own response body
                body = {"type": "message", "usage": {"input_tokens": i, "output_tokens": o}}
            rec: dict[str, Any] = {"recordId": f"REC{k:08d}", "modelInput": {"messages": []}, "modelOutput": body}
            if k == 17:  # a failed record: not billed
                del rec["modelOutput"]
                rec["error"] = {"errorCode": 400, "errorMessage": "bad request"}
            else:
                tin, tout = tin + i, tout + o
                out.append({"job": job, "record": rec["recordId"], "input": i, "output": o})
            lines.append(json.dumps(rec))
        (folder / "records.jsonl.out").write_text("\n".join(lines) + "\n")
        manifest = {"totalRecordCount": 120, "processedRecordCount": 120, "successRecordCount": 119}
        manifest.update(errorRecordCount=1, inputTokenCount=tin, outputTokenCount=tout)
        (folder / "manifest.json.out").write_text(json.dumps(manifest))
    return out


def batch_by_hand(rec: dict[str, Any]) -> Decimal:
    i, o = BATCH_RATES[rec["job"]["modelId"]]
    return (rec["input"] * Decimal(i) + rec["output"] * Decimal(o)) / 1000


def batch_keys(rec: dict[str, Any]) -> dict[str, str]:
    tags = {t["key"]: t["value"] for t in rec["job"]["tags"]}
    return {"model": rec["job"]["modelId"], "user": tags.get("gateway_user", "unknown"), "tag:team": tags["team"]}


def install_book(data_dir: Path) -> None:
    """The packaged book plus Nova Pro's tier rates and the image rates, where ``pricing update`` writes a book."""
    doc = json.loads(resources.files("bedrockctl.pricing").joinpath("data/prices.json").read_text())
    test_source = {"source": "tests/reconcile/test_month_billed_dims.py (rates written out in the test)"}
    doc["models"][NOVA_PRO]["tiers"] = {
        tier: dict(zip(("input", "output", "cache_read"), rates, strict=True))
        for tier, rates in TIER_RATES.items()
        if tier != "default"
    }
    doc["models"][NOVA_PRO].setdefault("sources", {}).update(
        {
            f"tiers.{t}.{d}": {**test_source, "as_of": "2026-12-06"}
            for t in ("priority", "flex")
            for d in ("input", "output", "cache_read")
        }
    )
    doc["images"] = {"unit": "USD per image, by quality/size", **test_source, "as_of": "2026-12-06"}
    doc["images"]["models"] = IMAGE_RATES
    path = data_dir / "pricing" / "prices.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def _record(n: int, day: date, region: str, model: str, who: str, op: str, tags: dict[str, str]) -> dict[str, Any]:
    return {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": f"{day}T17:{n % 60:02d}:00Z",
        "accountId": ACCOUNT,
        "identity": {"arn": who},
        "region": region,
        "requestId": f"20000000-0000-4000-8000-{n:012d}",
        "operation": op,
        "modelId": model,
        "input": {"inputContentType": "application/json", "inputTokenCount": 0},
        "output": {"outputContentType": "application/json", "outputTokenCount": 0},
        "requestMetadata": tags,
    }


def billed_dimensions() -> list[dict[str, Any]]:
    """A month of flex and priority calls (both Regions), images of two models in several sizes and qualities, and
    calls with a guardrail, in the real ``ModelInvocationLog`` shape."""
    records, n, day = [], 0, date(2026, 1, 1)
    while day.month == 1:
        for region in ("us-east-1", "eu-west-1"):
            n += 1
            r = _record(n, day, region, NOVA_PRO, ALICE, "Converse", {"team": "evals"})
            r["input"].update(inputTokenCount=3000 + day.day, cacheReadInputTokenCount=1024)
            r["output"]["outputTokenCount"] = 700
            r["serviceTier"] = {"type": "flex"}
            records.append(r)
        if day.weekday() == 2:
            n += 1
            r = _record(n, day, "us-east-1", NOVA_PRO, CI, "Converse", {"team": "support"})
            r["input"]["inputTokenCount"] = 1500
            r["output"]["outputTokenCount"] = 300
            # the tier as the logged Converse response body carries it
            r["output"]["outputBodyJson"] = {"serviceTier": {"type": "priority"}, "stopReason": "end_turn"}
            records.append(r)
        n += 1
        image = _record(n, day, "us-east-1", CANVAS, ALICE, "InvokeModel", {"team": "design"})
        config = {"numberOfImages": 2, "quality": "premium", "width": 2048, "height": 1536} if day.day % 2 else {}
        image["input"]["inputBodyJson"] = {"taskType": "TEXT_IMAGE", "imageGenerationConfig": config}
        records.append(image)
        if day.weekday() == 4:
            n += 1
            titan = _record(n, day, "us-east-1", TITAN_IMAGE, CI, "InvokeModel", {"team": "design"})
            config = {"numberOfImages": 3, "width": 512, "height": 512, "quality": "standard"}
            titan["input"]["inputBodyJson"] = {"taskType": "TEXT_IMAGE", "imageGenerationConfig": config}
            records.append(titan)
        n += 1
        guarded = _record(n, day, "us-east-1", NOVA_PRO, CI, "Converse", {"team": "support"})
        guarded["input"]["inputTokenCount"] = 800
        guarded["output"]["outputTokenCount"] = 150
        guarded["guardrailUsage"] = {
            "topicPolicyUnits": 2,
            "contentPolicyUnits": 2,
            "wordPolicyUnits": 2,
            "sensitiveInformationPolicyUnits": 1 + day.day % 3,
            "sensitiveInformationPolicyFreeUnits": 1,
            "contextualGroundingPolicyUnits": 0,
        }
        records.append(guarded)
        day += timedelta(days=1)
    return records


def _image_class(model: str, config: dict[str, Any]) -> tuple[str, int]:
    quality = config.get("quality", "standard")
    pixels = config.get("width", 1024) * config.get("height", 1024)
    sizes = sorted({k.split("/")[1] for k in IMAGE_RATES[model]}, key=lambda s: int(s.split("x")[0]) ** 2)
    size = next(s for s in sizes if pixels <= int(s.split("x")[0]) * int(s.split("x")[1]))
    return f"{quality}/{size}", config.get("numberOfImages", 1)


def by_hand(r: dict[str, Any]) -> dict[str, Decimal]:
    """The bill of one record, by what is metered: tokens, images, guardrail units."""
    parts: dict[str, Decimal] = {}
    tier = (r.get("serviceTier") or (r["output"].get("outputBodyJson") or {}).get("serviceTier") or {}).get("type")
    if r["modelId"] == NOVA_PRO:
        rates = TIER_RATES[tier or "default"]
        counts = (
            r["input"]["inputTokenCount"],
            r["output"]["outputTokenCount"],
            r["input"].get("cacheReadInputTokenCount", 0),
        )
        for dim, count, rate in zip(("input", "output", "cache_read"), counts, rates, strict=True):
            if count:
                parts[f"{tier or 'default'}:{dim}"] = Decimal(count) * Decimal(rate) / 1000
    config = (r["input"].get("inputBodyJson") or {}).get("imageGenerationConfig")
    if config is not None:
        cls, n = _image_class(r["modelId"], config)
        parts[f"image:{cls}"] = n * Decimal(IMAGE_RATES[r["modelId"]][cls])
    for key, units in (r.get("guardrailUsage") or {}).items():
        if units and Decimal(GUARDRAIL_RATES[key]):
            parts[f"guardrail:{key}"] = Decimal(units) * Decimal(GUARDRAIL_RATES[key]) / 1000
    return parts


def _rows(cli: Callable[..., Any], *args: str) -> dict[str, Decimal]:
    res = cli(*args, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["unpriced"] == [], doc["unpriced"]
    key = doc["group_by"][0]
    return {str(r[key] or ""): Decimal(str(r["cost_usd"])) for r in doc["rows"]}


def test_tiers_images_and_guardrail_units_are_priced_to_the_cent_per_model_user_and_tag(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(data))
    install_book(data)
    records = billed_dimensions()
    ingest(cli, tmp_path, records)
    batch = batch_jobs(tmp_path)
    res = cli("usage", "ingest", "--batch-output", str(tmp_path / "batch-output"), "--output", "json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert (report["new_invocations"], report["skipped_records"], report["bad_records"]) == (238, 2, 0)
    want: dict[str, dict[str, Decimal]] = {k: defaultdict(Decimal) for k in ("model", "user", "tag:team")}
    tiers: dict[str, Decimal] = defaultdict(Decimal)
    for b in batch:
        for by, key in batch_keys(b).items():
            want[by][key] += batch_by_hand(b)
        tiers["batch"] += batch_by_hand(b)
    for r in records:
        cost = sum(by_hand(r).values(), Decimal(0))
        want["model"][r["modelId"]] += cost
        want["user"][USERS[r["identity"]["arn"]]] += cost
        want["tag:team"][r["requestMetadata"]["team"]] += cost
        for part, usd in by_hand(r).items():
            tiers[part.split(":")[0] if part.split(":")[0] in TIER_RATES else "default"] += usd
    since, until = f"{MONTH}-01", f"{MONTH}-31"
    for by, expected in want.items():
        got = _rows(cli, "usage", "report", "--by", by, "--since", since, "--until", until)
        assert got == dict(expected), by
        assert {k: v.quantize(Decimal("0.01")) for k, v in got.items()} == {
            k: v.quantize(Decimal("0.01")) for k, v in expected.items()
        }
        assert _rows(cli, "cost", "--period", f"{since}:{until}", "--by", by) == got
    # every dimension is in the month, and the tier each call ran in is a report dimension of its own
    parts = {p.split(":")[0] + ":" + p.split(":")[1].split("/")[0] for r in records for p in by_hand(r)}
    assert {"flex:input", "flex:cache_read", "priority:output", "default:input"} <= parts
    assert {"image:premium", "image:standard", "guardrail:sensitiveInformationPolicyUnits"} <= parts
    assert _rows(cli, "usage", "report", "--by", "service_tier", "--since", since, "--until", until) == dict(tiers)


def test_without_tier_or_image_rates_those_calls_are_unpriced_with_the_reason(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(tmp_path / "data"))  # the packaged book: no tier or image rates
    ingest(cli, tmp_path, billed_dimensions())
    res = cli("usage", "report", "--by", "model", "--since", f"{MONTH}-01", "--until", f"{MONTH}-31", "--json")
    doc = json.loads(res.stdout)
    unpriced = {(u["model_id"], u.get("service_tier", "default")): u for u in doc["unpriced"]}
    assert set(unpriced) == {(NOVA_PRO, "flex"), (NOVA_PRO, "priority"), (CANVAS, "default"), (TITAN_IMAGE, "default")}
    assert "flex-tier rates" in unpriced[(NOVA_PRO, "flex")]["reason"]
    assert "image rates are not in this hand-curated book" in unpriced[(CANVAS, "default")]["reason"]
    # the guardrail units of default-tier calls are still priced
    guarded = [r for r in billed_dimensions() if r.get("guardrailUsage")]
    row = next(r for r in doc["rows"] if r["model"] == NOVA_PRO)
    assert Decimal(str(row["cost_usd"])) == sum((sum(by_hand(r).values(), Decimal(0)) for r in guarded), Decimal(0))


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
