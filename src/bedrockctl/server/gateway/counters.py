"""Counters shared by every worker and replica: budgets (nano-USD), request and token rate limits.

The database row ``(scope, win)`` holds ``cap``, ``used`` (settled) and ``reserved`` (in flight or leased).
The only write that can grow ``reserved`` is an atomic conditional update,
``UPDATE ... SET reserved = reserved + :x WHERE used + reserved + :x <= cap RETURNING ...``, so that the sum
never passes the cap whatever the number of workers and replicas (row locks on PostgreSQL, the write lock on
SQLite). All counters of one request are grabbed in one transaction, all or nothing, in key order.

To keep the hot path free of I/O, a worker may grab a *lease*: a bit more than the request needs (a fraction of
the headroom it saw last), then serve the next reservations from it locally. Settlements and unused leases go
back to the database in batches. Near a cap the headroom, hence the lease, shrinks to nothing and every request
goes to the database: exact at the limit, cheap far from it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from bedrockctl.store.leases import hold

log = logging.getLogger("bedrockctl.gateway")

Key = tuple[str, str]


@dataclass(frozen=True)
class CounterSpec:
    scope: str  # budget:env:prod | budget:team:ml | rpm:key:BGK... | tpd:env:prod ...
    win: str  # window id
    cap: int  # the hard stop (nano-USD, requests or tokens)
    resets_at: float  # epoch seconds when the window ends
    kind: str  # budget | requests | tokens
    label: str  # "team 'ml' monthly budget"
    limit: float = 0.0  # the configured limit (USD, requests or tokens), for messages and alerts
    key: Key = field(init=False, compare=False, repr=False)  # (scope, win), computed once (hot path)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.scope, self.win))


_UPDATE = text(
    "UPDATE gateway_counters SET reserved = reserved + :x, cap = :cap "
    "WHERE scope = :s AND win = :w AND used + reserved + :x <= :cap RETURNING cap - used - reserved"
)
_INSERT = text(
    "INSERT INTO gateway_counters (scope, win, cap, used, reserved, resets_at) VALUES (:s, :w, :cap, 0, 0, :r) "
    "ON CONFLICT (scope, win) DO NOTHING"
)
_APPLY = text("UPDATE gateway_counters SET used = used + :u, reserved = reserved + :r WHERE scope = :s AND win = :w")


class _Rollback(Exception):
    def __init__(self, spec: CounterSpec) -> None:
        self.spec = spec


class SqlCounters:
    """The shared truth (SQLite for one node, PostgreSQL for many)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.owner: str | None = None  # the worker whose lease holds what this grabs (bedrockctl.store.leases)

    def grab(self, items: Sequence[tuple[CounterSpec, int]]) -> tuple[CounterSpec | None, dict[Key, int]]:
        """Reserve every ``(spec, amount)`` or none; returns (the spec that refused, headroom left per key)."""
        left: dict[Key, int] = {}
        try:
            with self.engine.begin() as conn:
                for spec, amount in sorted(items, key=lambda it: it[0].key):
                    params = {"x": amount, "cap": spec.cap, "s": spec.scope, "w": spec.win}
                    row = conn.execute(_UPDATE, params).first()
                    if row is None:
                        conn.execute(_INSERT, {"s": spec.scope, "w": spec.win, "cap": spec.cap, "r": spec.resets_at})
                        row = conn.execute(_UPDATE, params).first()
                    if row is None:
                        raise _Rollback(spec)
                    left[spec.key] = int(row[0])
                if self.owner is not None:
                    hold(conn, self.owner, [(s.scope, s.win, amount) for s, amount in items])
        except _Rollback as rb:
            return rb.spec, left
        return None, left

    def apply(self, deltas: dict[Key, list[int]]) -> None:
        if any(d[0] or d[1] for d in deltas.values()):
            with self.engine.begin() as conn:
                self.apply_in(conn, deltas)

    def apply_in(self, conn: Any, deltas: dict[Key, list[int]]) -> None:
        """``apply`` inside the caller's transaction (the audit commit settles counters with its rows)."""
        live = [(k, d) for k, d in sorted(deltas.items()) if d[0] or d[1]]
        if live:
            conn.execute(_APPLY, [{"s": k[0], "w": k[1], "u": d[0], "r": d[1]} for k, d in live])
            if self.owner is not None:
                hold(conn, self.owner, [(k[0], k[1], d[1]) for k, d in live])

    def read(self, keys: Sequence[Key]) -> dict[Key, tuple[int, int, int]]:
        """``{key: (used, reserved, cap)}``."""
        out: dict[Key, tuple[int, int, int]] = {}
        if not keys:
            return out
        stmt = text("SELECT used, reserved, cap FROM gateway_counters WHERE scope = :s AND win = :w")
        with self.engine.connect() as conn:
            for k in keys:
                row = conn.execute(stmt, {"s": k[0], "w": k[1]}).first()
                if row is not None:
                    out[k] = (int(row[0]), int(row[1]), int(row[2]))
        return out


@dataclass
class _Lease:
    held: int = 0  # reserved in the database, not yet given to a request
    headroom: int = -1  # cap - used - reserved when last seen (-1: unknown)
    last_used: float = field(default_factory=time.monotonic)


class Refused(Exception):
    def __init__(self, spec: CounterSpec) -> None:
        super().__init__(spec.label)
        self.spec = spec


@dataclass
class Reservation:
    items: list[tuple[CounterSpec, int]]
    settled: bool = False


class Counters:
    """A worker's view: local leases over ``SqlCounters`` plus batched settlement."""

    def __init__(self, store: SqlCounters, *, lease_fraction: float = 0.05, idle_seconds: float = 1.0) -> None:
        self.store = store
        self.lease_fraction = lease_fraction
        self.idle_seconds = idle_seconds
        self._leases: dict[Key, _Lease] = {}
        self._pending: dict[Key, list[int]] = {}  # key -> [used delta, reserved delta]
        self._inflight: dict[Key, asyncio.Future[None]] = {}
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gw-counters")

    async def reserve(self, items: list[tuple[CounterSpec, int]]) -> Reservation:
        leases = self._leases
        # the usual case, in one pass: every counter's local lease covers the request (what the loop below returns
        # on when nothing is short, without its lists)
        held: list[_Lease] = []
        for spec, amount in items:
            lease = leases.get(spec.key)
            if lease is None or lease.held < amount:
                break
            held.append(lease)
        else:
            now = time.monotonic()
            for lease, (_, amount) in zip(held, items, strict=True):
                lease.held -= amount
                lease.last_used = now
            return Reservation(list(items))
        grabs = 0
        while True:
            short: list[tuple[CounterSpec, int, int]] = []
            for spec, amount in items:
                lease = leases.get(spec.key)
                if lease is None:
                    lease = leases[spec.key] = _Lease()
                if lease.held < amount:
                    extra = int(lease.headroom * self.lease_fraction) if lease.headroom > 0 else 0
                    short.append((spec, amount - lease.held, extra))
            pending = [self._inflight[s.key] for s, _, _ in short if s.key in self._inflight]
            if pending:  # another request is already grabbing for these counters: share its lease
                await asyncio.wait(pending)
                continue
            if not short:
                now = time.monotonic()
                for spec, amount in items:
                    lease = leases[spec.key]
                    lease.held -= amount
                    lease.last_used = now
                return Reservation(list(items))
            grabs += 1
            if grabs > 8:  # pragma: no cover - other requests kept taking what this one grabbed
                raise Refused(short[0][0])
            await self._grab(short)

    async def _grab(self, short: list[tuple[CounterSpec, int, int]]) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        keys = [s.key for s, _, _ in short]
        for k in keys:
            self._inflight[k] = done
        try:
            wanted = [(s, need + extra) for s, need, extra in short]
            refused, left = await loop.run_in_executor(self._pool, self.store.grab, wanted)
            if refused is not None and any(extra for _, _, extra in short):
                wanted = [(s, need) for s, need, _ in short]
                refused, left = await loop.run_in_executor(self._pool, self.store.grab, wanted)
        finally:
            for k in keys:
                if self._inflight.get(k) is done:
                    del self._inflight[k]
            done.set_result(None)
        for key, headroom in left.items():
            self._leases.setdefault(key, _Lease()).headroom = headroom
        if refused is not None:
            self._leases.setdefault(refused.key, _Lease()).headroom = 0
            raise Refused(refused)
        for spec, amount in wanted:
            self._leases.setdefault(spec.key, _Lease()).held += amount

    def settle(self, res: Reservation, actual: dict[str, int]) -> list[tuple[str, str, int]]:
        """Record what the call really consumed (per kind); the rest goes back to the local lease. Returns what it
        consumed per counter, ``(scope, window, used)`` (the journal's record of the settlement); ``[]`` when
        ``res`` was settled already."""
        if res.settled:
            return []
        res.settled = True
        pending, leases = self._pending, self._leases
        out: list[tuple[str, str, int]] = []
        for spec, reserved in res.items:
            used = actual.get(spec.kind, 0)
            key = spec.key
            delta = pending.get(key)
            if delta is None:
                delta = pending[key] = [0, 0]
            delta[0] += used
            delta[1] -= min(used, reserved)
            if reserved > used:
                lease = leases.get(key)
                if lease is None:
                    lease = leases[key] = _Lease()
                lease.held += reserved - used
            out.append((spec.scope, spec.win, used))
        return out

    def _release_idle(self, everything: bool = False) -> None:
        now = time.monotonic()
        for key, lease in list(self._leases.items()):
            if lease.held and (everything or now - lease.last_used > self.idle_seconds):
                self._pending.setdefault(key, [0, 0])[1] -= lease.held
                lease.held = 0
                lease.headroom = -1
            if not lease.held and now - lease.last_used > 10 * self.idle_seconds:
                del self._leases[key]

    def take_pending(self, everything: bool = False) -> dict[Key, list[int]]:
        self._release_idle(everything)
        pending, self._pending = self._pending, {}
        return pending

    def restore(self, pending: dict[Key, list[int]]) -> None:
        """Put back deltas taken by ``take_pending`` that could not be written (retried by the next flush)."""
        for k, d in pending.items():
            cur = self._pending.setdefault(k, [0, 0])
            cur[0] += d[0]
            cur[1] += d[1]

    def close(self) -> None:
        pending = self.take_pending(everything=True)
        if pending:
            self.store.apply(pending)
        self._pool.shutdown(wait=False)
