"""Caches keyed by what callers send stay bounded: the gateway's per-model and per-key caches, the inference
profile resolver, and the budget counters remembered for alerts (only windows that have not ended)."""

from __future__ import annotations

import time

from bedrockctl.aws.inference_profiles import ProfileResolver
from bedrockctl.server.gateway.audit import AuditLog
from bedrockctl.server.gateway.bounded import MAX_ENTRIES, remember
from bedrockctl.server.gateway.budgets import Policy
from bedrockctl.server.gateway.options import GatewayOptions
from bedrockctl.settings import EnvironmentSettings
from bedrockctl.store.audit import AuditRecord
from bedrockctl.store.keys import KeyRecord

from .conftest import RunningGateway


def test_remember_drops_the_oldest_entry_past_the_limit() -> None:
    cache: dict[int, str] = {}
    for i in range(1000):
        assert remember(cache, i, str(i), limit=100) == str(i)
    assert len(cache) == 100
    assert list(cache) == list(range(900, 1000))
    remember(cache, 950, "again", limit=100)  # a key already held replaces its value and evicts nothing
    assert len(cache) == 100 and cache[950] == "again" and 900 in cache


def test_profile_resolver_cache_and_failures_are_bounded() -> None:
    def no_client(region: str) -> None:
        raise AssertionError(f"a malformed ARN must not reach AWS ({region})")

    resolver = ProfileResolver(no_client, max_entries=50)
    for i in range(500):
        assert resolver.resolve(f"not-an-arn-{i}") is None
    assert len(resolver._cache) == 50
    assert len(resolver.failures) == 50
    assert "not-an-arn-499" in resolver._cache
    assert resolver.failures["not-an-arn-499"] == "not an application inference profile ARN"


def test_gateway_model_admission_cache_is_bounded(gw: RunningGateway) -> None:
    key = KeyRecord("BGKBOUNDED", "", "ana", "ml", "dev")
    for i in range(MAX_ENTRIES + 500):
        gw.gateway.check_model(key, None, f"vendor.model-{i}-v1:0")
    assert len(gw.gateway._allowed) == MAX_ENTRIES
    assert (key.key_id, f"vendor.model-{MAX_ENTRIES + 499}-v1:0") in gw.gateway._allowed


def test_policy_forgets_budget_windows_that_have_ended() -> None:
    env = EnvironmentSettings(name="dev", monthly_budget_usd=100, daily_budget_usd=10)
    policy = Policy(GatewayOptions(), {"dev": env})
    key = KeyRecord("BGKDAYS", "", "ana", "ml", "dev")
    start = time.time()
    first = {s.key for s in policy.specs(key, start) if s.kind == "budget"}
    assert first and first <= set(policy.budgets)
    for k in first:
        policy.pct[k] = 42.0
    for day in range(1, 90):  # three months of days: one new daily window a day, a new monthly one a month
        policy.specs(key, start + day * 86400)
    now = start + 89 * 86400
    assert len(policy.budgets) == 2  # this month's and this day's window of the environment budget
    assert all(info.spec.resets_at > now for info in policy.budgets.values())
    assert not first & set(policy.pct)


def test_records_held_for_the_ledger_are_shipped_at_ship_batch() -> None:
    shipped: list[int] = []
    audit = AuditLog(None, ledger=lambda batch: shipped.append(len(batch)), ship_batch=3)
    rec = AuditRecord(time.time(), "r", "k", "u", "t", "e", "bedrock", "Converse", "m", "m", "us-east-1", 1, 1, 0,
                      "ok", 200, 1, 1, None)  # fmt: skip
    audit.written([rec, rec])
    assert not audit.ship_due
    audit.written([rec])
    assert audit.ship_due
    assert audit.ship() == 3 and shipped == [3]
    assert not audit.ship_due
