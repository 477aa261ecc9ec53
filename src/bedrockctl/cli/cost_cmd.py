"""``bedrockctl cost``: estimated Bedrock cost from ingested usage and the price catalog, with bar charts."""

from __future__ import annotations

import re
from typing import Any

import typer

from bedrockctl.cli.money import money, money_column
from bedrockctl.cli.output import Col, current, emit, print_table

cost_app = typer.Typer(help="Estimated cost from ingested usage and the price catalog.")

COST_EPILOG = """Examples:

  bedrockctl cost --period 7d

  bedrockctl cost --period 30d --by model,tag:workflow

  bedrockctl cost --period 2026-11-01:2026-11-30 --by user --json

  bedrockctl cost --by user --output text --query 'rows[].[user,cost_usd]'
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
) -> None:
    """Cost per group with totals and a bar chart; unpriced models are flagged, never silently zero."""
    if ctx.invoked_subcommand is not None:
        return
    from bedrockctl.analytics.reports import METRICS
    from bedrockctl.cli.usage_cmd import load_report

    days, since, until = parse_period(period)
    rep = load_report(by, days, since, until)
    emit(rep.to_dict(), table=lambda _: render(rep), records="rows", columns=[*rep.groups, *METRICS])


def render(rep: Any) -> None:
    from rich.text import Text

    cli = current()
    total = rep.totals["cost_usd"]
    costs = money_column([*(r["cost_usd"] for r in rep.rows), total])
    width = 10  # the bar: 10% of the total per block, so the table stays narrow
    rows = []
    for r, cost in zip(rep.rows, costs, strict=False):
        share = float(r["cost_usd"] / total) if total else 0.0
        flag = Text(" unpriced", style="yellow") if r.get("unpriced_invocations") else ""
        tokens = f"{r['input_tokens']:,}/{r['output_tokens']:,}/{r['cache_read_tokens']:,}/{r['cache_write_tokens']:,}"
        rows.append(
            [
                *[str(r.get(g)) if r.get(g) is not None else "(none)" for g in rep.groups],
                f"{r['invocations']:,}",
                tokens,
                Text.assemble(cost, flag),
                Text.assemble(("█" * round(share * width), "cyan"), f" {share:.0%}"),
            ]
        )
    print_table(
        f"Estimated cost by {', '.join(rep.groups) or 'total'}  "
        f"({rep.period['since'] or '…'} → {rep.period['until'] or '…'})",
        [
            *map(Col, rep.groups),
            Col("invocations", right=True),
            Col("tokens (in/out/cache r/w)", drop=1, right=True),
            Col("cost USD", right=True),
            Col("share"),
        ],
        rows,
    )
    t = rep.totals
    cli.out.print(
        Text.assemble(
            ("Total", "bold"),
            f" {costs[-1]} USD over {t['invocations']:,} invocations, {t['unique_users']} users "
            f"(prices: {rep.price_list.get('as_of')})",
        )
    )
    for u in rep.unpriced:
        cli.err.print(
            f"unpriced: {u['model_id']} in {u['region']} ({u['invocations']} invocations) -- cost not counted"
        )


RECONCILE_EPILOG = """Examples:

  bedrockctl cost reconcile --month 2026-11

  bedrockctl cost reconcile --month 2026-10 --json

  bedrockctl cost reconcile --month 2026-11 --cur s3://billing-exports/bedrock-cur2/data/

  bedrockctl cost reconcile --month 2026-11 --cur ./cur2-export/ --output json --query 'gaps[?cause!=`rounding`]'
"""


@cost_app.command("reconcile", epilog=RECONCILE_EPILOG)
def reconcile_cmd(
    month: str = typer.Option(..., "--month", help="The month to reconcile (YYYY-MM)."),
    cur: str | None = typer.Option(
        None, "--cur", help="A CUR 2.0 export (Parquet or CSV): s3://bucket/prefix, a folder or a file."
    ),
    tolerance: str = typer.Option(
        "0.0001", "--tolerance", help="USD per day/Region/model/dimension taken as rounding."
    ),
) -> None:
    """Our estimate vs the bill: Cost Explorer by usage type, or a CUR 2.0 export joined by day, usage type and model
    with each gap's likely cause and a calibration factor per model."""
    from bedrockctl.analytics.reconcile import reconcile
    from bedrockctl.analytics.store import UsageStore
    from bedrockctl.aws.errors import aws_errors
    from bedrockctl.pricing import PriceBook

    ctx = current().app()
    if cur is not None:
        from bedrockctl.analytics.reconcile import reconcile_with_cur

        s3 = ctx.sessions.client("s3", ctx.settings.aws.region or "us-east-1") if cur.startswith("s3://") else None
        data = reconcile_with_cur(
            month,
            cur,
            store=UsageStore.for_settings(ctx.settings),
            book=PriceBook.load_for(ctx.settings),
            s3=s3,
            tolerance=tolerance,
        )
        emit(data, table=_cur_table, records="gaps")
        return
    with aws_errors(service="ce", operation="GetCostAndUsage"):
        rec = reconcile(
            month,
            store=UsageStore.for_settings(ctx.settings),
            ce=ctx.sessions.client("ce", "us-east-1"),
            book=PriceBook.load_for(ctx.settings),
        )
    emit(rec.to_dict(), table=_reconcile_table, records="by_usage_type")


def _reconcile_table(data: dict[str, Any]) -> None:
    from rich.text import Text

    out = current().out
    print_table(
        f"Cost Explorer, Bedrock services, {data['month']}",
        [
            Col("service", drop=1),
            "usage type",
            Col("category", drop=2),
            Col("quantity", right=True),
            Col("cost USD", money=True),
        ],
        [(r["service"], r["usage_type"], r["category"], r["quantity"], r["cost_usd"]) for r in data["by_usage_type"]],
    )
    ex = data["explained"]
    out.print(
        Text.assemble(
            ("Estimate", "bold"), f" {money(data['estimate_usd'])} USD  ",
            ("Actual", "bold"), f" {money(data['actual_usd'])} USD  ",
            ("Gap", "bold"), f" {money(data['gap_usd'])} USD",
            f" ({data['gap_pct']}%)" if data["gap_pct"] is not None else "",
        )
    )  # fmt: skip
    cov = data["log_coverage"]
    lines = [
        f"token usage: estimate {money(ex['token_usage']['estimate_usd'])} vs billed "
        f"{money(ex['token_usage']['actual_usd'])} USD",
        f"log coverage: {cov['calls_without_logs']} calls in CloudTrail without invocation logs "
        f"(~{money(ex['log_coverage_usd'])} USD) on "
        + (", ".join(f"{g['day']} {g['region']}" for g in cov["days_regions"][:10]) or "no day"),
        f"unpriced models: {ex['unpriced_invocations']} invocations not priced",
        f"provisioned throughput: {money(ex['provisioned_throughput']['cost_usd'])} USD "
        f"({ex['provisioned_throughput']['hours']} model-unit hours)",
        f"other usage types: {money(ex['other_usage_types_usd'])} USD",
        f"residual: {money(ex['residual_usd'])} USD",
    ]
    for line in lines:
        out.print("  " + line)


def _cur_table(data: dict[str, Any]) -> None:
    from rich.text import Text

    out = current().out
    print_table(
        f"Bill (CUR 2.0) vs estimate, Bedrock, {data['month']}: gaps by day, Region, model and dimension",
        [
            Col("day"),
            Col("region"),
            Col("model", drop=3),
            Col("dimension", drop=4),
            Col("bill USD", money=True),
            Col("estimate USD", money=True, drop=2),
            Col("gap USD", money=True),
            Col("cause"),
        ],
        [
            (
                g["day"],
                g["region"],
                g["model"],
                g["dimension"],
                g["bill_usd"],
                g["estimate_usd"],
                g["gap_usd"],
                g["cause"],
            )
            for g in data["gaps"]
            if g["cause"] != "rounding"
        ],
    )
    out.print(
        Text.assemble(
            ("Bill", "bold"), f" {money(data['bill_usd'])} USD  ",
            ("Estimate", "bold"), f" {money(data['estimate_usd'])} USD  ",
            ("Gap", "bold"), f" {money(data['gap_usd'])} USD  ",
            ("Unexplained", "bold"), f" {money(data['unexplained_usd'])} USD",
        )
    )  # fmt: skip
    for cause, usd in data["causes"].items():
        out.print(f"  {cause}: {money(usd)} USD")
    for region in data["regions_without_logs"]:
        out.print(f"  invocation logging off in {region}: the bill has Bedrock usage there, the logs none")
    for c in data["calibration"]:
        out.print(f"  calibration {c['model']}: x{c['factor'] if c['factor'] is not None else '-'}")


def register(app: typer.Typer) -> None:
    app.add_typer(cost_app, name="cost")
