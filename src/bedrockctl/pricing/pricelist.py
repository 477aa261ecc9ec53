"""Read the AWS Price List for Bedrock into rate rows, one per billing dimension.

Two shapes carry the same products: a ``pricing:GetProducts`` response (``PriceList``: JSON strings of
``{product, terms, serviceCode, version, publicationDate}``) and a bulk offer file
(``/offers/v1.0/aws/<code>/current/index.json``: ``products`` by SKU, ``terms.OnDemand`` by SKU). Bedrock's rates
sit under three service codes: ``AmazonBedrock`` (Amazon and open-weight models, the ``model`` attribute, per 1K
tokens; guardrails; Custom Model Import), ``AmazonBedrockFoundationModels`` (Marketplace-sold models such as
Anthropic Claude: no ``model`` attribute, the name is ``servicename`` "<Model> (Amazon Bedrock Edition)", rates per
1M tokens) and ``AmazonBedrockService`` (reserved and cross-Region rates).

A product becomes a ``PriceRow`` from its unit (``priceDimensions.*.unit``) and its usage type (``usagetype``
minus the Region prefix and the ``MP:<region>_`` / ``-Units`` Marketplace wrapping), helped by ``inferenceType``:

- tokens (``1K tokens``, ``1M tokens``): input, output, cache read, cache write (5-minute) and 1-hour cache write
  (``cache-write-1h`` / ``CacheWrite1h``), with the service tier (``batch``, ``priority``, ``flex``; else
  standard), the routing (``global``; else the Region's) and long context (``long-context`` / ``LongContext``);
- provisioned throughput (``ProvisionedThroughput`` usage types, per hour) by commitment (``NoCommit``,
  ``1Month``, ``6Month``);
- images (``image`` units) by quality (``premium``; else standard) and size (``1024`` / ``1024x1024``);
- guardrail text units (``text unit`` units) by policy type (``policyType`` or the usage type);
- imported models (``custom model unit per min``) by ``customModelUnitsVersion``.

Anything else (knowledge bases, storage, training) is counted as skipped. Models are matched to catalog ids by
name (``FoundationModel.model_name``) or by id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bedrockctl.catalog import load_catalog
from bedrockctl.pricing.errors import PriceListError

SERVICE_CODE = "AmazonBedrock"
SERVICE_CODES = ("AmazonBedrock", "AmazonBedrockFoundationModels", "AmazonBedrockService")
PRICING_ENDPOINT_REGION = "us-east-1"  # the Price List API answers in us-east-1 (and ap-south-1, eu-central-1)
MARKETPLACE_SUFFIX = " (Amazon Bedrock Edition)"
_COMMITMENTS = (("nocommit", "no_commitment"), ("1month", "one_month"), ("6month", "six_month"))
_POLICIES = (
    ("automatedreasoning", "automated_reasoning"),
    ("contextualgrounding", "contextual_grounding"),
    ("deniedtopic", "denied_topics"),
    ("regex", "sensitive_information_regex"),
    ("sensitiveinformation", "sensitive_information"),
    ("pii", "sensitive_information"),
    ("word", "word_filter"),
    ("contentfilter", "content_filter"),
    ("contentpolic", "content_filter"),
)


@dataclass(frozen=True)
class PriceRow:
    """One rate of the Price List, normalised: ``usd`` per 1K tokens, per hour, per image, per 1K text units
    or per CMU-minute depending on ``kind``."""

    kind: str  # token | provisioned | image | guardrail | cmu
    subject: str  # catalog model id, guardrail policy, or CMU version
    region: str
    dimension: str
    usd: Decimal
    routing: str = "regional"  # regional | global
    tier: str = "standard"  # standard | batch | priority | flex
    context: str = "standard"  # standard | long
    published: str = ""  # the offer's publicationDate


def _flat(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def core_usage_type(usagetype: str) -> str:
    """``USE1-MP:USE1_CacheReadInputTokenCount-Units`` -> ``CacheReadInputTokenCount``; ``USE1-NovaLite-input-
    tokens`` -> ``NovaLite-input-tokens``."""
    core = re.sub(r"^[A-Z0-9]{2,6}-MP:[A-Z0-9]{2,6}_", "", usagetype)
    core = re.sub(r"-Units$", "", core)
    if core == usagetype:
        core = re.sub(r"^[A-Z0-9]{2,6}-", "", usagetype)
    return core


def products(doc: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any], str]]:
    """(product, OnDemand terms of it, publication date) from a GetProducts response, its ``PriceList``, or a
    bulk offer file."""
    if isinstance(doc, Mapping) and "products" in doc:  # bulk offer file
        terms = (doc.get("terms") or {}).get("OnDemand") or {}
        for sku, product in (doc.get("products") or {}).items():
            yield product, terms.get(sku) or {}, str(doc.get("publicationDate", ""))
        return
    items = doc.get("PriceList", []) if isinstance(doc, Mapping) else doc
    for raw in items:
        item = json.loads(raw) if isinstance(raw, str) else raw
        yield (
            item.get("product", {}),
            (item.get("terms") or {}).get("OnDemand") or {},
            str(item.get("publicationDate", "")),
        )


def _per_unit(dim: Mapping[str, Any]) -> tuple[Decimal, str] | None:
    usd = (dim.get("pricePerUnit") or {}).get("USD")
    return None if usd is None else (Decimal(str(usd)), str(dim.get("unit", "")).lower().replace(",", ""))


def _token_scale(unit: str) -> Decimal | None:
    """Factor to USD per 1K tokens, ``None`` when ``unit`` is not a token count."""
    if "token" not in unit:
        return None
    if "1m" in unit or "million" in unit or "1000000" in unit:
        return Decimal("0.001")
    if "1k" in unit or "1000" in unit or "thousand" in unit:
        return Decimal(1)
    return Decimal(1000) if unit.strip() in ("token", "tokens") else None


def _direction(h: str) -> str | None:
    if "cachewrite" in h and "1h" in h:
        return "cache_write_1h"
    for key, name in (("cachewrite", "cache_write"), ("cacheread", "cache_read")):
        if key in h:
            return name
    if "input" in h:
        return "input"
    if "output" in h:
        return "output"
    return None


def _tier(h: str, attrs: Mapping[str, str]) -> str:
    if "batch" in h or str(attrs.get("batch", "")).lower() in ("true", "yes"):
        return "batch"
    return next((t for t in ("priority", "flex") if t in h), "standard")


def classify(product: Mapping[str, Any], dim: Mapping[str, Any], names: Mapping[str, str]) -> PriceRow | str:
    """A ``PriceRow`` for one price dimension of a product, or the reason it is skipped."""
    attrs: Mapping[str, str] = product.get("attributes") or {}
    region = attrs.get("regionCode") or ""
    got = _per_unit(dim)
    if not region or got is None:
        return "no Region or no USD price"
    usd, unit = got
    core = core_usage_type(attrs.get("usagetype", ""))
    h = _flat(f"{core} {attrs.get('inferenceType', '')}")
    name = (
        attrs.get("model") or attrs.get("titanModel") or attrs.get("servicename", "").removesuffix(MARKETPLACE_SUFFIX)
    )
    model_id = names.get(_flat(name))
    if "textunit" in _flat(unit) or "guardrail" in h:
        policy_text = _flat(f"{attrs.get('policyType', '')} {attrs.get('featureType', '')} {core}")
        policy = next((p for key, p in _POLICIES if key in policy_text), None)
        if policy is None:
            return f"guardrail usage type {core!r} names no policy type"
        per_1k = usd * 1000 if "1k" not in unit and "1000" not in unit else usd
        return PriceRow("guardrail", policy, region, "per_1k_text_units", per_1k.normalize())
    if "custommodelunit" in _flat(unit):
        version = attrs.get("customModelUnitsVersion") or (re.findall(r"v(\d+(?:\.\d+)?)", core.lower()) or [""])[0]
        return PriceRow("cmu", version or "1.0", region, "per_cmu_minute", usd.normalize())
    if model_id is None:
        return f"no catalog model named {name!r}" if name else f"usage type {core!r} names no model"
    if "provisionedthroughput" in h or "modelunit" in h:
        term = next((t for key, t in _COMMITMENTS if key in h), "no_commitment")
        return PriceRow("provisioned", model_id, region, term, usd.normalize())
    if "image" in unit:
        size = re.search(r"(\d{3,4})(?:x(\d{3,4}))?", core)
        if size is None:
            return f"image usage type {core!r} names no size"
        quality = "premium" if "premium" in h else "standard"
        key = f"{quality}/{size.group(1)}x{size.group(2) or size.group(1)}"
        return PriceRow("image", model_id, region, key, usd.normalize())
    if "reserved" in h:
        return "reserved capacity rate: a commitment, priced on the bill"
    if "latencyoptimized" in h:
        return "latency-optimized inference rate: not a dimension of the book"
    scale = _token_scale(unit)
    direction = _direction(h)
    if scale is None or direction is None:
        return f"unit {unit!r} / usage type {core!r} is not a rate the price book holds"
    return PriceRow(
        "token",
        model_id,
        region,
        direction,
        (usd * scale).normalize(),
        routing="global" if "global" in h else "regional",
        tier=_tier(h, attrs),
        context="long" if "longcontext" in h or "longctx" in h else "standard",
    )


def parse_rows(docs: Iterable[Any]) -> tuple[list[PriceRow], dict[str, int]]:
    """Every priced dimension of the given responses / offer files, and the count of skipped prices by reason
    kind (the first words of the reason)."""
    names = model_names()
    rows: list[PriceRow] = []
    skipped: dict[str, int] = {}
    for doc in docs:
        for product, terms, published in products(doc):
            for term in terms.values():
                for dim in (term.get("priceDimensions") or {}).values():
                    row = classify(product, dim, names)
                    if isinstance(row, str):
                        key = " ".join(row.split()[:3])
                        skipped[key] = skipped.get(key, 0) + 1
                    else:
                        rows.append(PriceRow(**{**row.__dict__, "published": published[:10]}))
    return rows, skipped


def parse_products(items: Iterable[str | dict[str, Any]]) -> dict[tuple[str, str], dict[str, str]]:
    """Standard on-demand token prices: {(model_id, region): {input|output|cache_read|cache_write...: per 1K}}."""
    rows, _ = parse_rows([list(items)])
    out: dict[tuple[str, str], dict[str, str]] = {}
    for r in rows:
        if r.kind == "token" and r.tier == "standard" and r.routing == "regional" and r.context == "standard":
            out.setdefault((r.subject, r.region), {})[r.dimension] = str(r.usd)
    return out


def load_file(path: Path) -> Any:
    """A saved GetProducts response, its ``PriceList``, or a bulk offer file; ``PriceListError`` otherwise."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PriceListError(f"{path}: {exc}") from exc
    if isinstance(doc, list) or (isinstance(doc, Mapping) and ("PriceList" in doc or "products" in doc)):
        return doc
    raise PriceListError(f"{path} is neither a GetProducts response (PriceList) nor a bulk offer file (products)")


def fetch_products(pricing_client: Any, service_codes: Iterable[str] = SERVICE_CODES) -> list[str]:
    """Every Bedrock product of the service codes (full NextToken pagination)."""
    items: list[str] = []
    paginator = pricing_client.get_paginator("get_products")
    for code in service_codes:
        for page in paginator.paginate(ServiceCode=code, FormatVersion="aws_v1"):
            items.extend(page.get("PriceList", []))
    return items


@dataclass(frozen=True)
class UsageTypeInfo:
    """What a bill's usage type (Cost Explorer ``USAGE_TYPE``, CUR ``line_item_usage_type``) meters."""

    kind: str  # token | provisioned | other
    dimension: str | None  # input | output | cache_read | cache_write | cache_write_1h (tokens), commitment
    tier: str  # standard | batch | priority | flex | reserved
    routing: str  # regional | global
    context: str  # standard | long
    model_hint: str  # the model part of the usage type (``Claude3.5Haiku``), "" when it names none


def describe_usage_type(usage_type: str) -> UsageTypeInfo:
    """Classify a usage type the way ``classify`` reads the Price List (same words, same order)."""
    core = core_usage_type(usage_type)
    h = _flat(core)
    low = core.lower()
    cut = min(
        (i for i in (low.find(m) for m in ("-input", "-output", "-cache", "-provisioned", "_")) if i > 0), default=0
    )
    hint = core[:cut] if cut else ""
    if "provisionedthroughput" in h or "modelunit" in h:
        term = next((t for key, t in _COMMITMENTS if key in h), "no_commitment")
        return UsageTypeInfo("provisioned", term, "standard", "regional", "standard", hint)
    if "reserved" in h:
        return UsageTypeInfo("token", _direction(h), "reserved", "regional", "standard", hint)
    direction = _direction(h) if "token" in h else None
    if direction is None:
        return UsageTypeInfo("other", None, "standard", "regional", "standard", hint)
    routing = "global" if "global" in h else "regional"
    context = "long" if "longcontext" in h or "longctx" in h else "standard"
    return UsageTypeInfo("token", direction, _tier(h, {}), routing, context, hint)


def model_names() -> dict[str, str]:
    """Catalog model ids by flattened name and id (``claude35haiku`` -> ``anthropic.claude-3-5-haiku-...``)."""
    catalog = load_catalog()
    names = {_flat(m.model_name): m.model_id for m in catalog.models}
    names.update({_flat(m.model_id): m.model_id for m in catalog.models})
    return names


def model_for_name(name: str, names: Mapping[str, str]) -> str | None:
    return names.get(_flat(name.removesuffix(MARKETPLACE_SUFFIX))) if name else None
