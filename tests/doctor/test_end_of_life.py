"""``models.end_of_life``: the doctor warns within 60 days of a configured model's end of life and fails past it.

Days come from a clock the test owns (``on=``), set relative to the catalog's own dates, so the test passes on any
day (and under faketime); the CLI test uses a model whose end of life is in the past whatever today is.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bedrockctl.catalog import get_model, load_catalog
from bedrockctl.catalog.lifecycle import EOL_WARNING_DAYS, today
from bedrockctl.sandbox.server import Sandbox
from bedrockctl.services.doctor.models import configured_model_refs, end_of_life_checks
from bedrockctl.settings import DefaultsSettings, EnvironmentSettings, Settings

SONNET35V2 = "anthropic.claude-3-5-sonnet-20241022-v2:0"  # EOL 2026-03-01, replacement named in the catalog


def _one(ref: str, days_before_eol: int, origin: str = "defaults.model") -> Any:
    model = get_model(SONNET35V2)
    assert model is not None and model.end_of_life_date is not None
    checks = end_of_life_checks([(origin, ref)], on=model.end_of_life_date - timedelta(days=days_before_eol))
    assert len(checks) == 1
    return checks[0]


@pytest.mark.parametrize(
    ("days_before", "status", "words"),
    [
        (EOL_WARNING_DAYS + 1, "pass", "LEGACY; end of life 2026-03-01"),
        (EOL_WARNING_DAYS, "warn", "in 60 days"),
        (1, "warn", "in 1 day"),
        (0, "fail", "past its end of life (2026-03-01)"),
        (-30, "fail", "calls fail"),
    ],
)
def test_warns_within_60_days_and_fails_past(days_before: int, status: str, words: str) -> None:
    check = _one(SONNET35V2, days_before)
    assert (check.id, check.status) == ("models.end_of_life", status), check
    assert words in check.evidence, check.evidence
    replacement = get_model(SONNET35V2).replacement  # type: ignore[union-attr]
    assert check.data["replacement"] == replacement and check.data["days_left"] == days_before
    if status != "pass":
        assert replacement and replacement in check.remediation and "defaults.model" in check.remediation


def test_profile_ids_and_arns_are_checked_through_their_model() -> None:
    profile = f"us.{SONNET35V2}"
    arn = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{profile}"
    for ref in (profile, arn, f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET35V2}"):
        check = _one(ref, 10)
        assert check.status == "warn" and check.data["model_id"] == SONNET35V2 and ref in check.evidence


def test_models_without_end_of_life_and_unknown_refs() -> None:
    checks = end_of_life_checks(
        [
            ("defaults.model", "amazon.nova-pro-v1:0"),
            (
                "environments.prod.allowed_models",
                "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghijkl",
            ),
            ("environments.prod.allowed_models", "not a model!"),
        ],
        on=today(),
    )
    assert [(c.target, c.status) for c in checks] == [("amazon.nova-pro-v1:0", "pass")]


def test_regional_end_of_life_exemption() -> None:
    """Claude 3 Haiku: past end of life in most Regions, still served in a few (AWS's model card)."""
    haiku = get_model("anthropic.claude-3-haiku-20240307-v1:0")
    assert haiku is not None and haiku.end_of_life_date and haiku.end_of_life_exempt_regions
    after = haiku.end_of_life_date + timedelta(days=1)
    ref = [("defaults.model", haiku.model_id)]
    assert end_of_life_checks(ref, region="us-east-1", on=after)[0].status == "fail"
    assert end_of_life_checks(ref, region=haiku.end_of_life_exempt_regions[0], on=after)[0].status == "warn"


def test_configured_refs_cover_defaults_env_var_environments_and_aliases() -> None:
    settings = Settings(
        defaults=DefaultsSettings(model="sonnet"),
        environments={
            "prod": EnvironmentSettings(
                name="prod",
                default_model="haiku",
                allowed_models=["haiku", SONNET35V2],
                tier_routes={"claude-3-5-haiku": "claude-3-haiku"},
            )
        },
    )
    refs = configured_model_refs(settings, {"BEDROCK_MODEL_ID": "amazon.nova-lite-v1:0"})
    assert refs == [
        ("defaults.model", "sonnet"),
        ("BEDROCK_MODEL_ID", "amazon.nova-lite-v1:0"),
        ("environments.prod.default_model", "haiku"),
        ("environments.prod.allowed_models", "haiku"),
        ("environments.prod.allowed_models", SONNET35V2),
        ("environments.prod.tier_routes", "claude-3-5-haiku"),
        ("environments.prod.tier_routes[claude-3-5-haiku]", "claude-3-haiku"),
    ]
    checks = {(c.data["origin"], c.target): c for c in end_of_life_checks(refs, region="us-east-1")}
    # aliases resolve today: an alias never lands on a model past its end of life
    for key in (("defaults.model", "sonnet"), ("environments.prod.tier_routes", "claude-3-5-haiku")):
        assert checks[key].data["status"] != "EOL", checks[key]
    assert checks[("environments.prod.allowed_models", SONNET35V2)].status == "fail"


def test_cli_fails_on_a_configured_model_past_end_of_life(
    sandbox_env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from bedrockctl.cli.app import app

    assert get_model(SONNET35V2).end_of_life_date < today()  # type: ignore[operator,union-attr]
    monkeypatch.setenv("BEDROCK_MODEL_ID", SONNET35V2)
    res = CliRunner().invoke(app, ["doctor", "--json", "--timeout", "1"])
    assert res.exit_code == 2, res.output
    checks = [c for c in json.loads(res.stdout)["checks"] if c["id"] == "models.end_of_life"]
    assert [c["status"] for c in checks] == ["fail"], checks
    replacement = load_catalog().get_model(SONNET35V2).replacement  # type: ignore[union-attr]
    assert checks[0]["data"]["origin"] == "BEDROCK_MODEL_ID" and replacement in checks[0]["remediation"]
