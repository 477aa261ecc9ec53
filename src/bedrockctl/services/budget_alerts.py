"""``budget status --alert``: the crossed thresholds of a status go through the alert service, to each environment's
webhook / SNS topic (else the gateway's), once per threshold per month and channel -- in the gateway's database, so
a threshold the gateway already announced is not announced again. ``recorded_alerts`` lists what became of every
alert of the month (sent by the CLI or the gateway: status, attempts, last error, time).

A CLI run is its own retry loop: a delivery that failed is due again on the next run (``retry_after = 0``).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from bedrockctl.alerts import AlertService, DeliveryPolicy, Outcome, budget_scope, channels_for, month_window
from bedrockctl.analytics.budgets import BudgetStatus, threshold_alerts
from bedrockctl.store.alerts import AlertKey, AlertLedger
from bedrockctl.store.gateway import open_engine

log = logging.getLogger("bedrockctl.budgets")
CLI_DELIVERY = DeliveryPolicy(attempts=3, backoff=0.25, retry_after=0.0)
LEGACY_STATE = Path("budgets") / "alerts.json"  # under the data dir: where alerts were recorded before the store


def alert_report(
    status: BudgetStatus, settings: Any, sessions: Any, *, send: bool, legacy_dir: Path | None = None
) -> dict[str, Any]:
    """What ``budget status`` shows about alerts, in the gateway's database: with ``send``, the deliveries of this
    call (``alerts_sent``, ``alerts_failed``); always ``alerts``, every recorded delivery of the month."""
    engine = open_engine(settings)
    try:
        out: dict[str, Any] = {}
        if send:
            done = send_status_alerts(status, settings, sessions, engine, legacy_dir=legacy_dir)
            out["alerts_sent"] = [{**o.alert.body, "channel": o.channel} for o in done if o.status == "sent"]
            out["alerts_failed"] = [
                {**o.alert.body, "channel": o.channel, "attempts": o.attempts, "error": o.error}
                for o in done
                if o.status == "failed"
            ]
        out["alerts"] = recorded_alerts(status, engine)
        return out
    finally:
        engine.dispose()


def send_status_alerts(
    status: BudgetStatus,
    settings: Any,
    sessions: Any,
    engine: Any,
    *,
    policy: DeliveryPolicy = CLI_DELIVERY,
    legacy_dir: Path | None = None,
) -> list[Outcome]:
    """Deliver the status's crossed thresholds; the outcome of each (alert, channel) handled in this call."""
    ledger = AlertLedger(engine)
    if legacy_dir is not None:
        import_legacy_state(ledger, legacy_dir / LEGACY_STATE)
    service = AlertService(ledger, policy)
    gateway = dict(getattr(settings, "gateway", {}) or {})
    out: list[Outcome] = []
    for alert in threshold_alerts(status):
        env = settings.environments.get(alert.body["environment"])
        out.extend(service.notify(alert, channels_for(env, gateway, sessions)))
    return out


def recorded_alerts(status: BudgetStatus, engine: Any) -> list[dict[str, Any]]:
    """Every recorded delivery of this month's environment budgets (monthly and daily windows)."""
    scopes = [budget_scope("env", e.environment) for e in status.environments]
    windows = [month_window(status.period)]
    windows += [f"d{status.period}-{day:02d}" for day in range(1, 32)]
    return [d.public() for d in AlertLedger(engine).of_windows(scopes, windows)]


def import_legacy_state(ledger: AlertLedger, path: Path) -> int:
    """Move the JSON file that recorded delivered alerts before they lived in the store into the ledger (once:
    the file is renamed ``*.imported``); a threshold it lists is not sent again."""
    try:
        sent = dict(json.loads(path.read_text()).get("sent", {}))
    except FileNotFoundError:
        return 0
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("ignoring unreadable alert state %s: %s", path, exc)
        return 0
    moved = 0
    for entry, when in sent.items():
        parts = str(entry).split("|")
        if len(parts) != 4:
            continue
        env, period, threshold, channel = parts
        try:
            at = datetime.fromisoformat(str(when)).timestamp()
            key = AlertKey(budget_scope("env", env), month_window(period), float(threshold), channel)
        except ValueError:
            continue
        moved += ledger.record_sent(key, {"environment": env, "source": "budget status"}, at)
    path.replace(path.with_name(path.name + ".imported"))
    return moved
