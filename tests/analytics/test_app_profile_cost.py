"""Calls through an application inference profile are priced as the model it routes to, in its Region; a profile
that cannot be read is unpriced with the reason, never priced by guess."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from bedrockctl.analytics.ingest import ingest
from bedrockctl.analytics.reports import duckdb_runner, run_report
from bedrockctl.analytics.store import UsageStore
from bedrockctl.aws.inference_profiles import ProfileResolver
from bedrockctl.pricing import PriceBook

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def _record(n: int, model_id: str) -> dict[str, object]:
    return {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": f"2026-11-20T10:00:{n:02d}Z",
        "accountId": "123456789012",
        "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/app/i-0abc"},
        "region": "us-east-1",
        "requestId": f"00000000-0000-4000-8000-0000000000{n:02d}",
        "operation": "Converse",
        "modelId": model_id,
        "input": {"inputContentType": "application/json", "inputTokenCount": 1000},
        "output": {"outputContentType": "application/json", "outputTokenCount": 100},
    }


def _report(tmp_path: Path, model_id: str, profiles: ProfileResolver | None) -> Any:
    logs = tmp_path / "logs.jsonl"
    logs.write_text("\n".join(json.dumps(_record(n, model_id)) for n in range(3)) + "\n")
    store = UsageStore(tmp_path / "usage")
    ingest(store, [str(logs)], fast=True, progress=False)
    con = store.connect()
    try:
        return run_report(duckdb_runner(con), "model", since="2026-11-01", until="2026-12-01", profiles=profiles)
    finally:
        con.close()


def test_application_profile_priced_through_its_model(tmp_path: Path, boto_client: Callable[..., Any]) -> None:
    bedrock = boto_client("bedrock")
    arn = bedrock.create_inference_profile(
        inferenceProfileName="search-haiku",
        modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"},
        tags=[{"key": "team", "value": "search"}],
    )["inferenceProfileArn"]
    calls: list[str] = []

    def client_for(region: str) -> Any:
        calls.append(region)
        return boto_client("bedrock", region)

    resolver = ProfileResolver(client_for)
    report = _report(tmp_path, arn, resolver)
    # Haiku on demand in us-east-1: $0.00025 per 1k input, $0.00125 per 1k output (the book's rates, checked here)
    price = PriceBook.load().price(HAIKU, "us-east-1")
    assert price is not None and (price.input_per_1k, price.output_per_1k) == (Decimal("0.00025"), Decimal("0.00125"))
    assert report.rows[0]["model"] == arn
    assert report.rows[0]["cost_usd"] == 3 * (Decimal("0.00025") + Decimal("0.000125"))
    assert report.unpriced == []
    resolved = resolver.resolve(arn)
    assert resolved is not None and resolved.model_id == HAIKU and resolved.tags == {"team": "search"}
    assert calls == ["us-east-1"]  # asked once, then cached


def test_unreadable_profile_is_unpriced_with_the_reason(tmp_path: Path, boto_client: Callable[..., Any]) -> None:
    missing = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdef123456"
    report = _report(tmp_path, missing, ProfileResolver(lambda region: boto_client("bedrock", region)))
    assert report.rows[0]["cost_usd"] == 0 and report.rows[0]["unpriced_invocations"] == 3
    assert report.unpriced[0]["model_id"] == missing
    assert "ResourceNotFound" in report.unpriced[0]["reason"] or "not found" in report.unpriced[0]["reason"].lower()
    (tmp_path / "offline").mkdir()
    offline = _report(tmp_path / "offline", missing, None)
    assert "not resolved" in offline.unpriced[0]["reason"]
