"""console: sign-in failures per user / client address (login throttling)

Revision ID: 0002_console_login_throttle
Revises: 0001_console
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_console_login_throttle"
down_revision = "0001_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_login_failures",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failure_at", sa.Float, nullable=False),
        sa.Column("blocked_until", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_console_login_failures"),
    )
    op.create_index("ix_console_login_failures_last_failure_at", "console_login_failures", ["last_failure_at"])


def downgrade() -> None:
    op.drop_index("ix_console_login_failures_last_failure_at", table_name="console_login_failures")
    op.drop_table("console_login_failures")
