"""The product catalog against the sandbox's own data (what AWS returns), over real HTTP with boto3.

The sandbox no longer reads the catalog, so the two are independent sources: every real mismatch (a model the
catalog offers in a Region that AWS does not list there, on-demand vs profile-only, modalities, streaming, a
lifecycle date, a system profile) is reported as a failure, all of them at once. Differences that are known and
deliberate are listed in ``KNOWN`` with the reason; the test also fails when one of them is no longer true, so the
list cannot go stale.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bedrockctl.catalog import Catalog, load_catalog, parse_catalog
from bedrockctl.catalog.lifecycle import today

# (model id, aspect) -> why the sandbox deliberately differs from the catalog
KNOWN: dict[tuple[str, str], str] = {
    ("anthropic.claude-3-haiku-20240307-v1:0", "lifecycle"): (
        "the sandbox keeps Claude 3 Haiku's pre-Legacy record because the suite, seeds and demo call it on demand "
        "(see its emulation.note in sandbox/data/foundation_models.json)"
    ),
}


def _day(value: Any) -> str | None:
    if value is None:
        return None
    return (value.date() if isinstance(value, dt.datetime) else value).isoformat()


def _listings(boto_client: Any, catalog: Catalog) -> tuple[dict[str, dict[str, Any]], dict[str, set[str]]]:
    """Per Region: model id -> ListFoundationModels summary, and the system profile ids listed there."""
    models: dict[str, dict[str, Any]] = {}
    profiles: dict[str, set[str]] = {}
    for region in catalog.region_names():
        client = boto_client("bedrock", region)
        for summary in client.list_foundation_models()["modelSummaries"]:
            models[f"{region}|{summary['modelId']}"] = summary
        pages = client.get_paginator("list_inference_profiles").paginate(typeEquals="SYSTEM_DEFINED")
        profiles[region] = {p["inferenceProfileId"] for page in pages for p in page["inferenceProfileSummaries"]}
    return models, profiles


def _differences(boto_client: Any, catalog: Catalog) -> dict[tuple[str, str], list[str]]:
    day = today()
    listed, listed_profiles = _listings(boto_client, catalog)
    found: dict[tuple[str, str], list[str]] = {}

    def diff(model_id: str, aspect: str, text: str) -> None:
        found.setdefault((model_id, aspect), []).append(text)

    for model in catalog.models:
        for region in model.regions:
            summary = listed.get(f"{region}|{model.model_id}")
            offered = model.offered_on(day, region)
            if summary is None:
                if offered:
                    diff(model.model_id, "regions", f"catalog offers it in {region}; AWS's data does not list it")
                continue
            if not offered:
                diff(model.model_id, "lifecycle", f"catalog: past end of life in {region}; AWS's data still lists it")
            types = summary["inferenceTypesSupported"]
            if model.on_demand_in(region) != ("ON_DEMAND" in types):
                diff(
                    model.model_id,
                    "inference types",
                    f"{region}: catalog on-demand={model.on_demand_in(region)}, AWS {types}",
                )
            if (summary["inputModalities"], summary["outputModalities"]) != (
                list(model.input_modalities),
                list(model.output_modalities),
            ):
                diff(
                    model.model_id,
                    "modalities",
                    f"{region}: {summary['inputModalities']} -> {summary['outputModalities']}",
                )
            if summary["responseStreamingSupported"] != model.response_streaming:
                diff(model.model_id, "streaming", f"{region}: AWS says {summary['responseStreamingSupported']}")
            life = summary.get("modelLifecycle") or {}
            aws_dates = tuple(_day(life.get(k)) for k in ("startOfLifeTime", "legacyTime", "endOfLifeTime"))
            ours = (_day(model.launch_date), _day(model.legacy_date), _day(model.end_of_life_date))
            if aws_dates != ours:
                diff(model.model_id, "lifecycle", f"{region}: AWS (launch, legacy, EOL) {aws_dates}, catalog {ours}")
    known_ids = {m.model_id for m in catalog.models}
    for key in listed:
        region, model_id = key.split("|", 1)
        if model_id not in known_ids:
            diff(model_id, "regions", f"AWS's data lists it in {region}; the catalog does not know it")
    for profile in catalog.profiles:
        model = catalog.get_model(profile.model_id)
        for region in profile.regions:
            if (
                model is not None
                and model.offered_on(day, region)
                and profile.profile_id not in listed_profiles[region]
            ):
                diff(profile.model_id, "profiles", f"{profile.profile_id} not listed in {region}")
    return {key: sorted(set(texts)) for key, texts in found.items()}


def test_catalog_matches_what_aws_returns(boto_client: Any) -> None:
    found = _differences(boto_client, load_catalog())
    real = {key: texts for key, texts in found.items() if key not in KNOWN}
    report = "\n".join(f"{mid} [{aspect}]: {'; '.join(texts[:4])}" for (mid, aspect), texts in sorted(real.items()))
    assert not real, f"catalog and AWS's data disagree:\n{report}"
    stale = [key for key in KNOWN if key not in found]
    assert not stale, f"known differences that no longer exist (remove them from KNOWN): {stale}"


def test_the_comparison_catches_a_wrong_catalog_entry(boto_client: Any) -> None:
    """A catalog entry claiming a Region AWS does not list, or the wrong inference types, is reported."""
    import json
    from importlib import resources

    doc = json.loads(resources.files("bedrockctl.catalog").joinpath("data/models.json").read_text())
    nova = next(m for m in doc["models"] if m["model_id"] == "amazon.nova-pro-v1:0")
    assert "af-south-1" not in nova["regions"] and "us-east-1" not in nova["profile_only_regions"]
    nova["regions"].append("af-south-1")
    nova["profile_only_regions"].append("us-east-1")
    found = _differences(boto_client, parse_catalog(doc))
    assert found[("amazon.nova-pro-v1:0", "regions")] == [
        "catalog offers it in af-south-1; AWS's data does not list it"
    ]
    assert found[("amazon.nova-pro-v1:0", "inference types")][0].startswith("us-east-1: catalog on-demand=False")
