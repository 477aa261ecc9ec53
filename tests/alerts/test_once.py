"""Exactly once across concurrent senders: several engines on one database (as several gateway workers or replicas
have), started together on the same alerts, on SQLite and PostgreSQL; also when the first delivery fails."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from bedrockctl.alerts import Alert, AlertService, DeliveryPolicy, Outcome, WebhookChannel
from bedrockctl.store.alerts import AlertLedger

from .conftest import Hook, Stores

SENDERS = 4
ALERTS = 12


def race(stores: Stores, hook: Hook, policy: DeliveryPolicy, alerts: list[Alert]) -> list[list[Outcome]]:
    """Every sender notifies every alert, all senders released at once for each alert."""
    engines = [stores.open() for _ in range(SENDERS)]
    services = [AlertService(AlertLedger(e), policy, sleep=lambda s: None) for e in engines]
    barrier = threading.Barrier(SENDERS)

    def sender(svc: AlertService) -> list[Outcome]:
        out = []
        for a in alerts:
            barrier.wait(timeout=30)
            out += svc.notify(a, [WebhookChannel(hook.url)])
        return out

    with ThreadPoolExecutor(SENDERS) as pool:
        return list(pool.map(sender, services))


def alerts(n: int) -> list[Alert]:
    return [Alert(f"budget:team:t{i}", "m2026-11", 50.0, f"t{i} passed 50%", {"team": f"t{i}"}) for i in range(n)]


def test_concurrent_senders_deliver_each_alert_once(stores: Stores, hook: Hook) -> None:
    stores.open()  # migrate once, as `bedrockctl serve` does before its workers start
    results = race(stores, hook, DeliveryPolicy(attempts=1), alerts(ALERTS))
    statuses = [o.status for per_sender in results for o in per_sender]
    assert statuses.count("sent") == ALERTS
    assert set(statuses) <= {"sent", "already_sent", "pending"}
    assert hook.requests == ALERTS and sorted(b["team"] for b in hook.received) == sorted(f"t{i}" for i in range(12))
    ledger = AlertLedger(stores.open())
    assert all(d.status == "sent" and d.attempts == 1 for d in ledger.recent(100))
    assert len(ledger.recent(100)) == ALERTS


def test_a_failed_first_delivery_is_sent_once_by_whoever_retries(stores: Stores, hook: Hook) -> None:
    stores.open()
    hook.fail_first = 1  # the first request of all fails: its sender records the failure, one retry delivers
    policy = DeliveryPolicy(attempts=1, retry_after=0.0)
    [first] = alerts(1)
    results = race(stores, hook, policy, [first])
    assert [o.status for r in results for o in r].count("failed") == 1
    again = race(stores, hook, policy, [first])  # the next checks: all senders try, one wins the due retry
    statuses = [o.status for r in again for o in r]
    assert statuses.count("sent") == 1 and hook.requests == 2 and len(hook.received) == 1
    row = AlertLedger(stores.open()).get(first.key("webhook"))
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
