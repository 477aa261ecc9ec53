"""Rebuild the price book from Price List rows (``pricelist.parse_rows``) and say what changed.

``merge(doc, rows)`` returns a new schema-2 document: every rate the rows state replaces the book's, with its
provenance (``sources`` per model and block: the Price List and the offer's publication date); a model the Price
List covers keeps only the Regions the Price List lists for it; a dimension the Price List does not state is kept
from the book with its old provenance (``sources["*"]``), never dropped silently. ``diff(old, new)`` lists every
rate added, removed or changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from bedrockctl.pricing.pricelist import PriceRow

API_SOURCE = "AWS Price List API (pricing:GetProducts / bulk offer files; AmazonBedrock, AmazonBedrockFoundationModels)"
DEFAULT_LONG_CONTEXT_THRESHOLD = 200_000  # Claude's published threshold; kept from the book when it has one
_TOKEN_DIMS = ("input", "output", "cache_read", "cache_write", "cache_write_1h")


def _published(rows: Iterable[PriceRow]) -> str:
    dates = sorted({r.published for r in rows if r.published})
    return dates[-1] if dates else date.today().isoformat()


def _token_block(entry: dict[str, Any], r: PriceRow, home: str) -> tuple[dict[str, Any], str]:
    """The block of ``entry`` a token row writes into, and its provenance key."""
    if r.context == "long":
        lc = entry.setdefault("long_context", {"threshold_tokens": DEFAULT_LONG_CONTEXT_THRESHOLD})
        key = "global" if r.routing == "global" else "on_demand"
        return lc.setdefault(key, {}), "long_context"
    if r.tier in ("priority", "flex"):
        return entry.setdefault("tiers", {}).setdefault(r.tier, {}), f"tiers.{r.tier}"
    if r.routing == "global":
        return entry.setdefault("global", {}), "global"
    if r.region == home:
        return entry.setdefault("on_demand", {}), "on_demand"
    return entry.setdefault("region_overrides", {}).setdefault(r.region, {}), "on_demand"


def merge(doc: Mapping[str, Any], rows: list[PriceRow], home: str = "us-east-1") -> dict[str, Any]:
    """A new price document with ``rows`` applied to ``doc`` (which is not modified)."""
    new: dict[str, Any] = json.loads(json.dumps(doc))
    old_source = (new.get("source") or ["the hand-curated book"])[0]
    old_as_of = str(new.get("as_of", ""))
    published = _published(rows)
    provenance = {"source": API_SOURCE, "as_of": published}
    models: dict[str, Any] = new.setdefault("models", {})
    covered = {r.subject for r in rows if r.kind == "token" and r.tier == "standard" and r.context == "standard"}
    for model_id in models:
        if model_id not in covered:
            models[model_id].setdefault("sources", {}).setdefault("*", {"source": old_source, "as_of": old_as_of})
    regions: dict[str, set[str]] = {}
    for r in rows:
        if r.kind == "token" and r.tier == "standard" and r.routing == "regional" and r.context == "standard":
            regions.setdefault(r.subject, set()).add(r.region)
    for model_id in covered:
        entry = models.setdefault(model_id, {})
        entry.setdefault("sources", {}).setdefault("*", {"source": old_source, "as_of": old_as_of})
        kept = entry.get("region_overrides") or {}
        for region in [g for g in kept if g not in regions.get(model_id, set())]:
            del kept[region]  # the Price List no longer lists the model there
    for r in sorted(rows, key=lambda r: (r.subject, r.region != home, r.region, r.dimension)):
        if r.kind == "guardrail":
            g = new.setdefault("guardrails", {})
            g.setdefault("policies", {})[r.subject] = str(r.usd)
            g.update(source=API_SOURCE, as_of=published)
            (g.get("unpriced") or {}).pop(r.subject, None)
            continue
        if r.kind == "image":  # image models have no token rates: beside ``models`` (schema-1 readers need on_demand)
            if r.region == home:
                i = new.setdefault("images", {"unit": "USD per image, by quality/size"})
                i.setdefault("models", {}).setdefault(r.subject, {})[r.dimension] = str(r.usd)
                i.update(source=API_SOURCE, as_of=published)
            continue
        if r.kind == "cmu":
            c = new.setdefault("custom_model_import", {})
            c.setdefault("per_cmu_minute", {}).setdefault(r.subject, {})[r.region] = str(r.usd)
            c.update(source=API_SOURCE, as_of=published)
            c.pop("unpriced", None)
            continue
        entry = models.get(r.subject)
        if entry is None or ("on_demand" not in entry and r.subject not in covered):
            continue  # provisioned or tier rates of a model without on-demand token rates: not a book entry
        if r.kind == "provisioned":
            if r.region == home:  # the book keeps provisioned rates of its home Region
                entry.setdefault("provisioned", {})[r.dimension] = str(r.usd)
                entry["sources"]["provisioned"] = provenance
            continue
        if r.tier == "batch":
            entry["batch"] = True  # batch rates derive from the book's batch_discount
            continue
        seen = regions.get(r.subject) or {home}
        model_home = home if home in seen else min(seen)
        special = r.tier != "standard" or r.context == "long" or r.routing == "global"
        if special and r.region != model_home:
            continue  # tier, long-context and global rates: the home Region's
        block, key = _token_block(entry, r, model_home)
        block[r.dimension] = str(r.usd)
        entry["sources"][r.dimension if key == "on_demand" else f"{key}.{r.dimension}"] = provenance
    for model_id in covered:
        _drop_same_overrides(models[model_id])
    src = [s for s in (new.get("source") or []) if s != API_SOURCE]
    new["source"] = [API_SOURCE, *src]
    new["as_of"] = published
    new["schema_version"] = max(2, int(new.get("schema_version", 1)))
    return new


def _drop_same_overrides(entry: dict[str, Any]) -> None:
    """Region overrides equal to the default rates say nothing: drop them."""
    base = entry.get("on_demand") or {}
    overrides = entry.get("region_overrides") or {}
    for region, prices in list(overrides.items()):
        full = {**base, **prices}
        overrides[region] = full
        if full == base:
            del overrides[region]
    if "region_overrides" in entry and not overrides:
        del entry["region_overrides"]
    if "on_demand" not in entry and overrides:
        entry["on_demand"] = overrides.pop(sorted(overrides)[0])


def flatten(doc: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """Every rate of a price document: {(model id or section, dotted dimension): value}."""
    out: dict[tuple[str, str], str] = {}

    def walk(subject: str, prefix: str, node: Any) -> None:
        if isinstance(node, Mapping):
            for k, v in node.items():
                if k not in ("sources", "source", "as_of", "unit", "unpriced", "batch", "threshold_tokens"):
                    walk(subject, f"{prefix}.{k}" if prefix else str(k), v)
        elif node is not None and not isinstance(node, bool | list):
            out[(subject, prefix)] = str(node)

    for model_id, entry in (doc.get("models") or {}).items():
        walk(model_id, "", entry)
    for section in ("guardrails", "custom_model_import", "images"):
        walk(section, "", doc.get(section) or {})
    return out


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, str | None]]:
    """Rates added, removed and changed between two price documents, sorted by subject and dimension."""
    a, b = flatten(old), flatten(new)
    changes: list[dict[str, str | None]] = []
    for key in sorted(a.keys() | b.keys()):
        before, after = a.get(key), b.get(key)
        if before == after or (before is not None and after is not None and Decimal(before) == Decimal(after)):
            continue
        change = "added" if before is None else "removed" if after is None else "changed"
        changes.append({"change": change, "subject": key[0], "dimension": key[1], "old": before, "new": after})
    return changes
