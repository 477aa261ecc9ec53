"""The generated month, with the dimensions a call is billed by besides its token rates (``billed_month``: service
tiers, images, guardrail text units and batch inference jobs, their output ingested with ``usage ingest
--batch-output``), priced by ``usage report`` and ``cost`` and compared with the bill computed by hand from rates
written out in the test, per model, per user and per tag; without the tier and image rates those calls are
unpriced, with the reason. ``cost reconcile`` of the same month: ``test_month_billed_dims_reconcile``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from .billed_month import (
    CANVAS,
    NOVA_PRO,
    TIER_RATES,
    TITAN_IMAGE,
    USERS,
    batch_by_hand,
    batch_jobs,
    batch_keys,
    billed_dimensions,
    by_hand,
    install_book,
)
from .test_cur_reconcile import MONTH, cli, ingest

__all__ = ["cli"]


def _rows(cli: Callable[..., Any], *args: str) -> dict[str, Decimal]:
    res = cli(*args, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["unpriced"] == [], doc["unpriced"]
    key = doc["group_by"][0]
    return {str(r[key] or ""): Decimal(str(r["cost_usd"])) for r in doc["rows"]}


def test_tiers_images_and_guardrail_units_are_priced_to_the_cent_per_model_user_and_tag(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(data))
    install_book(data)
    records = billed_dimensions()
    ingest(cli, tmp_path, records)
    batch = batch_jobs(tmp_path)
    res = cli("usage", "ingest", "--batch-output", str(tmp_path / "batch-output"), "--output", "json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert (report["new_invocations"], report["skipped_records"], report["bad_records"]) == (238, 2, 0)
    want: dict[str, dict[str, Decimal]] = {k: defaultdict(Decimal) for k in ("model", "user", "tag:team")}
    tiers: dict[str, Decimal] = defaultdict(Decimal)
    for b in batch:
        for by, key in batch_keys(b).items():
            want[by][key] += batch_by_hand(b)
        tiers["batch"] += batch_by_hand(b)
    for r in records:
        cost = sum(by_hand(r).values(), Decimal(0))
        want["model"][r["modelId"]] += cost
        want["user"][USERS[r["identity"]["arn"]]] += cost
        want["tag:team"][r["requestMetadata"]["team"]] += cost
        for part, usd in by_hand(r).items():
            tiers[part.split(":")[0] if part.split(":")[0] in TIER_RATES else "default"] += usd
    since, until = f"{MONTH}-01", f"{MONTH}-31"
    for by, expected in want.items():
        got = _rows(cli, "usage", "report", "--by", by, "--since", since, "--until", until)
        assert got == dict(expected), by
        assert {k: v.quantize(Decimal("0.01")) for k, v in got.items()} == {
            k: v.quantize(Decimal("0.01")) for k, v in expected.items()
        }
        assert _rows(cli, "cost", "--period", f"{since}:{until}", "--by", by) == got
    # every dimension is in the month, and the tier each call ran in is a report dimension of its own
    parts = {p.split(":")[0] + ":" + p.split(":")[1].split("/")[0] for r in records for p in by_hand(r)}
    assert {"flex:input", "flex:cache_read", "priority:output", "default:input"} <= parts
    assert {"image:premium", "image:standard", "guardrail:sensitiveInformationPolicyUnits"} <= parts
    assert _rows(cli, "usage", "report", "--by", "service_tier", "--since", since, "--until", until) == dict(tiers)


def test_without_tier_or_image_rates_those_calls_are_unpriced_with_the_reason(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(tmp_path / "data"))  # the packaged book: no tier or image rates
    ingest(cli, tmp_path, billed_dimensions())
    res = cli("usage", "report", "--by", "model", "--since", f"{MONTH}-01", "--until", f"{MONTH}-31", "--json")
    doc = json.loads(res.stdout)
    unpriced = {(u["model_id"], u.get("service_tier", "default")): u for u in doc["unpriced"]}
    assert set(unpriced) == {(NOVA_PRO, "flex"), (NOVA_PRO, "priority"), (CANVAS, "default"), (TITAN_IMAGE, "default")}
    assert "flex-tier rates" in unpriced[(NOVA_PRO, "flex")]["reason"]
    assert "image rates are not in this hand-curated book" in unpriced[(CANVAS, "default")]["reason"]
    # the guardrail units of default-tier calls are still priced
    guarded = [r for r in billed_dimensions() if r.get("guardrailUsage")]
    row = next(r for r in doc["rows"] if r["model"] == NOVA_PRO)
    assert Decimal(str(row["cost_usd"])) == sum((sum(by_hand(r).values(), Decimal(0)) for r in guarded), Decimal(0))
