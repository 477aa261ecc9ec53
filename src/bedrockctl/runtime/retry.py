"""Retry decisions the way botocore's ``standard`` mode makes them, plus its retry budget (token bucket).

``Retrier.retryable(err, attempt)`` uses botocore's ``StandardRetryConditions`` (transient, throttling and
modelled-retryable errors); ``acquire``/``release`` use botocore's ``RetryQuota`` (500 tokens, 5 per throttled
retry, 14 per other retry, refilled by successes) so a failing upstream cannot multiply the load.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import EndpointConnectionError
from botocore.retries.quota import RetryQuota
from botocore.retries.standard import (
    ExponentialBackoff,
    RetryContext,
    StandardRetryConditions,
    ThrottledRetryableChecker,
)

from bedrockctl.runtime.wire import AwsCallError, operation_model

THROTTLE_COST = 5
RETRY_COST = 14
NO_RETRY_INCREMENT = 1
# Errors that say "this route, not this request": worth another region or model.
FAILOVER_CODES = {
    "ModelNotReadyException",
    "ModelTimeoutException",
    "ServiceUnavailableException",
    "InternalServerException",
    "ModelErrorException",
    "ModelStreamErrorException",
}


@dataclass
class _Http:
    status_code: int
    headers: dict[str, str]


def _context(err: AwsCallError, attempt: int) -> RetryContext:
    service = "bedrock-agent-runtime" if err.operation == "InvokeAgent" else "bedrock-runtime"
    try:
        op = operation_model(service, err.operation) if err.operation else None
    except Exception:  # pragma: no cover - unknown operation name
        op = None
    if err.transport:
        return RetryContext(attempt, op, caught_exception=EndpointConnectionError(endpoint_url=err.region))
    return RetryContext(
        attempt,
        op,
        parsed_response={"Error": {"Code": err.code, "Message": err.message}},
        http_response=_Http(err.status or 500, {}),
    )


class Retrier:
    def __init__(self, max_attempts: int = 5, quota: RetryQuota | None = None, base_delay: float = 1.0) -> None:
        self.max_attempts = max_attempts
        self.quota = quota or RetryQuota()
        self._conditions = StandardRetryConditions(max_attempts=max_attempts)
        self._throttle = ThrottledRetryableChecker()
        self._backoff = ExponentialBackoff(max_backoff=20, random=lambda: random.random() * base_delay)

    def retryable(self, err: AwsCallError, attempt: int) -> bool:
        ctx = _context(err, attempt)
        return bool(self._conditions.is_retryable(ctx)) or (err.code in FAILOVER_CODES and attempt < self.max_attempts)

    def is_throttle(self, err: AwsCallError) -> bool:
        return bool(self._throttle.is_retryable(_context(err, 1)))

    def acquire(self, err: AwsCallError) -> int:
        """Take the budget for one retry; 0 when the budget is exhausted."""
        cost = THROTTLE_COST if self.is_throttle(err) else RETRY_COST
        return cost if self.quota.acquire(cost) else 0

    def release(self, acquired: int) -> None:
        self.quota.release(acquired or NO_RETRY_INCREMENT)

    def delay(self, err: AwsCallError, attempt: int) -> float:
        return float(self._backoff.delay_amount(_context(err, attempt)))

    @property
    def available(self) -> Any:
        return self.quota.available_capacity
