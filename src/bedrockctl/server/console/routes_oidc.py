"""Sign-in through OpenID Connect: ``/login/oidc`` sends the browser to the provider, ``/login/oidc/callback``
completes it (``bedrockctl.services.oidc``) and opens a console session.

What must survive the round trip (``state``, ``nonce``, the PKCE verifier, where to go next) travels in a cookie
signed with HMAC-SHA256 under a key derived from the gateway's master secret, so any replica can complete a
sign-in another one started; it is ``HttpOnly``, ``SameSite=Lax`` (the provider's redirect is a cross-site
navigation), scoped to ``/login/oidc`` and valid for ten minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bedrockctl.server.console.core import console_of, redirect
from bedrockctl.services.errors import AuthenticationFailed

STATE_COOKIE = "bedrockctl_oidc"
STATE_TTL = 600


def state_key(master: bytes) -> bytes:
    return hashlib.sha256(b"bedrockctl-console-oidc-state\x00" + master).digest()


def _seal(key: bytes, data: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps({**data, "exp": time.time() + STATE_TTL}).encode()).decode()
    mac = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def _open(key: bytes, sealed: str | None) -> dict[str, str] | None:
    if not sealed or "." not in sealed or len(sealed) > 4096:
        return None
    body, mac = sealed.rsplit(".", 1)
    if not hmac.compare_digest(mac, hmac.new(key, body.encode(), hashlib.sha256).hexdigest()):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    if not isinstance(data, dict) or float(data.get("exp", 0)) < time.time():
        return None
    return {str(k): str(v) for k, v in data.items()}


def _safe_next(value: str | None) -> str:
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _failed(request: Request, message: str) -> Response:
    con = console_of(request)
    resp = con.render(request, "error.html", 401, title="Sign-in failed", message=message)
    resp.delete_cookie(STATE_COOKIE, path="/login/oidc")
    return resp


async def begin(request: Request) -> Response:
    con = console_of(request)
    if con.oidc is None:
        return con.render(request, "error.html", 404, title="Not found", message="Single sign-on is not set up.")
    callback = con.oidc_redirect or f"{str(request.base_url).rstrip('/')}/login/oidc/callback"
    try:
        url, kept = await con.oidc.begin(callback)
    except AuthenticationFailed as exc:
        return _failed(request, exc.message)
    kept["next"] = _safe_next(request.query_params.get("next"))
    resp = redirect(url)
    resp.set_cookie(
        STATE_COOKIE,
        _seal(con.oidc_state_key, kept),
        max_age=STATE_TTL,
        httponly=True,
        samesite="lax",
        secure=con.secure(request),
        path="/login/oidc",
    )
    return resp


async def callback(request: Request) -> Response:
    con = console_of(request)
    if con.oidc is None:
        return con.render(request, "error.html", 404, title="Not found", message="Single sign-on is not set up.")
    kept = _open(con.oidc_state_key, request.cookies.get(STATE_COOKIE))
    if kept is None:
        return _failed(request, "The sign-in expired or was started in another browser: start it again.")
    try:
        claims = await con.oidc.complete(dict(request.query_params), kept)
        who = con.oidc.identity_of(claims)
        actor = await run_in_threadpool(
            con.users.sign_in_external,
            con.oidc.options.issuer,
            who.subject,
            who.username,
            team=who.team,
            role=who.role,
            display_name=who.display_name,
            auto_create=con.oidc.options.auto_create,
        )
    except AuthenticationFailed as exc:
        return _failed(request, f"{exc.message}. {exc.remediation}")
    info = con.users.open_session(actor)
    resp = redirect(_safe_next(kept.get("next")))
    con.set_session_cookie(request, resp, info)
    resp.delete_cookie(STATE_COOKIE, path="/login/oidc")
    return resp


ROUTES = [
    Route("/login/oidc", begin, methods=["GET"]),
    Route("/login/oidc/callback", callback, methods=["GET"]),
]
