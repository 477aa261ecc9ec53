"""The usage store's manifest (which Parquet files are live, with the ingest checkpoints that go with them) and the
recovery that makes a store readable again after a process was killed in the middle of writing it.

``MANIFEST.json``::

    {"format": 1, "generation": 12,
     "tables": {"invocations": ["day=2025-01-02/3f0c...e1.parquet", ...], "trail": [...]},
     "checkpoints": {"file:/logs/a.json": "1718000000:2048", ...}}

Readers read only the files it names. A writer (``UsageStore.commit``) holds the store's lock (``.lock``), moves
complete files into the day directories under fresh names, then replaces the manifest atomically
(``files.write_private``). Killed anywhere, it leaves the previous manifest, which names complete files only, and
the previous checkpoints, which match them.

``recover()`` runs under the lock before every commit (and when a reader finds no usable manifest). It removes what
a killed run left behind: files no manifest names, temp files, staging directories of dead runs. It adopts the
files of a store written before manifests existed, and rebuilds a manifest it cannot read from the complete files
present, with the checkpoints reset: the next ingest re-reads its sources and drops what is already stored, so
the totals stay exact.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bedrockctl.files import FileLock, crash_point, is_temp, private_dir, write_private

log = logging.getLogger("bedrockctl.analytics")

TABLES = ("invocations", "trail")
MANIFEST = "MANIFEST.json"
LEGACY_CHECKPOINTS = "checkpoints.json"  # before format 1 the checkpoints lived in their own file
FORMAT = 1
_ENTRY = re.compile(r"^day=[0-9][0-9A-Za-z:+-]*/[A-Za-z0-9_][A-Za-z0-9_.-]*\.parquet$")


class ManifestDamaged(ValueError):
    """The manifest exists but cannot be read (recovery rebuilds it)."""


@dataclass
class Manifest:
    generation: int = 0
    tables: dict[str, list[str]] = field(default_factory=lambda: {t: [] for t in TABLES})
    checkpoints: dict[str, str] = field(default_factory=dict)

    def paths(self, root: Path, table: str) -> list[str]:
        return [str(root / table / entry) for entry in self.tables[table]]

    def is_empty(self) -> bool:
        return not any(self.tables.values())

    def dumps(self) -> bytes:
        doc = {"format": FORMAT, "generation": self.generation, "tables": self.tables, "checkpoints": self.checkpoints}
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2)

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        try:
            doc: Any = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ManifestDamaged(f"not JSON: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ManifestDamaged("not a format-1 manifest")
        tables, checkpoints, gen = doc.get("tables"), doc.get("checkpoints"), doc.get("generation")
        if not isinstance(gen, int) or not isinstance(tables, dict) or not isinstance(checkpoints, dict):
            raise ManifestDamaged("generation, tables or checkpoints missing")
        out = cls(gen, {t: [] for t in TABLES}, {})
        for table in TABLES:
            entries = tables.get(table, [])
            if not isinstance(entries, list) or not all(isinstance(e, str) and _ENTRY.match(e) for e in entries):
                raise ManifestDamaged(f"bad file list for {table}")
            out.tables[table] = entries
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in checkpoints.items()):
            raise ManifestDamaged("bad checkpoints")
        out.checkpoints = checkpoints
        return out


def read(root: Path) -> Manifest | None:
    """The manifest, ``None`` when there is none; ``ManifestDamaged`` when it cannot be read."""
    try:
        raw = (root / MANIFEST).read_bytes()
    except FileNotFoundError:
        return None
    return Manifest.parse(raw)


def save(root: Path, manifest: Manifest) -> None:
    write_private(root / MANIFEST, manifest.dumps(), crash_tag="manifest")


def needs_recovery(root: Path) -> bool:
    """No manifest, but files of a store written before manifests (or a damaged manifest): see ``recover``."""
    return any((root / t).is_dir() for t in TABLES) or (root / LEGACY_CHECKPOINTS).exists()


# -- recovery (under the store's lock) ----------------------------------------------------------------------------
def recover(root: Path, staging_root: Path) -> Manifest:
    """Bring the store to the state its manifest describes, removing what killed runs left; returns the manifest."""
    private_dir(root)
    try:
        manifest = read(root)
        legacy = True
    except ManifestDamaged as exc:
        log.warning("usage store manifest %s is damaged (%s): rebuilt from the complete files present", root, exc)
        manifest, legacy = None, False
    if manifest is None:
        manifest = _adopt(root, legacy)
    _drop_missing(root, manifest)
    _sweep_tables(root, manifest)
    _sweep_root(root)
    sweep_staging(staging_root)
    return manifest


def _adopt(root: Path, legacy: bool) -> Manifest:
    """A manifest naming the complete Parquet files present (a store from before manifests, or a damaged manifest)."""
    import pyarrow.parquet as pq

    manifest = Manifest(generation=1)
    broken = 0
    for table in TABLES:
        for path in sorted((root / table).glob("day=*/*.parquet")):
            entry = f"{path.parent.name}/{path.name}"
            if is_temp(path) or not _ENTRY.match(entry):
                continue
            try:
                pq.read_metadata(path)
            except Exception as exc:  # pyarrow raises several types for a truncated or foreign file
                log.warning("removing incomplete usage file %s (%s)", path, exc)
                path.unlink()
                broken += 1
                continue
            manifest.tables[table].append(entry)
    legacy_cp = root / LEGACY_CHECKPOINTS
    if legacy and not broken and legacy_cp.exists():
        try:
            data = orjson.loads(legacy_cp.read_bytes())
            manifest.checkpoints = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        except (OSError, orjson.JSONDecodeError):
            manifest.checkpoints = {}  # re-read everything: duplicates are dropped
    save(root, manifest)
    legacy_cp.unlink(missing_ok=True)
    return manifest


def _drop_missing(root: Path, manifest: Manifest) -> None:
    """Forget files the manifest names that are gone (removed by hand); their sources are read again."""
    gone = {t: [e for e in manifest.tables[t] if not (root / t / e).is_file()] for t in TABLES}
    if not any(gone.values()):
        return
    for table, entries in gone.items():
        for entry in entries:
            log.warning("usage file %s is missing: dropped from the manifest, sources will be re-read", entry)
        manifest.tables[table] = [e for e in manifest.tables[table] if e not in set(entries)]
    manifest.checkpoints = {}
    manifest.generation += 1
    save(root, manifest)


def _sweep_tables(root: Path, manifest: Manifest) -> None:
    for table in TABLES:
        live = set(manifest.tables[table])
        base = root / table
        if not base.is_dir():
            continue
        for day in base.iterdir():
            if not (day.is_dir() and day.name.startswith("day=")):
                continue
            for path in day.iterdir():
                if f"{day.name}/{path.name}" not in live and path.is_file():
                    log.info("removing %s: left by an interrupted ingest", path)
                    path.unlink()
                    crash_point("recover.removed")
            if not any(day.iterdir()):
                day.rmdir()


def _sweep_root(root: Path) -> None:
    for path in root.iterdir():
        if path.is_file() and (is_temp(path) or path.name == "checkpoints.tmp"):
            path.unlink()


# -- staging directories: one per running ingest, owned through a lock ----------------------------------------------
def new_staging(staging_root: Path, name: str) -> tuple[Path, FileLock]:
    """``staging_root/name/`` and its owner lock (held until the run ends; the kernel drops it if the run dies)."""
    private_dir(staging_root)
    lock = FileLock(staging_root / f"{name}.lock")
    lock.acquire()
    return private_dir(staging_root / name), lock


def drop_staging(path: Path, lock: FileLock | None) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if lock is not None:
        lock.release(unlink=True)


def sweep_staging(staging_root: Path) -> None:
    """Remove the staging directories of runs that are gone (their lock is free)."""
    if not staging_root.is_dir():
        return
    for lock_path in staging_root.glob("*.lock"):
        lock = FileLock(lock_path)
        if lock.acquire():
            drop_staging(staging_root / lock_path.stem, lock)
    for path in staging_root.iterdir():
        if path.is_dir() and not (staging_root / f"{path.name}.lock").exists():
            shutil.rmtree(path, ignore_errors=True)  # an owner lock is created before its directory: none is left
