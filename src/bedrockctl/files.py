"""Data files bedrockctl creates: private (files 0600, directories 0700), replaced atomically, crash-tested.

Every file bedrockctl keeps under its data directory -- SQLite databases, the usage store's Parquet files and
manifest, checkpoints, key files, TLS material, alert state -- is created through this module:

- ``private_dir(path)``: the directory and its missing parents, 0700;
- ``write_private(path, data)``: replace a file atomically (temp file 0600 in the same directory, fsync, rename,
  fsync of the directory): after a crash the old content or the new one is there, never a mix;
- ``create_once(path, data)``: create a file unless it exists; concurrent creators agree on the first one's
  content (a complete temp file is hard-linked into place);
- ``append_private(path, data)``: append to a private log file and fsync it (the gateway's audit dead letters);
- ``make_private(path)``: 0600 for a file a library wrote (DuckDB, pyarrow) before it is published.

``crash_point(name)`` is a test hook: with ``BEDROCKCTL_CRASH_AT=name`` (or ``name:N`` for the N-th pass) in the
environment the process kills itself with SIGKILL there, so tests can stop a real process at a named step.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
TEMP_MARK = ".tmp-"  # temp files are named ``.<name>.tmp-<random>`` next to their target
CRASH_ENV = "BEDROCKCTL_CRASH_AT"


def private_dir(path: str | Path) -> Path:
    """Create ``path`` and its missing parents with mode 0700; an existing directory keeps its mode."""
    path = Path(path).expanduser()
    missing: list[Path] = []
    p = path
    while not p.is_dir():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            if not d.is_dir():
                raise
    return path


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}{TEMP_MARK}{secrets.token_hex(6)}")


def is_temp(path: Path) -> bool:
    return path.name.startswith(".") and TEMP_MARK in path.name


def fsync_path(path: str | Path) -> None:
    """Flush a file's content, or (for a directory) the renames and new entries in it, to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(path: Path, data: bytes) -> Path:
    private_dir(path.parent)
    tmp = temp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_private(path: str | Path, data: bytes | str, *, crash_tag: str = "") -> None:
    """Replace ``path`` with ``data`` atomically (mode 0600): write a temp file, fsync, rename, fsync the directory.

    ``crash_tag`` names the crash points of this write (``<tag>.temp-partial``, ``<tag>.temp-written``,
    ``<tag>.renamed``) for ``crash_point``.
    """
    path = Path(path)
    raw = data.encode() if isinstance(data, str) else data
    if crash_tag and _armed(f"{crash_tag}.temp-partial"):  # a temp file cut in the middle, as a kill leaves it
        _write_temp(path, raw[: len(raw) // 2])
        crash_point(f"{crash_tag}.temp-partial")
    tmp = _write_temp(path, raw)
    try:
        if crash_tag:
            crash_point(f"{crash_tag}.temp-written")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if crash_tag:
        crash_point(f"{crash_tag}.renamed")
    fsync_path(path.parent)


def create_once(path: str | Path, data: bytes | str) -> bool:
    """Create ``path`` (0600) holding ``data`` unless it exists; returns whether this call created it.

    The complete temp file is hard-linked into place, so concurrent creators never see a partial file and all
    read the first one's content.
    """
    path = Path(path)
    raw = data.encode() if isinstance(data, str) else data
    tmp = _write_temp(path, raw)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    fsync_path(path.parent)
    return True


def append_private(path: str | Path, data: bytes) -> None:
    """Append ``data`` to ``path`` (created 0600 in a 0700 directory) and fsync it: a log that outlives a crash."""
    path = Path(path)
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def make_private(path: str | Path) -> None:
    os.chmod(path, PRIVATE_FILE)


class FileLock:
    """An exclusive ``flock`` on ``path`` (created 0600). The kernel releases it when the process dies, ``kill -9``
    included, so a lock that can be taken belongs to nobody alive. ``release(unlink=True)`` removes the file while
    still holding it; ``acquire`` checks it holds the file still linked at ``path`` (not one a sweeper removed)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self, timeout: float = 0.0) -> bool:
        import fcntl

        deadline = time.monotonic() + timeout
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.05)
                continue
            try:
                linked = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                linked = False
            if linked:
                self.fd = fd
                return True
            os.close(fd)  # removed by whoever held it before: lock the new file

    def release(self, *, unlink: bool = False) -> None:
        if self.fd is None:
            return
        if unlink:
            self.path.unlink(missing_ok=True)
        os.close(self.fd)
        self.fd = None


# -- the crash-test hook ----------------------------------------------------------------------------------------
def _armed(name: str) -> bool:
    want = os.environ.get(CRASH_ENV)
    if not want:
        return False
    point, _, count = want.partition(":")
    return point == name and (not count or count == "1")


def crash_point(name: str, truncate: Path | None = None) -> None:
    """Test hook: SIGKILL this process at the named step when ``BEDROCKCTL_CRASH_AT`` names it.

    ``name:N`` fires on the N-th pass (the count left is kept in the environment of this process). ``truncate``:
    cut that file to half its size first -- what a kill in the middle of writing it leaves behind.
    """
    want = os.environ.get(CRASH_ENV)
    if not want:
        return
    point, _, count = want.partition(":")
    if point != name:
        return
    left = int(count or 1)
    if left > 1:
        os.environ[CRASH_ENV] = f"{point}:{left - 1}"
        return
    if truncate is not None and truncate.exists():
        with open(truncate, "r+b") as fh:
            fh.truncate(truncate.stat().st_size // 2)
    os.kill(os.getpid(), signal.SIGKILL)
