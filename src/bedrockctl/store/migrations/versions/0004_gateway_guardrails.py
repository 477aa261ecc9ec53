"""gateway: guardrails -- the guardrail a key applies (gateway_keys.guardrail_id / guardrail_version) and the
guardrail text units of each audited request (gateway_audit.guardrail_units)

Revision ID: 0004_gateway
Revises: 0003_gateway
Create Date: 2026-12-05

Frozen DDL: this revision spells out what it creates and imports no product table module.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_gateway"
down_revision = "0003_gateway"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a store made by ``ensure_tables`` (ad-hoc stores) may have these columns already: what exists is left alone
    insp = sa.inspect(op.get_bind())
    keys = {c["name"] for c in insp.get_columns("gateway_keys")}
    # plain ADD COLUMNs (no batch mode): SQLite adds them in place and keeps gateway_audit's append-only triggers
    if "guardrail_id" not in keys:
        op.add_column("gateway_keys", sa.Column("guardrail_id", sa.String(300)))
    if "guardrail_version" not in keys:
        op.add_column("gateway_keys", sa.Column("guardrail_version", sa.String(20)))
    if "guardrail_units" not in {c["name"] for c in insp.get_columns("gateway_audit")}:
        op.add_column("gateway_audit", sa.Column("guardrail_units", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place (triggers kept)
    op.drop_column("gateway_audit", "guardrail_units")
    op.drop_column("gateway_keys", "guardrail_version")
    op.drop_column("gateway_keys", "guardrail_id")
