"""Table definitions (SQLAlchemy Core). One ``MetaData`` for the whole store; each feature declares its tables
in its own module on this metadata and ships an Alembic migration that creates them (see docs/store.md)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# -- inventory (migration 0001_inventory) ---------------------------------------------------------------------
inventory_scans = Table(
    "inventory_scans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(20), nullable=False),  # running | complete | partial | failed
    Column("plugins", JSON, nullable=False),
    Column("regions", JSON, nullable=False),
    Column("accounts", JSON, nullable=False),
    Column("target_count", Integer, nullable=False, default=0),
    Column("asset_count", Integer, nullable=False, default=0),
    Column("error_count", Integer, nullable=False, default=0),
    Column("duration_s", Float),
)

inventory_assets = Table(
    "inventory_assets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("asset_key", String(64), nullable=False, unique=True),  # sha256 of plugin|account|region|type|id
    Column("plugin", String(64), nullable=False),
    Column("account_id", String(32), nullable=False),
    Column("region", String(32), nullable=False),
    Column("asset_type", String(64), nullable=False),
    Column("asset_id", Text, nullable=False),
    Column("name", Text),
    Column("arn", Text),
    Column("data", JSON, nullable=False),
    Column("data_hash", String(64), nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("removed_at", DateTime(timezone=True)),
    Column("first_scan_id", Integer, ForeignKey("inventory_scans.id"), nullable=False),
    Column("last_scan_id", Integer, ForeignKey("inventory_scans.id"), nullable=False),
    Index("ix_inventory_assets_scope", "plugin", "account_id", "region", "asset_type"),
)

# the snapshot: which assets each scan saw (with the hash of what it saw)
inventory_observations = Table(
    "inventory_observations",
    metadata,
    Column("scan_id", Integer, ForeignKey("inventory_scans.id", ondelete="CASCADE"), primary_key=True),
    Column("asset_pk", Integer, ForeignKey("inventory_assets.id", ondelete="CASCADE"), primary_key=True),
    Column("data_hash", String(64), nullable=False),
)

# what changed, per scan: added | removed | changed | reappeared
inventory_events = Table(
    "inventory_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scan_id", Integer, ForeignKey("inventory_scans.id", ondelete="CASCADE"), nullable=False),
    Column("asset_pk", Integer, ForeignKey("inventory_assets.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("before", JSON),
    Column("after", JSON),
    Index("ix_inventory_events_at", "at"),
)

# per-target outcome of a scan (the error list of partial scans)
inventory_scan_targets = Table(
    "inventory_scan_targets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scan_id", Integer, ForeignKey("inventory_scans.id", ondelete="CASCADE"), nullable=False),
    Column("plugin", String(64), nullable=False),
    Column("account_id", String(32), nullable=False),
    Column("region", String(32), nullable=False),
    Column("asset_type", String(64), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("asset_count", Integer, nullable=False, default=0),
    Column("error_code", String(64)),
    Column("error", Text),
    Column("duration_s", Float),
)
