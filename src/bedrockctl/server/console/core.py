"""The console's shared pieces: its services, sign-in sessions (cookie), CSRF checks, rendering and error pages."""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from bedrockctl.errors import BedrockctlError
from bedrockctl.services.console_data import KeyAccess
from bedrockctl.services.credentials import CredentialService
from bedrockctl.services.users import Actor, SessionInfo, UserService

log = logging.getLogger("bedrockctl.console")
HERE = Path(__file__).parent
SESSION_COOKIE = "bedrockctl_session"
LOGIN_CSRF_COOKIE = "bedrockctl_login_csrf"

NAV = (
    ("overview", "/", "Overview"),
    ("inventory", "/inventory", "Inventory"),
    ("usage", "/usage", "Usage"),
    ("budgets", "/budgets", "Budgets"),
    ("doctor", "/doctor", "Doctor"),
    ("playground", "/playground", "Playground"),
    ("plugins", "/plugins", "Plugin instances"),
    ("keys", "/keys", "Keys"),
    ("credentials", "/credentials", "Credentials"),
    ("audit", "/audit", "Audit log"),
)


@dataclass
class Console:
    ctx: Any
    engine: Any
    users: UserService
    creds: CredentialService
    keys: KeyAccess
    secure_cookies: bool | None = None  # None: Secure when the request came over https
    oidc: Any = None  # an ``OidcClient`` when [gateway.oidc] is set
    oidc_state_key: bytes = b""
    oidc_redirect: str | None = None  # the callback URL registered at the provider (default: from the request)
    gateway_app: Any = None  # the ``bedrockctl serve`` app whose gateway the playground calls (None: no gateway)
    templates: Jinja2Templates = field(init=False)
    _playground_locks: dict[int, asyncio.Lock] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals["nav"] = NAV
        self.templates.env.filters["usd"] = _usd
        self.templates.env.filters["ts"] = _ts

    @property
    def settings(self) -> Any:
        return self.ctx.settings

    def render(self, request: Request, name: str, status: int = 200, **data: Any) -> HTMLResponse:
        data.setdefault("user", getattr(request.state, "actor", None))
        data.setdefault("csrf", getattr(request.state, "csrf", ""))
        data.setdefault("active", "")
        data.setdefault("flash", request.query_params.get("flash", ""))
        data.setdefault("oidc_name", self.oidc.options.name if self.oidc is not None else "")
        resp = self.templates.TemplateResponse(request, name, data, status_code=status)
        _no_store(resp)
        return resp

    def playground_lock(self, user_id: int) -> asyncio.Lock:
        """Serializes one user's playground calls (each then finds its own audit record)."""
        return self._playground_locks.setdefault(user_id, asyncio.Lock())

    def secure(self, request: Request) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return request.url.scheme == "https"

    def set_session_cookie(self, request: Request, resp: Response, info: SessionInfo) -> None:
        resp.set_cookie(
            SESSION_COOKIE,
            info.token,
            max_age=int(self.users.session_ttl),
            httponly=True,
            samesite="lax",
            secure=self.secure(request),
            path="/",
        )


def _no_store(resp: Response) -> None:
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    )


def _usd(value: Any, digits: int = 2) -> str:
    try:
        v = float(value or 0)
    except (TypeError, ValueError):
        return str(value)
    if 0 < abs(v) < 0.01:
        return f"${v:,.4f}"
    return f"${v:,.{digits}f}"


def _ts(value: Any) -> str:
    import time

    if not value:
        return "—"
    try:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(value)))
    except (TypeError, ValueError):
        return str(value)


Handler = Callable[..., Awaitable[Response]]


def console_of(request: Request) -> Console:
    c: Console = request.app.state.console
    return c


def actor_of(request: Request) -> Actor:
    a: Actor = request.state.actor
    return a


def page(*, admin: bool = False) -> Callable[[Handler], Handler]:
    """Wrap a route: a signed-in user (else the login page), CSRF on every unsafe method, admin-only when asked,
    and service errors shown as pages with their HTTP status (403, 404, 400...)."""

    def wrap(fn: Handler) -> Handler:
        @functools.wraps(fn)
        async def handler(request: Request) -> Response:
            con = console_of(request)
            info = con.users.session(request.cookies.get(SESSION_COOKIE))
            if info is None:
                if request.method == "GET":
                    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
                return con.render(request, "error.html", 401, title="Sign in first", message="Your session ended.")
            request.state.actor = info.actor
            request.state.csrf = info.csrf_token
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                sent = request.headers.get("x-csrf-token") or (await request.form()).get("csrf_token") or ""
                if not hmac.compare_digest(str(sent), info.csrf_token):
                    return con.render(
                        request,
                        "error.html",
                        403,
                        title="Form expired",
                        message="The form's CSRF token is missing or wrong. Reload the page and try again.",
                    )
            if admin and not info.actor.is_admin:
                return con.render(request, "error.html", 403, title="Not allowed", message="Administrators only.")
            try:
                return await fn(request)
            except BedrockctlError as exc:
                status = exc.http_status if 400 <= exc.http_status < 600 else 500
                return con.render(
                    request,
                    "error.html",
                    status,
                    title=exc.title,
                    message=exc.message,
                    remediation=exc.remediation,
                    code=exc.code,
                )

        return handler

    return wrap


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def redirect(url: str, flash: str = "") -> RedirectResponse:
    if flash:
        url += ("&" if "?" in url else "?") + "flash=" + quote(flash)
    return RedirectResponse(url, status_code=303)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def form_of(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}
