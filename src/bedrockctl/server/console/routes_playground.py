"""The playground: a prompt to a model the user's environment allows, sent through the gateway (in process, as any
client's request: ``gateway_call``) with the user's ``playground`` key, so that the same admission, budgets, limits
and audit apply. ``POST /playground/stream`` answers with Server-Sent Events (``delta`` text pieces, then ``done``
with the call's audit record, or ``failure`` with the gateway's message); ``POST /playground`` (no JavaScript)
answers with the whole page. Model output is text: the page escapes it, the script sets ``textContent``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from bedrockctl.errors import ValidationFailed
from bedrockctl.server.console.core import _no_store, actor_of, console_of, form_of, page
from bedrockctl.server.console.gateway_call import Delta, Failed, Finished, converse_stream, signed_scope
from bedrockctl.services.playground import CallCost, Prompt, call_record, model_choices, playground_key

AUDIT_WAIT_SECONDS = 10.0  # how long the page waits for the call's audit record (the gateway writes it in batches)


@dataclass
class Outcome:
    text: list[str] = field(default_factory=list)
    failure: Failed | None = None
    cost: CallCost | None = None


def _environments(request: Request) -> tuple[list[str], str]:
    settings = console_of(request).settings
    default = str((settings.gateway or {}).get("default_environment", "default"))
    envs = list(settings.environments) or [default]
    return envs, default if default in envs else envs[0]


def _view(request: Request, form: dict[str, str] | None = None, status: int = 200, **data: Any) -> Response:
    con = console_of(request)
    envs, default = _environments(request)
    form = dict(form or {})
    env = form.get("environment") or default
    env_settings = con.settings.environments.get(env)
    if not form.get("model") and env_settings is not None and env_settings.default_model:
        form["model"] = env_settings.default_model  # preselected
    return con.render(
        request,
        "playground.html",
        status,
        active="playground",
        environments=envs,
        environment=env if env in envs else default,
        models=model_choices(con.settings, env if env in envs else default),
        form=form,
        available=con.gateway_app is not None,
        **data,
    )


@page()
async def playground_page(request: Request) -> Response:
    form = {k: v for k, v in request.query_params.items() if k in ("environment", "model")}
    return _view(request, form, error="", outcome=None)


async def _run(request: Request, prompt: Prompt) -> AsyncIterator[Delta | Failed | CallCost]:
    """The call's text pieces, then its ``CallCost`` (from the audit) or a ``Failed``."""
    con = console_of(request)
    me = actor_of(request)
    envs, _ = _environments(request)
    if prompt.environment not in envs:
        raise ValidationFailed(f"Unknown environment {prompt.environment!r}.")
    if con.gateway_app is None:
        yield Failed(
            503, "GatewayNotServed", "The playground needs the gateway: run the console with bedrockctl serve.", ""
        )
        return
    key_id = await run_in_threadpool(playground_key, con.keys, me, prompt.environment)
    body = orjson.dumps(prompt.converse_body())
    region = con.settings.aws.region or "us-east-1"
    client = (request.client.host, request.client.port) if request.client else None
    since = time.time()
    async with con.playground_lock(me.id):  # one call at a time per user: the audit lookup finds this call's record
        scope = signed_scope(
            key_id=key_id,
            secret=con.keys.keys.secret_for(key_id),
            region=region,
            model=prompt.model,
            body=body,
            client=client,
        )
        last: Finished | Failed | None = None
        async for event in converse_stream(con.gateway_app, scope, body, region):
            if isinstance(event, Delta):
                yield event
            else:
                last = event
        cost = await _audited(con.engine, key_id, since)
    if isinstance(last, Failed):
        yield last
    elif cost is not None:
        yield cost
    else:
        yield Failed(
            504, "AuditPending", "The call finished but its audit record is not written yet; see the Audit log.", ""
        )


async def _audited(engine: Any, key_id: str, since: float) -> CallCost | None:
    deadline = time.monotonic() + AUDIT_WAIT_SECONDS
    while True:
        rec = await run_in_threadpool(call_record, engine, key_id, since)
        if rec is not None or time.monotonic() > deadline:
            return rec
        await asyncio.sleep(0.05)


@page()
async def send_prompt(request: Request) -> Response:
    """Without JavaScript: the whole answer in the page."""
    form = await form_of(request)
    _, default = _environments(request)
    try:
        prompt = Prompt.from_form(form, default)
        outcome = Outcome()
        async for event in _run(request, prompt):
            if isinstance(event, Delta):
                outcome.text.append(event.text)
            elif isinstance(event, Failed):
                outcome.failure = event
            else:
                outcome.cost = event
    except ValidationFailed as exc:
        return _view(request, form, 400, error=exc.message, outcome=None)
    status = outcome.failure.status if outcome.failure is not None and outcome.failure.status >= 400 else 200
    return _view(request, form, status, error="", outcome=outcome)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


@page()
async def stream_prompt(request: Request) -> Response:
    """With JavaScript: Server-Sent Events (``delta``, then ``done`` or ``failure``)."""
    form = await form_of(request)
    _, default = _environments(request)
    try:
        prompt = Prompt.from_form(form, default)
    except ValidationFailed as exc:
        return Response(
            _sse("failure", {"status": 400, "code": "ValidationError", "message": exc.message}),
            400,
            media_type="text/event-stream",
        )

    async def events() -> AsyncIterator[bytes]:
        try:
            async for event in _run(request, prompt):
                if isinstance(event, Delta):
                    yield _sse("delta", {"text": event.text})
                elif isinstance(event, Failed):
                    yield _sse(
                        "failure",
                        {
                            "status": event.status,
                            "code": event.code,
                            "message": event.message,
                            "request_id": event.request_id,
                        },
                    )
                else:
                    yield _sse("done", event.public())
        except ValidationFailed as exc:
            yield _sse("failure", {"status": 400, "code": "ValidationError", "message": exc.message})

    resp = StreamingResponse(events(), media_type="text/event-stream")
    _no_store(resp)
    resp.headers["X-Accel-Buffering"] = "no"  # proxies: pass the events as they come
    return resp


ROUTES = [
    Route("/playground", playground_page, methods=["GET"]),
    Route("/playground", send_prompt, methods=["POST"]),
    Route("/playground/stream", stream_prompt, methods=["POST"]),
]
