"""``bedrockctl jobs``: the scheduled jobs of ``bedrockctl serve`` (discovery, ingest, budgets) and their runs."""

from __future__ import annotations

from typing import Any

import typer

from bedrockctl.cli.output import Col, current, emit, print_table

EPILOG = """Examples:

  bedrockctl jobs

  bedrockctl jobs --job budgets --limit 5 --output json

  bedrockctl jobs --run ingest

  bedrockctl jobs --output text --query 'runs[?status==`failed`].[job,started,error]'
"""


def jobs(
    job: str | None = typer.Option(None, "--job", help="Only this job: discovery, ingest or budgets."),
    limit: int = typer.Option(20, "--limit", min=1, help="The most recent N runs."),
    run: str | None = typer.Option(
        None,
        "--run",
        help="Run this job once now (recorded like a scheduled run; refused while one is running; exit 1 if it fails).",
    ),
) -> None:
    """The scheduled jobs of serve (discovery, ingest, budgets): schedule, runs (start, end, outcome, figures) and
    the budget backstop's denials in force."""
    from bedrockctl.services.backstop import actions
    from bedrockctl.services.jobs import configured_jobs, job_runs, run_once
    from bedrockctl.store.gateway import open_engine

    ctx = current().app()
    engine = open_engine(ctx.settings)
    try:
        ran = run_once(ctx.settings, engine, ctx.sessions, run) if run else None
        data: dict[str, Any] = {
            "schedule": [{"job": j.name, "interval_s": j.interval} for j in configured_jobs(ctx.settings, None, None)],
            "runs": job_runs(engine, job=job or run, limit=limit),
            "backstop": actions(engine, status="active"),
        }
        if ran is not None:
            data["ran"] = ran
    finally:
        engine.dispose()
    if ran is not None and ran["status"] != "ok":
        from bedrockctl.services.errors import JobFailed

        raise JobFailed(f"job {ran['job']} failed (run {ran['id']}): {ran['error']}", details={"run": ran})
    emit(data, table=_table, records="runs")


def _table(data: dict[str, Any]) -> None:
    cli = current()
    if data["schedule"]:
        cli.out.print("Schedule: " + ", ".join(f"{s['job']} every {s['interval_s']} s" for s in data["schedule"]))
    else:
        cli.out.print("Schedule: no job has an interval ([jobs] in the config)")
    print_table(
        "Job runs",
        [
            "id",
            "job",
            "status",
            Col("started", drop=1),
            Col("seconds", drop=3, right=True),
            Col("holder", drop=4),
            Col("figures / error", drop=2, prose=True),
        ],
        [
            (r["id"], r["job"], r["status"], r["started"], r["seconds"], r["holder"], r["error"] or r["figures"])
            for r in data["runs"]
        ],
    )
    if data["backstop"]:
        print_table(
            "Backstop denials in force",
            ["environment", "window", "principal", Col("spent USD", money=True), Col("until", drop=1)],
            [(a["environment"], a["window"], a["principal"], a["spent_usd"], a["expires"]) for a in data["backstop"]],
        )


def register(app: typer.Typer) -> None:
    app.command("jobs", epilog=EPILOG)(jobs)
