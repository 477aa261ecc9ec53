"""``cost reconcile --month``: estimate vs Cost Explorer by usage type, the gap explained (sandbox CE)."""

from __future__ import annotations

import gzip
import json
import re
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import moto.core.base_backend  # noqa: F401 - import moto before the sandbox's warm-up thread does (import race)
import pytest

from bedrockctl.samples import SampleSet

ACCOUNT = "123456789012"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    from typer.testing import CliRunner

    from bedrockctl.cli.app import app

    monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(tmp_path / "data"))
    return lambda *a: CliRunner().invoke(app, list(a), catch_exceptions=False)


def group(service: str, usage_type: str, cost: str, qty: str) -> dict[str, Any]:
    return {
        "Keys": [service, usage_type],
        "Metrics": {"UnblendedCost": {"Amount": cost, "Unit": "USD"}, "UsageQuantity": {"Amount": qty, "Unit": "N/A"}},
    }


def trail_event(samples: SampleSet, rid: str, when: str, region: str, error: str | None = None) -> dict[str, Any]:
    rec = json.loads(gzip.decompress(samples.trail_file.read_bytes()))["Records"][0]
    rec.update({"eventTime": when, "awsRegion": region, "requestID": rid, "eventID": rid})
    if error:
        rec["errorCode"] = error
    return rec


def test_reconcile_explains_the_gap(
    cli: Callable[..., Any], tmp_path: Path, sandbox_env: Any, samples: SampleSet
) -> None:
    src = samples.dir
    # CloudTrail saw two successful calls the day after the samples in us-west-2 that have no invocation log, and
    # one failed call
    day3 = samples.day("2026-11-22")
    extra = [
        trail_event(samples, "c0000000-0000-4000-8000-000000000001", f"{day3}T10:00:00Z", "us-west-2"),
        trail_event(samples, "c0000000-0000-4000-8000-000000000002", f"{day3}T11:00:00Z", "us-west-2"),
        trail_event(
            samples, "c0000000-0000-4000-8000-000000000003", f"{day3}T12:00:00Z", "us-west-2", "ThrottlingException"
        ),
    ]
    (src / "extra-trail.json").write_text(json.dumps({"Records": extra}))
    res = cli(
        "usage",
        "ingest",
        "--invocation-logs",
        str(samples.invocation_logs),
        "--cloudtrail",
        str(samples.trail_file),
        "--cloudtrail",
        str(src / "extra-trail.json"),
    )
    assert res.exit_code == 0, res.output
    by_model = json.loads(cli("usage", "report", "--by", "model", "--json").stdout)
    haiku = next(r for r in by_model["rows"] if r["model"] == "us.anthropic.claude-3-5-haiku-20241022-v1:0")
    per_call = Decimal(haiku["cost_usd"]) / (haiku["invocations"] - 3)  # 3 CloudTrail-only rows: no tokens

    results = {
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": str(samples.month_start), "End": str(samples.next_month_start)},
                "Total": {},
                "Groups": [
                    group("Amazon Bedrock", "USE1-Claude3.5Haiku-input-tokens", "0.03", "30"),
                    group("Amazon Bedrock", "USE1-Claude3.5Haiku-output-tokens", "0.02", "5"),
                    group(
                        "Claude 3.7 Sonnet (Amazon Bedrock Edition)", "USE1-MP:USE1_InputTokenCount-Units", "0.01", "2"
                    ),
                    group("Amazon Bedrock", "USE1-ProvisionedThroughput-NoCommit-ModelUnits", "39.6", "2"),
                    group("Amazon Bedrock", "USE1-KnowledgeBase-Storage", "0.5", "1"),
                    group("Amazon Simple Storage Service", "TimedStorage-ByteHrs", "1.0", "100"),
                ],
                "Estimated": False,
            }
        ],
        "DimensionValueAttributes": [],
    }
    req = urllib.request.Request(
        f"{sandbox_env.endpoint_url}/moto-api/static/ce/cost-and-usage-results",
        data=json.dumps({"account_id": ACCOUNT, "results": [results]}).encode(),
        method="POST",
    )
    urllib.request.urlopen(req, timeout=10).close()

    data = json.loads(cli("cost", "reconcile", "--month", samples.month, "--json").stdout)
    assert data["estimate_usd"] == "0.0557388"
    assert data["actual_usd"] == "40.16"  # S3 is not Bedrock
    assert data["gap_usd"] == str(Decimal("40.16") - Decimal("0.0557388"))
    assert {r["usage_type"]: r["category"] for r in data["by_usage_type"]} == {
        "USE1-ProvisionedThroughput-NoCommit-ModelUnits": "provisioned_throughput",
        "USE1-KnowledgeBase-Storage": "other",
        "USE1-Claude3.5Haiku-input-tokens": "tokens",
        "USE1-Claude3.5Haiku-output-tokens": "tokens",
        "USE1-MP:USE1_InputTokenCount-Units": "tokens",
    }
    ex = data["explained"]
    assert ex["provisioned_throughput"] == {"cost_usd": "39.6", "hours": "2"}
    assert ex["other_usage_types_usd"] == "0.5"
    assert ex["token_usage"] == {"estimate_usd": "0.0557388", "actual_usd": "0.06", "gap_usd": "0.0042612"}
    cov = data["log_coverage"]
    assert cov["calls_without_logs"] == 2 and cov["unvalued_calls"] == 0
    assert [(g["day"], g["region"], g["calls"]) for g in cov["days_regions"]] == [(day3, "us-west-2", 2)]
    assert Decimal(ex["log_coverage_usd"]) == per_call * 2
    residual = Decimal("40.16") - Decimal("0.0557388") - per_call * 2 - Decimal("39.6") - Decimal("0.5")
    assert Decimal(ex["residual_usd"]) == residual

    text = cli("cost", "reconcile", "--month", samples.month).output
    assert "log coverage: 2 calls" in text and f"{day3} us-west-2" in text
    assert max(len(d) for d in re.findall(r"\d\.(\d+)", text)) <= 8  # one money format, no 28-digit averages


def test_bad_month_is_a_clear_error(cli: Callable[..., Any], sandbox_env: Any) -> None:
    from bedrockctl.analytics.errors import ReportSpecError

    res = cli("cost", "reconcile", "--month", "2026-13", "--json")
    assert res.exit_code == ReportSpecError.exit_code
    assert json.loads(res.stdout)["error"]["code"] == ReportSpecError.code
