"""``aws_bedrock``: foundation models, inference profiles, custom/imported models, provisioned throughput,
guardrails, agents (with aliases), knowledge bases, the invocation-logging configuration, and usage
(CloudTrail + invocation logs)."""

from __future__ import annotations

from typing import Any, ClassVar

from bedrockctl.plugins.base import AWS_CONFIG_FIELDS, AssetSpec, CallSpec, ConfigField, Item, Plugin, dig, iso
from bedrockctl.plugins.bedrock_usage import BedrockUsageMixin
from bedrockctl.plugins.compat import ExportEntry


def _model(p: Plugin, m: Item) -> Item:
    types = list(m.get("inferenceTypesSupported") or [])
    inputs, outputs = list(m.get("inputModalities") or []), list(m.get("outputModalities") or [])
    customizations = list(m.get("customizationsSupported") or [])
    return {
        "id": m.get("modelId"),
        "name": m.get("modelName") or m.get("modelId"),
        "provider": m.get("providerName") or "unknown",
        "arn": m.get("modelArn"),
        "region": p.region,
        "streaming_supported": bool(m.get("responseStreamingSupported", False)),
        "input_modalities": inputs,
        "output_modalities": outputs,
        "modalities": {"input": list(inputs), "output": list(outputs)},  # OpenCITE's shape of the two above
        "inference_types": types,
        "lifecycle_status": dig(m, "modelLifecycle.status"),
        "customizations_supported": customizations,
        "customization_supported": list(customizations),  # OpenCITE's name
        "on_demand": "ON_DEMAND" in types,
        "profile_only": types == ["INFERENCE_PROFILE"],
        "metadata": {
            "model_arn": m.get("modelArn"),
            "model_lifecycle": {k: iso(v) for k, v in (m.get("modelLifecycle") or {}).items()},  # times as ISO
        },
    }


def _custom_model(p: Plugin, m: Item) -> Item:
    return {
        "id": m.get("modelArn"),
        "name": m.get("modelName"),
        "arn": m.get("modelArn"),
        "region": p.region,
        "base_model_arn": m.get("baseModelArn"),
        "base_model": m.get("baseModelArn"),  # OpenCITE's name
        "base_model_name": m.get("baseModelName"),
        "customization_type": m.get("customizationType"),
        "status": m.get("modelStatus"),
        "owner_account_id": m.get("ownerAccountId"),
        "creation_time": iso(m.get("creationTime")),
    }


def _imported_model(p: Plugin, m: Item) -> Item:
    return {
        "id": m.get("modelArn"),
        "name": m.get("modelName"),
        "arn": m.get("modelArn"),
        "region": p.region,
        "model_architecture": m.get("modelArchitecture"),
        "instruct_supported": m.get("instructSupported"),
        "creation_time": iso(m.get("creationTime")),
    }


def _provisioned(p: Plugin, m: Item) -> Item:
    return {
        "id": m.get("provisionedModelArn"),
        "name": m.get("provisionedModelName"),
        "arn": m.get("provisionedModelArn"),
        "region": p.region,
        "model_arn": m.get("modelArn"),
        "foundation_model_arn": m.get("foundationModelArn"),
        "model_units": m.get("modelUnits"),
        "desired_model_units": m.get("desiredModelUnits"),
        "status": m.get("status"),
        "commitment_duration": m.get("commitmentDuration"),
        "commitment_expiration_time": iso(m.get("commitmentExpirationTime")),
        "creation_time": iso(m.get("creationTime")),
        "last_modified_time": iso(m.get("lastModifiedTime")),
    }


def _profile(p: Plugin, m: Item) -> Item:
    return {
        "id": m.get("inferenceProfileId"),
        "name": m.get("inferenceProfileName"),
        "arn": m.get("inferenceProfileArn"),
        "region": p.region,
        "profile_type": m.get("type"),  # SYSTEM_DEFINED or APPLICATION (``type`` is the asset type)
        "status": m.get("status"),
        "description": m.get("description"),
        "models": [x.get("modelArn") for x in m.get("models") or []],
        "tags": m.get("_tags", {}),
        "creation_time": iso(m.get("createdAt")),
    }


def _guardrail(p: Plugin, m: Item) -> Item:
    return {
        "id": m.get("id"),
        "name": m.get("name"),
        "arn": m.get("arn"),
        "region": p.region,
        "status": m.get("status"),
        "version": m.get("version"),
        "description": m.get("description"),
        "creation_time": iso(m.get("createdAt")),
        "updated_time": iso(m.get("updatedAt")),
    }


def _agent(p: Plugin, m: Item) -> Item:
    return {
        "id": m.get("agentId"),
        "name": m.get("agentName"),
        "region": p.region,
        "status": m.get("agentStatus"),
        "description": m.get("description"),
        "latest_version": m.get("latestAgentVersion"),
        "updated_time": iso(m.get("updatedAt")),
        "aliases": [
            {
                "id": a.get("agentAliasId"),
                "name": a.get("agentAliasName"),
                "status": a.get("agentAliasStatus"),
                "versions": [r.get("agentVersion") for r in a.get("routingConfiguration") or []],
            }
            for a in m.get("aliases") or []
        ],
    }


def _knowledge_base(p: Plugin, m: Item) -> Item:
    return {
        "id": m.get("knowledgeBaseId"),
        "name": m.get("name"),
        "region": p.region,
        "status": m.get("status"),
        "description": m.get("description"),
        "updated_time": iso(m.get("updatedAt")),
    }


def _logging(p: Plugin, cfg: Item) -> Item:
    cw = cfg.get("cloudWatchConfig") or {}
    s3 = cfg.get("s3Config") or {}
    return {
        "id": f"invocation-logging/{p.region}",
        "name": "model invocation logging",
        "region": p.region,
        "enabled": bool(cw.get("logGroupName") or s3.get("bucketName")),
        "cloudwatch_log_group": cw.get("logGroupName"),
        "cloudwatch_role_arn": cw.get("roleArn"),
        "s3_bucket": s3.get("bucketName"),
        "s3_key_prefix": s3.get("keyPrefix"),
        "text_data_delivery": bool(cfg.get("textDataDeliveryEnabled", False)),
        "image_data_delivery": bool(cfg.get("imageDataDeliveryEnabled", False)),
        "embedding_data_delivery": bool(cfg.get("embeddingDataDeliveryEnabled", False)),
    }


def _invocations(plugin: Any, days: int = 7, max_results: int | None = None) -> list[Item]:
    return list(plugin.list_invocations(days=days, max_results=max_results))


SPECS: dict[str, AssetSpec] = {
    s.asset_type: s
    for s in (
        AssetSpec("model", "bedrock", "list_foundation_models", "modelSummaries", "modelId", transform=_model),
        AssetSpec(
            "inference_profile",
            "bedrock",
            "list_inference_profiles",
            "inferenceProfileSummaries",
            "inferenceProfileId",
            param_sets=({"typeEquals": "SYSTEM_DEFINED"}, {"typeEquals": "APPLICATION"}),
            tags=CallSpec(
                "list_tags_for_resource", {"resourceARN": "inferenceProfileArn"}, "tags", when={"type": "APPLICATION"}
            ),
            transform=_profile,
        ),
        AssetSpec(
            "custom_model",
            "bedrock",
            "list_custom_models",
            "modelSummaries",
            "modelArn",
            transform=_custom_model,
            kind="model",  # OpenCITE's ``type`` of a custom model
        ),
        AssetSpec(
            "imported_model", "bedrock", "list_imported_models", "modelSummaries", "modelArn", transform=_imported_model
        ),
        AssetSpec(
            "provisioned_throughput",
            "bedrock",
            "list_provisioned_model_throughputs",
            "provisionedModelSummaries",
            "provisionedModelArn",
            transform=_provisioned,
        ),
        AssetSpec("guardrail", "bedrock", "list_guardrails", "guardrails", "id", transform=_guardrail),
        AssetSpec(
            "agent",
            "bedrock-agent",
            "list_agents",
            "agentSummaries",
            "agentId",
            children=(CallSpec("list_agent_aliases", {"agentId": "agentId"}, "agentAliasSummaries", into="aliases"),),
            transform=_agent,
        ),
        AssetSpec(
            "knowledge_base",
            "bedrock-agent",
            "list_knowledge_bases",
            "knowledgeBaseSummaries",
            "knowledgeBaseId",
            transform=_knowledge_base,
        ),
        AssetSpec(
            "invocation_logging",
            "bedrock",
            "get_model_invocation_logging_configuration",
            "loggingConfig",
            "id",
            single=True,
            transform=_logging,
        ),
        AssetSpec(
            "invocation",
            "cloudtrail",
            "lookup_events",
            "Events",
            "EventId",
            custom=_invocations,
            options={"days": 7, "max_results": None},
            kind="bedrock_invocation",
        ),
    )
}


class AwsBedrockPlugin(BedrockUsageMixin, Plugin):
    """Amazon Bedrock assets and usage in one account and region."""

    name: ClassVar[str] = "aws_bedrock"
    title: ClassVar[str] = "AWS Bedrock"
    description: ClassVar[str] = "Amazon Bedrock: models, profiles, custom models, throughput, agents, usage"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        *AWS_CONFIG_FIELDS,
        ConfigField("cloudwatch_log_group", description="Invocation log group (token counts, cache reads/writes)"),
    )
    asset_specs: ClassVar[dict[str, AssetSpec]] = SPECS
    # what `discover` scans by default ("invocation" is usage, not inventory)
    default_asset_types: ClassVar[tuple[str, ...]] = tuple(t for t in SPECS if t != "invocation")

    export_entries: ClassVar[tuple[ExportEntry, ...]] = (
        ("aws_bedrock_models", "model", {}),
        ("aws_bedrock_custom_models", "custom_model", {}),
        ("aws_bedrock_provisioned_throughput", "provisioned_throughput", {}),
        ("aws_bedrock_invocations", "invocation", {"days": 7}),
        ("aws_bedrock_usage_by_model", "get_usage_by_model", {"days": 7}),
    )

    def connection_extras(self) -> dict[str, Any]:
        """``foundation_models_available``: models with text output (OpenCITE's count, its
        ``byOutputModality=TEXT`` call); ``foundation_models_total``: every model offered in the region."""
        models = self.pages("bedrock", "list_foundation_models", "modelSummaries")
        return {
            "foundation_models_available": sum("TEXT" in (m.get("outputModalities") or []) for m in models),
            "foundation_models_total": len(models),
        }
