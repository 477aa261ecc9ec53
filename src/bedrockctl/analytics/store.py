"""The local usage store: Parquet partitioned by day under ``<data_dir>/usage/``, queried with DuckDB.

Layout::

    usage/invocations/day=YYYY-MM-DD/part-<uuid>.parquet   invocation-log (and gateway) records, unique request_id
    usage/trail/day=YYYY-MM-DD/part-<uuid>.parquet         CloudTrail runtime events, unique event_id
    usage/checkpoints.json                                 per-source progress (see sources.py)
    usage/_staging/<run>/                                  parsed chunks of a running ingest

``commit()`` turns staged chunks into partitions: duplicates inside the run and against what is stored are
dropped (request id for invocations, event id for CloudTrail), so ingesting the same data twice counts once.
``connect()`` gives a DuckDB connection with the ``invocations`` view (see ``INVOCATIONS_VIEW``).
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bedrockctl.analytics.errors import AnalyticsDependencyMissing
from bedrockctl.analytics.records import INV_COLUMNS, TRAIL_COLUMNS, Columns

_SQL_TYPES = {"string": "VARCHAR", "int64": "BIGINT"}

INV_SELECT = """
    request_id,
    CAST(try_cast(rtrim(ts, 'Z') AS TIMESTAMP) AS TIMESTAMP) AS "timestamp",
    account_id, region, inference_region, operation, model_id, model_base, identity_arn, principal,
    principal_type, permission_set, team, workflow, tags, input_tokens, output_tokens, cache_read_tokens,
    cache_write_tokens, latency_ms, error_code, source, match_key,
    strftime(try_cast(rtrim(ts, 'Z') AS TIMESTAMP), '%Y-%m-%d') AS day
"""
TRAIL_SELECT = """
    event_id, request_id,
    CAST(try_cast(rtrim(ts, 'Z') AS TIMESTAMP) AS TIMESTAMP) AS "timestamp",
    account_id, region, operation, model_id, model_base, identity_arn, principal, principal_type,
    permission_set, source_ip, user_agent, error_code, match_key,
    strftime(try_cast(rtrim(ts, 'Z') AS TIMESTAMP), '%Y-%m-%d') AS day
"""

# The one relation every report reads. Invocation logs carry tokens; CloudTrail adds the caller's address and user
# agent (joined by request id, or -- when the ids differ -- by account, identity, operation, second and model);
# CloudTrail events without an invocation-log record count as invocations without tokens.
INVOCATIONS_VIEW = """
CREATE OR REPLACE TEMP VIEW invocations AS
WITH t_id AS (
    SELECT request_id, any_value(source_ip) AS source_ip, any_value(user_agent) AS user_agent
    FROM trail WHERE request_id IS NOT NULL GROUP BY request_id
), t_key AS (
    SELECT match_key, any_value(source_ip) AS source_ip, any_value(user_agent) AS user_agent
    FROM trail GROUP BY match_key HAVING count(*) = 1
)
SELECT i.request_id, i."timestamp", i.day, i.account_id, i.region, i.inference_region, i.operation, i.model_id,
       i.model_base, i.identity_arn, i.principal, i.principal_type, i.permission_set, i.team, i.workflow, i.tags,
       i.input_tokens, i.output_tokens, i.cache_read_tokens, i.cache_write_tokens, i.latency_ms,
       coalesce(a.source_ip, b.source_ip) AS source_ip, coalesce(a.user_agent, b.user_agent) AS user_agent,
       i.source, i.error_code
FROM inv AS i
LEFT JOIN t_id AS a ON a.request_id = i.request_id
LEFT JOIN t_key AS b ON b.match_key = i.match_key
UNION ALL
SELECT t.request_id, t."timestamp", t.day, t.account_id, t.region, NULL, t.operation, t.model_id, t.model_base,
       t.identity_arn, t.principal, t.principal_type, t.permission_set, NULL, NULL, NULL,
       0, 0, 0, 0, NULL, t.source_ip, t.user_agent, 'cloudtrail', t.error_code
FROM trail AS t
WHERE NOT EXISTS (SELECT 1 FROM inv AS i WHERE i.request_id = t.request_id)
  AND NOT EXISTS (SELECT 1 FROM inv AS i WHERE i.match_key = t.match_key)
"""


def duckdb_module() -> Any:
    try:
        import duckdb
    except ImportError as exc:  # pragma: no cover - dependency present in the test venv
        raise AnalyticsDependencyMissing() from exc
    return duckdb


def arrow_table(cols: dict[str, list[Any]], spec: tuple[tuple[str, str], ...]) -> Any:
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64()}
    return pa.table({n: pa.array(cols[n], type=types[t]) for n, t in spec})


def _ddl(spec: tuple[tuple[str, str], ...], ts_as_timestamp: bool = True) -> str:
    parts = []
    for name, kind in spec:
        if name == "ts":
            parts.append('"timestamp" TIMESTAMP' if ts_as_timestamp else "ts VARCHAR")
        else:
            parts.append(f"{name} {_SQL_TYPES[kind]}")
    if ts_as_timestamp:
        parts.append("day VARCHAR")
    return ", ".join(parts)


@dataclass
class CommitResult:
    new_invocations: int
    new_trail_events: int
    duplicates: int
    bad_timestamps: int


class UsageStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.inv_dir = self.root / "invocations"
        self.trail_dir = self.root / "trail"
        self.staging_root = self.root / "_staging"

    @classmethod
    def for_settings(cls, settings: Any = None) -> UsageStore:
        from bedrockctl.paths import data_dir

        return cls(data_dir(settings) / "usage")

    # --- staging -------------------------------------------------------------------------------------------
    def new_staging(self) -> Path:
        path = self.staging_root / uuid.uuid4().hex
        path.mkdir(parents=True, exist_ok=True)
        return path

    @staticmethod
    def stage(cols: Columns, staging: Path) -> None:
        """Write the parsed columns as one chunk per table and clear them."""
        import pyarrow.parquet as pq

        tag = uuid.uuid4().hex
        if cols.n_inv:
            pq.write_table(arrow_table(cols.inv, INV_COLUMNS), staging / f"inv-{tag}.parquet", compression="zstd")
        if cols.n_trail:
            pq.write_table(arrow_table(cols.trail, TRAIL_COLUMNS), staging / f"trail-{tag}.parquet", compression="zstd")
        cols.clear()

    # --- commit --------------------------------------------------------------------------------------------
    def _files(self, directory: Path) -> list[str]:
        return sorted(str(p) for p in directory.glob("day=*/*.parquet")) if directory.exists() else []

    def commit(self, staging: Path) -> CommitResult:
        duckdb = duckdb_module()
        con = duckdb.connect()
        try:
            con.execute("SET preserve_insertion_order = false")
            new_inv, dup_inv, bad_inv = self._commit_table(
                con, staging, "inv", INV_SELECT, "request_id", self.inv_dir, INV_COLUMNS
            )
            new_tr, dup_tr, bad_tr = self._commit_table(
                con, staging, "trail", TRAIL_SELECT, "event_id", self.trail_dir, TRAIL_COLUMNS
            )
        finally:
            con.close()
            shutil.rmtree(staging, ignore_errors=True)
        return CommitResult(new_inv, new_tr, dup_inv + dup_tr, bad_inv + bad_tr)

    def _commit_table(
        self,
        con: Any,
        staging: Path,
        prefix: str,
        select: str,
        key: str,
        target: Path,
        spec: tuple[tuple[str, str], ...],
    ) -> tuple[int, int, int]:
        chunks = sorted(str(p) for p in staging.glob(f"{prefix}-*.parquet"))
        if not chunks:
            return 0, 0, 0
        con.execute(f"CREATE OR REPLACE TEMP TABLE staged AS SELECT {select} FROM read_parquet(?)", [chunks])  # noqa: S608 - internal SQL, no user text
        staged = con.execute("SELECT count(*), count(*) FILTER (WHERE day IS NULL) FROM staged").fetchone()
        total, bad_ts = int(staged[0]), int(staged[1])
        existing = self._files(target)
        days = [r[0] for r in con.execute("SELECT DISTINCT day FROM staged WHERE day IS NOT NULL").fetchall()]
        existing = [f for f in existing if Path(f).parent.name.removeprefix("day=") in set(days)]
        anti = ""
        params: list[Any] = []
        if existing:
            anti = f"ANTI JOIN (SELECT {key} FROM read_parquet(?)) AS e USING ({key})"  # noqa: S608 - internal SQL, no user text
            params.append(existing)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE fresh AS
                SELECT * FROM (SELECT * FROM staged WHERE day IS NOT NULL QUALIFY row_number()
                               OVER (PARTITION BY {key} ORDER BY "timestamp") = 1) AS s {anti}""",  # noqa: S608 - internal SQL
            params,
        )
        row = con.execute("SELECT count(*) FROM fresh").fetchone()
        new = int(row[0]) if row else 0
        if new:
            target.mkdir(parents=True, exist_ok=True)
            con.execute(
                f"COPY fresh TO '{target.as_posix()}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day), "
                "APPEND, FILENAME_PATTERN 'part-{uuid}')"
            )
        return new, total - bad_ts - new, bad_ts

    # --- querying ------------------------------------------------------------------------------------------
    def has_data(self) -> bool:
        return bool(self._files(self.inv_dir) or self._files(self.trail_dir))

    def connect(self) -> Any:
        """A DuckDB connection with ``inv``, ``trail`` and the joined ``invocations`` view."""
        duckdb = duckdb_module()
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        for name, directory, spec in (("inv", self.inv_dir, INV_COLUMNS), ("trail", self.trail_dir, TRAIL_COLUMNS)):
            if self._files(directory):
                glob = (directory / "day=*" / "*.parquet").as_posix()
                con.execute(
                    f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet('{glob}', "  # noqa: S608 - internal SQL, no user text
                    "hive_partitioning = true, hive_types = {'day': VARCHAR}, union_by_name = true)"
                )
            else:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({_ddl(spec)})")
        con.execute(INVOCATIONS_VIEW)
        return con

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
