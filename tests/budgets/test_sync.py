"""``budget sync`` against the sandbox's AWS Budgets: run twice creates each budget once; changes are updates."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

ACCOUNT = "123456789012"  # the sandbox account of the fake test credentials

CONFIG = """
[environments.prod]
monthly_budget_usd = {limit}
alert_thresholds = {thresholds}
hard_stop_pct = 100
alert_emails = {emails}
alert_sns_topic = "arn:aws:sns:us-east-1:123456789012:budget-alerts"

[environments.dev]
monthly_budget_usd = 50
alert_thresholds = [90]
hard_stop_pct = 120

[environments.scratch]
alert_thresholds = [50]
"""


def notifications(budgets: Any, name: str) -> dict[float, set[tuple[str, str]]]:
    out = {}
    for n in budgets.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName=name)["Notifications"]:
        assert (n["NotificationType"], n["ComparisonOperator"], n["ThresholdType"]) == (
            "ACTUAL",
            "GREATER_THAN",
            "PERCENTAGE",
        )
        subs = budgets.describe_subscribers_for_notification(AccountId=ACCOUNT, BudgetName=name, Notification=n)
        out[n["Threshold"]] = {(s["SubscriptionType"], s["Address"]) for s in subs["Subscribers"]}
    return out


def test_sync_twice_creates_each_budget_once_then_updates(
    cli: Callable[..., Any], write_config: Callable[[str], str], data_dir: Any, boto_client: Callable[..., Any]
) -> None:
    cfg = write_config(CONFIG.format(limit=400, thresholds="[50, 80]", emails='["ops@example.com", "fin@example.com"]'))
    first = json.loads(cli("--config", cfg, "budget", "sync", "--json").stdout)
    assert {b["environment"]: b["action"] for b in first["budgets"]} == {
        "dev": "created",
        "prod": "created",
        "scratch": "skipped",
    }
    second = cli("--config", cfg, "budget", "sync", "--json")
    assert second.exit_code == 0, second.output
    assert {b["environment"]: b["action"] for b in json.loads(second.stdout)["budgets"]} == {
        "dev": "unchanged",
        "prod": "unchanged",
        "scratch": "skipped",
    }

    budgets = boto_client("budgets")
    listed = budgets.describe_budgets(AccountId=ACCOUNT)["Budgets"]
    assert sorted(b["BudgetName"] for b in listed) == ["bedrockctl-dev", "bedrockctl-prod"]
    prod = budgets.describe_budget(AccountId=ACCOUNT, BudgetName="bedrockctl-prod")["Budget"]
    assert prod["BudgetLimit"] == {"Amount": "400", "Unit": "USD"}
    assert (prod["TimeUnit"], prod["BudgetType"]) == ("MONTHLY", "COST")
    assert prod["CostFilters"] == {"Service": ["Amazon Bedrock"]}
    recipients = {
        ("EMAIL", "ops@example.com"),
        ("EMAIL", "fin@example.com"),
        ("SNS", "arn:aws:sns:us-east-1:123456789012:budget-alerts"),
    }
    assert notifications(budgets, "bedrockctl-prod") == {50.0: recipients, 80.0: recipients, 100.0: recipients}
    # no recipients configured for dev: a budget without notifications
    assert notifications(budgets, "bedrockctl-dev") == {}

    # changed limit, thresholds and recipients: an update in place, then stable again
    cfg = write_config(CONFIG.format(limit=650.5, thresholds="[50, 90]", emails='["ops@example.com"]'))
    third = json.loads(cli("--config", cfg, "budget", "sync", "--json").stdout)
    prod_result = next(b for b in third["budgets"] if b["environment"] == "prod")
    assert prod_result["action"] == "updated"
    assert any("limit 400 -> 650.5" in c for c in prod_result["changes"])
    prod = budgets.describe_budget(AccountId=ACCOUNT, BudgetName="bedrockctl-prod")["Budget"]
    assert prod["BudgetLimit"]["Amount"] == "650.5"
    fewer = recipients - {("EMAIL", "fin@example.com")}
    assert notifications(budgets, "bedrockctl-prod") == {50.0: fewer, 90.0: fewer, 100.0: fewer}
    assert len(budgets.describe_budgets(AccountId=ACCOUNT)["Budgets"]) == 2
    fourth = json.loads(cli("--config", cfg, "budget", "sync", "--json").stdout)
    assert [b["action"] for b in fourth["budgets"]] == ["unchanged", "unchanged", "skipped"]


def test_sync_dry_run_changes_nothing(
    cli: Callable[..., Any], write_config: Callable[[str], str], data_dir: Any, boto_client: Callable[..., Any]
) -> None:
    cfg = write_config(CONFIG.format(limit=10, thresholds="[50]", emails="[]"))
    res = json.loads(cli("--config", cfg, "budget", "sync", "--dry-run", "--json").stdout)
    assert res["dry_run"] is True and {b["action"] for b in res["budgets"]} == {"created", "skipped"}
    assert boto_client("budgets").describe_budgets(AccountId=ACCOUNT)["Budgets"] == []


def test_too_many_email_subscribers_is_a_config_error(
    cli: Callable[..., Any], write_config: Callable[[str], str], data_dir: Any, sandbox_env: Any
) -> None:
    emails = json.dumps([f"u{i}@example.com" for i in range(11)])
    cfg = write_config(CONFIG.format(limit=10, thresholds="[50]", emails=emails))
    from bedrockctl.errors import ConfigError

    res = cli("--config", cfg, "budget", "sync", "--json")
    assert res.exit_code == ConfigError.exit_code
    error = json.loads(res.stdout)["error"]
    assert error["code"].startswith("BRC-CFG-") and "alert_emails" in error["message"]
