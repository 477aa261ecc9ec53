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
left. ``connect()`` gives a DuckDB connection with the ``invocations`` view (``store_sql.INVOCATIONS_VIEW``) over
the files the manifest names. The SQL the store runs is in ``store_sql``.
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
from bedrockctl.analytics.record_columns import INV_COLUMNS, TRAIL_COLUMNS
from bedrockctl.analytics.records import Columns
from bedrockctl.analytics.store_sql import (
    INV_SELECT,
    INVOCATIONS_VIEW,
    KEY_LINK_SQL,
    LINK_SQL,
    TRAIL_ONLY_SQL,
    TRAIL_SELECT,
    parquet_view,
    table_ddl,
)
from bedrockctl.files import FileLock, crash_point, fsync_path, make_private, private_dir


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
                parquet_view(con, name, source, spec)
            else:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({table_ddl(spec)})")
        for sql in LINK_SQL:
            con.execute(sql)
        keyed = con.execute("SELECT count(*) FROM _t_key").fetchone()
        if keyed and keyed[0]:
            con.execute(KEY_LINK_SQL)
        con.execute(TRAIL_ONLY_SQL)
        con.execute(INVOCATIONS_VIEW)
        return con

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
