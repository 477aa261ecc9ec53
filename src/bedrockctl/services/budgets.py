"""``budget sync``: one AWS Budget per configured environment, created or updated idempotently.

Each budget is a monthly COST budget named ``bedrockctl-<environment>`` with the environment's
``monthly_budget_usd`` as limit and a ``Service = Amazon Bedrock`` cost filter. It notifies (ACTUAL,
GREATER_THAN, PERCENTAGE) at each ``alert_thresholds`` percentage and at ``hard_stop_pct``, to every
``alert_emails`` address (EMAIL) and to ``alert_sns_topic`` (SNS). Running it twice changes nothing the second
time; a changed limit is an ``UpdateBudget``, changed thresholds or recipients are notification and subscriber
calls (the budget and its spend history are kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bedrockctl.analytics.budgets import BEDROCK_SERVICES
from bedrockctl.aws.errors import aws_call, error_code
from bedrockctl.errors import ConfigError, ResourceNotFound
from bedrockctl.settings import EnvironmentSettings

BUDGET_PREFIX = "bedrockctl-"
MAX_EMAIL_SUBSCRIBERS = 10  # AWS Budgets: up to 10 email subscribers and 1 SNS topic per notification


@dataclass
class SyncResult:
    environment: str
    budget_name: str
    action: str  # created | updated | unchanged | skipped
    changes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "budget_name": self.budget_name,
            "action": self.action,
            "changes": self.changes,
        }


def budget_name(env: str, prefix: str = BUDGET_PREFIX) -> str:
    return f"{prefix}{env}"


def _amount(value: float) -> str:
    return format(Decimal(str(value)).normalize(), "f")


def desired_budget(env: EnvironmentSettings, prefix: str = BUDGET_PREFIX) -> dict[str, Any]:
    return {
        "BudgetName": budget_name(env.name, prefix),
        "BudgetLimit": {"Amount": _amount(env.monthly_budget_usd or 0), "Unit": "USD"},
        "CostFilters": {"Service": list(BEDROCK_SERVICES)},
        "TimeUnit": "MONTHLY",
        "BudgetType": "COST",
    }


def notification(threshold: float) -> dict[str, Any]:
    return {
        "NotificationType": "ACTUAL",
        "ComparisonOperator": "GREATER_THAN",
        "Threshold": float(threshold),
        "ThresholdType": "PERCENTAGE",
    }


def subscribers(env: EnvironmentSettings) -> list[dict[str, str]]:
    if len(env.alert_emails) > MAX_EMAIL_SUBSCRIBERS:
        raise ConfigError(
            f"environments.{env.name}.alert_emails has {len(env.alert_emails)} addresses; "
            f"AWS Budgets allows {MAX_EMAIL_SUBSCRIBERS} per notification",
            remediation="Send the alerts to an SNS topic (alert_sns_topic) and subscribe the addresses there.",
        )
    subs = [{"SubscriptionType": "EMAIL", "Address": a} for a in env.alert_emails]
    if env.alert_sns_topic:
        subs.append({"SubscriptionType": "SNS", "Address": env.alert_sns_topic})
    return subs


def thresholds(env: EnvironmentSettings) -> list[float]:
    return sorted({float(t) for t in env.alert_thresholds} | {float(env.hard_stop_pct)})


def _nkey(n: dict[str, Any]) -> tuple[str, str, float, str]:
    return (n["NotificationType"], n["ComparisonOperator"], float(n["Threshold"]), n.get("ThresholdType", "PERCENTAGE"))


def _skey(s: dict[str, Any]) -> tuple[str, str]:
    return (s["SubscriptionType"], s["Address"])


def _pages(call: Any, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        page = call(**kwargs)
        out.extend(page.get(key) or [])
        token = page.get("NextToken")
        if not token:
            return out
        kwargs["NextToken"] = token


def _differs(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    changes = []
    if Decimal(str(current.get("BudgetLimit", {}).get("Amount", "0"))) != Decimal(wanted["BudgetLimit"]["Amount"]):
        changes.append(f"limit {current.get('BudgetLimit', {}).get('Amount')} -> {wanted['BudgetLimit']['Amount']} USD")
    if (current.get("CostFilters") or {}) != wanted["CostFilters"]:
        changes.append(f"cost filters -> {wanted['CostFilters']}")
    for key in ("TimeUnit", "BudgetType"):
        if current.get(key) != wanted[key]:
            changes.append(f"{key} {current.get(key)} -> {wanted[key]}")
    return changes


def sync_budget(
    client: Any, account_id: str, env: EnvironmentSettings, *, prefix: str = BUDGET_PREFIX, dry_run: bool = False
) -> SyncResult:
    """Create or update the environment's AWS Budget and its notifications."""
    wanted = desired_budget(env, prefix)
    name = wanted["BudgetName"]
    if env.monthly_budget_usd is None:
        return SyncResult(env.name, name, "skipped", ["no monthly_budget_usd configured"])
    subs = subscribers(env)
    wanted_notes = {_nkey(notification(t)): notification(t) for t in thresholds(env)} if subs else {}
    try:
        current = aws_call(client.describe_budget, AccountId=account_id, BudgetName=name, service="budgets")["Budget"]
    except ResourceNotFound as exc:
        if error_code(exc) != "NotFoundException":
            raise
        changes = [f"create budget {wanted['BudgetLimit']['Amount']} USD/month"]
        changes += [f"notify at {k[2]:g}% -> {len(subs)} subscribers" for k in wanted_notes]
        if not subs:
            changes.append("no alert_emails / alert_sns_topic: budget without notifications")
        if not dry_run:
            client.create_budget(
                AccountId=account_id,
                Budget=wanted,
                NotificationsWithSubscribers=[{"Notification": n, "Subscribers": subs} for n in wanted_notes.values()],
            )
        return SyncResult(env.name, name, "created", changes)

    changes = _differs(current, wanted)
    if changes and not dry_run:
        client.update_budget(AccountId=account_id, NewBudget=wanted)
    have = {
        _nkey(n): n
        for n in _pages(
            client.describe_notifications_for_budget, "Notifications", AccountId=account_id, BudgetName=name
        )
    }
    for key, n in have.items():
        if key not in wanted_notes:
            changes.append(f"remove notification at {key[2]:g}% ({key[0]})")
            if not dry_run:
                client.delete_notification(AccountId=account_id, BudgetName=name, Notification=n)
    for key, n in wanted_notes.items():
        if key not in have:
            changes.append(f"notify at {key[2]:g}% -> {len(subs)} subscribers")
            if not dry_run:
                client.create_notification(AccountId=account_id, BudgetName=name, Notification=n, Subscribers=subs)
            continue
        current_subs = {
            _skey(s): s
            for s in _pages(
                client.describe_subscribers_for_notification,
                "Subscribers",
                AccountId=account_id,
                BudgetName=name,
                Notification=have[key],
            )
        }
        wanted_subs = {_skey(s): s for s in subs}
        for skey, s in wanted_subs.items():
            if skey not in current_subs:
                changes.append(f"at {key[2]:g}%: add {skey[0]} subscriber")
                if not dry_run:
                    client.create_subscriber(
                        AccountId=account_id, BudgetName=name, Notification=have[key], Subscriber=s
                    )
        for skey, s in current_subs.items():
            if skey not in wanted_subs:
                changes.append(f"at {key[2]:g}%: remove {skey[0]} subscriber")
                if not dry_run:
                    client.delete_subscriber(
                        AccountId=account_id, BudgetName=name, Notification=have[key], Subscriber=s
                    )
    return SyncResult(env.name, name, "updated" if changes else "unchanged", changes)


def sync_budgets(
    client: Any,
    account_id: str,
    environments: dict[str, EnvironmentSettings],
    *,
    prefix: str = BUDGET_PREFIX,
    dry_run: bool = False,
) -> list[SyncResult]:
    return [
        sync_budget(client, account_id, env, prefix=prefix, dry_run=dry_run) for _, env in sorted(environments.items())
    ]
