"""The alert service against a real local webhook and a real store (SQLite and PostgreSQL): an alert is recorded as
sent only after the channel confirmed it, retried with backoff within a round and in later rounds, never lost when
its sender dies, given up after its last round; the outcome (status, attempts, last error, time) is recorded."""

from __future__ import annotations

from typing import Any

import pytest

from bedrockctl.alerts import Alert, AlertService, DeliveryPolicy, WebhookChannel
from bedrockctl.store.alerts import ANY_CHANNEL, AlertKey, AlertLedger

from .conftest import Clock, Hook

FAST = DeliveryPolicy(attempts=3, backoff=0.01, retry_after=60.0, rounds=3, lease=30.0)


def alert(threshold: float = 80.0, scope: str = "budget:env:prod") -> Alert:
    body = {"type": "bedrockctl.budget_threshold", "environment": "prod", "threshold_pct": threshold}
    return Alert(scope, "m2026-11", threshold, f"prod passed {threshold:g}%", body)


def service(engine: Any, clock: Clock, policy: DeliveryPolicy = FAST, sleeps: list[float] | None = None) -> Any:
    slept = sleeps if sleeps is not None else []
    return AlertService(AlertLedger(engine, clock=clock), policy, sleep=slept.append)


def test_sent_only_after_a_2xx_with_backoff_between_attempts(engine: Any, clock: Clock, hook: Hook) -> None:
    hook.fail_first = 2
    sleeps: list[float] = []
    svc = service(engine, clock, sleeps=sleeps)
    [out] = svc.notify(alert(), [WebhookChannel(hook.url)])
    assert (out.status, out.attempts, out.receipt) == ("sent", 3, "HTTP 204")
    assert hook.requests == 3 and [b["threshold_pct"] for b in hook.received] == [80.0]
    assert sleeps == [0.01, 0.02]  # exponential backoff between the attempts of a round
    row = svc.ledger.get(alert().key("webhook"))
    assert (row.status, row.attempts, row.receipt) == ("sent", 3, "HTTP 204")
    assert row.last_error == "webhook 127.0.0.1 answered HTTP 500" and row.sent_at == clock.now
    assert row.payload["subject"] == "prod passed 80%" and row.payload["environment"] == "prod"
    # once: the same threshold in the same window is not sent again, on this engine or another
    assert [o.status for o in svc.notify(alert(), [WebhookChannel(hook.url)])] == ["already_sent"]
    assert hook.requests == 3


def test_a_failed_round_is_recorded_and_retried_later_not_lost(engine: Any, clock: Clock, hook: Hook) -> None:
    hook.fail_first = 4
    svc = service(engine, clock)
    hook_channel = WebhookChannel(hook.url)
    [out] = svc.notify(alert(), [hook_channel])
    assert (out.status, out.attempts, out.error) == ("failed", 3, "webhook 127.0.0.1 answered HTTP 500")
    row = svc.ledger.get(alert().key("webhook"))
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, clock.now + 60.0)
    assert row.public()["status"] == "failed" and row.public()["next_attempt_at"].endswith("Z")
    # before its retry time nobody sends it: not the next notify, not the sweep
    assert [o.status for o in svc.notify(alert(), [hook_channel])] == ["pending"]
    assert svc.retry_due(lambda d: hook_channel) == [] and hook.requests == 3
    clock.advance(61)
    [again] = svc.retry_due(lambda d: hook_channel if d.key.channel == "webhook" else None)
    assert (again.status, again.attempts) == ("sent", 2)  # 4th request fails, 5th answers 204
    row = svc.ledger.get(alert().key("webhook"))
    assert (row.status, row.attempts, row.receipt) == ("sent", 5, "HTTP 204")
    assert len(hook.received) == 1 and hook.received[0]["threshold_pct"] == 80.0


def test_no_answer_in_time_is_a_failure(engine: Any, clock: Clock, hook: Hook) -> None:
    hook.delay = 1.0
    svc = service(engine, clock, DeliveryPolicy(attempts=1, retry_after=60.0))
    [out] = svc.notify(alert(), [WebhookChannel(hook.url, timeout=0.2)])
    assert out.status == "failed" and out.error == "webhook 127.0.0.1: no answer within 0.2 s"
    assert svc.ledger.get(alert().key("webhook")).status == "failed"


def test_the_webhook_url_never_reaches_the_record(engine: Any, clock: Clock, hook: Hook) -> None:
    hook.fail_first = 99
    svc = service(engine, clock, DeliveryPolicy(attempts=1))
    [out] = svc.notify(alert(), [WebhookChannel(hook.url)])
    row = svc.ledger.get(alert().key("webhook"))
    assert "secret-token-123" not in (out.error or "") and "secret-token-123" not in (row.last_error or "")
    [bad] = svc.notify(alert(50.0), [WebhookChannel("ftp:/nowhere")])
    assert bad.status == "failed" and bad.error == "the alert webhook URL is invalid"


def test_given_up_after_the_last_round(engine: Any, clock: Clock, hook: Hook) -> None:
    hook.fail_first = 99
    svc = service(engine, clock, DeliveryPolicy(attempts=2, backoff=0.0, retry_after=0.0, rounds=2))
    channel = WebhookChannel(hook.url)
    assert [o.status for o in svc.notify(alert(), [channel])] == ["failed"]
    assert [o.status for o in svc.notify(alert(), [channel])] == ["failed"]  # round 2 (retry_after 0: due now)
    row = svc.ledger.get(alert().key("webhook"))
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 4, None)
    assert [o.status for o in svc.notify(alert(), [channel])] == ["given_up"]
    assert svc.retry_due(lambda d: channel) == [] and hook.requests == 4


def test_a_claim_whose_sender_died_is_taken_over_after_its_lease(engine: Any, clock: Clock, hook: Hook) -> None:
    svc = service(engine, clock)
    key = alert().key("webhook")
    dead = svc.ledger.claim(key, {"subject": "prod passed 80%", "environment": "prod"}, FAST.lease)
    assert dead is not None  # ... and that sender never reports back
    assert [o.status for o in svc.notify(alert(), [WebhookChannel(hook.url)])] == ["pending"]
    assert hook.requests == 0
    clock.advance(FAST.lease + 1)
    [out] = svc.retry_due(lambda d: WebhookChannel(hook.url))
    assert out.status == "sent" and len(hook.received) == 1
    assert hook.received[0]["environment"] == "prod"
    assert not svc.ledger.mark_sent(key, dead, 1, "late")  # the dead sender's claim no longer counts
    assert svc.ledger.get(key).receipt == "HTTP 204"


def test_each_channel_once_independently(engine: Any, clock: Clock, hook: Hook) -> None:
    class Broken:
        name = "sns:arn:aws:sns:us-east-1:123456789012:gone"

        def deliver(self, subject: str, body: dict[str, Any]) -> str:
            from bedrockctl.alerts import AlertDeliveryFailed

            raise AlertDeliveryFailed("SNS topic gone")

    svc = service(engine, clock, DeliveryPolicy(attempts=1, retry_after=0.0))
    outs = svc.notify(alert(), [WebhookChannel(hook.url), Broken()])
    assert [(o.channel.split(":")[0], o.status) for o in outs] == [("webhook", "sent"), ("sns", "failed")]
    again = svc.notify(alert(), [WebhookChannel(hook.url), Broken()])
    assert [o.status for o in again] == ["already_sent", "failed"] and hook.requests == 1


def test_alerts_sent_before_per_channel_records_count_as_sent(engine: Any, clock: Clock, hook: Hook) -> None:
    ledger = AlertLedger(engine, clock=clock)
    assert ledger.record_sent(AlertKey("budget:env:prod", "m2026-11", 80.0, ANY_CHANNEL), {}, clock.now)
    svc = AlertService(ledger, FAST)
    assert [o.status for o in svc.notify(alert(), [WebhookChannel(hook.url)])] == ["already_sent"]
    assert hook.requests == 0 and ledger.recent() == []  # history rows are not shown as deliveries


@pytest.mark.parametrize("pct,expected", [(None, []), (49.9, []), (50.0, [50.0]), (95.0, [50.0, 80.0])])
def test_crossed_thresholds(pct: float | None, expected: list[float]) -> None:
    from bedrockctl.alerts import crossed

    assert crossed(pct, [80, 50, 100]) == expected
