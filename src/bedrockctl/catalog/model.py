"""Typed view of the model catalog (``data/models.json``) and the queries the product needs.

The JSON is a fact file with a ``source`` and an ``as_of`` date, hand-curated from the AWS documentation and
refreshed by ``scripts/refresh_catalog.py``. Nothing is read at import time: ``load_catalog()`` parses it on
first use and caches the result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any, Literal

from bedrockctl.catalog.lifecycle import Lifecycle, LifecycleDates, today

InferenceType = Literal["ON_DEMAND", "PROVISIONED", "INFERENCE_PROFILE"]
Customization = Literal["FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"]
Modality = Literal["TEXT", "IMAGE", "VIDEO", "EMBEDDING", "SPEECH"]

GEOGRAPHIES: tuple[str, ...] = ("us", "eu", "apac", "global")
"""Prefixes of system-defined (cross-Region) inference profile ids."""

INFERENCE_TYPES: frozenset[str] = frozenset({"ON_DEMAND", "PROVISIONED", "INFERENCE_PROFILE"})
CUSTOMIZATIONS: frozenset[str] = frozenset({"FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"})
MODALITIES: frozenset[str] = frozenset({"TEXT", "IMAGE", "VIDEO", "EMBEDDING", "SPEECH"})


@dataclass(frozen=True)
class Region:
    region: str
    name: str
    geography: str | None  # the geographic profile prefix callable from here (None: only global profiles)
    partition: str = "aws"


@dataclass(frozen=True)
class FactNote:
    """Where a model's facts come from, when they were checked, and how sure we are.

    ``confidence``: ``confirmed`` (read on the AWS page in ``source`` on ``as_of``), ``carried`` (kept from an
    earlier catalog, not re-read), ``unconfirmed`` (a best guess, named as such in ``note``), ``api`` (from
    ListFoundationModels by the refresh script).
    """

    source: str
    as_of: date
    confidence: str
    note: str = ""


@dataclass(frozen=True)
class FoundationModel:
    model_id: str
    model_name: str
    provider: str
    input_modalities: tuple[str, ...]
    output_modalities: tuple[str, ...]
    response_streaming: bool
    inference_types: tuple[str, ...]  # ON_DEMAND / PROVISIONED / INFERENCE_PROFILE ("only via profile")
    customizations: tuple[str, ...]
    regions: tuple[str, ...]  # where ListFoundationModels shows the model
    profile_only_regions: tuple[str, ...]  # subset of regions where only a profile can invoke it
    body_format: str  # anthropic-messages | titan-text | titan-embed | nova | llama | mistral | ...
    launch_date: date | None = None  # AWS's startOfLifeTime / the model card's launch date
    legacy_date: date | None = None
    end_of_life_date: date | None = None
    public_extended_access_date: date | None = None
    end_of_life_exempt_regions: tuple[str, ...] = ()  # Regions AWS still serves it in past the EOL date
    replacement: str | None = None  # the model AWS's lifecycle page recommends instead, when it names one
    context_window: int | None = None
    max_output_tokens: int | None = None
    facts: FactNote | None = None

    @property
    def dates(self) -> LifecycleDates:
        return LifecycleDates(
            self.legacy_date, self.public_extended_access_date, self.end_of_life_date, self.end_of_life_exempt_regions
        )

    def status_on(self, day: date, region: str | None = None) -> Lifecycle:
        """ACTIVE / LEGACY / EOL on ``day`` (in ``region``), computed from the dates (see ``catalog.lifecycle``)."""
        return self.dates.status_on(day, region)

    @property
    def lifecycle(self) -> Lifecycle:
        """The status today (UTC): computed at run time, never stored."""
        return self.status_on(today())

    def offered_on(self, day: date, region: str | None = None) -> bool:
        """Can new calls use this model on ``day`` (in ``region``)? Not once it reached end-of-life there."""
        return self.status_on(day, region) != "EOL"

    @property
    def profile_only(self) -> bool:
        """True when the model has no on-demand in-region invocation anywhere (profiles only)."""
        return "ON_DEMAND" not in self.inference_types and "INFERENCE_PROFILE" in self.inference_types

    def available_in(self, region: str) -> bool:
        return region in self.regions

    def on_demand_in(self, region: str) -> bool:
        """Can the bare model id be invoked on demand in ``region``?"""
        return (
            "ON_DEMAND" in self.inference_types and region in self.regions and region not in self.profile_only_regions
        )

    def inference_types_in(self, region: str) -> tuple[str, ...]:
        """The ``inferenceTypesSupported`` ListFoundationModels reports for this model in ``region``."""
        if region not in self.regions:
            return ()
        if region in self.profile_only_regions:
            return ("INFERENCE_PROFILE",)
        return tuple(t for t in self.inference_types if t != "INFERENCE_PROFILE") or self.inference_types

    def arn(self, region: str, partition: str = "aws") -> str:
        return f"arn:{partition}:bedrock:{region}::foundation-model/{self.model_id}"


@dataclass(frozen=True)
class InferenceProfile:
    """A system-defined (cross-Region) inference profile: ``<geography>.<model_id>``."""

    profile_id: str
    name: str
    description: str
    geography: str
    model_id: str
    regions: tuple[str, ...]  # source and destination Regions

    def arn(self, region: str, account_id: str, partition: str = "aws") -> str:
        return f"arn:{partition}:bedrock:{region}:{account_id}:inference-profile/{self.profile_id}"


@dataclass(frozen=True)
class Catalog:
    source: tuple[str, ...]
    as_of: date
    models: tuple[FoundationModel, ...]
    profiles: tuple[InferenceProfile, ...]
    regions: tuple[Region, ...]
    _by_id: dict[str, FoundationModel] = field(default_factory=dict, repr=False, compare=False)
    _profiles_by_id: dict[str, InferenceProfile] = field(default_factory=dict, repr=False, compare=False)
    _regions_by_name: dict[str, Region] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({m.model_id: m for m in self.models})
        self._profiles_by_id.update({p.profile_id: p for p in self.profiles})
        self._regions_by_name.update({r.region: r for r in self.regions})

    # --- lookups ------------------------------------------------------------------------------------------
    def get_model(self, model_id: str) -> FoundationModel | None:
        return self._by_id.get(model_id)

    def get_profile(self, profile_id: str) -> InferenceProfile | None:
        return self._profiles_by_id.get(profile_id)

    def get_region(self, region: str) -> Region | None:
        return self._regions_by_name.get(region)

    def region_names(self) -> tuple[str, ...]:
        return tuple(r.region for r in self.regions)

    def models_in_region(
        self, region: str, *, on: date | None = None, include_eol: bool = False
    ) -> list[FoundationModel]:
        """Models ListFoundationModels shows in ``region``; end-of-life models (as of ``on``, default today) are
        left out unless ``include_eol``."""
        day = on or today()
        return [m for m in self.models if region in m.regions and (include_eol or m.offered_on(day, region))]

    def offered_models(self, on: date | None = None) -> list[FoundationModel]:
        """Every model that new calls may still use on ``on`` (default today)."""
        day = on or today()
        return [m for m in self.models if m.offered_on(day)]

    def successor(self, model_id: str, on: date | None = None) -> FoundationModel | None:
        """The first model along the ``replacement`` chain of ``model_id`` that is still offered on ``on``."""
        day = on or today()
        seen = {model_id}
        current = self.get_model(model_id)
        while current is not None and current.replacement and current.replacement not in seen:
            seen.add(current.replacement)
            current = self.get_model(current.replacement)
            if current is not None and current.offered_on(day):
                return current
        return None

    def profiles_for(self, model_id: str) -> list[InferenceProfile]:
        return [p for p in self.profiles if p.model_id == model_id]

    def profiles_in_region(self, region: str) -> list[InferenceProfile]:
        """System profiles callable from ``region`` (the region is one of their source Regions)."""
        return [p for p in self.profiles if region in p.regions]

    def geography_of(self, region: str) -> str | None:
        r = self._regions_by_name.get(region)
        return r.geography if r else None

    def profile_for_region(
        self, model_id: str, region: str, allowed_geographies: list[str] | tuple[str, ...] | None = None
    ) -> InferenceProfile | None:
        """The system profile to call ``model_id`` through from ``region``.

        Prefers the region's own geography, then ``global``; ``allowed_geographies`` (e.g. ``["eu"]`` for data
        residency) restricts the choice. ``None`` when no callable profile exists.
        """
        candidates = [p for p in self.profiles_for(model_id) if region in p.regions]
        if allowed_geographies is not None:
            allowed = set(allowed_geographies)
            candidates = [p for p in candidates if p.geography in allowed]
        home = self.geography_of(region)
        order = {home: 0, "global": 2}
        candidates.sort(key=lambda p: order.get(p.geography, 1))
        return candidates[0] if candidates else None


def _d(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _model(raw: dict[str, Any]) -> FoundationModel:
    return FoundationModel(
        model_id=raw["model_id"],
        model_name=raw["model_name"],
        provider=raw["provider"],
        input_modalities=tuple(raw["input_modalities"]),
        output_modalities=tuple(raw["output_modalities"]),
        response_streaming=bool(raw["response_streaming"]),
        inference_types=tuple(raw["inference_types"]),
        customizations=tuple(raw.get("customizations", ())),
        regions=tuple(raw["regions"]),
        profile_only_regions=tuple(raw.get("profile_only_regions", ())),
        body_format=raw["body_format"],
        launch_date=_d(raw.get("launch_date")),
        legacy_date=_d(raw.get("legacy_date")),
        end_of_life_date=_d(raw.get("end_of_life_date")),
        public_extended_access_date=_d(raw.get("public_extended_access_date")),
        end_of_life_exempt_regions=tuple(raw.get("end_of_life_exempt_regions", ())),
        replacement=raw.get("replacement"),
        context_window=raw.get("context_window"),
        max_output_tokens=raw.get("max_output_tokens"),
        facts=_facts(raw.get("facts")),
    )


def _facts(raw: Any) -> FactNote | None:
    if not isinstance(raw, dict):
        return None
    return FactNote(str(raw["source"]), date.fromisoformat(raw["as_of"]), str(raw["confidence"]), raw.get("note", ""))


def _profile(raw: dict[str, Any]) -> InferenceProfile:
    return InferenceProfile(
        profile_id=raw["profile_id"],
        name=raw["name"],
        description=raw["description"],
        geography=raw["geography"],
        model_id=raw["model_id"],
        regions=tuple(raw["regions"]),
    )


def _region(raw: dict[str, Any]) -> Region:
    return Region(raw["region"], raw["name"], raw.get("geography"), raw.get("partition", "aws"))


def parse_catalog(doc: dict[str, Any]) -> Catalog:
    """Build a ``Catalog`` from the JSON document (also used by the refresh script to check its output)."""
    source = doc["source"]
    return Catalog(
        source=tuple(source) if isinstance(source, list) else (str(source),),
        as_of=date.fromisoformat(doc["as_of"]),
        models=tuple(_model(m) for m in doc["models"]),
        profiles=tuple(_profile(p) for p in doc["inference_profiles"]),
        regions=tuple(
            Region(r["region"], r["name"], r.get("geography"), r.get("partition", "aws")) for r in doc["regions"]
        ),
    )


@cache
def load_catalog() -> Catalog:
    """The packaged catalog (parsed once, then cached)."""
    text = resources.files("bedrockctl.catalog").joinpath("data/models.json").read_text(encoding="utf-8")
    return parse_catalog(json.loads(text))
