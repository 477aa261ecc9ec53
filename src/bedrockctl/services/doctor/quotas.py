"""The quota check: a model's on-demand tokens-per-minute quota (Service Quotas) against its peak minute of the last
7 days (CloudWatch), within both APIs' limits.

- Service Quotas is read once per doctor run, whatever the number of models: the Bedrock quotas applied to the
  account (``ListServiceQuotas``) over AWS's defaults (``ListAWSDefaultServiceQuotas``), 100 per page.
- CloudWatch: one ``GetMetricData`` per model for the per-minute sums of input and of output tokens over 7 days
  (2 x 10,080 points, inside the 100,800 a call may return; ``GetMetricStatistics`` returns at most 1,440, too few
  for a 60-second period over 7 days), added up per minute.

Every skip says why (which API answered what) and what would let the check run.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from bedrockctl.aws.errors import aws_errors
from bedrockctl.catalog import get_model
from bedrockctl.errors import BedrockctlError
from bedrockctl.services.doctor.model import Check, Facts, skipped_without_credentials

TITLE = "On-demand quotas vs 7-day peak"
WINDOW = timedelta(days=7)
PERIOD = 60  # seconds: the quota is per minute
READ_QUOTAS = "`bedrockctl policy --features usage` (servicequotas:ListServiceQuotas, ListAWSDefaultServiceQuotas)"
_LOCK = threading.Lock()


def bedrock_quotas(facts: Facts) -> list[dict[str, Any]]:
    """The Bedrock quotas in the region (applied values over defaults), read once per run (kept on ``facts``)."""
    with _LOCK:
        cached = facts.memo.get("bedrock_quotas")
        if cached is None:
            client = facts.client("service-quotas")
            by_code: dict[str, dict[str, Any]] = {}
            for operation in ("list_aws_default_service_quotas", "list_service_quotas"):
                with aws_errors(service="service-quotas", operation=operation):
                    for page in client.get_paginator(operation).paginate(ServiceCode="bedrock", MaxResults=100):
                        by_code.update({str(q["QuotaCode"]): q for q in page.get("Quotas", [])})
            cached = facts.memo["bedrock_quotas"] = list(by_code.values())
    return list(cached)


def peak_tokens_per_minute(facts: Facts, model: str) -> float:
    """The largest per-minute sum of input and output tokens of ``model`` in the last 7 days (both metrics in one
    paginated GetMetricData, added up per minute)."""
    end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)  # the minute under way too

    def metric(qid: str, name: str) -> dict[str, Any]:
        dimensions = [{"Name": "ModelId", "Value": model}]
        stat = {
            "Metric": {"Namespace": "AWS/Bedrock", "MetricName": name, "Dimensions": dimensions},
            "Period": PERIOD,
            "Stat": "Sum",
        }
        return {"Id": qid, "MetricStat": stat, "ReturnData": True}

    queries = [metric("input", "InputTokenCount"), metric("output", "OutputTokenCount")]
    per_minute: dict[datetime, float] = {}
    with aws_errors(service="cloudwatch", operation="GetMetricData"):
        pages = facts.client("cloudwatch").get_paginator("get_metric_data")
        for page in pages.paginate(MetricDataQueries=queries, StartTime=end - WINDOW, EndTime=end):
            for result in page.get("MetricDataResults", []):
                for when, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                    per_minute[when] = per_minute.get(when, 0.0) + float(value)
    return max(per_minute.values(), default=0.0)


def quota_check(facts: Facts, model: str) -> Check:
    kw: dict[str, Any] = {"target": model, "region": facts.region}
    if not facts.credentials_ok:
        return skipped_without_credentials("quotas", TITLE, "medium", **kw)
    base = model.split(".", 1)[1] if model.split(".", 1)[0] in ("us", "eu", "apac", "global") else model
    fm = get_model(base)
    try:
        quotas = bedrock_quotas(facts)
    except BedrockctlError as exc:
        return Check(
            "quotas", TITLE, "medium", "skip",
            f"Service Quotas did not list the bedrock quotas in {facts.region}: {exc.code}: {exc.message}",
            f"Allow reading them: {READ_QUOTAS}.", **kw,
        )  # fmt: skip
    name = (fm.model_name if fm else base).lower()
    named = [
        q for q in quotas
        if name in str(q.get("QuotaName", "")).lower() and "tokens per minute" in str(q.get("QuotaName", "")).lower()
    ]  # fmt: skip
    on_demand = [q for q in named if "on-demand" in str(q["QuotaName"]).lower()]
    cross = "cross-region" if model != base else ""
    tpm = next((q for q in on_demand if cross in str(q["QuotaName"]).lower()), None) or next(iter(on_demand), None)
    if tpm is None:
        return Check(
            "quotas", TITLE, "medium", "skip",
            f"None of the {len(quotas)} bedrock quotas in {facts.region} is an on-demand tokens-per-minute quota "
            f"named for {fm.model_name if fm else base}.", **kw,
        )  # fmt: skip
    try:
        peak = peak_tokens_per_minute(facts, model)
    except BedrockctlError as exc:
        return Check(
            "quotas", TITLE, "medium", "skip", f"CloudWatch GetMetricData failed: {exc.code}: {exc.message}",
            "Allow cloudwatch:GetMetricData (`bedrockctl policy --features usage`).", **kw,
        )  # fmt: skip
    limit = float(tpm.get("Value") or 0)
    ratio = peak / limit if limit else 0.0
    evidence = f"{tpm['QuotaName']} = {limit:.0f}; 7-day peak {peak:.0f} tokens in a minute ({ratio:.0%})."
    data = {"quota": limit, "peak_tokens_per_minute": peak, "quota_code": tpm.get("QuotaCode")}
    fix = (
        f"aws service-quotas request-service-quota-increase --service-code bedrock --quota-code "
        f"{tpm.get('QuotaCode')} --desired-value {int(limit * 2)}"
    )
    if ratio >= 1:
        return Check("quotas", TITLE, "high", "fail", evidence, fix, data=data, **kw)
    if ratio >= 0.8:
        return Check("quotas", TITLE, "medium", "warn", evidence, fix, data=data, **kw)
    return Check("quotas", TITLE, "medium", "pass", evidence, data=data, **kw)
