"""doctor as the command line runs it: where the endpoint came from (the settings' provenance), ``--model all``
(the catalog models enabled in the account) and the embedding call that checks an embedding model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Workspace

TITAN_EMBED = "amazon.titan-embed-text-v2:0"
NOVA_LITE = "amazon.nova-lite-v1:0"


def _doctor(workspace: Workspace, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    res = workspace.run("doctor", "--timeout", "1", *args, "--output", "json", env=env)
    assert res.exit_code in (0, 1, 2), res.output
    report: dict[str, Any] = json.loads(res.stdout)
    return report


def _check(report: dict[str, Any], check_id: str, target: str | None = None) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["id"] == check_id and (target is None or c["target"] == target))


def test_endpoint_source_from_the_environment(workspace: Workspace) -> None:
    evidence = _check(_doctor(workspace), "network.endpoint")["evidence"]
    assert "(from AWS_ENDPOINT_URL)" in evidence and "config" not in evidence


def test_endpoint_source_from_the_config_file(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = workspace.run("config", "show", "--query", 'settings."aws.endpoint_url".value', "--output", "text")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    workspace.config.write_text(f'[aws]\nregion = "us-east-1"\nendpoint_url = "{endpoint.stdout.strip()}"\n')
    evidence = _check(_doctor(workspace), "network.endpoint")["evidence"]
    assert f"(from endpoint_url in {workspace.config})" in evidence, evidence


def test_model_all_is_the_enabled_catalog_models(workspace: Workspace, boto_client: Any) -> None:
    from bedrockctl.sandbox.bedrock.control import set_model_access

    set_model_access(boto_client("sts").get_caller_identity()["Account"], NOVA_LITE, False)
    report = _doctor(workspace, "--model", "all", "--invoke")
    how = _check(report, "models.all")
    assert how["status"] == "pass" and NOVA_LITE in how["data"]["not_enabled"], (how["evidence"], how["data"])
    checked = {c["target"] for c in report["checks"] if c["id"] == "models.access"}
    assert NOVA_LITE not in checked and TITAN_EMBED in checked and set(how["data"]["enabled"]) <= checked
    embed = _check(report, "models.access", TITAN_EMBED)
    assert embed["status"] == "pass" and embed["title"] == "Model access (one embedding call)", embed
    assert embed["data"]["dimensions"] > 0
    failing = [c for c in report["checks"] if c["id"] == "models.access" and c["status"] == "fail"]
    assert not failing, [(c["target"], c["evidence"]) for c in failing]


def _quota(workspace: Workspace, model: str) -> dict[str, Any]:
    return _check(_doctor(workspace, "--model", model), "quotas", model)


def test_quota_check_reads_service_quotas_and_the_peak_minute(workspace: Workspace, boto_client: Any) -> None:
    """The model's on-demand tokens-per-minute quota against its busiest minute (input + output tokens)."""
    from bedrockctl.sandbox.quotas import DEFAULT_TOKENS_PER_MINUTE, set_bedrock_quota

    runtime = boto_client("bedrock-runtime")
    answer = runtime.converse(modelId=NOVA_LITE, messages=[{"role": "user", "content": [{"text": "hello there"}]}])
    used = answer["usage"]["inputTokens"] + answer["usage"]["outputTokens"]
    check = _quota(workspace, NOVA_LITE)
    assert check["status"] == "pass", check
    assert check["data"] == {
        "quota": DEFAULT_TOKENS_PER_MINUTE,
        "peak_tokens_per_minute": used,
        "quota_code": check["data"]["quota_code"],
    }
    assert "On-demand model inference tokens per minute for Nova Lite" in check["evidence"]
    account = boto_client("sts").get_caller_identity()["Account"]
    set_bedrock_quota(account, "us-east-1", "Nova Lite", used)  # the peak reaches the quota
    over = _quota(workspace, NOVA_LITE)
    assert over["status"] == "fail" and "request-service-quota-increase" in over["remediation"], over


def test_quota_check_says_why_it_skips(workspace: Workspace) -> None:
    check = _quota(workspace, TITAN_EMBED)  # no tokens-per-minute quota is named for an embedding model here
    assert check["status"] == "skip", check
    assert "tokens-per-minute quota named for Titan Text Embeddings V2" in check["evidence"]
