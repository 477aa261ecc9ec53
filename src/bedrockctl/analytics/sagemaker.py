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
    ("overhead_latency_avg_ms", "OverheadLatency", "Average"),
)
MAX_QUERIES = 500


def new_metrics_row(endpoint_name: str, days: int, variants: Sequence[str]) -> dict[str, Any]:
    """An endpoint's metrics before any datapoint: sums 0, averages and the last invocation ``None``."""
    return {
        "endpoint_name": endpoint_name,
        "days": days,
        "variants": list(variants),
        **{key: (0 if stat == "Sum" else None) for key, _, stat in METRICS},
        "last_invocation": None,
    }


def add_datapoints(
    row: dict[str, Any], averages: dict[str, list[float]], key: str, values: Sequence[float], stamps: Sequence[Any]
) -> None:
    """Fold one metric's datapoints into ``row``: sums add up, averages are collected in ``averages``."""
    if any(k == key and stat == "Average" for k, _, stat in METRICS):
        averages.setdefault(key, []).extend(values)
        return
    row[key] += int(sum(values))
    if key == "invocations":
        busy = [t for t, x in zip(stamps, values, strict=False) if x]
        if busy:
            last = max(busy).astimezone(UTC).isoformat()
            row["last_invocation"] = max(row["last_invocation"] or "", last)


def finish_metrics_row(row: dict[str, Any], averages: dict[str, list[float]]) -> dict[str, Any]:
    """Averages in milliseconds (SageMaker reports latencies in microseconds) and OpenCITE's names
    (``period_days``, ``errors_4xx``, ``errors_5xx``)."""
    for key, values in averages.items():
        if values:
            row[key] = round(sum(values) / len(values) / 1000, 3)
    row.update(
        period_days=row["days"], errors_4xx=row["invocation_4xx_errors"], errors_5xx=row["invocation_5xx_errors"]
    )
    return row


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
    out = {
        str(e["name"]): new_metrics_row(str(e["name"]), days, [v["name"] for v in e.get("variants") or []])
        for e in endpoints
    }
    averages: dict[str, dict[str, list[float]]] = {name: {} for name in out}
    for i in range(0, len(queries), MAX_QUERIES):
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries[i : i + MAX_QUERIES],
            "StartTime": start,
            "EndTime": end,
        }
        while True:
            page = cloudwatch.get_metric_data(**kwargs)
            for res in page.get("MetricDataResults", []):
                name, key, _ = meta[res["Id"]]
                values = [float(x) for x in res.get("Values", [])]
                add_datapoints(out[name], averages[name], key, values, res.get("Timestamps", []))
            token = page.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    return {name: finish_metrics_row(row, averages[name]) for name, row in out.items()}


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
    in_service = [r for r in rows if r.get("status") == "InService"]
    return {
        "summary": {
            "region": region,
            "days": days,
            "total_endpoints": len(rows),
            "active_endpoints": sum(1 for r in rows if r["metrics"]["invocations"] > 0),  # OpenCITE's meaning
            "in_service_endpoints": len(in_service),
            "idle_endpoints": sum(1 for r in in_service if r["metrics"]["invocations"] == 0),
            "total_invocations_last_n_days": sum(r["metrics"]["invocations"] for r in rows),
            "total_errors_last_n_days": sum(
                r["metrics"]["invocation_4xx_errors"] + r["metrics"]["invocation_5xx_errors"] for r in rows
            ),
            "instance_cost_usd": str(sum((Decimal(r["cost"]["cost_usd"]) for r in rows), Decimal(0))),
            "price_list": {"source": prices.source, "as_of": prices.as_of.isoformat()},
        },
        "endpoints": rows,
    }
