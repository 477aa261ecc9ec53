"""``bedrockctl cost``: estimated Bedrock cost from ingested usage and the price catalog, with bar charts."""

from __future__ import annotations

import re
from typing import Any

import typer

from bedrockctl.cli.output import err, out, print_json, want_json

cost_app = typer.Typer(help="Estimated cost from ingested usage and the price catalog.")

COST_EPILOG = """Examples:

  bedrockctl cost --period 7d

  bedrockctl cost --period 30d --by model,tag:workflow

  bedrockctl cost --period 2026-11-01:2026-11-30 --by user --json
"""


def parse_period(value: str) -> tuple[int | None, str | None, str | None]:
    """``7d`` / ``24h``-less day counts, or ``SINCE:UNTIL`` dates."""
    from bedrockctl.analytics.errors import ReportSpecError

    m = re.fullmatch(r"(\d+)d", value.strip())
    if m:
        return int(m.group(1)), None, None
    if ":" in value:
        since, _, until = value.partition(":")
        return None, since or None, until or None
    raise ReportSpecError(f"bad --period {value!r}: use Nd (e.g. 7d) or YYYY-MM-DD:YYYY-MM-DD")


@cost_app.callback(invoke_without_command=True, epilog=COST_EPILOG)
def cost(
    ctx: typer.Context,
    period: str = typer.Option("7d", "--period", help="Nd (last N days) or SINCE:UNTIL dates."),
    by: str = typer.Option("model", "--by", help="Group keys: model,user,day,region,team,workflow,tag:KEY..."),
    json_out: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Cost per group with totals and a bar chart; unpriced models are flagged, never silently zero."""
    if ctx.invoked_subcommand is not None:
        return
    from bedrockctl.cli.usage_cmd import _jsonable, fmt_cost, load_report

    days, since, until = parse_period(period)
    rep = load_report(by, days, since, until)
    if want_json(json_out):
        print_json(
            {
                "period": rep.period,
                "group_by": rep.groups,
                "totals": _jsonable(rep.totals),
                "rows": [_jsonable(r) for r in rep.rows],
                "unpriced": rep.unpriced,
                "price_list": rep.price_list,
            }
        )
        return
    render(rep, fmt_cost)


def render(rep: Any, fmt_cost: Any) -> None:
    from rich.table import Table

    total = rep.totals["cost_usd"]
    table = Table(
        title=f"Estimated cost by {', '.join(rep.groups) or 'total'}  "
        f"({rep.period['since'] or '…'} → {rep.period['until'] or '…'})",
        title_justify="left",
    )
    for g in rep.groups:
        table.add_column(g)
    table.add_column("invocations", justify="right")
    table.add_column("tokens (in/out/cache r/w)", justify="right")
    table.add_column("cost USD", justify="right")
    table.add_column("share")
    width = 30
    for r in rep.rows:
        share = float(r["cost_usd"] / total) if total else 0.0
        bar = "█" * round(share * width)
        flag = " [yellow]unpriced[/]" if r.get("unpriced_invocations") else ""
        tokens = f"{r['input_tokens']:,}/{r['output_tokens']:,}/{r['cache_read_tokens']:,}/{r['cache_write_tokens']:,}"
        table.add_row(
            *[str(r.get(g)) if r.get(g) is not None else "(none)" for g in rep.groups],
            f"{r['invocations']:,}",
            tokens,
            f"{fmt_cost(r['cost_usd'])}{flag}",
            f"[cyan]{bar}[/] {share:.0%}",
        )
    out.print(table)
    t = rep.totals
    out.print(
        f"[bold]Total[/] {fmt_cost(total)} USD over {t['invocations']:,} invocations, "
        f"{t['unique_users']} users (prices: {rep.price_list.get('as_of')})"
    )
    for u in rep.unpriced:
        err.print(
            f"unpriced: {u['model_id']} in {u['region']} ({u['invocations']} invocations) -- cost not counted",
            markup=False,
        )


RECONCILE_EPILOG = """Examples:

  bedrockctl cost reconcile --month 2026-11

  bedrockctl cost reconcile --month 2026-10 --json
"""


@cost_app.command("reconcile", epilog=RECONCILE_EPILOG)
def reconcile_cmd(
    month: str = typer.Option(..., "--month", help="The month to reconcile (YYYY-MM)."),
    json_out: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Our estimate vs Cost Explorer's Bedrock cost by usage type, and the gap explained."""
    from bedrockctl.analytics.reconcile import reconcile
    from bedrockctl.analytics.store import UsageStore
    from bedrockctl.aws.errors import aws_errors
    from bedrockctl.cli.output import STATE, print_table
    from bedrockctl.pricing import PriceBook

    ctx = STATE.context()
    with aws_errors(service="ce", operation="GetCostAndUsage"):
        rec = reconcile(
            month,
            store=UsageStore.for_settings(ctx.settings),
            ce=ctx.sessions.client("ce", "us-east-1"),
            book=PriceBook.load_for(ctx.settings),
        )
    data = rec.to_dict()
    if want_json(json_out):
        print_json(data)
        return
    print_table(
        f"Cost Explorer, Bedrock services, {data['month']}",
        ["service", "usage type", "category", "quantity", "cost USD"],
        [(r["service"], r["usage_type"], r["category"], r["quantity"], r["cost_usd"]) for r in data["by_usage_type"]],
    )
    ex = data["explained"]
    out.print(
        f"[bold]Estimate[/] {data['estimate_usd']} USD  [bold]Actual[/] {data['actual_usd']} USD  "
        f"[bold]Gap[/] {data['gap_usd']} USD" + (f" ({data['gap_pct']}%)" if data["gap_pct"] is not None else "")
    )
    cov = data["log_coverage"]
    lines = [
        f"token usage: estimate {ex['token_usage']['estimate_usd']} vs billed {ex['token_usage']['actual_usd']} USD",
        f"log coverage: {cov['calls_without_logs']} calls in CloudTrail without invocation logs "
        f"(~{ex['log_coverage_usd']} USD) on "
        + (", ".join(f"{g['day']} {g['region']}" for g in cov["days_regions"][:10]) or "no day"),
        f"unpriced models: {ex['unpriced_invocations']} invocations not priced",
        f"provisioned throughput: {ex['provisioned_throughput']['cost_usd']} USD "
        f"({ex['provisioned_throughput']['hours']} model-unit hours)",
        f"other usage types: {ex['other_usage_types_usd']} USD",
        f"residual: {ex['residual_usd']} USD",
    ]
    for line in lines:
        out.print("  " + line, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(cost_app, name="cost")
