"""``usage export`` (S3, SSE-KMS, lifecycle), ``usage publish-metrics`` (CloudWatch) and ``usage report --engine
athena``, each against the sandbox."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import moto.core.base_backend  # noqa: F401 - import moto before the sandbox's warm-up thread does (import race)
import pyarrow.parquet as pq
import pytest

from bedrockctl.analytics.record_columns import GUARDRAIL_UNITS
from bedrockctl.samples import SampleSet


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, samples: SampleSet) -> Callable[..., Any]:
    from typer.testing import CliRunner

    from bedrockctl.cli.app import app

    monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(tmp_path / "data"))

    def run(*args: str) -> Any:
        return CliRunner().invoke(app, list(args), catch_exceptions=False)

    res = run("usage", "ingest", "--invocation-logs", str(samples.invocation_logs))
    assert res.exit_code == 0, res.output
    return run


def test_export_with_sse_kms_and_retention(
    cli: Callable[..., Any], boto_client: Callable[..., Any], sandbox_env: Any
) -> None:
    s3, kms = boto_client("s3"), boto_client("kms")
    key_arn = kms.create_key(Description="usage archive")["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket="archive")
    other = {"ID": "keep-me", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 30}}
    s3.put_bucket_lifecycle_configuration(Bucket="archive", LifecycleConfiguration={"Rules": [other]})

    args = ["usage", "export", "--to", "s3://archive/bedrock/usage", "--kms-key", key_arn, "--retention-days", "400"]
    before = datetime.now(UTC).strftime("%Y-%m-%d")
    res = cli(*args, "--by", "model", "--by", "user,tag:team", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    keys = [o["key"] for o in out["objects"]]
    day = keys[0].split("/")[2]  # the day of the export (UTC); midnight may pass during the call
    assert day in (before, datetime.now(UTC).strftime("%Y-%m-%d"))
    assert keys == [
        f"bedrock/usage/{day}/usage-by-model.csv",
        f"bedrock/usage/{day}/usage-by-model.parquet",
        f"bedrock/usage/{day}/usage-by-user-tag_team.csv",
        f"bedrock/usage/{day}/usage-by-user-tag_team.parquet",
    ]
    for key in keys:
        head = s3.head_object(Bucket="archive", Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == key_arn
    body = s3.get_object(Bucket="archive", Key=keys[0])["Body"].read().decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 5 and sum(int(r["input_tokens"]) for r in rows) == 11800
    table = pq.read_table(io.BytesIO(s3.get_object(Bucket="archive", Key=keys[1])["Body"].read()))
    assert table.num_rows == 5 and str(sum(table.column("cost_usd").to_pylist()).normalize()) == "0.0557388"

    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket="archive")["Rules"]}
    assert rules["keep-me"]["Expiration"] == {"Days": 30}
    ours = rules[out["lifecycle_rule"]["ID"]]
    assert ours["Filter"] == {"Prefix": "bedrock/usage/"} and ours["Expiration"] == {"Days": 400}
    # a second export replaces our rule rather than adding one
    cli(*args[:-1], "90", "--by", "model")
    rules2 = s3.get_bucket_lifecycle_configuration(Bucket="archive")["Rules"]
    assert len(rules2) == 2 and {r["ID"]: r for r in rules2}[ours["ID"]]["Expiration"] == {"Days": 90}


def test_publish_metrics_read_back(
    cli: Callable[..., Any], boto_client: Callable[..., Any], sandbox_env: Any, samples: SampleSet
) -> None:
    since, until = samples.day("2026-11-20"), samples.day("2026-11-21")
    res = cli("usage", "publish-metrics", "--since", since, "--until", until, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["namespace"] == "Bedrockctl/Usage" and out["put_metric_data_calls"] == 1
    assert "platform" in out["dimensions"]["Team"] and "(none)" in out["dimensions"]["Team"]
    report = json.loads(cli("usage", "report", "--by", "model,tag:team", "--json").stdout)

    def stat(metric: str, name: str, value: str) -> float:
        resp = boto_client("cloudwatch").get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "m",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "Bedrockctl/Usage",
                            "MetricName": metric,
                            "Dimensions": [{"Name": name, "Value": value}],
                        },
                        "Period": 86400,
                        "Stat": "Sum",
                    },
                }
            ],
            StartTime=datetime.fromisoformat(since).replace(tzinfo=UTC) - timedelta(days=1),
            EndTime=datetime.fromisoformat(until).replace(tzinfo=UTC) + timedelta(days=2),
        )
        return sum(resp["MetricDataResults"][0]["Values"])

    model = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
    expected_in = sum(r["input_tokens"] for r in report["rows"] if r["model"] == model)
    assert stat("InputTokens", "Model", model) == expected_in > 0
    assert stat("CacheReadTokens", "Model", model) == 4096
    team_cost = sum(float(r["cost_usd"]) for r in report["rows"] if r["tag:team"] == "platform")
    assert abs(stat("CostUSD", "Team", "platform") - team_cost) < 1e-9 and team_cost > 0
    assert stat("Invocations", "Team", "platform") == sum(
        r["invocations"] for r in report["rows"] if r["tag:team"] == "platform"
    )


def _athena_result(columns: list[tuple[str, str]], rows: list[list[str | None]]) -> dict[str, Any]:
    info = [
        {
            "Name": n,
            "Type": t,
            "CatalogName": "hive",
            "SchemaName": "",
            "TableName": "",
            "Label": n,
            "Precision": 0,
            "Scale": 0,
            "Nullable": "UNKNOWN",
            "CaseSensitive": False,
        }
        for n, t in columns
    ]
    data = [{"Data": [{"VarCharValue": n} for n, _ in columns]}] + [
        {"Data": [{"VarCharValue": v} if v is not None else {} for v in r]}
        for r in rows  # NULL: no value
    ]
    return {"rows": data, "column_info": info}


def test_report_engine_athena(cli: Callable[..., Any], boto_client: Callable[..., Any], sandbox_env: Any) -> None:
    big = "bigint"
    results = [  # the usage query (with the whole period's row: grouped_total 1), then the cost query
        _athena_result(
            [
                ("model", "varchar"),
                ("invocations", big),
                ("input_tokens", big),
                ("output_tokens", big),
                ("cache_read_tokens", big),
                ("cache_write_tokens", big),
                ("unique_users", big),
                ("grouped_total", "integer"),
            ],
            [
                ["amazon.nova-lite-v1:0", "2", "1000", "1000", "0", "0", "1", "0"],
                [None, "2", "1000", "1000", "0", "0", "1", "1"],
            ],
        ),
        _athena_result(
            [
                ("model", "varchar"),
                ("price_model", "varchar"),
                ("price_base", "varchar"),
                ("price_region", "varchar"),
                ("price_tier", "varchar"),
                ("price_image_quality", "varchar"),
                ("price_image_size", "varchar"),
                ("long_band", big),
                ("invocations", big),
                ("input_tokens", big),
                ("output_tokens", big),
                ("cache_read_tokens", big),
                ("cache_write_tokens", big),
                ("cache_write_1h_tokens", big),
                ("image_count", big),
                *((column, big) for _, column, _ in GUARDRAIL_UNITS),
            ],
            [
                [
                    "amazon.nova-lite-v1:0",
                    "amazon.nova-lite-v1:0",
                    "amazon.nova-lite-v1:0",
                    "us-east-1",
                    None,
                    None,
                    None,
                    "0",
                    "2",
                    "1000",
                    "1000",
                    "0",
                    "0",
                    "0",
                    "0",
                    *("0" for _ in GUARDRAIL_UNITS),
                ]
            ],
        ),
    ]
    body = json.dumps({"account_id": "123456789012", "region": "us-east-1", "results": results}).encode()
    req = urllib.request.Request(
        f"{sandbox_env.endpoint_url}/moto-api/static/athena/query-results",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(req, timeout=10).close()
    res = cli(
        "usage",
        "report",
        "--engine",
        "athena",
        "--athena-database",
        "bedrock",
        "--athena-output",
        "s3://athena-results/",
        "--by",
        "model",
        "--json",
    )
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    assert rep["rows"][0]["model"] == "amazon.nova-lite-v1:0" and rep["rows"][0]["invocations"] == 2
    assert rep["totals"]["cost_usd"] == "0.0003" and rep["totals"]["unique_users"] == 1
    athena = boto_client("athena")
    ids = athena.list_query_executions()["QueryExecutionIds"]
    assert len(ids) == 2  # usage (with the total of distinct users) and cost: one scan each
    q = athena.get_query_execution(QueryExecutionId=ids[0])["QueryExecution"]
    assert q["QueryExecutionContext"]["Database"] == "bedrock"
    assert q["ResultConfiguration"]["OutputLocation"].startswith("s3://athena-results/")
