"""SageMaker endpoint usage: invocation metrics of every endpoint in one batched ``GetMetricData``, the usage
summary and the instance-hour cost.

``endpoint_metrics`` builds one query per (endpoint, variant, metric) and sends them together (500 queries per
call, the API limit; ``NextToken`` pages followed), instead of one ``GetMetricStatistics`` per endpoint, variant
and metric. Instance hours are ``instance_count x hours`` in the window (from the endpoint's creation time when
later), priced with ``pricing.hourly.InstancePrices`` (hosting, on-demand, per instance-hour).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bedrockctl.pricing.hourly import InstancePrices, Unpriced

METRICS = (
    ("invocations", "Invocations", "Sum"),
    ("invocation_4xx_errors", "Invocation4XXErrors", "Sum"),
    ("invocation_5xx_errors", "Invocation5XXErrors", "Sum"),
    ("model_latency_avg_ms", "ModelLatency", "Average"),
)
MAX_QUERIES = 500


def endpoint_metrics(
    cloudwatch: Any, endpoints: Sequence[dict[str, Any]], days: int = 7, now: datetime | None = None
) -> dict[str, dict[str, Any]]:
    """``endpoints``: items with ``name`` and ``variants`` (``[{"name": ...}]``). One batched GetMetricData."""
    now = now or datetime.now(UTC)
    start, end = now - timedelta(days=days), now + timedelta(minutes=1)
    period = 3600 if days <= 60 else 86400
    queries: list[dict[str, Any]] = []
    meta: dict[str, tuple[str, str, str]] = {}
    for e in endpoints:
        for v in e.get("variants") or []:
            for key, metric, stat in METRICS:
                qid = f"q{len(queries)}"
                meta[qid] = (str(e["name"]), key, stat)
                queries.append(
                    {
                        "Id": qid,
                        "MetricStat": {
                            "Metric": {
                                "Namespace": "AWS/SageMaker",
                                "MetricName": metric,
                                "Dimensions": [
                                    {"Name": "EndpointName", "Value": str(e["name"])},
                                    {"Name": "VariantName", "Value": str(v["name"])},
                                ],
                            },
                            "Period": period,
                            "Stat": stat,
                        },
                        "ReturnData": True,
                    }
                )
    out: dict[str, dict[str, Any]] = {
        str(e["name"]): {
            "endpoint_name": e["name"],
            "days": days,
            "variants": [v["name"] for v in e.get("variants") or []],
            **{k: 0 for k, _, s in METRICS if s == "Sum"},
            "model_latency_avg_ms": None,
            "last_invocation": None,
        }
        for e in endpoints
    }
    latency: dict[str, list[float]] = {}
    for i in range(0, len(queries), MAX_QUERIES):
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries[i : i + MAX_QUERIES],
            "StartTime": start,
            "EndTime": end,
        }
        while True:
            page = cloudwatch.get_metric_data(**kwargs)
            for res in page.get("MetricDataResults", []):
                name, key, stat = meta[res["Id"]]
                values = [float(x) for x in res.get("Values", [])]
                row = out[name]
                if stat == "Average":
                    latency.setdefault(name, []).extend(values)
                    continue
                row[key] += int(sum(values))
                if key == "invocations":
                    stamps = [t for t, x in zip(res.get("Timestamps", []), values, strict=False) if x]
                    if stamps:
                        last = max(stamps).astimezone(UTC).isoformat()
                        row["last_invocation"] = max(row["last_invocation"] or "", last)
            token = page.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    for name, values in latency.items():
        if values:  # ModelLatency is reported in microseconds
            out[name]["model_latency_avg_ms"] = round(sum(values) / len(values) / 1000, 3)
    return out


def instance_cost(
    endpoint: dict[str, Any], days: int, region: str, prices: InstancePrices, now: datetime | None = None
) -> dict[str, Any]:
    """Instance hours and their cost over the window for one endpoint item (``variants`` with type and count)."""
    now = now or datetime.now(UTC)
    start = now - timedelta(days=days)
    created = endpoint.get("creation_time")
    if created:
        c = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        start = max(start, c if c.tzinfo else c.replace(tzinfo=UTC))
    hours = Decimal(str(round(max((now - start).total_seconds(), 0) / 3600, 6)))
    total, unpriced, lines = Decimal(0), [], []
    for v in endpoint.get("variants") or []:
        count = int(v.get("instance_count") or 0)
        rate = prices.rate(None if v.get("serverless") else v.get("instance_type"), region)
        if isinstance(rate, Unpriced):
            unpriced.append(v.get("instance_type") or "unknown")
            continue
        price = rate.usd_per_hour
        cost = price * hours * count
        total += cost
        lines.append(
            {
                "variant": v.get("name"),
                "instance_type": v.get("instance_type"),
                "count": count,
                "usd_per_hour": str(price),
                "cost_usd": str(cost.quantize(Decimal("0.000001"))),
            }
        )
    return {
        "instance_hours": format(
            (hours * sum(int(v.get("instance_count") or 0) for v in endpoint.get("variants") or [])).normalize(), "f"
        ),
        "cost_usd": str(total.quantize(Decimal("0.000001"))),
        "variants": lines,
        "unpriced_instance_types": unpriced,
    }


def usage_summary(
    endpoints: Sequence[dict[str, Any]],
    metrics: dict[str, dict[str, Any]],
    days: int,
    region: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The plugin's usage summary shape, with instance-hour cost per endpoint and in total."""
    prices = InstancePrices.load()
    rows = []
    for e in endpoints:
        rows.append({**e, "metrics": metrics[str(e["name"])], "cost": instance_cost(e, days, region, prices, now)})
    active = [r for r in rows if r.get("status") == "InService"]
    return {
        "summary": {
            "region": region,
            "days": days,
            "total_endpoints": len(rows),
            "active_endpoints": len(active),
            "idle_endpoints": sum(1 for r in active if r["metrics"]["invocations"] == 0),
            "total_invocations_last_n_days": sum(r["metrics"]["invocations"] for r in rows),
            "total_errors_last_n_days": sum(
                r["metrics"]["invocation_4xx_errors"] + r["metrics"]["invocation_5xx_errors"] for r in rows
            ),
            "instance_cost_usd": str(sum((Decimal(r["cost"]["cost_usd"]) for r in rows), Decimal(0))),
            "price_list": {"source": prices.source, "as_of": prices.as_of.isoformat()},
        },
        "endpoints": rows,
    }
