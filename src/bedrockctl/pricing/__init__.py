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

__all__ = ["ModelPrice", "PriceBook", "PriceEntry", "ProvisionedPrices", "TokenPrices", "Usage", "updated_path"]
