"""Sign-in, sign-out, one's own password, and user administration (admins)."""

from __future__ import annotations

import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bedrockctl.errors import BedrockctlError
from bedrockctl.server.console.core import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    actor_of,
    console_of,
    form_of,
    new_login_csrf,
    page,
    redirect,
)
from bedrockctl.server.console.login_gate import HashGate
from bedrockctl.services.errors import LoginBusy, LoginThrottled
from bedrockctl.services.users import AuthenticationFailed


def _safe_next(value: str | None) -> str:
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


async def login_form(request: Request) -> Response:
    con = console_of(request)
    token = new_login_csrf()
    resp = con.render(request, "login.html", csrf=token, next=_safe_next(request.query_params.get("next")), error="")
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=con.secure(request), path="/")
    return resp


def gate_of(request: Request) -> HashGate:
    gate: HashGate = request.app.state.login_gate
    return gate


async def login(request: Request) -> Response:
    """Sign in. Attempts are throttled per user and client address (``LoginThrottled``: 429) before any password
    is hashed, and at most a few hashes run at once (``LoginBusy``: 503); both answer with ``Retry-After``."""
    con = console_of(request)
    form = await form_of(request)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, form.get("csrf_token", "")):
        return con.render(request, "error.html", 403, title="Form expired", message="Reload the sign-in page.")
    username, password = form.get("username", ""), form.get("password", "")
    address = request.client.host if request.client else "unknown"
    try:
        wait = await run_in_threadpool(con.users.login_wait, username, address)
        if wait > 0:
            raise LoginThrottled(wait)
        async with gate_of(request).slot():
            actor = await run_in_threadpool(con.users.authenticate, username, password, address=address)
    except (LoginThrottled, LoginBusy) as exc:
        resp = _login_again(request, form, exc.http_status, f"{exc.message[:1].upper()}{exc.message[1:]}.")
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    except AuthenticationFailed:
        return _login_again(request, form, 401, "Wrong user name or password.")
    info = con.users.open_session(actor)
    resp = redirect(_safe_next(form.get("next")))
    con.set_session_cookie(request, resp, info)
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return resp


def _login_again(request: Request, form: dict[str, str], status: int, error: str) -> Response:
    con = console_of(request)
    token = new_login_csrf()
    resp = con.render(
        request,
        "login.html",
        status,
        csrf=token,
        next=_safe_next(form.get("next")),
        error=error,
        username=form.get("username", ""),
    )
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=con.secure(request))
    return resp


@page()
async def logout(request: Request) -> Response:
    con = console_of(request)
    con.users.close_session(request.cookies.get(SESSION_COOKIE))
    resp = redirect("/login")
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@page()
async def account(request: Request) -> Response:
    con = console_of(request)
    me = con.users.get(actor_of(request), actor_of(request).id)
    return con.render(request, "account.html", me=me, active="account")


@page()
async def change_password(request: Request) -> Response:
    con = console_of(request)
    form = await form_of(request)
    me = actor_of(request)
    if form.get("new_password") != form.get("confirm_password"):
        return redirect("/account", "The new passwords differ.")
    async with gate_of(request).slot():
        await run_in_threadpool(
            con.users.set_password, me, me.id, form.get("new_password", ""), current=form.get("current_password", "")
        )
    return redirect("/login", "Password changed; sign in again.")


@page(admin=True)
async def users_page(request: Request) -> Response:
    con = console_of(request)
    return con.render(request, "users.html", users=con.users.list(actor_of(request)), active="users", error="")


@page(admin=True)
async def create_user(request: Request) -> Response:
    con = console_of(request)
    form = await form_of(request)
    try:
        async with gate_of(request).slot():
            await run_in_threadpool(
                lambda: con.users.create(
                    actor_of(request),
                    form.get("username", "").strip(),
                    form.get("password", ""),
                    role=form.get("role", "member"),
                    team=form.get("team", "default").strip() or "default",
                )
            )
    except BedrockctlError as exc:
        return con.render(
            request, "users.html", 400, users=con.users.list(actor_of(request)), active="users", error=exc.message
        )
    return redirect("/users", f"User {form.get('username')} created.")


@page(admin=True)
async def update_user(request: Request) -> Response:
    con = console_of(request)
    form = await form_of(request)
    uid = int(request.path_params["user_id"])
    me = actor_of(request)
    action = form.get("action", "save")
    if action == "delete":
        con.users.delete(me, uid)
        return redirect("/users", "User deleted.")
    if action == "password":
        async with gate_of(request).slot():
            await run_in_threadpool(con.users.set_password, me, uid, form.get("password", ""))
        return redirect("/users", "Password reset.")
    con.users.update(
        me, uid, role=form.get("role") or None, team=form.get("team") or None, disabled=form.get("disabled") == "on"
    )
    return redirect("/users", "User saved.")


ROUTES = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/account", account, methods=["GET"]),
    Route("/account/password", change_password, methods=["POST"]),
    Route("/users", users_page, methods=["GET"]),
    Route("/users", create_user, methods=["POST"]),
    Route("/users/{user_id:int}", update_user, methods=["POST"]),
]
