"""runtime: usage_records (one row per model/agent call) and response_cache

Revision ID: 0001_runtime
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from alembic import op

revision = "0001_runtime"
down_revision = None
branch_labels = ("runtime",)
depends_on = None


def upgrade() -> None:
    from bedrockctl.runtime.tables import metadata, response_cache, usage_records

    # checkfirst: a store used by the runtime before migrations ran already has them (ensure_tables)
    metadata.create_all(op.get_bind(), tables=[usage_records, response_cache], checkfirst=True)


def downgrade() -> None:
    op.drop_table("response_cache")
    op.drop_table("usage_records")
