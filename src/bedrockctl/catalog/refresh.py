"""Rebuild the catalog document from the live Bedrock APIs (ListFoundationModels, ListInferenceProfiles).

Used by ``scripts/refresh_catalog.py``. The APIs give ids, names, modalities, streaming, inference types,
customizations, lifecycle and which regions list each model and profile; facts the APIs don't expose
(``body_format``, context window, max output tokens, region names) are kept from the current document. A region
that can't be queried (not enabled, no access) keeps its current facts and is reported in ``skipped``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bedrockctl.catalog.model import GEOGRAPHIES, parse_catalog

ClientFactory = Callable[[str], Any]  # region -> boto3 "bedrock" client


@dataclass
class RefreshResult:
    document: dict[str, Any]
    skipped: dict[str, str] = field(default_factory=dict)  # region -> error
    added_models: list[str] = field(default_factory=list)
    removed_models: list[str] = field(default_factory=list)


def _geography_for(region: str) -> str | None:
    if region.startswith(("us-gov-", "cn-")):
        return None
    prefix = region.split("-", 1)[0]
    return {"us": "us", "eu": "eu", "ap": "apac"}.get(prefix)


def _date(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value)[:10]


def _facts(old: dict[str, Any] | None, today_iso: str) -> dict[str, Any]:
    """Provenance of a refreshed model: the API confirmed ids, Regions and lifecycle today."""
    previous = (old or {}).get("facts") or {}
    note = "ids, Regions, modalities and lifecycle from ListFoundationModels"
    if previous.get("note"):
        note += f"; earlier note: {previous['note']}"
    return {
        "source": "ListFoundationModels / ListInferenceProfiles",
        "as_of": today_iso,
        "confidence": "api",
        "note": note,
    }


def _list_profiles(client: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"typeEquals": "SYSTEM_DEFINED", "maxResults": 1000}
    while True:
        resp = client.list_inference_profiles(**kwargs)
        out += resp.get("inferenceProfileSummaries", [])
        if not resp.get("nextToken"):
            return out
        kwargs["nextToken"] = resp["nextToken"]


def refresh_document(
    current: dict[str, Any],
    client_for: ClientFactory,
    regions: Iterable[str],
    *,
    today: dt.date | None = None,
) -> RefreshResult:
    """Query ``regions`` and return the refreshed document (``source`` kept, ``as_of`` set to ``today``)."""
    regions = list(regions)
    old_models = {m["model_id"]: m for m in current["models"]}
    old_profiles = {p["profile_id"]: p for p in current["inference_profiles"]}
    result = RefreshResult(document={})
    seen: dict[str, dict[str, Any]] = {}  # model id -> merged facts
    per_region_types: dict[str, dict[str, list[str]]] = {}  # model id -> region -> inference types
    profile_regions: dict[str, set[str]] = {}
    profile_facts: dict[str, dict[str, Any]] = {}
    queried: list[str] = []
    today_iso = (today or dt.datetime.now(dt.UTC).date()).isoformat()
    for region in regions:
        try:
            client = client_for(region)
            summaries = client.list_foundation_models()["modelSummaries"]
            profiles = _list_profiles(client)
        except Exception as exc:
            result.skipped[region] = f"{type(exc).__name__}: {exc}"
            continue
        queried.append(region)
        for s in summaries:
            mid = s["modelId"]
            facts = seen.setdefault(mid, {"summary": s})
            facts["summary"] = s
            per_region_types.setdefault(mid, {})[region] = list(s.get("inferenceTypesSupported") or [])
        for p in profiles:
            pid = p["inferenceProfileId"]
            profile_facts[pid] = p
            members = {a["modelArn"].split(":")[3] for a in p.get("models", []) if a["modelArn"].split(":")[3]}
            geo = pid.split(".", 1)[0]
            regs = profile_regions.setdefault(pid, set())
            regs.add(region)
            if geo != "global":
                regs |= members
    # regions we did not (or could not) query keep their current memberships
    kept = ({r["region"] for r in current["regions"]} | set(regions)) - set(queried)
    models: list[dict[str, Any]] = []
    for mid in [*old_models, *(m for m in seen if m not in old_models)]:
        old = old_models.get(mid)
        if mid not in seen:
            eol = (old or {}).get("end_of_life_date")
            if old and (kept & set(old["regions"]) or (eol and eol <= today_iso)):
                models.append(old)  # not queried here, or past end-of-life (AWS stops listing it): keep the record
            elif old:
                result.removed_models.append(mid)
            continue
        s = seen[mid]["summary"]
        types_by_region = dict(per_region_types[mid])
        if old:  # regions not queried keep what the current document says about them
            old_types = [t for t in old["inference_types"] if t != "INFERENCE_PROFILE"]
            for r in kept & set(old["regions"]):
                only = r in old.get("profile_only_regions", [])
                types_by_region[r] = ["INFERENCE_PROFILE"] if only else old_types
        regs = set(types_by_region)
        profile_only = {r for r, t in types_by_region.items() if t == ["INFERENCE_PROFILE"]}
        all_types: list[str] = []
        for t in ["ON_DEMAND", "PROVISIONED", "INFERENCE_PROFILE"]:
            if any(t in ts for ts in types_by_region.values()) or (t == "INFERENCE_PROFILE" and profile_only):
                all_types.append(t)
        life = s.get("modelLifecycle") or {}
        models.append(
            {
                "model_id": mid,
                "model_name": s.get("modelName", mid),
                "provider": s.get("providerName", mid.split(".", 1)[0]),
                "input_modalities": s.get("inputModalities", []),
                "output_modalities": s.get("outputModalities", []),
                "response_streaming": bool(s.get("responseStreamingSupported", False)),
                "inference_types": all_types,
                "customizations": s.get("customizationsSupported", []),
                "regions": sorted(regs),
                "profile_only_regions": sorted(profile_only),
                "body_format": (old or {}).get("body_format", "unknown"),
                "context_window": (old or {}).get("context_window"),
                "max_output_tokens": (old or {}).get("max_output_tokens"),
                # the API's dates win; a date the API leaves out keeps what the lifecycle page told us
                "launch_date": _date(life.get("startOfLifeTime")) or (old or {}).get("launch_date"),
                "legacy_date": _date(life.get("legacyTime")) or (old or {}).get("legacy_date"),
                "public_extended_access_date": _date(life.get("publicExtendedAccessTime"))
                or (old or {}).get("public_extended_access_date"),
                "end_of_life_date": _date(life.get("endOfLifeTime")) or (old or {}).get("end_of_life_date"),
                "replacement": (old or {}).get("replacement"),
                "facts": _facts(old, today_iso),
            }
        )
        if not old:
            result.added_models.append(mid)
    profiles_out: list[dict[str, Any]] = []
    for pid in [*old_profiles, *(p for p in profile_regions if p not in old_profiles)]:
        old_p = old_profiles.get(pid)
        if pid not in profile_regions:
            if old_p and kept & set(old_p["regions"]):
                profiles_out.append(old_p)
            continue
        regs = profile_regions[pid] | (kept & set(old_p["regions"]) if old_p else set())
        geo, model_id = pid.split(".", 1)
        if geo not in GEOGRAPHIES:
            continue
        facts = profile_facts[pid]
        profiles_out.append(
            {
                "profile_id": pid,
                "name": facts.get("inferenceProfileName", pid),
                "description": facts.get("description", ""),
                "geography": geo,
                "model_id": model_id,
                "regions": sorted(regs),
            }
        )
    old_regions = {r["region"]: r for r in current["regions"]}
    region_rows = [
        old_regions.get(r) or {"region": r, "name": r, "geography": _geography_for(r), "partition": "aws"}
        for r in dict.fromkeys([*old_regions, *regions])
    ]
    doc = dict(current)
    doc.update(
        {
            "as_of": today_iso,
            "regions": region_rows,
            "models": models,
            "inference_profiles": profiles_out,
        }
    )
    parse_catalog(doc)  # the result must load
    result.document = doc
    return result
