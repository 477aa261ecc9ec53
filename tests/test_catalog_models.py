"""Invariants of the packaged model catalog and its query helpers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date, timedelta
from importlib import resources

import pytest

from bedrockctl import catalog
from bedrockctl.catalog import (
    CUSTOMIZATIONS,
    GEOGRAPHIES,
    INFERENCE_TYPES,
    MODALITIES,
    geography_of,
    get_model,
    load_catalog,
    models_in_region,
    parse_model_ref,
    profile_for_region,
    profiles_for,
)
from bedrockctl.catalog.lifecycle import LifecycleDates, today

CAT = load_catalog()
REGIONS = set(CAT.region_names())
MODEL_ID_RE = re.compile(r"^[a-z0-9-]{1,63}\.[a-z0-9.-]{1,127}(:[a-z0-9-]{1,63}){0,2}$")


def test_facts_have_source_and_as_of() -> None:
    raw = json.loads(resources.files("bedrockctl.catalog").joinpath("data/models.json").read_text())
    assert raw["source"] and all("docs.aws.amazon.com" in s for s in raw["source"])
    assert CAT.as_of == date.fromisoformat(raw["as_of"])
    assert 35 <= len(CAT.models) <= 120
    assert all("lifecycle" not in m for m in raw["models"]), "the status is computed from dates, never stored"
    for model in CAT.models:  # every model says where its facts come from, when, and how sure we are
        assert model.facts is not None and model.facts.source and model.facts.as_of <= CAT.as_of
        assert model.facts.confidence in {"confirmed", "carried", "unconfirmed", "api"}, model.model_id
        assert model.facts.confidence == "confirmed" or model.facts.note, model.model_id


def test_load_is_cached_and_no_io_at_import() -> None:
    assert load_catalog() is CAT
    code = (
        "import bedrockctl.catalog as c, bedrockctl.catalog.model as m;"
        "print(m.load_catalog.cache_info().currsize, len(c.load_catalog().models) > 0,"
        " m.load_catalog.cache_info().currsize)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "True", "1"]  # nothing parsed at import; parsed once on first use


@pytest.mark.parametrize("model", CAT.models, ids=lambda m: m.model_id)
def test_model_invariants(model: catalog.FoundationModel) -> None:
    assert MODEL_ID_RE.match(model.model_id)
    assert set(model.inference_types) <= INFERENCE_TYPES and model.inference_types
    assert set(model.customizations) <= CUSTOMIZATIONS
    assert set(model.input_modalities) | set(model.output_modalities) <= MODALITIES
    assert set(model.regions) <= REGIONS and model.regions
    assert set(model.profile_only_regions) <= set(model.regions)
    assert model.body_format
    if model.legacy_date and model.end_of_life_date:
        assert model.legacy_date < model.end_of_life_date
    if model.launch_date:
        assert all(model.launch_date < d for d in (model.legacy_date, model.end_of_life_date) if d)
    if model.public_extended_access_date:
        assert model.legacy_date and model.end_of_life_date
        assert model.legacy_date <= model.public_extended_access_date < model.end_of_life_date
    if model.legacy_date:
        assert model.end_of_life_date, "AWS announces the EOL date when a model goes Legacy"
    if model.replacement:
        assert model.replacement != model.model_id and get_model(model.replacement) is not None
    if "INFERENCE_PROFILE" in model.inference_types:
        assert profiles_for(model.model_id), "profile-only models need at least one system profile"
    if model.profile_only:
        assert model.profile_only_regions == model.regions
    assert bool(model.profile_only_regions) == ("INFERENCE_PROFILE" in model.inference_types)
    for region in model.profile_only_regions:
        assert profile_for_region(model.model_id, region) is not None, region


@pytest.mark.parametrize("profile", CAT.profiles, ids=lambda p: p.profile_id)
def test_profile_invariants(profile: catalog.InferenceProfile) -> None:
    assert profile.geography in GEOGRAPHIES
    assert profile.profile_id == f"{profile.geography}.{profile.model_id}"
    assert get_model(profile.model_id) is not None
    assert set(profile.regions) <= REGIONS
    if profile.geography != "global":
        assert {geography_of(r) for r in profile.regions} == {profile.geography}
    assert set(profile.regions) <= set(get_model(profile.model_id).regions)  # type: ignore[union-attr]
    assert re.fullmatch(r"([0-9a-zA-Z:.][ _-]?)+", profile.description)  # AWS's description pattern


def test_end_of_life_in_the_past_means_eol_today() -> None:
    """Fails when a catalog model's end-of-life date has passed (real clock) and it is not treated as EOL."""
    day = today()
    for model in CAT.models:
        past = model.end_of_life_date is not None and model.end_of_life_date <= day
        for region in model.regions:
            status = model.status_on(day, region)
            if past and region not in model.end_of_life_exempt_regions:
                assert status == "EOL", (model.model_id, region)
                assert model not in CAT.models_in_region(region), (model.model_id, region)
            else:
                assert status != "EOL", (model.model_id, region)
        if past and not model.end_of_life_exempt_regions:
            assert model.lifecycle == "EOL" and not model.offered_on(day), model.model_id
            assert model not in CAT.offered_models(day)
        elif not past:
            assert model.lifecycle != "EOL", model.model_id
        assert set(model.end_of_life_exempt_regions) <= set(model.regions)


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        # (legacy, extended access, end of life) -> status on 2026-03-31, 2026-04-01, 2026-09-30, 2026-10-01
        ((date(2026, 4, 1), None, date(2026, 10, 1)), ("ACTIVE", "LEGACY", "LEGACY", "EOL")),
        ((None, None, date(2026, 10, 1)), ("LEGACY", "LEGACY", "LEGACY", "EOL")),  # EOL announced => Legacy
        ((date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1)), ("ACTIVE", "LEGACY", "LEGACY", "EOL")),
        ((None, None, None), ("ACTIVE", "ACTIVE", "ACTIVE", "ACTIVE")),
    ],
)
def test_lifecycle_transitions_with_a_clock_the_test_owns(
    dates: tuple[date | None, date | None, date | None], expected: tuple[str, ...]
) -> None:
    life = LifecycleDates(*dates)
    days = (date(2026, 3, 31), date(2026, 4, 1), date(2026, 9, 30), date(2026, 10, 1))
    assert tuple(life.status_on(d) for d in days) == expected
    if dates[2] is not None:
        assert life.days_to_end_of_life(date(2026, 9, 30)) == 1 and life.days_to_end_of_life(dates[2]) == 0
    if dates[1] is not None:
        assert not life.in_extended_access(date(2026, 6, 30)) and life.in_extended_access(date(2026, 7, 1))
        assert not life.in_extended_access(date(2026, 10, 1))


def test_catalog_queries_follow_the_clock() -> None:
    """ACTIVE -> LEGACY -> EOL on a real catalog model, on days the test chooses."""
    sonnet35 = get_model("anthropic.claude-3-5-sonnet-20240620-v1:0")
    assert sonnet35 is not None and sonnet35.legacy_date and sonnet35.end_of_life_date
    before, legacy, after = sonnet35.legacy_date - timedelta(days=1), sonnet35.legacy_date, sonnet35.end_of_life_date
    assert [sonnet35.status_on(d) for d in (before, legacy, after)] == ["ACTIVE", "LEGACY", "EOL"]
    region = sonnet35.regions[0]
    assert sonnet35 in CAT.models_in_region(region, on=legacy)
    assert sonnet35 not in CAT.models_in_region(region, on=after)
    assert sonnet35 in CAT.models_in_region(region, on=after, include_eol=True)
    successor = CAT.successor(sonnet35.model_id, on=after)
    assert successor is not None and successor.offered_on(after) and successor.model_id == sonnet35.replacement
    assert CAT.successor("amazon.nova-pro-v1:0", on=after) is None  # no replacement named


def test_required_real_models_present() -> None:
    for model_id in (
        "anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "meta.llama3-1-70b-instruct-v1:0",
        "amazon.nova-pro-v1:0",
        "amazon.titan-embed-text-v2:0",
        "mistral.mixtral-8x7b-instruct-v0:1",
        "cohere.embed-english-v3",
    ):
        assert get_model(model_id) is not None, model_id
    for profile_only in (
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "meta.llama3-3-70b-instruct-v1:0",
    ):
        assert get_model(profile_only).profile_only  # type: ignore[union-attr]
    assert catalog.get_profile("global.anthropic.claude-sonnet-4-5-20250929-v1:0") is not None


def test_queries() -> None:
    assert geography_of("eu-west-3") == "eu" and geography_of("ap-south-1") == "apac"
    assert geography_of("us-east-2") == "us" and geography_of("mars-north-1") is None
    east = {m.model_id for m in models_in_region("us-east-1")}
    assert "ai21.jamba-1-5-large-v1:0" in east
    assert "ai21.jamba-1-5-large-v1:0" not in {m.model_id for m in models_in_region("eu-west-1")}
    sonnet45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert profile_for_region(sonnet45, "us-west-2").profile_id == f"us.{sonnet45}"  # type: ignore[union-attr]
    assert profile_for_region(sonnet45, "ap-southeast-1").geography == "global"  # type: ignore[union-attr]
    assert profile_for_region(sonnet45, "ap-southeast-1", allowed_geographies=["apac"]) is None
    assert profile_for_region(sonnet45, "eu-west-1", allowed_geographies=["global"]).geography == "global"  # type: ignore[union-attr]
    haiku = get_model("anthropic.claude-3-haiku-20240307-v1:0")
    assert haiku is not None and haiku.on_demand_in("us-east-1") and not haiku.on_demand_in("us-east-2")
    llama = get_model("meta.llama3-1-70b-instruct-v1:0")
    assert llama is not None and llama.on_demand_in("us-west-2") and not llama.on_demand_in("us-east-1")
    assert llama.inference_types_in("us-east-1") == ("INFERENCE_PROFILE",)


@pytest.mark.parametrize(
    ("ref", "kind", "model_id", "extra"),
    [
        ("anthropic.claude-3-haiku-20240307-v1:0", "foundation-model", "anthropic.claude-3-haiku-20240307-v1:0", {}),
        ("amazon.titan-text-express-v1", "foundation-model", "amazon.titan-text-express-v1", {}),
        (
            "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "inference-profile",
            "anthropic.claude-3-7-sonnet-20250219-v1:0",
            {"geography": "eu", "profile_id": "eu.anthropic.claude-3-7-sonnet-20250219-v1:0"},
        ),
        (
            "arn:aws:bedrock:us-west-2::foundation-model/meta.llama3-1-8b-instruct-v1:0",
            "foundation-model",
            "meta.llama3-1-8b-instruct-v1:0",
            {"region": "us-west-2", "account_id": None},
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "inference-profile",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            {"geography": "global", "account_id": "123456789012"},
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
            "application-inference-profile",
            None,
            {"resource_id": "a1b2c3d4e5f6", "profile_id": "a1b2c3d4e5f6"},
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghijkl",
            "provisioned-model",
            None,
            {"resource_id": "abcdefghijkl"},
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1/abcdefghijkl",
            "custom-model",
            "amazon.titan-text-express-v1",
            {"resource_id": "abcdefghijkl"},
        ),
        (
            "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:imported-model/abcdefghijkl",
            "imported-model",
            None,
            {"partition": "aws-us-gov"},
        ),
    ],
)
def test_parse_model_ref(ref: str, kind: str, model_id: str | None, extra: dict[str, object]) -> None:
    parsed = parse_model_ref(ref)
    assert parsed.kind == kind and parsed.model_id == model_id
    for key, value in extra.items():
        assert getattr(parsed, key) == value
    assert parsed.is_arn == ref.startswith("arn:")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "claude",
        "Anthropic.Claude",
        "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/short",
        "arn:aws:bedrock:us-east-1::inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        "arn:aws:s3:::bucket/key",
        "arn:aws:bedrock:us-east-1:123456789012:agent/ABCDEFGHIJ",
    ],
)
def test_parse_model_ref_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_model_ref(bad)
