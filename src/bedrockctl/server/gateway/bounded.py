"""Bounded caches for the gateway: a cache keyed by something a caller sends (a model id, an ARN, a key id) must
not grow with the number of distinct values sent, so every such cache holds at most ``MAX_ENTRIES`` entries and
drops its oldest entry (dicts keep insertion order) to make room for a new one."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

MAX_ENTRIES = 4096  # per cache: models x regions, (key, model) pairs and plans in use are far fewer


def remember(cache: dict[K, V], key: K, value: V, limit: int = MAX_ENTRIES) -> V:
    """Store ``value`` under ``key`` in ``cache``, first dropping the oldest entry if the cache is full."""
    if key not in cache and len(cache) >= limit:
        del cache[next(iter(cache))]
    cache[key] = value
    return value
