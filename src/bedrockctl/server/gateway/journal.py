"""A worker's write-ahead journal of audit records: appended (and fsync'd) before the client gets its answer, so
that a record the client saw succeed survives ``kill -9`` of the worker before the record reached the database.

Layout: ``<data dir>/gateway-journal/<store id>/`` holds, per worker, ``<worker>.lock`` (an ``flock`` held while
the worker lives: the kernel drops it when the process dies, ``kill -9`` included) and segments
``<worker>.<seq>.jnl`` of JSON lines. ``rotate`` starts a new segment when the flush takes a batch; once the batch
is in the database, ``discard`` removes the older segments. A worker that starts (or a flush now and then) takes
the lock of every dead worker of the same store and replays its segments (``orphans``), idempotently: each record
carries a unique ``record_id``.

Group commit: ``append`` queues a line and returns a future; one writer (a dedicated thread) writes everything
queued in one ``write`` to a file opened with ``O_DSYNC`` (the write returns once the data is on disk, as a
``write`` + ``fdatasync`` would, in one system call), then resolves the futures with one
``call_soon_threadsafe``, so concurrent requests share a disk write and a lone request waits for one only. The
request path puts its line on a ``SimpleQueue`` (no lock of ours, no executor job per group): a group costs one
thread wake-up and one event-loop wake-up. The writer thread runs under ``SCHED_BATCH`` (Linux), so the request
that wakes it keeps the CPU until the event loop waits, instead of switching to the writer at once and back for
the GIL (~12% of a request's CPU at c=16 on one core, bench/RESULTS.md "gateway CPU (issue 19)").
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import queue
import threading
from collections.abc import Iterator
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
        self.fsyncs = 0  # how many group commits so far (each one O_DSYNC write)
        self._lock = FileLock(directory / f"{worker_id}.lock")
        self._fd: int | None = None
        self._fd_seq = -1
        # (line, future) per append; None: close (everything queued before it is written first)
        self._queue: queue.SimpleQueue[tuple[bytes, asyncio.Future[None]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        private_dir(self.dir)
        if not self._lock.acquire(timeout=10.0):
            raise RuntimeError(f"journal lock {self._lock.path} is held by another process")

    # -- the hot path ------------------------------------------------------------------------------------------
    def append(self, entry: dict[str, Any]) -> asyncio.Future[None]:
        """Queue ``entry``; the future resolves once it is on disk."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put((orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE), fut))
        if self._thread is None:
            self._thread = threading.Thread(target=self._writer, name="gw-journal", daemon=True)
            self._thread.start()
        return fut

    def _writer(self) -> None:
        """The writer thread: waits for lines, writes what is queued in one go, resolves its futures."""
        # woken by a request, it must not preempt the event loop at once (Linux, this thread only; elsewhere, or
        # where the policy is refused, the writer keeps the default one)
        with contextlib.suppress(AttributeError, OSError):
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        q = self._queue
        while True:
            item = q.get()
            closing = item is None
            items = [] if item is None else [item]
            while not closing and not q.empty():
                item = q.get_nowait()
                if item is None:
                    closing = True
                else:
                    items.append(item)
            if items:
                error: BaseException | None = None
                try:
                    self._write(b"".join(line for line, _ in items), self.seq)
                except Exception as exc:
                    log.exception("audit journal write failed")
                    error = exc
                by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
                for _, fut in items:
                    by_loop.setdefault(fut.get_loop(), []).append(fut)
                for loop, futs in by_loop.items():
                    try:
                        loop.call_soon_threadsafe(_resolve, futs, error)
                    except RuntimeError:  # that loop is closed: nobody waits for these any more
                        continue
            if closing:
                return

    def _write(self, data: bytes, seq: int) -> None:
        if self._fd_seq != seq:
            if self._fd is not None:
                os.close(self._fd)
            path = self.dir / f"{self.worker_id}.{seq:08d}{SUFFIX}"
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_DSYNC, PRIVATE_FILE)
            self._fd_seq = seq
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]  # O_DSYNC: on disk when it returns
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
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            await asyncio.get_running_loop().run_in_executor(None, thread.join)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if remove:
            self.discard(self.seq + 1)
        self._lock.release(unlink=remove)


def _resolve(futs: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for fut in futs:
        if not fut.done():
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)


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
