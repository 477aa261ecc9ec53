"""``usage ingest``: read sources incrementally, parse, stage, deduplicate into the store, save checkpoints.

Local JSON-lines invocation-log files go through the fast path (``fastpath.py``: DuckDB parses them straight into
day partitions). Everything else -- CloudTrail files, JSON documents, files the fast path hands back because they hold
bad records, S3 objects, CloudWatch and LookupEvents pages -- is parsed in Python (``records.py``). Bad records are
counted and reported (origin + line) and skipped; a batch is never aborted by them. Large local sets left to the
Python parser are parsed by a process pool (one file per task, each worker stages its own Parquet chunk).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bedrockctl.analytics import fastpath
from bedrockctl.analytics.records import BadRecord, Columns, parse_blob, parse_lines
from bedrockctl.analytics.sources import Checkpoints, Source, Unit, parse_source
from bedrockctl.analytics.store import UsageStore
from bedrockctl.files import crash_point

STAGE_ROWS = 250_000  # stage a chunk once this many rows are parsed in-process
PARALLEL_MIN_BYTES = 4 << 20  # below this, parsing in-process beats starting workers
FAST_PATH = True  # parse clean local JSON-lines invocation logs with DuckDB


@dataclass
class IngestReport:
    sources: list[str] = field(default_factory=list)
    units_read: int = 0
    units_skipped: int = 0
    records_seen: int = 0
    invocation_records: int = 0
    trail_events: int = 0
    new_invocations: int = 0
    new_trail_events: int = 0
    duplicates: int = 0
    skipped_records: int = 0
    bad_records: int = 0
    fast_records: int = 0  # of records_seen, read by the DuckDB fast path
    bad: list[BadRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k != "bad"}
        out["bad"] = [b.to_dict() for b in self.bad[:100]]
        return out


@dataclass
class _ChunkResult:
    seen: int
    n_inv: int
    n_trail: int
    skipped: int
    bad_count: int
    bad: list[BadRecord]


def _parse_file_task(path: str, origin: str, staging: str, since: str | None) -> _ChunkResult:
    """Worker: parse one local file and stage its chunk."""
    cols = Columns()
    seen = parse_blob(Path(path).read_bytes(), origin, cols, since)
    res = _ChunkResult(seen, cols.n_inv, cols.n_trail, cols.skipped, cols.bad_count, cols.bad)
    UsageStore.stage(cols, Path(staging))
    return res


def ingest(
    store: UsageStore,
    specs: Sequence[str],
    *,
    sessions: Any = None,
    since: str | None = None,
    full: bool = False,
    workers: int | None = None,
    model_resolver: Callable[[str], str | None] | None = None,
    progress: bool | None = None,
    fast: bool | None = None,
) -> IngestReport:
    """Ingest every source in ``specs``; ``full`` ignores checkpoints (duplicates are still dropped).

    ``fast=False`` parses everything in Python (the reference the fast path is tested against).
    """
    report = IngestReport(sources=list(specs))
    sources: list[Source] = [parse_source(s, sessions, since) for s in specs]
    checkpoints = Checkpoints(store.checkpoints())
    staging = store.new_staging()
    pending: dict[str, str] = {}
    cols = Columns(model_resolver=model_resolver)
    show = sys.stderr.isatty() if progress is None else progress
    try:
        units: list[Unit] = []
        for src in sources:
            for unit in src.units(checkpoints):
                if not full and unit.stamp is not None and checkpoints.get(unit.key) == unit.stamp:
                    report.units_skipped += 1
                    continue
                units.append(unit)
        local = [u for u in units if u.local_path]
        remote = [u for u in units if not u.local_path]
        fast_dirs: list[Path] = []
        distinct: dict[str, int] = {}
        candidates: list[Unit] = []
        seeds: list[Any] = []
        days: dict[str, str] = {}
        if (FAST_PATH if fast is None else fast) and model_resolver is None and local:
            candidates, local, seeds, days = _fast_candidates(local)
        parse = _Parser(report, cols, store, staging, since, pending, workers, model_resolver)
        with _Progress(show, len(units)) as bar, ThreadPoolExecutor(max_workers=1) as scanner:
            # DuckDB scans the clean JSON-lines files (on its own threads, without the GIL) while the rest -- CloudTrail
            # files, remote units -- is parsed here; the pool is joined before the staging directory can be discarded
            scan = scanner.submit(_fast, candidates, staging, since, seeds, days) if candidates else None
            parse.units(local, remote, bar)
            if scan is not None:
                store.stage(cols, staging)  # while the scan still runs
                res = scan.result()
                distinct.update(res.distinct)
                slow = _fast_merge(report, candidates, res, pending, fast_dirs)
                parse.units(slow, [], bar)  # files the fast path handed back: bad records, reported with file and line
        report.bad.extend(cols.bad)
        store.stage(cols, staging)
        crash_point("ingest.staged")
        # the checkpoints are published with the records read (one manifest): they never run ahead of the data
        result = store.commit(staging, fast_inv=fast_dirs, checkpoints=pending, distinct=distinct)
        report.new_invocations = result.new_invocations
        report.new_trail_events = result.new_trail_events
        report.duplicates = result.duplicates
        report.bad_records += result.bad_timestamps
    finally:
        store.discard(staging)
    return report


class _Parser:
    """The Python parse of the units the fast path does not take: local files (by a process pool when they are many
    bytes), then remote units, each counted into the report and its checkpoint kept in ``pending``."""

    def __init__(
        self,
        report: IngestReport,
        cols: Columns,
        store: UsageStore,
        staging: Path,
        since: str | None,
        pending: dict[str, str],
        workers: int | None,
        model_resolver: Callable[[str], str | None] | None,
    ) -> None:
        self.report, self.cols, self.store, self.staging = report, cols, store, staging
        self.since, self.pending, self.model_resolver = since, pending, model_resolver
        self.workers = workers if workers is not None else (os.cpu_count() or 1)

    def units(self, local: list[Unit], remote: list[Unit], bar: _Progress) -> None:
        report, cols, pending, since = self.report, self.cols, self.pending, self.since
        parallel = self.workers > 1 and self.model_resolver is None and sum(u.size for u in local) >= PARALLEL_MIN_BYTES
        if parallel and local:
            with ProcessPoolExecutor(max_workers=self.workers) as pool:
                futures = [
                    (u, pool.submit(_parse_file_task, str(u.local_path), u.key[5:], str(self.staging), since))
                    for u in local
                ]
                for unit, fut in futures:
                    _merge(report, fut.result())
                    pending[unit.key] = str(unit.stamp)
                    bar.advance()
            local = []
        for unit in (*local, *remote):
            payload, stamp = unit.read()
            origin = unit.key[5:] if unit.key.startswith("file:") else unit.key
            before = (cols.n_inv, cols.n_trail, cols.skipped, cols.bad_count)
            if unit.parse is not None and isinstance(payload, bytes):
                seen = unit.parse(payload, origin, cols)
            elif isinstance(payload, bytes):
                seen = parse_blob(payload, origin, cols, since)
            else:
                seen = parse_lines(payload, origin, cols, since)
            report.records_seen += seen
            report.invocation_records += cols.n_inv - before[0]
            report.trail_events += cols.n_trail - before[1]
            report.skipped_records += cols.skipped - before[2]
            report.bad_records += cols.bad_count - before[3]
            report.units_read += 1
            pending[unit.key] = stamp
            if cols.n_inv + cols.n_trail >= STAGE_ROWS:
                self.store.stage(cols, self.staging)
            bar.advance()


def _fast_candidates(local: list[Unit]) -> tuple[list[Unit], list[Unit], list[Any], dict[str, str]]:
    """(files the fast path takes, the rest, their first records, the day of each one's first record)."""
    cand: list[Unit] = []
    rest: list[Unit] = []
    seeds: list[Any] = []
    days: dict[str, str] = {}
    for unit in local:
        path = str(unit.local_path)
        head = fastpath.sample(path)
        if head is None:
            rest.append(unit)
            continue
        cand.append(unit)
        seeds.extend(head)
        ts = head[0].get("timestamp")
        if isinstance(ts, str) and len(ts) >= 10:
            days[path] = ts[:10]
    return cand, rest, seeds, days


def _fast(
    cand: list[Unit], staging: Path, since: str | None, seeds: list[Any], days: dict[str, str]
) -> fastpath.FastResult:
    """Run the fast path over ``cand`` (on a thread beside the Python parse: it touches no shared state)."""
    from bedrockctl.analytics.store import duckdb_module

    con = duckdb_module().connect()
    try:
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")
        res = fastpath.scan(con, [str(u.local_path) for u in cand], staging / "fast", since, seeds, days)
    finally:
        con.close()
    crash_point("ingest.fast-scanned")
    return res


def _fast_merge(
    report: IngestReport, cand: list[Unit], res: fastpath.FastResult, pending: dict[str, str], out: list[Path]
) -> list[Unit]:
    """Count the fast path's files into the report; returns the units it handed back to the Python parser."""
    by_path = {str(u.local_path): u for u in cand}
    for path in res.files:
        unit = by_path.pop(path)
        pending[unit.key] = str(unit.stamp)
    report.units_read += len(res.files)
    report.records_seen += res.records_seen
    report.fast_records += res.records_seen
    report.invocation_records += res.invocation_records
    report.skipped_records += res.skipped
    if res.out_dir is not None:
        out.append(res.out_dir)
    return list(by_path.values())


def _merge(report: IngestReport, res: _ChunkResult) -> None:
    report.units_read += 1
    report.records_seen += res.seen
    report.invocation_records += res.n_inv
    report.trail_events += res.n_trail
    report.skipped_records += res.skipped
    report.bad_records += res.bad_count
    report.bad.extend(res.bad[: max(0, 1000 - len(report.bad))])


class _Progress:
    """A rich progress bar on a TTY, nothing otherwise."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total = enabled, total
        self._p: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled and self.total:
            from rich.progress import Progress

            self._p = Progress(transient=True)
            self._p.start()
            self._task = self._p.add_task("ingesting", total=self.total)
        return self

    def advance(self) -> None:
        if self._p is not None:
            self._p.advance(self._task)

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.stop()
