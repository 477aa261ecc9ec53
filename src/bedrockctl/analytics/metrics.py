"""``usage publish-metrics``: per-model and per-team tokens and cost as CloudWatch metrics.

For each day of the period, ``PutMetricData`` into the namespace (default ``Bedrockctl/Usage``) with the day
(00:00 UTC) as timestamp and one dimension, ``Model`` (the model id as called) or ``Team`` (``(none)`` when
untagged): ``Invocations``, ``InputTokens``, ``OutputTokens``, ``CacheReadTokens``, ``CacheWriteTokens`` (Count)
and ``CostUSD`` (None). Batches of at most 1,000 metric data per call (the API limit).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bedrockctl.analytics.reports import Report

DEFAULT_NAMESPACE = "Bedrockctl/Usage"
BATCH = 1000
METRIC_NAMES = {
    "invocations": ("Invocations", "Count"),
    "input_tokens": ("InputTokens", "Count"),
    "output_tokens": ("OutputTokens", "Count"),
    "cache_read_tokens": ("CacheReadTokens", "Count"),
    "cache_write_tokens": ("CacheWriteTokens", "Count"),
    "cost_usd": ("CostUSD", "None"),
}
DIMENSIONS = {"model": "Model", "tag:team": "Team"}


def metric_data(rep: Report, dimension_key: str) -> Iterator[dict[str, Any]]:
    """Metric data of a ``day,<model|tag:team>`` report."""
    name = DIMENSIONS[dimension_key]
    for row in rep.rows:
        ts = datetime.fromisoformat(str(row["day"]))
        value = row.get(dimension_key) or "(none)"
        for key, (metric, unit) in METRIC_NAMES.items():
            yield {
                "MetricName": metric,
                "Dimensions": [{"Name": name, "Value": str(value)[:1024]}],
                "Timestamp": ts,
                "Value": float(row.get(key) or 0),
                "Unit": unit,
            }


def publish(cloudwatch: Any, reports: dict[str, Report], namespace: str = DEFAULT_NAMESPACE) -> dict[str, Any]:
    """``reports`` maps ``model`` / ``tag:team`` to a report grouped by ``day,<that key>``."""
    data = [d for key, rep in reports.items() for d in metric_data(rep, key)]
    calls = 0
    for i in range(0, len(data), BATCH):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[i : i + BATCH])
        calls += 1
    return {
        "namespace": namespace,
        "metric_data": len(data),
        "put_metric_data_calls": calls,
        "dimensions": {
            DIMENSIONS[k]: sorted({str(r.get(k) or "(none)") for r in rep.rows}) for k, rep in reports.items()
        },
    }
