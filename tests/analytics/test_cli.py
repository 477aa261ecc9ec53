"""``usage ingest``, ``usage report`` (table, JSON, CSV) and ``cost`` through the CLI."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bedrockctl.samples import SampleSet


def test_ingest_report_and_cost(cli: Callable[..., Any], data_dir: Path, samples: SampleSet, tmp_path: Path) -> None:
    res = cli(
        "usage",
        "ingest",
        "--invocation-logs",
        str(samples.invocation_logs_gz),
        "--cloudtrail",
        str(samples.trail_file),
        "--json",
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["new_invocations"] == 6

    rep = json.loads(cli("usage", "report", "--by", "model", "--json").output)
    assert rep["totals"]["input_tokens"] == 11800 and rep["totals"]["cost_usd"] == "0.0557388"
    assert len(rep["rows"]) == 5 and rep["totals"]["unique_users"] == 3

    out = cli(
        "usage",
        "report",
        "--by",
        "user,tag:team",
        "--since",
        samples.day("2026-11-20"),
        "--until",
        samples.day("2026-11-20"),
        "--csv",
    )
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert {(r["user"], r["tag:team"], r["invocations"]) for r in rows} == {
        ("alice@example.com", "platform", "1"),
        ("alice@example.com", "", "1"),
        ("ci-runner/build-4711", "", "1"),
        ("bob", "", "1"),
    }

    period = f"{samples.day('2026-11-20')}:{samples.day('2026-11-21')}"
    text = cli("cost", "--period", period, "--by", "model,tag:workflow").output
    assert "0.0557388" in text and "█" in text

    # an unpriced model is flagged, not silently zero
    extra = tmp_path / "extra.jsonl"
    rec = json.loads(samples.invocation_logs.read_text().splitlines()[0])
    rec.update({"requestId": "x-1", "modelId": "arn:aws:bedrock:us-east-1:111122223333:provisioned-model/abcdef123456"})
    extra.write_text(json.dumps(rec) + "\n")
    cli("usage", "ingest", "--invocation-logs", str(extra))
    data = json.loads(cli("cost", "--period", period, "--json").output)
    assert data["totals"]["unpriced_invocations"] == 1
    assert data["unpriced"][0]["model_id"].endswith("provisioned-model/abcdef123456")
    assert data["totals"]["cost_usd"] == "0.0557388"


def test_report_without_data_is_a_clear_error(cli: Callable[..., Any], data_dir: Path) -> None:
    res = cli("usage", "report", "--json")
    assert res.exit_code == 2 and json.loads(res.stdout)["error"]["code"] == "BRC-USG-004"
