"""The Jobs page: the scheduled jobs of serve (schedule, newest and recent runs) and the budget backstop's actions."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bedrockctl.server.console.core import actor_of, console_of, page
from bedrockctl.services.jobs import console_jobs


@page(admin=True)
async def jobs(request: Request) -> Response:
    con = console_of(request)
    me = actor_of(request)
    data = await run_in_threadpool(console_jobs, con.settings, con.engine, me)
    return con.render(request, "jobs.html", active="jobs", **data)


ROUTES = [Route("/jobs", jobs, methods=["GET"])]
