"""``aws_bedrock``: foundation models, inference profiles, custom/imported models, provisioned throughput,
guardrails, agents (with aliases), knowledge bases, the invocation-logging configuration, and usage
(CloudTrail + invocation logs)."""

from __future__ import annotations

from typing import Any, ClassVar

from bedrockctl.plugins.base import AWS_CONFIG_FIELDS, AssetSpec, CallSpec, ConfigField, Item, Plugin, dig, iso
from bedrockctl.plugins.bedrock_usage import BedrockUsageMixin


def _model(p: Plugin, m: Item) -> Item:
    types = list(m.get("inferenceTypesSupported") or [])
    return {
        "id": m.get("modelId"),
        "name": m.get("modelName"),
        "provider": m.get("providerName"),
        "arn": m.get("modelArn"),
        "region": p.region,
        "streaming_supported": bool(m.get("responseStreamingSupported", False)),
        "input_modalities": list(m.get("inputModalities") or []),
        "output_modalities": list(m.get("outputModalities") or []),
        "inference_types": types,
        "lifecycle_status": dig(m, "modelLifecycle.status"),
        "customizations_supported": list(m.get("customizationsSupported") or []),
        "on_demand": "ON_DEMAND" in types,
        "profile_only": types == ["INFERENCE_PROFILE"],
    }


def _custom_model(p: Plugin, m: Item) -> Item:
    return {
        "id": m.get("modelArn"),
        "name": m.get("modelName"),
        "arn": m.get("modelArn"),
        "region": p.region,
        "base_model_arn": m.get("baseModelArn"),
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
        "type": m.get("type"),
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


def _invocations(plugin: Any, days: int = 7, **kwargs: Any) -> list[Item]:
    return list(plugin.list_invocations(days=days, **kwargs))


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
            "custom_model", "bedrock", "list_custom_models", "modelSummaries", "modelArn", transform=_custom_model
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
        AssetSpec("invocation", "cloudtrail", "lookup_events", "Events", "EventId", custom=_invocations),
    )
}


class AwsBedrockPlugin(BedrockUsageMixin, Plugin):
    """Amazon Bedrock assets and usage in one account and region."""

    name: ClassVar[str] = "aws_bedrock"
    description: ClassVar[str] = "Amazon Bedrock: models, profiles, custom models, throughput, agents, usage"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        *AWS_CONFIG_FIELDS,
        ConfigField("cloudwatch_log_group", description="Invocation log group (token counts, cache reads/writes)"),
    )
    asset_specs: ClassVar[dict[str, AssetSpec]] = SPECS
    # what `discover` scans by default ("invocation" is usage, not inventory)
    default_asset_types: ClassVar[tuple[str, ...]] = tuple(t for t in SPECS if t != "invocation")

    def verify_connection(self) -> dict[str, Any]:
        status = super().verify_connection()
        if not status["ok"]:
            return status
        try:
            status["foundation_models_available"] = len(
                self.pages("bedrock", "list_foundation_models", "modelSummaries")
            )
        except Exception as exc:
            status.update(
                ok=False, foundation_models_available=0, error=str(exc), error_code=getattr(exc, "code", None)
            )
        return status
