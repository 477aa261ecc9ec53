"""The import string uvicorn workers load: ``bedrockctl.server.asgi:app`` (factory). Configuration comes from the
environment (``BEDROCKCTL_CONFIG``, ``BEDROCKCTL_*``), as ``bedrockctl serve`` sets it for its workers."""

from __future__ import annotations

import gc

from bedrockctl.server.app import ServerApp, create_app

# Allocations (less deallocations) of tracked objects between two young collections; CPython's default is 700.
GC_YOUNG_THRESHOLD = 10_000


def app() -> ServerApp:
    from bedrockctl.context import AppContext, setup_logging

    ctx = AppContext.create()
    setup_logging(ctx.settings.logging)
    server = create_app(ctx)
    server.on_startup.append(settle_gc)  # after the gateway's own startup
    return server


async def settle_gc() -> None:
    """A serving worker's garbage collector: what startup built (modules, settings, the price book: ~140,000
    objects) is frozen out of the collector's scans, and young collections run every ``GC_YOUNG_THRESHOLD``
    allocations instead of 700. Requests make next to no reference cycles (collections found none in
    ``bench/gateway`` runs), yet with the defaults the collector cost ~25 µs of CPU per request: a full collection
    (~65 ms) walked the startup heap every ~4,000 requests, and young collections every ~20 requests promoted the
    objects of the requests in flight. Cycles are still collected, only less often."""
    gc.collect()
    gc.freeze()
    _young, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def app_behind_proxy() -> object:
    """``app()`` behind uvicorn's proxy-headers middleware, as ``uvicorn.run`` serves it (``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` trusted from ``FORWARDED_ALLOW_IPS``, default 127.0.0.1): for ``serve --http 2``, whose
    server (granian) does not read them, so that the audit and the console see the same client address."""
    import os

    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    trusted = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
    return ProxyHeadersMiddleware(app(), trusted_hosts=trusted)  # type: ignore[arg-type]  # a raw ASGI app
