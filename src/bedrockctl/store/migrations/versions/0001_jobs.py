"""jobs: job_leases and job_runs (the scheduled jobs of `bedrockctl serve`), backstop_actions (the budget backstop
for traffic outside the gateway)

Revision ID: 0001_jobs
Revises:
Create Date: 2026-12-05

Frozen DDL: this revision spells out what it creates and imports no product table module.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_jobs"
down_revision = None
branch_labels = ("jobs",)
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "job_leases",
        sa.Column("job", sa.String(60), nullable=False),
        sa.Column("slot", sa.BigInteger, nullable=False),
        sa.Column("holder", sa.String(120)),
        sa.Column("lease_until", sa.Float),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("job", name="pk_job_leases"),
    )
    op.create_table(
        "job_runs",
        _id(),
        sa.Column("job", sa.String(60), nullable=False),
        sa.Column("slot", sa.BigInteger),
        sa.Column("holder", sa.String(120), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
        sa.Column("figures", sa.JSON, nullable=False),
        sa.Column("error", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_job_runs"),
        sa.UniqueConstraint("job", "slot", name="uq_job_runs_job_slot"),
    )
    op.create_index("ix_job_runs_started_at", "job_runs", ["started_at"])
    op.create_table(
        "backstop_actions",
        _id(),
        sa.Column("environment", sa.String(200), nullable=False),
        sa.Column("win", sa.String(40), nullable=False),
        sa.Column("principal_arn", sa.String(400), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("spent_usd", sa.String(40), nullable=False),
        sa.Column("calls", sa.JSON, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("released_at", sa.Float),
        sa.Column("released_by", sa.String(60)),
        sa.Column("error", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_backstop_actions"),
        sa.UniqueConstraint("environment", "win", "principal_arn", name="uq_backstop_actions_env_win_principal"),
    )
    op.create_index("ix_backstop_actions_status", "backstop_actions", ["status"])


def downgrade() -> None:
    op.drop_index("ix_backstop_actions_status", table_name="backstop_actions")
    op.drop_table("backstop_actions")
    op.drop_index("ix_job_runs_started_at", table_name="job_runs")
    op.drop_table("job_runs")
    op.drop_table("job_leases")
