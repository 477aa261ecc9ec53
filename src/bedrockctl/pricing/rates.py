"""Rate lookup per billing dimension: every rate with its ``source`` and ``as_of``, or unpriced with a reason.

The price book (``data/prices.json``, schema 2; schema 1 books read the same, without the new dimensions) holds
per model the on-demand token rates (``on_demand``; ``region_overrides`` where a Region differs), the ``global``
profile rates, ``long_context`` rates above ``threshold_tokens`` input tokens, service ``tiers`` (priority,
flex) and ``provisioned`` throughput per model unit-hour and commitment; beside the models, ``images`` (per image
by quality and size), ``guardrails`` (per 1,000 text units per policy type) and ``custom_model_import`` (per Custom
Model Unit-minute).

A dimension the book does not hold is reported in ``RateRecord.unpriced`` with the reason (the book's
``unpriced`` section says why, when we know); it is never filled with a guess. Routing: an in-Region call and a
geographic profile (``us.``/``eu.``/``apac.``) bill the source Region's rates; a ``global.`` profile bills the
``global`` block when the book has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from bedrockctl.catalog import parse_model_ref
from bedrockctl.pricing.hourly import Unpriced

ServiceTier = Literal["default", "priority", "flex", "batch", "reserved"]
Ttl = Literal["5m", "1h"]
Context = Literal["standard", "long"]
Routing = Literal["in_region", "geo", "global"]
TOKEN_DIMENSIONS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")
_BOOK_KEY = {"cache_write_5m": "cache_write"}  # the JSON keeps schema 1's name for the 5-minute write


@dataclass(frozen=True)
class Rate:
    """One published rate: USD per ``unit``, where it comes from and when it was read."""

    usd: Decimal
    unit: str
    source: str
    as_of: date

    def to_dict(self) -> dict[str, str]:
        return {"usd": str(self.usd), "unit": self.unit, "source": self.source, "as_of": self.as_of.isoformat()}


@dataclass(frozen=True)
class RateRecord:
    """The token rates (USD per 1,000 tokens) that apply to one model called one way in one Region."""

    model_id: str
    region: str
    routing: Routing
    tier: ServiceTier
    ttl: Ttl
    context: Context
    rates: Mapping[str, Rate]
    unpriced: Mapping[str, str] = field(default_factory=dict)
    long_context_threshold: int | None = None

    def usd(self, dimension: str) -> Decimal | None:
        r = self.rates.get(dimension)
        return None if r is None else r.usd

    @property
    def cache_write(self) -> Decimal | None:
        """The cache-write rate of the requested TTL."""
        return self.usd("cache_write_1h" if self.ttl == "1h" else "cache_write_5m")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "region": self.region,
            "routing": self.routing,
            "tier": self.tier,
            "ttl": self.ttl,
            "context": self.context,
            "long_context_threshold": self.long_context_threshold,
            "rates": {k: v.to_dict() for k, v in self.rates.items()},
            "unpriced": dict(self.unpriced),
        }


def _date(value: Any, default: date) -> date:
    return date.fromisoformat(str(value)) if value else default


def provenance(book: Any, raw_model: Mapping[str, Any], block: str, dim: str) -> tuple[str, date]:
    """(source, as_of) of one rate: the model's ``sources`` for it (``input``, ``global.input``), else the book's
    ``dimension_sources`` (``global.input``, ``global``, ``input``), else the model's ``sources["*"]`` (what
    ``pricing update`` kept from the book before), else the book's first source and date."""
    own = dim if block == "on_demand" else f"{block}.{dim}"
    model_sources = raw_model.get("sources") or {}
    book_sources = book.doc.get("dimension_sources") or {}
    for entry in (model_sources.get(own), *(book_sources.get(k) for k in (own, block, dim)), model_sources.get("*")):
        if entry:
            return str(entry["source"]), _date(entry.get("as_of"), book.as_of)
    return (book.source[0] if book.source else book.path), book.as_of


def _book_reason(book: Any, key: str, model_id: str) -> str | None:
    reasons = book.doc.get("unpriced") or {}
    return reasons.get(f"{model_id}:{key}") or reasons.get(key)


def routing_of(model_ref: str) -> tuple[str, str | None, Routing] | None:
    """(model id, Region in the reference, routing) of a model id, profile id or ARN; ``None`` if not priceable."""
    try:
        ref = parse_model_ref(model_ref)
    except ValueError:
        return None
    if ref.kind not in ("foundation-model", "inference-profile") or not ref.model_id:
        return None
    routing: Routing = "global" if ref.geography == "global" else ("geo" if ref.geography else "in_region")
    return ref.model_id, ref.region, routing


def lookup(
    book: Any,
    model_ref: str,
    region: str,
    *,
    tier: ServiceTier = "default",
    ttl: Ttl = "5m",
    context: Context = "standard",
) -> RateRecord | None:
    """The rates of calling ``model_ref`` from ``region``; ``None`` when the model is not in the book at all."""
    resolved = routing_of(model_ref)
    if resolved is None:
        return None
    model_id, ref_region, routing = resolved
    entry = book.entry(model_id)
    if entry is None:
        return None
    where = ref_region or region
    raw: Mapping[str, Any] = (book.doc.get("models") or {}).get(entry.model_id) or {}
    unpriced: dict[str, str] = {}
    block, block_key = _token_block(raw, where, routing, tier, context, unpriced, book, entry.model_id)
    rates: dict[str, Rate] = {}
    for dim in TOKEN_DIMENSIONS:
        value = None if block is None else block.get(_BOOK_KEY.get(dim, dim))
        if value is None:
            if block is not None:
                unpriced[dim] = _book_reason(book, dim, entry.model_id) or (
                    f"the price book has no {dim.replace('_', ' ')} rate for {entry.model_id} ({block_key})"
                )
            continue
        usd = Decimal(str(value))
        if tier == "batch":
            usd = usd * (Decimal(1) - book.batch_discount)
        src, as_of = provenance(book, raw, block_key, dim)
        rates[dim] = Rate(usd, "1K tokens", src, as_of)
    long_ctx = raw.get("long_context") or {}
    threshold = long_ctx.get("threshold_tokens")
    return RateRecord(
        entry.model_id,
        where,
        routing,
        tier,
        ttl,
        context,
        rates,
        unpriced,
        None if threshold is None else int(threshold),
    )


def _token_block(
    raw: Mapping[str, Any],
    region: str,
    routing: Routing,
    tier: ServiceTier,
    context: Context,
    unpriced: dict[str, str],
    book: Any,
    model_id: str,
) -> tuple[Mapping[str, Any] | None, str]:
    """The JSON block of token rates for one way of calling, and its name (for provenance and reasons)."""

    def missing(key: str, default: str) -> tuple[None, str]:
        unpriced["*"] = _book_reason(book, key, model_id) or default
        return None, key

    if tier == "reserved":
        return missing("reserved", f"reserved capacity for {model_id} is a negotiated rate the price book lacks")
    if tier == "batch" and not raw.get("batch"):
        return missing("batch", f"{model_id} has no batch inference rates in the price book")
    if context == "long":
        lc = raw.get("long_context") or {}
        block = lc.get("global") if routing == "global" and lc.get("global") else lc.get("on_demand")
        if not block:
            return missing("long_context", f"the price book has no long-context rates for {model_id}")
        return block, "long_context"
    if tier in ("priority", "flex"):
        block = (raw.get("tiers") or {}).get(tier)
        if not block:
            return missing(f"service_tier:{tier}", f"the price book has no {tier}-tier rates for {model_id}")
        return block, f"tiers.{tier}"
    if routing == "global" and raw.get("global"):
        return raw["global"], "global"
    overrides = raw.get("region_overrides") or {}
    return (overrides.get(region) or raw.get("on_demand") or {}), "on_demand"


def guardrail_rate(book: Any, policy: str) -> Rate | Unpriced:
    """USD per 1,000 text units of one guardrail policy type (``content_filter``, ``denied_topics``, ...)."""
    g = book.doc.get("guardrails") or {}
    value = (g.get("policies") or {}).get(policy)
    if value is None:
        reason = (g.get("unpriced") or {}).get(policy)
        return Unpriced(reason or f"the price book has no guardrail rate for policy type {policy!r}")
    return Rate(Decimal(str(value)), "1K text units", str(g.get("source", "")), _date(g.get("as_of"), book.as_of))


def image_rate(book: Any, model_ref: str, quality: str, size: str) -> Rate | Unpriced:
    """USD per generated image of ``quality`` (standard, premium) and ``size`` (``1024x1024``)."""
    resolved = routing_of(model_ref)
    if resolved is None:
        return Unpriced(f"not a model id or ARN: {model_ref}")
    model_id = resolved[0]
    images = book.doc.get("images") or {}
    value = ((images.get("models") or {}).get(model_id) or {}).get(f"{quality}/{size}")
    if value is None:
        reason = _book_reason(book, "images", model_id)
        return Unpriced(reason or f"the price book has no {quality} {size} image rate for {model_id}")
    return Rate(Decimal(str(value)), "image", str(images.get("source", "")), _date(images.get("as_of"), book.as_of))


def image_size_class(book: Any, model_ref: str, size: str) -> str | None:
    """The book's size class (``1024x1024``: "up to 1024 x 1024") a requested ``WIDTHxHEIGHT`` image bills in: the
    smallest of the model's sizes (its rates' ``quality/size`` keys) whose pixel count holds it; ``None`` above the
    largest or for a model without image rates in the book."""
    resolved = routing_of(model_ref)
    entry = ((book.doc.get("images") or {}).get("models") or {}).get(resolved[0] if resolved else "") or {}
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        return None
    for cls in sorted({key.partition("/")[2] for key in entry}, key=_pixels):
        if width * height <= _pixels(cls):
            return str(cls)
    return None


def _pixels(size: str) -> int:
    w, _, h = size.partition("x")
    return int(w) * int(h)


def custom_model_unit_rate(book: Any, cmu_version: str, region: str) -> Rate | Unpriced:
    """USD per Custom Model Unit per minute of an imported model (``customModelUnitsVersion``) in ``region``."""
    cmi = book.doc.get("custom_model_import") or {}
    value = ((cmi.get("per_cmu_minute") or {}).get(cmu_version) or {}).get(region)
    if value is None:
        reason = cmi.get("unpriced") or _book_reason(book, "custom_model_import", "")
        return Unpriced(reason or f"no Custom Model Unit rate for version {cmu_version} in {region}")
    return Rate(Decimal(str(value)), "CMU-minute", str(cmi.get("source", "")), _date(cmi.get("as_of"), book.as_of))


def split_cache_writes(cache_write_tokens: int, cache_details: Any = None) -> tuple[int, int]:
    """(5-minute, 1-hour) cache-write tokens from the runtime's usage: Converse's ``cacheWriteInputTokens`` is the
    total and ``cacheDetails`` (``[{"ttl": "5m" | "1h", "inputTokens": n}]``) breaks it down by TTL; without
    details every write is a 5-minute one (the default TTL). ``Usage(cache_write_tokens=five,
    cache_write_1h_tokens=hour)`` then prices each at its rate."""
    one_hour = sum(int(d.get("inputTokens", 0)) for d in cache_details or () if d.get("ttl") == "1h")
    one_hour = min(one_hour, cache_write_tokens) if cache_write_tokens else one_hour
    return max(cache_write_tokens - one_hour, 0), one_hour
