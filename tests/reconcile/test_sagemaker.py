"""SageMaker: every endpoint's metrics in one batched GetMetricData, the usage summary and instance-hour cost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import moto.core.base_backend  # noqa: F401 - import moto before the sandbox's warm-up thread does (import race)

from bedrockctl.analytics.sagemaker import endpoint_metrics, instance_cost, usage_summary
from bedrockctl.pricing.hourly import InstancePrices


def seed(sm: Any, name: str, itype: str, count: int) -> None:
    sm.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sm",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:1"},
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {"VariantName": v, "ModelName": f"{name}-model", "InstanceType": itype, "InitialInstanceCount": count}
            for v in ("A", "B")
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def test_one_batched_call_for_all_endpoints(boto_client: Callable[..., Any], sandbox_env: Any) -> None:
    sm, cw = boto_client("sagemaker"), boto_client("cloudwatch")
    for i in range(3):
        seed(sm, f"ep{i}", "ml.g4dn.xlarge", 1)
    now = datetime.now(UTC)
    for variant, n, lat in (("A", 30, 20000), ("B", 12, 40000)):
        dims = [{"Name": "EndpointName", "Value": "ep0"}, {"Name": "VariantName", "Value": variant}]
        cw.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {"MetricName": "Invocations", "Dimensions": dims, "Value": n, "Timestamp": now - timedelta(hours=2)},
                {"MetricName": "Invocation5XXErrors", "Dimensions": dims, "Value": 1, "Timestamp": now},
                {"MetricName": "ModelLatency", "Dimensions": dims, "Value": lat, "Timestamp": now},
            ],
        )
    calls: list[str] = []
    cw.meta.events.register("before-call.cloudwatch.*", lambda model, **kw: calls.append(model.name))
    endpoints = [{"name": f"ep{i}", "variants": [{"name": "A"}, {"name": "B"}]} for i in range(3)]
    got = endpoint_metrics(cw, endpoints, days=7)
    assert calls == ["GetMetricData"]  # 3 endpoints x 2 variants x 4 metrics = 24 queries, one call
    assert got["ep0"]["invocations"] == 42 and got["ep0"]["invocation_5xx_errors"] == 2
    assert got["ep0"]["model_latency_avg_ms"] == 30.0 and got["ep0"]["last_invocation"]
    assert got["ep1"]["invocations"] == 0 and got["ep1"]["model_latency_avg_ms"] is None


def test_plugin_summary_with_instance_cost(boto_client: Callable[..., Any], sandbox_env: Any) -> None:
    from bedrockctl.plugins.registry import create_plugin_instance

    sm = boto_client("sagemaker")
    seed(sm, "busy", "ml.g4dn.xlarge", 2)
    seed(sm, "odd", "ml.r5.large", 1)
    plugin = create_plugin_instance("aws_sagemaker", {"region": "us-east-1"})
    summary = plugin.get_usage_summary(days=7)
    s = summary["summary"]
    assert (s["total_endpoints"], s["total_invocations_last_n_days"], s["idle_endpoints"]) == (2, 0, 2)
    busy = next(e for e in summary["endpoints"] if e["name"] == "busy")
    # 2 variants x 2 instances of ml.g4dn.xlarge (0.736 USD/h), created moments ago: cost ~ 0
    assert busy["cost"]["variants"][0]["usd_per_hour"] == "0.736"
    odd = next(e for e in summary["endpoints"] if e["name"] == "odd")
    assert odd["cost"]["unpriced_instance_types"] == ["ml.r5.large", "ml.r5.large"]
    assert s["price_list"]["as_of"] and {m["endpoint_name"] for m in plugin.get_all_endpoint_metrics(days=1)} == {
        "busy",
        "odd",
    }


def test_instance_hours_priced_over_the_window() -> None:
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)
    ep = {
        "creation_time": "2026-11-20T12:00:00+00:00",
        "variants": [
            {"name": "A", "instance_type": "ml.m5.large", "instance_count": 2},
            {"name": "S", "instance_type": "serverless", "instance_count": 0, "serverless": True},
        ],
    }
    cost = instance_cost(ep, 7, "us-east-1", InstancePrices.load(), now)
    assert cost["instance_hours"] == "48"  # created 24 h ago, 2 instances
    assert Decimal(cost["cost_usd"]) == Decimal("0.115") * 48 and cost["unpriced_instance_types"] == ["serverless"]
    summary = usage_summary(
        [{**ep, "name": "x", "status": "InService"}],
        {"x": {"invocations": 0, "invocation_4xx_errors": 0, "invocation_5xx_errors": 0}},
        7,
        "us-east-1",
        now,
    )
    assert summary["summary"]["instance_cost_usd"] == "5.520000"
