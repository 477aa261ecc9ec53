"""Alerts sent before deliveries were recorded per channel are not sent again: the gateway's former ``gateway_alerts``
rows move into ``alert_deliveries`` (migration ``0002_gateway``), the CLI's former JSON state is imported once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bedrockctl.alerts import Alert, AlertService, WebhookChannel
from bedrockctl.services.budget_alerts import LEGACY_STATE, import_legacy_state
from bedrockctl.store import Store
from bedrockctl.store.alerts import AlertKey, AlertLedger

from .conftest import Hook, Stores

OLD_TABLE = (
    "CREATE TABLE IF NOT EXISTS gateway_alerts (scope VARCHAR(300) NOT NULL, win VARCHAR(40) NOT NULL, "
    "threshold FLOAT NOT NULL, sent_at FLOAT NOT NULL, PRIMARY KEY (scope, win, threshold))"
)


def test_gateway_alerts_rows_move_in_and_count_as_sent(stores: Stores, hook: Hook) -> None:
    store = Store(stores.url, schema=stores.schema, migrate=False)
    stores.opened.append(store)
    store.migrate("0001_gateway")  # a database from before alert deliveries were recorded
    with store.engine.begin() as conn:
        conn.execute(sa.text(OLD_TABLE))
        conn.execute(sa.text("INSERT INTO gateway_alerts VALUES ('budget:env:prod', 'm2026-11', 80, 1700000000.5)"))
    store.migrate()
    tables = set(sa.inspect(store.engine).get_table_names())
    assert "alert_deliveries" in tables and "gateway_alerts" not in tables
    svc = AlertService(AlertLedger(store.engine))
    sent_before = Alert("budget:env:prod", "m2026-11", 80.0, "prod passed 80%", {})
    assert [o.status for o in svc.notify(sent_before, [WebhookChannel(hook.url)])] == ["already_sent"]
    new = Alert("budget:env:prod", "m2026-12", 80.0, "prod passed 80%", {})
    assert [o.status for o in svc.notify(new, [WebhookChannel(hook.url)])] == ["sent"]
    assert hook.requests == 1


def test_cli_json_state_imported_once(engine: Any, tmp_path: Path) -> None:
    path = tmp_path / LEGACY_STATE
    path.parent.mkdir(parents=True)
    sent = {"prod|2026-11|25|webhook": "2026-11-03T08:00:00+00:00", "garbage": "x", "dev|2026-11|5|log": "not a date"}
    path.write_text(json.dumps({"sent": sent}))
    ledger = AlertLedger(engine)
    assert import_legacy_state(ledger, path) == 1
    row = ledger.get(AlertKey("budget:env:prod", "m2026-11", 25.0, "webhook"))
    assert row is not None and row.status == "sent" and row.public()["time"] == "2026-11-03T08:00:00Z"
    assert not path.exists() and path.with_name("alerts.json.imported").exists()
    assert import_legacy_state(ledger, path) == 0  # nothing left to import
