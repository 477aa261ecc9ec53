"""The sandbox's own foundation models and system inference profiles (``sandbox/data/*.json``).

The sandbox plays AWS, so it keeps AWS's answers itself, in AWS's shapes, and never reads the product's catalog:
a wrong catalog entry then shows up as a difference between two sources (``tests/sandbox/test_catalog_vs_sandbox``)
instead of being copied into the fake. The files are parsed on first use, not at import.

Lifecycle is computed with the sandbox's own clock, as AWS does: a model is listed (status ``LEGACY`` once its
``legacyTime`` or announced ``endOfLifeTime`` applies) until ``endOfLifeTime``; from then on it is no longer
listed and a runtime call fails with "This model version has reached the end of its life.".
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

_PROFILE_PREFIXES = ("us", "eu", "apac", "global", "us-gov", "jp", "au", "ca")
MODEL_ID_RE = re.compile(r"^[a-z0-9-]{1,63}\.[a-z0-9.-]{1,127}(:[a-z0-9-]{1,63}){0,2}$")
_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):bedrock:(?P<region>[a-z0-9-]*):(?P<account>\d{12}|):"
    r"(?P<kind>[a-z-]+)/(?P<rest>.+)$"
)


@dataclass(frozen=True)
class BedrockArn:
    kind: str  # foundation-model | inference-profile | application-inference-profile | provisioned-model | ...
    region: str
    account: str
    rest: str  # the resource id part after the type


def parse_arn(value: str) -> BedrockArn | None:
    m = _ARN_RE.match(value)
    if m is None:
        return None
    return BedrockArn(m.group("kind"), m.group("region"), m.group("account"), m.group("rest"))


def is_profile_id(value: str) -> bool:
    head, sep, tail = value.partition(".")
    return bool(sep) and head in _PROFILE_PREFIXES and MODEL_ID_RE.match(tail) is not None


def _ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


@dataclass(frozen=True)
class SandboxModel:
    """One foundation model as ListFoundationModels describes it, plus how the sandbox emulates it."""

    model_id: str
    summary: dict[str, Any]  # FoundationModelSummary members except modelArn / inferenceTypesSupported
    types_by_region: dict[str, list[str]] = field(hash=False)
    body_format: str
    max_output_tokens: int | None
    context_window: int | None

    @property
    def output_modalities(self) -> tuple[str, ...]:
        return tuple(self.summary.get("outputModalities") or ())

    @property
    def response_streaming(self) -> bool:
        return bool(self.summary.get("responseStreamingSupported"))

    @property
    def customizations(self) -> tuple[str, ...]:
        return tuple(self.summary.get("customizationsSupported") or ())

    @property
    def provider(self) -> str:
        return str(self.summary.get("providerName", ""))

    def end_of_life(self) -> dt.datetime | None:
        return _ts((self.summary.get("modelLifecycle") or {}).get("endOfLifeTime"))

    def is_eol(self, now: dt.datetime) -> bool:
        eol = self.end_of_life()
        return eol is not None and now >= eol

    def status(self, now: dt.datetime) -> str:
        """ACTIVE or LEGACY at ``now`` (past end-of-life the model is not listed at all)."""
        life = self.summary.get("modelLifecycle") or {}
        legacy, eol = _ts(life.get("legacyTime")), self.end_of_life()
        if legacy is None and eol is None:
            return str(life.get("status", "ACTIVE"))
        return "LEGACY" if legacy is None or now >= legacy else "ACTIVE"

    def listed_in(self, region: str, now: dt.datetime) -> bool:
        return region in self.types_by_region and not self.is_eol(now)

    def inference_types_in(self, region: str) -> tuple[str, ...]:
        return tuple(self.types_by_region.get(region, ()))

    def on_demand_in(self, region: str) -> bool:
        return "ON_DEMAND" in self.types_by_region.get(region, ())

    @property
    def profile_only(self) -> bool:
        return not any("ON_DEMAND" in types for types in self.types_by_region.values())

    def arn(self, region: str, partition: str = "aws") -> str:
        return f"arn:{partition}:bedrock:{region}::foundation-model/{self.model_id}"

    def record(self, region: str, partition: str, now: dt.datetime) -> dict[str, Any]:
        """The FoundationModelSummary for ``region`` (lifecycle status as of ``now``)."""
        life = dict(self.summary.get("modelLifecycle") or {"status": "ACTIVE"})
        life["status"] = self.status(now)
        out: dict[str, Any] = {"modelArn": self.arn(region, partition), "modelId": self.model_id}
        out.update({k: v for k, v in self.summary.items() if k != "modelLifecycle"})
        out["inferenceTypesSupported"] = list(self.inference_types_in(region))
        out["modelLifecycle"] = life
        return out


@dataclass(frozen=True)
class SandboxProfile:
    """A system-defined inference profile as ListInferenceProfiles describes it."""

    profile_id: str
    name: str
    description: str
    model_id: str
    regions: tuple[str, ...]  # source Regions (where the profile is listed)

    @property
    def geography(self) -> str:
        return self.profile_id.split(".", 1)[0]


@dataclass(frozen=True)
class SandboxModels:
    models: dict[str, SandboxModel]
    profiles: dict[str, SandboxProfile]

    def get_model(self, model_id: str) -> SandboxModel | None:
        return self.models.get(model_id)

    def get_profile(self, profile_id: str) -> SandboxProfile | None:
        return self.profiles.get(profile_id)

    def models_in_region(self, region: str, now: dt.datetime) -> list[SandboxModel]:
        return [m for m in self.models.values() if m.listed_in(region, now)]

    def profiles_in_region(self, region: str, now: dt.datetime) -> list[SandboxProfile]:
        """System profiles listed in ``region`` (their model not past end-of-life)."""
        out = []
        for p in self.profiles.values():
            model = self.models.get(p.model_id)
            if region in p.regions and model is not None and not model.is_eol(now):
                out.append(p)
        return out


def _read(name: str) -> Any:
    return json.loads(resources.files("bedrockctl.sandbox").joinpath(f"data/{name}").read_text(encoding="utf-8"))


@cache
def sandbox_models() -> SandboxModels:
    """The packaged data (parsed once)."""
    models: dict[str, SandboxModel] = {}
    for raw in _read("foundation_models.json")["models"]:
        summary = {k: v for k, v in raw.items() if k not in ("modelId", "inferenceTypesSupportedByRegion", "emulation")}
        emulation = raw.get("emulation") or {}
        models[raw["modelId"]] = SandboxModel(
            raw["modelId"],
            summary,
            {r: list(t) for r, t in raw["inferenceTypesSupportedByRegion"].items()},
            str(emulation.get("bodyFormat") or "unknown"),
            emulation.get("maxOutputTokens"),
            emulation.get("contextWindow"),
        )
    profiles = {
        raw["inferenceProfileId"]: SandboxProfile(
            raw["inferenceProfileId"],
            raw["inferenceProfileName"],
            raw["description"],
            raw["modelId"],
            tuple(raw["sourceRegions"]),
        )
        for raw in _read("inference_profiles.json")["profiles"]
    }
    return SandboxModels(models, profiles)
