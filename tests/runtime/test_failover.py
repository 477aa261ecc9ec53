"""Resilience against the sandbox's fault injection: throttling, a region down, bounded attempts."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from bedrockctl.runtime import Runtime
from bedrockctl.runtime.errors import AllRoutesFailed

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def test_burst_fails_over_from_throttled_and_down_regions(make_runtime: Any, sandbox_admin: Any) -> None:
    sandbox_admin.set_faults(
        {"throttle": [{"rate": 0.5, "region": "us-east-1"}], "unavailable": ["us-west-2"], "seed": 11}
    )
    rt: Runtime = make_runtime(
        runtime={
            "failover_regions": ["us-east-1", "us-west-2", "eu-west-1"],
            "strategy": "ordered",
            "backoff_base": 0.0,
        },
    )
    results = [rt.converse(HAIKU, prompt=f"burst {i}") for i in range(100)]
    records = rt.usage_sink.records  # type: ignore[union-attr]
    assert len(results) == 100 and all(r.stop_reason == "end_turn" for r in results)
    assert len(records) == 100 and all(r.status == "ok" for r in records)
    served = Counter(r.region_served for r in records)
    assert set(served) == {"us-east-1", "eu-west-1"}, served
    assert 25 <= served["us-east-1"] <= 75  # about half got through the 50% throttle
    assert all(len(r.attempts) <= 3 for r in records)  # bounded: A, (B once, then skipped), C
    for r in records:  # the record names the region that served, and it is the last attempt's
        assert r.attempts[-1]["outcome"] == "ok" and r.attempts[-1]["region"] == r.region_served
        assert all(a["outcome"] in ("ok", "ThrottlingException", "ServiceUnavailableException") for a in r.attempts)
    down = [a for r in records for a in r.attempts if a["region"] == "us-west-2"]
    assert 1 <= len(down) <= 3  # the dead region is tried, then skipped during its cooldown
    assert rt.retrier.available > 0


def test_profile_failover_over_member_regions(make_runtime: Any, sandbox_admin: Any) -> None:
    sandbox_admin.set_faults({"unavailable": ["us-east-1"]})
    rt: Runtime = make_runtime(runtime={"backoff_base": 0.0})
    res = rt.converse("claude-sonnet-4-5", prompt="profile failover")
    assert res.meta.region_served in ("us-east-2", "us-west-2")
    assert res.meta.model_served == "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert [a.outcome for a in res.meta.attempts] == ["ServiceUnavailableException", "ok"]


def test_attempts_are_bounded_when_everything_fails(make_runtime: Any, sandbox_admin: Any) -> None:
    sandbox_admin.set_faults({"throttle": [{"rate": 1.0}]})
    rt: Runtime = make_runtime(
        runtime={"failover_regions": ["us-east-1", "us-west-2"], "max_attempts": 4, "backoff_base": 0.0}
    )
    with pytest.raises(AllRoutesFailed) as info:
        rt.converse(HAIKU, prompt="never")
    attempts = info.value.details["attempts"]
    assert len(attempts) == 4 and {a["region"] for a in attempts} == {"us-east-1", "us-west-2"}
    assert rt.usage_sink.records[-1].status == "BRC-RUN-003"  # type: ignore[union-attr]


def test_model_fallback_chain_tier_downgrade(make_runtime: Any, sandbox_admin: Any) -> None:
    from bedrockctl.settings import EnvironmentSettings, Settings

    sandbox_admin.set_faults({"throttle": [{"rate": 1.0, "model": "claude-sonnet-4-5"}]})
    env = EnvironmentSettings(name="dev")
    settings = Settings(
        environments={"dev": env}, runtime={"environment": "dev", "failover": False, "backoff_base": 0.0}
    )
    env.tier_routes = {"us.anthropic.claude-sonnet-4-5-20250929-v1:0": HAIKU}
    rt: Runtime = make_runtime(settings=settings, runtime=settings.runtime)
    res = rt.converse("us.anthropic.claude-sonnet-4-5-20250929-v1:0", prompt="downgrade me")
    assert res.meta.model_served == HAIKU
    assert [a.outcome for a in res.meta.attempts] == ["ThrottlingException", "ok"]
    assert rt.usage_sink.records[-1].environment == "dev"  # type: ignore[union-attr]


def test_environment_allowed_models(make_runtime: Any) -> None:
    from bedrockctl.runtime.errors import ModelNotAllowed
    from bedrockctl.settings import EnvironmentSettings, Settings

    env = EnvironmentSettings(name="prod", allowed_models=["haiku"])
    settings = Settings(environments={"prod": env}, runtime={"environment": "prod"})
    rt: Runtime = make_runtime(settings=settings, runtime=settings.runtime)
    with pytest.raises(ModelNotAllowed):
        rt.converse(HAIKU, prompt="not allowed")
    assert rt.converse("haiku", prompt="allowed").stop_reason == "end_turn"


@pytest.mark.parametrize("strategy", ["round-robin", "latency", "cost"])
def test_strategies_spread_or_pick(make_runtime: Any, strategy: str) -> None:
    rt: Runtime = make_runtime(runtime={"failover_regions": ["us-east-1", "us-west-2"], "strategy": strategy})
    served = Counter(rt.converse(HAIKU, prompt=f"s {i}").meta.region_served for i in range(6))
    if strategy == "round-robin":
        assert served == {"us-east-1": 3, "us-west-2": 3}
    else:
        assert sum(served.values()) == 6 and set(served) <= {"us-east-1", "us-west-2"}
