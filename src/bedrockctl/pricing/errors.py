"""Errors of the price book (codes ``BRC-PRC-00N``)."""

from __future__ import annotations

from bedrockctl.errors import BedrockctlError


class PriceListError(BedrockctlError):
    code = "BRC-PRC-001"
    title = "The Price List file cannot be read"
    default_remediation = (
        "Give --from-file a saved pricing:GetProducts response (JSON with PriceList) or a Price List bulk offer file "
        "(offers/v1.0/aws/AmazonBedrock/current/index.json); nothing was written."
    )
    exit_code = 2
