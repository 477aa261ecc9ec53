"""Budget alert deliveries (branch ``gateway``, migration ``0002_gateway``): one row per (budget scope, window,
threshold, channel) -- the claim that makes an alert go out once, and the outcome of sending it.

A sender *claims* a row before it delivers: an ``INSERT`` (the primary key lets exactly one sender win), or, for a
row that exists, a conditional ``UPDATE`` that only succeeds when the row is due again -- a failed delivery whose
``next_attempt_at`` has passed, or a claim whose ``lease_until`` ran out (its sender died). Only the claimant's
``mark_sent`` / ``mark_failed`` (same ``claimed_by`` token) records the outcome, so two workers, processes or
replicas never both deliver one alert on SQLite or PostgreSQL. Times are UNIX seconds (float), like the gateway's.

``channel = '*'`` rows are alerts the gateway sent before deliveries were recorded per channel (copied from the
former ``gateway_alerts`` table by the migration): they count as sent on every channel.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bedrockctl.store.schema import metadata

SENDING, SENT, FAILED = "sending", "sent", "failed"
ANY_CHANNEL = "*"

alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    sa.Column("scope", sa.String(300), primary_key=True),  # budget:env:prod, budget:team:ml, ...
    sa.Column("win", sa.String(40), primary_key=True),  # the budget window: m2026-06, d2026-06-14
    sa.Column("threshold", sa.Float, primary_key=True),  # percent of the budget
    sa.Column("channel", sa.String(300), primary_key=True),  # webhook | sns:<topic arn> | log | *
    sa.Column("status", sa.String(20), nullable=False),  # sending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),  # delivery attempts so far
    sa.Column("claimed_by", sa.String(64)),  # the token of the sender holding the claim
    sa.Column("lease_until", sa.Float),  # a claim older than this is taken over (its sender died)
    sa.Column("next_attempt_at", sa.Float),  # failed: when it may be retried (NULL: given up)
    sa.Column("last_error", sa.Text),
    sa.Column("receipt", sa.String(300)),  # what the channel answered: HTTP status, SNS MessageId
    sa.Column("payload", sa.JSON, nullable=False),  # the alert as delivered
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False, index=True),
    sa.Column("sent_at", sa.Float),
)


@dataclass(frozen=True)
class AlertKey:
    scope: str
    window: str
    threshold: float
    channel: str

    def where(self) -> Any:
        t = alert_deliveries
        return sa.and_(
            t.c.scope == self.scope,
            t.c.win == self.window,
            t.c.threshold == self.threshold,
            t.c.channel == self.channel,
        )


@dataclass(frozen=True)
class Delivery:
    """One recorded delivery, as the console and ``budget status`` show it."""

    key: AlertKey
    status: str
    attempts: int
    last_error: str | None
    receipt: str | None
    payload: dict[str, Any]
    updated_at: float
    sent_at: float | None
    next_attempt_at: float | None
    lease_until: float | None

    @property
    def retrying(self) -> bool:
        return self.status == FAILED and self.next_attempt_at is not None

    def public(self) -> dict[str, Any]:
        return {
            "scope": self.key.scope,
            "window": self.key.window,
            "threshold_pct": self.key.threshold,
            "channel": self.key.channel,
            "environment": self.payload.get("environment"),
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "receipt": self.receipt,
            "time": _iso(self.sent_at if self.sent_at is not None else self.updated_at),
            "next_attempt_at": _iso(self.next_attempt_at) if self.status == FAILED else None,
        }


def _iso(ts: float | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _delivery(m: Any) -> Delivery:
    return Delivery(
        AlertKey(m["scope"], m["win"], float(m["threshold"]), m["channel"]),
        m["status"],
        int(m["attempts"]),
        m["last_error"],
        m["receipt"],
        dict(m["payload"] or {}),
        float(m["updated_at"]),
        m["sent_at"],
        m["next_attempt_at"],
        m["lease_until"],
    )


class AlertLedger:
    """Claims and outcomes of alert deliveries in the store (any engine with the ``alerts`` migration applied)."""

    def __init__(self, engine: Any, *, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock

    def claim(self, key: AlertKey, payload: dict[str, Any] | None, lease: float) -> str | None:
        """Claim ``key`` for delivery: a token for ``mark_sent`` / ``mark_failed``, or None when another sender holds
        it, it was sent, or it waits for its retry time. ``payload`` replaces the stored alert (None keeps it)."""
        t = alert_deliveries
        token = secrets.token_hex(16)
        now = self.clock()
        claimed = {"status": SENDING, "claimed_by": token, "lease_until": now + lease, "updated_at": now}
        if payload is not None:
            claimed["payload"] = payload
        with self.engine.begin() as conn:
            legacy = AlertKey(key.scope, key.window, key.threshold, ANY_CHANNEL)
            if conn.execute(sa.select(t.c.status).where(legacy.where())).first() is not None:
                return None
        if self._insert(key, attempts=0, created_at=now, **{"payload": {}, **claimed}):
            return token
        due = sa.or_(
            sa.and_(t.c.status == FAILED, t.c.next_attempt_at.is_not(None), t.c.next_attempt_at <= now),
            sa.and_(t.c.status == SENDING, t.c.lease_until < now),
        )
        with self.engine.begin() as conn:
            done = conn.execute(t.update().where(key.where(), due).values(**claimed))
        return token if done.rowcount == 1 else None

    def mark_sent(self, key: AlertKey, token: str, attempts: int, receipt: str, error: str | None = None) -> bool:
        """Record a delivery; False when the claim was lost (taken over after its lease ran out)."""
        now = self.clock()
        return self._finish(
            key,
            token,
            attempts,
            status=SENT,
            receipt=receipt[:300],
            sent_at=now,
            next_attempt_at=None,
            last_error=error,
        )

    def mark_failed(self, key: AlertKey, token: str, attempts: int, error: str, retry_at: float | None) -> bool:
        """Record a failed round; ``retry_at`` None means no further attempt (given up)."""
        return self._finish(key, token, attempts, status=FAILED, next_attempt_at=retry_at, last_error=error[:2000])

    def _finish(self, key: AlertKey, token: str, attempts: int, **values: Any) -> bool:
        t = alert_deliveries
        with self.engine.begin() as conn:
            done = conn.execute(
                t.update()
                .where(key.where(), t.c.claimed_by == token)
                .values(
                    attempts=t.c.attempts + attempts,
                    claimed_by=None,
                    lease_until=None,
                    updated_at=self.clock(),
                    **values,
                )
            )
        return bool(done.rowcount == 1)

    def get(self, key: AlertKey) -> Delivery | None:
        with self.engine.connect() as conn:
            row = conn.execute(alert_deliveries.select().where(key.where())).first()
        return None if row is None else _delivery(row._mapping)

    def due(self, limit: int = 100) -> list[Delivery]:
        """Deliveries to try again now: failed ones past their retry time, claims whose sender died."""
        t = alert_deliveries
        now = self.clock()
        q = (
            t.select()
            .where(
                sa.or_(
                    sa.and_(t.c.status == FAILED, t.c.next_attempt_at.is_not(None), t.c.next_attempt_at <= now),
                    sa.and_(t.c.status == SENDING, t.c.lease_until < now),
                )
            )
            .order_by(t.c.updated_at)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_delivery(r._mapping) for r in conn.execute(q)]

    def recent(self, limit: int = 20) -> list[Delivery]:
        t = alert_deliveries
        q = t.select().where(t.c.channel != ANY_CHANNEL).order_by(t.c.updated_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_delivery(r._mapping) for r in conn.execute(q)]

    def of_windows(self, scopes: Iterable[str], windows: Iterable[str]) -> list[Delivery]:
        """Every delivery of these budget scopes in these windows (``budget status`` shows them)."""
        t = alert_deliveries
        q = (
            t.select()
            .where(t.c.scope.in_(list(scopes)), t.c.win.in_(list(windows)))
            .order_by(t.c.scope, t.c.win, t.c.threshold, t.c.channel)
        )
        with self.engine.connect() as conn:
            return [_delivery(r._mapping) for r in conn.execute(q)]

    def record_sent(self, key: AlertKey, payload: dict[str, Any], sent_at: float) -> bool:
        """Record an alert delivered elsewhere (imported history); False when the key already has a row."""
        return self._insert(
            key, status=SENT, attempts=1, payload=payload, created_at=sent_at, updated_at=sent_at, sent_at=sent_at
        )

    def _insert(self, key: AlertKey, **values: Any) -> bool:
        """Insert the row of ``key``; False when it exists (the primary key decides between concurrent senders)."""
        row = {"scope": key.scope, "win": key.window, "threshold": key.threshold, "channel": key.channel, **values}
        try:
            with self.engine.begin() as conn:
                conn.execute(alert_deliveries.insert().values(**row))
            return True
        except sa.exc.IntegrityError:
            return False
