"""console: users, login sessions, encrypted per-user AWS credentials, plugin instances, budget overrides, events

Revision ID: 0001_console
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_console"
down_revision = None
branch_labels = ("console",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(300)),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("team", sa.String(200), nullable=False, server_default="default"),
        sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("auth_provider", sa.String(64), nullable=False, server_default="local"),
        sa.Column("external_subject", sa.String(300)),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_login_at", sa.Float),
        sa.PrimaryKeyConstraint("id", name="pk_console_users"),
        sa.UniqueConstraint("username", name="uq_console_users_username"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_console_sessions"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["console_users.id"], ondelete="CASCADE", name="fk_console_sessions_user_id_console_users"
        ),
    )
    op.create_table(
        "console_credentials",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ref", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("access_key_id", sa.String(128)),
        sa.Column("role_arn", sa.String(2048)),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("key_provider", sa.String(300), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("last_tested_at", sa.Float),
        sa.Column("last_test_ok", sa.Boolean),
        sa.PrimaryKeyConstraint("id", name="pk_console_credentials"),
        sa.UniqueConstraint("ref", name="uq_console_credentials_ref"),
        sa.UniqueConstraint("owner_id", "name", name="uq_console_credentials_owner_id"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["console_users.id"], ondelete="CASCADE", name="fk_console_credentials_owner_id_console_users"
        ),
    )
    op.create_table(
        "console_plugin_instances",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("plugin", sa.String(64), nullable=False),
        sa.Column("regions", sa.String(1000), nullable=False, server_default=""),
        sa.Column("credential_id", sa.Integer),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_scan_at", sa.Float),
        sa.Column("last_scan", sa.JSON),
        sa.PrimaryKeyConstraint("id", name="pk_console_plugin_instances"),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["console_users.id"],
            ondelete="CASCADE",
            name="fk_console_plugin_instances_owner_id_console_users",
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["console_credentials.id"],
            ondelete="SET NULL",
            name="fk_console_plugin_instances_credential_id_console_credentials",
        ),
    )
    op.create_table(
        "console_budgets",
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("monthly_budget_usd", sa.Float),
        sa.Column("daily_budget_usd", sa.Float),
        sa.Column("alert_thresholds", sa.JSON),
        sa.Column("hard_stop_pct", sa.Float),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("scope", "name", name="pk_console_budgets"),
    )
    op.create_table(
        "console_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(300), nullable=False, server_default=""),
        sa.Column("owner", sa.String(200)),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_console_events"),
    )
    op.create_index("ix_console_events_ts", "console_events", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_console_events_ts", table_name="console_events")
    for name in (
        "console_events",
        "console_budgets",
        "console_plugin_instances",
        "console_credentials",
        "console_sessions",
        "console_users",
    ):
        op.drop_table(name)
