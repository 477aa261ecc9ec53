"""Worker leases on reservations: every gateway worker registers in ``gateway_workers`` and renews its lease
(``expires_at``); what it reserves in ``gateway_counters`` is mirrored, in the same transaction, in
``gateway_holds`` (per worker and counter). So when a worker dies -- ``kill -9``, a lost node -- what it held can
be given back: ``release`` subtracts its holds from ``reserved`` and forgets the worker, exactly once (the worker's
row is deleted first, ``DELETE ... RETURNING``: a second releaser finds nothing to release).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from typing import Any

from sqlalchemy import text

HoldDelta = tuple[str, str, int]  # (scope, win, reserved delta)

_HOLD = text(
    "INSERT INTO gateway_holds (worker_id, scope, win, reserved) VALUES (:o, :s, :w, :r) "
    "ON CONFLICT (worker_id, scope, win) DO UPDATE SET reserved = gateway_holds.reserved + excluded.reserved"
)
_GIVE_BACK = text(
    "UPDATE gateway_counters SET reserved = CASE WHEN reserved > :r THEN reserved - :r ELSE 0 END "
    "WHERE scope = :s AND win = :w"
)


def hold(conn: Any, worker_id: str, deltas: Iterable[HoldDelta]) -> None:
    """Mirror changes of ``reserved`` made by ``worker_id`` in this transaction."""
    rows = [{"o": worker_id, "s": s, "w": w, "r": r} for s, w, r in deltas if r]
    if rows:
        conn.execute(_HOLD, rows)


def register(engine: Any, worker_id: str, lease_seconds: float, now: float) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO gateway_workers (worker_id, node, pid, started_at, expires_at) "
                "VALUES (:o, :n, :p, :t, :e) ON CONFLICT (worker_id) DO UPDATE SET expires_at = excluded.expires_at"
            ),
            {"o": worker_id, "n": socket.gethostname()[:200], "p": os.getpid(), "t": now, "e": now + lease_seconds},
        )


def renew(engine: Any, worker_id: str, lease_seconds: float, now: float) -> bool:
    """Push the lease out; False if the worker was released meanwhile (its lease had run out)."""
    with engine.begin() as conn:
        done = conn.execute(
            text("UPDATE gateway_workers SET expires_at = :e WHERE worker_id = :o"),
            {"o": worker_id, "e": now + lease_seconds},
        )
        conn.execute(text("DELETE FROM gateway_holds WHERE worker_id = :o AND reserved = 0"), {"o": worker_id})
    return bool(done.rowcount)


def expired(engine: Any, now: float) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT worker_id FROM gateway_workers WHERE expires_at < :t"), {"t": now})
        return [str(r[0]) for r in rows]


def release(engine: Any, worker_id: str, *, expired_before: float | None = None) -> dict[tuple[str, str], int]:
    """Give back everything ``worker_id`` holds and forget it (only if its lease ran out before ``expired_before``,
    when given). Returns what was given back per counter; empty if another releaser got there first."""
    with engine.begin() as conn:
        if expired_before is None:
            gone = conn.execute(
                text("DELETE FROM gateway_workers WHERE worker_id = :o RETURNING worker_id"), {"o": worker_id}
            ).first()
        else:
            gone = conn.execute(
                text("DELETE FROM gateway_workers WHERE worker_id = :o AND expires_at < :t RETURNING worker_id"),
                {"o": worker_id, "t": expired_before},
            ).first()
        if gone is None and expired_before is not None:
            return {}
        holds = conn.execute(
            text("DELETE FROM gateway_holds WHERE worker_id = :o RETURNING scope, win, reserved"), {"o": worker_id}
        ).all()
        given = {(str(s), str(w)): int(r) for s, w, r in holds if r > 0}
        if given:
            conn.execute(_GIVE_BACK, [{"s": s, "w": w, "r": r} for (s, w), r in sorted(given.items())])
    return given


def held(engine: Any) -> dict[str, dict[tuple[str, str], int]]:
    """``{worker_id: {(scope, win): reserved}}`` (for ``bedrockctl`` diagnostics and tests)."""
    out: dict[str, dict[tuple[str, str], int]] = {}
    with engine.connect() as conn:
        for o, s, w, r in conn.execute(text("SELECT worker_id, scope, win, reserved FROM gateway_holds")):
            out.setdefault(str(o), {})[(str(s), str(w))] = int(r)
    return out
