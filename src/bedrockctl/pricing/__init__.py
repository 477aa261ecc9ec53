"""Bedrock price catalog: ``PriceBook.load()``, ``price_for(model_ref, region)``, exact ``Decimal`` costs."""

from __future__ import annotations

from bedrockctl.pricing.catalog import (
    ModelPrice,
    PriceBook,
    PriceEntry,
    ProvisionedPrices,
    TokenPrices,
    Usage,
    updated_path,
)
from bedrockctl.pricing.cost import Rates, cost_nusd, cost_usd, to_nusd

__all__ = [
    "ModelPrice",
    "PriceBook",
    "PriceEntry",
    "ProvisionedPrices",
    "Rates",
    "TokenPrices",
    "Usage",
    "cost_nusd",
    "cost_usd",
    "to_nusd",
    "updated_path",
]
