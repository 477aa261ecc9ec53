"""Starts the scheduled jobs (``[jobs]``, docs/jobs.md) with the server app and stops them with it: every worker of
every replica runs a scheduler, and the jobs' leases in the database let exactly one of them run each slot."""

from __future__ import annotations

import asyncio
from typing import Any


def install_scheduler(app: Any, ctx: Any) -> None:
    """Add the scheduler to ``app``'s startup and shutdown (nothing runs when no job has an interval)."""
    held: dict[str, Any] = {}

    async def start() -> None:
        from bedrockctl.services.jobs import build_scheduler, configured_jobs
        from bedrockctl.store.gateway import open_engine

        if not configured_jobs(ctx.settings, None, None):
            return
        engine = open_engine(ctx.settings)
        scheduler = build_scheduler(ctx.settings, engine, ctx.sessions)
        if scheduler is None:  # pragma: no cover - configured_jobs said otherwise
            engine.dispose()
            return
        held.update(engine=engine, scheduler=scheduler.start())

    async def stop() -> None:
        scheduler = held.pop("scheduler", None)
        if scheduler is not None:
            await asyncio.to_thread(scheduler.stop)
        engine = held.pop("engine", None)
        if engine is not None:
            engine.dispose()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
