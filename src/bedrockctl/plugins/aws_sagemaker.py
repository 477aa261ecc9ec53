"""``aws_sagemaker``: endpoints (with their config), models, model packages (versioned and unversioned), training
jobs of the last 30 days, and endpoint invocation metrics from CloudWatch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from bedrockctl.analytics.sagemaker import (
    METRICS,
    add_datapoints,
    endpoint_metrics,
    finish_metrics_row,
    new_metrics_row,
    usage_summary,
)
from bedrockctl.plugins.base import AssetSpec, CallSpec, Item, LookupSpec, Plugin, dig, iso
from bedrockctl.plugins.compat import ExportEntry

TRAINING_JOB_DAYS = 30


def _endpoint(p: Plugin, e: Item) -> Item:
    config = list(dig(e, "_config.ProductionVariants") or [])
    config_variants = {v.get("VariantName"): v for v in config}
    variants = []
    for v in e.get("ProductionVariants") or config:
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
    first = config[0] if config else {}  # OpenCITE describes an endpoint by its configuration's first variant
    return {
        "id": e.get("EndpointArn"),
        "name": e.get("EndpointName"),
        "arn": e.get("EndpointArn"),
        "region": p.region,
        "status": e.get("EndpointStatus"),
        "endpoint_config_name": e.get("EndpointConfigName"),
        "instance_type": first.get("InstanceType"),  # None for a serverless variant (see variants)
        "instance_count": sum(int(v["instance_count"] or 0) for v in variants),
        "initial_instance_count": first.get("InitialInstanceCount"),
        "variant_name": first.get("VariantName"),
        "model_name": first.get("ModelName"),
        "variants": variants,
        "model_names": sorted({v["model_name"] for v in variants if v["model_name"]}),
        "creation_time": iso(e.get("CreationTime")),
        "last_modified_time": iso(e.get("LastModifiedTime")),
        "last_modified": iso(e.get("LastModifiedTime")),  # OpenCITE's name
        "metadata": {"endpoint_config_name": e.get("EndpointConfigName"), "production_variants_count": len(config)},
    }


def _model(p: Plugin, m: Item) -> Item:
    containers = m.get("Containers") or ([m["PrimaryContainer"]] if m.get("PrimaryContainer") else [])
    primary = m.get("PrimaryContainer") or (containers[0] if containers else {})
    return {
        "id": m.get("ModelArn"),
        "name": m.get("ModelName"),
        "arn": m.get("ModelArn"),
        "region": p.region,
        "execution_role_arn": m.get("ExecutionRoleArn"),
        "execution_role": m.get("ExecutionRoleArn"),  # OpenCITE's name
        "container_image": primary.get("Image"),
        "model_data_url": primary.get("ModelDataUrl"),
        "images": [c.get("Image") for c in containers if c.get("Image")],
        "model_data_urls": [c.get("ModelDataUrl") for c in containers if c.get("ModelDataUrl")],
        "creation_time": iso(m.get("CreationTime")),
        "metadata": {"enable_network_isolation": bool(m.get("EnableNetworkIsolation", False))},
    }


def _package(p: Plugin, m: Item) -> Item:
    group = m.get("ModelPackageGroupName")
    arn = str(m.get("ModelPackageArn") or "")
    return {
        "id": m.get("ModelPackageArn"),
        "name": m.get("ModelPackageName") or group or arn.rsplit("/", 1)[-1],
        "arn": m.get("ModelPackageArn"),
        "region": p.region,
        "versioned": bool(group),
        "group_name": group,
        "group": group,  # OpenCITE's name
        "group_description": (m.get("_group") or {}).get("ModelPackageGroupDescription"),
        "version": m.get("ModelPackageVersion"),
        "status": m.get("ModelPackageStatus"),
        "approval_status": m.get("ModelApprovalStatus"),
        "description": m.get("ModelPackageDescription"),
        "creation_time": iso(m.get("CreationTime")),
    }


def _training_job(p: Plugin, j: Item) -> Item:
    return {
        "id": j.get("TrainingJobArn"),
        "name": j.get("TrainingJobName"),
        "arn": j.get("TrainingJobArn"),
        "region": p.region,
        "status": j.get("TrainingJobStatus"),
        "secondary_status": j.get("SecondaryStatus"),
        "instance_type": dig(j, "ResourceConfig.InstanceType"),
        "instance_count": dig(j, "ResourceConfig.InstanceCount"),
        "volume_size_gb": dig(j, "ResourceConfig.VolumeSizeInGB"),
        "algorithm_image": dig(j, "AlgorithmSpecification.TrainingImage"),
        "training_image": dig(j, "AlgorithmSpecification.TrainingImage"),  # OpenCITE's name
        "training_input_mode": dig(j, "AlgorithmSpecification.TrainingInputMode"),
        "billable_seconds": j.get("BillableTimeInSeconds"),
        "output_path": dig(j, "OutputDataConfig.S3OutputPath"),
        "role_arn": j.get("RoleArn"),
        "model_artifacts": dig(j, "ModelArtifacts.S3ModelArtifacts"),
        "creation_time": iso(j.get("CreationTime")),
        "end_time": iso(j.get("TrainingEndTime")),
        "last_modified": iso(j.get("LastModifiedTime")),
        "metadata": {},
    }


def _created_after(days: int = TRAINING_JOB_DAYS, **_: Any) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


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
            kind="sagemaker_endpoint",
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
            lookups=(
                LookupSpec(
                    "list_model_package_groups",
                    "ModelPackageGroupSummaryList",
                    key="ModelPackageGroupName",
                    join="ModelPackageGroupName",
                    into="_group",
                ),
            ),
            transform=_package,
        ),
        AssetSpec(
            "training_job",
            "sagemaker",
            "list_training_jobs",
            "TrainingJobSummaries",
            "TrainingJobName",
            params={"CreationTimeAfter": _created_after},
            details=(CallSpec("describe_training_job", {"TrainingJobName": "TrainingJobName"}),),
            transform=_training_job,
            options={"days": TRAINING_JOB_DAYS},
        ),
    )
}


class AwsSageMakerPlugin(Plugin):
    """Amazon SageMaker AI assets and endpoint usage in one account and region."""

    name: ClassVar[str] = "aws_sagemaker"
    title: ClassVar[str] = "AWS SageMaker"
    description: ClassVar[str] = "Amazon SageMaker: endpoints, models, model packages, training jobs, metrics"
    asset_specs: ClassVar[dict[str, AssetSpec]] = SPECS
    default_asset_types: ClassVar[tuple[str, ...]] = tuple(SPECS)
    export_entries: ClassVar[tuple[ExportEntry, ...]] = (
        ("aws_sagemaker_endpoints", "endpoint", {}),
        ("aws_sagemaker_models", "model", {}),
        ("aws_sagemaker_model_packages", "model_package", {}),
        ("aws_sagemaker_training_jobs", "training_job", {"days": 30}),
        ("aws_sagemaker_usage_summary", "get_usage_summary", {"days": 7}),
    )

    def connection_extras(self) -> dict[str, Any]:
        return {"endpoints_available": len(self.pages("sagemaker", "list_endpoints", "Endpoints"))}

    def get_endpoint_invocation_metrics(
        self, endpoint_name: str, days: int = 7, variants: list[str] | None = None
    ) -> dict[str, Any]:
        """Invocations, 4xx/5xx errors, average model and overhead latency (ms) and the last invocation of an
        endpoint over ``days`` days, summed over its variants (SageMaker publishes per variant)."""
        if variants is None:
            desc = self.call("sagemaker", "describe_endpoint", EndpointName=endpoint_name)
            variants = [str(v["VariantName"]) for v in desc.get("ProductionVariants") or []]
        now = datetime.now(UTC)
        start, end = now - timedelta(days=days), now + timedelta(minutes=1)  # EndTime is exclusive, to the second
        row = new_metrics_row(endpoint_name, days, variants)
        averages: dict[str, list[float]] = {}
        for key, metric, stat in METRICS:
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
                values = [float(p.get(stat) or 0) for p in points]
                add_datapoints(row, averages, key, values, [p.get("Timestamp") for p in points])
        return finish_metrics_row(row, averages)

    def get_all_endpoint_metrics(self, days: int = 7) -> list[dict[str, Any]]:
        """Metrics of every endpoint (one batched GetMetricData, see ``analytics.sagemaker``), most invoked
        first, as OpenCITE returns them."""
        metrics = endpoint_metrics(self.client("cloudwatch"), self.list_assets("endpoint"), days)
        return _by_invocations(metrics)

    def get_usage_summary(self, days: int = 7) -> dict[str, Any]:
        """OpenCITE's summary (endpoint, model, package and training-job counts; ``active_endpoints``: endpoints
        invoked in the window; ``top_endpoints_by_invocations``) and ours (``in_service_endpoints``,
        ``idle_endpoints``, errors, instance-hour cost per endpoint and in total)."""
        endpoints = self.list_assets("endpoint")
        metrics = endpoint_metrics(self.client("cloudwatch"), endpoints, days)
        out = usage_summary(endpoints, metrics, days, str(self.region))
        out["summary"].update(
            total_models=len(self.pages("sagemaker", "list_models", "Models")),
            total_model_packages=len(
                self.pages("sagemaker", "list_model_packages", "ModelPackageSummaryList", ModelPackageType="Both")
            ),
            training_jobs_last_n_days=len(
                self.pages(
                    "sagemaker", "list_training_jobs", "TrainingJobSummaries", CreationTimeAfter=_created_after(days)
                )
            ),
        )
        ranked = _by_invocations(metrics)
        out.update(
            period_days=days,
            region=self.region,
            top_endpoints_by_invocations=[m for m in ranked if m["invocations"] > 0][:10],
        )
        return out


def _by_invocations(metrics: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(metrics.values(), key=lambda m: (-int(m["invocations"] or 0), str(m["endpoint_name"])))
