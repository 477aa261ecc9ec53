"""``bedrockctl usage``: ingest invocation logs and CloudTrail, report who used which model, how much."""

from __future__ import annotations

import csv
import sys
from decimal import Decimal
from typing import Any

import typer

from bedrockctl.cli.output import STATE, err, print_json, print_table, want_json

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
"""


def fmt_cost(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    return str(value)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: fmt_cost(v) if isinstance(v, Decimal) else v for k, v in row.items()}


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
    since: str | None = typer.Option(None, "--since", help="Only records at or after this date (YYYY-MM-DD)."),
    full: bool = typer.Option(False, "--full", help="Ignore checkpoints and re-read everything (still deduplicated)."),
    json_out: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Ingest usage records incrementally; the same data ingested twice counts once. Bad records are reported."""
    from bedrockctl.extras import require

    require("analytics", feature="bedrockctl usage ingest")
    from bedrockctl.analytics.errors import UsageSourceError
    from bedrockctl.analytics.ingest import ingest
    from bedrockctl.analytics.store import UsageStore

    specs = [*invocation_logs, *cloudtrail]
    if not specs:
        raise UsageSourceError("nothing to ingest: give --invocation-logs SRC and/or --cloudtrail SRC")
    ctx = STATE.context()
    store = UsageStore.for_settings(ctx.settings)
    needs_aws = any(s.startswith(("s3://", "cloudwatch:", "lookup")) for s in specs)
    report = ingest(store, specs, sessions=ctx.sessions if needs_aws else None, since=since, full=full)
    data = report.to_dict()
    if want_json(json_out):
        print_json(data)
        return
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
        err.print(f"bad record {bad.origin}:{bad.line}: {bad.reason}", markup=False)
    if report.bad_records > 20:
        err.print(f"... {report.bad_records - 20} more bad records (see --json)", markup=False)


def load_report(by: str | None, days: int | None, since: str | None, until: str | None) -> Any:
    from bedrockctl.extras import require

    require("analytics", feature="usage reports")
    from bedrockctl.analytics.errors import NoUsageData
    from bedrockctl.analytics.reports import duckdb_runner, run_report
    from bedrockctl.analytics.store import UsageStore
    from bedrockctl.pricing import PriceBook

    ctx = STATE.context()
    store = UsageStore.for_settings(ctx.settings)
    if not store.has_data():
        raise NoUsageData(f"no usage data under {store.root}")
    con = store.connect()
    try:
        return run_report(
            duckdb_runner(con), by, days=days, since=since, until=until, book=PriceBook.load_for(ctx.settings)
        )
    finally:
        con.close()


@usage_app.command("report", epilog=REPORT_EPILOG)
def report_cmd(
    by: str = typer.Option("model", "--by", help="model|user|day|region|team|workflow|operation|tag:KEY[,...]"),
    days: int | None = typer.Option(None, "--days", help="The last N days (UTC, including today)."),
    since: str | None = typer.Option(None, "--since", help="Start date (inclusive)."),
    until: str | None = typer.Option(None, "--until", help="End date (inclusive)."),
    json_out: bool = typer.Option(False, "--json", help="JSON output."),
    csv_out: bool = typer.Option(False, "--csv", help="CSV output."),
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
    columns = [
        *rep.groups,
        "invocations",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "unique_users",
        "cost_usd",
    ]
    if want_json(json_out):
        data = rep.to_dict()
        data["rows"] = [_jsonable(r) for r in rep.rows]
        data["totals"] = _jsonable(rep.totals)
        print_json(data)
        return
    if csv_out:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(columns)
        for r in rep.rows:
            w.writerow(["" if r.get(c) is None else fmt_cost(r.get(c)) for c in columns])
        return
    rows = [
        [
            r.get(c) if c != "cost_usd" else fmt_cost(r[c]) + (" *" if r.get("unpriced_invocations") else "")
            for c in columns
        ]
        for r in rep.rows
    ]
    total_row = ["TOTAL"] + [""] * (len(rep.groups) - 1) if rep.groups else []
    rows.append([*total_row, *(fmt_cost(rep.totals[c]) for c in columns[len(rep.groups) :])])
    print_table(f"Usage by {', '.join(rep.groups) or 'total'}", columns, rows)
    for u in rep.unpriced:
        err.print(
            f"* unpriced: {u['model_id']} in {u['region']} ({u['invocations']} invocations) -- not in "
            "the price list, cost not counted",
            markup=False,
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
    ctx = STATE.context()
    runner = AthenaRunner(ctx.sessions.client("athena"), database=database, output_location=output, workgroup=workgroup)
    return run_report(runner, by, days=days, since=since, until=until, book=PriceBook.load_for(ctx.settings))


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
    json_out: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Archive usage reports (CSV and Parquet) to S3 with SSE-KMS and an optional lifecycle retention rule."""
    from bedrockctl.analytics.export import export_reports, parse_s3_url

    parse_s3_url(to)
    reports = [load_report(b, days, since, until) for b in by]
    ctx = STATE.context()
    res = export_reports(ctx.sessions.client("s3"), to, reports, kms_key=kms_key, retention_days=retention_days)
    if want_json(json_out):
        print_json(res.to_dict())
        return
    print_table(
        f"Exported to s3://{res.bucket}",
        ["key", "rows", "bytes"],
        [(o["key"], o["rows"], o["bytes"]) for o in res.objects],
    )
    if res.lifecycle_rule:
        err.print(f"lifecycle rule {res.lifecycle_rule['ID']}: expire after {retention_days} days", markup=False)


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
    json_out: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Put per-model and per-team tokens and cost into CloudWatch (PutMetricData, one datapoint per day)."""
    from bedrockctl.analytics.metrics import publish

    n_days = None if since else days
    reports = {key: load_report(f"day,{key}", n_days, since, until) for key in ("model", "tag:team")}
    ctx = STATE.context()
    res = publish(ctx.sessions.client("cloudwatch"), reports, namespace)
    if want_json(json_out):
        print_json(res)
        return
    err.print(
        f"published {res['metric_data']} metric data to {namespace} in {res['put_metric_data_calls']} calls",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(usage_app, name="usage")
