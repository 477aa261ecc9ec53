"""Alembic environment for the bedrockctl store. ``bedrockctl.store.migrate`` runs it programmatically with an
open connection (``config.attributes["connection"]``); the ``alembic`` CLI works too with ``-x url=...``.

No ``target_metadata``: revisions spell out their DDL with explicit constraint names, so nothing here (a naming
convention on live tables, which ``op.create_table`` would otherwise apply) changes what an old revision
builds. ``tests/store/test_migration_schema.py`` compares the migrated schema with the table definitions."""

from __future__ import annotations

from typing import Any

from alembic import context

from bedrockctl.store.engine import create_store_engine

config = context.config


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=None,
        render_as_batch=True,  # SQLite needs batch mode for ALTER TABLE
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from bedrockctl.paths import default_store_url

        url = default_store_url()
    engine = create_store_engine(url)
    with engine.begin() as conn:
        _run(conn)
