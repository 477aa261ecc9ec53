"""What an alert is: a budget threshold crossed in a window, with the body its channels deliver."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bedrockctl.store.alerts import AlertKey


@dataclass(frozen=True)
class Alert:
    scope: str  # the budget: budget:env:prod, budget:team:ml, budget:key:BGK...
    window: str  # the budget's window: m2026-06 (month), d2026-06-14 (day)
    threshold: float  # percent of the budget
    subject: str  # one line (the SNS subject)
    body: dict[str, Any] = field(default_factory=dict)  # what a webhook receives as JSON (and SNS as the message)

    def key(self, channel: str) -> AlertKey:
        return AlertKey(self.scope, self.window, float(self.threshold), channel)


@dataclass(frozen=True)
class Outcome:
    """What became of one alert on one channel in this call."""

    alert: Alert
    channel: str
    status: str  # sent | failed | already_sent | given_up | pending (another sender has it, or it awaits a retry)
    attempts: int = 0
    receipt: str | None = None
    error: str | None = None

    @property
    def settled(self) -> bool:
        """Nothing more to do for it in this window (delivered by us or another sender, or given up)."""
        return self.status in ("sent", "already_sent", "given_up")


def crossed(pct: float | None, thresholds: Iterable[float]) -> list[float]:
    """The thresholds (percent) that ``pct`` has reached, in ascending order; none when the percentage is unknown."""
    if pct is None:
        return []
    return sorted(float(t) for t in thresholds if pct >= float(t))


def month_window(period: str) -> str:
    """The window id of a calendar month ``YYYY-MM`` (the gateway's budget counters use the same ids)."""
    return f"m{period}"


def budget_scope(kind: str, name: str) -> str:
    """The scope of a budget: ``budget:env:prod``, ``budget:team:ml``, ``budget:user:ana``, ``budget:key:BGK...``."""
    return f"budget:{kind}:{name}"
