"""gateway: alert_deliveries (one budget alert per scope, window, threshold and channel: claim and outcome, for the
gateway and `budget status --alert`); the rows of gateway_alerts move in as channel '*' (sent on every channel), and
that table goes

Revision ID: 0002_gateway
Revises: 0001_gateway
Create Date: 2026-12-05

Frozen DDL: this revision spells out what it creates and imports no product table module.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_gateway"
down_revision = "0001_gateway"  # on the gateway branch: it replaces gateway_alerts, which 0001_gateway created
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_deliveries",
        sa.Column("scope", sa.String(300), nullable=False),
        sa.Column("win", sa.String(40), nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("channel", sa.String(300), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("lease_until", sa.Float),
        sa.Column("next_attempt_at", sa.Float),
        sa.Column("last_error", sa.Text),
        sa.Column("receipt", sa.String(300)),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("sent_at", sa.Float),
        sa.PrimaryKeyConstraint("scope", "win", "threshold", "channel", name="pk_alert_deliveries"),
    )
    op.create_index("ix_alert_deliveries_updated_at", "alert_deliveries", ["updated_at"])
    bind = op.get_bind()
    if "gateway_alerts" in sa.inspect(bind).get_table_names():
        empty = "CAST('{}' AS JSON)" if bind.dialect.name == "postgresql" else "'{}'"  # a constant, no input
        op.execute(
            "INSERT INTO alert_deliveries (scope, win, threshold, channel, status, attempts, payload, created_at, "  # noqa: S608
            f"updated_at, sent_at) SELECT scope, win, threshold, '*', 'sent', 1, {empty}, sent_at, sent_at, sent_at "
            "FROM gateway_alerts"
        )
        op.drop_table("gateway_alerts")


def downgrade() -> None:
    op.create_table(
        "gateway_alerts",
        sa.Column("scope", sa.String(300), nullable=False),
        sa.Column("win", sa.String(40), nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("sent_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("scope", "win", "threshold"),
    )
    op.execute(
        "INSERT INTO gateway_alerts (scope, win, threshold, sent_at) "
        "SELECT scope, win, threshold, MIN(COALESCE(sent_at, updated_at)) FROM alert_deliveries "
        "WHERE status = 'sent' GROUP BY scope, win, threshold"
    )
    op.drop_index("ix_alert_deliveries_updated_at", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
