"""Frozen migrations: the schema the Alembic revisions build equals the one the SQLAlchemy table definitions
describe, on SQLite and PostgreSQL, and a database built by the old (pre-freeze) migrations upgrades to it.

The table definitions are found by scanning ``src/bedrockctl`` for ``Table("name", <metadata>`` so a table module
added later (or moved under ``store/``) is compared without editing this test. The comparison goes through
SQLAlchemy's inspector: tables, columns in order (compiled type, nullability, server default, autoincrement),
primary keys, indexes, unique constraints, foreign keys (with ON DELETE / ON UPDATE) and check constraints.
"""

from __future__ import annotations

import importlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import bedrockctl
from bedrockctl.store import Store, create_store_engine

SRC = Path(bedrockctl.__file__).resolve().parent
LEGACY = Path(__file__).with_name("legacy")
_TABLE_DEF = re.compile(r"\bTable\(\s*\"\w+\",\s*\w*metadata\b")
IGNORED_TABLES = {"alembic_version"}


def table_metadatas() -> list[sa.MetaData]:
    """Every ``MetaData`` that product modules declare tables on (sandbox and migrations excluded)."""
    found: list[sa.MetaData] = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[0] == "sandbox" or "migrations" in rel.parts:
            continue
        if not _TABLE_DEF.search(path.read_text(encoding="utf-8")):
            continue
        module = importlib.import_module("bedrockctl." + ".".join(rel.with_suffix("").parts))
        for value in vars(module).values():
            if isinstance(value, sa.Table) and not any(value.metadata is m for m in found):
                found.append(value.metadata)
    assert found, "no table definitions found under src/bedrockctl"
    return found


def _default(value: Any) -> Any:
    # PostgreSQL reflects '0'::integer for an integer column whose server default is the string "0", SQLite '0':
    # both sides of one comparison come from the same dialect, so the raw text is compared as is.
    return None if value is None else str(value)


def describe(engine: Engine) -> dict[str, dict[str, Any]]:
    """Everything the inspector says about every table, in a comparable form."""
    insp = sa.inspect(engine)
    dialect = engine.dialect
    schema: dict[str, dict[str, Any]] = {}
    for table in sorted(set(insp.get_table_names()) - IGNORED_TABLES):
        columns = [
            {
                "name": c["name"],
                "type": c["type"].compile(dialect=dialect),
                "nullable": c["nullable"],
                "default": _default(c.get("default")),
                "autoincrement": c.get("autoincrement"),
                "identity": c.get("identity"),
                "computed": c.get("computed"),
                "comment": c.get("comment"),
            }
            for c in insp.get_columns(table)
        ]
        pk = insp.get_pk_constraint(table)
        schema[table] = {
            "columns": columns,
            "primary_key": (pk.get("name"), tuple(pk["constrained_columns"])),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(table)
            ),
            "unique": sorted((u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table)),
            "foreign_keys": sorted(
                (
                    fk["name"],
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    tuple(sorted((fk.get("options") or {}).items())),
                )
                for fk in insp.get_foreign_keys(table)
            ),
            "checks": sorted((c["name"], c["sqltext"]) for c in insp.get_check_constraints(table)),
        }
    return schema


def assert_same_schema(got: dict[str, dict[str, Any]], want: dict[str, dict[str, Any]]) -> None:
    assert sorted(got) == sorted(want), "tables differ"
    for table in want:
        for part in want[table]:
            assert got[table][part] == want[table][part], f"{table}: {part} differ"


class Databases:
    """Fresh, isolated databases of one dialect: SQLite files, or PostgreSQL schemas dropped afterwards."""

    def __init__(self, dialect: str, tmp_path: Path) -> None:
        self.dialect = dialect
        self.tmp_path = tmp_path
        self.pg_url = os.environ.get("BEDROCKCTL_TEST_PG_URL", "")
        self.schemas: list[str] = []
        self.engines: list[Engine] = []

    def _target(self) -> tuple[str, str | None]:
        if self.dialect == "sqlite":
            return f"sqlite:///{self.tmp_path / (uuid.uuid4().hex + '.db')}", None
        schema = f"t_{uuid.uuid4().hex[:12]}"
        self.schemas.append(schema)
        return self.pg_url, schema

    def engine(self) -> Engine:
        url, schema = self._target()
        engine = create_store_engine(url, schema=schema)
        self.engines.append(engine)
        return engine

    def store(self, *, migrate: bool = True) -> Store:
        url, schema = self._target()
        store = Store(url, schema=schema, migrate=migrate)
        self.engines.append(store.engine)
        return store

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()
        if self.schemas:
            cleanup = sa.create_engine(self.pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
            with cleanup.begin() as conn:
                for schema in self.schemas:
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            cleanup.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def dbs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    if request.param == "postgresql" and not os.environ.get("BEDROCKCTL_TEST_PG_URL"):
        pytest.skip(
            "PostgreSQL schema test: set BEDROCKCTL_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    databases = Databases(request.param, tmp_path)
    yield databases
    databases.close()


def from_tables(dbs: Databases) -> dict[str, dict[str, Any]]:
    engine = dbs.engine()
    for metadata in table_metadatas():
        metadata.create_all(engine)
    return describe(engine)


def replay_legacy(engine: Engine) -> None:
    """Build the database the pre-freeze migrations built (``legacy/<dialect>.sql``, statements they ran)."""
    script = (LEGACY / f"{engine.dialect.name}.sql").read_text(encoding="utf-8")
    statements = [s.strip() for s in re.split(r"^;$", script, flags=re.MULTILINE)]
    with engine.begin() as conn:
        for statement in statements:
            if statement and not statement.startswith("--"):
                conn.exec_driver_sql(statement)


def test_migrations_build_the_schema_the_tables_describe(dbs: Databases) -> None:
    migrated = dbs.store()
    schema = describe(migrated.engine)
    assert {"gateway_audit", "usage_records", "console_users", "inventory_assets"} <= set(schema)
    assert_same_schema(schema, from_tables(dbs))


def test_the_comparison_sees_a_drifted_column(dbs: Databases) -> None:
    """The check is not vacuous: one changed column (type, nullability or default) is a difference."""
    want = from_tables(dbs)
    engine = dbs.engine()
    for metadata in table_metadatas():
        metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE response_cache"))
        conn.execute(
            sa.text(
                "CREATE TABLE response_cache (key VARCHAR(64) NOT NULL PRIMARY KEY, model VARCHAR(300) NOT NULL,"
                " created FLOAT NOT NULL, expires FLOAT NOT NULL, body BLOB NOT NULL)".replace(
                    "BLOB", "BYTEA" if engine.dialect.name == "postgresql" else "BLOB"
                )
            )
        )
    with pytest.raises(AssertionError, match="response_cache"):
        assert_same_schema(describe(engine), want)


def test_a_database_built_by_the_old_migrations_upgrades_to_head(dbs: Databases) -> None:
    old = dbs.store(migrate=False)
    replay_legacy(old.engine)
    assert old.current_revisions() == {"0001_console", "0001_gateway", "0001_inventory", "0001_runtime"}
    with old.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO gateway_keys (key_id, secret_hash, user_name, team, environment, allowed_models,"
                " limits, created_at) VALUES ('gk_old', 'h', 'ana', 'ml', 'prod', '[]', '{}', 1.0)"
            )
        )
    head = {script.revision for script in _heads(old)}

    old.migrate()

    assert old.current_revisions() == head
    assert_same_schema(describe(old.engine), from_tables(dbs))
    with old.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT user_name FROM gateway_keys WHERE key_id = 'gk_old'")).scalar() == "ana"
    _assert_audit_append_only(old.engine)


def test_tables_made_by_ensure_tables_before_the_migrations_are_kept(dbs: Databases) -> None:
    """Stores used by the runtime or the gateway before migrations ran (``ensure_tables``) still migrate."""
    from bedrockctl.runtime import tables as runtime_tables
    from bedrockctl.server.gateway import tables as gateway_tables

    store = dbs.store(migrate=False)
    runtime_tables.ensure_tables(store.engine)
    gateway_tables.ensure_tables(store.engine)
    store.migrate()
    assert_same_schema(describe(store.engine), from_tables(dbs))
    _assert_audit_append_only(store.engine)


def _heads(store: Store) -> list[Any]:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(store.alembic_config())  # type: ignore[arg-type]
    return [scripts.get_revision(h) for h in scripts.get_heads()]


def _assert_audit_append_only(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO gateway_audit (ts, request_id, protocol, operation, status, http_status, latency_ms)"
                " VALUES (1.0, 'r1', 'bedrock', 'Converse', 'ok', 200, 5)"
            )
        )
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(sa.text("UPDATE gateway_audit SET status = 'forged'"))
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM gateway_audit"))
