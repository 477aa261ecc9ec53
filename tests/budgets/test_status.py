"""``budget status``: estimate from the ledger by environment tag, Cost Explorer actual by cost-allocation tag,
thresholds, linear forecast; ``--alert`` posts to a real local webhook and SNS once per threshold per period."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOPIC_NAME = "budget-alerts"
CONFIG = """
[environments.prod]
monthly_budget_usd = 4
alert_thresholds = [25, 50, 80]
hard_stop_pct = 100
alert_webhook_url = "{url}"
alert_sns_topic = "arn:aws:sns:us-east-1:123456789012:budget-alerts"

[environments.dev]
monthly_budget_usd = 1
alert_thresholds = [50]
alert_webhook_url = "{url}"
"""


def ce_result(prod: str, untagged: str) -> dict[str, Any]:
    groups = [
        {"Keys": ["environment$prod"], "Metrics": {"UnblendedCost": {"Amount": prod, "Unit": "USD"}}},
        {"Keys": ["environment$"], "Metrics": {"UnblendedCost": {"Amount": untagged, "Unit": "USD"}}},
    ]
    return {
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": "2026-11-01", "End": "2026-11-16"},
                "Total": {},
                "Groups": groups,
                "Estimated": True,
            }
        ],
        "DimensionValueAttributes": [],
    }


def ingest(cli: Callable[..., Any], path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")
    res = cli("usage", "ingest", "--invocation-logs", str(path), "--json")
    assert res.exit_code == 0, res.output


def test_status_alerts_once_per_threshold(
    cli: Callable[..., Any],
    write_config: Callable[[str], str],
    data_dir: Path,
    tmp_path: Path,
    inject_ce: Callable[..., None],
    webhook: Any,
    invocation: Callable[..., str],
    boto_client: Callable[..., Any],
) -> None:
    # prod: 4 calls x (1M in, 200k out) = 4 x 0.50 USD; dev (tag `env`): 0.10 USD; one untagged 0.25 USD;
    # one prod call in October does not count
    ingest(
        cli,
        tmp_path / "a.jsonl",
        [
            *(
                invocation(f"p{i}", f"2026-11-{10 + i}T12:00:00Z", {"environment": "prod"}, 1_000_000, 200_000)
                for i in range(4)
            ),
            invocation("d1", "2026-11-02T08:00:00Z", {"env": "dev", "team": "x"}, 400_000, 0),
            invocation("u1", "2026-11-03T08:00:00Z", None, 1_000_000, 0),
            invocation("old", "2026-10-31T23:59:59Z", {"environment": "prod"}, 1_000_000, 200_000),
        ],
    )
    inject_ce(ce_result("2.5", "0.7"))
    sns, sqs = boto_client("sns"), boto_client("sqs")
    topic = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
    cfg = write_config(CONFIG.format(url=webhook.url))

    res = cli("--config", cfg, "budget", "status", "--as-of", "2026-11-15", "--alert", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["period"] == "2026-11" and data["cost_explorer"]["total_usd"] == "3.2"
    assert data["ledger"]["untagged_usd"] == "0.25"
    envs = {e["environment"]: e for e in data["environments"]}
    prod, dev = envs["prod"], envs["dev"]
    assert (prod["estimate_usd"], prod["actual_usd"], prod["spent_usd"]) == ("2", "2.5", "2.5")
    assert prod["pct_used"] == 62.5 and prod["crossed"] == [25, 50] and not prod["hard_stop_reached"]
    # linear: 2.5 USD over 15 days (to the end of the 15th) -> 5 USD over 30
    assert prod["forecast_source"] == "linear" and abs(float(prod["forecast_usd"]) - 5.0) < 0.001
    assert prod["invocations"] == 4
    assert (dev["estimate_usd"], dev["actual_usd"], dev["pct_used"], dev["crossed"]) == ("0.1", "0", 10.0, [])

    assert sorted((p["environment"], p["threshold_pct"]) for p in webhook.posts) == [("prod", 25), ("prod", 50)]
    assert webhook.posts[0]["type"] == "bedrockctl.budget_threshold" and webhook.posts[0]["limit_usd"] == "4"
    msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(m["Body"])["threshold_pct"] for m in msgs) == [25, 50]
    assert len(data["alerts_sent"]) == 4

    # the same status again: nothing new is sent
    again = json.loads(cli("--config", cfg, "budget", "status", "--as-of", "2026-11-15", "--alert", "--json").stdout)
    assert again["alerts_sent"] == [] and len(webhook.posts) == 2

    # more prod spend (estimate 3.5 > actual 2.5 -> 87.5%): only the 80% threshold is new; a failing webhook is
    # retried on the next run while SNS, which worked, is not repeated
    ingest(
        cli,
        tmp_path / "b.jsonl",
        [invocation(f"q{i}", "2026-11-15T10:00:00Z", {"environment": "prod"}, 1_000_000, 200_000) for i in range(3)],
    )
    webhook.fail = True
    third = json.loads(cli("--config", cfg, "budget", "status", "--as-of", "2026-11-15", "--alert", "--json").stdout)
    assert [(a["channel"], a["threshold_pct"]) for a in third["alerts_sent"]] == [
        ("sns:arn:aws:sns:us-east-1:123456789012:budget-alerts", 80)
    ]
    assert [(a["channel"], a["threshold_pct"], a["attempts"]) for a in third["alerts_failed"]] == [("webhook", 80, 3)]
    failed = [a for a in third["alerts"] if a["status"] == "failed"]  # the recorded outcome, shown by budget status
    assert [(a["channel"], a["threshold_pct"], a["attempts"]) for a in failed] == [("webhook", 80, 3)]
    assert failed[0]["last_error"] == "webhook 127.0.0.1 answered HTTP 503" and failed[0]["next_attempt_at"]
    webhook.fail = False
    fourth = json.loads(cli("--config", cfg, "budget", "status", "--as-of", "2026-11-15", "--alert", "--json").stdout)
    assert [(a["channel"], a["threshold_pct"]) for a in fourth["alerts_sent"]] == [("webhook", 80)]
    recorded = sorted((a["channel"].split(":")[0], a["threshold_pct"], a["status"]) for a in fourth["alerts"])
    assert recorded == [(ch, t, "sent") for ch in ("sns", "webhook") for t in (25, 50, 80)]
    text = cli("--config", cfg, "budget", "status", "--as-of", "2026-11-15").output
    assert "Alerts 2026-11" in text and "webhook" in text
    assert [p["threshold_pct"] for p in webhook.posts] == [25, 50, 80]
    assert webhook.posts[-1]["spent_usd"] == "3.5"


def test_status_without_cost_explorer_or_data(
    cli: Callable[..., Any], write_config: Callable[[str], str], data_dir: Path, sandbox_env: Any
) -> None:
    cfg = write_config(CONFIG.format(url="http://127.0.0.1:9/unused"))
    res = cli("--config", cfg, "budget", "status", "--no-cost-explorer", "--as-of", "2026-11-01", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["cost_explorer"] == {"available": False} and data["ledger"]["available"] is False
    prod = next(e for e in data["environments"] if e["environment"] == "prod")
    assert (prod["spent_usd"], prod["pct_used"], prod["crossed"], prod["actual_usd"]) == ("0", 0.0, [], None)
    text = cli("--config", cfg, "budget", "status", "--as-of", "2026-11-01").output
    assert "Budgets 2026-11" in text and "prod" in text
