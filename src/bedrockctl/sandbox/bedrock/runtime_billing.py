"""What a runtime call is billed by, beyond plain tokens: cache TTLs, service tier, latency profile, guardrail units.

Request side (botocore ``bedrock-runtime`` 2023-09-30):

- Converse / ConverseStream: ``serviceTier`` ``{"type": priority|default|flex|reserved}``, ``performanceConfig``
  ``{"latency": standard|optimized}``, ``cachePoint`` ``{"type": "default", "ttl": "5m"|"1h"}`` in tools, system and
  messages;
- InvokeModel*: the ``X-Amzn-Bedrock-Service-Tier`` and ``X-Amzn-Bedrock-PerformanceConfig-Latency`` headers, and
  in Anthropic bodies ``cache_control`` ``{"type": "ephemeral", "ttl": "5m"|"1h"}``.

Response side: Converse ``usage.cacheDetails`` (``[{"ttl", "inputTokens"}]``, the cache writes per TTL),
``serviceTier`` and ``performanceConfig`` (also on the ConverseStream ``metadata`` event); InvokeModel echoes both
headers; Anthropic bodies carry ``usage.cache_creation`` with ``ephemeral_5m_input_tokens`` /
``ephemeral_1h_input_tokens``. Guardrail units per policy come from the guardrail assessments (``GuardrailUsage``).
``CallExtras`` carries all of it to the response and to the invocation record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from bedrockctl.sandbox.core import AwsError

from .formats import Generation
from .runtime_engine import DEFAULT_TTL, TTL_SECONDS, CacheUsage

SERVICE_TIERS = ("priority", "default", "flex", "reserved")
LATENCIES = ("standard", "optimized")
TIER_HEADER = "X-Amzn-Bedrock-Service-Tier"
LATENCY_HEADER = "X-Amzn-Bedrock-PerformanceConfig-Latency"
GUARDRAIL_UNITS = (
    "topicPolicyUnits",
    "contentPolicyUnits",
    "wordPolicyUnits",
    "sensitiveInformationPolicyUnits",
    "sensitiveInformationPolicyFreeUnits",
    "contextualGroundingPolicyUnits",
)


@dataclass
class CallExtras:
    service_tier: str | None = None
    latency: str | None = None
    cache_ttls: list[str] = field(default_factory=list)
    cache_write_by_ttl: dict[str, int] = field(default_factory=dict)
    guardrail_usage: dict[str, int] | None = None

    def cache_details(self) -> list[dict[str, Any]]:
        """``TokenUsage.cacheDetails``: one ``CacheDetail`` per TTL that wrote tokens (1h first, as ordered)."""
        order = sorted(self.cache_write_by_ttl, key=lambda t: -TTL_SECONDS.get(t, 0))
        return [{"ttl": t, "inputTokens": self.cache_write_by_ttl[t]} for t in order if self.cache_write_by_ttl[t]]

    def took(self, gen: Generation) -> None:
        """Keep the cache-write split the engine computed for ``gen``."""
        if isinstance(gen.usage, CacheUsage):
            self.cache_write_by_ttl = dict(gen.usage.cache_write_by_ttl)

    def add_guardrail(self, assessment: Mapping[str, Any]) -> None:
        """Add one assessment's ``invocationMetrics.usage`` (input and output assessments both count)."""
        usage = (assessment.get("invocationMetrics") or {}).get("usage") or {}
        total = self.guardrail_usage or dict.fromkeys(GUARDRAIL_UNITS, 0)
        for key in GUARDRAIL_UNITS:
            total[key] = total.get(key, 0) + int(usage.get(key, 0))
        self.guardrail_usage = total


def _enum_error(value: Any, member: str, allowed: tuple[str, ...]) -> AwsError:
    return AwsError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{', '.join(allowed)}]",
    )


def _member(body: Mapping[str, Any], name: str, key: str) -> Any:
    """``body[name][key]``; a present ``body[name]`` that is not an object yields a value no enum accepts."""
    container = body.get(name)
    if container is None:
        return None
    return container.get(key) if isinstance(container, dict) else repr(container)


def _choice(value: Any, member: str, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        raise _enum_error(value, member, allowed)
    return str(value)


def _ttl(value: Any, member: str) -> str:
    if value is None:
        return DEFAULT_TTL
    if value not in TTL_SECONDS:
        raise _enum_error(value, member, tuple(TTL_SECONDS))
    return str(value)


def _check_order(ttls: list[str]) -> list[str]:
    """Bedrock requires cache point TTLs to be non-increasing along the prompt (tools, system, messages)."""
    for earlier, later in pairwise(ttls):
        if TTL_SECONDS[later] > TTL_SECONDS[earlier]:
            raise AwsError(
                "ValidationException",
                f"A cache point with a {later} TTL can't follow a cache point with a shorter TTL ({earlier}). "
                "Order cache points from the longest TTL to the shortest.",
            )
    return ttls


def converse_extras(body: Mapping[str, Any]) -> CallExtras:
    """Service tier, latency profile and cache point TTLs of a Converse / ConverseStream request body."""
    extras = CallExtras()
    extras.service_tier = _choice(_member(body, "serviceTier", "type"), "serviceTier.type", SERVICE_TIERS)
    extras.latency = _choice(_member(body, "performanceConfig", "latency"), "performanceConfig.latency", LATENCIES)
    ttls: list[str] = []
    tools = (body.get("toolConfig") or {}).get("tools") or []
    system = body.get("system") or []
    contents = [c for m in body.get("messages") or [] if isinstance(m, dict) for c in m.get("content") or []]
    for where, blocks in (("toolConfig.tools", tools), ("system", system), ("messages.content", contents)):
        for block in blocks:
            if isinstance(block, dict) and isinstance(block.get("cachePoint"), dict):
                ttls.append(_ttl(block["cachePoint"].get("ttl"), f"{where}.cachePoint.ttl"))
    extras.cache_ttls = _check_order(ttls)
    return extras


def invoke_extras(headers: Mapping[str, str], body: Mapping[str, Any], anthropic: bool) -> CallExtras:
    """Service tier and latency headers of an InvokeModel request; cache_control TTLs of an Anthropic body."""
    extras = CallExtras()
    extras.service_tier = _choice(headers.get(TIER_HEADER), "serviceTier", SERVICE_TIERS)
    extras.latency = _choice(headers.get(LATENCY_HEADER), "performanceConfigLatency", LATENCIES)
    if not anthropic:
        return extras
    ttls: list[str] = []
    system = body.get("system")
    contents = [c for m in body.get("messages") or [] if isinstance(m, dict) for c in _blocks(m.get("content"))]
    for where, blocks in (("tools", body.get("tools") or []), ("system", _blocks(system)), ("messages", contents)):
        for block in blocks:
            if isinstance(block, dict) and isinstance(block.get("cache_control"), dict):
                ttls.append(_ttl(block["cache_control"].get("ttl"), f"{where}.cache_control.ttl"))
    extras.cache_ttls = _check_order(ttls)
    return extras


def _blocks(content: Any) -> list[Any]:
    return content if isinstance(content, list) else []


def decorate_converse(payload: dict[str, Any], extras: CallExtras) -> dict[str, Any]:
    """Add cacheDetails / serviceTier / performanceConfig to a ConverseResponse or a stream ``metadata`` event."""
    details = extras.cache_details()
    if details and isinstance(payload.get("usage"), dict):
        payload["usage"]["cacheDetails"] = details
    if extras.service_tier:
        payload["serviceTier"] = {"type": extras.service_tier}
    if extras.latency:
        payload["performanceConfig"] = {"latency": extras.latency}
    return payload


def decorate_anthropic_usage(usage: dict[str, Any], extras: CallExtras) -> dict[str, Any]:
    """Anthropic ``usage.cache_creation``: the cache writes per TTL (they sum to cache_creation_input_tokens)."""
    usage["cache_creation"] = {
        "ephemeral_5m_input_tokens": extras.cache_write_by_ttl.get("5m", 0),
        "ephemeral_1h_input_tokens": extras.cache_write_by_ttl.get("1h", 0),
    }
    return usage


def response_headers(extras: CallExtras) -> dict[str, str]:
    out: dict[str, str] = {}
    if extras.service_tier:
        out[TIER_HEADER] = extras.service_tier
    if extras.latency:
        out[LATENCY_HEADER] = extras.latency
    return out
