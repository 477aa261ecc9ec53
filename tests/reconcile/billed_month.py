"""The generated month's billed dimensions besides token rates, shared by ``test_month_billed_dims`` (priced by
``usage report`` and ``cost``) and ``test_month_billed_dims_reconcile`` (``cost reconcile`` against a CUR 2.0 bill):
service tiers (priority, flex), images per image by quality and size, guardrail text units per policy type, and
batch inference jobs (their output as Bedrock leaves it), with their cost computed here by hand from rates written
out below (not read from the price book).

Rates: guardrails are the AWS Bedrock pricing page's (the packaged book's ``guardrails``); image and tier rates are
not in the packaged book (no AWS figure confirmed for it: ``bedrockctl pricing update`` reads them from the Price
List), so the tests install a book with them in the data directory, where ``pricing update`` writes one. The image
rates are the AWS page's figures for Nova Canvas and Titan Image Generator v2 as secondary sources quote them (not
re-read from the page); batch rates are on-demand less 50% (the book's ``batch_discount``); the tier rates are the
tests' own (Nova Pro at 1.75x standard for priority and 0.5x for flex, the multipliers of the Price List fixture of
``tests/pricing``).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from .test_cur_reconcile import ACCOUNT, ALICE, CI

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
    test_source = {"source": "tests/reconcile/billed_month.py (rates written out in the test)"}
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
