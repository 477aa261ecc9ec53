"""From a call to a report: Converse calls with a guardrail and in the flex tier (real boto3 over HTTP against the
sandbox), their invocation-log records read back from CloudWatch Logs by ``usage ingest``, and ``usage report``
pricing the guardrail text units per policy, and listing the flex calls as unpriced with the reason (the packaged
book has no flex rates)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from bedrockctl.analytics.ingest import ingest
from bedrockctl.analytics.reports import duckdb_runner, run_report
from bedrockctl.analytics.store import UsageStore
from bedrockctl.aws.session import SessionFactory
from bedrockctl.settings import AwsSettings

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
# USD per 1,000: Claude 3 Haiku input / output tokens; guardrail text units of content filters, denied topics and
# sensitive information (PII) (the AWS Bedrock pricing page)
INPUT, OUTPUT = Decimal("0.00025"), Decimal("0.00125")
UNITS = {"contentPolicyUnits": Decimal("0.15"), "topicPolicyUnits": Decimal("0.15")}
UNITS["sensitiveInformationPolicyUnits"] = Decimal("0.10")


def test_guardrail_units_and_the_flex_tier_from_a_call_to_the_report(
    tmp_path: Path, sandbox_env: Any, boto_client: Callable[..., Any], invocation_log_reader: Any
) -> None:
    bedrock, rt = boto_client("bedrock"), boto_client("bedrock-runtime")
    guardrail = bedrock.create_guardrail(
        name="report-units",
        blockedInputMessaging="Blocked.",
        blockedOutputsMessaging="Blocked.",
        contentPolicyConfig={"filtersConfig": [{"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"}]},
        topicPolicyConfig={"topicsConfig": [{"name": "Legal advice", "definition": "Advice on law.", "type": "DENY"}]},
        sensitiveInformationPolicyConfig={"piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"}]},
    )["guardrailId"]
    cfg = {"guardrailIdentifier": guardrail, "guardrailVersion": "DRAFT"}
    guarded = [
        rt.converse(
            modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "hello " * n}]}], guardrailConfig=cfg
        )
        for n in (1, 400)
    ]
    flex = rt.converse(
        modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "later"}]}], serviceTier={"type": "flex"}
    )
    records = invocation_log_reader()
    assert len(records) == 3 and records[-1]["serviceTier"] == {"type": "flex"}

    store = UsageStore(tmp_path / "usage")
    sessions = SessionFactory(AwsSettings(region="us-east-1", endpoint_url=sandbox_env.endpoint_url, retry_attempts=1))
    assert ingest(store, ["cloudwatch:/bedrock/billing"], sessions=sessions).new_invocations == 3
    con = store.connect()
    try:
        report = run_report(duckdb_runner(con), "model").to_dict()
        tiers = run_report(duckdb_runner(con), "service_tier").to_dict()
    finally:
        con.close()

    tokens = sum(
        (Decimal(r["usage"]["inputTokens"]) * INPUT + Decimal(r["usage"]["outputTokens"]) * OUTPUT for r in guarded),
        Decimal(0),
    )
    units = [r["guardrailUsage"] for r in records[:2]]
    assert units[1]["contentPolicyUnits"] > units[0]["contentPolicyUnits"]  # a longer prompt: more text units
    guardrails = sum((Decimal(u[k]) * rate for u in units for k, rate in UNITS.items()), Decimal(0))
    (row,) = report["rows"]
    assert row["cost_usd"] == (tokens + guardrails) / 1000
    (unpriced,) = report["unpriced"]
    assert (unpriced["model_id"], unpriced["service_tier"], unpriced["invocations"]) == (HAIKU, "flex", 1)
    assert "flex-tier rates" in unpriced["reason"] and flex["serviceTier"] == {"type": "flex"}
    by_tier = {r["service_tier"]: (r["invocations"], r["unpriced_invocations"]) for r in tiers["rows"]}
    assert by_tier == {"default": (2, 0), "flex": (1, 1)}
