"""When a call costs more than it reserved: charge it, close its budgets for the rest of the window, raise an alert.

Reservations are upper bounds (``input_estimate.py``, the caller's output limit), so this should not happen; when it
does (a tokenizer that beats the estimator's ratios), the excess is charged in full (``Counters.settle`` books what
the call consumed) and every budget the call counted against is closed until its window ends:

- on this worker at once (``closed``, checked by ``Gateway.admit`` before anything is reserved);
- for every worker and replica by one write to the shared counter row: ``reserved`` grows by ``CLOSED`` (2**60
  nano-USD), so the conditional ``UPDATE`` that grants reservations (``used + reserved + x <= cap``) refuses every
  later one; later settlements only add and subtract around it. Another worker that still holds a local lease on
  that budget learns of the closure at its next flush (``note_read``, from the alert check's read of the row);
- an alert goes to the alert service (log, webhook, SNS) once per budget and window, with the threshold
  ``OVERSHOOT_THRESHOLD`` and the type ``bedrockctl.budget_overshoot``.

The worst case is therefore the excess of the calls already in flight when the first excess settles (each bounded
by the model's context window times its input price, since input is all that is estimated); see docs/gateway.md.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import text

from bedrockctl.alerts import Alert
from bedrockctl.server.gateway import errors
from bedrockctl.server.gateway.counters import CounterSpec, Key, Reservation

log = logging.getLogger("bedrockctl.gateway")
CLOSED = 1 << 60
OVERSHOOT_THRESHOLD = -1.0
NANO = 1_000_000_000
_CLOSE = text("UPDATE gateway_counters SET reserved = reserved + :c WHERE scope = :s AND win = :w AND reserved < :c")


def is_closed(reserved: int) -> bool:
    """Whether a counter row's ``reserved`` carries the closure mark."""
    return reserved >= CLOSED


class OvershootGuard:
    def __init__(self, engine: Any, alerter: Any) -> None:
        self.engine = engine
        self.alerter = alerter
        self.closed: set[Key] = set()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def check(self, specs: list[CounterSpec]) -> None:
        """Refuse a request that counts against a budget closed in this window."""
        if self.closed:
            for spec in specs:
                if spec.key in self.closed:
                    raise closed_error(spec)

    def settled(self, reservation: Reservation, actual: dict[str, int], environment: str) -> list[Future[None]]:
        """After ``Counters.settle``: close every budget whose reservation the call's cost exceeded."""
        jobs: list[Future[None]] = []
        cost = actual.get("budget", 0)
        for spec, reserved in reservation.items:
            if spec.kind != "budget" or cost <= reserved or spec.key in self.closed:
                continue
            self.closed.add(spec.key)
            log.error(
                "call cost %d nano-USD against a reservation of %d on %s; closing it until %s",
                cost,
                reserved,
                spec.label,
                errors.iso(spec.resets_at),
            )
            jobs.append(self._submit(self._close, spec, cost, reserved, environment))
        return jobs

    def note_read(self, values: dict[Key, tuple[int, int, int]]) -> None:
        """Counter rows read elsewhere (``used, reserved, cap``): learn of closures made by other workers."""
        for key, (_used, reserved, _cap) in values.items():
            if is_closed(reserved):
                self.closed.add(key)

    def _close(self, spec: CounterSpec, cost: int, reserved: int, environment: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(_CLOSE, {"c": CLOSED, "s": spec.scope, "w": spec.win})
        body = {
            "type": "bedrockctl.budget_overshoot",
            "budget": spec.label,
            "scope": spec.scope,
            "window": spec.win,
            "environment": environment,
            "call_cost_usd": cost / NANO,
            "reserved_usd": reserved / NANO,
            "excess_usd": (cost - reserved) / NANO,
            "limit_usd": spec.limit,
            "closed_until": errors.iso(spec.resets_at),
        }
        subject = f"bedrockctl budget closed: a call overspent its reservation on {spec.label}"
        alert = Alert(spec.scope, spec.win, OVERSHOOT_THRESHOLD, subject, body)
        self.alerter.service.notify(alert, self.alerter.channels(environment))

    def _submit(self, fn: Any, *args: Any) -> Future[None]:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bedrockctl-overshoot")
        future: Future[None] = self._pool.submit(fn, *args)
        future.add_done_callback(_log_failure)
        return future

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def closed_error(spec: CounterSpec) -> errors.GatewayError:
    return errors.over_budget(spec.label, spec.limit, 100.0, spec.resets_at, spec.scope, closed=True)


def _log_failure(future: Future[None]) -> None:
    exc = future.exception()
    if exc is not None:  # the in-memory closure stands; the row is marked by the next overshoot or not at all
        log.error("closing an overspent budget failed", exc_info=exc)
