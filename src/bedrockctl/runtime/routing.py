"""Route planning: which (model, region) targets to try, in which order, and what we learned from each try.

A plan is the requested model over its failover regions, then each fallback model (per-environment tier
downgrade such as ``sonnet -> haiku``, then ``runtime.fallback_models``), then the local tier if configured.
Regions of one model are ordered by the strategy: ``ordered`` (caller region, then the configured or the
profile's member regions), ``round-robin``, ``latency`` (lowest EWMA first; unknown routes are explored first)
or ``cost`` (cheapest catalog price first; the local tier costs nothing). A region that answered 5xx or did
not answer is skipped for ``cooldown_seconds`` while another route remains.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bedrockctl.errors import BedrockctlError
from bedrockctl.runtime.errors import ModelNotAllowed
from bedrockctl.runtime.resolve import Target, candidate_regions, canonical_model_id, resolve

STRATEGIES = ("ordered", "round-robin", "latency", "cost")


@dataclass
class RuntimeOptions:
    """The ``[runtime]`` config section, typed."""

    strategy: str = "ordered"
    failover_regions: list[str] = field(default_factory=list)
    failover: bool = True
    fallback_models: list[str] = field(default_factory=list)
    allowed_geographies: list[str] | None = None
    max_attempts: int = 5
    cooldown_seconds: float = 30.0
    ewma_alpha: float = 0.3
    backoff_base: float = 0.5
    environment: str | None = None
    local_base_url: str | None = None
    local_model: str | None = None
    local_api_key: str | None = None
    cache_enabled: bool = False
    cache_ttl: int = 3600
    cache_backend: str = "sqlite"
    cache_url: str | None = None
    usage_enabled: bool = True

    @classmethod
    def from_dict(cls, raw: dict[str, Any], retry_attempts: int = 5) -> RuntimeOptions:
        opts = cls(max_attempts=retry_attempts)
        cache: dict[str, Any] = raw["cache"] if isinstance(raw.get("cache"), dict) else {}
        local: dict[str, Any] = raw["local"] if isinstance(raw.get("local"), dict) else {}
        flat = {**raw, **{f"cache_{k}": v for k, v in cache.items()}, **{f"local_{k}": v for k, v in local.items()}}
        for key, value in flat.items():
            if key in ("cache", "local") or not hasattr(opts, key):
                continue
            current = getattr(cls, key, None) if not isinstance(getattr(opts, key), list) else []
            if isinstance(current, bool):
                value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
            elif isinstance(current, int) and not isinstance(current, bool):
                value = int(value)
            elif isinstance(current, float):
                value = float(value)
            elif key in ("failover_regions", "fallback_models", "allowed_geographies") and isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            setattr(opts, key, value)
        if opts.strategy not in STRATEGIES:
            from bedrockctl.errors import ConfigError

            raise ConfigError(
                f"runtime.strategy = {opts.strategy!r} is invalid; expected one of {', '.join(STRATEGIES)}"
            )
        return opts


@dataclass
class _Stat:
    ewma_ms: float | None = None
    down_until: float = 0.0
    ok: int = 0
    failed: int = 0


class RouteStats:
    """Shared, thread-safe memory of every route's latency (EWMA) and health."""

    def __init__(self, alpha: float = 0.3, cooldown: float = 30.0) -> None:
        self.alpha = alpha
        self.cooldown = cooldown
        self._lock = threading.Lock()
        self._stats: dict[tuple[str, str], _Stat] = {}
        self._rr = itertools.count()

    def _get(self, target: Target) -> _Stat:
        key = (target.model_id, target.region)
        stat = self._stats.get(key)
        if stat is None:
            stat = self._stats[key] = _Stat()
        return stat

    def success(self, target: Target, latency_ms: float) -> None:
        with self._lock:
            s = self._get(target)
            s.ok += 1
            s.down_until = 0.0
            s.ewma_ms = latency_ms if s.ewma_ms is None else self.alpha * latency_ms + (1 - self.alpha) * s.ewma_ms

    def failure(self, target: Target, *, down: bool) -> None:
        with self._lock:
            s = self._get(target)
            s.failed += 1
            if down:
                s.down_until = time.monotonic() + self.cooldown

    def is_down(self, target: Target) -> bool:
        with self._lock:
            return self._get(target).down_until > time.monotonic()

    def ewma(self, target: Target) -> float | None:
        with self._lock:
            return self._get(target).ewma_ms

    def next_rr(self) -> int:
        return next(self._rr)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {f"{m}@{r}": vars(s).copy() for (m, r), s in self._stats.items()}


class Planner:
    def __init__(
        self,
        opts: RuntimeOptions,
        stats: RouteStats,
        *,
        region: str,
        prices: Any = None,
        environment: Any = None,
    ) -> None:
        self.opts = opts
        self.stats = stats
        self.region = region
        self.prices = prices
        self.environment = environment

    # -- environment rules ---------------------------------------------------------------------------------
    def check_allowed(self, model: str) -> None:
        env = self.environment
        if env is None or not env.allowed_models:
            return
        wanted = canonical_model_id(model)
        allowed = {canonical_model_id(m) for m in env.allowed_models}
        stripped = wanted.split(".", 1)[1] if wanted.split(".", 1)[0] in ("us", "eu", "apac", "global") else wanted
        if wanted not in allowed and stripped not in allowed and not model.startswith("local:"):
            raise ModelNotAllowed(
                f"{model} is not allowed in environment {env.name!r} (allowed: {', '.join(env.allowed_models)})",
                details={"environment": env.name, "model": model},
            )

    def model_chain(self, model: str) -> list[str]:
        chain = [model]
        routes = dict(self.environment.tier_routes) if self.environment is not None else {}
        current = model
        while current in routes or canonical_model_id(current) in routes:
            nxt = routes.get(current) or routes[canonical_model_id(current)]
            if nxt in chain:
                break
            chain.append(nxt)
            current = nxt
        chain += [m for m in self.opts.fallback_models if m not in chain]
        if self.opts.local_model and self.opts.local_base_url:
            local = f"local:{self.opts.local_model}"
            if local not in chain:
                chain.append(local)
        return chain

    # -- plan -----------------------------------------------------------------------------------------------
    def targets_for(self, model: str) -> list[Target]:
        allowed = self.opts.allowed_geographies
        first = resolve(model, self.region, allowed)
        if not self.opts.failover or first.is_local:
            return [first]
        regions: Sequence[str] = self.opts.failover_regions or candidate_regions(first)
        regions = [self.region, *[r for r in regions if r != self.region]]
        out: list[Target] = [first]
        for region in regions[1:]:
            try:
                t = resolve(model, region, allowed)
            except BedrockctlError:
                continue
            if t.region == region and t not in out:
                out.append(t)
        return self._order(out)

    def _order(self, targets: list[Target]) -> list[Target]:
        strategy = self.opts.strategy
        if len(targets) < 2 or strategy == "ordered":
            return targets
        if strategy == "round-robin":
            n = self.stats.next_rr() % len(targets)
            return targets[n:] + targets[:n]
        if strategy == "latency":
            return sorted(targets, key=lambda t: self.stats.ewma(t) or 0.0)
        return sorted(targets, key=self._unit_price)

    def _unit_price(self, target: Target) -> Decimal:
        if target.is_local:
            return Decimal(0)
        mp = self.prices.price_for(target.model_id, target.region) if self.prices is not None else None
        if mp is None:
            return Decimal("Infinity")
        return Decimal(mp.input_per_1k) + Decimal(mp.output_per_1k)

    def plan(self, model: str) -> list[Target]:
        self.check_allowed(model)
        plan: list[Target] = []
        errors: list[BedrockctlError] = []
        for i, m in enumerate(self.model_chain(model)):
            try:
                plan += [t for t in self.targets_for(m) if t not in plan]
            except BedrockctlError as exc:
                if i == 0:
                    raise
                errors.append(exc)
        return plan
