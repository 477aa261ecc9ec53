"""Each cause ``cost reconcile --cur`` gives a gap, on bill lines and an estimate built here (no store, no S3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bedrockctl.analytics.billgap import Estimate, reconcile_cur
from bedrockctl.analytics.cur import BillLine, classify_rows

HAIKU = "anthropic.claude-3-5-haiku-20241022-v1:0"
DAY = "2026-02-03"


def line(usage_type: str, cost: str, *, region: str = "us-east-1", line_type: str = "Usage") -> BillLine:
    rows = classify_rows(
        [
            {
                "line_item_usage_start_date": DAY,
                "line_item_product_code": "AmazonBedrock",
                "line_item_usage_type": usage_type,
                "line_item_unblended_cost": cost,
                "product_region_code": region,
                "line_item_line_item_type": line_type,
                "line_item_resource_id": f"arn:aws:bedrock:{region}::foundation-model/{HAIKU}",
            }
        ],
        date(2026, 2, 1),
        date(2026, 3, 1),
    )
    assert len(rows) == 1
    return rows[0]


def run(lines: list[BillLine], est: Estimate) -> dict[tuple[str, str], tuple[str, Decimal]]:
    data = reconcile_cur("2026-02", date(2026, 2, 1), date(2026, 3, 1), lines, est, Decimal("0.0001"))
    return {(g["region"], g["dimension"]): (g["cause"], g["gap_usd"]) for g in data["gaps"]}


def test_each_cause() -> None:
    est = Estimate(logged_regions={"us-east-1", "us-west-2"})
    est.groups[(DAY, "us-east-1", HAIKU, "input")] = Decimal("1.00")
    est.groups[(DAY, "us-east-1", HAIKU, "output")] = Decimal("2.00")
    est.groups[(DAY, "us-east-1", HAIKU, "cache_write")] = Decimal("0.50")
    est.groups[(DAY, "us-west-2", HAIKU, "input")] = Decimal("1.00")
    est.trail_only[(DAY, "us-east-1")] = 4
    est.unpriced.add((DAY, "us-west-2", HAIKU))
    lines = [
        line("USE1-Claude3.5Haiku-input-tokens", "1.40"),  # more than logged, CloudTrail saw calls without logs
        line("USE1-Claude3.5Haiku-output-tokens", "2.00004"),  # within the tolerance
        line("USE1-Claude3.5Haiku-cache-write-1h-input-tokens", "0.30"),
        line("USE1-Claude3.5Haiku-input-tokens-priority", "0.70"),
        line("USE1-Claude3.5Haiku-input-tokens", "-0.25", line_type="Credit"),
        line("USW2-Claude3.5Haiku-output-tokens", "0.90", region="us-west-2"),
        line("APN1-Claude3.5Haiku-input-tokens", "0.80", region="ap-northeast-1"),
    ]
    gaps = run(lines, est)
    assert gaps[("us-east-1", "input")] == ("outside_logs", Decimal("0.40"))
    assert gaps[("us-east-1", "output")] == ("rounding", Decimal("0.00004"))
    assert gaps[("us-east-1", "cache_write_1h")][0] == "cache_ttl"
    assert gaps[("us-east-1", "cache_write")] == ("unexplained", Decimal("-0.50"))  # logged, not billed
    assert gaps[("us-east-1", "priority:input")] == ("service_tier", Decimal("0.70"))  # no priority price: no estimate
    assert gaps[("us-east-1", "token:standard:USE1-Claude3.5Haiku-input-tokens")][0] == "credits_fees"
    assert gaps[("us-west-2", "output")][0] == "unpriced"
    assert gaps[("ap-northeast-1", "input")] == ("logging_off", Decimal("0.80"))


def test_tier_lines_are_matched_with_the_estimate_of_that_tier() -> None:
    est = Estimate(logged_regions={"us-east-1"})
    est.groups[(DAY, "us-east-1", HAIKU, "flex:output")] = Decimal("0.35")
    est.groups[(DAY, "us-east-1", HAIKU, "batch:input")] = Decimal("0.20")
    lines = [
        line("USE1-Claude3.5Haiku-output-tokens-flex", "0.35002"),
        line("USE1-Claude3.5Haiku-input-tokens-batch", "0.20"),
        line("EU-Claude3.5Haiku-input-tokens-batch", "0.10", region="eu-west-1"),  # its output not ingested
    ]
    gaps = run(lines, est)
    assert gaps == {
        ("us-east-1", "flex:output"): ("rounding", Decimal("0.00002")),
        ("eu-west-1", "batch:input"): ("service_tier", Decimal("0.10")),  # not "logging off": batch is not logged
    }


def test_calibration_compares_only_what_both_sides_see() -> None:
    est = Estimate(logged_regions={"us-east-1"})
    est.groups[(DAY, "us-east-1", HAIKU, "input")] = Decimal("2.00")
    data = reconcile_cur(
        "2026-02",
        date(2026, 2, 1),
        date(2026, 3, 1),
        [
            line("USE1-Claude3.5Haiku-input-tokens", "2.00005"),
            line("EU-Claude3.5Haiku-input-tokens", "5", region="eu-west-1"),
        ],
        est,
        Decimal("0.0001"),
    )
    (cal,) = data["calibration"]
    assert (cal["model"], cal["factor"]) == (HAIKU, Decimal("1.000025"))  # eu-west-1 has no logs: left out
    assert data["regions_without_logs"] == ["eu-west-1"]
