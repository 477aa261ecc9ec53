"""Budget evaluation over all usage, and the backstop for traffic outside the gateway.

Per environment and budget window (the month for ``monthly_budget_usd``, the day for ``daily_budget_usd``), the spend
is the gateway's (its audit trail, ``gateway_audit.cost_nusd``) plus the direct usage in the ingested ledger: records
not made through the gateway (no ``gateway_user`` tag: the gateway's own calls are counted by its audit), billed to
the environment by their ``environment`` / ``env`` tag or, untagged, by the caller matching one of the environment's
``principals`` patterns. When the spend reaches the environment's ``hard_stop_pct`` and some of it is direct, each
principal with direct spend in the window is acted on once (``backstop_actions``): an alert (``backstop_action =
"alert"``, the default), or a deny policy for ``bedrock:Invoke*`` (``"deny"``, see ``backstop_iam``) that is lifted
at the start of the next window (``release_expired``, run first by every evaluation) or by ``budget release``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from bedrockctl.alerts import Alert, AlertService, LogChannel, channels_for
from bedrockctl.errors import BedrockctlError
from bedrockctl.pricing import PriceBook
from bedrockctl.services.backstop_iam import IamCall, deny_calls, perform, release_calls
from bedrockctl.settings import EnvironmentSettings
from bedrockctl.store.alerts import AlertLedger
from bedrockctl.store.backstop import ACTIVE, ALERTED, FAILED, BackstopLedger
from bedrockctl.store.gateway import gateway_audit

NANO = Decimal(1_000_000_000)
ENV_TAGS = ("environment", "env")


@dataclass(frozen=True)
class Window:
    id: str  # m2026-12 / d2026-12-05 (the gateway's window ids)
    start: datetime
    end: datetime  # exclusive; the deny expires here
    limit_usd: Decimal


def windows(env: EnvironmentSettings, now: datetime) -> list[Window]:
    now = now.astimezone(UTC)
    out = []
    if env.monthly_budget_usd is not None:
        start = datetime(now.year, now.month, 1, tzinfo=UTC)
        end = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
        out.append(Window(f"m{start:%Y-%m}", start, end, Decimal(str(env.monthly_budget_usd))))
    if env.daily_budget_usd is not None:
        start = datetime(now.year, now.month, now.day, tzinfo=UTC)
        out.append(Window(f"d{start:%Y-%m-%d}", start, start + timedelta(days=1), Decimal(str(env.daily_budget_usd))))
    return out


@dataclass
class Evaluation:
    as_of: str
    dry_run: bool
    budgets: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    released: list[dict[str, Any]] = field(default_factory=list)
    ledger_available: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    def figures(self) -> dict[str, Any]:
        """What a scheduled run records."""
        return {
            "budgets": len(self.budgets),
            "tripped": sum(1 for b in self.budgets if b["tripped"]),
            "actions": len(self.actions),
            "released": len(self.released),
            "ledger": self.ledger_available,
        }


# -- spend ----------------------------------------------------------------------------------------------------
def gateway_spend(engine: Any, environment: str, window: Window, now: datetime) -> Decimal:
    t = gateway_audit
    end = min(window.end, now.astimezone(UTC))
    q = sa.select(sa.func.coalesce(sa.func.sum(t.c.cost_nusd), 0)).where(
        t.c.environment == environment, t.c.ts >= window.start.timestamp(), t.c.ts < end.timestamp()
    )
    with engine.connect() as conn:
        return Decimal(int(conn.execute(q).scalar() or 0)) / NANO


def direct_spend(usage_store: Any, window: Window, now: datetime, book: PriceBook) -> list[dict[str, Any]] | None:
    """Per (environment tag, caller) the cost of the window's direct usage in the ledger; None without a ledger."""
    from bedrockctl.analytics.reports import duckdb_runner, run_report

    if usage_store is None or not usage_store.has_data():
        return None
    last_day = min(now.astimezone(UTC).date(), (window.end - timedelta(days=1)).date())
    if last_day < window.start.date():
        return []
    con = usage_store.connect()
    try:
        rep = run_report(
            duckdb_runner(con),
            "tag:environment,tag:env,tag:gateway_user,identity",
            since=window.start.date().isoformat(),
            until=last_day.isoformat(),
            book=book,
        )
    finally:
        con.close()
    return [
        {
            "environment": next((r[f"tag:{k}"] for k in ENV_TAGS if r.get(f"tag:{k}")), None),
            "principal": r["identity"],
            "cost_usd": r["cost_usd"],
            "invocations": r["invocations"],
        }
        for r in rep.rows
        if not r.get("tag:gateway_user") and r.get("identity")
    ]


def billed_to(env: EnvironmentSettings, row: dict[str, Any]) -> bool:
    if row["environment"]:
        return bool(row["environment"] == env.name)
    return any(fnmatch.fnmatchcase(str(row["principal"]), p) for p in env.principals)


# -- evaluation -----------------------------------------------------------------------------------------------
class Backstop:
    def __init__(
        self,
        settings: Any,
        engine: Any,
        *,
        sessions: Any = None,
        usage_store: Any = None,
        book: PriceBook | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions = sessions
        self.usage_store = usage_store
        self.book = book or PriceBook.load_for(settings)
        self.clock = clock
        self.ledger = BackstopLedger(engine, clock=lambda: self.clock().timestamp())

    def iam(self) -> Any:
        return self.sessions.client("iam")

    def evaluate(self, *, dry_run: bool = False) -> Evaluation:
        now = self.clock()
        out = Evaluation(now.isoformat(timespec="seconds"), dry_run)
        out.released = self.release(lambda a: a.expires_at <= now.timestamp(), by="window-end", dry_run=dry_run)
        for name, env in sorted(self.settings.environments.items()):
            for window in windows(env, now):
                rows = direct_spend(self.usage_store, window, now, self.book)
                out.ledger_available = out.ledger_available or rows is not None
                mine = [r for r in rows or [] if billed_to(env, r)]
                by_principal: dict[str, Decimal] = {}
                for r in mine:
                    by_principal[r["principal"]] = by_principal.get(r["principal"], Decimal(0)) + r["cost_usd"]
                gateway = gateway_spend(self.engine, name, window, now)
                direct = sum(by_principal.values(), Decimal(0))
                total = gateway + direct
                pct = float(total / window.limit_usd * 100) if window.limit_usd else (100.0 if total else 0.0)
                tripped = pct >= env.hard_stop_pct and direct > 0
                out.budgets.append(
                    {
                        "environment": name,
                        "window": window.id,
                        "limit_usd": _money(window.limit_usd),
                        "gateway_usd": _money(gateway),
                        "direct_usd": _money(direct),
                        "spent_usd": _money(total),
                        "pct_used": round(pct, 3),
                        "hard_stop_pct": env.hard_stop_pct,
                        "tripped": tripped,
                        "action": env.backstop_action,
                    }
                )
                if tripped:
                    principals = sorted((p for p, c in by_principal.items() if c > 0), key=lambda p: -by_principal[p])
                    for principal in principals:
                        act = self._act(env, window, principal, by_principal[principal], total, dry_run=dry_run)
                        if act is not None:
                            out.actions.append(act)
        return out

    def _act(
        self, env: EnvironmentSettings, window: Window, principal: str, spent: Decimal, total: Decimal, *, dry_run: bool
    ) -> dict[str, Any] | None:
        if self.ledger.exists(env.name, window.id, principal):
            return None  # acted on already in this window (or released by hand: not again until the next one)
        calls: list[IamCall] = []
        error = None
        if env.backstop_action == "deny":
            try:
                calls = deny_calls(env.name, window.id, principal, window.end)
            except BedrockctlError as exc:
                error = exc.message
        act: dict[str, Any] = {
            "environment": env.name,
            "window": window.id,
            "principal": principal,
            "action": env.backstop_action,
            "spent_usd": _money(spent),
            "expires": window.end.isoformat(),
            "calls": [c.public() for c in calls],
            "commands": [c.cli() for c in calls],
            "error": error,
        }
        if dry_run:
            return act
        status = ACTIVE if calls else (FAILED if error else ALERTED)
        action_id = self.ledger.record(
            env.name,
            window.id,
            principal,
            action=env.backstop_action,
            status=status,
            spent_usd=act["spent_usd"],
            calls=act["calls"],
            expires_at=window.end.timestamp(),
            error=error,
        )
        if action_id is None:
            return None  # another replica acted first
        act["id"] = action_id
        if calls:
            try:
                perform(self.iam(), calls)
            except BedrockctlError as exc:
                act["error"] = exc.message
                self.ledger.note(action_id, error=exc.message, status=FAILED)
        self._alert(env, window, principal, act, total)
        return act

    def _alert(
        self, env: EnvironmentSettings, window: Window, principal: str, act: dict[str, Any], total: Decimal
    ) -> None:
        denied = act["action"] == "deny" and not act["error"]
        subject = f"bedrockctl backstop: {env.name} budget reached; {principal} " + (
            "denied bedrock:Invoke*" if denied else "calls Bedrock outside the gateway"
        )
        body = {
            "type": "bedrockctl.budget_backstop",
            "environment": env.name,
            "window": window.id,
            "principal": principal,
            "action": act["action"],
            "denied": denied,
            "principal_spent_usd": act["spent_usd"],
            "spent_usd": _money(total),
            "limit_usd": _money(window.limit_usd),
            "until": act["expires"],
            "error": act["error"],
        }
        scope = f"backstop:{env.name}:{principal}"[:300]
        alert = Alert(scope, window.id, float(env.hard_stop_pct), subject, body)
        gateway = dict(getattr(self.settings, "gateway", {}) or {})
        AlertService(AlertLedger(self.engine)).notify(alert, [*channels_for(env, gateway, self.sessions), LogChannel()])

    # -- release --------------------------------------------------------------------------------------------
    def release(self, which: Callable[[Any], bool], *, by: str, dry_run: bool = False) -> list[dict[str, Any]]:
        """Lift the active denials ``which`` selects: delete their policies, record it."""
        out = []
        for action in self.ledger.list(status=ACTIVE, limit=None):
            if not which(action):
                continue
            calls = release_calls(action.calls)
            item: dict[str, Any] = {
                "id": action.id,
                "environment": action.environment,
                "window": action.window,
                "principal": action.principal_arn,
                "calls": [c.public() for c in calls],
                "commands": [c.cli() for c in calls],
                "error": None,
            }
            if not dry_run:
                try:
                    perform(self.iam(), calls)
                except BedrockctlError as exc:
                    item["error"] = exc.message
                    self.ledger.note(action.id, error=exc.message)
                else:
                    self.ledger.mark_released(action.id, by, [*action.calls, *item["calls"]])
            out.append(item)
        return out


def release_matching(
    backstop: Backstop, *, environment: str | None, principal: str | None, dry_run: bool
) -> list[dict[str, Any]]:
    """``budget release``: lift active denials now (all, or of one environment / principal)."""

    def which(action: Any) -> bool:
        return (environment is None or action.environment == environment) and (
            principal is None or action.principal_arn == principal
        )

    return backstop.release(which, by="command", dry_run=dry_run)


def actions(engine: Any, *, status: str | None = None, limit: int | None = 100) -> list[dict[str, Any]]:
    return [a.public() for a in BackstopLedger(engine).list(status=status, limit=limit)]


def _money(v: Decimal) -> str:
    return format(v.quantize(Decimal("0.000001")).normalize(), "f") if v else "0"
