"""Prompt routers at the gateway: a call is reserved at the dearest of the router's models and settled at the
model that served it.

A router ARN (``default-prompt-router/...`` or ``prompt-router/...``) names no model: Bedrock picks one of the
router's models per request and says which in the response (Converse: ``trace.promptRouter.invokedModelId``;
ConverseStream: the same in the ``metadata`` event). The router's models come from ``GetPromptRouter``
(``aws.inference_profiles.ProfileResolver``, cached). Before the call the budget reservation takes the worst case
over all of them, so a budget cannot be overspent whichever the router picks; afterwards the cost is the invoked
model's. InvokeModel's native body names no invoked model (AWS documents none), so such a call settles at the
dearest of the router's models for its usage: an upper bound, never an under-charge.
"""

from __future__ import annotations

import logging
from typing import Any

from bedrockctl.aws.inference_profiles import ProfileResolver, is_router_arn
from bedrockctl.pricing.cost import Rates, TokenCounts, cost_nusd
from bedrockctl.server.gateway.bounded import remember

log = logging.getLogger("bedrockctl.gateway")

__all__ = ["RouterPricing", "invoked_model", "is_router_arn", "served_model"]


def invoked_model(payload: Any) -> str | None:
    """``trace.promptRouter.invokedModelId`` of a Converse response or a ConverseStream ``metadata`` event."""
    trace = payload.get("trace") if isinstance(payload, dict) else None
    router = trace.get("promptRouter") if isinstance(trace, dict) else None
    value = router.get("invokedModelId") if isinstance(router, dict) else None
    return value if isinstance(value, str) and value else None


def served_model(invoked: str) -> str:
    """The model id an audit row records for an invoked model ARN (``us.meta.llama3-1-8b-instruct-v1:0``)."""
    return invoked.rsplit("/", 1)[-1] if invoked.startswith("arn:") else invoked


class RouterPricing:
    """Rates of a router's models (``prices``: the runtime's ``PriceBook``), cached per model and Region."""

    def __init__(self, profiles: ProfileResolver, prices: Any) -> None:
        self.profiles = profiles
        self.prices = prices
        self._rates: dict[tuple[str, str], Rates | None] = {}

    def model_rates(self, model_ref: str, region: str) -> Rates | None:
        """A router model (inference-profile, foundation-model or application-profile ARN, or an id)."""
        ck = (model_ref, region)
        if ck not in self._rates:
            price = self.prices.price_for(model_ref, region) if self.prices is not None else None
            if price is None and ":application-inference-profile/" in model_ref and self.prices is not None:
                resolved = self.profiles.resolve(model_ref)
                if resolved is not None:
                    tier = "global" if resolved.global_routing else "on_demand"
                    price = self.prices.price(resolved.model_id, resolved.region, tier)
            remember(self._rates, ck, None if price is None else Rates.of(price))
        return self._rates[ck]

    def candidates(self, arn: str) -> list[Rates] | None:
        """The rates of every model the router may pick; None when the router cannot be read or one of its models
        has no price (then the call is unpriced: a budget cannot bound it)."""
        resolved = self.profiles.resolve(arn)
        if resolved is None:
            return None
        out = []
        for ref, region in zip(resolved.model_arns, resolved.model_regions, strict=True):
            rates = self.model_rates(ref, region)
            if rates is None:
                log.warning("prompt router %s: its model %s in %s is unpriced", arn, ref, region)
                return None
            out.append(rates)
        return out

    def invoked_rates(self, arn: str, region: str, invoked: str) -> Rates | None:
        """The rates of the model the router says it invoked (in the router's Region when the ARN has none)."""
        parts = invoked.split(":")
        return self.model_rates(
            invoked, parts[3] if invoked.startswith("arn:") and len(parts) > 3 and parts[3] else region
        )

    def cost_nusd(self, arn: str, region: str, usage: TokenCounts, invoked: str | None) -> int:
        """A router call's cost in nano-USD: at the ``invoked`` model; unknown, at the dearest of the router's
        models for this usage, as when the invoked model has no price (0 when the router is unpriced)."""
        if invoked is not None:
            rates = self.invoked_rates(arn, region, invoked)
            if rates is not None:
                return cost_nusd(rates, usage)
            log.warning("prompt router %s invoked %s, which has no price: charged at its dearest model", arn, invoked)
        return max((cost_nusd(c, usage) for c in self.candidates(arn) or []), default=0)
