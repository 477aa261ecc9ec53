"""Refresh the price book from the AWS Price List API (``pricing:GetProducts``, service code ``AmazonBedrock``).

Each ``PriceList`` item is a JSON string: ``product.attributes`` names the model (``model``), the Region
(``regionCode``), what is billed (``inferenceType``: input/output tokens, cache read/write input tokens, batch)
and the usage type; ``terms.OnDemand.*.priceDimensions.*`` carries ``unit`` and ``pricePerUnit.USD``. Prices per
1M tokens are normalised to per 1K. Models are matched to catalog ids by name (``FoundationModel.model_name``)
or by the id itself. Only what the response states is changed; everything else is kept from the current book.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from bedrockctl.catalog import load_catalog

SERVICE_CODE = "AmazonBedrock"
PRICING_ENDPOINT_REGION = "us-east-1"  # the Price List API answers in us-east-1 (and ap-south-1, eu-central-1)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())


def _kind(attrs: dict[str, str]) -> tuple[str, bool] | None:
    """(field, batch?) for a product, from ``inferenceType`` or the usage type."""
    text = f"{attrs.get('inferenceType', '')} {attrs.get('usagetype', '')}".lower()
    batch = "batch" in text
    if "cache" in text and "read" in text:
        return "cache_read", batch
    if "cache" in text and "write" in text:
        return "cache_write", batch
    if "input" in text:
        return "input", batch
    if "output" in text:
        return "output", batch
    return None


def _per_1k(dim: dict[str, Any]) -> Decimal | None:
    usd = (dim.get("pricePerUnit") or {}).get("USD")
    if usd is None:
        return None
    value = Decimal(str(usd))
    unit = str(dim.get("unit", "")).lower().replace(",", "")
    if "1m" in unit or "million" in unit or "1000000" in unit:
        value = value / 1000
    elif not ("1k" in unit or "1000" in unit or "thousand" in unit):
        return None  # per image, per hour...: not a token price
    return value.normalize()


def parse_products(items: Iterable[str | dict[str, Any]]) -> dict[tuple[str, str], dict[str, str]]:
    """PriceList items -> {(model_id, region): {input|output|cache_read|cache_write: per-1K price}}."""
    catalog = load_catalog()
    by_name = {_norm(m.model_name): m.model_id for m in catalog.models}
    by_name.update({_norm(m.model_id): m.model_id for m in catalog.models})
    out: dict[tuple[str, str], dict[str, str]] = {}
    for raw in items:
        item = json.loads(raw) if isinstance(raw, str) else raw
        attrs = item.get("product", {}).get("attributes", {})
        model_id = by_name.get(_norm(attrs.get("model", "")))
        region = attrs.get("regionCode")
        kind = _kind(attrs)
        if not model_id or not region or kind is None or kind[1]:
            continue  # batch rows are derived from the discount; unknown models are reported by the caller
        for term in (item.get("terms", {}).get("OnDemand") or {}).values():
            for dim in (term.get("priceDimensions") or {}).values():
                price = _per_1k(dim)
                if price is not None:
                    out.setdefault((model_id, region), {})[kind[0]] = str(price)
    return out


def fetch_products(pricing_client: Any) -> list[str]:
    """Every AmazonBedrock product (full NextToken pagination)."""
    items: list[str] = []
    paginator = pricing_client.get_paginator("get_products")
    for page in paginator.paginate(ServiceCode=SERVICE_CODE, FormatVersion="aws_v1"):
        items.extend(page.get("PriceList", []))
    return items


def merge(
    doc: dict[str, Any], prices: dict[tuple[str, str], dict[str, str]], home: str = "us-east-1"
) -> dict[str, Any]:
    """A new price document: ``home`` Region prices become the default, other Regions overrides when different."""
    new: dict[str, Any] = json.loads(json.dumps(doc))
    models = new.setdefault("models", {})
    for (model_id, region), p in sorted(prices.items()):
        if "input" not in p or "output" not in p:
            continue
        entry = models.setdefault(model_id, {"on_demand": dict(p)})
        if region == home:
            entry["on_demand"] = {**entry.get("on_demand", {}), **p}
        elif {**entry["on_demand"], **p} != entry["on_demand"]:
            entry.setdefault("region_overrides", {})[region] = {**entry["on_demand"], **p}
    src = list(new.get("source") or [])
    api = "AWS Price List API (pricing:GetProducts, ServiceCode=AmazonBedrock)"
    if api not in src:
        src.insert(0, api)
    new["source"] = src
    new["as_of"] = date.today().isoformat()
    return new
