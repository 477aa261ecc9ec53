"""Keys, rate limits, budgets (exact under concurrency), alerts and the soft-threshold downgrade."""

from __future__ import annotations

import asyncio
import calendar
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import httpx
import openai
import pytest
from botocore.config import Config

from bedrockctl.server.gateway.counters import SqlCounters
from bedrockctl.settings import EnvironmentSettings
from bedrockctl.store.audit import query
from bedrockctl.store.keys import KeyStore

from .conftest import HAIKU, RunningGateway

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})
MSG = [{"role": "user", "content": [{"text": "hello gateway"}]}]
BODY = json.dumps({"messages": MSG, "inferenceConfig": {"maxTokens": 10}}).encode()


def bedrock(gw: RunningGateway, key: dict[str, Any]) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=gw.url,
        config=NO_RETRY,
        aws_access_key_id=key["aws_access_key_id"],
        aws_secret_access_key=key["aws_secret_access_key"],
    )


def oai(gw: RunningGateway, key: dict[str, Any]) -> openai.OpenAI:
    return openai.OpenAI(api_key=key["token"], base_url=gw.url + "/v1", max_retries=0)


def test_rate_limit_429_in_each_protocol(gw: RunningGateway) -> None:
    key = gw.key(limits={"rpm": 3})
    c = bedrock(gw, key)
    for _ in range(3):
        c.converse(modelId=HAIKU, messages=MSG)
    with pytest.raises(c.exceptions.ThrottlingException) as exc:
        c.converse(modelId=HAIKU, messages=MSG)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert "requests per minute" in exc.value.response["Error"]["Message"]
    key2 = gw.key(limits={"rpm": 2})
    client = oai(gw, key2)
    for _ in range(2):
        client.chat.completions.create(model="haiku", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.RateLimitError) as rl:
        client.chat.completions.create(model="haiku", messages=[{"role": "user", "content": "x"}])
    assert rl.value.status_code == 429 and rl.value.code == "rate_limit_exceeded"
    assert int(rl.value.response.headers["retry-after"]) >= 1
    gw.flush()
    statuses = [r.status for r in query(gw.gateway.engine, limit=None)]
    assert statuses.count("rate_limited") == 2 and statuses.count("ok") == 5


def test_token_limit(gw: RunningGateway) -> None:
    key = gw.key(limits={"tpm": 30})
    c = bedrock(gw, key)
    with pytest.raises(c.exceptions.ThrottlingException):  # 10 output + the counted input exceed 30 at most twice
        for _ in range(4):
            c.converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 10})


def test_expired_and_revoked_keys(gw: RunningGateway) -> None:
    expired = gw.key(expires_at=time.time() - 1)
    c = bedrock(gw, expired)
    with pytest.raises(c.exceptions.ClientError) as exc:
        c.converse(modelId=HAIKU, messages=MSG)
    assert exc.value.response["Error"]["Code"] == "ExpiredTokenException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(openai.AuthenticationError) as auth:
        oai(gw, expired).chat.completions.create(model="haiku", messages=[{"role": "user", "content": "x"}])
    assert auth.value.status_code == 401 and auth.value.code == "expired_api_key"

    live = gw.key()
    c = bedrock(gw, live)
    c.converse(modelId=HAIKU, messages=MSG)
    # revoked from another process' point of view: another KeyStore on the same database
    KeyStore(gw.gateway.engine, b"test-master-secret").revoke(live["key_id"])
    time.sleep(0.3)  # gateway.key_cache_ttl = 0.2 in the tests
    with pytest.raises(c.exceptions.AccessDeniedException) as denied:
        c.converse(modelId=HAIKU, messages=MSG)
    assert "revoked" in denied.value.response["Error"]["Message"]
    with pytest.raises(openai.AuthenticationError):
        oai(gw, live).models.list()


def test_model_not_allowed(start_gateway: Any) -> None:
    gw = start_gateway({"dev": EnvironmentSettings(name="dev", allowed_models=["claude-3-haiku"])})
    key = gw.key()
    c = bedrock(gw, key)
    c.converse(modelId=HAIKU, messages=MSG)
    with pytest.raises(c.exceptions.AccessDeniedException):
        c.converse(modelId="amazon.nova-lite-v1:0", messages=MSG)
    narrow = gw.key(allowed_models=["nova-lite"], environment="dev")
    with pytest.raises(openai.PermissionDeniedError):
        oai(gw, narrow).chat.completions.create(model="haiku", messages=[{"role": "user", "content": "x"}])


def _cost_of_one_call(start_gateway: Any) -> int:
    probe = start_gateway()
    bedrock(probe, probe.key()).converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 10})
    probe.flush()
    (row,) = list(query(probe.gateway.engine, limit=None))
    assert row.output_tokens == 10  # the sandbox stops at maxTokens: actual output = reserved output
    return row.cost_nusd


async def _fire(url: str, token: str, n: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=n)) as client:
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        return await asyncio.gather(
            *[client.post(f"{url}/model/{HAIKU}/converse", content=BODY, headers=headers) for _ in range(n)]
        )


def month_window(now: float) -> str:
    """The gateway's name for the monthly budget window that holds ``now``."""
    return f"m{time.strftime('%Y-%m', time.gmtime(now))}"


def check_exact_budget(url: str, token: str, engine: Any, cap_nusd: int, per_call: int, window: str) -> None:
    responses = asyncio.run(_fire(url, token, 200))
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert 0 < len(ok) <= 50
    assert len(ok) >= 35  # the worst-case reservation is close to the real cost here
    assert all(
        r.status_code == 400 and r.headers["x-amzn-errortype"].startswith("ServiceQuotaExceededException")
        for r in refused
    ), {r.status_code for r in refused}
    assert "resets at" in refused[0].json()["message"]
    time.sleep(1.5)  # settlements and idle leases flushed
    rows = SqlCounters(engine).read([("budget:env:prod", window)])
    used, reserved, cap = next(iter(rows.values()))
    assert cap == cap_nusd and used <= cap and reserved == 0
    assert used == len(ok) * per_call


def test_budget_exact_under_concurrency_sqlite(start_gateway: Any) -> None:
    per_call = _cost_of_one_call(start_gateway)
    limit = (50 * per_call + 0.5) / 1e9
    gw = start_gateway(
        {"prod": EnvironmentSettings(name="prod", monthly_budget_usd=limit)}, gateway={"lease_idle_seconds": 0.2}
    )
    key = gw.key(environment="prod")
    window = month_window(gw.gateway.window_clock())
    check_exact_budget(gw.url, key["token"], gw.gateway.engine, 50 * per_call, per_call, window)


def test_monthly_budget_resets_when_the_month_ends(start_gateway: Any) -> None:
    """The test owns the gateway's window clock: the last second of this month, then the first of the next."""
    per_call = _cost_of_one_call(start_gateway)
    gw = start_gateway({"prod": EnvironmentSettings(name="prod", monthly_budget_usd=3 * per_call / 1e9)})
    g = time.gmtime()
    next_month = calendar.timegm((g.tm_year + (g.tm_mon == 12), g.tm_mon % 12 + 1, 1, 0, 0, 0))
    clock = [next_month - 1.0]
    gw.gateway.window_clock = lambda: clock[0]
    c = bedrock(gw, gw.key(environment="prod"))
    admitted = 0
    with pytest.raises(c.exceptions.ServiceQuotaExceededException) as exc:
        for _ in range(10):
            c.converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 10})
            admitted += 1
    assert 1 <= admitted <= 3
    resets = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(next_month))
    assert f"it resets at {resets}" in exc.value.response["Error"]["Message"]
    clock[0] = float(next_month)  # a new month: a new window with the whole budget
    assert c.converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 10})["stopReason"]
    gw.flush()
    old, new = ("budget:env:prod", month_window(next_month - 1)), ("budget:env:prod", month_window(next_month))
    spent = SqlCounters(gw.gateway.engine).read([old, new])
    assert (spent[old][0], spent[new][0]) == (admitted * per_call, per_call)


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_alerts_once_per_threshold_and_soft_downgrade(start_gateway: Any) -> None:
    per_call = _cost_of_one_call(start_gateway)
    hook = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        env = EnvironmentSettings(
            name="prod",
            monthly_budget_usd=20 * per_call / 1e9,
            alert_thresholds=[10, 20],
            soft_threshold_pct=25,
            tier_routes={"claude-3-5-haiku": "claude-3-haiku"},
            hard_stop_pct=95,
        )
        gw = start_gateway({"prod": env}, gateway={"webhook_url": f"http://127.0.0.1:{hook.server_port}/hook"})
        key = gw.key(environment="prod")
        c = bedrock(gw, key)
        for i in range(6):
            c.converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 10})
            gw.flush()
            if i == 1:
                assert [a["threshold_pct"] for a in _Hook.received] == [10]  # 2 calls = 10%
        assert [a["threshold_pct"] for a in _Hook.received] == [10, 20]  # once each, not per call
        assert _Hook.received[0]["scope"] == "budget:env:prod" and _Hook.received[0]["limit_usd"] > 0
        # 30% spent > soft threshold 25%: the environment's tier route serves the cheaper model
        r = c.converse(modelId="claude-3-5-haiku", messages=MSG, inferenceConfig={"maxTokens": 10})
        assert r["output"]["message"]["content"]
        gw.flush()
        last = next(iter(query(gw.gateway.engine, limit=1)))
        assert last.model_requested == "claude-3-5-haiku" and "claude-3-haiku" in (last.model_served or "")
    finally:
        hook.shutdown()
