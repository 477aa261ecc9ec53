"""The gateway's database: the local store (``store.url``; SQLite default, PostgreSQL for many workers/replicas),
optionally in a PostgreSQL schema (``gateway.store_schema``), migrated once unless told otherwise."""

from __future__ import annotations

import os
from typing import Any

from bedrockctl.server.gateway.options import GatewayOptions


def open_engine(settings: Any, opts: GatewayOptions | None = None, *, migrate: bool | None = None) -> Any:
    from bedrockctl.paths import default_store_url
    from bedrockctl.store import Store

    raw = dict(getattr(settings, "gateway", {}) or {})
    schema = raw.get("store_schema") or os.environ.get("BEDROCKCTL_GATEWAY_STORE_SCHEMA") or None
    if migrate is None:
        migrate = os.environ.get("BEDROCKCTL_GATEWAY_MIGRATED") != "1"
    store = Store(default_store_url(settings), schema=schema, migrate=migrate)
    return store.engine
