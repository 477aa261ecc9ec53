"""Response cache: exact match on the model and a canonical hash of the request, with a TTL.

Only complete, successful answers are stored (never errors, never a stream that did not finish). Backends:
``SqlCache`` (the store's ``response_cache`` table; SQLite by default) and ``RedisCache`` (``runtime.cache.url``
= ``redis://...``).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Protocol

from sqlalchemy import delete, select


def cache_key(operation: str, model: str, request: Any) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces) of operation + model + request."""
    doc = {"op": operation, "model": model, "request": request}
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)
    return hashlib.sha256(raw.encode()).hexdigest()


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return hashlib.sha256(value).hexdigest()
    return str(value)


class ResponseCache(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, model: str, value: dict[str, Any], ttl: int) -> None: ...


class SqlCache:
    def __init__(self, engine: Any, clock: Any = time.time) -> None:
        from bedrockctl.runtime.tables import ensure_tables

        self.engine = engine
        self.clock = clock
        ensure_tables(engine)

    def get(self, key: str) -> dict[str, Any] | None:
        from bedrockctl.runtime.tables import response_cache as t

        now = self.clock()
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c.body, t.c.expires).where(t.c.key == key)).first()
        if row is None or row.expires <= now:
            return None
        value: dict[str, Any] = json.loads(row.body)
        return value

    def put(self, key: str, model: str, value: dict[str, Any], ttl: int) -> None:
        from bedrockctl.runtime.tables import response_cache as t

        now = self.clock()
        body = json.dumps(value).encode()
        with self.engine.begin() as conn:
            conn.execute(delete(t).where((t.c.key == key) | (t.c.expires <= now)))
            conn.execute(t.insert().values(key=key, model=model, created=now, expires=now + ttl, body=body))


class RedisCache:
    def __init__(self, url: str, prefix: str = "bedrockctl:rc:") -> None:
        import redis  # type: ignore[import-not-found,unused-ignore]  # optional: bedrockctl[redis]

        self.client = redis.Redis.from_url(url)
        self.prefix = prefix

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self.client.get(self.prefix + key)
        return None if raw is None else dict(json.loads(raw))

    def put(self, key: str, model: str, value: dict[str, Any], ttl: int) -> None:
        self.client.set(self.prefix + key, json.dumps(value).encode(), ex=max(int(ttl), 1))
