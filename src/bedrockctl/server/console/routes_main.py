"""Overview, Inventory, Usage (with CSV), Budgets, Doctor and the Audit log."""

from __future__ import annotations

import csv
import io
import time
from decimal import Decimal
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bedrockctl.errors import BedrockctlError, ValidationFailed
from bedrockctl.server.console.core import actor_of, console_of, form_of, is_htmx, page, redirect
from bedrockctl.services import console_data as data

USAGE_DIMENSIONS = ("model", "user", "team", "day", "region", "operation", "source", "account")


def _inventory(request: Request) -> Any:
    from bedrockctl.store.inventory import InventoryRepo

    return InventoryRepo(console_of(request).engine)


@page()
async def overview(request: Request) -> Response:
    con = console_of(request)
    me = actor_of(request)
    since = data.month_start()
    budgets = data.budget_status(con.settings, con.engine)
    envs = [b for b in budgets if b.scope == "environment"]
    chart = {
        "labels": [b.name for b in envs],
        "spent": [round(b.spent_usd, 4) for b in envs],
        "budget": [b.monthly_budget_usd or 0 for b in envs],
    }
    assets = _inventory(request).list_assets(with_data=False)
    by_type: dict[str, int] = {}
    for a in assets:
        by_type[a["asset_type"]] = by_type.get(a["asset_type"], 0) + 1
    return con.render(
        request,
        "overview.html",
        active="overview",
        budgets=envs,
        chart=chart,
        top_models=data.top(con.engine, me, "model_served", since),
        top_users=data.top(con.engine, me, "user_name", since),
        top_teams=data.top(con.engine, me, "team", since),
        alerts=data.recent_alerts(con.engine) if me.is_admin else [],
        warnings=[b for b in budgets if b.state in ("warning", "stopped")] if me.is_admin else [],
        asset_counts=sorted(by_type.items()),
        month=time.strftime("%B %Y", time.gmtime(since)),
        idle=None,
    )


@page(admin=True)
async def idle_capacity(request: Request) -> Response:
    """Provisioned throughput and SageMaker endpoints without invocations (CloudWatch, the server's credentials)."""
    from bedrockctl.plugins.scan import AccountTarget
    from bedrockctl.services.inventory import find_idle, resolve_regions

    con = console_of(request)
    form = await form_of(request)
    sessions = con.ctx.sessions

    def run() -> list[dict[str, Any]]:
        regions = resolve_regions(form.get("regions") or None, sessions.region)
        return find_idle(
            [AccountTarget(sessions.identity().account, sessions)], regions, days=int(form.get("days") or 7)
        )

    try:
        rows = await run_in_threadpool(run)
        error = ""
    except BedrockctlError as exc:
        rows, error = [], f"{exc.code}: {exc.message} — {exc.remediation}"
    return con.render(
        request, "_idle.html" if is_htmx(request) else "idle.html", idle=rows, error=error, active="overview"
    )


@page()
async def inventory(request: Request) -> Response:
    con = console_of(request)
    q = request.query_params
    repo = _inventory(request)
    everything = repo.list_assets(with_data=False)
    types = sorted({a["asset_type"] for a in everything})
    current = q.get("type") or (types[0] if types else "")
    search = (q.get("q") or "").strip().lower()
    region = q.get("region") or ""
    rows = [a for a in everything if a["asset_type"] == current and (not region or a["region"] == region)]
    if search:
        rows = [a for a in rows if search in " ".join(str(a.get(k) or "") for k in ("asset_id", "name", "arn")).lower()]
    counts = {t: sum(1 for a in everything if a["asset_type"] == t) for t in types}
    ctx = {
        "active": "inventory",
        "types": types,
        "counts": counts,
        "current": current,
        "rows": rows[:500],
        "total": len(rows),
        "search": q.get("q") or "",
        "region": region,
        "regions": sorted({a["region"] for a in everything}),
        "scans": repo.scans(5),
    }
    if is_htmx(request) and request.headers.get("hx-target") == "inventory-panel":
        return con.render(request, "_inventory_panel.html", **ctx)
    return con.render(request, "inventory.html", **ctx)


@page()
async def asset_detail(request: Request) -> Response:
    import json

    con = console_of(request)
    key = request.path_params["asset_key"]
    rows = [r for r in _inventory(request).get_asset(key) if r["asset_key"] == key]
    if not rows:
        return con.render(request, "error.html", 404, title="Not found", message="No such asset.")
    asset = rows[0]
    return con.render(
        request,
        "asset.html",
        active="inventory",
        asset=asset,
        data_json=json.dumps(asset.get("data") or {}, indent=2, sort_keys=True, default=str),
    )


def _usage_args(request: Request) -> dict[str, Any]:
    q = request.query_params
    by = q.get("by") or "model"
    if by not in USAGE_DIMENSIONS:
        raise ValidationFailed(f"unknown group-by {by!r}", remediation=f"Use one of {', '.join(USAGE_DIMENSIONS)}.")
    days_raw = q.get("days") or ("" if q.get("since") else "30")
    return {
        "by": by,
        "days": int(days_raw) if days_raw.isdigit() else None,
        "since": q.get("since") or None,
        "until": q.get("until") or None,
        "user": q.get("user") or None,
    }


def _plain(v: Any) -> Any:
    return float(v) if isinstance(v, Decimal) else v


@page()
async def usage(request: Request) -> Response:
    con = console_of(request)
    args = _usage_args(request)
    rep = await run_in_threadpool(lambda: data.usage_report(con.settings, actor_of(request), **args))
    rows = [{k: _plain(v) for k, v in r.items()} for r in rep.rows]
    chart = {
        "labels": [str(r.get(args["by"])) for r in rows[:20]],
        "cost": [r.get("cost_usd", 0) for r in rows[:20]],
        "invocations": [r.get("invocations", 0) for r in rows[:20]],
    }
    return con.render(
        request,
        "usage.html",
        active="usage",
        rows=rows,
        totals={k: _plain(v) for k, v in rep.totals.items()},
        args=args,
        dimensions=USAGE_DIMENSIONS,
        chart=chart,
        query=request.url.query,
        unpriced=rep.unpriced,
    )


@page()
async def usage_csv(request: Request) -> Response:
    con = console_of(request)
    args = _usage_args(request)
    rep = await run_in_threadpool(lambda: data.usage_report(con.settings, actor_of(request), **args))
    cols = [
        args["by"],
        "invocations",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "unique_users",
        "cost_usd",
    ]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rep.rows:
        w.writerow(["" if r.get(c) is None else r.get(c) for c in cols])
    return Response(
        buf.getvalue(),
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="usage-by-{args["by"]}.csv"',
            "Cache-Control": "no-store",
        },
    )


@page()
async def budgets(request: Request) -> Response:
    con = console_of(request)
    return con.render(
        request,
        "budgets.html",
        active="budgets",
        budgets=data.budget_status(con.settings, con.engine),
        month=time.strftime("%B %Y", time.gmtime(data.month_start())),
        error="",
    )


def _opt(value: str | None) -> float | None:
    value = (value or "").strip()
    return float(value) if value else None


@page(admin=True)
async def save_budget(request: Request) -> Response:
    con = console_of(request)
    form = await form_of(request)
    try:
        thresholds = [float(x.strip().rstrip("%")) for x in form.get("alert_thresholds", "").split(",") if x.strip()]
        data.set_budget(
            con.engine,
            actor_of(request),
            form.get("scope", "environment"),
            form.get("name", "").strip(),
            monthly_budget_usd=_opt(form.get("monthly_budget_usd")),
            daily_budget_usd=_opt(form.get("daily_budget_usd")),
            alert_thresholds=thresholds,
            hard_stop_pct=_opt(form.get("hard_stop_pct")) or 100.0,
        )
    except ValueError:
        raise ValidationFailed("budgets, thresholds and the hard stop must be numbers") from None
    return redirect("/budgets", f"Budget {form.get('scope')}:{form.get('name')} saved.")


@page()
async def doctor_page(request: Request) -> Response:
    con = console_of(request)
    me = actor_of(request)
    return con.render(request, "doctor.html", active="doctor", report=None, creds=con.creds.list(me, owner_id=me.id))


@page()
async def doctor_run(request: Request) -> Response:
    from bedrockctl.services.doctor import runner
    from bedrockctl.services.doctor.model import DoctorOptions

    con = console_of(request)
    me = actor_of(request)
    form = await form_of(request)
    region = form.get("region", "").strip() or None
    cred = form.get("credential_id", "").strip()
    options = DoctorOptions(region=region, deadline=45.0)
    if cred:
        sessions = con.creds.sessions_for(me, int(cred), region=region)
    elif me.is_admin:
        sessions = runner.make_sessions(options, con.settings.aws)
    else:
        raise ValidationFailed("pick one of your credentials", remediation="Add one on the Credentials page first.")
    report = await run_in_threadpool(lambda: runner.run(options, sessions=sessions))
    return con.render(
        request,
        "_doctor_report.html" if is_htmx(request) else "doctor.html",
        active="doctor",
        report=report.to_dict(),
        creds=con.creds.list(me, owner_id=me.id),
    )


@page()
async def audit(request: Request) -> Response:
    con = console_of(request)
    me = actor_of(request)
    user = request.query_params.get("user") or None
    return con.render(
        request,
        "audit.html",
        active="audit",
        rows=data.audit_rows(con.engine, me, user=user, limit=200),
        events=data.console_event_rows(con.engine, me),
        filter_user=user or "",
    )


ROUTES = [
    Route("/", overview, methods=["GET"]),
    Route("/overview/idle", idle_capacity, methods=["POST"]),
    Route("/inventory", inventory, methods=["GET"]),
    Route("/inventory/asset/{asset_key:str}", asset_detail, methods=["GET"]),
    Route("/usage", usage, methods=["GET"]),
    Route("/usage.csv", usage_csv, methods=["GET"]),
    Route("/budgets", budgets, methods=["GET"]),
    Route("/budgets", save_budget, methods=["POST"]),
    Route("/doctor", doctor_page, methods=["GET"]),
    Route("/doctor/run", doctor_run, methods=["POST"]),
    Route("/audit", audit, methods=["GET"]),
]
