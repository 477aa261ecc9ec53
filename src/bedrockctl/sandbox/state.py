"""Per-(account, region) state for the sandbox's own handlers, reset together with moto's backends."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class StateStore(Generic[T]):
    """Lazily builds one ``factory(account_id, region)`` object per account and region."""

    def __init__(self, factory: Callable[[str, str], T]) -> None:
        self._factory = factory
        self._items: dict[tuple[str, str], T] = {}
        self._lock = threading.RLock()
        ALL_STORES.append(self)

    def get(self, account_id: str, region: str) -> T:
        key = (account_id, region)
        with self._lock:
            item = self._items.get(key)
            if item is None:
                item = self._items[key] = self._factory(account_id, region)
            return item

    def items(self) -> list[tuple[tuple[str, str], T]]:
        with self._lock:
            return list(self._items.items())

    def reset(self) -> None:
        with self._lock:
            self._items.clear()


ALL_STORES: list[StateStore[Any]] = []


def reset_all() -> None:
    for store in ALL_STORES:
        store.reset()
