"""The import string uvicorn workers load: ``bedrockctl.server.asgi:app`` (factory). Configuration comes from the
environment (``BEDROCKCTL_CONFIG``, ``BEDROCKCTL_*``), as ``bedrockctl serve`` sets it for its workers."""

from __future__ import annotations

from bedrockctl.server.app import ServerApp, create_app


def app() -> ServerApp:
    from bedrockctl.context import AppContext, setup_logging

    ctx = AppContext.create()
    setup_logging(ctx.settings.logging)
    return create_app(ctx)
