"""The refresh pipeline, run against the sandbox (which serves the catalog): a full refresh is a fixed point."""

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


def test_full_refresh_reproduces_catalog(boto_client: Any) -> None:
    current = _current()
    regions = list(load_catalog().region_names())
    result = refresh_document(current, lambda r: boto_client("bedrock", r), regions, today=dt.date(2030, 1, 1))
    doc = result.document
    assert result.skipped == {} and result.added_models == [] and result.removed_models == []
    assert doc["as_of"] == "2030-01-01" and doc["source"] == current["source"]
    assert doc["models"] == current["models"]
    assert doc["inference_profiles"] == current["inference_profiles"]


def test_unreachable_regions_keep_their_facts(boto_client: Any) -> None:
    current = _current()
    regions = list(load_catalog().region_names())

    def client_for(region: str) -> Any:
        if region.startswith("eu-"):
            raise RuntimeError("region not enabled")
        return boto_client("bedrock", region)

    result = refresh_document(current, client_for, regions)
    assert set(result.skipped) == {r for r in regions if r.startswith("eu-")}
    assert result.document["models"] == current["models"]


def test_partial_refresh_drops_what_aws_no_longer_lists(boto_client: Any) -> None:
    current = _current()
    retired = dict(current["models"][0], model_id="acme.retired-v1:0", regions=["us-east-1"], profile_only_regions=[])
    current["models"].append(retired)
    result = refresh_document(current, lambda r: boto_client("bedrock", r), ["us-east-1"])
    assert result.removed_models == ["acme.retired-v1:0"]
    assert "acme.retired-v1:0" not in {m["model_id"] for m in result.document["models"]}
    # models of regions that were not queried are kept as they are
    assert result.document["models"] == [m for m in current["models"] if m["model_id"] != "acme.retired-v1:0"]


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
