"""The SQLite file of the store: created private (0600, directory 0700) and stamped with bedrockctl's application
id, and checked before every open. An empty file, a file that is not SQLite, or another application's database is
an error naming the file (``store/errors.py``), never taken as a new empty store.

A new file is made complete (header and application id written) under a temp name and hard-linked into place, so a
process killed while creating it leaves no empty file behind. SQLite creates the ``-wal`` / ``-shm`` files with the
database file's mode.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from bedrockctl.files import PRIVATE_FILE, fsync_path, private_dir, temp_path
from bedrockctl.store.errors import StoreFileEmpty, StoreFileForeign, StoreFileNotSQLite

APPLICATION_ID = 0x42524354  # "BRCT" (PRAGMA application_id, bytes 68-71 of the header)
SQLITE_MAGIC = b"SQLite format 3\x00"
# a store made before application ids: recognised by its tables
OUR_TABLES = ("alembic_version", "usage_records", "response_cache")
OUR_PREFIXES = ("inventory_", "gateway_", "console_")


def prepare_sqlite_file(path: Path) -> None:
    """Create the database file if it does not exist; check it otherwise."""
    path = Path(path).expanduser()
    if not path.exists():
        _create(path)
    check_sqlite_file(path)


def _create(path: Path) -> None:
    private_dir(path.parent)
    tmp = temp_path(path)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    try:
        con = sqlite3.connect(tmp)
        try:
            con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            con.commit()
        finally:
            con.close()
        fsync_path(tmp)
        try:
            os.link(tmp, path)  # the first creator wins; the others check its file
        except FileExistsError:
            return
        fsync_path(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def check_sqlite_file(path: Path) -> None:
    with open(path, "rb") as fh:
        header = fh.read(100)
    if not header:
        raise StoreFileEmpty(f"the store's database file {path} is empty (0 bytes)", details={"file": str(path)})
    if not header.startswith(SQLITE_MAGIC):
        raise StoreFileNotSQLite(f"{path} is not a SQLite database", details={"file": str(path)})
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        app_id = int(con.execute("PRAGMA application_id").fetchone()[0])
        if app_id == APPLICATION_ID:
            return
        names = [str(r[0]) for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    except sqlite3.DatabaseError as exc:
        raise StoreFileNotSQLite(
            f"{path} is not a usable SQLite database ({exc})", details={"file": str(path)}
        ) from exc
    finally:
        con.close()
    ours = any(n in OUR_TABLES or n.startswith(OUR_PREFIXES) for n in names)
    if app_id or not ours:
        if app_id:
            what = f"application id {app_id:#x}"
        else:
            what = "tables " + ", ".join(sorted(names)[:5]) if names else "no tables"
        raise StoreFileForeign(
            f"{path} is not bedrockctl's database ({what})", details={"file": str(path), "application_id": app_id}
        )
