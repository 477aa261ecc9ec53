"""The import string uvicorn workers load: ``bedrockctl.server.asgi:app`` (factory). Configuration comes from the
environment (``BEDROCKCTL_CONFIG``, ``BEDROCKCTL_*``), as ``bedrockctl serve`` sets it for its workers."""

from __future__ import annotations

from bedrockctl.server.app import ServerApp, create_app


def app() -> ServerApp:
    from bedrockctl.context import AppContext, setup_logging

    ctx = AppContext.create()
    setup_logging(ctx.settings.logging)
    return create_app(ctx)


def app_behind_proxy() -> object:
    """``app()`` behind uvicorn's proxy-headers middleware, as ``uvicorn.run`` serves it (``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` trusted from ``FORWARDED_ALLOW_IPS``, default 127.0.0.1): for ``serve --http 2``, whose
    server (granian) does not read them, so that the audit and the console see the same client address."""
    import os

    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    trusted = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
    return ProxyHeadersMiddleware(app(), trusted_hosts=trusted)  # type: ignore[arg-type]  # a raw ASGI app
