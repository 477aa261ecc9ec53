"""The budget backstop's actions (branch ``jobs``, migration ``0001_jobs``): one row per environment budget window
and principal whose direct (ingested) usage tripped the budget -- what was done (an alert, or a deny policy with the
exact IAM calls made) and when it was lifted. The unique (environment, window, principal) makes each principal be
acted on once per window, and keeps a principal released by hand from being denied again in the same window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bedrockctl.store.jobs import iso_time
from bedrockctl.store.schema import metadata

ACTIVE, RELEASED, ALERTED, FAILED = "active", "released", "alerted", "failed"

backstop_actions = sa.Table(
    "backstop_actions",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("environment", sa.String(200), nullable=False),
    sa.Column("win", sa.String(40), nullable=False),  # m2026-12 (month) or d2026-12-05 (day)
    sa.Column("principal_arn", sa.String(400), nullable=False),  # the caller as CloudTrail / the logs name it
    sa.Column("action", sa.String(20), nullable=False),  # alert | deny
    sa.Column("status", sa.String(20), nullable=False),  # active | released | alerted | failed
    sa.Column("spent_usd", sa.String(40), nullable=False),  # the principal's direct spend in the window
    sa.Column("calls", sa.JSON, nullable=False),  # the IAM calls made to deny, then to release
    sa.Column("expires_at", sa.Float, nullable=False),  # the window's end: lifted then
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("released_at", sa.Float),
    sa.Column("released_by", sa.String(60)),  # window-end | command | ...
    sa.Column("error", sa.Text),
    sa.UniqueConstraint("environment", "win", "principal_arn", name="uq_backstop_actions_env_win_principal"),
    sa.Index("ix_backstop_actions_status", "status"),
)


@dataclass(frozen=True)
class Action:
    id: int
    environment: str
    window: str
    principal_arn: str
    action: str
    status: str
    spent_usd: str
    calls: list[dict[str, Any]]
    expires_at: float
    created_at: float
    released_at: float | None
    released_by: str | None
    error: str | None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "environment": self.environment,
            "window": self.window,
            "principal": self.principal_arn,
            "action": self.action,
            "status": self.status,
            "spent_usd": self.spent_usd,
            "expires": iso_time(self.expires_at),
            "created": iso_time(self.created_at),
            "released": iso_time(self.released_at),
            "released_by": self.released_by,
            "calls": self.calls,
            "error": self.error,
        }


class BackstopLedger:
    def __init__(self, engine: Any, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock

    def record(
        self,
        environment: str,
        window: str,
        principal_arn: str,
        *,
        action: str,
        status: str,
        spent_usd: str,
        calls: list[dict[str, Any]],
        expires_at: float,
        error: str | None = None,
    ) -> int | None:
        """Record an action; None when this principal was already acted on in this window (nothing recorded)."""
        try:
            with self.engine.begin() as conn:
                result = conn.execute(
                    backstop_actions.insert().values(
                        environment=environment,
                        win=window,
                        principal_arn=principal_arn,
                        action=action,
                        status=status,
                        spent_usd=spent_usd,
                        calls=calls,
                        expires_at=expires_at,
                        created_at=self.clock(),
                        error=error,
                    )
                )
        except IntegrityError:
            return None
        return int(result.inserted_primary_key[0])

    def exists(self, environment: str, window: str, principal_arn: str) -> bool:
        t = backstop_actions
        q = sa.select(t.c.id).where(
            t.c.environment == environment, t.c.win == window, t.c.principal_arn == principal_arn
        )
        with self.engine.connect() as conn:
            return conn.execute(q).first() is not None

    def mark_released(self, action_id: int, by: str, calls: list[dict[str, Any]]) -> bool:
        """Record the lifting of an active denial (only one caller can: the row must still be active)."""
        t = backstop_actions
        with self.engine.begin() as conn:
            n = conn.execute(
                t.update()
                .where(t.c.id == action_id, t.c.status == ACTIVE)
                .values(status=RELEASED, released_at=self.clock(), released_by=by, calls=calls, error=None)
            ).rowcount
        return bool(n)

    def note(self, action_id: int, *, error: str, status: str | None = None) -> None:
        """Keep the last error of an action (an IAM call that failed); ``status`` changes it too."""
        t = backstop_actions
        values: dict[str, Any] = {"error": error}
        if status:
            values["status"] = status
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == action_id).values(**values))

    def list(
        self, *, status: str | None = None, environment: str | None = None, limit: int | None = 100
    ) -> list[Action]:
        t = backstop_actions
        q = sa.select(t).order_by(t.c.created_at.desc(), t.c.id.desc())
        if status:
            q = q.where(t.c.status == status)
        if environment:
            q = q.where(t.c.environment == environment)
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [_action(r) for r in conn.execute(q).mappings()]


def _action(r: Any) -> Action:
    return Action(
        id=int(r["id"]),
        environment=r["environment"],
        window=r["win"],
        principal_arn=r["principal_arn"],
        action=r["action"],
        status=r["status"],
        spent_usd=r["spent_usd"],
        calls=list(r["calls"] or []),
        expires_at=float(r["expires_at"]),
        created_at=float(r["created_at"]),
        released_at=None if r["released_at"] is None else float(r["released_at"]),
        released_by=r["released_by"],
        error=r["error"],
    )
