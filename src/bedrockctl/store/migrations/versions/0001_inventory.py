"""inventory: scans, assets (first_seen / last_seen / removed_at), observations, events, scan targets

Revision ID: 0001_inventory
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_inventory"
down_revision = None
branch_labels = ("inventory",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inventory_scans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("plugins", sa.JSON, nullable=False),
        sa.Column("regions", sa.JSON, nullable=False),
        sa.Column("accounts", sa.JSON, nullable=False),
        sa.Column("target_count", sa.Integer, nullable=False),
        sa.Column("asset_count", sa.Integer, nullable=False),
        sa.Column("error_count", sa.Integer, nullable=False),
        sa.Column("duration_s", sa.Float),
        sa.PrimaryKeyConstraint("id", name="pk_inventory_scans"),
    )
    op.create_table(
        "inventory_assets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("asset_key", sa.String(64), nullable=False),
        sa.Column("plugin", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("asset_type", sa.String(64), nullable=False),
        sa.Column("asset_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("arn", sa.Text),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("data_hash", sa.String(64), nullable=False),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
        sa.Column("removed_at", TS),
        sa.Column("first_scan_id", sa.Integer, nullable=False),
        sa.Column("last_scan_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inventory_assets"),
        sa.UniqueConstraint("asset_key", name="uq_inventory_assets_asset_key"),
        sa.ForeignKeyConstraint(
            ["first_scan_id"], ["inventory_scans.id"], name="fk_inventory_assets_first_scan_id_inventory_scans"
        ),
        sa.ForeignKeyConstraint(
            ["last_scan_id"], ["inventory_scans.id"], name="fk_inventory_assets_last_scan_id_inventory_scans"
        ),
    )
    op.create_index("ix_inventory_assets_scope", "inventory_assets", ["plugin", "account_id", "region", "asset_type"])
    op.create_table(
        "inventory_observations",
        sa.Column("scan_id", sa.Integer, nullable=False),
        sa.Column("asset_pk", sa.Integer, nullable=False),
        sa.Column("data_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("scan_id", "asset_pk", name="pk_inventory_observations"),
        sa.ForeignKeyConstraint(
            ["scan_id"],
            ["inventory_scans.id"],
            name="fk_inventory_observations_scan_id_inventory_scans",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["asset_pk"],
            ["inventory_assets.id"],
            name="fk_inventory_observations_asset_pk_inventory_assets",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "inventory_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scan_id", sa.Integer, nullable=False),
        sa.Column("asset_pk", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
        sa.PrimaryKeyConstraint("id", name="pk_inventory_events"),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["inventory_scans.id"], name="fk_inventory_events_scan_id_inventory_scans", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["asset_pk"],
            ["inventory_assets.id"],
            name="fk_inventory_events_asset_pk_inventory_assets",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_inventory_events_at", "inventory_events", ["at"])
    op.create_table(
        "inventory_scan_targets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scan_id", sa.Integer, nullable=False),
        sa.Column("plugin", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("asset_type", sa.String(64), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("asset_count", sa.Integer, nullable=False),
        sa.Column("error_code", sa.String(64)),
        sa.Column("error", sa.Text),
        sa.Column("duration_s", sa.Float),
        sa.PrimaryKeyConstraint("id", name="pk_inventory_scan_targets"),
        sa.ForeignKeyConstraint(
            ["scan_id"],
            ["inventory_scans.id"],
            name="fk_inventory_scan_targets_scan_id_inventory_scans",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    for table in (
        "inventory_scan_targets",
        "inventory_events",
        "inventory_observations",
        "inventory_assets",
        "inventory_scans",
    ):
        op.drop_table(table)
