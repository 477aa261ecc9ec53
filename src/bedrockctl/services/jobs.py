"""The scheduled jobs (``[jobs]`` in the config, docs/jobs.md): discovery, ingest and budgets, what each run records,
and the alert of a failing job (once per failure streak, through the one alert service).

- ``discovery``: the inventory scan of ``bedrockctl discover`` (default plugins, ``jobs.discovery_regions`` or the
  configured Region) into the inventory store;
- ``ingest``: ``bedrockctl usage ingest`` of ``jobs.ingest_sources`` (paths, ``s3://``, ``cloudwatch:``,
  ``lookup``) into the usage ledger, incrementally;
- ``budgets``: budget evaluation over the gateway's and the ingested usage, with the backstop (``backstop.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bedrockctl.alerts import Alert, AlertService, LogChannel, channels_for
from bedrockctl.services.errors import JobBusy, UnknownJob
from bedrockctl.services.scheduler import Job, Scheduler, holder_id
from bedrockctl.store.alerts import AlertLedger
from bedrockctl.store.jobs import JobStore

JOB_NAMES = ("discovery", "ingest", "budgets")


def run_discovery(settings: Any, sessions: Any) -> dict[str, Any]:
    from bedrockctl.paths import default_store_url
    from bedrockctl.services.inventory import discover
    from bedrockctl.store import Store
    from bedrockctl.store.gateway import store_schema

    store = Store(default_store_url(settings), schema=store_schema(settings))
    try:
        regions = settings.jobs.discovery_regions or None
        out = discover(sessions, regions=regions, store=store)
    finally:
        store.close()
    return {
        "assets": out["asset_count"],
        "targets": out["targets"],
        "targets_ok": out["targets_ok"],
        "errors": len(out["errors"]),
        "regions": out["regions"],
    }


def run_ingest(settings: Any, sessions: Any) -> dict[str, Any]:
    from bedrockctl.analytics.ingest import ingest
    from bedrockctl.analytics.store import UsageStore

    report = ingest(UsageStore.for_settings(settings), list(settings.jobs.ingest_sources), sessions=sessions)
    figures = report.to_dict()
    figures.pop("bad", None)
    return figures


def backstop_for(
    settings: Any, engine: Any, sessions: Any, clock: Callable[[], datetime] | None = None
) -> Any:  # -> Backstop
    from bedrockctl.analytics.store import UsageStore
    from bedrockctl.services.backstop import Backstop

    return Backstop(
        settings,
        engine,
        sessions=sessions,
        usage_store=UsageStore.for_settings(settings),
        clock=clock or (lambda: datetime.now(UTC)),
    )


def run_budgets(settings: Any, engine: Any, sessions: Any) -> dict[str, Any]:
    result = backstop_for(settings, engine, sessions).evaluate()
    return result.figures()  # type: ignore[no-any-return]


def configured_jobs(settings: Any, engine: Any, sessions: Any, *, every: bool = False) -> list[Job]:
    """The jobs whose interval is set (``every``: all of them, an unscheduled one with interval 0)."""
    cfg = settings.jobs
    runners: dict[str, tuple[int | None, Callable[[], dict[str, Any]]]] = {
        "discovery": (cfg.discovery_interval, lambda: run_discovery(settings, sessions)),
        "ingest": (cfg.ingest_interval, lambda: run_ingest(settings, sessions)),
        "budgets": (cfg.budgets_interval, lambda: run_budgets(settings, engine, sessions)),
    }
    return [Job(name, int(interval or 0), fn) for name, (interval, fn) in runners.items() if interval or every]


class JobAlerts:
    """A failed run is alerted once per failure streak: the alert's window is the streak's first failed run, so
    the alert service's claim (one per scope, window and channel) lets the next failures of the streak pass."""

    def __init__(self, settings: Any, engine: Any, sessions: Any) -> None:
        self.settings, self.engine, self.sessions = settings, engine, sessions

    def __call__(self, job: str, run_id: int, error: str) -> None:
        first = JobStore(self.engine).failing_since(job, run_id)
        body = {
            "type": "bedrockctl.job_failed",
            "job": job,
            "run_id": run_id,
            "first_failed_run": first,
            "error": error,
        }
        alert = Alert(f"job:{job}", f"run{first}", 0.0, f"bedrockctl job {job} failed", body)
        gateway = dict(getattr(self.settings, "gateway", {}) or {})
        AlertService(AlertLedger(self.engine)).notify(
            alert, [*channels_for(None, gateway, self.sessions), LogChannel()]
        )


def build_scheduler(settings: Any, engine: Any, sessions: Any) -> Scheduler | None:
    """The scheduler of the configured jobs; None when no job has an interval."""
    jobs = configured_jobs(settings, engine, sessions)
    if not jobs:
        return None
    cfg = settings.jobs
    return Scheduler(
        jobs,
        JobStore(engine),
        lease_seconds=float(cfg.lease_seconds),
        poll_seconds=float(cfg.poll_seconds),
        on_failure=JobAlerts(settings, engine, sessions),
    )


def run_once(settings: Any, engine: Any, sessions: Any, name: str) -> dict[str, Any]:
    """Run job ``name`` now, outside its schedule (``bedrockctl jobs --run``), recorded and alerted like a scheduled
    run; refused while another process runs it."""
    jobs = {j.name: j for j in configured_jobs(settings, engine, sessions, every=True)}
    if name not in jobs:
        raise UnknownJob(f"no job {name!r}; the jobs are {', '.join(JOB_NAMES)}")
    store = JobStore(engine)
    lease = max(float(settings.jobs.lease_seconds), 3600.0)  # no renewal thread here: a lease for the whole run
    scheduler = Scheduler([jobs[name]], store, holder="cli:" + holder_id(), lease_seconds=lease)
    scheduler.on_failure = JobAlerts(settings, engine, sessions)
    if not store.acquire(name, scheduler.holder, lease):
        raise JobBusy(f"job {name} is running in another process")
    run_id = scheduler.run(jobs[name], None)
    return next(r.public() for r in store.runs(name, limit=20) if r.id == run_id)


def job_runs(engine: Any, *, job: str | None = None, limit: int | None = 50) -> list[dict[str, Any]]:
    """The recorded runs, newest first (``bedrockctl jobs``, the console)."""
    if job is not None and job not in JOB_NAMES:
        raise UnknownJob(f"no job {job!r}; the jobs are {', '.join(JOB_NAMES)}")
    return [r.public() for r in JobStore(engine).runs(job, limit=limit)]


def latest_runs(engine: Any) -> list[dict[str, Any]]:
    return [r.public() for r in JobStore(engine).latest()]


def console_jobs(settings: Any, engine: Any, actor: Any) -> dict[str, Any]:
    """The console's Jobs page (administrators): the schedule, the newest run of each job, recent runs, and the
    backstop's actions."""
    from bedrockctl.services.backstop import actions
    from bedrockctl.services.errors import PermissionDenied

    if not actor.is_admin:
        raise PermissionDenied("the Jobs page is for administrators")
    return {
        "schedule": [{"job": j.name, "interval_s": j.interval} for j in configured_jobs(settings, None, None)],
        "latest": latest_runs(engine),
        "runs": job_runs(engine, limit=50),
        "backstop": actions(engine, limit=100),
    }
