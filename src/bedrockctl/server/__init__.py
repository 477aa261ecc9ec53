"""The ASGI server: the gateway (and, later, the console) in one app built by ``create_app(ctx)``."""

from bedrockctl.server.app import ServerApp, create_app

__all__ = ["ServerApp", "create_app"]
