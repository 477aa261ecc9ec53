"""``create_app(ctx)``: one raw-ASGI app. Routing is a dict lookup (exact paths) then a short prefix list, so the
hot path allocates nothing per request; other parts (the console) ``mount`` a prefix or ``route`` a path with any
ASGI app (Starlette works)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bedrockctl.server.gateway.http import respond, unknown_path

log = logging.getLogger("bedrockctl.server")
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]
_JSON = [(b"content-type", b"application/json")]


class ServerApp:
    def __init__(self) -> None:
        self.exact: dict[str, ASGIApp] = {}
        self.prefixes: list[tuple[str, ASGIApp]] = []
        self.fallback: ASGIApp | None = None
        self.on_startup: list[Hook] = []
        self.on_shutdown: list[Hook] = []
        self.state: dict[str, Any] = {}

    def route(self, path: str, app: ASGIApp) -> None:
        self.exact[path] = app

    def mount(self, prefix: str, app: ASGIApp) -> None:
        self.prefixes.append((prefix, app))
        self.prefixes.sort(key=lambda p: -len(p[0]))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            app = self.exact.get(path)
            if app is None:
                for prefix, candidate in self.prefixes:
                    if path.startswith(prefix):
                        app = candidate
                        break
                else:
                    app = self.fallback or _not_found
            await app(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif self.fallback is not None:  # websockets: the console's business
            await self.fallback(scope, receive, send)

    async def startup(self) -> None:
        for hook in self.on_startup:
            await hook()

    async def shutdown(self) -> None:
        for hook in reversed(self.on_shutdown):
            try:
                await hook()
            except Exception:
                log.exception("shutdown hook failed")

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _not_found(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await unknown_path(scope, receive, send)


def create_app(ctx: Any, *, gateway: Any = None, with_gateway: bool = True) -> ServerApp:
    """The server app for ``ctx``; ``gateway`` injects a prebuilt ``Gateway`` (tests, benchmarks)."""
    app = ServerApp()
    app.state["ctx"] = ctx

    async def healthz(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await respond(send, 200, list(_JSON), b'{"status":"ok"}')

    app.route("/healthz", healthz)
    app.route("/livez", healthz)  # the liveness probe's conventional name: the process answers, nothing more
    if not with_gateway:
        return app
    from bedrockctl.server.console import mount_console
    from bedrockctl.server.gateway.aws_routes import answer_unknown_paths
    from bedrockctl.server.gateway.routes import install
    from bedrockctl.server.scheduler import install_scheduler

    if gateway is None:
        from bedrockctl.server.gateway.pipeline import Gateway
        from bedrockctl.services.console_data import apply_budget_overrides
        from bedrockctl.store.gateway import open_engine

        # Budget edits made in the console are folded into the settings before the gateway's policy is built.
        engine = open_engine(ctx.settings)
        apply_budget_overrides(ctx.settings, engine)
        gateway = Gateway(ctx, engine=engine)
    install(app, ctx, gateway)
    install_scheduler(app, ctx)  # the scheduled jobs of [jobs] (docs/jobs.md)
    console = mount_console(app, ctx)  # the console is the fallback: gateway routes win
    app.fallback = answer_unknown_paths(console)  # and AWS's 404 for paths neither serves
    return app
