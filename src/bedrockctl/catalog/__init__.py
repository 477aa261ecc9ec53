"""The Bedrock model catalog: foundation models, system inference profiles, regions and geographies.

Facts live in ``data/models.json`` (with ``source`` and ``as_of``); ``load_catalog()`` parses them on first
use. The module-level helpers below query the packaged catalog.
"""

from __future__ import annotations

from bedrockctl.catalog.model import (
    CUSTOMIZATIONS,
    GEOGRAPHIES,
    INFERENCE_TYPES,
    MODALITIES,
    Catalog,
    FoundationModel,
    InferenceProfile,
    Region,
    load_catalog,
    parse_catalog,
)
from bedrockctl.catalog.refs import (
    ModelRef,
    foundation_model_arn,
    inference_profile_arn,
    parse_model_ref,
    split_profile_id,
)

__all__ = [
    "CUSTOMIZATIONS",
    "GEOGRAPHIES",
    "INFERENCE_TYPES",
    "MODALITIES",
    "Catalog",
    "FoundationModel",
    "InferenceProfile",
    "ModelRef",
    "Region",
    "bedrock_regions",
    "foundation_model_arn",
    "geography_of",
    "get_model",
    "get_profile",
    "inference_profile_arn",
    "load_catalog",
    "models_in_region",
    "parse_catalog",
    "parse_model_ref",
    "profile_for_region",
    "profiles_for",
    "profiles_in_region",
    "split_profile_id",
]


def get_model(model_id: str) -> FoundationModel | None:
    return load_catalog().get_model(model_id)


def get_profile(profile_id: str) -> InferenceProfile | None:
    return load_catalog().get_profile(profile_id)


def models_in_region(region: str) -> list[FoundationModel]:
    return load_catalog().models_in_region(region)


def profiles_for(model_id: str) -> list[InferenceProfile]:
    return load_catalog().profiles_for(model_id)


def profiles_in_region(region: str) -> list[InferenceProfile]:
    return load_catalog().profiles_in_region(region)


def profile_for_region(
    model_id: str, region: str, allowed_geographies: list[str] | tuple[str, ...] | None = None
) -> InferenceProfile | None:
    return load_catalog().profile_for_region(model_id, region, allowed_geographies)


def geography_of(region: str) -> str | None:
    return load_catalog().geography_of(region)


def bedrock_regions() -> tuple[str, ...]:
    return load_catalog().region_names()
