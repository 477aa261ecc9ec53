"""``cost reconcile --month YYYY-MM``: our estimate against Cost Explorer's Bedrock cost, and the gap explained.

Cost Explorer is asked once (``GetCostAndUsage``, MONTHLY, grouped by SERVICE and USAGE_TYPE, paginated) and the
Bedrock services are kept: ``Amazon Bedrock`` and the Marketplace-billed model services named
``... (Amazon Bedrock Edition)``. Usage types are put in categories (tokens, provisioned throughput, other).

The gap (actual - estimate) is explained by:
- **log coverage**: successful runtime calls CloudTrail saw without an invocation-log record (per day and Region),
  valued at the average logged cost per call of the same model when there is one;
- **unpriced models**: calls our price list cannot price (custom, imported, provisioned, image models);
- **provisioned throughput**: model-unit hours billed by the hour, not per token;
- **other usage types**: everything else Bedrock bills (knowledge bases, guardrails, storage, training...);
- the **residual** left after these.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bedrockctl.analytics.errors import ReportSpecError
from bedrockctl.pricing import PriceBook

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_range(month: str) -> tuple[date, date]:
    """``YYYY-MM`` -> (first day, first day of the next month)."""
    m = _MONTH.match(month.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ReportSpecError(f"bad --month {month!r}: use YYYY-MM")
    start = date(int(m.group(1)), int(m.group(2)), 1)
    return start, start + timedelta(days=calendar.monthrange(start.year, start.month)[1])


def is_bedrock_service(name: str) -> bool:
    return name == "Amazon Bedrock" or name.endswith("(Amazon Bedrock Edition)") or "Bedrock" in name


def usage_category(usage_type: str) -> str:
    u = usage_type.lower()
    if "provisioned" in u or "modelunit" in u or "model-unit" in u:
        return "provisioned_throughput"
    if "cache" in u and "token" in u:
        return "cache_tokens"
    if "token" in u:
        return "tokens"
    return "other"


def ce_bedrock_usage(ce: Any, start: date, end: date) -> list[dict[str, Any]]:
    """Cost Explorer rows ``{service, usage_type, category, cost_usd, quantity}`` for the Bedrock services."""
    kwargs: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "MONTHLY",
        "Metrics": ["UnblendedCost", "UsageQuantity"],
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
    }
    acc: dict[tuple[str, str], dict[str, Any]] = {}
    while True:
        page = ce.get_cost_and_usage(**kwargs)
        for period in page.get("ResultsByTime", []):
            for group in period.get("Groups", []):
                keys = [str(k) for k in group.get("Keys", [])]
                service, usage_type = [*keys, "", ""][:2]
                if not is_bedrock_service(service):
                    continue
                metrics = group.get("Metrics", {})
                row = acc.setdefault(
                    (service, usage_type),
                    {
                        "service": service,
                        "usage_type": usage_type,
                        "category": usage_category(usage_type),
                        "cost_usd": Decimal(0),
                        "quantity": Decimal(0),
                    },
                )
                row["cost_usd"] += Decimal(str(metrics.get("UnblendedCost", {}).get("Amount", "0")))
                row["quantity"] += Decimal(str(metrics.get("UsageQuantity", {}).get("Amount", "0")))
        token = page.get("NextPageToken")
        if not token:
            break
        kwargs["NextPageToken"] = token
    return sorted(acc.values(), key=lambda r: (-r["cost_usd"], r["service"], r["usage_type"]))


_COVERAGE_SQL = """
SELECT day, region, model_id, model_base, count(*) AS calls
FROM invocations
WHERE source = 'cloudtrail' AND error_code IS NULL AND "timestamp" >= CAST('{start}' AS TIMESTAMP)
  AND "timestamp" < CAST('{end}' AS TIMESTAMP)
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3
"""


def log_coverage(con: Any, start: date, end: date, per_call: dict[str, Decimal]) -> dict[str, Any]:
    """CloudTrail-only calls (no invocation log) per day and Region, valued at the model's average logged cost."""
    sql = _COVERAGE_SQL.format(start=f"{start} 00:00:00", end=f"{end} 00:00:00")
    gaps: dict[tuple[str, str], dict[str, Any]] = {}
    value = Decimal(0)
    unvalued = 0
    for day, region, model_id, base, calls in con.execute(sql).fetchall():
        g = gaps.setdefault((day, region), {"day": day, "region": region, "calls": 0, "models": []})
        g["calls"] += int(calls)
        g["models"].append(model_id)
        avg = per_call.get(str(model_id)) or per_call.get(str(base))
        if avg is None:
            unvalued += int(calls)
        else:
            value += avg * int(calls)
    return {
        "calls_without_logs": sum(g["calls"] for g in gaps.values()),
        "days_regions": sorted(gaps.values(), key=lambda g: (g["day"], g["region"] or "")),
        "estimated_usd": value,
        "unvalued_calls": unvalued,
    }


@dataclass
class Reconciliation:
    month: str
    estimate_usd: Decimal
    actual_usd: Decimal
    by_usage_type: list[dict[str, Any]]
    by_category: dict[str, dict[str, Decimal]]
    explained: dict[str, Any]
    unpriced: list[dict[str, Any]] = field(default_factory=list)
    coverage: dict[str, Any] = field(default_factory=dict)

    @property
    def gap_usd(self) -> Decimal:
        return self.actual_usd - self.estimate_usd

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _plain(
            {
                "month": self.month,
                "estimate_usd": self.estimate_usd,
                "actual_usd": self.actual_usd,
                "gap_usd": self.gap_usd,
                "gap_pct": None if not self.actual_usd else round(float(self.gap_usd / self.actual_usd * 100), 2),
                "by_category": self.by_category,
                "by_usage_type": self.by_usage_type,
                "explained": self.explained,
                "log_coverage": self.coverage,
                "unpriced": self.unpriced,
            }
        )
        return out


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return format(v.normalize(), "f") if v else "0"
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def reconcile_with_cur(
    month: str, cur: str, *, store: Any, book: PriceBook | None = None, s3: Any = None, tolerance: str = "0.0001"
) -> dict[str, Any]:
    """The month's CUR 2.0 Bedrock lines joined to our estimate (``analytics.billgap``), as plain JSON data."""
    from decimal import InvalidOperation

    from bedrockctl.analytics.billgap import estimate, reconcile_cur
    from bedrockctl.analytics.cur import read_cur

    start, end = month_range(month)
    try:
        tol = Decimal(tolerance)
    except InvalidOperation as exc:
        raise ReportSpecError(f"bad --tolerance {tolerance!r}: a USD amount such as 0.0001") from exc
    if not tol.is_finite() or tol < 0:
        raise ReportSpecError(f"bad --tolerance {tolerance!r}: a USD amount such as 0.0001")
    lines = read_cur(cur, start, end, s3=s3)
    est = estimate(store, start, end, book or PriceBook.load())
    out: dict[str, Any] = _plain(reconcile_cur(month, start, end, lines, est, tol))
    return out


def reconcile(month: str, *, store: Any, ce: Any, book: PriceBook | None = None) -> Reconciliation:
    from bedrockctl.analytics.reports import duckdb_runner, run_report

    start, end = month_range(month)
    book = book or PriceBook.load()
    estimate = Decimal(0)
    unpriced: list[dict[str, Any]] = []
    coverage: dict[str, Any] = {"calls_without_logs": 0, "days_regions": [], "estimated_usd": Decimal(0)}
    token_estimate = Decimal(0)
    if store is not None and store.has_data():
        con = store.connect()
        try:
            run = duckdb_runner(con)
            rep = run_report(
                run, "model", since=start.isoformat(), until=(end - timedelta(days=1)).isoformat(), book=book
            )
            estimate = rep.totals["cost_usd"]
            unpriced = rep.unpriced
            logged = dict(
                con.execute(
                    "SELECT model_id, count(*) FROM invocations WHERE source <> 'cloudtrail' AND "  # noqa: S608 - internal SQL
                    f"\"timestamp\" >= CAST('{start} 00:00:00' AS TIMESTAMP) AND "
                    f"\"timestamp\" < CAST('{end} 00:00:00' AS TIMESTAMP) GROUP BY 1"
                ).fetchall()
            )
            per_call = {
                str(r["model"]): r["cost_usd"] / logged[r["model"]]
                for r in rep.rows
                if r["cost_usd"] and logged.get(r["model"])
            }
            coverage = log_coverage(con, start, end, per_call)
        finally:
            con.close()
        token_estimate = estimate
    rows = ce_bedrock_usage(ce, start, end)
    actual = sum((r["cost_usd"] for r in rows), Decimal(0))
    cats: dict[str, dict[str, Decimal]] = {}
    for r in rows:
        c = cats.setdefault(r["category"], {"cost_usd": Decimal(0), "quantity": Decimal(0)})
        c["cost_usd"] += r["cost_usd"]
        c["quantity"] += r["quantity"]
    ce_tokens = sum((cats.get(k, {}).get("cost_usd", Decimal(0)) for k in ("tokens", "cache_tokens")), Decimal(0))
    provisioned = cats.get("provisioned_throughput", {"cost_usd": Decimal(0), "quantity": Decimal(0)})
    other = cats.get("other", {}).get("cost_usd", Decimal(0))
    explained = {
        "token_usage": {"estimate_usd": token_estimate, "actual_usd": ce_tokens, "gap_usd": ce_tokens - token_estimate},
        "log_coverage_usd": coverage["estimated_usd"],
        "unpriced_invocations": sum(int(u["invocations"]) for u in unpriced),
        "provisioned_throughput": {"cost_usd": provisioned["cost_usd"], "hours": provisioned["quantity"]},
        "other_usage_types_usd": other,
    }
    explained["residual_usd"] = actual - estimate - coverage["estimated_usd"] - provisioned["cost_usd"] - other
    return Reconciliation(month, estimate, actual, rows, cats, explained, unpriced, coverage)
