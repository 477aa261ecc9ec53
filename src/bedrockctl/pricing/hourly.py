"""Hourly rates: provisioned-throughput model units and SageMaker instances, from the price book's data files.

Every rate carries the ``source`` and ``as_of`` of the file it came from. A rate the data does not hold is
``Unpriced`` with the reason; nothing is estimated or defaulted.

- Provisioned throughput bills per model unit per hour at the rate of its commitment (AWS's
  ``commitmentDuration``: none, ``OneMonth``, ``SixMonths``) — ``PriceBook.provisioned`` (``prices.json``).
- SageMaker real-time endpoints bill per instance per hour by instance type and Region
  (``sagemaker.json``); serverless endpoints bill per GB-second and are unpriced here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from bedrockctl.catalog import parse_model_ref

Commitment = Literal["no_commitment", "one_month", "six_month"]
AWS_COMMITMENTS: dict[str, Commitment] = {"": "no_commitment", "OneMonth": "one_month", "SixMonths": "six_month"}


@dataclass(frozen=True)
class HourlyRate:
    """USD per unit-hour (a model unit or an instance), with where the figure comes from."""

    usd_per_hour: Decimal
    unit: str
    source: str
    as_of: date

    def times(self, units: int) -> Decimal:
        return self.usd_per_hour * units

    def to_dict(self) -> dict[str, str]:
        return {
            "usd_per_hour": str(self.usd_per_hour),
            "unit": self.unit,
            "source": self.source,
            "as_of": self.as_of.isoformat(),
        }


@dataclass(frozen=True)
class Unpriced:
    """No rate in the price book; ``reason`` says what is missing."""

    reason: str


def commitment_of(aws_value: str | None) -> Commitment | None:
    """Our name for AWS's ``commitmentDuration`` (absent: no commitment); ``None`` for a value AWS never sent."""
    return AWS_COMMITMENTS.get(aws_value or "")


def provisioned_rate(book: Any, model_ref: str | None, commitment: str | None) -> HourlyRate | Unpriced:
    """The rate of one model unit of provisioned throughput for ``model_ref`` (model id or ARN)."""
    if not model_ref:
        return Unpriced("the provisioned model names no base model")
    term = commitment_of(commitment)
    if term is None:
        return Unpriced(f"unknown commitment duration {commitment!r}")
    try:
        ref = parse_model_ref(model_ref)
    except ValueError:
        return Unpriced(f"not a model id or ARN: {model_ref}")
    model_id = ref.model_id or model_ref.rsplit("/", 1)[-1]
    entry = book.entry(model_id)
    if entry is None:
        return Unpriced(f"{model_id} is not in the price book ({book.path})")
    value = getattr(entry.provisioned, term, None) if entry.provisioned is not None else None
    if value is None:
        return Unpriced(f"the price book has no {term.replace('_', '-')} provisioned-throughput rate for {model_id}")
    source = book.source[0] if book.source else book.path
    return HourlyRate(Decimal(value), "model unit", source, book.as_of)


@dataclass(frozen=True)
class InstancePrices:
    """SageMaker hosting rates per instance type and Region (``pricing/data/sagemaker.json``)."""

    source: str
    as_of: date
    regions: Mapping[str, Mapping[str, Decimal]]
    path: str

    @classmethod
    def parse(cls, doc: Mapping[str, Any], path: str = "<memory>") -> InstancePrices:
        src = doc.get("source") or [path]
        return cls(
            source=str(src[0] if isinstance(src, list) else src),
            as_of=date.fromisoformat(str(doc["as_of"])),
            regions={
                region: {itype: Decimal(str(v)) for itype, v in table.items()}
                for region, table in (doc.get("regions") or {}).items()
            },
            path=path,
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> InstancePrices:
        if path is not None:
            return cls.parse(json.loads(Path(path).read_text()), str(path))
        text = resources.files("bedrockctl.pricing").joinpath("data/sagemaker.json").read_text()
        return cls.parse(json.loads(text), "package:bedrockctl/pricing/data/sagemaker.json")

    def rate(self, instance_type: str | None, region: str) -> HourlyRate | Unpriced:
        if not instance_type:
            return Unpriced("serverless or unknown instance type (billed per GB-second, not per hour)")
        table = self.regions.get(region)
        if table is None:
            return Unpriced(f"no SageMaker rates for {region} in the price book ({self.path})")
        value = table.get(instance_type)
        if value is None:
            return Unpriced(f"no SageMaker rate for {instance_type} in {region} in the price book ({self.path})")
        return HourlyRate(value, "instance", self.source, self.as_of)
