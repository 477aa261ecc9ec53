"""Reservations that cannot be gamed or under-run: tool-heavy bodies against a budget (a real ``bedrockctl serve``,
1 worker on SQLite and 4 on PostgreSQL), absurd output limits refused before anything is reserved, and a call that
costs more than it reserved closing its budget everywhere with an alert."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bedrockctl.runtime.types import Usage
from bedrockctl.server.gateway import errors
from bedrockctl.server.gateway.counters import SqlCounters
from bedrockctl.server.gateway.overshoot import CLOSED, OVERSHOOT_THRESHOLD
from bedrockctl.settings import EnvironmentSettings
from bedrockctl.store import Store
from bedrockctl.store.alerts import AlertLedger
from bedrockctl.store.audit import query
from bedrockctl.store.keys import KeyStore

from .conftest import HAIKU, RunningGateway, serve_process
from .test_policy import bedrock, month_window

PG_URL = os.environ.get("BEDROCKCTL_TEST_PG_URL")
SECRET = "reservations-test-secret"
LABEL = "as_printed_on_the_parcel_label_in_capital_letters_without_accents"
PROPS = {
    f"customer_account_shipping_destination_postal_address_line_{i:02d}_{LABEL}": {"type": "string"} for i in range(40)
}
TOOLS = [{"toolSpec": {"name": "shipping_form", "inputSchema": {"json": {"type": "object", "properties": PROPS}}}}]
TOOL_HEAVY = {
    "messages": [{"role": "user", "content": [{"text": "fill in the form"}]}],
    "toolConfig": {"tools": TOOLS},
    "inferenceConfig": {"maxTokens": 10},
}
TOOL_BODY = json.dumps(TOOL_HEAVY).encode()
TYPICAL = {  # a short system prompt and a question of a few lines
    "system": [{"text": "You are the support assistant of a parcel company. Answer politely, in two sentences. " * 3}],
    "messages": [
        {"role": "user", "content": [{"text": "My parcel was due on Monday and has not arrived; what now? " * 4}]}
    ],
    "inferenceConfig": {"maxTokens": 50},
}


@contextmanager
def serve(tmp: Path, store_url: str, schema: str | None, budget_usd: float, workers: int) -> Iterator[str]:
    """``bedrockctl serve --workers N`` in a process of its own, in front of the sandbox (AWS_ENDPOINT_URL)."""
    cfg = tmp / "bedrockctl.toml"
    schema_line = f'store_schema = "{schema}"' if schema else ""
    cfg.write_text(f"""
[aws]
region = "us-east-1"
retry_attempts = 1

[store]
url = "{store_url}"
data_dir = "{tmp}"

[environments.prod]
monthly_budget_usd = {budget_usd!r}

[gateway]
master_secret = "{SECRET}"
{schema_line}
ledger = false
flush_interval = 0.05
lease_idle_seconds = 0.2
key_cache_ttl = 1
""")
    proc, url = serve_process(cfg, "--workers", str(workers))
    try:
        yield url
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(20)


def call_costs(start_gateway: Any) -> tuple[int, int]:
    """What a typical call and a tool-heavy one cost, in nano-USD."""
    probe = start_gateway()
    c = bedrock(probe, probe.key())
    c.converse(modelId=HAIKU, **TYPICAL)
    c.converse(modelId=HAIKU, **TOOL_HEAVY)
    probe.flush()
    typical, heavy = sorted(query(probe.gateway.engine, limit=None), key=lambda r: r.input_tokens)
    assert heavy.input_tokens > 1_400  # the schema's keys are billed (the probe saw 1,486)
    return int(typical.cost_nusd), int(heavy.cost_nusd)


async def _fire(url: str, token: str, n: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=n)) as client:
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        return await asyncio.gather(
            *[client.post(f"{url}/model/{HAIKU}/converse", content=TOOL_BODY, headers=headers) for _ in range(n)]
        )


def check_spend_within_cap(url: str, token: str, engine: Any, cap: int, per_call: int) -> dict[str, int]:
    window = month_window(time.time())
    responses = asyncio.run(_fire(url, token, 200))
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert all(
        r.status_code == 400 and r.headers["x-amzn-errortype"].startswith("ServiceQuotaExceededException")
        for r in refused
    ), {(r.status_code, r.text[:200]) for r in refused}
    assert ok  # the budget has room for at least one such call
    deadline = time.monotonic() + 20
    while True:  # settlements and idle leases flushed by every worker
        ((used, reserved, got_cap),) = SqlCounters(engine).read([("budget:env:prod", window)]).values()
        if reserved == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert got_cap == cap and reserved == 0
    assert used <= cap  # the guarantee
    assert used == len(ok) * per_call  # every admitted call charged in full
    figures = {"admitted": len(ok), "refused": len(refused), "used_nusd": used, "cap_nusd": cap}
    print(figures)
    return figures


# the probe: room for 50 typical calls, tool-heavy calls sent; and room for 50 of the tool-heavy calls
ROOMS = ["50-typical-calls", "50-tool-heavy-calls"]


def _cap(start_gateway: Any, room: str) -> tuple[int, int]:
    typical, heavy = call_costs(start_gateway)
    return 50 * (typical if room == ROOMS[0] else heavy), heavy


@pytest.mark.parametrize("room", ROOMS)
def test_tool_heavy_budget_one_worker_sqlite(start_gateway: Any, tmp_path: Path, room: str) -> None:
    cap, per_call = _cap(start_gateway, room)
    url_db = f"sqlite:///{tmp_path / 'serve.db'}"
    store = Store(url_db)
    token = KeyStore(store.engine, SECRET.encode()).create(user="ana", team="ml", environment="prod")["token"]
    try:
        with serve(tmp_path, url_db, None, (cap + 0.5) / 1e9, workers=1) as url:
            figures = check_spend_within_cap(url, token, store.engine, cap, per_call)
    finally:
        store.close()
    assert figures["admitted"] >= (40 if room == ROOMS[1] else 1)


@pytest.mark.skipif(not PG_URL, reason="BEDROCKCTL_TEST_PG_URL is not set (a PostgreSQL URL to test on)")
@pytest.mark.parametrize("room", ROOMS)
def test_tool_heavy_budget_four_workers_postgres(start_gateway: Any, tmp_path: Path, room: str) -> None:
    assert PG_URL is not None
    cap, per_call = _cap(start_gateway, room)
    schema = f"gwres_{uuid.uuid4().hex[:12]}"
    store = Store(PG_URL, schema=schema)
    token = KeyStore(store.engine, SECRET.encode()).create(user="ana", team="ml", environment="prod")["token"]
    try:
        with serve(tmp_path, PG_URL, schema, (cap + 0.5) / 1e9, workers=4) as url:
            figures = check_spend_within_cap(url, token, store.engine, cap, per_call)
    finally:
        with store.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        store.close()
    assert figures["admitted"] >= (30 if room == ROOMS[1] else 1)


# -- absurd output limits ---------------------------------------------------------------------------------------
def _counters(gw: RunningGateway) -> list[tuple[Any, ...]]:
    time.sleep(0.2)  # what is left of settled reservations goes back to the store once idle
    gw.flush()
    with gw.gateway.engine.connect() as conn:
        rows = conn.execute(text("SELECT scope, win, cap, used, reserved FROM gateway_counters ORDER BY scope"))
        return [tuple(r) for r in rows]


def test_absurd_max_tokens_are_refused_and_leave_limits_unchanged(start_gateway: Any) -> None:
    gw = start_gateway(
        {"prod": EnvironmentSettings(name="prod", monthly_budget_usd=10.0)},
        gateway={"lease_fraction": 0.0, "lease_idle_seconds": 0.05},
    )
    key = gw.key(environment="prod", limits={"tpm": 1_000, "rpm": 1_000})
    c = bedrock(gw, key)
    c.converse(
        modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "hello"}]}], inferenceConfig={"maxTokens": 50}
    )
    before = _counters(gw)
    assert {r[0].split(":")[0] for r in before} == {"budget", "tpm", "rpm"} and all(r[4] == 0 for r in before)
    http = httpx.Client(base_url=gw.url, headers={"authorization": f"Bearer {key['token']}"})
    msgs = [{"role": "user", "content": [{"text": "hello"}]}]
    for value in (-1_000_000_000, -5, 0, 4097, 2**31, 2**63, 1e30, "abc", True):
        for suffix in ("converse", "converse-stream"):
            r = http.post(f"/model/{HAIKU}/{suffix}", json={"messages": msgs, "inferenceConfig": {"maxTokens": value}})
            assert r.status_code == 400 and r.headers["x-amzn-errortype"].startswith("ValidationException"), r.text
            assert "maxTokens" in r.json()["message"]
        r = http.post(
            f"/model/{HAIKU}/invoke",
            json={
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": value,
                "messages": [{"role": "user", "content": "hi"}],
            },
        )
        assert r.status_code == 400 and "max_tokens" in r.json()["message"], r.text
        for name in ("max_tokens", "max_completion_tokens"):
            r = http.post(
                "/v1/chat/completions",
                json={"model": HAIKU, "messages": [{"role": "user", "content": "x"}], name: value},
            )
            assert r.status_code == 400, r.text
            assert r.json()["error"]["type"] == "invalid_request_error" and r.json()["error"]["param"] == name
    assert _counters(gw) == before  # nothing reserved, nothing settled
    # and the token limit still binds: each call reserves its estimate + 50 output tokens against 1,000 a minute
    admitted = 0
    for _ in range(60):
        try:
            c.converse(modelId=HAIKU, messages=msgs, inferenceConfig={"maxTokens": 50})
            admitted += 1
        except c.exceptions.ThrottlingException:
            pass
    tpm = next(r for r in _counters(gw) if r[0].startswith("tpm:"))
    print({"tpm_admitted": admitted, "tpm_used": tpm[3], "tpm_cap": tpm[2]})
    assert 0 < admitted < 60 and tpm[3] <= tpm[2], (admitted, _counters(gw))


# -- a call that costs more than it reserved ----------------------------------------------------------------------
def test_overshoot_is_charged_closes_the_budget_everywhere_and_alerts(start_gateway: Any) -> None:
    envs = {"prod": EnvironmentSettings(name="prod", monthly_budget_usd=5.0)}
    gw = start_gateway(envs)
    other = start_gateway(envs)  # a second worker on the same store
    key = gw.key(environment="prod")
    record = gw.gateway.keys.lookup(key["key_id"])
    assert record is not None
    assert gw.loop is not None

    async def overspend() -> tuple[int, int]:
        """Three calls in flight at once; all three report far more input than their requests could hold."""
        in_flight = [await gw.gateway.admit(record, "bedrock", "Converse", HAIKU, 10, 10, None) for _ in range(3)]
        reserved = cost = 0
        for i, adm in enumerate(in_flight):
            assert adm.reservation is not None and adm.state is not None
            adm.target = adm.state.plan[0]
            reserved += next(n for s, n in adm.reservation.items if s.kind == "budget")
            cost += gw.gateway.finish(adm, Usage(input_tokens=400_000, output_tokens=10), "ok", 200)
            if i == 0:  # from the first excess on, nothing new is admitted; the calls in flight still settle
                with pytest.raises(errors.GatewayError, match="Budget closed"):
                    await gw.gateway.admit(record, "bedrock", "Converse", HAIKU, 10, 10, None)
        return reserved, cost

    reserved, cost = asyncio.run_coroutine_threadsafe(overspend(), gw.loop).result(10)
    assert cost > reserved  # the overshoot: the excess of the three calls in flight, no more
    gw.gateway.overshoot.close()  # waits for the closing write and the alert
    window = month_window(gw.gateway.window_clock())
    gw.flush()
    ((used, held, _cap),) = SqlCounters(gw.gateway.engine).read([("budget:env:prod", window)]).values()
    assert used == cost  # charged in full
    assert held >= CLOSED  # closed for every worker
    # this worker refuses at once, the other one at the database
    for running in (gw, other):
        c = bedrock(running, key)
        with pytest.raises(c.exceptions.ServiceQuotaExceededException) as exc:
            c.converse(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "hi"}]}])
        message = exc.value.response["Error"]["Message"]
        assert ("Budget closed" if running is gw else "Budget exceeded") in message, message
    alerts = [d for d in AlertLedger(gw.gateway.engine).recent(50) if d.key.threshold == OVERSHOOT_THRESHOLD]
    assert alerts and {a.status for a in alerts} == {"sent"}  # the log channel at least
    assert alerts[0].payload["type"] == "bedrockctl.budget_overshoot"
    assert alerts[0].payload["excess_usd"] == pytest.approx((cost - reserved) / 3 / 1e9)  # the first call's
