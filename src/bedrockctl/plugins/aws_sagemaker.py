"""``aws_sagemaker``: endpoints (with their config), models, model packages (versioned and unversioned), training
jobs of the last 30 days, and endpoint invocation metrics from CloudWatch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from bedrockctl.plugins.base import AssetSpec, CallSpec, Item, Plugin, dig, iso

TRAINING_JOB_DAYS = 30


def _endpoint(p: Plugin, e: Item) -> Item:
    config_variants = {v.get("VariantName"): v for v in dig(e, "_config.ProductionVariants") or []}
    variants = []
    for v in e.get("ProductionVariants") or list(config_variants.values()):
        cfg = config_variants.get(v.get("VariantName"), {})
        variants.append(
            {
                "name": v.get("VariantName"),
                "model_name": cfg.get("ModelName"),
                "instance_type": cfg.get("InstanceType") or (dig(v, "CurrentServerlessConfig") and "serverless"),
                "instance_count": v.get("CurrentInstanceCount", cfg.get("InitialInstanceCount")),
                "weight": v.get("CurrentWeight", cfg.get("InitialVariantWeight")),
                "serverless": bool(cfg.get("ServerlessConfig")),
            }
        )
    return {
        "id": e.get("EndpointName"),
        "name": e.get("EndpointName"),
        "arn": e.get("EndpointArn"),
        "region": p.region,
        "status": e.get("EndpointStatus"),
        "endpoint_config_name": e.get("EndpointConfigName"),
        "instance_type": variants[0]["instance_type"] if variants else None,
        "instance_count": sum(int(v["instance_count"] or 0) for v in variants),
        "variants": variants,
        "model_names": sorted({v["model_name"] for v in variants if v["model_name"]}),
        "creation_time": iso(e.get("CreationTime")),
        "last_modified_time": iso(e.get("LastModifiedTime")),
    }


def _model(p: Plugin, m: Item) -> Item:
    containers = m.get("Containers") or ([m["PrimaryContainer"]] if m.get("PrimaryContainer") else [])
    return {
        "id": m.get("ModelName"),
        "name": m.get("ModelName"),
        "arn": m.get("ModelArn"),
        "region": p.region,
        "execution_role_arn": m.get("ExecutionRoleArn"),
        "images": [c.get("Image") for c in containers if c.get("Image")],
        "model_data_urls": [c.get("ModelDataUrl") for c in containers if c.get("ModelDataUrl")],
        "creation_time": iso(m.get("CreationTime")),
    }


def _package(p: Plugin, m: Item) -> Item:
    group = m.get("ModelPackageGroupName")
    return {
        "id": m.get("ModelPackageArn"),
        "name": m.get("ModelPackageName") or group,
        "arn": m.get("ModelPackageArn"),
        "region": p.region,
        "versioned": bool(group),
        "group_name": group,
        "version": m.get("ModelPackageVersion"),
        "status": m.get("ModelPackageStatus"),
        "approval_status": m.get("ModelApprovalStatus"),
        "description": m.get("ModelPackageDescription"),
        "creation_time": iso(m.get("CreationTime")),
    }


def _training_job(p: Plugin, j: Item) -> Item:
    return {
        "id": j.get("TrainingJobName"),
        "name": j.get("TrainingJobName"),
        "arn": j.get("TrainingJobArn"),
        "region": p.region,
        "status": j.get("TrainingJobStatus"),
        "instance_type": dig(j, "ResourceConfig.InstanceType"),
        "instance_count": dig(j, "ResourceConfig.InstanceCount"),
        "algorithm_image": dig(j, "AlgorithmSpecification.TrainingImage"),
        "role_arn": j.get("RoleArn"),
        "model_artifacts": dig(j, "ModelArtifacts.S3ModelArtifacts"),
        "creation_time": iso(j.get("CreationTime")),
        "end_time": iso(j.get("TrainingEndTime")),
    }


def _since_30_days() -> datetime:
    return datetime.now(UTC) - timedelta(days=TRAINING_JOB_DAYS)


SPECS: dict[str, AssetSpec] = {
    s.asset_type: s
    for s in (
        AssetSpec(
            "endpoint",
            "sagemaker",
            "list_endpoints",
            "Endpoints",
            "EndpointName",
            details=(
                CallSpec("describe_endpoint", {"EndpointName": "EndpointName"}),
                CallSpec("describe_endpoint_config", {"EndpointConfigName": "EndpointConfigName"}, into="_config"),
            ),
            transform=_endpoint,
        ),
        AssetSpec(
            "model",
            "sagemaker",
            "list_models",
            "Models",
            "ModelName",
            details=(CallSpec("describe_model", {"ModelName": "ModelName"}),),
            transform=_model,
        ),
        AssetSpec(
            "model_package",
            "sagemaker",
            "list_model_packages",
            "ModelPackageSummaryList",
            "ModelPackageArn",
            params={"ModelPackageType": "Both"},
            transform=_package,
        ),
        AssetSpec(
            "training_job",
            "sagemaker",
            "list_training_jobs",
            "TrainingJobSummaries",
            "TrainingJobName",
            params={"CreationTimeAfter": _since_30_days},
            details=(CallSpec("describe_training_job", {"TrainingJobName": "TrainingJobName"}),),
            transform=_training_job,
        ),
    )
}

_METRICS = (
    ("invocations", "Invocations", "Sum"),
    ("invocation_4xx_errors", "Invocation4XXErrors", "Sum"),
    ("invocation_5xx_errors", "Invocation5XXErrors", "Sum"),
    ("model_latency_avg_ms", "ModelLatency", "Average"),
)


class AwsSageMakerPlugin(Plugin):
    """Amazon SageMaker AI assets and endpoint usage in one account and region."""

    name: ClassVar[str] = "aws_sagemaker"
    description: ClassVar[str] = "Amazon SageMaker: endpoints, models, model packages, training jobs, metrics"
    asset_specs: ClassVar[dict[str, AssetSpec]] = SPECS
    default_asset_types: ClassVar[tuple[str, ...]] = tuple(SPECS)

    def verify_connection(self) -> dict[str, Any]:
        status = super().verify_connection()
        if status["ok"]:
            try:
                status["endpoints_available"] = len(self.pages("sagemaker", "list_endpoints", "Endpoints"))
            except Exception as exc:
                status.update(ok=False, error=str(exc), error_code=getattr(exc, "code", None))
        return status

    def get_endpoint_invocation_metrics(
        self, endpoint_name: str, days: int = 7, variants: list[str] | None = None
    ) -> dict[str, Any]:
        """Invocations, 4xx/5xx errors and average model latency (ms) of an endpoint over ``days`` days."""
        if variants is None:
            desc = self.call("sagemaker", "describe_endpoint", EndpointName=endpoint_name)
            variants = [str(v["VariantName"]) for v in desc.get("ProductionVariants") or []]
        now = datetime.now(UTC)
        start, end = now - timedelta(days=days), now + timedelta(minutes=1)  # EndTime is exclusive, to the second
        out: dict[str, Any] = {"endpoint_name": endpoint_name, "days": days, "variants": variants}
        last: str | None = None
        latency_sum, latency_n = 0.0, 0
        for key, metric, stat in _METRICS:
            total = 0.0
            for variant in variants:
                points = self.pages(
                    "cloudwatch",
                    "get_metric_statistics",
                    "Datapoints",
                    Namespace="AWS/SageMaker",
                    MetricName=metric,
                    Dimensions=[
                        {"Name": "EndpointName", "Value": endpoint_name},
                        {"Name": "VariantName", "Value": variant},
                    ],
                    StartTime=start,
                    EndTime=end,
                    Period=3600 if days <= 60 else 86400,
                    Statistics=[stat],
                )
                for p in points:
                    value = float(p.get(stat) or 0)
                    if stat == "Average":
                        latency_sum += value
                        latency_n += 1
                    else:
                        total += value
                    if key == "invocations" and value:
                        stamp = iso(p.get("Timestamp")) or ""
                        last = max(last or "", stamp) or None
            if stat == "Sum":
                out[key] = int(total)
        # ModelLatency is reported in microseconds
        out["model_latency_avg_ms"] = round(latency_sum / latency_n / 1000, 3) if latency_n else None
        out["last_invocation"] = last
        return out

    def get_all_endpoint_metrics(self, days: int = 7) -> dict[str, dict[str, Any]]:
        """Metrics of every endpoint in one batched GetMetricData (see ``analytics.sagemaker``)."""
        from bedrockctl.analytics.sagemaker import endpoint_metrics

        return endpoint_metrics(self.client("cloudwatch"), self.list_assets("endpoint"), days)

    def get_usage_summary(self, days: int = 7) -> dict[str, Any]:
        """Endpoint counts, invocations, errors and instance-hour cost (one batched metrics call)."""
        from bedrockctl.analytics.sagemaker import endpoint_metrics, usage_summary

        endpoints = self.list_assets("endpoint")
        metrics = endpoint_metrics(self.client("cloudwatch"), endpoints, days)
        return usage_summary(endpoints, metrics, days, str(self.region))
