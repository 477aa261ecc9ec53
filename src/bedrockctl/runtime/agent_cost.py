"""What an agent call costs: the sum of the model invocations its trace reports.

An InvokeAgent call bills nothing of its own; Bedrock bills each model invocation the agent makes (orchestration,
pre- and post-processing, knowledge-base generation) at that model's price. The trace says which model each step
invoked (``modelInvocationInput.foundationModel``) and what it used (``modelInvocationOutput.metadata.usage``),
joined by ``traceId``, in the orchestration, pre-processing, post-processing and routing traces. The cost is the sum
of each invocation priced by the one cost function; if any invocation's model is unknown or unpriced, the whole
call is unpriced (``None``) with the reason, never priced in part. The runtime always asks for the trace (it shows
it to the caller only when asked), since without it the call cannot be priced.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bedrockctl.pricing.cost import cost_usd
from bedrockctl.runtime.types import Usage

_STEPS = ("orchestrationTrace", "preProcessingTrace", "postProcessingTrace", "routingClassifierTrace")


class AgentInvocations:
    def __init__(self) -> None:
        self.models: dict[str, str] = {}  # traceId -> foundation model
        self.used: list[tuple[str, Usage]] = []  # (traceId, usage) in order

    def read(self, trace: dict[str, Any]) -> Usage:
        """Record one trace event; the usage it reports (zero for most events)."""
        got = Usage()
        for step in _STEPS:
            part = trace.get(step)
            if not isinstance(part, dict):
                continue
            given = part.get("modelInvocationInput") or {}
            if isinstance(given, dict) and given.get("foundationModel"):
                self.models[str(given.get("traceId", ""))] = str(given["foundationModel"])
            output = part.get("modelInvocationOutput") or {}
            usage = ((output.get("metadata") or {}).get("usage") or {}) if isinstance(output, dict) else {}
            if usage:
                one = Usage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)))
                self.used.append((str(output.get("traceId", "")), one))
                got.input_tokens += one.input_tokens
                got.output_tokens += one.output_tokens
        return got

    def cost(self, prices: Any, region: str) -> tuple[Decimal | None, str]:
        """(exact cost in USD, "") or (None, why it is unpriced)."""
        if not self.used:
            return None, "the agent's trace reported no model invocation"
        if prices is None:
            return None, "no price book"
        total = Decimal(0)
        for trace_id, usage in self.used:
            model = self.models.get(trace_id)
            if model is None:
                return None, f"the trace names no model for invocation {trace_id or '?'}"
            price = prices.price_for(model, region)
            if price is None:
                return None, f"no price for {model} in {region}"
            total += cost_usd(price, usage)
        return total, ""
