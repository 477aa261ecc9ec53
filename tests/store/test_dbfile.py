"""The store's SQLite file: created 0600 with bedrockctl's application id; an empty, non-SQLite or foreign file is an
error naming the file -- never silently taken as a new empty store, never modified."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bedrockctl.store import Store
from bedrockctl.store.dbfile import APPLICATION_ID
from bedrockctl.store.errors import StoreFileEmpty, StoreFileError, StoreFileForeign, StoreFileNotSQLite


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_is_private_and_stamped(tmp_path: Path) -> None:
    db = tmp_path / "new" / "dir" / "bedrockctl.db"
    store = Store(f"sqlite:///{db}")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x)")  # a write: the -wal and -shm files exist now
    assert _mode(db) == 0o600 and _mode(db.parent) == 0o700 and _mode(db.parent.parent) == 0o700
    for side in ("-wal", "-shm"):
        assert _mode(db.with_name(db.name + side)) == 0o600
    store.close()
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    Store(f"sqlite:///{db}").close()  # and it opens again
    assert not [p for p in db.parent.iterdir() if p.name.startswith(".")]  # no temp file left


def _sqlite(path: Path, app_id: int = 0, table: str | None = None) -> None:
    con = sqlite3.connect(path)
    if app_id:
        con.execute(f"PRAGMA application_id = {app_id}")
    if table:
        con.execute(f"CREATE TABLE {table} (x)")
    con.execute("PRAGMA user_version = 1")  # some write, so the file has a header
    con.commit()
    con.close()


@pytest.mark.parametrize(
    ("make", "error", "says"),
    [
        (lambda p: p.write_bytes(b""), StoreFileEmpty, "is empty (0 bytes)"),
        (lambda p: p.write_text("name,amount\nana,3\n"), StoreFileNotSQLite, "is not a SQLite database"),
        (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200), StoreFileNotSQLite, "not a usable SQLite"),
        (lambda p: _sqlite(p, app_id=0x0F0F0F0F, table="inventory_assets"), StoreFileForeign, "application id"),
        (lambda p: _sqlite(p, table="moz_places"), StoreFileForeign, "tables moz_places"),
        (lambda p: _sqlite(p), StoreFileForeign, "no tables"),
    ],
    ids=["zero-length", "text", "bad-header", "other-app-id", "other-tables", "no-tables"],
)
def test_an_unusable_file_is_an_error_naming_it(tmp_path: Path, make, error, says) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "bedrockctl.db"
    make(db)
    before = db.read_bytes()
    with pytest.raises(error) as exc:
        Store(f"sqlite:///{db}")
    assert str(db) in exc.value.message and says in exc.value.message
    assert exc.value.code.startswith("BRC-STO-") and exc.value.remediation
    assert exc.value.details["file"] == str(db)
    assert db.read_bytes() == before  # untouched


def test_a_store_made_before_application_ids_still_opens(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    Store(f"sqlite:///{db}").close()
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA application_id = 0")
    Store(f"sqlite:///{db}").close()


def test_the_cli_names_the_file_and_exits_non_zero(tmp_path: Path) -> None:
    db = tmp_path / "bedrockctl.db"
    db.touch()
    env = {**os.environ, "BEDROCKCTL_STORE_URL": f"sqlite:///{db}", "BEDROCKCTL_DATA_DIR": str(tmp_path)}
    res = subprocess.run(
        [sys.executable, "-m", "bedrockctl.cli.main", "users", "list"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == StoreFileError.exit_code
    assert "BRC-STO-002" in res.stderr and str(db) in res.stderr.replace("\n", "")
    assert "delete it to start" in res.stderr.replace("\n", " ")
    assert db.stat().st_size == 0
