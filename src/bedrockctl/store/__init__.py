"""The local store: SQLAlchemy Core over SQLite (default, WAL) or PostgreSQL, schema managed by Alembic.

``Store(url)`` opens it (``None``: ``bedrockctl.paths.default_store_url()``) and upgrades the schema to the
latest revision of every feature branch on first use. See docs/store.md.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bedrockctl.store.engine import create_store_engine, normalize_url
    from bedrockctl.store.inventory import InventoryRepo

MIGRATIONS = Path(__file__).with_name("migrations")


def __getattr__(name: str) -> Any:
    """``create_store_engine`` and ``normalize_url``, imported on first use: SQLAlchemy takes ~0.2 s to import, and
    a process that only needs plain modules of this package (the ledger's child: ``store.audit_record``) must not
    pay for it."""
    if name in ("create_store_engine", "normalize_url"):
        from bedrockctl.store import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Store:
    def __init__(self, url: str | None = None, *, schema: str | None = None, migrate: bool = True) -> None:
        from bedrockctl.store.engine import create_store_engine, normalize_url

        if url is None:
            from bedrockctl.paths import default_store_url

            url = default_store_url()
        self.url = normalize_url(url)
        self.schema = schema
        self.engine: Engine = create_store_engine(self.url, schema=schema)
        if migrate:
            self.migrate()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def alembic_config(self) -> object:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("path_separator", "os")
        return cfg

    def migrate(self, target: str = "heads") -> None:
        """Upgrade every feature branch to ``target`` (default: all heads).

        On PostgreSQL the upgrade holds an advisory lock: replicas that start together upgrade one at a time, and
        the ones that waited find the schema current and change nothing.
        """
        from alembic import command

        from bedrockctl.store.engine import advisory_xact_lock

        cfg = self.alembic_config()
        with self.engine.begin() as conn:
            advisory_xact_lock(conn, f"bedrockctl.store.migrate:{self.schema or ''}")
            cfg.attributes["connection"] = conn  # type: ignore[attr-defined]
            command.upgrade(cfg, target)  # type: ignore[arg-type]

    def current_revisions(self) -> set[str]:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())

    @cached_property
    def inventory(self) -> InventoryRepo:
        from bedrockctl.store.inventory import InventoryRepo

        return InventoryRepo(self.engine)

    def close(self) -> None:
        self.engine.dispose()


__all__ = ["MIGRATIONS", "Store", "create_store_engine", "normalize_url"]
