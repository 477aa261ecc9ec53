"""AWS Budgets operations moto lacks, over moto's own budgets state: ``UpdateBudget``, ``UpdateNotification``,
``DescribeSubscribersForNotification``, ``CreateSubscriber``, ``DeleteSubscriber`` (awsJson1_1,
``AWSBudgetServiceGateway.<Operation>``). Every other Budgets and Cost Explorer operation is moto's.

Errors follow AWS: ``NotFoundException`` for a missing budget/notification/subscriber, ``DuplicateRecordException``
for an existing one, ``InvalidParameterException`` for a bad limit or subscriber (at most 10 email subscribers
and 1 SNS topic per notification).
"""

from __future__ import annotations

import time
from typing import Any

from bedrockctl.sandbox.core import AwsError, SandboxRequest, SandboxResponse
from bedrockctl.sandbox.dispatch import TARGETS


def _budget(req: SandboxRequest, body: dict[str, Any], name: str | None = None) -> Any:
    from moto.budgets.models import budgets_backends

    account = str(body.get("AccountId") or req.account_id)
    backend = budgets_backends[account]["aws"]
    name = name or str(body.get("BudgetName") or "")
    budget = backend.budgets[account].get(name)
    if budget is None:
        raise AwsError("NotFoundException", f"Unable to get budget: {name} - the budget doesn't exist.")
    return budget


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("NotificationType", "ComparisonOperator", "Threshold")
    return (
        all(str(a.get(k)) == str(b.get(k)) for k in keys[:2])
        and float(a["Threshold"]) == float(b["Threshold"])
        and (a.get("ThresholdType", "PERCENTAGE") == b.get("ThresholdType", "PERCENTAGE"))
    )


def _notification(budget: Any, wanted: dict[str, Any]) -> Any:
    for n in budget.notifications:
        if _same(n.details, wanted):
            return n
    raise AwsError("NotFoundException", "Unable to find notification - the notification doesn't exist.")


def _check_subscribers(subs: list[dict[str, Any]]) -> None:
    emails = [s for s in subs if s.get("SubscriptionType") == "EMAIL"]
    sns = [s for s in subs if s.get("SubscriptionType") == "SNS"]
    if len(emails) > 10 or len(sns) > 1 or len(emails) + len(sns) != len(subs):
        raise AwsError(
            "InvalidParameterException",
            "A notification can have at most 10 EMAIL subscribers and 1 SNS subscriber.",
        )


@TARGETS.route("budgets", "UpdateBudget")
def update_budget(req: SandboxRequest) -> SandboxResponse:
    body = req.json()
    new = dict(body.get("NewBudget") or {})
    budget = _budget(req, body, str(new.get("BudgetName") or ""))
    if "BudgetLimit" not in new and "PlannedBudgetLimits" not in new:
        raise AwsError("InvalidParameterException", "Budget limit is required for a COST budget.")
    try:
        if float(new.get("BudgetLimit", {}).get("Amount", "0")) < 0:
            raise ValueError
    except (TypeError, ValueError) as exc:
        raise AwsError("InvalidParameterException", "The budget limit amount is invalid.") from exc
    keep = {k: budget.budget[k] for k in ("TimePeriod", "CalculatedSpend") if k in budget.budget}
    budget.budget = {**keep, **new, "LastUpdatedTime": time.time()}
    return SandboxResponse.json({})


@TARGETS.route("budgets", "UpdateNotification")
def update_notification(req: SandboxRequest) -> SandboxResponse:
    body = req.json()
    budget = _budget(req, body)
    n = _notification(budget, body.get("OldNotification") or {})
    new = body.get("NewNotification") or {}
    if any(_same(o.details, new) for o in budget.notifications if o is not n):
        raise AwsError("DuplicateRecordException", "The notification already exists.")
    n.details = dict(new)
    return SandboxResponse.json({})


@TARGETS.route("budgets", "DescribeSubscribersForNotification")
def describe_subscribers(req: SandboxRequest) -> SandboxResponse:
    body = req.json()
    n = _notification(_budget(req, body), body.get("Notification") or {})
    return SandboxResponse.json({"Subscribers": list(n.subscribers)})


@TARGETS.route("budgets", "CreateSubscriber")
def create_subscriber(req: SandboxRequest) -> SandboxResponse:
    body = req.json()
    n = _notification(_budget(req, body), body.get("Notification") or {})
    sub = dict(body.get("Subscriber") or {})
    if any(
        s.get("SubscriptionType") == sub.get("SubscriptionType") and s.get("Address") == sub.get("Address")
        for s in n.subscribers
    ):
        raise AwsError("DuplicateRecordException", "The subscriber already exists.")
    _check_subscribers([*n.subscribers, sub])
    n.subscribers = [*n.subscribers, sub]
    return SandboxResponse.json({})


@TARGETS.route("budgets", "DeleteSubscriber")
def delete_subscriber(req: SandboxRequest) -> SandboxResponse:
    body = req.json()
    n = _notification(_budget(req, body), body.get("Notification") or {})
    sub = body.get("Subscriber") or {}
    kept = [
        s
        for s in n.subscribers
        if not (s.get("SubscriptionType") == sub.get("SubscriptionType") and s.get("Address") == sub.get("Address"))
    ]
    if len(kept) == len(n.subscribers):
        raise AwsError("NotFoundException", "Unable to find subscriber - the subscriber doesn't exist.")
    n.subscribers = kept
    return SandboxResponse.json({})
