"""``cost reconcile --cur``: the bill's Bedrock lines (CUR 2.0) joined to our estimate, each gap with its cause.

Both sides are summed by day, Region, model and what is metered (input, output, cache read, cache write, 1-hour
cache write; other usage types by their name). Our side is the usage store's invocations priced with the price book
(``ModelPrice.cost``, the one cost function). Each group's gap (bill - estimate) gets the first cause that fits:

``credits_fees``   a line item type other than ``Usage`` (credits, refunds, taxes, fees)
``provisioned``    provisioned throughput: model-unit hours, not in invocation logs
``other_usage``    usage types that are not model tokens (knowledge bases, guardrails, storage, ...)
``service_tier``   priority, flex, batch or reserved usage the estimate has no price for (tier calls it prices are
                   compared with the bill's lines of that tier, per dimension)
``cache_ttl``      1-hour cache writes billed where the store has none: logs ingested before the store kept the TTL
``unpriced``       the price book has no rate for the model in that Region
``logging_off``    the bill has usage in a Region where the logs have no invocation all month (logging off there)
``outside_logs``   CloudTrail saw calls that day in that Region without an invocation log (traffic outside the logs)
``rounding``       within ``tolerance`` (the bill rounds each line item)
``unexplained``    none of the above

The bill is also summed per IAM principal (``line_item_iam_principal``, beside our estimate per identity) and per
resource tag / cost category value (``by_tag``). A per-model calibration factor (bill / estimate over the groups
that match or differ by rounding) says how far the estimate runs from the bill where both see the same traffic.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from bedrockctl.analytics.cur import BillLine
from bedrockctl.analytics.reports import long_band_sql, long_context_thresholds
from bedrockctl.pricing import PriceBook, Usage, cost_usd

TOKEN_SLOTS = ("input", "output", "cache_read", "cache_write", "cache_write_1h")
_USAGE_FIELD = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write": "cache_write_tokens",
    "cache_write_1h": "cache_write_1h_tokens",
}
CAUSE_TEXT = {
    "credits_fees": "credits, refunds, taxes or fees (line item type {line_type})",
    "provisioned": "provisioned throughput hours (billed per model unit-hour, not in invocation logs)",
    "other_usage": "a usage type that is not model tokens ({usage_type})",
    "service_tier": "{tier} tier usage the estimate has no price or record for (batch: ingest the jobs' output "
    "with `usage ingest --batch-output`)",
    "cache_ttl": "1-hour cache writes the usage store has no TTL for (logs ingested before it kept the TTL)",
    "unpriced": "the price book has no rate for {model} in {region}",
    "logging_off": "invocation logging off in {region}: no invocation-log record there all month",
    "outside_logs": "traffic outside the logs: {calls} calls in CloudTrail without an invocation log",
    "rounding": "rounding (within {tolerance} USD)",
    "unexplained": "unexplained",
}
# per long-context band (``reports.long_band_sql``): the long-context rates apply per call, never to a sum
_SQL = """
SELECT day, region, model_id, model_base, identity_arn, source, {band} AS band,
       coalesce(service_tier, 'default') AS tier, count(*) AS calls,
       sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
       sum(cache_write_tokens) - sum(coalesce(cache_write_1h_tokens, 0)), sum(coalesce(cache_write_1h_tokens, 0))
FROM invocations
WHERE error_code IS NULL AND "timestamp" >= CAST(? AS TIMESTAMP) AND "timestamp" < CAST(? AS TIMESTAMP)
GROUP BY ALL
"""


@dataclass
class Group:
    bill: Decimal = Decimal(0)
    estimate: Decimal = Decimal(0)
    lines: int = 0
    line_type: str = "Usage"
    usage_types: set[str] = field(default_factory=set)
    kind: str = "token"
    tier: str = "standard"


@dataclass
class Estimate:
    """Our side of the month: cost per (day, Region, model, slot), what could not be priced, where logs are."""

    groups: dict[tuple[str, str, str, str], Decimal] = field(default_factory=dict)
    unpriced: set[tuple[str, str, str]] = field(default_factory=set)
    logged_regions: set[str] = field(default_factory=set)
    trail_only: dict[tuple[str, str], int] = field(default_factory=dict)
    by_principal: dict[str, Decimal] = field(default_factory=dict)


def estimate(store: Any, start: date, end: date, book: PriceBook) -> Estimate:
    est = Estimate()
    if store is None or not store.has_data():
        return est
    con = store.connect()
    try:
        sql = _SQL.format(band=long_band_sql(long_context_thresholds(book)))
        rows = con.execute(sql, [f"{start} 00:00:00", f"{end} 00:00:00"]).fetchall()
    finally:
        con.close()
    for day, region, model_id, base, identity, source, band, tier, calls, *tokens in rows:
        if source == "cloudtrail":
            est.trail_only[(day, region)] = est.trail_only.get((day, region), 0) + int(calls)
            continue
        if source != "batch_output":  # batch jobs write their own output: they say nothing of invocation logging
            est.logged_regions.add(region)
        model = str(base or model_id)
        price, _ = book.tier_price(str(model_id), region, tier)
        if price is None:
            price, _ = book.tier_price(model, region, tier)
        if price is None:  # a tier without rates: its bill lines have no estimate (cause ``service_tier``)
            if tier == "default":
                est.unpriced.add((day, region, model))
            continue
        threshold = price.long_context_threshold
        long = threshold is not None and int(band) >= threshold
        for slot, count in zip(_USAGE_FIELD, tokens, strict=True):
            if not count:
                continue
            cost = cost_usd(price, Usage(**{_USAGE_FIELD[slot]: int(count)}), long_context=long)
            key = (day, region, model, slot if tier == "default" else f"{tier}:{slot}")
            est.groups[key] = est.groups.get(key, Decimal(0)) + cost
            who = str(identity or "(unknown)")
            est.by_principal[who] = est.by_principal.get(who, Decimal(0)) + cost
    return est


def _slot(line: BillLine) -> str:
    if line.kind == "token" and line.line_type == "Usage" and line.dimension:
        if line.tier == "standard":
            return line.dimension
        if line.tier in ("priority", "flex", "batch"):  # the estimate prices these tiers per dimension too
            return f"{line.tier}:{line.dimension}"
    return f"{line.kind}:{line.tier}:{line.usage_type}"


def _cause(key: tuple[str, str, str, str], g: Group, est: Estimate, tolerance: Decimal) -> str:
    day, region, model, slot = key
    gap = g.bill - g.estimate
    if g.line_type != "Usage":
        return "credits_fees"
    if g.kind == "provisioned":
        return "provisioned"
    if g.kind == "other":
        return "other_usage"
    if g.bill and not g.estimate and region not in est.logged_regions and g.tier != "batch":
        return "logging_off"
    if g.tier != "standard" and not g.estimate:
        return "service_tier"
    if slot == "cache_write_1h" and not g.estimate:
        return "cache_ttl"
    if (day, region, model) in est.unpriced:
        return "unpriced"
    if abs(gap) <= tolerance:
        return "rounding" if gap else "matched"
    if gap > 0 and est.trail_only.get((day, region)):
        return "outside_logs"
    return "unexplained"


def _ratio(a: Decimal, b: Decimal) -> Decimal | None:
    return None if not b else (a / b).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)


def reconcile_cur(
    month: str, start: date, end: date, lines: list[BillLine], est: Estimate, tolerance: Decimal
) -> dict[str, Any]:
    """The joined month as plain data (``Decimal`` amounts), gaps sorted by size."""
    groups: dict[tuple[str, str, str, str], Group] = defaultdict(Group)
    bill_by_principal: dict[str, Decimal] = defaultdict(Decimal)
    bill_by_tag: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        for tag, tag_value in line.tags.items():
            bill_by_tag[f"{tag}={tag_value}"] += line.cost
        g = groups[(line.day, line.region, line.model, _slot(line))]
        g.bill += line.cost
        g.lines += 1
        g.usage_types.add(line.usage_type)
        g.kind, g.tier, g.line_type = line.kind, line.tier, line.line_type
        if line.kind == "token" and line.line_type == "Usage":
            bill_by_principal[line.principal or "(none)"] += line.cost
    for key, value in est.groups.items():
        groups[key].estimate += value
    causes: dict[str, Decimal] = defaultdict(Decimal)
    gaps: list[dict[str, Any]] = []
    calib: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for key, g in sorted(groups.items()):
        cause = _cause(key, g, est, tolerance)
        gap = g.bill - g.estimate
        if cause in ("matched", "rounding") and key[3] in TOKEN_SLOTS:
            calib[key[2]][0] += g.bill
            calib[key[2]][1] += g.estimate
        if cause == "matched":
            continue
        causes[cause] += gap
        day, region, model, slot = key
        text = CAUSE_TEXT[cause].format(
            line_type=g.line_type,
            usage_type=", ".join(sorted(g.usage_types)),
            tier=g.tier,
            model=model,
            region=region,
            calls=est.trail_only.get((day, region), 0),
            tolerance=tolerance,
        )
        gaps.append(
            {
                "day": day,
                "region": region,
                "model": model,
                "dimension": slot,
                "usage_types": sorted(g.usage_types),
                "bill_usd": g.bill,
                "estimate_usd": g.estimate,
                "gap_usd": gap,
                "cause": cause,
                "cause_text": text,
            }
        )
    bill = sum((g.bill for g in groups.values()), Decimal(0))
    estimate_total = sum((g.estimate for g in groups.values()), Decimal(0))
    gaps.sort(key=lambda r: (-abs(r["gap_usd"]), r["day"], r["region"], r["model"], r["dimension"]))
    logging_off = sorted({r["region"] for r in gaps if r["cause"] == "logging_off"})
    return {
        "month": month,
        "source": "cur",
        "bill_usd": bill,
        "estimate_usd": estimate_total,
        "gap_usd": bill - estimate_total,
        "unexplained_usd": causes.get("unexplained", Decimal(0)),
        "tolerance_usd": tolerance,
        "causes": dict(sorted(causes.items())),
        "regions_without_logs": logging_off,
        "gaps": gaps,
        "calibration": [
            {"model": m, "bill_usd": b, "estimate_usd": e, "factor": _ratio(b, e)}
            for m, (b, e) in sorted(calib.items())
        ],
        "by_tag": [{"tag": t, "bill_usd": usd} for t, usd in sorted(bill_by_tag.items())],
        "by_principal": [
            {"principal": p, "bill_usd": bill_by_principal.get(p, Decimal(0)), "estimate_usd": est.by_principal.get(p)}
            for p in sorted(set(bill_by_principal) | set(est.by_principal))
        ],
    }
