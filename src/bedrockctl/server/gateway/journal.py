"""A worker's write-ahead journal of audit records: appended (and fsync'd) before the client gets its answer, so
that a record the client saw succeed survives ``kill -9`` of the worker before the record reached the database.

Layout: ``<data dir>/gateway-journal/<store id>/`` holds, per worker, ``<worker>.lock`` (an ``flock`` held while
the worker lives: the kernel drops it when the process dies, ``kill -9`` included) and segments
``<worker>.<seq>.jnl`` of JSON lines. ``rotate`` starts a new segment when the flush takes a batch; once the batch
is in the database, ``discard`` removes the older segments. A worker that starts (or a flush now and then) takes
the lock of every dead worker of the same store and replays its segments (``orphans``), idempotently: each record
carries a unique ``record_id``.

Group commit: ``append`` queues a line and returns a future; one writer (a dedicated thread) writes everything
queued in one ``write`` and one ``fsync``, then resolves the futures, so concurrent requests share an fsync and a
lone request waits for one fsync only.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from bedrockctl.files import PRIVATE_FILE, FileLock, private_dir

log = logging.getLogger("bedrockctl.gateway")
SUFFIX = ".jnl"


def journal_dir(data_dir: Path, store_url: str, schema: str | None) -> Path:
    """One directory per database, so a journal is only ever replayed into the database it was meant for."""
    ident = hashlib.sha256(f"{store_url}\n{schema or ''}".encode()).hexdigest()[:16]
    return data_dir / "gateway-journal" / ident


class Journal:
    def __init__(self, directory: Path, worker_id: str) -> None:
        self.dir = directory
        self.worker_id = worker_id
        self.seq = 0
        self.fsyncs = 0  # how many group commits so far (each one write + one fsync)
        self._lock = FileLock(directory / f"{worker_id}.lock")
        self._fd: int | None = None
        self._fd_seq = -1
        self._queue: list[bytes] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._writer: asyncio.Task[None] | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gw-journal")

    def open(self) -> None:
        private_dir(self.dir)
        if not self._lock.acquire(timeout=10.0):
            raise RuntimeError(f"journal lock {self._lock.path} is held by another process")

    # -- the hot path ------------------------------------------------------------------------------------------
    def append(self, entry: dict[str, Any]) -> asyncio.Future[None]:
        """Queue ``entry``; the future resolves once it is on disk (fsync'd)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._queue.append(orjson.dumps(entry) + b"\n")
        self._waiters.append(fut)
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._drain())
        return fut

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            data, self._queue = b"".join(self._queue), []
            waiters, self._waiters = self._waiters, []
            try:
                await loop.run_in_executor(self._pool, self._write, data, self.seq)
            except Exception as exc:
                log.exception("audit journal write failed")
                for fut in waiters:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    def _write(self, data: bytes, seq: int) -> None:
        if self._fd_seq != seq:
            if self._fd is not None:
                os.close(self._fd)
            path = self.dir / f"{self.worker_id}.{seq:08d}{SUFFIX}"
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
            self._fd_seq = seq
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fdatasync(self._fd)
        self.fsyncs += 1

    # -- the flush ---------------------------------------------------------------------------------------------
    def rotate(self) -> int:
        """Start a new segment for what is appended from now on; returns the new segment's number."""
        self.seq += 1
        return self.seq

    def discard(self, before: int) -> None:
        """Remove this worker's segments numbered below ``before`` (their records are in the database)."""
        for path, seq in _segments(self.dir, self.worker_id):
            if seq < before:
                path.unlink(missing_ok=True)

    async def close(self, *, remove: bool) -> None:
        """Wait for queued lines, close; ``remove``: everything is in the database, drop the segments too."""
        if self._writer is not None:
            await asyncio.shield(self._writer)
        self._pool.shutdown(wait=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if remove:
            self.discard(self.seq + 1)
        self._lock.release(unlink=remove)


def _segments(directory: Path, worker_id: str) -> list[tuple[Path, int]]:
    out = []
    for path in directory.glob(f"{worker_id}.*{SUFFIX}"):
        try:
            out.append((path, int(path.name[len(worker_id) + 1 : -len(SUFFIX)])))
        except ValueError:
            continue
    return sorted(out, key=lambda it: it[1])


def read_entries(directory: Path, worker_id: str) -> Iterator[dict[str, Any]]:
    """Every complete entry of a worker's segments, in order; a torn last line (the write ``kill -9`` cut short,
    never acknowledged to a client) is skipped."""
    for path, _seq in _segments(directory, worker_id):
        with open(path, "rb") as fh:
            for line in fh:
                if not line.endswith(b"\n"):
                    break
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError:
                    log.warning("skipping a damaged line in %s", path)


class Orphan:
    """A dead worker's journal, locked by us while we replay it."""

    def __init__(self, directory: Path, worker_id: str, lock: FileLock) -> None:
        self.dir = directory
        self.worker_id = worker_id
        self._lock = lock

    def entries(self) -> Iterator[dict[str, Any]]:
        return read_entries(self.dir, self.worker_id)

    def done(self) -> None:
        """Its records are in the database and its holds released: remove it."""
        for path, _seq in _segments(self.dir, self.worker_id):
            path.unlink(missing_ok=True)
        self._lock.release(unlink=True)

    def give_up(self) -> None:
        self._lock.release()


def orphans(directory: Path, own: str) -> Iterator[Orphan]:
    """Journals of dead workers (their lock can be taken), each locked for the caller until ``done``/``give_up``."""
    if not directory.is_dir():
        return
    names = {p.name.split(".", 1)[0] for p in directory.iterdir() if p.suffix in (".lock", SUFFIX)}
    for worker_id in sorted(names - {own}):
        lock = FileLock(directory / f"{worker_id}.lock")
        if lock.acquire():
            yield Orphan(directory, worker_id, lock)
