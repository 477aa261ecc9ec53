"""``--engine athena``: SQL written once (DuckDB), tested on DuckDB, transpiled; call flow against moto's Athena."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlglot

from bedrockctl.analytics.athena import RAW_COLUMNS_DUCKDB, VIEW_SQL, AthenaRunner, glue_ddl, to_athena, view_ddl
from bedrockctl.analytics.ingest import ingest
from bedrockctl.analytics.reports import duckdb_runner, parse_by, period, report_sql, run_report
from bedrockctl.analytics.store import UsageStore
from bedrockctl.samples import SampleSet


def raw_duckdb(samples: SampleSet) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute(
        "CREATE VIEW bedrock_invocation_logs AS SELECT * FROM read_json("  # noqa: S608 - internal SQL, no user text
        f"'{samples.invocation_logs_gz}', format='newline_delimited', columns={RAW_COLUMNS_DUCKDB})"
    )
    con.execute(f"CREATE VIEW invocations AS {VIEW_SQL}")
    return con


def test_view_sql_on_raw_logs_matches_the_local_engine(tmp_path: Path, samples: SampleSet) -> None:
    store = UsageStore(tmp_path / "usage")
    ingest(store, [str(samples.invocation_logs)])
    local = store.connect()
    raw = raw_duckdb(samples)
    for by in ("model", "user", "day", "region", "tag:workflow,user"):
        a = run_report(duckdb_runner(local), by).to_dict()
        b = run_report(duckdb_runner(raw), by).to_dict()
        assert a == b, by
    assert run_report(duckdb_runner(raw), "model").totals["cost_usd"] == Decimal("0.0557388")


def test_every_report_query_transpiles_to_valid_trino() -> None:
    start, end = period(None, "2026-11-01", "2026-11-30")
    for by in ("model", "user,day", "region,tag:team", "tag:workflow", None):
        for sql in report_sql(parse_by(by), start, end):
            out = to_athena(sql)
            sqlglot.parse_one(out, read="trino")  # parses as Trino
            assert "GROUP BY ALL" not in out
    view = view_ddl()
    assert view.startswith("CREATE OR REPLACE VIEW invocations AS SELECT")
    assert "REGEXP_LIKE" in view and "regexp_matches" not in view
    ddl = glue_ddl("logs-bucket", "inv", "111122223333", ["us-east-1", "eu-west-1"])
    assert "LOCATION 's3://logs-bucket/inv/AWSLogs/111122223333/BedrockModelInvocationLogs/'" in ddl
    assert "'projection.log_region.values' = 'us-east-1,eu-west-1'" in ddl
    assert "${log_region}/${log_day}/" in ddl


def test_athena_call_flow_against_moto(sandbox_env: Any, boto_client: Callable[..., Any]) -> None:
    import json
    import urllib.request

    athena = boto_client("athena")
    rows = [
        {
            "Data": [
                {"VarCharValue": "model"},
                {"VarCharValue": "invocations"},
                {"VarCharValue": "input_tokens"},
                {"VarCharValue": "output_tokens"},
                {"VarCharValue": "cache_read_tokens"},
                {"VarCharValue": "cache_write_tokens"},
                {"VarCharValue": "unique_users"},
            ]
        },
        {
            "Data": [
                {"VarCharValue": "amazon.nova-lite-v1:0"},
                {"VarCharValue": "2"},
                {"VarCharValue": "1000"},
                {"VarCharValue": "1000"},
                {"VarCharValue": "0"},
                {"VarCharValue": "0"},
                {"VarCharValue": "1"},
            ]
        },
    ]
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
        for n, t in [
            ("model", "varchar"),
            ("invocations", "bigint"),
            ("input_tokens", "bigint"),
            ("output_tokens", "bigint"),
            ("cache_read_tokens", "bigint"),
            ("cache_write_tokens", "bigint"),
            ("unique_users", "bigint"),
        ]
    ]
    body = json.dumps(
        {"account_id": "123456789012", "region": "us-east-1", "results": [{"rows": rows, "column_info": info}]}
    ).encode()
    req = urllib.request.Request(
        f"{sandbox_env.endpoint_url}/moto-api/static/athena/query-results",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status in (200, 201)
    runner = AthenaRunner(athena, database="bedrock", output_location="s3://athena-results/", sleep=lambda s: None)
    cols, got = runner("SELECT model_id AS model, count(*) AS invocations FROM invocations GROUP BY 1")
    assert cols[0] == "model"
    assert got == [("amazon.nova-lite-v1:0", 2, 1000, 1000, 0, 0, 1)]
    assert runner.executed and "invocations" in runner.executed[0]
    qid = athena.list_query_executions()["QueryExecutionIds"][0]
    q = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
    assert q["QueryExecutionContext"]["Database"] == "bedrock"
    assert q["Status"]["State"] == "SUCCEEDED"
