"""The one alert service: a crossed budget threshold goes out once per window on each channel, and what became of
it is recorded in the store.

For each channel ``notify`` claims the alert in ``alert_deliveries`` (``AlertLedger.claim``: exactly one sender
wins, across threads, processes and replicas), delivers it with up to ``attempts`` tries and exponential backoff,
then records the outcome: ``sent`` (with the channel's receipt) only after the channel confirmed it, or ``failed``
with the last error and the time of the next round (``retry_after``, doubling per round, at most ``rounds``
rounds; then it stays failed). A failed round is retried by the next ``notify`` for that threshold or by
``retry_due``; a claim whose sender died is taken over once its lease runs out. A sender that dies after the
channel accepted the alert but before the outcome was written makes it go out twice: at-least-once in that case,
exactly once otherwise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bedrockctl.alerts.channels import Channel
from bedrockctl.alerts.model import Alert, Outcome
from bedrockctl.errors import BedrockctlError
from bedrockctl.store.alerts import FAILED, SENT, AlertLedger, Delivery

log = logging.getLogger("bedrockctl.alerts")


@dataclass(frozen=True)
class DeliveryPolicy:
    attempts: int = 3  # tries per round
    backoff: float = 0.5  # seconds before the second try of a round, doubling, at most max_backoff
    max_backoff: float = 8.0
    retry_after: float = 60.0  # a failed round is due again this long after it (doubling per round)
    rounds: int = 5  # rounds before a delivery is given up
    lease: float = 300.0  # a claim older than this is taken over (longer than a round can take)


class AlertService:
    def __init__(
        self,
        ledger: AlertLedger,
        policy: DeliveryPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ledger = ledger
        self.policy = policy or DeliveryPolicy()
        self.sleep = sleep

    def notify(self, alert: Alert, channels: Sequence[Channel]) -> list[Outcome]:
        """Deliver ``alert`` on every channel it has not gone out on yet (in this window)."""
        out = []
        for channel in channels:
            key = alert.key(channel.name)
            token = self.ledger.claim(key, {"subject": alert.subject, **alert.body}, self.policy.lease)
            if token is None:
                out.append(Outcome(alert, channel.name, _elsewhere(self.ledger.get(key))))
                continue
            prior = self.ledger.get(key)
            out.append(self._round(alert, channel, token, prior.attempts if prior else 0))
        return out

    def retry_due(self, resolve: Callable[[Delivery], Channel | None]) -> list[Outcome]:
        """Try again every delivery that is due (a failed round past its retry time, a claim whose sender died);
        ``resolve`` names the channel of a recorded delivery (None: that channel is no longer configured)."""
        out = []
        for due in self.ledger.due():
            channel = resolve(due)
            if channel is None:
                continue
            token = self.ledger.claim(due.key, None, self.policy.lease)
            if token is None:
                continue
            payload = dict(due.payload)
            subject = str(payload.pop("subject", "bedrockctl budget alert"))
            alert = Alert(due.key.scope, due.key.window, due.key.threshold, subject, payload)
            out.append(self._round(alert, channel, token, due.attempts))
        return out

    def _round(self, alert: Alert, channel: Channel, token: str, prior_attempts: int) -> Outcome:
        p = self.policy
        key = alert.key(channel.name)
        error = ""
        for attempt in range(1, p.attempts + 1):
            try:
                receipt = channel.deliver(alert.subject, alert.body)
            except BedrockctlError as exc:
                error = exc.message
                log.warning(
                    "budget alert %s %g%% via %s: attempt %d failed: %s", *_what(alert, channel), attempt, error
                )
                if attempt < p.attempts:
                    self.sleep(min(p.backoff * 2 ** (attempt - 1), p.max_backoff))
                continue
            earlier = error or None
            if not self.ledger.mark_sent(key, token, attempt, receipt, earlier):
                log.warning("budget alert %s %g%% via %s: sent, but the claim had expired", *_what(alert, channel))
            return Outcome(alert, channel.name, "sent", attempt, receipt, earlier)
        rounds = (prior_attempts + p.attempts) // p.attempts
        retry_at = (
            self.ledger.clock() + p.retry_after * 2 ** (rounds - 1) if rounds < p.rounds else None
        )  # None: given up
        self.ledger.mark_failed(key, token, p.attempts, error, retry_at)
        return Outcome(alert, channel.name, "failed", p.attempts, None, error)


def _elsewhere(current: Delivery | None) -> str:
    """Why a claim was refused: sent already (None: before deliveries were recorded per channel), given up after
    its last round, or pending (another sender holds it, or it waits for its retry time)."""
    if current is None or current.status == SENT:
        return "already_sent"
    return "given_up" if current.status == FAILED and current.next_attempt_at is None else "pending"


def _what(alert: Alert, channel: Channel) -> tuple[str, float, str]:
    return alert.scope, alert.threshold, channel.name
