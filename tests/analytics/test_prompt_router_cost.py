"""Calls through a prompt router, as the sandbox's invocation log records them (``modelId`` = the router ARN), are
priced as the model the router invoked, which the logged Converse response names (``trace.promptRouter``); without
the response body (text data delivery off) they are unpriced with the reason, never priced by guess."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bedrockctl.analytics.ingest import ingest
from bedrockctl.analytics.reports import duckdb_runner, run_report
from bedrockctl.analytics.store import UsageStore
from bedrockctl.sandbox.bedrock.control_routers import ROUTE_BYTES

ROUTER = "arn:aws:bedrock:us-east-1:123456789012:default-prompt-router/meta.llama:1"
# Llama 3.1 8B / 70B on demand in us-east-1: USD 0.00022 / 0.00072 per 1,000 input and output tokens
PER_1K = {"8b": Decimal("0.00022"), "70b": Decimal("0.00072")}


def _logged_calls(boto_client: Callable[..., Any], text_delivery: bool) -> tuple[list[dict[str, Any]], Decimal]:
    boto_client("logs").create_log_group(logGroupName="/bedrock/invocations")
    boto_client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={
            "cloudWatchConfig": {
                "logGroupName": "/bedrock/invocations",
                "roleArn": "arn:aws:iam::123456789012:role/bedrock-logging",
            },
            "textDataDeliveryEnabled": text_delivery,
        }
    )
    rt = boto_client("bedrock-runtime")
    expected = Decimal(0)
    for size, model in ((20, "8b"), (ROUTE_BYTES + 100, "70b"), (40, "8b")):
        messages = [{"role": "user", "content": [{"text": "w" * size}]}]
        answer = rt.converse(modelId=ROUTER, messages=messages, inferenceConfig={"maxTokens": 20})
        assert model in answer["trace"]["promptRouter"]["invokedModelId"]
        used = answer["usage"]
        expected += (used["inputTokens"] + used["outputTokens"]) * PER_1K[model] / 1000
    events = boto_client("logs").filter_log_events(logGroupName="/bedrock/invocations")["events"]
    records = [json.loads(e["message"]) for e in events]
    assert len(records) == 3 and {r["modelId"] for r in records} == {ROUTER}  # the log names the router
    return records, expected


def _report(tmp_path: Path, records: list[dict[str, Any]], fast: bool) -> Any:
    logs = tmp_path / "logs.jsonl"
    logs.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    store = UsageStore(tmp_path / "usage")
    ingest(store, [str(logs)], fast=fast, progress=False)
    con = store.connect()
    try:
        return run_report(duckdb_runner(con), "model", days=30)
    finally:
        con.close()


@pytest.mark.parametrize("fast", [True, False])
def test_router_records_priced_by_the_invoked_model(
    tmp_path: Path, boto_client: Callable[..., Any], fast: bool
) -> None:
    records, expected = _logged_calls(boto_client, text_delivery=True)
    report = _report(tmp_path, records, fast)
    assert [r["model"] for r in report.rows] == [ROUTER]
    assert report.rows[0]["cost_usd"] == expected > 0 and report.unpriced == []


def test_router_records_without_bodies_are_unpriced_with_the_reason(
    tmp_path: Path, boto_client: Callable[..., Any]
) -> None:
    records, _ = _logged_calls(boto_client, text_delivery=False)
    report = _report(tmp_path, records, True)
    assert report.rows[0]["cost_usd"] == 0 and report.rows[0]["unpriced_invocations"] == 3
    assert report.unpriced[0]["model_id"] == ROUTER and "prompt router" in report.unpriced[0]["reason"]
