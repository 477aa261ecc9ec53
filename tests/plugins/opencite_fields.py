"""What OpenCITE's AWS plugins return, key by key, written down from reading their code (LangGuard-AI/open-cite,
commit 63db1dd, ``src/open_cite/plugins/aws/bedrock.py`` and ``src/open_cite/plugins/aws/sagemaker.py``; the
registry signature from ``src/open_cite/plugins/registry.py``). Each entry maps a key to what its value must be:

- a type or a tuple of types (``OPT_STR`` = a string or ``None``, as OpenCITE's ``.get()`` of an optional field);
- ``Const(v)``: exactly ``v`` (OpenCITE's literal, e.g. ``type`` and ``discovery_source``);
- a dict: a nested object with those keys.

``test_opencite_fields.py`` checks that every key exists in our result with such a value; docs/plugins.md has the
same comparison as a table (their field, ours, meaning, notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NONE = type(None)
OPT_STR = (str, NONE)
OPT_INT = (int, NONE)
OPT_FLOAT = (float, int, NONE)


@dataclass(frozen=True)
class Const:
    value: Any


Spec = dict[str, Any]

# -- bedrock.py --------------------------------------------------------------------------------------------------
# AWSBedrockPlugin.verify_connection (success branch; the failure branch has success, region, error, message)
BEDROCK_VERIFY: Spec = {
    "success": Const(True),
    "region": str,
    "account_id": OPT_STR,
    "foundation_models_available": int,
    "message": str,
}
VERIFY_FAILURE: Spec = {"success": Const(False), "region": str, "error": str, "message": str}

# AWSBedrockPlugin._list_foundation_models
BEDROCK_MODEL: Spec = {
    "id": str,
    "name": str,
    "provider": str,
    "type": Const("model"),
    "discovery_source": Const("aws_bedrock_api"),
    "modalities": {"input": list, "output": list},
    "streaming_supported": bool,
    "customization_supported": list,
    "inference_types": list,
    "region": str,
    "metadata": {"model_arn": str, "model_lifecycle": dict},
}

# AWSBedrockPlugin._list_custom_models
BEDROCK_CUSTOM_MODEL: Spec = {
    "id": str,
    "name": str,
    "base_model": OPT_STR,
    "base_model_name": OPT_STR,
    "type": Const("model"),
    "discovery_source": Const("aws_bedrock_api"),
    "customization_type": OPT_STR,
    "creation_time": OPT_STR,
    "region": str,
}

# AWSBedrockPlugin._list_provisioned_throughput
BEDROCK_PROVISIONED_THROUGHPUT: Spec = {
    "id": str,
    "name": str,
    "model_arn": OPT_STR,
    "foundation_model_arn": OPT_STR,
    "type": Const("provisioned_throughput"),
    "discovery_source": Const("aws_bedrock_api"),
    "status": OPT_STR,
    "model_units": OPT_INT,
    "desired_model_units": OPT_INT,
    "creation_time": OPT_STR,
    "last_modified_time": OPT_STR,
    "commitment_duration": OPT_STR,
    "region": str,
}

# AWSBedrockPlugin._list_invocations_from_cloudtrail (list_assets("invocation"))
BEDROCK_INVOCATION: Spec = {
    "id": str,
    "event_name": str,
    "model_id": OPT_STR,
    "timestamp": OPT_STR,
    "type": Const("bedrock_invocation"),
    "discovery_source": Const("cloudtrail"),
    "user_arn": OPT_STR,
    "user_type": OPT_STR,
    "principal_id": OPT_STR,
    "source_ip": OPT_STR,
    "user_agent": OPT_STR,
    "region": str,
    "metadata": {"event_source": OPT_STR, "aws_region": OPT_STR, "error_code": OPT_STR, "error_message": OPT_STR},
}

# AWSBedrockPlugin.get_usage_by_model -> {model_id: row}
BEDROCK_USAGE_BY_MODEL: Spec = {
    "model_id": str,
    "invocation_count": int,
    "unique_users": list,
    "unique_ips": list,
    "first_seen": OPT_STR,
    "last_seen": OPT_STR,
    "error_count": int,
    "unique_user_count": int,
    "unique_ip_count": int,
}

# AWSBedrockPlugin.get_usage_by_user -> {user_arn: row}
BEDROCK_USAGE_BY_USER: Spec = {
    "user_arn": str,
    "user_type": OPT_STR,
    "invocation_count": int,
    "models_used": list,
    "first_seen": OPT_STR,
    "last_seen": OPT_STR,
    "model_count": int,
}

# -- sagemaker.py ------------------------------------------------------------------------------------------------
# AWSSageMakerPlugin.verify_connection (success branch)
SAGEMAKER_VERIFY: Spec = {"success": Const(True), "region": str, "account_id": OPT_STR, "message": str}

# AWSSageMakerPlugin._list_endpoints (the variant fields come from the endpoint config's first variant)
SAGEMAKER_ENDPOINT: Spec = {
    "id": str,
    "name": str,
    "type": Const("sagemaker_endpoint"),
    "discovery_source": Const("aws_sagemaker_api"),
    "status": OPT_STR,
    "creation_time": OPT_STR,
    "last_modified": OPT_STR,
    "region": str,
    "metadata": {"endpoint_config_name": str, "production_variants_count": int},
    "instance_type": OPT_STR,
    "model_name": OPT_STR,
    "initial_instance_count": OPT_INT,
    "variant_name": OPT_STR,
}

# AWSSageMakerPlugin._list_models
SAGEMAKER_MODEL: Spec = {
    "id": str,
    "name": str,
    "type": Const("model"),
    "discovery_source": Const("aws_sagemaker_api"),
    "creation_time": OPT_STR,
    "region": str,
    "metadata": {"enable_network_isolation": bool},
    "container_image": OPT_STR,
    "model_data_url": OPT_STR,
    "execution_role": OPT_STR,
}

# AWSSageMakerPlugin._list_model_packages (versioned ones add group_description and version)
SAGEMAKER_MODEL_PACKAGE: Spec = {
    "id": str,
    "name": str,
    "group": OPT_STR,
    "type": Const("model_package"),
    "discovery_source": Const("aws_sagemaker_api"),
    "status": OPT_STR,
    "approval_status": OPT_STR,
    "creation_time": OPT_STR,
    "region": str,
}
SAGEMAKER_VERSIONED_PACKAGE: Spec = {
    **SAGEMAKER_MODEL_PACKAGE,
    "group": str,
    "group_description": OPT_STR,
    "version": int,
}

# AWSSageMakerPlugin._list_training_jobs
SAGEMAKER_TRAINING_JOB: Spec = {
    "id": str,
    "name": str,
    "type": Const("training_job"),
    "discovery_source": Const("aws_sagemaker_api"),
    "status": OPT_STR,
    "secondary_status": OPT_STR,
    "creation_time": OPT_STR,
    "end_time": OPT_STR,
    "last_modified": OPT_STR,
    "region": str,
    "metadata": dict,
    "instance_type": OPT_STR,
    "instance_count": OPT_INT,
    "volume_size_gb": OPT_INT,
    "training_image": OPT_STR,
    "training_input_mode": OPT_STR,
    "billable_seconds": OPT_INT,
    "output_path": OPT_STR,
}

# AWSSageMakerPlugin.get_endpoint_invocation_metrics (also each item of get_all_endpoint_metrics)
SAGEMAKER_ENDPOINT_METRICS: Spec = {
    "endpoint_name": str,
    "period_days": int,
    "invocations": OPT_INT,
    "model_latency_avg_ms": OPT_FLOAT,
    "overhead_latency_avg_ms": OPT_FLOAT,
    "errors_4xx": OPT_INT,
    "errors_5xx": OPT_INT,
}

# AWSSageMakerPlugin.get_usage_summary
SAGEMAKER_USAGE_SUMMARY: Spec = {
    "summary": {
        "total_endpoints": int,
        "active_endpoints": int,
        "total_models": int,
        "total_model_packages": int,
        "training_jobs_last_n_days": int,
        "total_invocations_last_n_days": int,
    },
    "period_days": int,
    "top_endpoints_by_invocations": list,
    "region": str,
}

# -- the rest of the plugin API (core.py BaseDiscoveryPlugin, aws/base.py AWSClientMixin, registry.py) ----------
# method -> its parameters as OpenCITE declares them: (name, default) pairs, "*" for **kwargs, no default: ...
SIGNATURES: dict[str, list[tuple[str, Any]]] = {
    "verify_connection": [],
    "list_assets": [("asset_type", ...), ("kwargs", "*")],
    "get_account_id": [],
    "get_config": [],
    "export_assets": [],
}
BEDROCK_SIGNATURES: dict[str, list[tuple[str, Any]]] = {
    **SIGNATURES,
    "get_usage_by_model": [("days", 7)],
    "get_usage_by_user": [("days", 7)],
}
SAGEMAKER_SIGNATURES: dict[str, list[tuple[str, Any]]] = {
    **SIGNATURES,
    "get_endpoint_invocation_metrics": [("endpoint_name", ...), ("days", 7)],
    "get_all_endpoint_metrics": [("days", 7)],
    "get_usage_summary": [("days", 7)],
}
CREATE_PLUGIN_INSTANCE: list[tuple[str, Any]] = [
    ("plugin_type", ...),
    ("config", None),
    ("instance_id", None),
    ("display_name", None),
    ("dependencies", None),
]
FROM_CONFIG: list[tuple[str, Any]] = [
    ("config", ...),
    ("instance_id", None),
    ("display_name", None),
    ("dependencies", None),
]

# export_assets() keys
BEDROCK_EXPORT_KEYS = {
    "aws_bedrock_models",
    "aws_bedrock_custom_models",
    "aws_bedrock_provisioned_throughput",
    "aws_bedrock_invocations",
    "aws_bedrock_usage_by_model",
}
SAGEMAKER_EXPORT_KEYS = {
    "aws_sagemaker_endpoints",
    "aws_sagemaker_models",
    "aws_sagemaker_model_packages",
    "aws_sagemaker_training_jobs",
    "aws_sagemaker_usage_summary",
}
# plugin_metadata(): name, description, required_fields {field: {label, default, required[, type]}}
METADATA_FIELDS = {"region", "access_key_id", "secret_access_key", "profile", "role_arn"}
SUPPORTED_ASSET_TYPES = {
    "aws_bedrock": {"model", "custom_model", "provisioned_throughput", "invocation"},
    "aws_sagemaker": {"endpoint", "model", "model_package", "training_job"},
}


def mismatches(value: Any, spec: Spec, where: str = "") -> list[str]:
    """Every key of ``spec`` missing from ``value`` or holding a value of another kind, as readable lines."""
    if not isinstance(value, dict):
        return [f"{where or 'value'}: expected an object, got {type(value).__name__}"]
    out: list[str] = []
    for key, want in spec.items():
        path = f"{where}.{key}" if where else key
        if key not in value:
            out.append(f"{path}: missing")
            continue
        got = value[key]
        if isinstance(want, dict):
            out.extend(mismatches(got, want, path))
        elif isinstance(want, Const):
            if got != want.value:
                out.append(f"{path}: expected {want.value!r}, got {got!r}")
        elif isinstance(got, bool) and bool not in (want if isinstance(want, tuple) else (want,)):
            out.append(f"{path}: expected {want}, got a bool")
        elif not isinstance(got, want):
            out.append(f"{path}: expected {want}, got {type(got).__name__} {got!r}")
    return out
