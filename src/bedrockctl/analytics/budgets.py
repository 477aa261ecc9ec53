"""``budget status``: per environment, the month-to-date spend against its monthly budget, thresholds crossed and
a forecast to month end; crossed thresholds alert once per threshold per period (webhook, SNS).

Spend has two sources, both shown:
- **estimate**: the usage ledger (``UsageStore``) priced with the price book, filtered by the environment tag
  (``requestMetadata.environment`` or ``env``; the gateway writes ``environment`` for every key);
- **actual**: Cost Explorer's unblended cost for the Bedrock service this month, grouped by the cost-allocation tag
  ``environment`` (one ``GetCostAndUsage`` call for every environment).

The percentage used is the larger of the two (a budget is about not being surprised). The forecast is Cost
Explorer's ``GetCostForecast`` when it answers, else linear on the month's daily run-rate.
"""

from __future__ import annotations

import calendar
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bedrockctl.pricing import PriceBook
from bedrockctl.settings import EnvironmentSettings

log = logging.getLogger("bedrockctl.budgets")

BEDROCK_SERVICES = ("Amazon Bedrock",)
ENV_TAG_KEYS = ("environment", "env")
CE_TAG_KEY = "environment"
UNTAGGED = "(untagged)"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Month:
    start: date  # first day
    end: date  # first day of the next month (exclusive)
    as_of: datetime  # the moment the status describes (UTC, naive)

    @classmethod
    def of(cls, now: datetime) -> Month:
        now = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
        start = date(now.year, now.month, 1)
        days = calendar.monthrange(now.year, now.month)[1]
        return cls(start, start + timedelta(days=days), now)

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def elapsed_days(self) -> float:
        """Days of the month behind ``as_of`` (at least one hour, so a run-rate exists on the 1st)."""
        seconds = (self.as_of - datetime(self.start.year, self.start.month, 1)).total_seconds()
        return min(max(seconds / 86400, 1 / 24), float(self.days))

    @property
    def until_day(self) -> date:
        """The last day with data (inclusive)."""
        return min(self.as_of.date(), self.end - timedelta(days=1))


@dataclass
class EnvStatus:
    environment: str
    limit_usd: Decimal | None
    estimate_usd: Decimal
    actual_usd: Decimal | None
    spent_usd: Decimal
    pct_used: float | None
    thresholds: list[float]
    crossed: list[float]
    hard_stop_pct: float
    hard_stop_reached: bool
    forecast_usd: Decimal
    forecast_pct: float | None
    forecast_source: str
    invocations: int = 0
    unpriced_invocations: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: (_money(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}


@dataclass
class BudgetStatus:
    period: str
    as_of: str
    environments: list[EnvStatus]
    cost_explorer: dict[str, Any] = field(default_factory=dict)
    ledger: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "as_of": self.as_of,
            "environments": [e.to_dict() for e in self.environments],
            "cost_explorer": self.cost_explorer,
            "ledger": self.ledger,
        }


def _money(v: Decimal) -> str:
    return format(v.quantize(Decimal("0.000001")).normalize(), "f") if v else "0"


# --- the two sources ---------------------------------------------------------------------------------------
def ledger_spend(store: Any, month: Month, book: PriceBook) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Estimated cost per environment tag value from the usage ledger (``{}`` when nothing is ingested)."""
    from bedrockctl.analytics.reports import duckdb_runner, run_report

    if store is None or not store.has_data():
        return {}, {"available": False}
    con = store.connect()
    try:
        rep = run_report(
            duckdb_runner(con),
            ",".join(f"tag:{k}" for k in ENV_TAG_KEYS),
            since=month.start.isoformat(),
            until=month.until_day.isoformat(),
            book=book,
        )
    finally:
        con.close()
    out: dict[str, dict[str, Any]] = {}
    for row in rep.rows:
        env = next((row[f"tag:{k}"] for k in ENV_TAG_KEYS if row.get(f"tag:{k}")), None) or UNTAGGED
        acc = out.setdefault(env, {"cost_usd": Decimal(0), "invocations": 0, "unpriced_invocations": 0})
        acc["cost_usd"] += row["cost_usd"]
        acc["invocations"] += row["invocations"]
        acc["unpriced_invocations"] += row.get("unpriced_invocations", 0)
    total = rep.totals["cost_usd"]
    return out, {"available": True, "total_usd": _money(total), "unpriced": rep.unpriced}


def bedrock_filter(services: Sequence[str] = BEDROCK_SERVICES) -> dict[str, Any]:
    return {"Dimensions": {"Key": "SERVICE", "Values": list(services)}}


def ce_actual_by_env(
    ce: Any, month: Month, *, tag_key: str = CE_TAG_KEY, services: Sequence[str] = BEDROCK_SERVICES
) -> dict[str, Decimal]:
    """Cost Explorer's unblended Bedrock cost this month per ``tag_key`` value (untagged under ``UNTAGGED``)."""
    end = min(month.until_day + timedelta(days=1), month.end)
    kwargs: dict[str, Any] = {
        "TimePeriod": {"Start": month.start.isoformat(), "End": end.isoformat()},
        "Granularity": "MONTHLY",
        "Metrics": ["UnblendedCost"],
        "Filter": bedrock_filter(services),
        "GroupBy": [{"Type": "TAG", "Key": tag_key}],
    }
    out: dict[str, Decimal] = {}
    while True:
        page = ce.get_cost_and_usage(**kwargs)
        for period in page.get("ResultsByTime", []):
            for group in period.get("Groups", []):
                raw = str(group["Keys"][0])
                value = raw.split("$", 1)[1] if "$" in raw else raw
                amount = Decimal(str(group["Metrics"]["UnblendedCost"]["Amount"]))
                out[value or UNTAGGED] = out.get(value or UNTAGGED, Decimal(0)) + amount
            if not period.get("Groups") and period.get("Total", {}).get("UnblendedCost"):
                amount = Decimal(str(period["Total"]["UnblendedCost"]["Amount"]))
                out[UNTAGGED] = out.get(UNTAGGED, Decimal(0)) + amount
        token = page.get("NextPageToken")
        if not token:
            return out
        kwargs["NextPageToken"] = token


def ce_forecast(ce: Any, month: Month, env: str, *, tag_key: str = CE_TAG_KEY) -> Decimal | None:
    """Cost Explorer's forecast for the rest of the month for one environment; ``None`` when it cannot answer."""
    from botocore.exceptions import BotoCoreError, ClientError

    start = month.as_of.date() + timedelta(days=1)
    if start >= month.end:
        return Decimal(0)
    try:
        resp = ce.get_cost_forecast(
            TimePeriod={"Start": start.isoformat(), "End": month.end.isoformat()},
            Metric="UNBLENDED_COST",
            Granularity="MONTHLY",
            Filter={"And": [bedrock_filter(), {"Tags": {"Key": tag_key, "Values": [env]}}]},
        )
        return Decimal(str(resp["Total"]["Amount"]))
    except (ClientError, BotoCoreError, KeyError) as exc:
        log.debug("GetCostForecast for %s unavailable: %s", env, exc)
        return None


# --- status --------------------------------------------------------------------------------------------------
def budget_status(
    environments: dict[str, EnvironmentSettings],
    *,
    store: Any = None,
    ce: Any = None,
    book: PriceBook | None = None,
    now: datetime | None = None,
    use_ce_forecast: bool = True,
) -> BudgetStatus:
    """Status of every configured environment; ``ce`` (a Cost Explorer client) is optional."""
    from botocore.exceptions import BotoCoreError, ClientError

    month = Month.of(now or datetime.now(UTC))
    book = book or PriceBook.load()
    estimates, ledger_info = ledger_spend(store, month, book)
    actual: dict[str, Decimal] | None = None
    ce_info: dict[str, Any] = {"available": False}
    if ce is not None:
        try:
            actual = ce_actual_by_env(ce, month)
            ce_info = {"available": True, "total_usd": _money(sum(actual.values(), Decimal(0)))}
            ce_info["untagged_usd"] = _money(actual.get(UNTAGGED, Decimal(0)))
        except (ClientError, BotoCoreError) as exc:
            ce_info = {"available": False, "error": str(exc)}
    ledger_info["untagged_usd"] = _money(estimates.get(UNTAGGED, {}).get("cost_usd", Decimal(0)))
    out = []
    for name, env in sorted(environments.items()):
        est = estimates.get(name, {})
        estimate = Decimal(est.get("cost_usd", 0))
        act = actual.get(name, Decimal(0)) if actual is not None else None
        spent = max(estimate, act or Decimal(0))
        limit = Decimal(str(env.monthly_budget_usd)) if env.monthly_budget_usd is not None else None
        pct = float(spent / limit * 100) if limit else None
        thresholds = sorted(env.alert_thresholds)
        crossed = [t for t in thresholds if pct is not None and pct >= t]
        forecast, source = spent / Decimal(str(month.elapsed_days)) * month.days, "linear"
        if use_ce_forecast and ce is not None and actual is not None and month.as_of.date() < month.end:
            rest = ce_forecast(ce, month, name)
            if rest is not None:
                forecast, source = (act or Decimal(0)) + rest, "cost_explorer"
        out.append(
            EnvStatus(
                environment=name,
                limit_usd=limit,
                estimate_usd=estimate,
                actual_usd=act,
                spent_usd=spent,
                pct_used=None if pct is None else round(pct, 3),
                thresholds=thresholds,
                crossed=crossed,
                hard_stop_pct=env.hard_stop_pct,
                hard_stop_reached=pct is not None and pct >= env.hard_stop_pct,
                forecast_usd=forecast.quantize(Decimal("0.000001")),
                forecast_pct=round(float(forecast / limit * 100), 3) if limit else None,
                forecast_source=source,
                invocations=int(est.get("invocations", 0)),
                unpriced_invocations=int(est.get("unpriced_invocations", 0)),
            )
        )
    return BudgetStatus(month.label, month.as_of.isoformat(timespec="seconds"), out, ce_info, ledger_info)


# --- alerts --------------------------------------------------------------------------------------------------
class AlertState:
    """Which (environment, period, threshold, channel) alerts were delivered; a JSON file in the data dir."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.sent: dict[str, str] = json.loads(self.path.read_text()).get("sent", {})
        except (OSError, ValueError):
            self.sent = {}

    @staticmethod
    def key(env: str, period: str, threshold: float, channel: str) -> str:
        return f"{env}|{period}|{threshold:g}|{channel}"

    def save(self) -> None:
        from bedrockctl.files import write_private

        write_private(self.path, json.dumps({"sent": self.sent}, indent=1, sort_keys=True))


Sender = Callable[[dict[str, Any]], None]


def webhook_sender(url: str, timeout: float = 5.0) -> Sender:
    def send(alert: dict[str, Any]) -> None:
        import httpx

        resp = httpx.post(url, json=alert, timeout=timeout)
        resp.raise_for_status()

    return send


def sns_sender(sns: Any, topic_arn: str) -> Sender:
    def send(alert: dict[str, Any]) -> None:
        sns.publish(
            TopicArn=topic_arn,
            Subject=f"bedrockctl budget: {alert['environment']} passed {alert['threshold_pct']:g}%"[:99],
            Message=json.dumps(alert),
        )

    return send


def send_alerts(status: BudgetStatus, senders: dict[str, dict[str, Sender]], state: AlertState) -> list[dict[str, Any]]:
    """Deliver each newly crossed threshold once per channel; ``senders`` maps environment -> channel -> send.
    A failed delivery is logged and retried on the next run; the others are recorded as sent."""
    delivered = []
    for env in status.environments:
        for threshold in env.crossed:
            alert = {
                "type": "bedrockctl.budget_threshold",
                "source": "budget status",
                "environment": env.environment,
                "period": status.period,
                "threshold_pct": threshold,
                "spent_pct": env.pct_used,
                "spent_usd": _money(env.spent_usd),
                "estimate_usd": _money(env.estimate_usd),
                "actual_usd": None if env.actual_usd is None else _money(env.actual_usd),
                "limit_usd": None if env.limit_usd is None else _money(env.limit_usd),
                "forecast_usd": _money(env.forecast_usd),
                "hard_stop_pct": env.hard_stop_pct,
                "as_of": status.as_of,
            }
            for channel, send in senders.get(env.environment, {}).items():
                key = AlertState.key(env.environment, status.period, threshold, channel)
                if key in state.sent:
                    continue
                try:
                    send(alert)
                except Exception as exc:
                    log.warning("budget alert via %s failed: %s", channel, exc)
                    continue
                state.sent[key] = datetime.now(UTC).isoformat(timespec="seconds")
                delivered.append({**alert, "channel": channel})
    state.save()
    return delivered
