"""Model resolution: aliases, Anthropic API names, profile-only ids, geography pins, ARNs and the local tier.

``resolve(ref, region, allowed_geographies)`` answers with a ``Target``: the ``modelId`` to put on the wire,
the region to call, and the foundation model behind it (for pricing and body formats). It never calls AWS.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bedrockctl.catalog import geography_of, get_model, get_profile, parse_model_ref, profiles_for
from bedrockctl.catalog.model import load_catalog
from bedrockctl.runtime.errors import GeographyNotAllowed, UnresolvableModel

LOCAL_PREFIXES = ("local:", "ollama:", "openai-compatible:")

# Short names people type. Values are Bedrock foundation model ids (the catalog knows their profiles).
ALIASES: dict[str, str] = {
    "haiku": "anthropic.claude-haiku-4-5-20251001-v1:0",
    "sonnet": "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "opus": "anthropic.claude-opus-4-1-20250805-v1:0",
    "claude-3-haiku": "anthropic.claude-3-haiku-20240307-v1:0",
    "claude-3-opus": "anthropic.claude-3-opus-20240229-v1:0",
    "claude-3-5-haiku": "anthropic.claude-3-5-haiku-20241022-v1:0",
    "claude-3-5-sonnet": "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "claude-3-7-sonnet": "anthropic.claude-3-7-sonnet-20250219-v1:0",
    "claude-sonnet-4": "anthropic.claude-sonnet-4-20250514-v1:0",
    "claude-opus-4": "anthropic.claude-opus-4-20250514-v1:0",
    "claude-opus-4-1": "anthropic.claude-opus-4-1-20250805-v1:0",
    "claude-sonnet-4-5": "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "claude-haiku-4-5": "anthropic.claude-haiku-4-5-20251001-v1:0",
    "nova-micro": "amazon.nova-micro-v1:0",
    "nova-lite": "amazon.nova-lite-v1:0",
    "nova-pro": "amazon.nova-pro-v1:0",
    "nova-premier": "amazon.nova-premier-v1:0",
    "titan-text-express": "amazon.titan-text-express-v1",
    "titan-embed": "amazon.titan-embed-text-v2:0",
    "llama3-70b": "meta.llama3-70b-instruct-v1:0",
    "mistral-large": "mistral.mistral-large-2402-v1:0",
}
# Anthropic API ``-latest`` names.
for _short in list(ALIASES):
    if _short.startswith("claude-"):
        ALIASES[f"{_short}-latest"] = ALIASES[_short]

_ANTHROPIC_API = re.compile(r"^claude-[a-z0-9-]+-\d{8}$")


@dataclass(frozen=True)
class Target:
    """One concrete place to send a call."""

    requested: str
    model_id: str  # the modelId on the wire (model id, profile id or ARN) or the local model name
    region: str  # region to call ("local" for the local tier)
    kind: str  # foundation-model | inference-profile | application-inference-profile | provisioned-model | ...
    base_model: str | None = None  # foundation model id behind it, when known
    geography: str | None = None  # profile geography (us/eu/apac/global), or the region's geography

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    def label(self) -> str:
        return f"{self.model_id}@{self.region}"


def _alias_target(alias: str, model_id: str) -> str:
    """An alias never points at a model past its end-of-life: it follows the catalog's replacement, else fails."""
    catalog = load_catalog()
    model = catalog.get_model(model_id)
    if model is None or model.lifecycle != "EOL":
        return model_id
    successor = catalog.successor(model_id)
    if successor is not None:
        return successor.model_id
    raise UnresolvableModel(
        f"{alias!r} points at {model_id}, which reached end of life on {model.end_of_life_date}",
        details={"alias": alias, "model": model_id},
    )


def canonical_model_id(name: str) -> str:
    """Alias or Anthropic API name -> Bedrock id; anything else unchanged. Aliases skip end-of-life models."""
    name = name.strip()
    low = name.lower()
    if low in ALIASES:
        return _alias_target(low, ALIASES[low])
    if _ANTHROPIC_API.match(low):
        prefix = f"anthropic.{low}-v"
        for model in load_catalog().models:
            if model.model_id.startswith(prefix):
                return model.model_id
    return name


def _check_geo(target: Target, allowed: Sequence[str] | None) -> Target:
    if allowed is None:
        return target
    geo = target.geography
    if geo is None or geo not in allowed:
        where = "any region worldwide" if geo == "global" else f"the {geo or 'unknown'} geography"
        raise GeographyNotAllowed(
            f"{target.model_id} called from {target.region} can route to {where}; "
            f"allowed geographies are {', '.join(allowed)}",
            details={"model": target.model_id, "region": target.region, "allowed": ",".join(allowed)},
        )
    return target


def resolve(ref: str, region: str, allowed_geographies: Sequence[str] | None = None) -> Target:
    """Resolve ``ref`` for a call from ``region`` (see module doc)."""
    raw = ref.strip()
    if raw.startswith(LOCAL_PREFIXES):
        name = raw.split(":", 1)[1]
        return Target(raw, name, "local", "local", base_model=None, geography="local")
    allowed = list(allowed_geographies) if allowed_geographies else None
    model_id = canonical_model_id(raw)
    try:
        parsed = parse_model_ref(model_id)
    except ValueError as exc:
        raise UnresolvableModel(f"{ref!r} is not a model alias, model id, profile id or Bedrock ARN") from exc
    if parsed.is_arn:
        call_region = parsed.region or region
        geo = parsed.geography or geography_of(call_region)
        if parsed.kind == "inference-profile":
            profile = get_profile(parsed.profile_id or "")
            geo = profile.geography if profile else parsed.geography
        target = Target(ref, model_id, call_region, parsed.kind, parsed.model_id, geo)
        if parsed.kind in (
            "application-inference-profile",
            "provisioned-model",
            "custom-model",
            "imported-model",
            "prompt-router",
        ):
            # Their routing is defined by the resource itself; pin on the region they live in.
            return _check_geo(replace(target, geography=geography_of(call_region)), allowed)
        return _check_geo(target, allowed)
    if parsed.kind == "inference-profile":
        return _check_geo(
            Target(ref, model_id, region, "inference-profile", parsed.model_id, parsed.geography), allowed
        )
    model = get_model(model_id)
    if model is None:
        raise UnresolvableModel(
            f"{ref!r} is not a known Bedrock model id or alias",
            details={"requested": ref},
        )
    if model.on_demand_in(region):
        return _check_geo(Target(ref, model_id, region, "foundation-model", model_id, geography_of(region)), allowed)
    profile = load_catalog().profile_for_region(model_id, region, allowed)
    if profile is None:
        if allowed is not None and load_catalog().profile_for_region(model_id, region) is not None:
            any_profile = load_catalog().profile_for_region(model_id, region)
            assert any_profile is not None
            return _check_geo(
                Target(ref, any_profile.profile_id, region, "inference-profile", model_id, any_profile.geography),
                allowed,
            )
        offered = ", ".join(sorted({r for p in profiles_for(model_id) for r in p.regions})) or "nowhere"
        raise UnresolvableModel(
            f"{model_id} cannot be invoked from {region}: no on-demand access and no inference profile there "
            f"(callable from: {offered})",
            details={"model": model_id, "region": region},
        )
    return Target(ref, profile.profile_id, region, "inference-profile", model_id, profile.geography)


def candidate_regions(target: Target) -> tuple[str, ...]:
    """Regions a call for ``target`` may fail over to (the caller's region first)."""
    if target.is_local or target.kind not in ("foundation-model", "inference-profile"):
        return (target.region,)
    if target.kind == "inference-profile":
        profile = get_profile(target.model_id.rsplit("/", 1)[-1])
        members = profile.regions if profile else ()
    else:
        model = get_model(target.model_id)
        members = tuple(r for r in model.regions if model.on_demand_in(r)) if model else ()
    if target.geography and target.geography not in ("global", "local"):
        members = tuple(r for r in members if geography_of(r) == target.geography)
    return (target.region, *[r for r in members if r != target.region])
