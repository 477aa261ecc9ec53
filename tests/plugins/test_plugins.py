"""The plugin API snippet of issue 5, run against the sandbox with a seeded estate; every listed field asserted."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from bedrockctl.errors import ValidationFailed
from bedrockctl.plugins import registry
from bedrockctl.plugins.registry import create_plugin_instance, list_plugins
from inventory.estate import HAIKU, LOG_GROUP, invoke, put_endpoint_invocations, seed_bedrock, seed_sagemaker

MODEL_FIELDS = {
    "id",
    "name",
    "provider",
    "arn",
    "region",
    "streaming_supported",
    "input_modalities",
    "output_modalities",
    "inference_types",
    "lifecycle_status",
}


@pytest.fixture
def estate(sandbox_env):
    est = seed_bedrock(sandbox_env.endpoint_url)
    seed_sagemaker(sandbox_env.endpoint_url, est)
    return est


def test_bedrock_snippet_against_seeded_estate(sandbox_env, estate):
    plugin = create_plugin_instance("aws_bedrock", {"region": "us-east-1", "cloudwatch_log_group": LOG_GROUP})
    status = plugin.verify_connection()
    assert status["success"] is True and status["ok"] is True
    assert status["message"] == "Successfully connected to AWS Bedrock"
    assert status["account_id"] == "123456789012"
    assert status["region"] == "us-east-1"
    assert status["identity_arn"].endswith(":user/moto")
    assert status["credential_source"] == "env"
    assert isinstance(status["foundation_models_available"], int) and status["foundation_models_available"] > 10

    models = plugin.list_assets("model")
    assert len(models) == status["foundation_models_total"]
    # OpenCITE's count: the models with text output (its list_foundation_models(byOutputModality="TEXT"))
    assert status["foundation_models_available"] == sum("TEXT" in m["output_modalities"] for m in models)
    assert status["foundation_models_available"] < status["foundation_models_total"]  # embeddings, images
    haiku = next(m for m in models if m["id"] == HAIKU)
    assert set(haiku) >= MODEL_FIELDS
    assert haiku["name"] == "Claude 3 Haiku" and haiku["provider"] == "Anthropic"
    assert haiku["arn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
    assert haiku["region"] == "us-east-1" and haiku["streaming_supported"] is True
    assert "TEXT" in haiku["input_modalities"] and haiku["output_modalities"] == ["TEXT"]
    assert "ON_DEMAND" in haiku["inference_types"] and haiku["lifecycle_status"] == "ACTIVE"

    custom = plugin.list_assets("custom_model")
    assert [c["name"] for c in custom] == [estate.custom_model_name]
    assert custom[0]["base_model_arn"].endswith("amazon.titan-text-express-v1")

    pts = plugin.list_assets("provisioned_throughput")
    assert [(p["arn"], p["name"], p["model_units"], p["status"]) for p in pts] == [
        (estate.pt_arn, estate.pt_name, 1, "InService")
    ]
    assert pts[0]["foundation_model_arn"].endswith(HAIKU)

    profiles = plugin.list_assets("inference_profile")
    assert {p["type"] for p in profiles} == {"inference_profile"}
    app = [p for p in profiles if p["profile_type"] == "APPLICATION"]
    assert [p["arn"] for p in app] == [estate.app_profile_arn]
    assert app[0]["tags"] == {"team": "a", "env": "prod"} and app[0]["name"] == "team-a-haiku"
    system = [p for p in profiles if p["profile_type"] == "SYSTEM_DEFINED"]
    assert any(p["id"] == f"us.{HAIKU}" for p in system) and all(p["tags"] == {} for p in system)

    assert [g["id"] for g in plugin.list_assets("guardrail")] == [estate.guardrail_id]
    agents = plugin.list_assets("agent")
    assert [a["id"] for a in agents] == [estate.agent_id] and agents[0]["name"] == "support-agent"
    assert isinstance(agents[0]["aliases"], list) and all("id" in a for a in agents[0]["aliases"])
    assert [k["id"] for k in plugin.list_assets("knowledge_base")] == [estate.kb_id]
    logging_cfg = plugin.list_assets("invocation_logging")
    assert logging_cfg[0]["enabled"] is True and logging_cfg[0]["cloudwatch_log_group"] == LOG_GROUP

    tokens = invoke(sandbox_env.endpoint_url)
    invocations = plugin.list_assets("invocation")
    assert sorted(i["operation"] for i in invocations) == sorted(
        ["Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"]
    )
    assert all(i["model_id"] == HAIKU and i["source"] == "cloudtrail+invocation_log" for i in invocations)

    by_model = plugin.get_usage_by_model(days=7)
    stats = by_model[HAIKU]
    assert stats["invocation_count"] == 4 and stats["unique_user_count"] == 1
    assert stats["input_tokens"] == tokens["input"] and stats["output_tokens"] == tokens["output"]
    assert stats["token_source"] == "invocation_log"
    by_user = plugin.get_usage_by_user(days=7)
    assert list(by_user) == ["arn:aws:iam::123456789012:user/moto"]
    assert by_user["arn:aws:iam::123456789012:user/moto"]["invocation_count"] == 4
    assert by_user["arn:aws:iam::123456789012:user/moto"]["models"] == [HAIKU]


def test_sagemaker_snippet_against_seeded_estate(sandbox_env, estate):
    sm = create_plugin_instance("aws_sagemaker", {"region": "us-east-1"})
    endpoints = {e["name"]: e for e in sm.list_assets("endpoint")}
    assert set(endpoints) == {estate.endpoint, estate.idle_endpoint}
    busy = endpoints[estate.endpoint]
    assert busy["status"] == "InService" and busy["instance_type"] == "ml.g4dn.xlarge"
    assert busy["instance_count"] == 2 and busy["model_names"] == [estate.sm_models[0]]
    assert busy["variants"][0]["name"] == "AllTraffic" and busy["creation_time"]

    assert sorted(m["name"] for m in sm.list_assets("model")) == sorted(estate.sm_models)
    packages = sm.list_assets("model_package")
    assert sorted((p["versioned"], p["name"]) for p in packages) == [
        (False, "unversioned-pkg"),
        (True, estate.package_group),
    ]
    jobs = sm.list_assets("training_job")
    assert [(j["name"], j["instance_type"]) for j in jobs] == [(estate.training_job, "ml.p3.2xlarge")]

    put_endpoint_invocations(sandbox_env.endpoint_url, "us-east-1", estate.endpoint, 42)
    metrics = sm.get_endpoint_invocation_metrics(estate.endpoint, days=7)
    assert metrics["invocations"] == 42
    assert metrics["invocation_4xx_errors"] == 2 and metrics["invocation_5xx_errors"] == 1
    assert metrics["model_latency_avg_ms"] == pytest.approx(25.0)
    everything = sm.get_all_endpoint_metrics(days=7)  # most invoked first, as OpenCITE orders them
    assert [(m["endpoint_name"], m["invocations"]) for m in everything] == [
        (estate.endpoint, 42),
        (estate.idle_endpoint, 0),
    ]
    summary = sm.get_usage_summary(days=7)
    assert summary["summary"]["active_endpoints"] == 1  # OpenCITE's meaning: invoked in the window
    assert summary["summary"]["in_service_endpoints"] == 2
    assert [m["endpoint_name"] for m in summary["top_endpoints_by_invocations"]] == [estate.endpoint]
    assert summary["summary"]["total_invocations_last_n_days"] == 42
    assert summary["summary"]["idle_endpoints"] == 1 and len(summary["endpoints"]) == 2


def test_invocations_paginate_past_1000_events_and_count_cache_tokens(sandbox_env, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(sandbox_env.effects.retention, "limit", None)  # keep all 1,030 log events (docs/sandbox.md)

    from bedrockctl.sandbox.testing import install_probe_route, signed_request

    install_probe_route()
    seed_bedrock(sandbox_env.endpoint_url)  # logging on
    ops = ["Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"]

    def call(i: int) -> int:
        body = {
            "operation": ops[i % 4],
            "input_tokens": 10,
            "output_tokens": 5,
            "cache_read_tokens": 3,
            "cache_write_tokens": 1 if i % 2 else 0,
        }
        status, _, _ = signed_request(
            sandbox_env.endpoint_url, "POST", f"/model/{HAIKU}/sandbox-probe", body, service="bedrock"
        )
        return status

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(call, range(1030))) == {200}
    plugin = create_plugin_instance("aws_bedrock", {"region": "us-east-1", "cloudwatch_log_group": LOG_GROUP})
    stats = plugin.get_usage_by_model(days=1)[HAIKU]
    assert stats["invocation_count"] == 1030
    assert stats["operations"] == {op: 1030 // 4 + (1 if i < 1030 % 4 else 0) for i, op in enumerate(ops)}
    assert (stats["input_tokens"], stats["output_tokens"]) == (10300, 5150)
    assert (stats["cache_read_tokens"], stats["cache_write_tokens"]) == (3090, 515)
    # without a log group: CloudTrail only, no token counts claimed
    plain = create_plugin_instance("aws_bedrock", {"region": "us-east-1"}).get_usage_by_model(days=1)[HAIKU]
    assert plain["invocation_count"] == 1030 and plain["token_source"] == "none" and plain["input_tokens"] == 0


def test_registry_lists_builtins_and_rejects_unknown(sandbox_env):
    names = {p["name"]: p for p in list_plugins()}
    assert {"aws_bedrock", "aws_sagemaker"} <= set(names)
    fields = [f["name"] for f in names["aws_bedrock"]["config_fields"]]
    assert fields == [
        "region",
        "profile",
        "access_key_id",
        "secret_access_key",
        "session_token",
        "role_arn",
        "external_id",
        "cloudwatch_log_group",
    ]
    assert "cloudwatch_log_group" not in [f["name"] for f in names["aws_sagemaker"]["config_fields"]]
    assert {
        "model",
        "custom_model",
        "provisioned_throughput",
        "invocation",
        "inference_profile",
        "imported_model",
        "guardrail",
        "agent",
        "knowledge_base",
        "invocation_logging",
    } == set(names["aws_bedrock"]["asset_types"])
    with pytest.raises(ValidationFailed):
        create_plugin_instance("nope", {})
    with pytest.raises(ValidationFailed):
        create_plugin_instance("aws_sagemaker", {"cloudwatch_log_group": "x"})
    with pytest.raises(ValidationFailed):
        create_plugin_instance("aws_bedrock", {}).list_assets("endpoint")


def test_explicit_keys_config(sandbox_env, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    plugin = create_plugin_instance(
        "aws_bedrock",
        {"region": "eu-west-1", "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "testing"},
    )
    status = plugin.verify_connection()
    assert status["success"] and status["region"] == "eu-west-1" and status["credential_source"] == "explicit"


def test_third_party_plugin_via_entry_point(tmp_path: Path, monkeypatch, sandbox_env):
    (tmp_path / "acme_plugin.py").write_text(
        textwrap.dedent(
            """
            from bedrockctl.plugins.base import AssetSpec, Plugin

            def _bucket(plugin, raw):
                return {"id": raw["Name"], "name": raw["Name"], "region": plugin.region}

            class AcmeBuckets(Plugin):
                name = "acme_s3"
                description = "S3 buckets, declared as data"
                asset_specs = {"bucket": AssetSpec("bucket", "s3", "list_buckets", "Buckets", "Name",
                                                   transform=_bucket)}
            """
        )
    )
    dist = tmp_path / "acme_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[bedrockctl.plugins]\nacme_s3 = acme_plugin:AcmeBuckets\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.refresh()
    try:
        import boto3

        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="acme-data")
        listed = {p["name"]: p for p in list_plugins()}
        assert listed["acme_s3"]["source"] == "entry_point" and listed["acme_s3"]["asset_types"] == ["bucket"]
        assets = create_plugin_instance("acme_s3", {"region": "us-east-1"}).list_assets("bucket")
        assert assets == [
            {
                "id": "acme-data",
                "name": "acme-data",
                "region": "us-east-1",
                "type": "bucket",
                "discovery_source": "acme_s3_api",
            }
        ]
    finally:
        sys.modules.pop("acme_plugin", None)
        registry.refresh()
