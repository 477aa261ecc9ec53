"""The gateway's budget alerts go through the alert service: a webhook that fails is recorded as failed and retried
by a later check (delivered once), every crossed threshold is also logged, and the console shows the outcomes."""

from __future__ import annotations

from typing import Any

from alerts.conftest import Hook
from bedrockctl.alerts import DeliveryPolicy
from bedrockctl.services.console_data import recent_alerts
from bedrockctl.settings import EnvironmentSettings
from bedrockctl.store.alerts import AlertLedger

from .conftest import HAIKU
from .test_policy import MSG, _cost_of_one_call, bedrock


def test_failed_webhook_recorded_then_retried_once(start_gateway: Any) -> None:
    per_call = _cost_of_one_call(start_gateway)
    hook = Hook()
    try:
        hook.fail_first = 2
        env = EnvironmentSettings(name="prod", monthly_budget_usd=20 * per_call / 1e9, alert_thresholds=[10])
        gw = start_gateway({"prod": env}, gateway={"webhook_url": hook.url})
        gw.gateway.alerter.service.policy = DeliveryPolicy(attempts=2, backoff=0.01, retry_after=0.0)
        c = bedrock(gw, gw.key(environment="prod"))
        for _ in range(2):  # 10%: the webhook fails both attempts of the first round
            c.converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 10})
        gw.flush()
        ledger = AlertLedger(gw.gateway.engine)
        by_channel = {d.key.channel: d for d in ledger.recent()}
        assert set(by_channel) == {"log", "webhook"}
        assert by_channel["log"].status == "sent" and by_channel["log"].receipt == "logged"
        failed = by_channel["webhook"]
        assert (failed.status, failed.attempts) == ("failed", 2)
        assert failed.last_error == "webhook 127.0.0.1 answered HTTP 500"
        assert hook.received == []
        shown = {a["channel"]: a for a in recent_alerts(gw.gateway.engine)}
        assert shown["webhook"]["status"] == "failed" and shown["webhook"]["attempts"] == 2

        c.converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 10})
        gw.flush()  # the next check retries the due delivery
        c.converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 10})
        gw.flush()  # and does not send it again once it went out
        assert [a["threshold_pct"] for a in hook.received] == [10.0]
        assert hook.received[0]["scope"] == "budget:env:prod" and hook.received[0]["window"].startswith("m")
        sent = next(d for d in ledger.recent() if d.key.channel == "webhook")
        assert (sent.status, sent.attempts, sent.receipt) == ("sent", 3, "HTTP 204")
    finally:
        hook.server.shutdown()
        hook.server.server_close()
