"""The web console: server-rendered pages (Jinja2) enhanced with htmx and Chart.js, all vendored (no CDN).

``console_app(ctx)`` builds the Starlette app; ``mount_console(server_app, ctx)`` serves it at ``/`` of the
``bedrockctl serve`` app (as its fallback: the gateway's exact routes and prefixes win). See docs/console.md.
"""

from __future__ import annotations

import os
from typing import Any

from bedrockctl.server.console.core import HERE, Console


def console_app(
    ctx: Any,
    *,
    engine: Any = None,
    master: Any = None,
    keystore: Any = None,
    hash_cost: str = "default",
    secure_cookies: bool | None = None,
) -> Any:
    """The console as an ASGI app. ``engine`` (the store's), ``master`` (a ``MasterKey``), ``keystore`` (the
    gateway's ``KeyStore``) default to what ``ctx.settings`` configures."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from bedrockctl.server.console import (
        routes_access,
        routes_auth,
        routes_jobs,
        routes_main,
        routes_oidc,
        routes_playground,
    )
    from bedrockctl.server.console.login_gate import HashGate
    from bedrockctl.services.console_data import KeyAccess
    from bedrockctl.services.credentials import CredentialService
    from bedrockctl.services.envelope import master_key_from_env
    from bedrockctl.services.login_throttle import LoginOptions, LoginThrottle
    from bedrockctl.services.users import UserService

    settings = ctx.settings
    if secure_cookies is None and os.environ.get("BEDROCKCTL_CONSOLE_SECURE_COOKIES"):
        secure_cookies = os.environ["BEDROCKCTL_CONSOLE_SECURE_COOKIES"].lower() in ("1", "true", "yes", "on")
    if engine is None:
        from bedrockctl.paths import default_store_url
        from bedrockctl.store import Store
        from bedrockctl.store.gateway import store_schema

        engine = Store(default_store_url(settings), schema=store_schema(settings)).engine
    if keystore is None:
        from bedrockctl.server.gateway.options import GatewayOptions, master_secret
        from bedrockctl.store.keys import KeyStore

        keystore = KeyStore(engine, master_secret(GatewayOptions.from_settings(settings), settings), cache_ttl=0.0)
    login = LoginOptions.from_settings(settings)
    console = Console(
        ctx=ctx,
        engine=engine,
        users=UserService(engine, hash_cost=hash_cost, throttle=LoginThrottle(engine, login)),
        creds=CredentialService(
            engine, master or master_key_from_env(settings, ctx.sessions), base_settings=settings.aws
        ),
        keys=KeyAccess(keystore, engine),
        secure_cookies=secure_cookies,
    )
    _set_up_oidc(console, settings)
    app = Starlette(
        routes=[
            *routes_auth.ROUTES,
            *routes_oidc.ROUTES,
            *routes_main.ROUTES,
            *routes_access.ROUTES,
            *routes_jobs.ROUTES,
            *routes_playground.ROUTES,
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ]
    )
    app.state.console = console
    app.state.login_gate = HashGate(login)
    return app


def _set_up_oidc(console: Console, settings: Any) -> None:
    """Single sign-on when ``[gateway.oidc]`` is set (``services/oidc.py``)."""
    from bedrockctl.services.oidc import OidcClient, OidcOptions

    options = OidcOptions.from_settings(settings)
    if options is None:
        return
    from bedrockctl.server.console.routes_oidc import state_key
    from bedrockctl.store.keys import master_secret

    console.oidc = OidcClient(options)
    console.oidc_state_key = state_key(master_secret(settings))
    console.oidc_redirect = options.redirect_url


def mount_console(server_app: Any, ctx: Any, **kwargs: Any) -> Any:
    """Serve the console at ``/`` of a ``ServerApp`` (``create_app``); reuses the gateway's key store if any."""
    gw = server_app.state.get("gateway")
    if gw is not None:
        kwargs.setdefault("keystore", gw.keys)
        kwargs.setdefault("engine", gw.engine)
    app = console_app(ctx, **kwargs)
    if gw is not None:
        app.state.console.gateway_app = server_app  # the playground's calls enter where any client's do
    server_app.fallback = app
    return app


__all__ = ["console_app", "mount_console"]
