"""Field by field: every key OpenCITE's AWS plugins return (opencite_fields.py, written from their code) exists in
ours with the same kind of value, and with the same meaning on a seeded estate (the values are checked against
what was seeded)."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest

from bedrockctl.errors import ValidationFailed
from bedrockctl.plugins.registry import create_plugin_instance
from inventory.estate import HAIKU, LOG_GROUP, ROLE
from plugins import opencite_fields as oc
from plugins.opencite_estate import (
    DESCRIBED_GROUP,
    DESCRIBED_GROUP_TEXT,
    EXAMPLE_ENDPOINT,
    EXAMPLE_INVOCATIONS,
    OpenCiteEstate,
    seed_opencite_estate,
)

ACCOUNT = "123456789012"
MOTO_USER = f"arn:aws:iam::{ACCOUNT}:user/moto"


def assert_fields(value: Any, spec: oc.Spec) -> None:
    problems = oc.mismatches(value, spec)
    assert not problems, "\n".join(problems)
    json.dumps(value)  # plain JSON (the inventory store and the console keep assets as JSON)


@pytest.fixture
def seeded(sandbox_env: Any) -> OpenCiteEstate:
    return seed_opencite_estate(sandbox_env.endpoint_url)


@pytest.fixture
def bedrock(seeded: OpenCiteEstate) -> Any:
    return create_plugin_instance("aws_bedrock", {"region": "us-east-1", "cloudwatch_log_group": LOG_GROUP})


@pytest.fixture
def sagemaker(seeded: OpenCiteEstate) -> Any:
    return create_plugin_instance("aws_sagemaker", {"region": "us-east-1"})


def test_bedrock_inventory_fields(bedrock: Any, seeded: OpenCiteEstate) -> None:
    est = seeded.estate
    status = bedrock.verify_connection()
    assert_fields(status, oc.BEDROCK_VERIFY)
    assert status["account_id"] == ACCOUNT and status["message"] == "Successfully connected to AWS Bedrock"

    models = bedrock.list_assets("model")
    for m in models:
        assert_fields(m, oc.BEDROCK_MODEL)
    dated = [m for m in models if len(m["metadata"]["model_lifecycle"]) > 1]
    assert dated and all(isinstance(v, str) for m in dated for v in m["metadata"]["model_lifecycle"].values())
    haiku = next(m for m in models if m["id"] == HAIKU)
    assert haiku["modalities"] == {"input": haiku["input_modalities"], "output": ["TEXT"]}
    assert haiku["metadata"] == {"model_arn": haiku["arn"], "model_lifecycle": {"status": "ACTIVE"}}
    assert haiku["customization_supported"] == haiku["customizations_supported"]
    assert "ON_DEMAND" in haiku["inference_types"] and haiku["streaming_supported"] is True

    (custom,) = bedrock.list_assets("custom_model")
    assert_fields(custom, oc.BEDROCK_CUSTOM_MODEL)
    assert custom["id"] == custom["arn"] and custom["name"] == est.custom_model_name
    assert custom["base_model"] == custom["base_model_arn"] and custom["base_model"].endswith(
        "foundation-model/amazon.titan-text-express-v1"
    )

    (pt,) = bedrock.list_assets("provisioned_throughput")
    assert_fields(pt, oc.BEDROCK_PROVISIONED_THROUGHPUT)
    assert (pt["id"], pt["name"], pt["model_units"], pt["status"]) == (est.pt_arn, est.pt_name, 1, "InService")


def test_bedrock_invocation_and_usage_fields(bedrock: Any) -> None:
    invocations = bedrock.list_assets("invocation")
    assert len(invocations) == 4
    for inv in invocations:
        assert_fields(inv, oc.BEDROCK_INVOCATION)
        assert inv["model_id"] == HAIKU and inv["user_arn"] == MOTO_USER and inv["user_type"] == "IAMUser"
        assert inv["timestamp"] == inv["event_time"] and inv["event_name"] == inv["operation"]
        assert inv["metadata"]["event_source"] == "bedrock.amazonaws.com"
        assert inv["metadata"]["aws_region"] == "us-east-1" and inv["metadata"]["error_code"] is None
        assert inv["source_ip"] and inv["principal_id"]
    assert len(bedrock.list_assets("invocation", days=7, max_results=2)) == 2  # OpenCITE's option

    by_model = bedrock.get_usage_by_model(days=7)
    assert list(by_model) == [HAIKU]
    row = by_model[HAIKU]
    assert_fields(row, oc.BEDROCK_USAGE_BY_MODEL)
    ips = sorted({i["source_ip"] for i in invocations})
    assert (row["model_id"], row["invocation_count"], row["error_count"]) == (HAIKU, 4, 0)
    assert (row["unique_users"], row["unique_user_count"]) == ([MOTO_USER], 1)
    assert (row["unique_ips"], row["unique_ip_count"]) == (ips, len(ips))
    stamps = sorted(i["timestamp"] for i in invocations)
    assert (row["first_seen"], row["last_seen"]) == (stamps[0], stamps[-1])

    by_user = bedrock.get_usage_by_user(days=7)
    assert list(by_user) == [MOTO_USER]
    user = by_user[MOTO_USER]
    assert_fields(user, oc.BEDROCK_USAGE_BY_USER)
    assert (user["user_arn"], user["user_type"], user["invocation_count"]) == (MOTO_USER, "IAMUser", 4)
    assert (user["models_used"], user["model_count"]) == ([HAIKU], 1)


def test_sagemaker_inventory_fields(sagemaker: Any, seeded: OpenCiteEstate) -> None:
    est = seeded.estate
    status = sagemaker.verify_connection()
    assert_fields(status, oc.SAGEMAKER_VERIFY)
    assert status["message"] == "Successfully connected to AWS SageMaker"

    endpoints = {e["name"]: e for e in sagemaker.list_assets("endpoint")}
    assert set(endpoints) == {est.endpoint, est.idle_endpoint, EXAMPLE_ENDPOINT}
    for e in endpoints.values():
        assert_fields(e, oc.SAGEMAKER_ENDPOINT)
    busy = endpoints[est.endpoint]
    assert busy["id"] == busy["arn"] == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{est.endpoint}"
    assert (busy["model_name"], busy["variant_name"]) == (est.sm_models[0], "AllTraffic")
    assert (busy["instance_type"], busy["initial_instance_count"]) == ("ml.g4dn.xlarge", 2)
    assert busy["metadata"] == {"endpoint_config_name": f"{est.endpoint}-config", "production_variants_count": 1}
    assert busy["last_modified"] == busy["last_modified_time"] and busy["status"] == "InService"

    models = {m["name"]: m for m in sagemaker.list_assets("model")}
    for m in models.values():
        assert_fields(m, oc.SAGEMAKER_MODEL)
    a = models[est.sm_models[0]]
    assert a["id"] == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/{est.sm_models[0]}"
    assert a["container_image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:1"
    assert (a["model_data_url"], a["execution_role"]) == ("s3://m/", ROLE)
    assert a["metadata"] == {"enable_network_isolation": False}

    packages = sagemaker.list_assets("model_package")
    assert len(packages) == 3
    for p in packages:
        assert_fields(p, oc.SAGEMAKER_VERSIONED_PACKAGE if p["group"] else oc.SAGEMAKER_MODEL_PACKAGE)
    by_group = {p["group"]: p for p in packages}
    assert by_group[DESCRIBED_GROUP]["group_description"] == DESCRIBED_GROUP_TEXT
    assert by_group[est.package_group]["group_description"] is None and by_group[est.package_group]["version"] == 1
    assert by_group[None]["name"] == "unversioned-pkg"

    (job,) = sagemaker.list_assets("training_job")
    assert_fields(job, oc.SAGEMAKER_TRAINING_JOB)
    assert job["id"] == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/{est.training_job}"
    assert (job["training_image"], job["training_input_mode"], job["output_path"]) == (
        "img:latest",
        "File",
        "s3://out/",
    )
    assert (job["instance_type"], job["instance_count"], job["volume_size_gb"]) == ("ml.p3.2xlarge", 1, 10)
    assert job["status"] == "Completed" and job["secondary_status"] == "Completed"
    # the sandbox (moto) does not send BillableTimeInSeconds; test_billable_seconds_... proves the mapping
    assert job["billable_seconds"] is None
    assert sagemaker.list_assets("training_job", days=30) == [job]  # OpenCITE's option


def test_sagemaker_usage_fields(sagemaker: Any, seeded: OpenCiteEstate) -> None:
    metrics = sagemaker.get_endpoint_invocation_metrics(EXAMPLE_ENDPOINT, days=7)
    assert_fields(metrics, oc.SAGEMAKER_ENDPOINT_METRICS)
    assert (metrics["endpoint_name"], metrics["period_days"], metrics["invocations"]) == (
        EXAMPLE_ENDPOINT,
        7,
        EXAMPLE_INVOCATIONS,
    )
    assert (metrics["errors_4xx"], metrics["errors_5xx"]) == (2, 1)
    assert (metrics["model_latency_avg_ms"], metrics["overhead_latency_avg_ms"]) == (25.0, 3.0)

    everything = sagemaker.get_all_endpoint_metrics(days=7)
    assert isinstance(everything, list) and len(everything) == 3
    for m in everything:
        assert_fields(m, oc.SAGEMAKER_ENDPOINT_METRICS)
    # the batched path gives the same row, most invoked first (last_invocation is the hour bucket's start, and
    # the sandbox's buckets differ between GetMetricData and GetMetricStatistics)
    assert {**everything[0], "last_invocation": None} == {**metrics, "last_invocation": None}
    assert [m["invocations"] for m in everything] == [EXAMPLE_INVOCATIONS, 0, 0]

    summary = sagemaker.get_usage_summary(days=7)
    assert_fields(summary, oc.SAGEMAKER_USAGE_SUMMARY)
    s = summary["summary"]
    assert (s["total_endpoints"], s["active_endpoints"], s["in_service_endpoints"], s["idle_endpoints"]) == (3, 1, 3, 2)
    assert (s["total_models"], s["total_model_packages"], s["training_jobs_last_n_days"]) == (2, 3, 1)
    assert s["total_invocations_last_n_days"] == EXAMPLE_INVOCATIONS
    assert (summary["period_days"], summary["region"]) == (7, "us-east-1")
    top = summary["top_endpoints_by_invocations"]
    assert [{**m, "last_invocation": None} for m in top] == [{**everything[0], "last_invocation": None}]


def test_billable_seconds_and_the_describe_fields_map_from_awss_response_shape() -> None:
    """The sandbox's DescribeTrainingJob lacks BillableTimeInSeconds; a response valid against botocore's model of
    the real one proves the mapping of every field OpenCITE reads from it."""
    from datetime import UTC, datetime

    import botocore.session
    from botocore.validate import ParamValidator

    from bedrockctl.plugins.aws_sagemaker import SPECS

    model = botocore.session.get_session().get_service_model("sagemaker")
    now = datetime.now(UTC)
    response = {
        "TrainingJobName": "job",
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/job",
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://out/job/output/model.tar.gz"},
        "AlgorithmSpecification": {"TrainingImage": "img:latest", "TrainingInputMode": "Pipe"},
        "ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 2, "VolumeSizeInGB": 50},
        "OutputDataConfig": {"S3OutputPath": "s3://out/"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CreationTime": now,
        "LastModifiedTime": now,
        "TrainingEndTime": now,
        "BillableTimeInSeconds": 3540,
    }
    report = ParamValidator().validate(response, model.operation_model("DescribeTrainingJob").output_shape)
    assert not report.has_errors(), report.generate_report()
    plugin = create_plugin_instance("aws_sagemaker", {"region": "us-east-1"})
    job = SPECS["training_job"].transform(plugin, response)  # type: ignore[misc]
    assert_fields({**job, "type": "training_job", "discovery_source": "aws_sagemaker_api"}, oc.SAGEMAKER_TRAINING_JOB)
    assert (job["billable_seconds"], job["training_input_mode"], job["volume_size_gb"]) == (3540, "Pipe", 50)


def test_the_rest_of_the_plugin_api(sandbox_env: Any) -> None:
    from bedrockctl.plugins import registry

    assert_signature(registry.create_plugin_instance, oc.CREATE_PLUGIN_INSTANCE)
    for name, methods in (("aws_bedrock", oc.BEDROCK_SIGNATURES), ("aws_sagemaker", oc.SAGEMAKER_SIGNATURES)):
        cls = registry.get_plugin_class(name)
        assert cls.plugin_type == name
        assert_signature(cls.from_config, oc.FROM_CONFIG)
        for method, params in methods.items():
            assert_signature(getattr(cls, method), params, bound=True)
        meta = cls.plugin_metadata()
        assert meta["name"] == {"aws_bedrock": "AWS Bedrock", "aws_sagemaker": "AWS SageMaker"}[name]
        assert set(meta["required_fields"]) >= oc.METADATA_FIELDS
        assert meta["required_fields"]["secret_access_key"]["type"] == "password"
        assert meta["required_fields"]["region"]["default"] == "us-east-1"

        keys = {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "testing"}
        plugin = registry.create_plugin_instance(name, {"region": "us-east-1", **keys}, "inst-1", "Prod AWS")
        assert (plugin.instance_id, plugin.display_name) == ("inst-1", "Prod AWS")
        assert plugin.supported_asset_types >= oc.SUPPORTED_ASSET_TYPES[name]
        assert plugin.get_account_id() == ACCOUNT
        config = plugin.get_config()
        assert config["access_key_id"] == config["secret_access_key"] == "****" and config["region"] == "us-east-1"
        assert config["profile"] is None and "AKIAIOSFODNN7EXAMPLE" not in repr(config)
        with pytest.raises(ValueError, match="no asset type 'nope'"):  # OpenCITE raises ValueError
            plugin.list_assets("nope")
    with pytest.raises(ValueError, match="Unknown plugin"):
        registry.create_plugin_instance("nope")
    with pytest.raises(ValidationFailed, match="takes no option"):
        registry.create_plugin_instance("aws_bedrock").list_assets("model", days=3)


def test_export_assets_and_verify_failure_shapes(seeded: OpenCiteEstate, bedrock: Any, sagemaker: Any) -> None:
    exported = bedrock.export_assets()
    assert set(exported) == oc.BEDROCK_EXPORT_KEYS
    assert exported["aws_bedrock_usage_by_model"][HAIKU]["invocation_count"] == 4
    assert len(exported["aws_bedrock_invocations"]) == 4
    exported = sagemaker.export_assets()
    assert set(exported) == oc.SAGEMAKER_EXPORT_KEYS
    assert exported["aws_sagemaker_usage_summary"]["summary"]["active_endpoints"] == 1

    for name in ("aws_bedrock", "aws_sagemaker"):
        broken = create_plugin_instance(name, {"region": "us-east-1", "profile": "no-such-profile"})
        status = broken.verify_connection()
        assert_fields(status, oc.VERIFY_FAILURE)
        assert status["ok"] is False and status["message"].startswith("Failed to connect to AWS ")
        assert "no-such-profile" in status["error"] and status["error_code"]
        assert broken.get_account_id() is None  # OpenCITE's answer when STS cannot tell (logged)


def assert_signature(fn: Any, expected: list[tuple[str, Any]], bound: bool = False) -> None:
    """OpenCITE's parameters come first, in order, with the same names and defaults; ours may add more after
    them, each with a default (or keyword-only)."""
    params = list(inspect.signature(fn).parameters.values())
    if bound:
        params = params[1:]  # self
    kwargs = [p for p in params if p.kind is p.VAR_KEYWORD]
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for i, (name, default) in enumerate(expected):
        if default == "*":
            assert kwargs, f"{fn.__qualname__} takes no **{name}"
            continue
        assert i < len(positional), f"{fn.__qualname__} lacks parameter {name}"
        got = positional[i]
        assert got.name == name, f"{fn.__qualname__}: parameter {i} is {got.name}, OpenCITE's is {name}"
        want = inspect.Parameter.empty if default is ... else default
        assert got.default == want, f"{fn.__qualname__}({name}=...) default {got.default!r}, OpenCITE's {default!r}"
    extra = positional[len([e for e in expected if e[1] != "*"]) :]
    assert all(p.default is not inspect.Parameter.empty for p in extra), f"{fn.__qualname__}: {extra}"
