"""Build the runtime's collaborators from settings: the usage sink, the response cache and the price book."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from bedrockctl.runtime.routing import RuntimeOptions
from bedrockctl.settings import Settings

log = logging.getLogger("bedrockctl.runtime")


def store_engine(settings: Settings) -> Any:
    """The local store's engine, migrated (``bedrockctl.store.Store``) on first use."""
    from bedrockctl.paths import default_store_url

    return _store(default_store_url(settings)).engine


@cache
def _store(url: str) -> Any:
    from bedrockctl.store import Store

    return Store(url)


def components(settings: Settings) -> dict[str, Any]:
    opts = RuntimeOptions.from_dict(settings.runtime, settings.aws.retry_attempts)
    out: dict[str, Any] = {"options": opts}
    try:
        from bedrockctl.pricing import PriceBook

        out["prices"] = PriceBook.load_for(settings)
    except Exception as exc:  # pragma: no cover - a broken price file must not stop calls
        log.warning("price book not loaded: %s", exc)
    engine = None
    if opts.usage_enabled or (opts.cache_enabled and opts.cache_backend != "redis"):
        engine = store_engine(settings)
    if opts.usage_enabled:
        from bedrockctl.runtime.usage import SqlSink

        out["usage_sink"] = SqlSink(engine)
    if opts.cache_enabled:
        if opts.cache_backend == "redis" or (opts.cache_url or "").startswith("redis"):
            from bedrockctl.runtime.cache import RedisCache

            out["cache"] = RedisCache(opts.cache_url or "redis://localhost:6379/0")
        else:
            from bedrockctl.runtime.cache import SqlCache

            out["cache"] = SqlCache(engine)
    return out
