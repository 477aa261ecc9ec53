"""The fast path of ingestion: DuckDB parses clean newline-delimited invocation-log files straight into Parquet.

Files are scanned day by day (the day of each file's first record): one ``read_json`` scan (explicit column schema,
gzip, many files, parallel) written by one ``COPY`` into one plain Parquet file per day, moved into the day partition
by ``UsageStore.commit``. A day file whose rows turn out to span days is split by day. Normalisation happens on the
way:

- principal / principal type / permission set and the base model come from small lookup tables built by the Python
  rules (``identity.normalise_arn``, ``records.resolve_base``) over the first records of every file; a row whose
  identity or model is missing from the tables is marked ``day = '_miss'`` (seen in the Parquet statistics of
  ``day``, no second read): the missing values are added to the tables from that output and the scan is repeated --
  so the stored values are always the Python path's;
- team / workflow come from ``requestMetadata`` in SQL, ``tags`` is its JSON text;
- rows the Python parser would reject (no request id / model id, malformed timestamp, metadata not an object) are
  marked ``day = '_bad'``; rows older than ``since`` (when given: one partitioned scan instead) ``day = '_skip'``;
- a file DuckDB cannot read (malformed JSON, wrong types) makes the scan fail: the file named in the error is handed
  to the Python parser and the scan repeated; a day with ``_bad`` rows is rescanned file by file and the files
  holding them handed to the Python parser. So bad records are still reported with file and line by ``records.py``.

Known leniency of DuckDB's typed reader (not in the Python path): numbers given where strings are expected are
read as strings, numeric strings and floats as token counts are cast (a float is rounded, Python truncates).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bedrockctl.analytics.fastsql import RAW_COLUMNS, extend_lookups, lookup_tables, missing_values, select_sql

__all__ = ["RAW_COLUMNS", "FastResult", "eligible", "lookup_tables", "sample", "scan", "select_sql"]

SAMPLE_LINES = 100  # records read per file up front to build the lookup tables
DAY_WORKERS = 2  # days scanned at the same time


def sample(path: str, lines: int = SAMPLE_LINES) -> list[dict[str, Any]] | None:
    """The first records of a file the fast path takes (JSON lines starting with a ModelInvocationLog record), or
    ``None`` when the file is not one."""
    import gzip

    out: list[dict[str, Any]] = []
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
        opener: Any = gzip.open if head == b"\x1f\x8b" else open
        with opener(path, "rb") as fh:
            if b"ModelInvocationLog" not in fh.peek(4096)[:4096]:
                return None  # e.g. a CloudTrail file: one long JSON document
            for _ in range(lines + 64):
                line = fh.readline(1 << 20)
                if not line or len(out) >= lines:
                    break
                if not line.strip():
                    continue
                obj = orjson.loads(line)
                if not isinstance(obj, dict) or (not out and obj.get("schemaType") != "ModelInvocationLog"):
                    return out or None
                out.append(obj)
    except (OSError, EOFError, ValueError):
        return out or None
    return out or None


def eligible(path: str) -> bool:
    return sample(path, 1) is not None


@dataclass
class FastResult:
    records_seen: int = 0
    invocation_records: int = 0
    skipped: int = 0
    files: list[str] = field(default_factory=list)  # read by the fast path
    slow: list[str] = field(default_factory=list)  # handed to the Python parser
    out_dir: Path | None = None  # partitioned staged Parquet (day=YYYY-MM-DD/*.parquet)
    # day files whose request ids were found all distinct by the scanning thread (path -> rows), so that the commit
    # need not check them again (it checks days with several files, and every file against the stored ones)
    distinct: dict[str, int] = field(default_factory=dict)


def scan(
    con: Any,
    files: Sequence[str],
    staging: Path,
    since: str | None = None,
    samples: Sequence[Any] = (),
    days: dict[str, str] | None = None,
) -> FastResult:
    """Parse ``files`` into ``staging/.../day=*/``; files the fast path cannot take are returned in ``slow``.

    ``samples``: records already read from the files (see ``sample()``), used to seed the lookup tables.
    ``days``: the day of each file's first record. Files are then scanned day by day into one plain Parquet file
    each (much cheaper than DuckDB's partitioned writer); a file whose rows turn out to span days is re-partitioned.
    """
    recs = [r for r in samples if isinstance(r, dict)]
    lookup_tables(
        con,
        ((r.get("identity") or {}).get("arn") if isinstance(r.get("identity"), dict) else None for r in recs),
        (r.get("modelId") for r in recs),
    )
    if since is not None or not days:
        return _scan_partitioned(con, files, staging, since)
    res = FastResult(out_dir=staging / "by-day")
    groups: dict[str, list[str]] = {}
    rest = []
    for f in files:
        if days.get(f):
            groups.setdefault(days[f], []).append(f)
        else:
            rest.append(f)
    lock = threading.Lock()

    def run(item: tuple[int, tuple[str, list[str]]]) -> None:
        i, (day, group) = item
        cur = con.cursor()
        try:
            _scan_day(cur, group, staging, f"d{i}", day, res, lock)
        finally:
            cur.close()

    # two days at a time: DuckDB parallelises a scan over its files, this fills the cores while a day's last file
    # is still being read. The cores are shared out between the workers (one DuckDB thread each on 2 cores): more
    # threads than cores cost ~8% more CPU (measured on the 10M-record benchmark) and no time
    workers = max(1, min(DAY_WORKERS, len(groups)))
    con.execute(f"SET threads = {max(1, (os.cpu_count() or 1) // workers)}")
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, enumerate(sorted(groups.items()))))
    finally:
        con.execute("RESET threads")
    if rest:
        _merge_into(res, _scan_partitioned(con, rest, staging / "rest", None))
    if not res.files:
        res.out_dir = None
    return res


def _merge_into(res: FastResult, part: FastResult) -> None:
    res.slow.extend(part.slow)
    res.records_seen += part.records_seen
    res.invocation_records += part.invocation_records
    res.skipped += part.skipped
    res.files.extend(part.files)
    if part.out_dir is not None and res.out_dir is not None:
        _move_tree(part.out_dir, res.out_dir)


def _move_tree(src: Path, dst: Path) -> None:
    import uuid

    tag = uuid.uuid4().hex[:8]
    for p in src.glob("day=[0-9]*/*.parquet"):
        (dst / p.parent.name).mkdir(parents=True, exist_ok=True)
        p.rename(dst / p.parent.name / f"{tag}-{p.name}")


def _scan_day(
    con: Any, group: list[str], staging: Path, tag: str, day: str, res: FastResult, lock: threading.Lock
) -> None:
    todo = list(group)
    attempt = misses = 0
    assert res.out_dir is not None
    while todo:
        attempt += 1
        staging.mkdir(parents=True, exist_ok=True)
        out = staging / f"{tag}-{attempt}.parquet"
        try:
            row = con.execute(
                f"COPY ({select_sql(None, with_filename=False)}) TO '{out.as_posix()}' "
                "(FORMAT parquet, COMPRESSION zstd)",
                {"files": todo},
            ).fetchone()
        except Exception as exc:  # duckdb.Error: unreadable JSON or wrong types in some file
            out.unlink(missing_ok=True)
            culprit = _named_file(str(exc), todo)
            if culprit is None:
                part = _scan_partitioned(con, todo, staging / f"{tag}-p", None)
                with lock:
                    _merge_into(res, part)
                return
            todo.remove(culprit)
            with lock:
                res.slow.append(culprit)
            continue
        n = int(row[0]) if row else 0
        lo, hi = con.execute(
            "SELECT min(stats_min_value), max(stats_max_value) FROM parquet_metadata($f) WHERE path_in_schema = 'day'",
            {"f": str(out)},
        ).fetchone() or (None, None)
        if hi == "_miss":  # identities / models the lookup tables lack: add them, scan again
            with lock:
                extend_lookups(con, *missing_values(con, str(out)))
            out.unlink()
            misses += 1
            if misses > 1:  # not expected (the tables now hold every value of these files): the Python parser
                with lock:
                    res.slow.extend(todo)
                return
            continue
        if hi == "_bad":  # some file holds records the Python parser would reject: find it, file by file
            out.unlink()
            if len(todo) == 1:
                with lock:
                    res.slow.extend(todo)
            else:
                for i, f in enumerate(todo):
                    _scan_day(con, [f], staging, f"{tag}-{attempt}-{i}", day, res, lock)
            return
        with lock:
            res.records_seen += n
            res.invocation_records += n
            res.files.extend(todo)
        if not n:
            out.unlink()
        elif lo == hi:
            dst = res.out_dir / f"day={lo}"
            dst.mkdir(parents=True, exist_ok=True)
            final = dst / f"part-{tag}-{attempt}.parquet"
            out.rename(final)
            # the duplicate check of this day's rows, here while the other day worker keeps the cores busy (distinct
            # hashes mean distinct ids; equal hashes are left to the commit's exact check)
            total, distinct = con.execute(
                "SELECT count(*), count(DISTINCT hash(request_id)) FROM read_parquet($f)", {"f": str(final)}
            ).fetchone() or (0, 0)
            if total == distinct == n:
                with lock:
                    res.distinct[str(final)] = n
        else:  # rows of several days: split by day
            split = staging / f"{tag}-split"
            con.execute(
                f"COPY (SELECT * FROM read_parquet($f)) TO '{split.as_posix()}' "  # noqa: S608 - internal SQL
                "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day), FILENAME_PATTERN 'part-{uuid}')",
                {"f": str(out)},
            )
            out.unlink()
            with lock:
                _move_tree(split, res.out_dir)
        return


def _scan_partitioned(con: Any, files: Sequence[str], staging: Path, since: str | None) -> FastResult:
    res = FastResult()
    todo = list(files)
    attempt = misses = 0
    while todo:
        attempt += 1
        out = staging / f"fast-{attempt}"
        staging.mkdir(parents=True, exist_ok=True)
        try:
            con.execute(
                f"COPY ({select_sql(since)}) TO '{out.as_posix()}' "
                "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day), FILENAME_PATTERN 'part-{uuid}')",
                {"files": todo},
            )
        except Exception as exc:  # duckdb.Error: unreadable JSON or wrong types in some file
            shutil.rmtree(out, ignore_errors=True)
            culprit = _named_file(str(exc), todo)
            if culprit is None:
                if len(todo) > 1 and attempt < 64:  # not named: try the files one by one
                    return _one_by_one(con, todo, staging, since, res)
                res.slow.extend(todo)
                return res
            todo.remove(culprit)
            res.slow.append(culprit)
            continue
        bad_files = _bad_files(con, out)
        if bad_files:
            shutil.rmtree(out, ignore_errors=True)
            res.slow.extend(f for f in todo if f in bad_files)
            todo = [f for f in todo if f not in bad_files]
            continue
        if (out / "day=_miss").exists():  # identities / models the lookup tables lack: add them, scan again
            extend_lookups(con, *missing_values(con, (out / "day=_miss" / "*.parquet").as_posix(), partition=True))
            shutil.rmtree(out, ignore_errors=True)
            misses += 1
            if misses > 1:  # not expected (the tables now hold every value of these files): the Python parser
                res.slow.extend(todo)
                return res
            continue
        counts = dict(
            con.execute(
                "SELECT day, count(*) FROM read_parquet($g, hive_partitioning = true, hive_types = {'day': VARCHAR}) "
                "GROUP BY day",
                {"g": (out / "day=*" / "*.parquet").as_posix()},
            ).fetchall()
        )
        res.skipped += int(counts.pop("_skip", 0))
        res.invocation_records += sum(int(v) for v in counts.values())
        res.records_seen = res.skipped + res.invocation_records
        shutil.rmtree(out / "day=_skip", ignore_errors=True)
        res.files = todo
        res.out_dir = out
        break
    return res


def _one_by_one(con: Any, todo: list[str], staging: Path, since: str | None, res: FastResult) -> FastResult:
    """Scan each file alone (slower, used when DuckDB's error did not name the file); merge the outputs."""
    merged = staging / "fast-merged"
    for i, f in enumerate(todo):
        part = _scan_partitioned(con, [f], staging / f"one-{i}", since)
        res.slow.extend(part.slow)
        res.records_seen += part.records_seen
        res.invocation_records += part.invocation_records
        res.skipped += part.skipped
        if part.out_dir is not None:
            res.files.append(f)
            for p in part.out_dir.glob("day=*/*.parquet"):
                dst = merged / p.parent.name
                dst.mkdir(parents=True, exist_ok=True)
                p.rename(dst / f"{i}-{p.name}")
    res.out_dir = merged if res.files else None
    return res


def _named_file(message: str, files: Sequence[str]) -> str | None:
    for f in files:
        if f'"{f}"' in message:
            return f
    return None


def _bad_files(con: Any, out: Path) -> set[str]:
    bad = out / "day=_bad"
    if not bad.exists():
        return set()
    rows = con.execute("SELECT DISTINCT source FROM read_parquet($g)", {"g": (bad / "*.parquet").as_posix()})
    return {str(r[0]) for r in rows.fetchall()}
