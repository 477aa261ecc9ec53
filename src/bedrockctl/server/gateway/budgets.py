"""Budgets and rate limits of one request: environment -> team -> user -> key, monthly and daily windows;
request and token limits per minute, hour and day. Crossed thresholds go to the alert service (``bedrockctl.alerts``):
once per threshold per window and channel (log, webhook, SNS), with retries and a recorded outcome.
"""

from __future__ import annotations

import calendar
import logging
import threading
import time
import weakref
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from bedrockctl.alerts import (
    Alert,
    AlertService,
    Channel,
    DeliveryPolicy,
    LogChannel,
    Outcome,
    budget_scope,
    channels_for,
    crossed,
    month_window,
)
from bedrockctl.server.gateway import errors
from bedrockctl.server.gateway.counters import CounterSpec, Key, Refused
from bedrockctl.server.gateway.options import GatewayOptions
from bedrockctl.settings import EnvironmentSettings
from bedrockctl.store.alerts import AlertLedger, Delivery
from bedrockctl.store.keys import KeyRecord

log = logging.getLogger("bedrockctl.gateway")
NANO = 1_000_000_000
_RATE = {
    "rpm": ("requests", "M", "requests per minute"),
    "rph": ("requests", "H", "requests per hour"),
    "rpd": ("requests", "D", "requests per day"),
    "tpm": ("tokens", "M", "tokens per minute"),
    "tph": ("tokens", "H", "tokens per hour"),
    "tpd": ("tokens", "D", "tokens per day"),
}


@dataclass(frozen=True)
class Windows:
    minute: tuple[str, float]
    hour: tuple[str, float]
    day: tuple[str, float]
    month: tuple[str, float]

    @classmethod
    def at(cls, now: float) -> Windows:
        m = int(now // 60)
        h = int(now // 3600)
        g = time.gmtime(now)
        day_start = calendar.timegm((g.tm_year, g.tm_mon, g.tm_mday, 0, 0, 0))
        ny, nm = (g.tm_year + 1, 1) if g.tm_mon == 12 else (g.tm_year, g.tm_mon + 1)
        return cls(
            (f"M{m}", (m + 1) * 60.0),
            (f"H{h}", (h + 1) * 3600.0),
            (f"d{g.tm_year:04d}-{g.tm_mon:02d}-{g.tm_mday:02d}", day_start + 86400.0),
            (month_window(f"{g.tm_year:04d}-{g.tm_mon:02d}"), float(calendar.timegm((ny, nm, 1, 0, 0, 0)))),
        )

    def by_letter(self, letter: str) -> tuple[str, float]:
        return {"M": self.minute, "H": self.hour, "D": self.day}[letter]


@dataclass
class BudgetInfo:
    spec: CounterSpec
    environment: str
    thresholds: tuple[float, ...]
    hard_stop_pct: float


class Policy:
    """Turns a key into the counters a request must pass, and refusals into protocol errors."""

    def __init__(self, opts: GatewayOptions, environments: dict[str, EnvironmentSettings]) -> None:
        self.opts = opts
        self.environments = environments
        self._cache: dict[tuple[str, str], list[CounterSpec]] = {}
        self._minute = ""
        self.budgets: dict[Key, BudgetInfo] = {}  # every budget counter seen (for alerts)
        self.pct: dict[Key, float] = {}  # last known spent % of each budget counter

    def specs(self, key: KeyRecord, now: float) -> list[CounterSpec]:
        minute = f"M{int(now // 60)}"
        if minute != self._minute:
            self._cache.clear()
            self._minute = minute
            self._forget_ended(now)
        ck = (key.key_id, key.environment)
        hit = self._cache.get(ck)
        if hit is None:
            hit = self._cache[ck] = self._build(key, Windows.at(now))
        return hit

    def _forget_ended(self, now: float) -> None:
        """Drop the budget counters of windows that have ended (a day's, a month's), so ``budgets`` and ``pct``
        hold only the windows in use instead of one more entry per key and day for as long as the process runs."""
        for k in [k for k, info in self.budgets.items() if info.spec.resets_at <= now]:
            del self.budgets[k]
            self.pct.pop(k, None)

    def _build(self, key: KeyRecord, w: Windows) -> list[CounterSpec]:
        env = self.environments.get(key.environment)
        stop = env.hard_stop_pct if env else 100.0
        thresholds = tuple(env.alert_thresholds) if env else ()
        out: list[CounterSpec] = []

        def budget(kind: str, name: str, what: str, monthly: float | None, daily: float | None) -> None:
            for limit, (win, resets), period in ((monthly, w.month, "monthly"), (daily, w.day, "daily")):
                if limit is None:
                    continue
                spec = CounterSpec(
                    budget_scope(kind, name),
                    win,
                    int(limit * stop / 100 * NANO),
                    resets,
                    "budget",
                    f"{what} {period} budget",
                    limit,
                )
                out.append(spec)
                self.budgets[spec.key] = BudgetInfo(spec, key.environment, thresholds, stop)

        if env is not None:
            budget("env", env.name, f"environment {env.name!r}", env.monthly_budget_usd, env.daily_budget_usd)
        team = self.opts.teams.get(key.team)
        if team is not None:
            budget("team", key.team, f"team {key.team!r}", team.monthly_budget_usd, team.daily_budget_usd)
        user = self.opts.users.get(key.user)
        if user is not None:
            budget("user", key.user, f"user {key.user!r}", user.monthly_budget_usd, user.daily_budget_usd)
        budget(
            "key",
            key.key_id,
            f"key {key.key_id}",
            key.limits.get("monthly_budget_usd"),
            key.limits.get("daily_budget_usd"),
        )
        if env is not None:
            for limit, letter, what in (
                (env.requests_per_hour, "H", "requests per hour"),
                (env.requests_per_day, "D", "requests per day"),
            ):
                if limit is not None:
                    win, resets = w.by_letter(letter)
                    out.append(
                        CounterSpec(
                            f"r{letter.lower()}:env:{env.name}",
                            win,
                            int(limit),
                            resets,
                            "requests",
                            f"environment {env.name!r} {what}",
                            float(limit),
                        )
                    )
        for name, (kind, letter, what) in _RATE.items():
            klimit = key.limits.get(name)
            if klimit is not None:
                win, resets = w.by_letter(letter)
                out.append(
                    CounterSpec(
                        f"{name}:key:{key.key_id}",
                        win,
                        int(klimit),
                        resets,
                        kind,
                        f"key {key.key_id} {what}",
                        float(klimit),
                    )
                )
        return out

    def has_budget(self, specs: list[CounterSpec]) -> bool:
        return any(s.kind == "budget" for s in specs)

    def refusal(self, exc: Refused) -> errors.GatewayError:
        spec = exc.spec
        if spec.kind == "budget":
            info = self.budgets.get(spec.key)
            return errors.over_budget(
                spec.label, spec.limit, info.hard_stop_pct if info else 100.0, spec.resets_at, spec.scope
            )
        return errors.rate_limited(spec.label, spec.limit, spec.resets_at, spec.scope)

    def env_pct(self, env: EnvironmentSettings, now: float) -> float:
        """The highest known spent % of the environment's budgets (for the soft threshold)."""
        w = Windows.at(now)
        scope = budget_scope("env", env.name)
        return max(self.pct.get((scope, w.month[0]), 0.0), self.pct.get((scope, w.day[0]), 0.0))


class Alerter:
    """The gateway's budget counters -> the alert service: once per threshold per window and channel, across workers
    and replicas (``alert_deliveries`` decides who sends). Deliveries run on a small thread pool owned by this
    object, so a slow or failing webhook does not hold up the flush; ``check`` waits up to ``wait`` seconds for them.
    Failed deliveries are retried by later checks (``retry_due`` at most every ``sweep_every`` seconds)."""

    def __init__(
        self,
        engine: Any,
        policy: Policy,
        opts: GatewayOptions,
        sessions: Any = None,
        *,
        delivery: DeliveryPolicy | None = None,
        wait: float = 2.0,
        sweep_every: float = 30.0,
    ) -> None:
        self.policy = policy
        self.opts = opts
        self.sessions = sessions
        self.service = AlertService(AlertLedger(engine), delivery)
        self.wait = wait
        self.sweep_every = sweep_every
        self._gateway = {"webhook_url": opts.webhook_url, "sns_topic_arn": opts.sns_topic_arn}
        self._settled: set[tuple[str, str, float]] = set()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._next_sweep = 0.0

    def channels(self, environment: str) -> list[Channel]:
        """The log, and the environment's (else the gateway's) webhook and SNS topic."""
        env = self.policy.environments.get(environment)
        return [LogChannel(), *channels_for(env, self._gateway, self.sessions)]

    def check(self, keys: list[Key], read: Any) -> list[dict[str, Any]]:
        """Update the known percentages of ``keys`` and send the alerts they newly crossed (sync, off the hot path).
        Returns the alerts handed to the service in this call."""
        infos = [self.policy.budgets[k] for k in keys if k in self.policy.budgets]
        if not infos:
            return []
        values = read([i.spec.key for i in infos])
        fired: list[Alert] = []
        for info in infos:
            used, _reserved, _cap = values.get(info.spec.key, (0, 0, 0))
            limit_n = info.spec.limit * NANO
            pct = 100.0 * used / limit_n if limit_n else 0.0
            self.policy.pct[info.spec.key] = pct
            for threshold in crossed(pct, info.thresholds):
                if (info.spec.scope, info.spec.win, threshold) not in self._settled:
                    fired.append(_alert(info, threshold, pct, used))
        jobs = [self._submit(self._notify, alert, self._env_of(alert)) for alert in fired]
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + self.sweep_every
            jobs.append(self._submit(self.service.retry_due, self._resolve))
        wait(jobs, timeout=self.wait)
        return [a.body for a in fired]

    def _env_of(self, alert: Alert) -> str:
        return str(alert.body.get("environment") or "")

    def _notify(self, alert: Alert, environment: str) -> list[Outcome]:
        outcomes = self.service.notify(alert, self.channels(environment))
        if all(o.settled for o in outcomes):
            with self._lock:
                if len(self._settled) > 100_000:  # old windows: the ledger still knows them
                    self._settled.clear()
                self._settled.add((alert.scope, alert.window, alert.threshold))
        return outcomes

    def _resolve(self, delivery: Delivery) -> Channel | None:
        environment = str(delivery.payload.get("environment") or "")
        return next((c for c in self.channels(environment) if c.name == delivery.key.channel), None)

    def _submit(self, fn: Any, *args: Any) -> Future[Any]:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bedrockctl-alerts")
                weakref.finalize(self, self._pool.shutdown, wait=False)
        future = self._pool.submit(fn, *args)
        future.add_done_callback(_log_failure)
        return future


def _alert(info: BudgetInfo, threshold: float, pct: float, used: int) -> Alert:
    spec = info.spec
    body = {
        "type": "bedrockctl.budget_threshold",
        "budget": spec.label,
        "scope": spec.scope,
        "window": spec.win,
        "environment": info.environment,
        "threshold_pct": threshold,
        "spent_pct": round(pct, 3),
        "spent_usd": round(used / NANO, 6),
        "limit_usd": spec.limit,
        "hard_stop_pct": info.hard_stop_pct,
        "resets_at": errors.iso(spec.resets_at),
    }
    subject = f"bedrockctl budget alert: {spec.label} passed {threshold:g}%"
    return Alert(spec.scope, spec.win, threshold, subject, body)


def _log_failure(future: Future[Any]) -> None:
    exc = future.exception()
    if exc is not None:  # the claim stays until its lease runs out, then another check retries it
        log.error("budget alert delivery failed unexpectedly", exc_info=exc)
