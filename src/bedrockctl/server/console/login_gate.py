"""A cap on the password hashes one console process runs at once.

argon2id takes 64 MiB per hash (its defaults), so unbounded concurrent sign-ins grow the process by that much each.
``HashGate.slot()`` lets ``max_concurrent_hashes`` run; up to ``max_waiting`` more wait at most
``hash_wait_seconds`` for a slot; anything beyond is refused at once -- never an unbounded queue. Refusals are
``LoginBusy`` (503 with ``Retry-After``). The cap is per process: a server with W workers hashes at most
W x ``max_concurrent_hashes`` passwords at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bedrockctl.services.errors import LoginBusy
from bedrockctl.services.login_throttle import LoginOptions


class HashGate:
    def __init__(self, options: LoginOptions) -> None:
        self.limit = options.max_concurrent_hashes
        self.max_waiting = options.max_waiting
        self.wait = options.hash_wait_seconds
        self._sem: asyncio.Semaphore | None = None  # made in the server's event loop, on first use
        self._waiting = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.limit)
        sem = self._sem
        if sem.locked() and self._waiting >= self.max_waiting:
            raise LoginBusy(self.wait)
        self._waiting += 1
        try:
            async with asyncio.timeout(self.wait):
                await sem.acquire()
        except TimeoutError:
            raise LoginBusy(self.wait) from None
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            sem.release()
