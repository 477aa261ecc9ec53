"""gateway: a record id on gateway_audit (unique: a journal replayed twice inserts a record once), and worker leases
(gateway_workers, gateway_holds) so that a crashed worker's reservations are given back

Revision ID: 0003_gateway
Revises: 0002_gateway
Create Date: 2026-12-05

Frozen DDL: this revision spells out what it creates and imports no product table module.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_gateway"
down_revision = "0002_gateway"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a store made by ``ensure_tables`` (ad-hoc stores) may have all of this already: what exists is left alone
    insp = sa.inspect(op.get_bind())
    existing = set(insp.get_table_names())
    if "record_id" not in {c["name"] for c in insp.get_columns("gateway_audit")}:
        # a plain ADD COLUMN (no batch mode): SQLite adds it in place and keeps the append-only triggers
        op.add_column("gateway_audit", sa.Column("record_id", sa.String(32)))
    if "ix_gateway_audit_record_id" not in {i["name"] for i in insp.get_indexes("gateway_audit")}:
        op.create_index("ix_gateway_audit_record_id", "gateway_audit", ["record_id"], unique=True)
    if "gateway_workers" not in existing:
        _create_workers()
    if "gateway_holds" not in existing:
        _create_holds()


def _create_workers() -> None:
    op.create_table(
        "gateway_workers",
        sa.Column("worker_id", sa.String(32), nullable=False),
        sa.Column("node", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("worker_id"),
    )


def _create_holds() -> None:
    op.create_table(
        "gateway_holds",
        sa.Column("worker_id", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(300), nullable=False),
        sa.Column("win", sa.String(40), nullable=False),
        sa.Column("reserved", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("worker_id", "scope", "win"),
    )


def downgrade() -> None:
    op.drop_table("gateway_holds")
    op.drop_table("gateway_workers")
    op.drop_index("ix_gateway_audit_record_id", table_name="gateway_audit")
    op.drop_column("gateway_audit", "record_id")  # SQLite >= 3.35 drops a column in place (triggers kept)
