"""One gateway request as the pipeline carries it: the ``Admission`` (who asked, for which model, what was
reserved and which route answered), the worst-case cost its budget reservation holds (``worst_case``), and the
audit records a settled call or a refused request leaves (``call_record``, ``refusal_record``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bedrockctl.pricing.cost import Rates
from bedrockctl.runtime.calls import CallState
from bedrockctl.runtime.resolve import Target
from bedrockctl.runtime.types import Usage
from bedrockctl.server.gateway import errors
from bedrockctl.server.gateway.counters import Reservation
from bedrockctl.server.gateway.routers import served_model
from bedrockctl.store.audit import AuditRecord
from bedrockctl.store.keys import KeyRecord

_GEO = ("us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.", "us-gov.")


@dataclass(slots=True)
class Admission:
    key: KeyRecord
    protocol: str
    operation: str
    requested: str
    model: str
    client: str | None
    request_id: str
    started: float
    state: CallState | None = None
    reservation: Reservation | None = None
    est_tokens: int = 0
    max_tokens: int = 0  # the output limit the call was admitted with (bounds an estimated output)
    target: Target | None = None
    invoked: str | None = None  # the model a prompt router sent the call to, as its response names it
    extra: dict[str, Any] = field(default_factory=dict)


def bare_model_id(model_id: str) -> str:
    for geo in _GEO:
        if model_id.startswith(geo):
            return model_id[len(geo) :]
    return model_id


def worst_case(rates: Rates, est_input: int, max_tokens: int) -> int:
    """The most a call can cost, in nano-USD rounded up, with ``est_input`` prompt tokens billed at the dearest
    input rate (plain, cache read or either cache write) and ``max_tokens`` output: at the long-context rates when
    the prompt may pass the model's threshold."""
    threshold = rates.long_context_threshold
    if rates.long_context is not None and threshold is not None and est_input > threshold:
        rates = rates.long_context
    dearest = max(rates.input, rates.cache_read, rates.cache_write, rates.cache_write_1h or 0)
    total: int = est_input * dearest + max_tokens * rates.output  # in 10**-(scale + 3) USD
    divisor: int = 10 ** (rates.scale - 6)
    return -(-total // divisor)


def call_record(
    adm: Admission, usage: Usage, status: str, http_status: int, cost: int, latency: int, guardrail_units: int
) -> AuditRecord:
    """The audit record of an admitted call, settled at ``cost`` nano-USD."""
    key = adm.key
    target = adm.target
    return AuditRecord(
        time.time(),
        adm.request_id,
        key.key_id,
        key.user,
        key.team,
        key.environment,
        adm.protocol,
        adm.operation,
        adm.requested,
        served_model(adm.invoked) if adm.invoked else target.model_id if target else None,
        target.region if target else None,
        usage.input_tokens,
        usage.output_tokens,
        cost,
        status,
        http_status,
        latency,
        len(adm.state.attempts) if adm.state else 0,
        adm.client,
        guardrail_units=guardrail_units,
    )


def refusal_record(
    key: KeyRecord | None,
    protocol: str,
    operation: str,
    model: str | None,
    client: str | None,
    request_id: str,
    err: errors.GatewayError,
    latency: int,
) -> AuditRecord:
    """The audit record of a request refused before it reached the upstream."""
    return AuditRecord(
        time.time(),
        request_id,
        key.key_id if key else None,
        key.user if key else None,
        key.team if key else None,
        key.environment if key else None,
        protocol,
        operation,
        model,
        None,
        None,
        0,
        0,
        0,
        err.audit_status,
        err.status if protocol == "bedrock" else err.openai_status,
        latency,
        0,
        client,
    )
