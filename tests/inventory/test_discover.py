"""discover / inventory / models end to end against the sandbox, through the CLI."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from inventory.estate import HAIKU, TITAN, client, put_endpoint_invocations, seed_bedrock, seed_sagemaker

ROLE = "OrganizationAccountAccessRole"
EXTERNAL_ID = "audit-7f3c"
DEAD = "eu-west-3"


def _org(endpoint: str, members: int = 2) -> list[str]:
    """An AWS Organization with ``members`` accounts whose access role demands our external id; each member has a
    guardrail in us-east-1 and eu-west-1."""
    org = client(endpoint, "organizations")
    org.create_organization(FeatureSet="ALL")
    ids = []
    for i in range(members):
        status = org.create_account(AccountName=f"member{i}", Email=f"m{i}@example.com")["CreateAccountStatus"]
        ids.append(status["AccountId"])
    sts = client(endpoint, "sts")
    for acct in ids:
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{acct}:role/{ROLE}", RoleSessionName="setup")["Credentials"]
        kw = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
        for region in ("us-east-1", "eu-west-1"):
            client(endpoint, "bedrock", region, **kw).create_guardrail(
                name=f"guard-{acct[-4:]}",
                blockedInputMessaging="no",
                blockedOutputsMessaging="no",
                contentPolicyConfig={
                    "filtersConfig": [{"type": "HATE", "inputStrength": "LOW", "outputStrength": "LOW"}]
                },
            )
        client(endpoint, "iam", **kw).update_assume_role_policy(
            RoleName=ROLE,
            PolicyDocument=(
                '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":'
                '"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole",'
                f'"Condition":{{"StringEquals":{{"sts:ExternalId":"{EXTERNAL_ID}"}}}}}}]}}'
            ),
        )
    return ids


def test_discover_org_all_regions_with_a_dead_region(sandbox_env, sandbox_admin, store_url, cli):
    members = _org(sandbox_env.endpoint_url)
    est = seed_bedrock(sandbox_env.endpoint_url, logging=False)
    seed_sagemaker(sandbox_env.endpoint_url, est)
    sandbox_admin.set_faults({"latency": [{"ms": 15000, "region": DEAD}]})
    rep = cli(
        "discover",
        "--accounts",
        "org",
        "--regions",
        "all",
        "--role-name",
        ROLE,
        "--external-id",
        EXTERNAL_ID,
        "--asset-types",
        "guardrail,provisioned_throughput,endpoint",
        "--probe-timeout",
        "1",
        "--json",
    )
    assert sorted(rep["accounts"]) == sorted([*members, "123456789012"])
    assert DEAD in rep["regions"] and len(rep["regions"]) > 15
    assert list(rep["dead_regions"]) == [DEAD]
    errors = rep["errors"]
    assert errors and all(e["region"] == DEAD and e["error_code"] == "REGION_UNREACHABLE" for e in errors)
    assert len(errors) == 3 * 3  # 3 accounts x 3 asset types, nothing else failed
    assert rep["targets_ok"] == rep["targets"] - len(errors)
    found = {(a["account_id"], a["region"], a["asset_type"], a["name"]) for a in rep["assets"]}
    for acct in members:
        for region in ("us-east-1", "eu-west-1"):
            assert (acct, region, "guardrail", f"guard-{acct[-4:]}") in found
    assert ("123456789012", "us-east-1", "provisioned_throughput", est.pt_name) in found
    assert ("123456789012", "us-east-1", "endpoint", est.endpoint) in found
    assert rep["snapshot"]["added"] == len(rep["assets"])
    # without the external id the member roles refuse us: reported per account, the scan still completes
    rep2 = cli(
        "discover",
        "--accounts",
        "org",
        "--regions",
        "us-east-1",
        "--role-name",
        ROLE,
        "--asset-types",
        "guardrail",
        "--no-store",
        "--json",
    )
    assert {e["account_id"] for e in rep2["errors"]} == set(members)
    assert all(e["error_code"] == "BRC-CRED-006" for e in rep2["errors"])
    assert [a["account_id"] for a in rep2["assets"]] == ["123456789012"]


def test_rescan_marks_deleted_asset_removed_and_diff_shows_it(sandbox_env, store_url, cli):
    est = seed_bedrock(sandbox_env.endpoint_url, logging=False)
    args = ("discover", "--plugins", "aws_bedrock", "--asset-types", "guardrail,provisioned_throughput,agent", "--json")
    first = cli(*args)
    assert first["snapshot"]["added"] == 3 and first["snapshot"]["removed"] == 0
    client(sandbox_env.endpoint_url, "bedrock").delete_guardrail(guardrailIdentifier=est.guardrail_id)
    second = cli(*args)
    assert second["snapshot"]["removed"] == 1 and second["snapshot"]["unchanged"] == 2
    diff = cli("inventory", "diff", "--json")
    assert [r["asset_id"] for r in diff["removed"]] == [est.guardrail_id]
    assert diff["removed"][0]["removed_at"] and diff["added"] == [] and diff["changed"] == []
    since = cli("inventory", "diff", "--since", "1h", "--json")
    assert len(since["added"]) == 3 and [r["asset_id"] for r in since["removed"]] == [est.guardrail_id]
    current = cli("inventory", "list", "--json")
    assert {a["asset_type"] for a in current["assets"]} == {"provisioned_throughput", "agent"}
    everything = cli("inventory", "list", "--all", "--json")["assets"]
    gone = next(a for a in everything if a["asset_id"] == est.guardrail_id)
    assert gone["removed_at"] and gone["first_seen"] and gone["last_seen"] < gone["removed_at"]
    rows = list(csv.DictReader(io.StringIO(cli("inventory", "diff", "--csv", parse=False).stdout)))
    assert [(r["change"], r["asset_id"]) for r in rows] == [("removed", est.guardrail_id)]
    shown = cli("inventory", "show", est.guardrail_id, "--json")
    assert [h["kind"] for h in shown[0]["history"]] == ["added", "removed"]
    exported = list(csv.DictReader(io.StringIO(cli("inventory", "list", "--csv", parse=False).stdout)))
    assert len(exported) == 2 and {r["asset_type"] for r in exported} == {"provisioned_throughput", "agent"}


def test_idle_capacity_priced_from_the_price_book(sandbox_env, tmp_path, monkeypatch, cli):
    """Hand-computed from pricing/data: Titan Text Express one-month PT is $18.40 per model unit-hour (2 units:
    $36.80); ml.m5.large hosting in us-east-1 is $0.115 per instance-hour; Claude 3 Haiku has no provisioned
    rate in the price book, so its idle PT is unpriced (never a guessed figure)."""
    monkeypatch.setenv("BEDROCKCTL_STORE_URL", f"sqlite:///{tmp_path / 'i.db'}")
    est = seed_bedrock(sandbox_env.endpoint_url, logging=False)
    seed_sagemaker(sandbox_env.endpoint_url, est)
    put_endpoint_invocations(sandbox_env.endpoint_url, "us-east-1", est.endpoint, 7)
    client(sandbox_env.endpoint_url, "bedrock").create_provisioned_model_throughput(
        modelUnits=2, provisionedModelName="pt-titan", modelId=TITAN, commitmentDuration="OneMonth"
    )
    out = cli("inventory", "idle", "--days", "7", "--json")
    idle = {r["name"]: r for r in out["resources"]}
    assert set(idle) == {est.pt_name, est.idle_endpoint, "pt-titan"}
    assert idle["pt-titan"]["commitment"] == "one_month" and idle["pt-titan"]["units"] == 2
    assert Decimal(idle["pt-titan"]["usd_per_unit_hour"]) == Decimal("18.40")
    assert Decimal(idle["pt-titan"]["hourly_cost_usd"]) == Decimal("36.80")
    assert "as of" in idle["pt-titan"]["price_source"] and idle["pt-titan"]["unpriced_reason"] is None
    assert Decimal(idle[est.idle_endpoint]["hourly_cost_usd"]) == Decimal("0.115")
    haiku = idle[est.pt_name]
    assert haiku["hourly_cost_usd"] is None and "no no-commitment provisioned-throughput rate" in (
        haiku["unpriced_reason"] or ""
    )
    assert Decimal(out["idle_hourly_cost_usd"]) == Decimal("36.915") and out["unpriced"] == [est.pt_name]
    busy = {r["name"]: r for r in cli("inventory", "idle", "--all", "--json")["resources"]}
    assert busy[est.endpoint]["idle"] is False and busy[est.endpoint]["invocations"] == 7
    text = cli("inventory", "idle", "--days", "7", parse=False).stdout
    assert "$36.92 per hour" in text and "1 unpriced: pt-haiku" in text


def test_models_matrix_live_and_offline(sandbox_env, monkeypatch, cli):
    live = cli("models", "--region", "us-east-1", "--provider", "Anthropic", "--json")
    assert live["source"] == "live" and live["regions"] == ["us-east-1"]
    haiku = next(m for m in live["models"] if m["model_id"] == HAIKU)
    assert haiku["availability"] == {"us-east-1": "on_demand"} and haiku["lifecycle"] == "ACTIVE"
    assert f"us.{HAIKU}" in haiku["profiles"]["us-east-1"]
    assert {m["provider"] for m in live["models"]} == {"Anthropic"}
    matrix = cli("models", "--all-regions", "--json")
    assert len(matrix["regions"]) > 15 and matrix["source"] == "live"
    assert any(set(m["availability"].values()) == {"profile_only"} for m in matrix["models"])
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    offline = cli("models", "--region", "us-east-1", "--json")
    assert offline["source"] == "offline_catalog" and offline["offline"] is True and "OFFLINE" in offline["notice"]
    assert any(m["model_id"] == HAIKU for m in offline["models"])
    text = cli("models", "--region", "us-east-1", parse=False)
    assert "OFFLINE" in text.output
