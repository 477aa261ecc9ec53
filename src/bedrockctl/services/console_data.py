"""What the console shows, scoped to the actor: gateway keys (own ones for members), spend against budget,
usage reports (own usage for members), alerts and the audit trail. Access is checked here, not in the routes.
"""

from __future__ import annotations

import builtins
import calendar
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bedrockctl.errors import ValidationFailed
from bedrockctl.services.users import Actor, NotFound, PermissionDenied, log_event
from bedrockctl.store.alerts import AlertLedger
from bedrockctl.store.audit import query, spend_by
from bedrockctl.store.console import console_budgets, console_events


def month_start(now: float | None = None) -> float:
    g = time.gmtime(time.time() if now is None else now)
    return float(calendar.timegm((g.tm_year, g.tm_mon, 1, 0, 0, 0)))


# -- gateway keys ---------------------------------------------------------------------------------------------
class KeyAccess:
    """The gateway's ``KeyStore`` seen by one actor: members create, list and revoke only their own keys (bound to
    their user name and team); admins manage every key."""

    def __init__(self, keystore: Any, engine: Any) -> None:
        self.keys = keystore
        self.engine = engine

    def list(self, actor: Actor) -> builtins.list[dict[str, Any]]:
        recs = self.keys.list()
        return [r.public() for r in recs if actor.is_admin or r.user == actor.username][::-1]

    def get(self, actor: Actor, key_id: str) -> dict[str, Any]:
        rec = self.keys.get(key_id)
        if rec is None or not (actor.is_admin or rec.user == actor.username):
            raise NotFound(f"no gateway key {key_id!r}")
        out: dict[str, Any] = rec.public()
        return out

    def create(
        self,
        actor: Actor,
        *,
        environment: str,
        name: str = "",
        user: str | None = None,
        team: str | None = None,
        limits: dict[str, float] | None = None,
        allowed_models: builtins.list[str] | None = None,
        expires_in_days: float | None = None,
    ) -> dict[str, Any]:
        if not actor.is_admin and ((user and user != actor.username) or (team and team != actor.team)):
            raise PermissionDenied("Members create keys for themselves and their own team only")
        if not environment:
            raise ValidationFailed("a key needs an environment")
        try:
            out: dict[str, Any] = self.keys.create(
                user=(user or actor.username) if actor.is_admin else actor.username,
                team=(team or actor.team) if actor.is_admin else actor.team,
                environment=environment,
                name=name,
                limits=limits,
                allowed_models=allowed_models,
                expires_in=expires_in_days * 86400 if expires_in_days else None,
            )
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from exc
        with self.engine.begin() as conn:
            log_event(conn, actor, "key.create", out["key_id"], out["user"], f"environment={environment}")
        return out

    def revoke(self, actor: Actor, key_id: str) -> dict[str, Any]:
        current = self.get(actor, key_id)  # raises NotFound for keys that are not the actor's
        rec = self.keys.revoke(key_id)
        with self.engine.begin() as conn:
            log_event(conn, actor, "key.revoke", key_id, current["user"])
        out: dict[str, Any] = rec.public()
        return out


# -- budgets --------------------------------------------------------------------------------------------------
@dataclass
class BudgetRow:
    scope: str
    name: str
    monthly_budget_usd: float | None
    daily_budget_usd: float | None
    alert_thresholds: list[float]
    hard_stop_pct: float
    spent_usd: float
    overridden: bool

    @property
    def pct(self) -> float | None:
        if not self.monthly_budget_usd:
            return None
        return 100.0 * self.spent_usd / self.monthly_budget_usd

    @property
    def state(self) -> str:
        pct = self.pct
        if pct is None:
            return "no budget"
        if pct >= self.hard_stop_pct:
            return "stopped"
        if self.alert_thresholds and pct >= min(self.alert_thresholds):
            return "warning"
        return "ok"


def overrides(engine: Any) -> dict[tuple[str, str], dict[str, Any]]:
    with engine.connect() as conn:
        return {(r.scope, r.name): dict(r._mapping) for r in conn.execute(console_budgets.select())}


def budget_status(settings: Any, engine: Any, now: float | None = None) -> list[BudgetRow]:
    """Environments (and the gateway's team/user budgets) with their month-to-date spend; console overrides win."""
    since = month_start(now)
    ov = overrides(engine)
    rows: list[BudgetRow] = []
    spent = {"environment": spend_by(engine, "environment", since), "team": spend_by(engine, "team", since)}
    spent["user"] = spend_by(engine, "user_name", since)
    seen: set[tuple[str, str]] = set()
    for env in settings.environments.values():
        base = {
            "monthly_budget_usd": env.monthly_budget_usd,
            "daily_budget_usd": env.daily_budget_usd,
            "alert_thresholds": list(env.alert_thresholds),
            "hard_stop_pct": env.hard_stop_pct,
        }
        rows.append(_row("environment", env.name, base, ov, spent))
        seen.add(("environment", env.name))
    gw = dict(getattr(settings, "gateway", {}) or {})
    for scope, section in (("team", "teams"), ("user", "users")):
        for name, body in (gw.get(section) or {}).items():
            body = body or {}
            base = {
                "monthly_budget_usd": body.get("monthly_budget_usd"),
                "daily_budget_usd": body.get("daily_budget_usd"),
                "alert_thresholds": [50.0, 80.0],
                "hard_stop_pct": 100.0,
            }
            rows.append(_row(scope, str(name), base, ov, spent))
            seen.add((scope, str(name)))
    for (scope, name), _ in sorted(ov.items()):
        if (scope, name) not in seen:
            rows.append(_row(scope, name, {"alert_thresholds": [50.0, 80.0], "hard_stop_pct": 100.0}, ov, spent))
    return rows


def _row(
    scope: str, name: str, base: dict[str, Any], ov: dict[Any, Any], spent: dict[str, dict[str, float]]
) -> BudgetRow:
    o = ov.get((scope, name))
    merged = dict(base)
    if o:
        for k in ("monthly_budget_usd", "daily_budget_usd", "alert_thresholds", "hard_stop_pct"):
            if o.get(k) is not None:
                merged[k] = o[k]
    return BudgetRow(
        scope,
        name,
        _f(merged.get("monthly_budget_usd")),
        _f(merged.get("daily_budget_usd")),
        [float(x) for x in merged.get("alert_thresholds") or []],
        float(merged.get("hard_stop_pct") or 100.0),
        round(spent.get(scope, {}).get(name, 0.0), 6),
        o is not None,
    )


def _f(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def set_budget(
    engine: Any,
    actor: Actor,
    scope: str,
    name: str,
    *,
    monthly_budget_usd: float | None,
    daily_budget_usd: float | None,
    alert_thresholds: list[float],
    hard_stop_pct: float,
) -> None:
    if not actor.is_admin:
        raise PermissionDenied("Only administrators change budgets")
    if scope not in ("environment", "team", "user") or not name:
        raise ValidationFailed("a budget needs a scope (environment, team, user) and a name")
    for v in (monthly_budget_usd, daily_budget_usd):
        if v is not None and v < 0:
            raise ValidationFailed("budgets are non-negative amounts in USD")
    if any(not 0 < t <= 1000 for t in alert_thresholds) or not 0 < hard_stop_pct <= 1000:
        raise ValidationFailed("thresholds and the hard stop are percentages between 0 and 1000")
    values = {
        "monthly_budget_usd": monthly_budget_usd,
        "daily_budget_usd": daily_budget_usd,
        "alert_thresholds": sorted(alert_thresholds),
        "hard_stop_pct": hard_stop_pct,
        "updated_at": time.time(),
        "updated_by": actor.username,
    }
    with engine.begin() as conn:
        done = conn.execute(
            console_budgets.update()
            .where(console_budgets.c.scope == scope, console_budgets.c.name == name)
            .values(**values)
        )
        if done.rowcount == 0:
            conn.execute(console_budgets.insert().values(scope=scope, name=name, **values))
        log_event(conn, actor, "budget.set", f"{scope}:{name}", None, repr(values))


def apply_budget_overrides(settings: Any, engine: Any) -> None:
    """Fold the console's budget edits into ``settings`` (environments and ``gateway.teams/users``) so a gateway
    built afterwards enforces them."""
    from bedrockctl.settings import EnvironmentSettings

    for (scope, name), o in overrides(engine).items():
        fields = {k: o[k] for k in ("monthly_budget_usd", "daily_budget_usd") if o.get(k) is not None}
        if scope == "environment":
            env = settings.environments.get(name) or EnvironmentSettings(name=name)
            for k, v in fields.items():
                setattr(env, k, v)
            if o.get("alert_thresholds"):
                env.alert_thresholds = list(o["alert_thresholds"])
            if o.get("hard_stop_pct"):
                env.hard_stop_pct = float(o["hard_stop_pct"])
            settings.environments[name] = env
        else:
            section = settings.gateway.setdefault("teams" if scope == "team" else "users", {})
            section[name] = {**(section.get(name) or {}), **fields}


# -- alerts, top spenders, audit ------------------------------------------------------------------------------
def recent_alerts(engine: Any, limit: int = 20) -> list[dict[str, Any]]:
    """The latest budget alert deliveries (gateway and ``budget status --alert``) with their outcome."""
    return [d.public() for d in AlertLedger(engine).recent(limit)]


def top(engine: Any, actor: Actor, column: str, since: float, limit: int = 5) -> list[tuple[str, float]]:
    data = spend_by(engine, column, since, user=None if actor.is_admin else actor.username)
    return sorted(data.items(), key=lambda kv: -kv[1])[:limit]


def audit_rows(engine: Any, actor: Actor, *, limit: int = 100, user: str | None = None) -> list[dict[str, Any]]:
    if user is not None and not actor.is_admin and user != actor.username:
        raise PermissionDenied("Members see only their own audit records")
    who = user if actor.is_admin else actor.username
    return [r.public() for r in query(engine, user=who, limit=limit)][::-1]


def console_event_rows(engine: Any, actor: Actor, limit: int = 100) -> list[dict[str, Any]]:
    q = console_events.select().order_by(console_events.c.id.desc()).limit(limit)
    if not actor.is_admin:
        q = q.where(sa.or_(console_events.c.actor == actor.username, console_events.c.owner == actor.username))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


# -- usage reports --------------------------------------------------------------------------------------------
def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def usage_report(
    settings: Any,
    actor: Actor,
    *,
    by: str = "model",
    days: int | None = 30,
    since: str | None = None,
    until: str | None = None,
    user: str | None = None,
) -> Any:
    """The analytics report over the local usage store; members (and admins asking for ``user``) see only the
    records attributable to that user (gateway records carry the user; AWS identities match by name)."""
    from bedrockctl.analytics.reports import Report, duckdb_runner, run_report
    from bedrockctl.analytics.store import UsageStore
    from bedrockctl.analytics.store_sql import INVOCATIONS_VIEW
    from bedrockctl.pricing import PriceBook

    if user and not actor.is_admin and user != actor.username:
        raise PermissionDenied("Members see only their own usage")
    who = user or (None if actor.is_admin else actor.username)
    store = UsageStore.for_settings(settings)
    if not store.has_data():
        return Report(groups=[by], rows=[], totals={}, period={"since": since, "until": until})
    con = store.connect()
    try:
        if who is not None:
            con.execute(INVOCATIONS_VIEW.replace("TEMP VIEW invocations AS", "TEMP VIEW invocations_all AS"))
            q = _quote(who)
            con.execute(
                "CREATE OR REPLACE TEMP VIEW invocations AS SELECT * FROM invocations_all "  # noqa: S608 - quoted
                f"WHERE principal = {q} OR principal = {_quote('user/' + who)} "
                f"OR json_extract_string(tags, '$.user') = {q}"
            )
        return run_report(
            duckdb_runner(con), by, days=days, since=since, until=until, book=PriceBook.load_for(settings)
        )
    finally:
        con.close()
