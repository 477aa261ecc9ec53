"""One odd request must not stop the audit trail: each poison request (a 400-character model id, a NUL byte in the
path, a JSON object as the model, a lone surrogate, control characters) is recorded, sanitized, and the requests
after it -- billed ones included -- are recorded too; on SQLite and on PostgreSQL (a schema of its own). A row the
database refuses whatever is done to it goes to the dead-letter file (0600) with an alert, and the rest of its batch
is written."""

from __future__ import annotations

import os
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bedrockctl.server.gateway.counters import SqlCounters
from bedrockctl.settings import EnvironmentSettings, StoreSettings
from bedrockctl.store import audit_fields
from bedrockctl.store.audit import FIELDS, AuditRecord, query
from bedrockctl.store.audit_record import _values
from bedrockctl.store.gateway import gateway_audit

from .conftest import HAIKU, RunningGateway, make_settings

PG_URL = os.environ.get("BEDROCKCTL_TEST_PG_URL")
CHAT = {"model": HAIKU, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}
LONG = "anthropic." + "x" * 390  # 400 characters: gateway_audit.model_requested is varchar(300)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_gateway(request: Any, start_gateway: Any, tmp_path: Path) -> Iterator[Callable[..., RunningGateway]]:
    """Start a gateway on SQLite or on PostgreSQL (a fresh schema, dropped afterwards)."""
    schemas: list[str] = []
    engines: list[Any] = []
    started: list[RunningGateway] = []

    def start(**gateway: Any) -> RunningGateway:
        envs = {"dev": EnvironmentSettings(name="dev", monthly_budget_usd=100.0)}
        settings = make_settings(tmp_path, envs, gateway)
        if request.param == "postgresql":
            if not PG_URL:
                pytest.skip("BEDROCKCTL_TEST_PG_URL is not set (a PostgreSQL URL to test on)")
            schema = f"gwpoison_{uuid.uuid4().hex[:12]}"
            schemas.append(schema)
            settings.store = StoreSettings(url=PG_URL, data_dir=str(tmp_path))
            settings.gateway["store_schema"] = schema
        running = start_gateway(settings=settings)
        started.append(running)
        engines.append(running.gateway.engine)
        return running

    yield start
    for running in started:  # stopped before their schema goes
        running.server.should_exit = True
        running.thread.join(10)
    for engine, schema in zip(engines, schemas, strict=False):
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def _poison(url: str, token: str, variant: str) -> httpx.Response:
    auth = {"authorization": f"Bearer {token}"}
    json_headers = {**auth, "content-type": "application/json"}
    converse = orjson.dumps({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
    if variant == "long_model_openai":
        return httpx.post(f"{url}/v1/chat/completions", json={**CHAT, "model": LONG}, headers=auth, timeout=30)
    if variant == "long_model_path":
        return httpx.post(f"{url}/model/{LONG}/converse", content=converse, headers=json_headers, timeout=30)
    if variant == "nul_in_path_no_key":
        return httpx.post(f"{url}/model/anthropic.claude%00evil/converse", content=converse, timeout=30)
    if variant == "nul_in_path":
        return httpx.post(f"{url}/model/a%00b/converse", content=converse, headers=json_headers, timeout=30)
    if variant == "object_model":
        return httpx.post(f"{url}/v1/chat/completions", json={**CHAT, "model": {"a": 1}}, headers=auth, timeout=30)
    if variant == "list_model":
        return httpx.post(f"{url}/v1/chat/completions", json={**CHAT, "model": [1, 2]}, headers=auth, timeout=30)
    if variant == "surrogate_in_path":
        return httpx.post(f"{url}/model/a%ED%A0%80b/converse", content=converse, headers=json_headers, timeout=30)
    if variant == "controls_and_huge_model":
        body = {**CHAT, "model": "a\r\n\tb\x1b[31m" + "\u00e9" * 20_000}
        return httpx.post(f"{url}/v1/chat/completions", json=body, headers=auth, timeout=30)
    raise AssertionError(variant)


VARIANTS = [
    "long_model_openai",
    "long_model_path",
    "nul_in_path_no_key",
    "nul_in_path",
    "object_model",
    "list_model",
    "surrogate_in_path",
    "controls_and_huge_model",
]


@pytest.mark.parametrize("variant", VARIANTS)
def test_audit_keeps_recording_after_a_poison_request(store_gateway: Any, variant: str) -> None:
    gw = store_gateway()
    key = gw.key()
    token = key["token"]
    before = httpx.post(f"{gw.url}/v1/chat/completions", json=CHAT, headers={"authorization": f"Bearer {token}"})
    assert before.status_code == 200, before.text
    bad = _poison(gw.url, token, variant)
    assert bad.status_code >= 400
    after = httpx.post(f"{gw.url}/v1/chat/completions", json=CHAT, headers={"authorization": f"Bearer {token}"})
    assert after.status_code == 200, after.text
    gw.flush()
    gw.flush()  # a second pass: nothing may be left behind for a retry
    assert gw.gateway.audit.backlog == 0
    rows = list(query(gw.gateway.engine, limit=None))
    ids = [r.request_id for r in rows]
    assert before.headers["x-request-id"] in ids and after.headers["x-request-id"] in ids
    assert len(rows) == 3  # the poison request is recorded as well, cleaned
    (poison,) = [r for r in rows if r.status != "ok"]
    limit = gateway_audit.c.model_requested.type.length
    assert poison.model_requested is None or (
        len(poison.model_requested) <= limit and poison.model_requested.isprintable()
    )
    assert all(r.record_id for r in rows) and len({r.record_id for r in rows}) == 3
    # the billed calls are in the budget exactly as in the audit
    assert not (Path(gw.gateway.ctx.settings.store.data_dir) / "gateway-audit-dead-letter.jsonl").exists()
    used = _budget_used(gw)
    assert used == sum(r.cost_nusd for r in rows) > 0


def _budget_used(gw: RunningGateway) -> int:
    window = f"m{time.strftime('%Y-%m', time.gmtime(gw.gateway.window_clock()))}"
    values = SqlCounters(gw.gateway.engine).read([("budget:env:dev", window)])
    return values[("budget:env:dev", window)][0]


def test_a_row_the_database_refuses_goes_to_the_dead_letters(store_gateway: Any) -> None:
    """A rule of the database (here a trigger or CHECK the test adds) refuses one row in any form: it lands in the
    dead-letter file with an alert and a metric; the rows around it are written and the money is counted."""
    gw = store_gateway()
    engine = gw.gateway.engine
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_poison BEFORE INSERT ON gateway_audit WHEN NEW.model_requested = 'poison' "
                    "BEGIN SELECT RAISE(ABORT, 'refused by policy'); END"
                )
            )
        else:
            conn.execute(
                text("ALTER TABLE gateway_audit ADD CONSTRAINT refuse_poison CHECK (model_requested <> 'poison')")
            )
    token = gw.key()["token"]
    auth = {"authorization": f"Bearer {token}"}
    first = httpx.post(f"{gw.url}/v1/chat/completions", json=CHAT, headers=auth)
    bad = httpx.post(f"{gw.url}/v1/chat/completions", json={**CHAT, "model": "poison"}, headers=auth)
    last = httpx.post(f"{gw.url}/v1/chat/completions", json=CHAT, headers=auth)
    assert (first.status_code, last.status_code) == (200, 200) and bad.status_code == 404
    gw.flush()
    gw.flush()
    assert gw.gateway.audit.backlog == 0
    rows = list(query(engine, limit=None))
    assert [r.request_id for r in rows] == [first.headers["x-request-id"], last.headers["x-request-id"]]
    dead = Path(gw.gateway.ctx.settings.store.data_dir) / "gateway-audit-dead-letter.jsonl"
    assert stat.S_IMODE(dead.stat().st_mode) == 0o600
    (line,) = dead.read_bytes().splitlines()
    entry = orjson.loads(line)
    assert entry["record"][1] == bad.headers["x-request-id"] and "refuse" in entry["error"]
    assert b"bedrockctl_gateway_audit_dead_letters_total 1.0" in gw.gateway.metrics.render()
    assert _budget_used(gw) == sum(r.cost_nusd for r in rows) > 0
    deadline = time.monotonic() + 20  # the alert goes out on its own thread: poll for it
    while True:  # it went through the alert service (the log channel at least)
        with engine.connect() as conn:
            scopes = [r[0] for r in conn.execute(text("SELECT scope FROM alert_deliveries WHERE status = 'sent'"))]
        if "audit:dead_letter" in scopes or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert "audit:dead_letter" in scopes


def test_a_full_audit_backlog_refuses_new_requests_until_it_drains(start_gateway: Any) -> None:
    gw = start_gateway(gateway={"audit_buffer_max": 2, "flush_interval": 3600})
    token = gw.key()["token"]
    auth = {"authorization": f"Bearer {token}"}
    for _ in range(2):
        assert httpx.post(f"{gw.url}/v1/chat/completions", json=CHAT, headers=auth).status_code == 200
    full = httpx.post(f"{gw.url}/v1/chat/completions", json=CHAT, headers=auth)
    assert full.status_code == 503 and "audit backlog" in full.json()["error"]["message"]
    native = httpx.post(f"{gw.url}/model/{HAIKU}/converse", content=b"{}", headers=auth)
    assert native.status_code == 503 and native.headers["x-amzn-errortype"].startswith("ServiceUnavailable")
    gw.flush()
    assert httpx.post(f"{gw.url}/v1/chat/completions", json=CHAT, headers=auth).status_code == 200
    gw.flush()
    assert len(list(query(gw.gateway.engine, limit=None))) == 3


_ODD = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.sampled_from(["ok", "a\x00b", "\x1b[0m", "\ud800", "\x80", "x" * 301]),
    st.text(min_size=290, max_size=310),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


_FINE = (
    time.time(),
    "req",
    "k",
    "u",
    "t",
    "e",
    "openai",
    "Converse",
    "m",
    "m",
    "us-east-1",
    1,
    2,
    3,
    "ok",
    200,
    4,
    1,
    "127.0.0.1",
    "r",
    0,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.integers(0, len(FIELDS) - 1), _ODD, max_size=3))
@example({0: float("nan")})
@example({0: float("inf")})
@example({1: "a\x00b", 11: True})
def test_sanitize_keeps_a_record_exactly_when_every_field_fits(odd: dict[int, Any]) -> None:
    """The hot path's check (``_fits``) never passes a record the field-by-field cleaning would change (records
    that fit but for a few fields)."""
    values = [odd.get(i, v) for i, v in enumerate(_FINE)]
    rec = AuditRecord(*values)
    cleaned = audit_fields._cleaned(rec)
    if audit_fields._fits(_values(rec)):  # the hot path keeps it: the cleaning would have changed nothing
        assert cleaned is rec
        assert audit_fields.sanitize(rec) is rec
    else:  # else sanitize is the cleaning (an unusable time becomes the time of the call: not compared)
        assert [repr(v) for v in _values(audit_fields.sanitize(rec))][1:] == [repr(v) for v in _values(cleaned)][1:]
