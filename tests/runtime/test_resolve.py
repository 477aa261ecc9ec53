"""Model resolution: aliases, Anthropic API names, profile-only ids, geography pins, ARNs."""

from __future__ import annotations

import pytest

from bedrockctl.runtime.errors import GeographyNotAllowed, UnresolvableModel
from bedrockctl.runtime.resolve import candidate_regions, canonical_model_id, resolve

S45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("claude-3-5-sonnet", S45),  # the alias's model reached end of life: it follows the named replacement
        ("claude-3-5-sonnet-20241022", "anthropic.claude-3-5-sonnet-20241022-v2:0"),
        ("claude-3-5-sonnet-20240620", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
        ("claude-3-haiku-20240307", "anthropic.claude-3-haiku-20240307-v1:0"),
        ("haiku", "anthropic.claude-haiku-4-5-20251001-v1:0"),
        ("sonnet", S45),
        ("claude-3-7-sonnet-latest", S45),
        ("amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"),
    ],
)
def test_aliases_and_anthropic_api_names(name: str, expected: str) -> None:
    assert canonical_model_id(name) == expected


@pytest.mark.parametrize(
    ("region", "profile"),
    [("us-east-1", f"us.{S45}"), ("eu-west-1", f"eu.{S45}"), ("ca-central-1", f"global.{S45}")],
)
def test_profile_only_bare_id_resolves_to_the_regions_profile(region: str, profile: str) -> None:
    t = resolve(S45, region)
    assert (t.model_id, t.kind, t.region, t.base_model) == (profile, "inference-profile", region, S45)


def test_on_demand_model_stays_bare() -> None:
    t = resolve("claude-3-haiku", "us-east-1")
    assert (t.model_id, t.kind) == ("anthropic.claude-3-haiku-20240307-v1:0", "foundation-model")


def test_geography_pin() -> None:
    assert resolve(S45, "eu-central-1", ["eu"]).model_id == f"eu.{S45}"
    with pytest.raises(GeographyNotAllowed, match="any region worldwide"):
        resolve(f"global.{S45}", "eu-central-1", ["eu"])
    with pytest.raises(GeographyNotAllowed):
        resolve(S45, "ca-central-1", ["eu"])  # only the global profile is callable there
    with pytest.raises(GeographyNotAllowed):
        resolve("anthropic.claude-3-haiku-20240307-v1:0", "us-east-1", ["eu"])
    assert resolve(f"global.{S45}", "eu-central-1", ["eu", "global"]).geography == "global"


def test_arns_accepted() -> None:
    pt = "arn:aws:bedrock:us-west-2:123456789012:provisioned-model/abcdefghij12"
    t = resolve(pt, "us-east-1")
    assert (t.kind, t.region, t.model_id) == ("provisioned-model", "us-west-2", pt)
    app = "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abcdefghij12"
    assert resolve(app, "us-east-1").kind == "application-inference-profile"
    with pytest.raises(GeographyNotAllowed):
        resolve(app, "eu-west-1", ["us"])
    fm = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    assert resolve(fm, "us-east-1").base_model == "anthropic.claude-3-haiku-20240307-v1:0"


def test_unknown_and_local() -> None:
    with pytest.raises(UnresolvableModel):
        resolve("no-such-model", "us-east-1")
    with pytest.raises(UnresolvableModel):
        resolve("anthropic.claude-3-opus-20240229-v1:0", "eu-west-1")
    assert resolve("local:llama3.2", "us-east-1").is_local


def test_candidate_regions_stay_in_geography() -> None:
    regions = candidate_regions(resolve("claude-sonnet-4-5", "us-east-2"))
    assert regions[0] == "us-east-2" and set(regions) == {"us-east-1", "us-east-2", "us-west-1", "us-west-2"}


def test_no_alias_points_at_an_end_of_life_model() -> None:
    """Whatever today is (run under faketime too): an alias resolves to a model still offered, or fails clearly."""
    from bedrockctl.catalog import load_catalog
    from bedrockctl.runtime.resolve import ALIASES

    catalog = load_catalog()
    for alias in ALIASES:
        try:
            target = canonical_model_id(alias)
        except UnresolvableModel as exc:
            assert "end of life" in exc.message, alias
            continue
        model = catalog.get_model(target)
        assert model is not None and model.lifecycle != "EOL", (alias, target)
