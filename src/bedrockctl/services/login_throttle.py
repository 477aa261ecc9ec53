"""Console sign-in throttling: exponential back-off per user and client address, kept in the store's database so
that every worker of ``bedrockctl serve`` -- and every replica sharing a PostgreSQL store -- applies the same limits.

Each attempt is counted before its password is checked (``begin``), in the same transaction that checks the current
back-off, so concurrent attempts cannot slip past a limit; when the password was wrong the back-off is restarted from
the moment that is known (``failed``). An attempt refused because of back-off is not counted and costs no password
hash. A successful sign-in removes the counts of that user name (``succeeded``).

After ``n`` counted attempts within ``window_seconds`` a key waits ``base_delay * 2**(n - free - 1)`` seconds (none
for the first ``free`` ones), at most its cap:

===================  ====  ============================  ===========================================
key                  free  cap                           stops
===================  ====  ============================  ===========================================
user + address       3     ``max_delay_seconds``         guessing one user's password from one address
address              10    ``max_delay_seconds``         trying many users from one address
user (any address)   10    ``user_max_delay_seconds``    guessing one password from many addresses
===================  ====  ============================  ===========================================

The lock-out trade-off: a back-off on a user name alone would let anybody keep that user out. So the steep back-off
(up to 15 minutes) is per user *and* address -- an attacker's failures do not slow the real user down at their own
address -- and the user-wide back-off, which does, starts only after 10 failures and is capped at 60 s: an attacker
from many addresses can make the real user wait at most that long per attempt, and pays for each of those attempts
with the back-off of their own addresses.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bedrockctl.errors import ConfigError
from bedrockctl.store.schema import metadata

console_login_failures = sa.Table(
    "console_login_failures",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),  # sha256 of the scope and the user name and/or address
    sa.Column("failures", sa.Integer, nullable=False),  # attempts counted within the window
    sa.Column("last_failure_at", sa.Float, nullable=False, index=True),
    sa.Column("blocked_until", sa.Float, nullable=False),
)


@dataclass(frozen=True)
class Rule:
    free: int
    base: float
    cap: float

    def delay(self, failures: int) -> float:
        if failures <= self.free:
            return 0.0
        return min(self.cap, self.base * 2.0 ** min(failures - self.free - 1, 60))


@dataclass
class LoginOptions:
    """``[gateway.login]`` (the section of ``bedrockctl serve``)."""

    max_concurrent_hashes: int = 2  # password hashes at once per process; argon2id uses 64 MiB each
    max_waiting: int = 8  # attempts waiting for a hash slot at most; more are refused at once (503)
    hash_wait_seconds: float = 3.0  # how long an attempt waits for a slot before 503 + Retry-After
    free_failures: int = 3  # per user + address, before any back-off
    address_free_failures: int = 10
    user_free_failures: int = 10
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 900.0
    user_max_delay_seconds: float = 60.0
    window_seconds: float = 900.0  # failures older than this are forgotten

    @classmethod
    def from_settings(cls, settings: Any) -> LoginOptions:
        raw = (getattr(settings, "gateway", None) or {}).get("login") or {}
        if not isinstance(raw, dict):
            raise ConfigError("gateway.login is invalid; expected a table of keys")
        out = cls()
        for key, value in raw.items():
            if key not in cls.__dataclass_fields__:
                raise ConfigError(
                    f"gateway.login.{key} is not a setting; expected one of {', '.join(cls.__dataclass_fields__)}"
                )
            kind = int if isinstance(getattr(out, key), int) else float
            try:
                number = kind(value)
            except (TypeError, ValueError):
                number = -1
            if number < 0 or (key == "max_concurrent_hashes" and number < 1):
                raise ConfigError(f"gateway.login.{key} = {value!r} is invalid; expected a positive number")
            setattr(out, key, number)
        return out


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


class LoginThrottle:
    def __init__(self, engine: Any, options: LoginOptions | None = None, clock: Callable[[], float] = time.time):
        self.engine = engine
        self.opts = options or LoginOptions()
        self.clock = clock

    def _keys(self, username: str, address: str) -> list[tuple[str, Rule]]:
        o = self.opts
        keys = [
            (_key("pair", username, address), Rule(o.free_failures, o.base_delay_seconds, o.max_delay_seconds)),
            (_key("addr", address), Rule(o.address_free_failures, o.base_delay_seconds, o.max_delay_seconds)),
            (_key("user", username), Rule(o.user_free_failures, o.base_delay_seconds, o.user_max_delay_seconds)),
        ]
        return sorted(keys)  # one lock order for every transaction

    def wait_for(self, username: str, address: str) -> float:
        """Seconds this user name at this address must wait before the next attempt (0: may try now)."""
        t = console_login_failures
        keys = [k for k, _ in self._keys(username, address)]
        with self.engine.connect() as conn:
            until = conn.execute(sa.select(sa.func.max(t.c.blocked_until)).where(t.c.key.in_(keys))).scalar()
        return max(0.0, float(until or 0.0) - self.clock())

    def begin(self, username: str, address: str) -> float:
        """Count an attempt that is about to check a password; returns 0, or the seconds to wait when a back-off
        is running (then nothing is counted)."""
        now = self.clock()
        insert: Any = _dialect_insert(self.engine)
        try:
            with self.engine.begin() as conn:
                self._count(conn, insert, username, address, now)
        except _Refused as refused:  # rolled back: not counted
            return refused.wait
        return 0.0

    def _count(self, conn: Any, insert: Any, username: str, address: str, now: float) -> None:
        """Count the attempt on its three keys; ``_Refused`` (the caller rolls back) when a back-off runs."""
        t = console_login_failures
        window = now - self.opts.window_seconds
        counted = []
        for key, rule in self._keys(username, address):
            stmt = insert(t).values(key=key, failures=1, last_failure_at=now, blocked_until=0.0)
            stmt = stmt.on_conflict_do_update(
                index_elements=[t.c.key],
                set_={
                    "failures": sa.case((t.c.last_failure_at < window, 1), else_=t.c.failures + 1),
                    "last_failure_at": now,
                },
            ).returning(t.c.failures, t.c.blocked_until)
            row = conn.execute(stmt).one()
            counted.append((key, rule, int(row.failures), float(row.blocked_until)))
        wait = max(until for *_, until in counted) - now
        if wait > 0:
            raise _Refused(wait)
        for key, rule, failures, _ in counted:
            delay = rule.delay(failures)
            if delay:
                conn.execute(t.update().where(t.c.key == key).values(blocked_until=now + delay))
        conn.execute(t.delete().where(t.c.last_failure_at < window, t.c.blocked_until < now))

    def failed(self, username: str, address: str) -> None:
        """The password was wrong: the back-off ``begin`` started runs from now (the check itself takes time)."""
        t = console_login_failures
        now = self.clock()
        keys = self._keys(username, address)
        with self.engine.begin() as conn:
            counts = dict(conn.execute(sa.select(t.c.key, t.c.failures).where(t.c.key.in_([k for k, _ in keys]))).all())
            for key, rule in keys:
                delay = rule.delay(int(counts.get(key, 0)))
                if delay:
                    conn.execute(
                        t.update()
                        .where(t.c.key == key, t.c.blocked_until < now + delay)
                        .values(blocked_until=now + delay)
                    )

    def succeeded(self, username: str, address: str) -> None:
        """The password was right: forget the user's failures; the address keeps its others."""
        t = console_login_failures
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c.key.in_([_key("pair", username, address), _key("user", username)])))
            conn.execute(
                t.update()
                .where(t.c.key == _key("addr", address))
                .values(failures=sa.case((t.c.failures > 0, t.c.failures - 1), else_=0))
            )


class _Refused(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


def _dialect_insert(engine: Any) -> Any:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert
