"""``bedrockctl budget``: environment budgets -- status (estimate, Cost Explorer actual, forecast) and sync to AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from bedrockctl.cli.money import money
from bedrockctl.cli.output import Col, current, emit, print_table

budget_app = typer.Typer(help="Environment budgets: month-to-date status and AWS Budgets sync.", no_args_is_help=True)

STATUS_EPILOG = """Examples:

  bedrockctl budget status

  bedrockctl budget status --alert --json

  bedrockctl budget status --no-cost-explorer --as-of 2026-11-20

  bedrockctl budget status --output text --query 'environments[].[environment,pct_used]'
"""
SYNC_EPILOG = """Examples:

  bedrockctl budget sync --dry-run

  bedrockctl budget sync --json
"""


def _environments(ctx: Any) -> dict[str, Any]:
    from bedrockctl.errors import ConfigError

    envs = ctx.settings.environments
    if not envs:
        raise ConfigError(
            "no environments configured",
            remediation="Add [environments.<name>] with monthly_budget_usd and alert_thresholds to bedrockctl.toml.",
        )
    return dict(envs)


def _as_of(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    from bedrockctl.analytics.errors import ReportSpecError

    try:
        day = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ReportSpecError(f"bad --as-of {value!r}: use YYYY-MM-DD") from exc
    return day + timedelta(days=1) - timedelta(seconds=1) if len(value) == 10 else day


@budget_app.command("status", epilog=STATUS_EPILOG)
def status_cmd(
    cost_explorer: bool = typer.Option(
        True, "--cost-explorer/--no-cost-explorer", help="Ask Cost Explorer for the actual spend and forecast."
    ),
    alert: bool = typer.Option(
        False, "--alert", help="Send crossed thresholds (once per threshold per month and channel, with retries)."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Status at the end of this day (YYYY-MM-DD)."),
) -> None:
    """Per environment: limit, month-to-date spend (our estimate and Cost Explorer's actual), % used, thresholds
    crossed, the forecast to month end, and the alerts of the month (sent, failed, retrying)."""
    from bedrockctl.analytics.budgets import budget_status
    from bedrockctl.analytics.store import UsageStore
    from bedrockctl.paths import data_dir
    from bedrockctl.pricing import PriceBook
    from bedrockctl.services.budget_alerts import alert_report

    ctx = current().app()
    envs = _environments(ctx)
    ce = ctx.sessions.client("ce", "us-east-1") if cost_explorer else None
    status = budget_status(
        envs,
        store=UsageStore.for_settings(ctx.settings),
        ce=ce,
        book=PriceBook.load_for(ctx.settings),
        now=_as_of(as_of),
    )
    data = status.to_dict()
    data.update(alert_report(status, ctx.settings, ctx.sessions, send=alert, legacy_dir=data_dir(ctx.settings)))
    emit(data, table=lambda d: _status_table(d, cost_explorer), records="environments")


def _status_table(data: dict[str, Any], cost_explorer: bool) -> None:
    cli = current()
    rows = []
    for e in data["environments"]:
        pct = "-" if e["pct_used"] is None else f"{e['pct_used']:.1f}%"
        crossed = ", ".join(f"{t:g}%" for t in e["crossed"]) or "-"
        if e["hard_stop_reached"]:
            crossed += " [HARD STOP]"
        fpct = "" if e["forecast_pct"] is None else f" ({e['forecast_pct']:.0f}%)"
        rows.append(
            (
                e["environment"],
                e["limit_usd"],
                e["estimate_usd"],
                e["actual_usd"],
                pct,
                crossed,
                f"{money(e['forecast_usd'])}{fpct} {e['forecast_source']}",
            )
        )
    print_table(
        f"Budgets {data['period']} (as of {data['as_of']} UTC)",
        [
            "environment",
            Col("limit USD", money=True),
            Col("estimate USD", money=True),
            Col("actual USD (CE)", money=True),
            Col("used", right=True),
            Col("thresholds crossed", drop=1),
            Col("forecast", drop=2),
        ],
        rows,
    )
    ce_info = data["cost_explorer"]
    if ce_info.get("available"):
        total, untagged = money(ce_info["total_usd"]), money(ce_info["untagged_usd"])
        cli.out.print(f"Cost Explorer Bedrock total {total} USD, untagged {untagged} USD")
    elif cost_explorer:
        cli.err.print(f"Cost Explorer unavailable: {ce_info.get('error', '')}")
    for a in data.get("alerts_sent", []):
        cli.out.print(f"alert sent via {a['channel']}: {a['environment']} passed {a['threshold_pct']:g}%")
    for a in data.get("alerts_failed", []):
        cli.err.print(
            f"alert NOT sent via {a['channel']}: {a['environment']} passed {a['threshold_pct']:g}% "
            f"({a['attempts']} attempts: {a['error']}); retried on the next run"
        )
    if data["alerts"]:
        print_table(
            f"Alerts {data['period']}",
            [
                "environment",
                Col("window", drop=2),
                "threshold",
                "channel",
                "status",
                Col("attempts", drop=3),
                Col("time", drop=1),
                Col("last error", drop=4, prose=True),
            ],
            [
                (
                    a["environment"] or a["scope"],
                    a["window"],
                    f"{a['threshold_pct']:g}%",
                    a["channel"],
                    a["status"] + (" (retrying)" if a["next_attempt_at"] else ""),
                    a["attempts"],
                    a["time"],
                    a["last_error"] or "-",
                )
                for a in data["alerts"]
            ],
        )


@budget_app.command("sync", epilog=SYNC_EPILOG)
def sync_cmd(
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change, change nothing."),
    prefix: str = typer.Option("bedrockctl-", "--prefix", help="Budget name prefix."),
) -> None:
    """Create or update one AWS Budget per environment (Service = Amazon Bedrock) with a notification at each
    threshold to the environment's alert_emails / alert_sns_topic. Idempotent."""
    from bedrockctl.aws.errors import translate
    from bedrockctl.services.budgets import sync_budgets

    ctx = current().app()
    envs = _environments(ctx)
    try:
        account = ctx.sessions.identity().account
        results = sync_budgets(
            ctx.sessions.client("budgets", "us-east-1"), account, envs, prefix=prefix, dry_run=dry_run
        )
    except Exception as exc:
        raise translate(exc, service="budgets") from exc

    def table(_: Any) -> None:
        print_table(
            "AWS Budgets" + (" (dry run)" if dry_run else ""),
            ["environment", "budget", "action", "changes"],
            [(r.environment, r.budget_name, r.action, "; ".join(r.changes) or "-") for r in results],
        )

    data = {"account_id": account, "dry_run": dry_run, "budgets": [r.to_dict() for r in results]}
    emit(data, table=table, records="budgets")


BACKSTOP_EPILOG = """Examples:

  bedrockctl budget backstop --dry-run

  bedrockctl budget backstop --as-of 2026-11-20T12:00:00 --output json
"""
RELEASE_EPILOG = """Examples:

  bedrockctl budget release --dry-run

  bedrockctl budget release --env prod --principal arn:aws:sts::123456789012:assumed-role/batch/nightly
"""


def _clock(value: str | None) -> Any:
    if not value:
        return None
    from bedrockctl.analytics.errors import ReportSpecError

    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ReportSpecError(f"bad --as-of {value!r}: use YYYY-MM-DDTHH:MM:SS (UTC)") from exc
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return lambda: moment


@budget_app.command("backstop", epilog=BACKSTOP_EPILOG)
def backstop_cmd(
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the IAM calls it would make; change nothing."),
    as_of: str | None = typer.Option(None, "--as-of", help="Evaluate at this moment (UTC ISO time)."),
) -> None:
    """Evaluate every budget over the gateway's and the ingested usage now (what the scheduled budgets job does):
    lift denials whose window ended, and act on the principals whose direct usage tripped a budget
    (backstop_action: alert, or deny bedrock:Invoke* until the window ends)."""
    from bedrockctl.services.jobs import backstop_for
    from bedrockctl.store.gateway import open_engine

    ctx = current().app()
    engine = open_engine(ctx.settings)
    try:
        result = backstop_for(ctx.settings, engine, ctx.sessions, clock=_clock(as_of)).evaluate(dry_run=dry_run)
    finally:
        engine.dispose()
    emit(result.to_dict(), table=_backstop_table, records="budgets")


def _backstop_table(data: dict[str, Any]) -> None:
    cli = current()
    print_table(
        f"Budgets over all usage (as of {data['as_of']})" + (" (dry run)" if data["dry_run"] else ""),
        [
            "environment",
            "window",
            Col("limit USD", money=True),
            Col("gateway USD", money=True, drop=2),
            Col("direct USD", money=True),
            Col("used", right=True),
            "tripped",
            Col("action", drop=1),
        ],
        [
            (
                b["environment"],
                b["window"],
                b["limit_usd"],
                b["gateway_usd"],
                b["direct_usd"],
                f"{b['pct_used']:.1f}%",
                "yes" if b["tripped"] else "-",
                b["action"],
            )
            for b in data["budgets"]
        ],
    )
    _print_calls(cli, data["released"], "lift", data["dry_run"])
    _print_calls(cli, data["actions"], "act", data["dry_run"])


def _print_calls(cli: Any, items: list[dict[str, Any]], verb: str, dry_run: bool) -> None:
    for item in items:
        what = item.get("action", "release")
        cli.out.print(
            f"{'would ' if dry_run else ''}{verb}: {item['environment']} {item['window']} {item['principal']}"
            f" ({what})" + (f" FAILED: {item['error']}" if item.get("error") else "")
        )
        for command in item["commands"]:
            cli.out.print(f"  {command}", soft_wrap=True, markup=False, highlight=False)


@budget_app.command("release", epilog=RELEASE_EPILOG)
def release_cmd(
    env: str | None = typer.Option(None, "--env", help="Only the denials of this environment."),
    principal: str | None = typer.Option(None, "--principal", help="Only the denial of this principal ARN."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the IAM calls it would make; change nothing."),
) -> None:
    """Lift the budget backstop's deny policies now (all, or those of --env / --principal), before their window
    ends; a principal released by hand is not denied again in the same window."""
    from bedrockctl.services.backstop import release_matching
    from bedrockctl.services.jobs import backstop_for
    from bedrockctl.store.gateway import open_engine

    ctx = current().app()
    engine = open_engine(ctx.settings)
    try:
        released = release_matching(
            backstop_for(ctx.settings, engine, ctx.sessions), environment=env, principal=principal, dry_run=dry_run
        )
    finally:
        engine.dispose()
    data = {"dry_run": dry_run, "released": released}
    emit(data, table=lambda d: _release_table(d["released"], dry_run), records="released")


def _release_table(released: list[dict[str, Any]], dry_run: bool) -> None:
    if not released:
        current().out.print("No backstop denial in force.")
    _print_calls(current(), released, "lift", dry_run)


def register(app: typer.Typer) -> None:
    app.add_typer(budget_app, name="budget")
