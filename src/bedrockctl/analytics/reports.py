"""Usage and cost reports over the ``invocations`` relation.

Each report is two queries written once in DuckDB SQL (``report_sql``): the usage aggregate per group and the
token sums per group x (model as called, Region) that the price book turns into exact ``Decimal`` costs. The
same SQL runs locally (DuckDB over Parquet) or, transpiled by sqlglot, on Amazon Athena (see ``athena.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bedrockctl.analytics.errors import ReportSpecError
from bedrockctl.analytics.records import GUARDRAIL_UNITS
from bedrockctl.aws.inference_profiles import ProfileResolver, is_router_arn
from bedrockctl.pricing import PriceBook, Usage, cost_usd
from bedrockctl.pricing.hourly import Unpriced
from bedrockctl.pricing.rates import guardrail_rate, image_rate, image_size_class

# Calls through the gateway run under the gateway's AWS identity; the person is the key's user, which the gateway
# stamps into requestMetadata (``gateway_user``). The stored tags are JSON written by the ingest (orjson or DuckDB:
# keys unescaped), so a row whose text lacks the key is not parsed at all.
USER_EXPR = (
    "coalesce(CASE WHEN strpos(tags, 'gateway_user') > 0 THEN json_extract_string(tags, '$.gateway_user') END, "
    "principal)"
)
DIMENSIONS = {
    "model": "model_id",
    "base_model": "model_base",
    "user": USER_EXPR,
    "principal_type": "principal_type",
    "identity": "identity_arn",
    "principal": "principal",  # the IAM principal (SSO person, role session, user) AWS recorded
    "key": "json_extract_string(tags, '$.gateway_key')",  # the gateway key (requestMetadata the gateway stamps)
    "environment": "json_extract_string(tags, '$.environment')",
    "day": "day",
    "region": "region",
    "inference_region": "inference_region",
    "operation": "operation",
    "account": "account_id",
    "team": "team",
    "workflow": "workflow",
    "source": "source",
    "source_ip": "source_ip",
    "service_tier": "coalesce(service_tier, 'default')",
}
METRICS = (
    "invocations",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "unique_users",
    "cost_usd",
)
_TAG = re.compile(r"^tag:([A-Za-z0-9_.:/=+@-]{1,128})$")


@dataclass(frozen=True)
class Group:
    name: str  # column name in the output
    expr: str  # DuckDB expression


def parse_by(by: str | Sequence[str] | None) -> list[Group]:
    items: list[str] = []
    for part in [by] if isinstance(by, str) else list(by or []):
        items.extend(x.strip() for x in part.split(",") if x.strip())
    groups: list[Group] = []
    for item in items:
        m = _TAG.match(item)
        if m:
            key = m.group(1)
            # team / workflow tags also have their own columns (requestMetadata or profile tags)
            expr = key if key in ("team", "workflow") else f"json_extract_string(tags, '$.\"{key}\"')"
            groups.append(Group(f"tag:{key}", expr))
        elif item in DIMENSIONS:
            groups.append(Group(item, DIMENSIONS[item]))
        else:
            raise ReportSpecError(f"unknown --by dimension {item!r}; use {', '.join(DIMENSIONS)} or tag:KEY")
    return groups


def period(
    days: int | None = None, since: str | None = None, until: str | None = None, today: date | None = None
) -> tuple[datetime | None, datetime | None]:
    """``[since, until)`` in UTC; ``days`` counts back from the end of today."""
    try:
        end = datetime.fromisoformat(until).replace(tzinfo=None) if until else None
        start = datetime.fromisoformat(since).replace(tzinfo=None) if since else None
    except ValueError as exc:
        raise ReportSpecError(f"bad date: {exc}") from exc
    if until and len(until) == 10 and end is not None:
        end = end + timedelta(days=1)  # --until D includes day D
    if days is not None:
        if days <= 0:
            raise ReportSpecError("--days must be positive")
        d = today or datetime.now(UTC).date()
        end = end or datetime(d.year, d.month, d.day) + timedelta(days=1)
        start = end - timedelta(days=days)
    if start and end and start >= end:
        raise ReportSpecError("--since must be before --until")
    return start, end


def _where(start: datetime | None, end: datetime | None) -> str:
    conds = ["1 = 1"]
    if start:
        conds.append(f"\"timestamp\" >= CAST('{start:%Y-%m-%d %H:%M:%S}' AS TIMESTAMP)")
    if end:
        conds.append(f"\"timestamp\" < CAST('{end:%Y-%m-%d %H:%M:%S}' AS TIMESTAMP)")
    return " AND ".join(conds)


_PROMPT = "(coalesce(input_tokens, 0) + coalesce(cache_read_tokens, 0) + coalesce(cache_write_tokens, 0))"


def long_context_thresholds(book: PriceBook) -> list[int]:
    """The long-context thresholds (prompt tokens per call) of the models in the price book."""
    models = book.doc.get("models") or {}
    found = {(m.get("long_context") or {}).get("threshold_tokens") for m in models.values() if isinstance(m, dict)}
    return sorted(int(t) for t in found if t is not None)


def long_band_sql(thresholds: Sequence[int]) -> str:
    """The largest threshold a call's prompt is above (0: none). A call is long-context for a model with threshold
    T exactly when its band is >= T, so calls sum per band without crossing a threshold by adding up."""
    if not thresholds:
        return "0"
    whens = " ".join(f"WHEN {_PROMPT} > {int(t)} THEN {int(t)}" for t in sorted(thresholds, reverse=True))
    return f"CASE {whens} ELSE 0 END"


def report_sql(
    groups: Sequence[Group], start: datetime | None, end: datetime | None, thresholds: Sequence[int] = ()
) -> tuple[str, str]:
    """(usage query, cost query) in DuckDB SQL over ``invocations``. The cost query sums tokens, images and guardrail
    text units per group, model, Region, service tier, image quality and size, and long-context band
    (``thresholds``: the price book's per-call long-context thresholds)."""
    keys = [f'{g.expr} AS "{g.name}"' for g in groups]
    n = len(keys)
    where = _where(start, end)
    # with groups, one more grouping set -- the whole period -- gives the total of distinct users in the same scan
    # (its row has grouped_total = 1)
    exprs = ", ".join(g.expr for g in groups)
    usage = (
        f"SELECT {', '.join([*keys, ''])}count(*) AS invocations, "  # noqa: S608 - internal SQL, no user text
        "coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens, "
        "coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens, "
        "coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens, "
        f"count(DISTINCT {USER_EXPR}) AS unique_users"
        + (f", GROUPING({exprs}) AS grouped_total" if n else "")
        + f" FROM invocations WHERE {where}"
        + (f" GROUP BY GROUPING SETS (({exprs}), ())" if n else "")
    )
    cost = (
        f"SELECT {', '.join([*keys, ''])}model_id AS price_model, model_base AS price_base, region AS price_region, "  # noqa: S608 - internal SQL, no user text
        "service_tier AS price_tier, image_quality AS price_image_quality, image_size AS price_image_size, "
        f"{long_band_sql(thresholds)} AS long_band, count(*) AS invocations, "
        "coalesce(sum(input_tokens), 0) AS input_tokens, "
        "coalesce(sum(output_tokens), 0) AS output_tokens, coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens, "
        "coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens, "
        "coalesce(sum(cache_write_1h_tokens), 0) AS cache_write_1h_tokens, "
        "coalesce(sum(image_count), 0) AS image_count, "
        + ", ".join(f"coalesce(sum({column}), 0) AS {column}" for _, column, _ in GUARDRAIL_UNITS)
        + f" FROM invocations WHERE {where} GROUP BY {', '.join(str(i) for i in range(1, n + 8))}"
    )
    return usage, cost


@dataclass
class Report:
    groups: list[str]
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    unpriced: list[dict[str, Any]] = field(default_factory=list)
    period: dict[str, str | None] = field(default_factory=dict)
    price_list: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "group_by": self.groups,
            "rows": self.rows,
            "totals": self.totals,
            "unpriced": self.unpriced,
            "price_list": self.price_list,
        }


Runner = Callable[[str], tuple[list[str], list[tuple[Any, ...]]]]


def run_report(
    run: Runner,
    by: str | Sequence[str] | None,
    *,
    days: int | None = None,
    since: str | None = None,
    until: str | None = None,
    book: PriceBook | None = None,
    today: date | None = None,
    profiles: ProfileResolver | None = None,
) -> Report:
    """Run the report with ``run(sql) -> (column names, rows)`` (DuckDB locally, Athena at scale). ``profiles``
    resolves application inference profile ARNs to the model they route to (priced in the profile's Region);
    without it, or when a profile cannot be read, their calls are listed as unpriced with the reason."""
    groups = parse_by(by)
    start, end = period(days, since, until, today)
    book = book or PriceBook.load()
    usage_sql, cost_sql = report_sql(groups, start, end, long_context_thresholds(book))
    n = len(groups)
    _, urows = run(usage_sql)
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    total_users = 0
    for r in urows:
        if not n or r[n + 6]:  # the whole period (no groups: the one row)
            total_users = int(r[n + 5] or 0)
            if n:
                continue
        key = tuple(r[:n])
        row = {g.name: v for g, v in zip(groups, key, strict=True)}
        row.update(dict(zip(METRICS[:6], (int(x or 0) for x in r[n : n + 6]), strict=True)))
        row.update({"cost_usd": Decimal(0), "unpriced_invocations": 0})
        rows[key] = row
    unpriced: dict[tuple[str, ...], dict[str, Any]] = {}
    _, crows = run(cost_sql)
    for r in crows:
        key = tuple(r[:n])
        model, base, region, tier, quality, size = r[n], r[n + 1], r[n + 2] or "", r[n + 3], r[n + 4], r[n + 5]
        band, inv, i, o, cr, cw, cw1h, images, *units = (int(x or 0) for x in r[n + 6 :])
        usage = Usage(i, o, cr, cw - cw1h, cw1h)  # cache_write_tokens holds every write; the 1-hour ones cost more
        row = rows.setdefault(key, {g.name: v for g, v in zip(groups, key, strict=True)})
        where = (str(model), region, str(tier or "default"))
        price, reason = _token_price(book, profiles, str(model or ""), base, region, tier)
        if price is not None:
            threshold = price.long_context_threshold
            row["cost_usd"] += cost_usd(price, usage, long_context=threshold is not None and band >= threshold)
        elif i or o or cr or cw or (inv and not (images or any(units))):  # tokens, or nothing else billed
            if i or o or cr or cw:
                row["unpriced_invocations"] += inv
            _unpriced(unpriced, where, inv, reason)
        extra, why = _extra_cost(book, str(base or model or ""), images, quality, size, units)
        row["cost_usd"] += extra
        if why:
            row["unpriced_invocations"] += inv
            _unpriced(unpriced, where, inv, why)
    out_rows = sorted(rows.values(), key=lambda x: (-x["cost_usd"], -x["invocations"], str(list(x.values())[:n])))
    totals: dict[str, Any] = {m: sum(r.get(m, 0) for r in out_rows) for m in METRICS if m != "unique_users"}
    totals["unique_users"] = total_users
    totals["unpriced_invocations"] = sum(r.get("unpriced_invocations", 0) for r in out_rows)
    return Report(
        groups=[g.name for g in groups],
        rows=out_rows,
        totals=totals,
        unpriced=[unpriced[k] for k in sorted(unpriced, key=lambda k: (-unpriced[k]["invocations"], k))],
        period={"since": start.isoformat() if start else None, "until": end.isoformat() if end else None},
        price_list={"source": book.source[0] if book.source else "", "as_of": book.as_of.isoformat()},
    )


ROUTER_UNPRICED = (
    "prompt router: the invocation log names the router, not the model that served the call (log text bodies, "
    "whose Converse responses name it, or use the gateway ledger)"
)


def _unpriced(found: dict[tuple[str, ...], dict[str, Any]], where: tuple[str, str, str], inv: int, reason: Any) -> None:
    model, region, tier = where
    u = found.setdefault(where, {"model_id": model, "region": region, "invocations": 0})
    if tier != "default":
        u["service_tier"] = tier
    u["invocations"] += inv
    if reason:  # every reason once, in one order whatever order the groups come in
        known = set(u["reason"].split("; ")) if u.get("reason") else set()
        u["reason"] = "; ".join(sorted(known | set(str(reason).split("; "))))


def _token_price(
    book: PriceBook, profiles: ProfileResolver | None, model: str, base: Any, region: str, tier: Any
) -> tuple[Any, str | None]:
    """The token price of calls to ``model`` in ``region`` in service ``tier``, or ``None`` and why."""
    price, reason = book.tier_price(model, region, tier) if model else (None, None)
    if price is None and reason is None and base:
        price, reason = book.tier_price(str(base), region, tier)
    if price is None and reason is None and ":application-inference-profile/" in model:
        price, reason = _profile_price(book, profiles, model)
        if price is not None and tier not in (None, "", "default"):
            price, reason = book.tier_price(price.model_id, price.region, tier)
    elif price is None and reason is None and is_router_arn(model):
        reason = ROUTER_UNPRICED if not base else f"no price for {base} in {region}"
    return price, reason


def _extra_cost(
    book: PriceBook, model: str, images: int, quality: Any, size: Any, units: Sequence[int]
) -> tuple[Decimal, str | None]:
    """What images and guardrail text units cost (USD), and why some could not be priced."""
    total, reasons = Decimal(0), []
    if images:
        cls = image_size_class(book, model, str(size or ""))
        rate = image_rate(book, model, str(quality or "standard"), cls or str(size or ""))
        if isinstance(rate, Unpriced):
            reasons.append(rate.reason)
        else:
            total += rate.usd * images
    for (_, _, policy), count in zip(GUARDRAIL_UNITS, units, strict=True):
        if not count:
            continue
        g = guardrail_rate(book, policy)
        if isinstance(g, Unpriced):
            reasons.append(g.reason)
        else:
            total += g.usd * count / 1000
    return total, "; ".join(reasons) or None


def _profile_price(book: PriceBook, profiles: ProfileResolver | None, arn: str) -> tuple[Any, str | None]:
    """The price of a call through an application inference profile, or None and why."""
    if profiles is None:
        return None, "application inference profile: not resolved (no AWS access for this report)"
    resolved = profiles.resolve(arn)
    if resolved is None:
        return None, f"application inference profile: {profiles.failures.get(arn, 'unknown')}"
    price = book.price(resolved.model_id, resolved.region, "global" if resolved.global_routing else "on_demand")
    if price is None:
        return None, f"no price for {resolved.model_id} in {resolved.region}"
    return price, None


def duckdb_runner(con: Any) -> Runner:
    def run(sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = con.execute(sql)
        return [d[0] for d in cur.description], cur.fetchall()

    return run
