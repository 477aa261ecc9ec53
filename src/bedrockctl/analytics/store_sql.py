"""The SQL the usage store (``store``) runs in DuckDB: the selects that turn staged rows into day partitions
(``INV_SELECT``, ``TRAIL_SELECT``), the tables an empty store starts with (``table_ddl``), views over Parquet files
that may predate a column (``parquet_view``), the temp tables that match CloudTrail events to invocation-log
records (``LINK_SQL``, ``KEY_LINK_SQL``, ``TRAIL_ONLY_SQL``) and the one view every report reads
(``INVOCATIONS_VIEW``)."""

from __future__ import annotations

from typing import Any

from bedrockctl.analytics.record_columns import BILLING_COLUMNS, BILLING_COUNTS

SQL_TYPES = {"string": "VARCHAR", "int64": "BIGINT"}
# what a call was billed by besides tokens (``record_values.billing_fields``): counts read 0 if a partition lacks them
_BILLING_INV = ", ".join(f"coalesce(i.{c}, 0) AS {c}" if c in BILLING_COUNTS else f"i.{c}" for c in BILLING_COLUMNS)
_BILLING_TRAIL = ", ".join("0" if c in BILLING_COUNTS else "NULL" for c in BILLING_COLUMNS)
INV_SELECT = """
    request_id,
    CAST(try_cast(rtrim(ts, 'Z') AS TIMESTAMP) AS TIMESTAMP) AS "timestamp",
    account_id, region, inference_region, operation, model_id, model_base, identity_arn, principal,
    principal_type, permission_set, team, workflow, tags, input_tokens, output_tokens, cache_read_tokens,
    cache_write_tokens, cache_write_1h_tokens, latency_ms, error_code, source, {billing},
    strftime(try_cast(rtrim(ts, 'Z') AS TIMESTAMP), '%Y-%m-%d') AS day
"""
INV_SELECT = INV_SELECT.replace("{billing}", ", ".join(BILLING_COLUMNS))
TRAIL_SELECT = """
    event_id, request_id,
    CAST(try_cast(rtrim(ts, 'Z') AS TIMESTAMP) AS TIMESTAMP) AS "timestamp",
    account_id, region, operation, model_id, model_base, identity_arn, principal, principal_type,
    permission_set, source_ip, user_agent, error_code,
    strftime(try_cast(rtrim(ts, 'Z') AS TIMESTAMP), '%Y-%m-%d') AS day
"""

# CloudTrail events are matched to invocation-log records by request id or -- for events whose request id matches
# no record -- by the call identity (account, identity, operation, second, model). ``connect()`` computes the matches
# once into small temp tables (one scan of ``inv``, a second one only when some event has no request-id match), so
# the view below costs every report query only a read of ``inv`` (DuckDB drops the join with ``_cand`` when a query
# does not use the source address or user agent).
_CALL_KEY = (
    "account_id, coalesce(identity_arn, '') AS k_arn, operation, date_trunc('second', \"timestamp\") AS k_sec, "
    "coalesce(model_base, model_id) AS k_model"
)
LINK_SQL = (
    f"CREATE OR REPLACE TEMP TABLE _trail AS SELECT *, {_CALL_KEY} FROM trail",  # noqa: S608 - internal SQL
    """CREATE OR REPLACE TEMP TABLE _t_id AS SELECT request_id, any_value(source_ip) AS source_ip,
       any_value(user_agent) AS user_agent FROM _trail WHERE request_id IS NOT NULL GROUP BY request_id""",
    """CREATE OR REPLACE TEMP TABLE _cand AS
       SELECT i.request_id, false AS by_key, NULL::VARCHAR AS account_id, NULL::VARCHAR AS k_arn,
              NULL::VARCHAR AS operation, NULL::TIMESTAMP AS k_sec, NULL::VARCHAR AS k_model,
              a.source_ip, a.user_agent
       FROM inv AS i JOIN _t_id AS a ON a.request_id = i.request_id""",
    """CREATE OR REPLACE TEMP TABLE _t_key AS SELECT account_id, k_arn, operation, k_sec, k_model, count(*) AS n,
       any_value(source_ip) AS source_ip, any_value(user_agent) AS user_agent
       FROM _trail AS t WHERE NOT EXISTS (SELECT 1 FROM _cand AS c WHERE c.request_id = t.request_id)
       GROUP BY account_id, k_arn, operation, k_sec, k_model""",
)
KEY_LINK_SQL = """INSERT INTO _cand
       SELECT i.request_id, true, b.account_id, b.k_arn, b.operation, b.k_sec, b.k_model,
              CASE WHEN b.n = 1 THEN b.source_ip END, CASE WHEN b.n = 1 THEN b.user_agent END
       FROM inv AS i
       JOIN _t_key AS b ON b.account_id = i.account_id AND b.k_arn = coalesce(i.identity_arn, '')
            AND b.operation = i.operation AND b.k_sec = date_trunc('second', i."timestamp")
            AND b.k_model = coalesce(i.model_base, i.model_id)
       WHERE NOT EXISTS (SELECT 1 FROM _cand AS c WHERE c.request_id = i.request_id)"""
TRAIL_ONLY_SQL = """CREATE OR REPLACE TEMP TABLE _trail_only AS
       SELECT t.* FROM _trail AS t
       WHERE NOT EXISTS (SELECT 1 FROM _cand AS c WHERE c.request_id = t.request_id)
         AND NOT EXISTS (SELECT 1 FROM _cand AS c WHERE c.by_key AND c.account_id = t.account_id
                         AND c.k_arn = t.k_arn AND c.operation = t.operation AND c.k_sec = t.k_sec
                         AND c.k_model = t.k_model)"""

# The one relation every report reads. Invocation logs carry tokens; CloudTrail adds the caller's address and user
# agent; CloudTrail events without an invocation-log record count as invocations without tokens.
INVOCATIONS_VIEW = f"""
CREATE OR REPLACE TEMP VIEW invocations AS
SELECT i.request_id, i."timestamp", i.day, i.account_id, i.region, i.inference_region, i.operation, i.model_id,
       i.model_base, i.identity_arn, i.principal, i.principal_type, i.permission_set, i.team, i.workflow, i.tags,
       i.input_tokens, i.output_tokens, i.cache_read_tokens, i.cache_write_tokens,
       coalesce(i.cache_write_1h_tokens, 0) AS cache_write_1h_tokens, i.latency_ms,
       l.source_ip, l.user_agent, i.source, i.error_code, {_BILLING_INV}
FROM inv AS i
LEFT JOIN (SELECT request_id, any_value(source_ip) AS source_ip, any_value(user_agent) AS user_agent
           FROM _cand GROUP BY request_id) AS l ON l.request_id = i.request_id
UNION ALL
SELECT t.request_id, t."timestamp", t.day, t.account_id, t.region, NULL, t.operation, t.model_id, t.model_base,
       t.identity_arn, t.principal, t.principal_type, t.permission_set, NULL, NULL, NULL,
       0, 0, 0, 0, 0, NULL, t.source_ip, t.user_agent, 'cloudtrail', t.error_code, {_BILLING_TRAIL}
FROM _trail_only AS t
"""  # noqa: S608 - internal SQL, fixed column names


def parquet_view(con: Any, name: str, source: str, spec: tuple[tuple[str, str], ...]) -> None:
    """``name`` over the Parquet files in ``source``. Partitions written before a column was added lack it (and
    ``union_by_name`` adds it only when some file has it): they read with the column NULL, which every report
    coalesces, so the append-only store never needs rewriting."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {source}")
    have = {row[0] for row in con.execute(f"DESCRIBE {name}").fetchall()}
    missing = [f"NULL::{SQL_TYPES[kind]} AS {col}" for col, kind in spec if col not in have]
    if missing:
        added = ", ".join(missing)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT *, {added} FROM ({source})")  # noqa: S608 - internal SQL


def table_ddl(spec: tuple[tuple[str, str], ...], ts_as_timestamp: bool = True) -> str:
    parts = []
    for name, kind in spec:
        if name == "ts":
            parts.append('"timestamp" TIMESTAMP' if ts_as_timestamp else "ts VARCHAR")
        else:
            parts.append(f"{name} {SQL_TYPES[kind]}")
    if ts_as_timestamp:
        parts.append("day VARCHAR")
    return ", ".join(parts)
