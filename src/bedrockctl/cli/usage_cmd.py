"""``bedrockctl usage``: ingest invocation logs and CloudTrail, report who used which model, how much."""

from __future__ import annotations

from typing import Any

import typer

from bedrockctl.cli.money import money_column
from bedrockctl.cli.output import Col, current, emit, print_table

usage_app = typer.Typer(
    help="Usage analytics: ingest logs and CloudTrail, report by model, user, day, tag.", no_args_is_help=True
)

INGEST_EPILOG = """Examples:

  bedrockctl usage ingest --invocation-logs ./logs --cloudtrail ./trail

  bedrockctl usage ingest --invocation-logs s3://my-logs/AWSLogs/ --cloudtrail lookup --since 2026-11-01

  bedrockctl usage ingest --invocation-logs cloudwatch:/aws/bedrock/invocations --json
"""
REPORT_EPILOG = """Examples:

  bedrockctl usage report --by model --days 7

  bedrockctl usage report --by user,tag:workflow --since 2026-11-01 --until 2026-11-30 --csv

  bedrockctl usage report --by day --json

  bedrockctl usage report --by model --output text --query 'rows[].[model,cost_usd]'
"""


@usage_app.command("ingest", epilog=INGEST_EPILOG)
def ingest_cmd(
    invocation_logs: list[str] = typer.Option(
        [], "--invocation-logs", help="File, directory, s3://bucket/prefix or cloudwatch:LOG_GROUP (repeatable)."
    ),
    cloudtrail: list[str] = typer.Option(
        [],
        "--cloudtrail",
        help="Trail files/directory, s3://bucket/prefix or `lookup` / `lookup:REGION` (LookupEvents) (repeatable).",
    ),
    batch_output: list[str] = typer.Option(
        [],
        "--batch-output",
        help="Batch inference job output: a directory or s3://bucket/prefix holding job folders "
        "(manifest.json.out, *.jsonl.out and the job's job.json) (repeatable).",
    ),
    since: str | None = typer.Option(None, "--since", help="Only records at or after this date (YYYY-MM-DD)."),
    full: bool = typer.Option(False, "--full", help="Ignore checkpoints and re-read everything (still deduplicated)."),
) -> None:
    """Ingest usage records incrementally; the same data ingested twice counts once. Bad records are reported."""
    from bedrockctl.extras import require

    require("analytics", feature="bedrockctl usage ingest")
    from bedrockctl.analytics.errors import UsageSourceError
    from bedrockctl.analytics.ingest import ingest
    from bedrockctl.analytics.store import UsageStore

    specs = [*invocation_logs, *cloudtrail, *(f"batch:{b}" for b in batch_output)]
    if not specs:
        raise UsageSourceError(
            "nothing to ingest: give --invocation-logs SRC, --cloudtrail SRC and/or --batch-output SRC"
        )
    ctx = current().app()
    store = UsageStore.for_settings(ctx.settings)
    needs_aws = any(s.removeprefix("batch:").startswith(("s3://", "cloudwatch:", "lookup")) for s in specs)
    report = ingest(store, specs, sessions=ctx.sessions if needs_aws else None, since=since, full=full)
    emit(report.to_dict(), table=lambda _: _ingest_table(report))


def _ingest_table(report: Any) -> None:
    err = current().err
    print_table(
        "Usage ingest",
        [
            "sources read",
            "skipped (unchanged)",
            "records",
            "new invocations",
            "new CloudTrail events",
            "duplicates",
            "bad",
        ],
        [
            (
                report.units_read,
                report.units_skipped,
                report.records_seen,
                report.new_invocations,
                report.new_trail_events,
                report.duplicates,
                report.bad_records,
            )
        ],
    )
    for bad in report.bad[:20]:
        err.print(f"bad record {bad.origin}:{bad.line}: {bad.reason}")
    if report.bad_records > 20:
        err.print(f"... {report.bad_records - 20} more bad records (see --output json)")


def load_report(by: str | None, days: int | None, since: str | None, until: str | None) -> Any:
    from bedrockctl.extras import require

    require("analytics", feature="usage reports")
    from bedrockctl.analytics.errors import NoUsageData
    from bedrockctl.analytics.reports import duckdb_runner, run_report
    from bedrockctl.analytics.store import UsageStore
    from bedrockctl.pricing import PriceBook

    ctx = current().app()
    store = UsageStore.for_settings(ctx.settings)
    if not store.has_data():
        raise NoUsageData(f"no usage data under {store.root}")
    con = store.connect()
    try:
        return run_report(
            duckdb_runner(con),
            by,
            days=days,
            since=since,
            until=until,
            book=PriceBook.load_for(ctx.settings),
            profiles=_profiles(ctx),
        )
    finally:
        con.close()


@usage_app.command("report", epilog=REPORT_EPILOG)
def report_cmd(
    by: str = typer.Option(
        "model", "--by", help="model|user|principal|key|environment|day|region|team|workflow|operation|tag:KEY[,...]"
    ),
    days: int | None = typer.Option(None, "--days", help="The last N days (UTC, including today)."),
    since: str | None = typer.Option(None, "--since", help="Start date (inclusive)."),
    until: str | None = typer.Option(None, "--until", help="End date (inclusive)."),
    engine: str = typer.Option("local", "--engine", help="local (DuckDB over the ingested ledger) or athena."),
    athena_database: str | None = typer.Option(None, "--athena-database", help="Glue database (--engine athena)."),
    athena_output: str | None = typer.Option(None, "--athena-output", help="s3:// query result location."),
    athena_workgroup: str = typer.Option("primary", "--athena-workgroup", help="Athena workgroup."),
) -> None:
    """Invocations, tokens (with prompt-cache reads/writes), unique users and estimated cost per group."""
    if engine == "athena":
        rep = athena_report(by, days, since, until, athena_database, athena_output, athena_workgroup)
    elif engine == "local":
        rep = load_report(by, days, since, until)
    else:
        from bedrockctl.analytics.errors import ReportSpecError

        raise ReportSpecError(f"unknown --engine {engine!r}: use local or athena")
    from bedrockctl.analytics.reports import METRICS

    columns = [*rep.groups, *METRICS]
    emit(rep.to_dict(), table=lambda _: _report_table(rep), records="rows", columns=columns)


def _report_table(rep: Any) -> None:
    from bedrockctl.analytics.reports import METRICS

    figures = [  # ids (the groups) and money stay; token figures go first when the table does not fit
        Col("invocations", right=True),
        Col("input", drop=2, right=True),
        Col("output", drop=1, right=True),
        Col("cache read", drop=3, right=True),
        Col("cache write", drop=4, right=True),
        Col("users", drop=5, right=True),
        Col("cost USD", right=True),
    ]
    rows: list[list[Any]] = [[r.get(g) for g in rep.groups] + [r.get(f) for f in METRICS] for r in rep.rows]
    total_label = ["TOTAL"] + [""] * (len(rep.groups) - 1) if rep.groups else []
    rows.append([*total_label, *(rep.totals.get(f) for f in METRICS)])
    costs = money_column(row[-1] for row in rows)
    flags = [" *" if r.get("unpriced_invocations") else "" for r in rep.rows] + [""]
    for row, cost, flag in zip(rows, costs, flags, strict=True):
        row[-1] = cost + flag
    print_table(f"Usage by {', '.join(rep.groups) or 'total'}", [*map(Col, rep.groups), *figures], rows)
    for u in rep.unpriced:
        current().err.print(
            f"* unpriced: {u['model_id']} in {u['region']} ({u['invocations']} invocations) -- not in "
            "the price list, cost not counted"
        )


def athena_report(
    by: str | None,
    days: int | None,
    since: str | None,
    until: str | None,
    database: str | None,
    output: str | None,
    workgroup: str = "primary",
) -> Any:
    """The same report on Amazon Athena (the ``invocations`` view over the S3 invocation-log table)."""
    from bedrockctl.analytics.athena import AthenaRunner
    from bedrockctl.analytics.errors import ReportSpecError
    from bedrockctl.analytics.reports import run_report
    from bedrockctl.pricing import PriceBook

    if not database:
        raise ReportSpecError("--engine athena needs --athena-database (the Glue database with the invocations view)")
    if output and not output.startswith("s3://"):
        raise ReportSpecError(f"bad --athena-output {output!r}: use s3://bucket/prefix/")
    ctx = current().app()
    runner = AthenaRunner(ctx.sessions.client("athena"), database=database, output_location=output, workgroup=workgroup)
    book = PriceBook.load_for(ctx.settings)
    return run_report(runner, by, days=days, since=since, until=until, book=book, profiles=_profiles(ctx))


def _profiles(ctx: Any) -> Any:
    """Application inference profile ARNs in the logs are priced through the model they route to."""
    from bedrockctl.aws.inference_profiles import ProfileResolver

    return ProfileResolver(lambda region: ctx.sessions.client("bedrock", region))


EXPORT_EPILOG = """Examples:

  bedrockctl usage export --to s3://archive/bedrock-usage --kms-key alias/usage --retention-days 400

  bedrockctl usage export --to s3://archive/usage --by model --by user,tag:team --days 30 --json
"""


@usage_app.command("export", epilog=EXPORT_EPILOG)
def export_cmd(
    to: str = typer.Option(..., "--to", help="s3://bucket/prefix"),
    kms_key: str | None = typer.Option(None, "--kms-key", help="KMS key id, ARN or alias (default: aws/s3)."),
    retention_days: int | None = typer.Option(None, "--retention-days", help="Expire exported objects after N days."),
    by: list[str] = typer.Option(["model", "user", "day"], "--by", help="One report per --by (repeatable)."),
    days: int | None = typer.Option(None, "--days", help="The last N days."),
    since: str | None = typer.Option(None, "--since", help="Start date (inclusive)."),
    until: str | None = typer.Option(None, "--until", help="End date (inclusive)."),
) -> None:
    """Archive usage reports (CSV and Parquet) to S3 with SSE-KMS and an optional lifecycle retention rule."""
    from bedrockctl.analytics.export import export_reports, parse_s3_url

    parse_s3_url(to)
    reports = [load_report(b, days, since, until) for b in by]
    ctx = current().app()
    res = export_reports(ctx.sessions.client("s3"), to, reports, kms_key=kms_key, retention_days=retention_days)

    def table(_: Any) -> None:
        print_table(
            f"Exported to s3://{res.bucket}",
            ["key", Col("rows", right=True), Col("bytes", right=True)],
            [(o["key"], o["rows"], o["bytes"]) for o in res.objects],
        )
        if res.lifecycle_rule:
            current().err.print(f"lifecycle rule {res.lifecycle_rule['ID']}: expire after {retention_days} days")

    emit(res.to_dict(), table=table, records="objects")


PUBLISH_EPILOG = """Examples:

  bedrockctl usage publish-metrics

  bedrockctl usage publish-metrics --namespace Team/Bedrock --since 2026-11-01 --until 2026-11-07 --json
"""


@usage_app.command("publish-metrics", epilog=PUBLISH_EPILOG)
def publish_metrics_cmd(
    namespace: str = typer.Option("Bedrockctl/Usage", "--namespace", help="CloudWatch namespace."),
    days: int = typer.Option(1, "--days", help="Publish the last N days (one datapoint per day)."),
    since: str | None = typer.Option(None, "--since", help="Start date (inclusive; overrides --days)."),
    until: str | None = typer.Option(None, "--until", help="End date (inclusive)."),
) -> None:
    """Put per-model and per-team tokens and cost into CloudWatch (PutMetricData, one datapoint per day)."""
    from bedrockctl.analytics.metrics import publish

    n_days = None if since else days
    reports = {key: load_report(f"day,{key}", n_days, since, until) for key in ("model", "tag:team")}
    ctx = current().app()
    res = publish(ctx.sessions.client("cloudwatch"), reports, namespace)

    def table(_: Any) -> None:
        current().err.print(
            f"published {res['metric_data']} metric data to {namespace} in {res['put_metric_data_calls']} calls"
        )

    emit(res, table=table)


def register(app: typer.Typer) -> None:
    app.add_typer(usage_app, name="usage")
