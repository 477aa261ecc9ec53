"""The price book: Bedrock prices per model and Region as facts with a ``source`` and an ``as_of`` date.

Prices are ``Decimal`` per 1,000 tokens (provisioned throughput: per model unit per hour). Nothing is read at
import time. ``PriceBook.load()`` reads the packaged ``data/prices.json`` or, when ``bedrockctl pricing update``
wrote one, ``<data_dir>/pricing/prices.json`` (see ``PriceBook.load_for``).

Resolution rules (``price_for``):
- a foundation model id / ARN bills the model's on-demand price in the Region (ARN Region wins);
- a geographic system profile (``us.``/``eu.``/``apac.``) bills the *source* Region's on-demand price;
- a ``global.`` profile bills the model's ``global`` price when the price list has one, else on-demand;
- application profiles, provisioned/custom/imported models need a lookup first (``None`` here).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from bedrockctl.catalog import parse_model_ref
from bedrockctl.pricing.cost import cost_usd
from bedrockctl.pricing.rates import Context, RateRecord, ServiceTier, Ttl, lookup

Tier = Literal["on_demand", "global", "batch"]


@dataclass(frozen=True)
class Usage:
    """Token counts of one call or an aggregate. ``input_tokens`` excludes cache reads and writes (as AWS logs)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0  # cache writes with the 1-hour TTL (``cache_write_tokens``: the 5-minute ones)


@dataclass(frozen=True)
class TokenPrices:
    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    cache_write_1h: Decimal | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> TokenPrices:
        def d(key: str) -> Decimal | None:
            return Decimal(str(raw[key])) if raw.get(key) is not None else None

        return cls(
            Decimal(str(raw["input"])),
            Decimal(str(raw["output"])),
            d("cache_read"),
            d("cache_write"),
            d("cache_write_1h"),
        )

    def scaled(self, factor: Decimal) -> TokenPrices:
        def s(v: Decimal | None) -> Decimal | None:
            return None if v is None else v * factor

        return TokenPrices(
            self.input * factor,
            self.output * factor,
            s(self.cache_read),
            s(self.cache_write),
            s(self.cache_write_1h),
        )

    def to_dict(self) -> dict[str, str | None]:
        return {
            "input": str(self.input),
            "output": str(self.output),
            "cache_read": None if self.cache_read is None else str(self.cache_read),
            "cache_write": None if self.cache_write is None else str(self.cache_write),
            "cache_write_1h": None if self.cache_write_1h is None else str(self.cache_write_1h),
        }


@dataclass(frozen=True)
class ProvisionedPrices:
    """Provisioned throughput, USD per model unit per hour."""

    no_commitment: Decimal | None = None
    one_month: Decimal | None = None
    six_month: Decimal | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> ProvisionedPrices:
        vals = {k: Decimal(str(raw[k])) for k in ("no_commitment", "one_month", "six_month") if raw.get(k)}
        return cls(**vals)


@dataclass(frozen=True)
class ModelPrice:
    """The price that applies to one model called one way in one Region."""

    model_id: str
    region: str
    tier: Tier
    input_per_1k: Decimal
    output_per_1k: Decimal
    cache_read_per_1k: Decimal | None
    cache_write_per_1k: Decimal | None
    batch_discount: Decimal | None
    provisioned: ProvisionedPrices | None
    source: str
    as_of: date
    cache_write_1h_per_1k: Decimal | None = None
    long_context_threshold: int | None = None  # above this many input tokens (incl. cache) a call bills long_context
    long_context: TokenPrices | None = None

    def cost(self, usage: Usage) -> Decimal:
        """Exact cost in USD: ``pricing.cost.cost_usd`` (the one cost function: cache TTLs, long context)."""
        return cost_usd(self, usage)

    def batch(self) -> ModelPrice | None:
        """The batch-inference price (``None`` when the model has no batch pricing)."""
        if self.batch_discount is None:
            return None
        f = Decimal(1) - self.batch_discount
        p = TokenPrices(
            self.input_per_1k,
            self.output_per_1k,
            self.cache_read_per_1k,
            self.cache_write_per_1k,
            self.cache_write_1h_per_1k,
        )
        s = p.scaled(f)
        return replace(
            self,
            tier="batch",
            input_per_1k=s.input,
            output_per_1k=s.output,
            cache_read_per_1k=s.cache_read,
            cache_write_per_1k=s.cache_write,
            cache_write_1h_per_1k=s.cache_write_1h,
            long_context=None if self.long_context is None else self.long_context.scaled(f),
        )

    def to_dict(self) -> dict[str, Any]:
        prov = self.provisioned
        return {
            "model_id": self.model_id,
            "region": self.region,
            "tier": self.tier,
            "input_per_1k": str(self.input_per_1k),
            "output_per_1k": str(self.output_per_1k),
            "cache_read_per_1k": None if self.cache_read_per_1k is None else str(self.cache_read_per_1k),
            "cache_write_per_1k": None if self.cache_write_per_1k is None else str(self.cache_write_per_1k),
            "cache_write_1h_per_1k": None if self.cache_write_1h_per_1k is None else str(self.cache_write_1h_per_1k),
            "long_context_threshold": self.long_context_threshold,
            "long_context_per_1k": None if self.long_context is None else self.long_context.to_dict(),
            "batch_discount": None if self.batch_discount is None else str(self.batch_discount),
            "provisioned_per_unit_hour": None
            if prov is None
            else {k: None if v is None else str(v) for k, v in vars(prov).items()},
            "source": self.source,
            "as_of": self.as_of.isoformat(),
        }


@dataclass(frozen=True)
class PriceEntry:
    model_id: str
    on_demand: TokenPrices
    global_: TokenPrices | None = None
    batch: bool = False
    provisioned: ProvisionedPrices | None = None
    region_overrides: dict[str, TokenPrices] = field(default_factory=dict)

    @classmethod
    def parse(cls, model_id: str, raw: Mapping[str, Any]) -> PriceEntry:
        return cls(
            model_id=model_id,
            on_demand=TokenPrices.parse(raw["on_demand"]),
            global_=TokenPrices.parse(raw["global"]) if raw.get("global") else None,
            batch=bool(raw.get("batch", False)),
            provisioned=ProvisionedPrices.parse(raw["provisioned"]) if raw.get("provisioned") else None,
            region_overrides={r: TokenPrices.parse(v) for r, v in (raw.get("region_overrides") or {}).items()},
        )


@dataclass(frozen=True)
class PriceBook:
    source: tuple[str, ...]
    as_of: date
    batch_discount: Decimal
    entries: dict[str, PriceEntry]
    path: str = "package:bedrockctl/pricing/data/prices.json"
    doc: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the JSON, for ``rates``

    # --- loading -------------------------------------------------------------------------------------------
    @classmethod
    def parse(cls, doc: Mapping[str, Any], path: str = "<memory>") -> PriceBook:
        src = doc.get("source") or []
        return cls(
            source=tuple(src) if isinstance(src, list) else (str(src),),
            as_of=date.fromisoformat(str(doc["as_of"])),
            batch_discount=Decimal(str(doc.get("batch_discount", "0.5"))),
            entries={mid: PriceEntry.parse(mid, raw) for mid, raw in (doc.get("models") or {}).items()},
            path=path,
            doc=doc,
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> PriceBook:
        """The packaged price list, or the one at ``path``."""
        if path is not None:
            return cls.parse(json.loads(Path(path).read_text()), str(path))
        text = resources.files("bedrockctl.pricing").joinpath("data/prices.json").read_text()
        return cls.parse(json.loads(text), "package:bedrockctl/pricing/data/prices.json")

    @classmethod
    def load_for(cls, settings: Any = None) -> PriceBook:
        """The price list written by ``pricing update`` in the data directory if any, else the packaged one."""
        local = updated_path(settings)
        return cls.load(local if local.exists() else None)

    # --- queries -------------------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[PriceEntry]:
        return iter(self.entries.values())

    def entry(self, model_id: str) -> PriceEntry | None:
        if model_id in self.entries:
            return self.entries[model_id]
        # context-window variants such as ``...-v1:0:200k`` bill as the base model
        base = model_id
        while base.count(":") > 1:
            base = base.rsplit(":", 1)[0]
            if base in self.entries:
                return self.entries[base]
        return None

    def price(self, model_id: str, region: str, tier: Tier = "on_demand") -> ModelPrice | None:
        e = self.entry(model_id)
        if e is None:
            return None
        prices = e.region_overrides.get(region, e.on_demand)
        long_ctx = (self.doc.get("models") or {}).get(e.model_id, {}).get("long_context") or {}
        long_prices, threshold = long_ctx.get("on_demand"), long_ctx.get("threshold_tokens")
        if tier == "global" and e.global_ is not None:
            prices = e.global_
            long_prices = long_ctx.get("global") or long_prices
        elif tier == "global":
            tier = "on_demand"
        mp = ModelPrice(
            model_id=e.model_id,
            region=region,
            tier="global" if tier == "global" else "on_demand",
            input_per_1k=prices.input,
            output_per_1k=prices.output,
            cache_read_per_1k=prices.cache_read,
            cache_write_per_1k=prices.cache_write,
            batch_discount=self.batch_discount if e.batch else None,
            provisioned=e.provisioned,
            source=self.source[0] if self.source else "",
            as_of=self.as_of,
            cache_write_1h_per_1k=prices.cache_write_1h,
            long_context_threshold=int(threshold) if long_prices and threshold is not None else None,
            long_context=TokenPrices.parse(long_prices) if long_prices and threshold is not None else None,
        )
        if tier == "batch":
            return mp.batch()
        return mp

    def price_for(self, model_ref: str, region: str, *, batch: bool = False) -> ModelPrice | None:
        """Price of calling ``model_ref`` (model id, profile id or ARN) from ``region``; ``None`` if unpriced."""
        try:
            ref = parse_model_ref(model_ref)
        except ValueError:
            return None
        if ref.kind not in ("foundation-model", "inference-profile") or not ref.model_id:
            return None
        where = ref.region or region
        tier: Tier = "global" if ref.geography == "global" else "on_demand"
        mp = self.price(ref.model_id, where, tier)
        if mp is not None and batch:
            return mp.batch()
        return mp

    def tier_price(self, model_ref: str, region: str, tier: str | None) -> tuple[ModelPrice | None, str | None]:
        """The price of calling ``model_ref`` in a service ``tier`` (``None``/``default``: standard; ``batch``: batch
        inference), or ``None`` and why: the tier's own block of the book (``tiers.priority`` / ``tiers.flex``), the
        batch discount for ``batch``, never a guess."""
        price = self.price_for(model_ref, region)
        if price is None or tier in (None, "", "default"):
            return price, None
        if tier == "batch":  # batch inference: the book's batch_discount off on-demand, for models with batch rates
            batch = price.batch()
            return batch, None if batch is not None else f"the price book has no batch rates for {price.model_id}"
        if tier not in ("priority", "flex", "reserved"):
            return None, f"unknown service tier {tier!r}"
        record = lookup(self, model_ref, region, tier=tier)  # type: ignore[arg-type]
        if record is None or "*" in record.unpriced or record.usd("input") is None or record.usd("output") is None:
            reason = None if record is None else record.unpriced.get("*")
            return None, reason or f"the price book has no {tier}-tier rates for {price.model_id}"
        tier_input = record.usd("input")
        assert tier_input is not None
        return replace(
            price,
            input_per_1k=tier_input,
            output_per_1k=record.usd("output") or Decimal(0),
            cache_read_per_1k=record.usd("cache_read"),
            cache_write_per_1k=record.usd("cache_write_5m"),
            cache_write_1h_per_1k=record.usd("cache_write_1h"),
            long_context_threshold=None,
            long_context=None,
            source=record.rates["input"].source,
            as_of=record.rates["input"].as_of,
        ), None

    def rates(
        self,
        model_ref: str,
        region: str,
        *,
        tier: ServiceTier = "default",
        ttl: Ttl = "5m",
        context: Context = "standard",
    ) -> RateRecord | None:
        """Every token rate of one way of calling ``model_ref`` from ``region``, each with ``source`` and
        ``as_of``; a missing dimension is in ``unpriced`` with the reason (``pricing.rates.lookup``)."""
        return lookup(self, model_ref, region, tier=tier, ttl=ttl, context=context)

    def cost(self, model_ref: str, region: str, usage: Usage) -> Decimal | None:
        mp = self.price_for(model_ref, region)
        return None if mp is None else mp.cost(usage)


def updated_path(settings: Any = None) -> Path:
    from bedrockctl.paths import data_dir

    return data_dir(settings) / "pricing" / "prices.json"
