"""The refresh pipeline, run against the sandbox (which keeps its own copy of what AWS returns)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from bedrockctl.catalog import load_catalog
from bedrockctl.catalog.refresh import refresh_document

ROOT = Path(__file__).resolve().parents[1]


def _current() -> dict[str, Any]:
    return json.loads(resources.files("bedrockctl.catalog").joinpath("data/models.json").read_text())


def test_full_refresh_against_the_sandbox(boto_client: Any) -> None:
    current = _current()
    regions = list(load_catalog().region_names())
    day = dt.date(2030, 1, 1)
    result = refresh_document(current, lambda r: boto_client("bedrock", r), regions, today=day)
    doc = result.document
    assert result.skipped == {} and result.added_models == [] and result.removed_models == []
    assert doc["as_of"] == "2030-01-01" and doc["source"] == current["source"]
    # every model is kept (those past end-of-life too: AWS stops listing them, the catalog remembers them)
    assert [m["model_id"] for m in doc["models"]] == [m["model_id"] for m in current["models"]]
    listed = {m["model_id"] for m in doc["models"] if m["facts"]["confidence"] == "api"}
    assert "anthropic.claude-sonnet-4-5-20250929-v1:0" in listed
    assert "anthropic.claude-3-5-sonnet-20240620-v1:0" not in listed  # past end-of-life: not listed any more
    old = {m["model_id"]: m for m in current["models"]}
    for model in doc["models"]:  # what the API does not return is kept
        was = old[model["model_id"]]
        assert (model["body_format"], model["replacement"]) == (was["body_format"], was["replacement"])
        assert model["end_of_life_date"] == was["end_of_life_date"] or model["model_id"] in listed
    assert "lifecycle" not in doc["models"][0]


def test_unreachable_regions_keep_their_facts(boto_client: Any) -> None:
    current = _current()
    regions = list(load_catalog().region_names())

    def client_for(region: str) -> Any:
        if region.startswith("eu-"):
            raise RuntimeError("region not enabled")
        return boto_client("bedrock", region)

    result = refresh_document(current, client_for, regions)
    assert set(result.skipped) == {r for r in regions if r.startswith("eu-")}
    assert [m["model_id"] for m in result.document["models"]] == [m["model_id"] for m in current["models"]]
    by_id = {m["model_id"]: m for m in result.document["models"]}
    for model in current["models"]:  # the eu-* Regions keep what the current document says about them
        eu = {r for r in model["regions"] if r.startswith("eu-")}
        assert eu <= set(by_id[model["model_id"]]["regions"]), model["model_id"]


def test_partial_refresh_drops_what_aws_no_longer_lists(boto_client: Any) -> None:
    current = _current()
    retired = dict(
        current["models"][0],
        model_id="acme.retired-v1:0",
        regions=["us-east-1"],
        profile_only_regions=[],
        end_of_life_date=None,
    )
    current["models"].append(retired)
    result = refresh_document(current, lambda r: boto_client("bedrock", r), ["us-east-1"])
    assert result.removed_models == ["acme.retired-v1:0"]
    assert "acme.retired-v1:0" not in {m["model_id"] for m in result.document["models"]}
    # models of Regions that were not queried are kept
    kept = [m["model_id"] for m in current["models"] if m["model_id"] != "acme.retired-v1:0"]
    assert [m["model_id"] for m in result.document["models"]] == kept


def test_script_runs_against_sandbox(sandbox_env: Any, tmp_path: Path) -> None:
    out = tmp_path / "models.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "refresh_catalog.py"), "--regions", "us-east-1", "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["source"] == _current()["source"]
    assert {m["model_id"] for m in doc["models"]} == {m["model_id"] for m in _current()["models"]}
    assert "1/1 regions queried" in proc.stderr
