"""``--engine athena``: the same report SQL on Amazon Athena over the S3 invocation-log bucket.

- ``glue_ddl()``: the Glue table for the S3 delivery layout
  (``AWSLogs/<account>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/*.json.gz``) with partition projection;
- ``VIEW_SQL``: the ``invocations`` relation over that raw table, written once in DuckDB SQL (tested on DuckDB
  against the raw sample files) and transpiled like every report query;
- ``to_athena(sql)``: sqlglot DuckDB -> Trino (Athena engine v3);
- ``AthenaRunner``: StartQueryExecution, GetQueryExecution polling, GetQueryResults pagination.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bedrockctl.analytics.errors import AthenaQueryFailed
from bedrockctl.analytics.record_columns import GUARDRAIL_UNITS

RAW_TABLE = "bedrock_invocation_logs"

# principal normalisation in SQL (the Python rules of identity.py, tested for parity)
_ARN = "identity.arn"
# the 1-hour cache writes of a record (``input.cacheDetails``): list functions differ between DuckDB and Trino and
# sqlglot does not map them, so the view names a placeholder column that each dialect replaces with its own
_HOUR_WRITES = "cache_details_1h__"
_HOUR_DUCKDB = (
    "list_sum(list_transform(list_filter(input.cacheDetails, lambda d: d.ttl = '1h'), lambda d: d.inputTokens))"
)
_HOUR_TRINO = "reduce(filter(input.cacheDetails, d -> d.ttl = '1h'), 0, (s, d) -> s + d.inputTokens, s -> s)"
# what a call was billed by besides tokens: the tier and guardrail units the record carries; images need the logged
# request body, which the Glue table does not read (they are counted by ``usage ingest`` into the local store only)
_BILLING = (
    "serviceTier.type AS service_tier, 0 AS image_count, CAST(NULL AS VARCHAR) AS image_quality, "
    "CAST(NULL AS VARCHAR) AS image_size, "
    + ", ".join(f"coalesce(guardrailUsage.{key}, 0) AS {column}" for key, column, _ in GUARDRAIL_UNITS)
)
_GUARDRAIL_GLUE = ",".join(f"{key}:bigint" for key, _, _ in GUARDRAIL_UNITS)
_GUARDRAIL_DUCKDB = ", ".join(f"{key} BIGINT" for key, _, _ in GUARDRAIL_UNITS)
_VIEW_TEMPLATE = f"""
SELECT
  requestId AS request_id,
  CAST(replace(replace("timestamp", 'T', ' '), 'Z', '') AS TIMESTAMP) AS "timestamp",
  substr("timestamp", 1, 10) AS day,
  accountId AS account_id,
  region,
  inferenceRegion AS inference_region,
  operation,
  modelId AS model_id,
  CASE WHEN regexp_matches(modelId, '^(us|eu|apac|global)\\.') THEN regexp_replace(modelId, '^[a-z]+\\.', '')
       WHEN regexp_matches(modelId, ':foundation-model/') THEN regexp_extract(modelId, 'foundation-model/(.*)$', 1)
       WHEN regexp_matches(modelId, ':inference-profile/') THEN
            regexp_extract(modelId, 'inference-profile/[a-z]+\\.(.*)$', 1)
       WHEN regexp_matches(modelId, '^arn:') THEN NULL
       ELSE modelId END AS model_base,
  {_ARN} AS identity_arn,
  coalesce(requestMetadata['gateway_user'],
  CASE WHEN regexp_matches({_ARN}, ':assumed-role/AWSReservedSSO_.+_[0-9a-f]{{16}}/.+')
            THEN regexp_extract({_ARN}, 'assumed-role/[^/]+/(.+)$', 1)
       WHEN regexp_matches({_ARN}, ':assumed-role/') THEN regexp_extract({_ARN}, 'assumed-role/(.+)$', 1)
       WHEN regexp_matches({_ARN}, ':user/') THEN regexp_extract({_ARN}, '/([^/]+)$', 1)
       WHEN regexp_matches({_ARN}, ':federated-user/') THEN regexp_extract({_ARN}, 'federated-user/(.+)$', 1)
       WHEN regexp_matches({_ARN}, ':root$') THEN 'root'
       ELSE {_ARN} END) AS principal,
  CAST(NULL AS VARCHAR) AS tags,
  requestMetadata['team'] AS team,
  requestMetadata['workflow'] AS workflow,
  input.inputTokenCount AS input_tokens,
  output.outputTokenCount AS output_tokens,
  coalesce(input.cacheReadInputTokenCount, 0) AS cache_read_tokens,
  coalesce(input.cacheWriteInputTokenCount, 0) AS cache_write_tokens,
  coalesce({_HOUR_WRITES}, 0) AS cache_write_1h_tokens,
  'invocation_log' AS source,
  {_BILLING}
FROM {RAW_TABLE}
"""  # noqa: S608 - internal SQL, no user text


VIEW_SQL = _VIEW_TEMPLATE.replace(_HOUR_WRITES, _HOUR_DUCKDB)  # DuckDB SQL over the raw records


def to_athena(sql: str) -> str:
    """DuckDB SQL -> Athena (Trino) SQL."""
    import sqlglot

    return str(sqlglot.transpile(sql, read="duckdb", write="trino")[0])


def view_ddl() -> str:
    trino = to_athena(_VIEW_TEMPLATE)
    if _HOUR_WRITES not in trino:  # pragma: no cover - guards the placeholder against a sqlglot rewrite
        raise RuntimeError("the 1-hour cache-write placeholder did not survive transpilation")
    return f"CREATE OR REPLACE VIEW invocations AS {trino.replace(_HOUR_WRITES, _HOUR_TRINO)}"


def glue_ddl(bucket: str, prefix: str, account_id: str, regions: list[str], table: str = RAW_TABLE) -> str:
    """CREATE EXTERNAL TABLE for the S3 invocation-log layout, partitions projected by Region and day."""
    base = (
        f"s3://{bucket}/{prefix.strip('/') + '/' if prefix.strip('/') else ''}AWSLogs/{account_id}/"
        "BedrockModelInvocationLogs"
    )
    return f"""CREATE EXTERNAL TABLE IF NOT EXISTS {table} (
  schemaType string,
  schemaVersion string,
  `timestamp` string,
  accountId string,
  identity struct<arn:string>,
  region string,
  requestId string,
  operation string,
  modelId string,
  input struct<inputContentType:string,inputTokenCount:bigint,\
    cacheReadInputTokenCount:bigint,cacheWriteInputTokenCount:bigint,\
    cacheDetails:array<struct<ttl:string,inputTokens:bigint>>>,
  output struct<outputContentType:string,outputTokenCount:bigint>,
  inferenceRegion string,
  requestMetadata map<string,string>,
  metrics struct<latencyMs:bigint>,
  errorCode string,
  serviceTier struct<type:string>,
  guardrailUsage struct<{_GUARDRAIL_GLUE}>
)
PARTITIONED BY (log_region string, log_day string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('ignore.malformed.json' = 'true', 'case.insensitive' = 'true')
LOCATION '{base}/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.log_region.type' = 'enum',
  'projection.log_region.values' = '{",".join(regions)}',
  'projection.log_day.type' = 'date',
  'projection.log_day.format' = 'yyyy/MM/dd',
  'projection.log_day.range' = '2023/01/01,NOW',
  'projection.log_day.interval' = '1',
  'projection.log_day.interval.unit' = 'DAYS',
  'storage.location.template' = '{base}/${{log_region}}/${{log_day}}/'
)"""


class AthenaRunner:
    """``run(sql) -> (columns, rows)`` on Athena: the report SQL is transpiled first."""

    def __init__(
        self,
        client: Any,
        *,
        database: str,
        output_location: str | None = None,
        workgroup: str = "primary",
        poll_seconds: float = 0.5,
        timeout_seconds: float = 600,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client, self.database, self.output, self.workgroup = client, database, output_location, workgroup
        self.poll, self.timeout, self.sleep = poll_seconds, timeout_seconds, sleep
        self.executed: list[str] = []

    def execute(self, sql: str) -> str:
        kwargs: dict[str, Any] = {
            "QueryString": sql,
            "QueryExecutionContext": {"Database": self.database},
            "WorkGroup": self.workgroup,
        }
        if self.output:
            kwargs["ResultConfiguration"] = {"OutputLocation": self.output}
        qid = str(self.client.start_query_execution(**kwargs)["QueryExecutionId"])
        self.executed.append(sql)
        waited = 0.0
        while True:
            status = self.client.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
            state = status["State"]
            if state == "SUCCEEDED":
                return qid
            if state in ("FAILED", "CANCELLED"):
                raise AthenaQueryFailed(f"Athena query {qid} {state}: {status.get('StateChangeReason', '')}")
            if waited >= self.timeout:
                raise AthenaQueryFailed(f"Athena query {qid} still {state} after {self.timeout:.0f}s")
            self.sleep(self.poll)
            waited += self.poll

    def __call__(self, duckdb_sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        qid = self.execute(to_athena(duckdb_sql))
        columns: list[str] = []
        types: list[str] = []
        rows: list[tuple[Any, ...]] = []
        first = True
        for page in self.client.get_paginator("get_query_results").paginate(QueryExecutionId=qid):
            meta = page["ResultSet"].get("ResultSetMetadata", {}).get("ColumnInfo", [])
            if meta and not columns:
                columns = [c["Name"] for c in meta]
                types = [c.get("Type", "varchar") for c in meta]
            data = page["ResultSet"].get("Rows", [])
            if first and data and [d.get("VarCharValue") for d in data[0]["Data"]] == columns:
                data = data[1:]  # the header row Athena puts first
            first = False
            for r in data:
                vals = [d.get("VarCharValue") for d in r["Data"]]
                rows.append(tuple(_convert(v, t) for v, t in zip(vals, types or ["varchar"] * len(vals), strict=False)))
        return columns, rows


def _convert(value: str | None, kind: str) -> Any:
    if value is None:
        return None
    if kind in ("bigint", "integer", "int", "smallint", "tinyint"):
        return int(value)
    if kind in ("double", "float", "real"):
        return float(value)
    return value


# The Glue table's columns as DuckDB read_json columns: lets the view SQL be tested on DuckDB over raw log files.
RAW_COLUMNS_DUCKDB = (
    "{'schemaType': 'VARCHAR', 'schemaVersion': 'VARCHAR', 'timestamp': 'VARCHAR', 'accountId': 'VARCHAR', "
    "'identity': 'STRUCT(arn VARCHAR)', 'region': 'VARCHAR', 'requestId': 'VARCHAR', 'operation': 'VARCHAR', "
    "'modelId': 'VARCHAR', 'input': 'STRUCT(inputContentType VARCHAR, inputTokenCount BIGINT, "
    "cacheReadInputTokenCount BIGINT, cacheWriteInputTokenCount BIGINT, "
    "cacheDetails STRUCT(ttl VARCHAR, inputTokens BIGINT)[])', "
    "'output': 'STRUCT(outputContentType VARCHAR, outputTokenCount BIGINT)', 'inferenceRegion': 'VARCHAR', "
    "'requestMetadata': 'MAP(VARCHAR, VARCHAR)', 'metrics': 'STRUCT(latencyMs BIGINT)', 'errorCode': 'VARCHAR', "
    f"'serviceTier': 'STRUCT(type VARCHAR)', 'guardrailUsage': 'STRUCT({_GUARDRAIL_DUCKDB})'}}"
)
