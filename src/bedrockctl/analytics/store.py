"""The local usage store: Parquet partitioned by day under ``<data_dir>/usage/``, queried with DuckDB.

Layout::

    usage/MANIFEST.json                          the live files and the ingest checkpoints (see manifest.py)
    usage/invocations/day=YYYY-MM-DD/*.parquet   invocation-log (and gateway) records, unique request_id
    usage/trail/day=YYYY-MM-DD/*.parquet         CloudTrail runtime events, unique event_id
    usage/.lock                                  held by the one process committing
    usage/_staging/<run>/, <run>.lock            parsed chunks / day files of a running ingest, and its owner lock

``commit()`` turns staged rows into partitions: duplicates inside the run (looked for day by day: a record
delivered twice has the same timestamp) and against the stored days are dropped (request id for invocations,
event id for CloudTrail), so ingesting the same data twice counts once. When there is none -- the usual case -- the
staged day files are moved into place, not rewritten; else the deduplicated rows are written in the staging
directory first. Either way complete files (0600, synced) are renamed into the day directories and a new manifest
makes them live, so a process killed at any point leaves a readable store, and the next commit removes what it
left. ``connect()`` gives a DuckDB connection with the ``invocations`` view (see ``INVOCATIONS_VIEW``) over the
files the manifest names.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bedrockctl.analytics import manifest
from bedrockctl.analytics.errors import AnalyticsDependencyMissing, UsageStoreBusy
from bedrockctl.analytics.manifest import Manifest
from bedrockctl.analytics.record_columns import BILLING_COLUMNS, BILLING_COUNTS, INV_COLUMNS, TRAIL_COLUMNS
from bedrockctl.analytics.records import Columns
from bedrockctl.files import FileLock, crash_point, fsync_path, make_private, private_dir

_SQL_TYPES = {"string": "VARCHAR", "int64": "BIGINT"}
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
_LINK_SQL = (
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
_KEY_LINK_SQL = """INSERT INTO _cand
       SELECT i.request_id, true, b.account_id, b.k_arn, b.operation, b.k_sec, b.k_model,
              CASE WHEN b.n = 1 THEN b.source_ip END, CASE WHEN b.n = 1 THEN b.user_agent END
       FROM inv AS i
       JOIN _t_key AS b ON b.account_id = i.account_id AND b.k_arn = coalesce(i.identity_arn, '')
            AND b.operation = i.operation AND b.k_sec = date_trunc('second', i."timestamp")
            AND b.k_model = coalesce(i.model_base, i.model_id)
       WHERE NOT EXISTS (SELECT 1 FROM _cand AS c WHERE c.request_id = i.request_id)"""
_TRAIL_ONLY_SQL = """CREATE OR REPLACE TEMP TABLE _trail_only AS
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


def _parquet_view(con: Any, name: str, source: str, spec: tuple[tuple[str, str], ...]) -> None:
    """``name`` over the Parquet files in ``source``. Partitions written before a column was added lack it (and
    ``union_by_name`` adds it only when some file has it): they read with the column NULL, which every report
    coalesces, so the append-only store never needs rewriting."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {source}")
    have = {row[0] for row in con.execute(f"DESCRIBE {name}").fetchall()}
    missing = [f"NULL::{_SQL_TYPES[kind]} AS {col}" for col, kind in spec if col not in have]
    if missing:
        added = ", ".join(missing)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT *, {added} FROM ({source})")  # noqa: S608 - internal SQL


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


LOCK_TIMEOUT = 300.0  # seconds a commit waits for another process's commit


class UsageStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.inv_dir = self.root / "invocations"
        self.trail_dir = self.root / "trail"
        self.staging_root = self.root / "_staging"
        self._owned: dict[Path, FileLock] = {}  # staging directories of this process -> their owner lock

    @classmethod
    def for_settings(cls, settings: Any = None) -> UsageStore:
        from bedrockctl.paths import data_dir

        return cls(data_dir(settings) / "usage")

    # --- staging -------------------------------------------------------------------------------------------
    def new_staging(self) -> Path:
        """A private directory for the parsed rows of one run; ``commit`` or ``discard`` removes it (recovery does
        when the run dies)."""
        path, lock = manifest.new_staging(self.staging_root, uuid.uuid4().hex)
        self._owned[path] = lock
        return path

    def discard(self, staging: Path) -> None:
        manifest.drop_staging(staging, self._owned.pop(staging, None))

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
    @contextmanager
    def writing(self, timeout: float = LOCK_TIMEOUT) -> Iterator[Manifest]:
        """Hold the store's writer lock, recovered from whatever a killed run left; yields the live manifest."""
        private_dir(self.root)
        lock = FileLock(self.root / ".lock")
        if not lock.acquire(timeout):
            raise UsageStoreBusy(f"the usage store {self.root} is being written by another process")
        try:
            yield manifest.recover(self.root, self.staging_root)
        finally:
            lock.release()

    def commit(
        self,
        staging: Path,
        fast_inv: Sequence[Path] = (),
        checkpoints: dict[str, str] | None = None,
        distinct: Mapping[str, int] | None = None,
    ) -> CommitResult:
        """Move the staged rows into the partitions, dropping duplicates (in the run and against stored days), and
        publish them with ``checkpoints`` in one new manifest.

        ``staging`` holds flat chunks written by ``stage()``; ``fast_inv`` directories hold invocation rows already
        in the stored layout (``day=*/``, see ``fastpath.py``). When nothing is duplicated -- the usual case -- the
        staged files are moved into place without being rewritten. ``distinct``: staged files already found to hold
        distinct keys (path -> rows); a day made of one such file is not checked again within the run.
        """
        try:
            with self.writing() as live:
                duckdb = duckdb_module()
                con = duckdb.connect()
                try:
                    con.execute("SET preserve_insertion_order = false")
                    con.execute("SET enable_progress_bar = false")
                    inv_dirs, bad_inv = self._partition_chunks(con, staging, "inv", INV_SELECT)
                    trail_dirs, bad_tr = self._partition_chunks(con, staging, "trail", TRAIL_SELECT)
                    crash_point("commit.partitioned")
                    new_inv, dup_inv, inv_files = self._commit_table(
                        con,
                        [*fast_inv, *inv_dirs],
                        "request_id",
                        live.paths(self.root, "invocations"),
                        staging,
                        distinct or {},
                    )
                    new_tr, dup_tr, trail_files = self._commit_table(
                        con, trail_dirs, "event_id", live.paths(self.root, "trail"), staging
                    )
                finally:
                    con.close()
                self._publish(live, {"invocations": inv_files, "trail": trail_files}, checkpoints or {})
        finally:
            self.discard(staging)
        return CommitResult(new_inv, new_tr, dup_inv + dup_tr, bad_inv + bad_tr)

    @staticmethod
    def _partition_chunks(con: Any, staging: Path, prefix: str, select: str) -> tuple[list[Path], int]:
        """Flat staged chunks -> ``staging/p-<prefix>/day=*/``; returns the directory and the bad timestamps."""
        chunks = sorted(str(p) for p in staging.glob(f"{prefix}-*.parquet"))
        if not chunks:
            return [], 0
        row = con.execute(
            "SELECT count(*) FROM read_parquet($c) WHERE try_cast(rtrim(ts, 'Z') AS TIMESTAMP) IS NULL", {"c": chunks}
        ).fetchone()
        out = staging / f"p-{prefix}"
        con.execute(
            f"COPY (SELECT * FROM (SELECT {select} FROM read_parquet($c)) WHERE day IS NOT NULL) TO '{out.as_posix()}' "  # noqa: S608 - internal SQL, no user text
            "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day), FILENAME_PATTERN 'part-{uuid}')",
            {"c": chunks},
        )
        return [out], int(row[0]) if row else 0

    @staticmethod
    def _commit_table(
        con: Any,
        dirs: Sequence[Path],
        key: str,
        stored: list[str],
        staging: Path,
        known: Mapping[str, int] | None = None,
    ) -> tuple[int, int, list[Path]]:
        """Deduplicate the staged day files of one table against themselves and the ``stored`` files; returns the
        new rows, the duplicates and the files to publish (the staged ones, or their deduplicated rewrite)."""
        staged = [p for d in dirs for p in sorted(Path(d).glob("day=[0-9]*/*.parquet"))]
        if not staged:
            return 0, 0, []
        files = [str(p) for p in staged]
        src = "read_parquet($s, hive_partitioning = true, hive_types = {'day': VARCHAR}, union_by_name = true)"
        # duplicates are looked for day by day (a record delivered twice has the same timestamp): many small hash
        # tables are much cheaper than one over the whole run
        total = distinct = 0
        by_day: dict[str, list[str]] = {}
        for p in staged:
            by_day.setdefault(p.parent.name, []).append(str(p))
        for day_files in by_day.values():
            rows = (known or {}).get(day_files[0]) if len(day_files) == 1 else None
            if rows is not None:
                total, distinct = total + rows, distinct + rows
                continue
            # distinct hashes mean distinct keys (cheaper than a hash table of the strings); equal hashes are
            # counted exactly
            for expr in (f"hash({key})", key):
                row = con.execute(
                    f"SELECT count(*), count(DISTINCT {expr}) FROM read_parquet($s, union_by_name = true)",  # noqa: S608
                    {"s": day_files},
                ).fetchone()
                if row[0] == row[1]:
                    break
            total, distinct = total + int(row[0]), distinct + int(row[1])
        days = {p.parent.name for p in staged}
        existing = [f for f in stored if Path(f).parent.name in days]
        overlap = 0
        if existing and distinct:
            hit = con.execute(
                f"SELECT count(*) FROM (SELECT {key} FROM {src}) SEMI JOIN "  # noqa: S608 - internal SQL
                f"(SELECT {key} FROM read_parquet($e, union_by_name = true)) USING ({key})",
                {"s": files, "e": existing},
            ).fetchone()
            overlap = int(hit[0]) if hit else 0
        if total == distinct and not overlap:
            return total, 0, staged
        anti, params = "", {"s": files}
        if overlap:
            anti = f"ANTI JOIN (SELECT {key} FROM read_parquet($e, union_by_name = true)) AS e USING ({key})"  # noqa: S608 - internal SQL
            params["e"] = existing
        out = staging / f"dedup-{key}"
        written = con.execute(
            f"""COPY (SELECT s.* FROM (SELECT * FROM {src} QUALIFY row_number()
                      OVER (PARTITION BY {key} ORDER BY "timestamp") = 1) AS s {anti})
                TO '{out.as_posix()}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day),
                FILENAME_PATTERN 'dedup-{{uuid}}')""",  # noqa: S608 - internal SQL, no user text
            params,
        ).fetchone()
        result = sorted(out.glob("day=[0-9]*/*.parquet"))
        crash_point("commit.dedup-copy", truncate=result[0] if result else None)
        new = int(written[0]) if written else 0
        return new, total - new, result

    def _publish(self, live: Manifest, staged: dict[str, list[Path]], checkpoints: dict[str, str]) -> None:
        """Move complete, private, synced files into the day directories under fresh names, then replace the
        manifest (the one step that makes them and the checkpoints live)."""
        if not any(staged.values()) and all(live.checkpoints.get(k) == v for k, v in checkpoints.items()):
            return
        new = Manifest(live.generation + 1, {t: list(e) for t, e in live.tables.items()}, dict(live.checkpoints))
        new.checkpoints.update(checkpoints)
        for table, files in staged.items():
            base = private_dir(self.root / table)
            touched = {base}
            for path in files:
                make_private(path)
                fsync_path(path)
            for path in files:
                day = private_dir(base / path.parent.name)
                name = f"{uuid.uuid4().hex[:8]}-{path.name}"  # the staged name says how it was made
                while (day / name).exists():
                    name = f"{uuid.uuid4().hex[:8]}-{path.name}"
                os.replace(path, day / name)
                touched.add(day)
                new.tables[table].append(f"{day.name}/{name}")
                crash_point("commit.renamed")
            for directory in touched:
                fsync_path(directory)
        crash_point("commit.renamed-all")
        manifest.save(self.root, new)
        crash_point("commit.published")

    # --- querying ------------------------------------------------------------------------------------------
    def snapshot(self) -> Manifest:
        """The live manifest (read-only). A store without a usable one -- none beside data files, a damaged one, one
        naming a file removed by hand -- is recovered first (under the lock)."""
        try:
            live = manifest.read(self.root)
        except manifest.ManifestDamaged:
            live = None
        if live is not None and all(os.path.isfile(p) for t in manifest.TABLES for p in live.paths(self.root, t)):
            return live
        if live is None and not manifest.needs_recovery(self.root):
            return Manifest()
        with self.writing() as recovered:
            return recovered

    def checkpoints(self) -> dict[str, str]:
        return dict(self.snapshot().checkpoints)

    def has_data(self) -> bool:
        return not self.snapshot().is_empty()

    def connect(self) -> Any:
        """A DuckDB connection with ``inv``, ``trail`` and the joined ``invocations`` view over the files the manifest
        names (a snapshot: later commits do not change what this connection reads)."""
        duckdb = duckdb_module()
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        live = self.snapshot()
        for name, table, spec in (("inv", "invocations", INV_COLUMNS), ("trail", "trail", TRAIL_COLUMNS)):
            paths = live.paths(self.root, table)
            if paths:
                listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
                source = (
                    f"SELECT * FROM read_parquet([{listed}], "  # noqa: S608 - internal SQL, our own quoted paths
                    "hive_partitioning = true, hive_types = {'day': VARCHAR}, union_by_name = true)"
                )
                _parquet_view(con, name, source, spec)
            else:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({_ddl(spec)})")
        for sql in _LINK_SQL:
            con.execute(sql)
        keyed = con.execute("SELECT count(*) FROM _t_key").fetchone()
        if keyed and keyed[0]:
            con.execute(_KEY_LINK_SQL)
        con.execute(_TRAIL_ONLY_SQL)
        con.execute(INVOCATIONS_VIEW)
        return con

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
