"""gateway: keys (hashed), counters (budgets, rate limits), alerts sent, append-only audit trail

Revision ID: 0001_gateway
Revises:
Create Date: 2025-01-01

Frozen DDL: this revision spells out what it creates and imports no product table module, so a database built
today and one built when this revision was written are the same (``tests/store/test_migration_schema.py``).
A table that already exists is left alone: stores used with ``ensure_tables`` before migrations ran (ad-hoc
stores) already have them, as the first version of this revision allowed (``checkfirst``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_gateway"
down_revision = None
branch_labels = ("gateway",)
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "gateway_keys" not in existing:
        op.create_table(
            "gateway_keys",
            sa.Column("key_id", sa.String(40), nullable=False),
            sa.Column("secret_hash", sa.String(64), nullable=False),
            sa.Column("name", sa.String(200), nullable=False, server_default=""),
            sa.Column("user_name", sa.String(200), nullable=False),
            sa.Column("team", sa.String(200), nullable=False),
            sa.Column("environment", sa.String(200), nullable=False),
            sa.Column("allowed_models", sa.JSON, nullable=False),
            sa.Column("limits", sa.JSON, nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("expires_at", sa.Float),
            sa.Column("revoked_at", sa.Float),
            sa.PrimaryKeyConstraint("key_id"),
        )
    if "gateway_counters" not in existing:
        op.create_table(
            "gateway_counters",
            sa.Column("scope", sa.String(300), nullable=False),
            sa.Column("win", sa.String(40), nullable=False),
            sa.Column("cap", sa.BigInteger, nullable=False),
            sa.Column("used", sa.BigInteger, nullable=False, server_default="0"),
            sa.Column("reserved", sa.BigInteger, nullable=False, server_default="0"),
            sa.Column("resets_at", sa.Float, nullable=False),
            sa.PrimaryKeyConstraint("scope", "win"),
        )
    if "gateway_alerts" not in existing:
        op.create_table(
            "gateway_alerts",
            sa.Column("scope", sa.String(300), nullable=False),
            sa.Column("win", sa.String(40), nullable=False),
            sa.Column("threshold", sa.Float, nullable=False),
            sa.Column("sent_at", sa.Float, nullable=False),
            sa.PrimaryKeyConstraint("scope", "win", "threshold"),
        )
    if "gateway_audit" not in existing:
        op.create_table(
            "gateway_audit",
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
            sa.Column("ts", sa.Float, nullable=False),
            sa.Column("request_id", sa.String(64), nullable=False),
            sa.Column("key_id", sa.String(40)),
            sa.Column("user_name", sa.String(200)),
            sa.Column("team", sa.String(200)),
            sa.Column("environment", sa.String(200)),
            sa.Column("protocol", sa.String(20), nullable=False),
            sa.Column("operation", sa.String(60), nullable=False),
            sa.Column("model_requested", sa.String(300)),
            sa.Column("model_served", sa.String(300)),
            sa.Column("region", sa.String(40)),
            sa.Column("input_tokens", sa.Integer, nullable=False, server_default="0"),
            sa.Column("output_tokens", sa.Integer, nullable=False, server_default="0"),
            sa.Column("cost_nusd", sa.BigInteger, nullable=False, server_default="0"),
            sa.Column("status", sa.String(80), nullable=False),
            sa.Column("http_status", sa.Integer, nullable=False),
            sa.Column("latency_ms", sa.Integer, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
            sa.Column("client", sa.String(100)),
        )
        op.create_index("ix_gateway_audit_ts", "gateway_audit", ["ts"])
    if op.get_bind().dialect.name == "postgresql":
        # append-only: the audit trail refuses UPDATE and DELETE
        op.execute(
            """CREATE OR REPLACE FUNCTION gateway_audit_append_only() RETURNS trigger AS $$
               BEGIN RAISE EXCEPTION 'gateway_audit is append-only'; END; $$ LANGUAGE plpgsql"""
        )
        op.execute(
            "CREATE TRIGGER gateway_audit_no_change BEFORE UPDATE OR DELETE ON gateway_audit "
            "FOR EACH ROW EXECUTE FUNCTION gateway_audit_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS gateway_audit_no_{verb.lower()} BEFORE {verb} ON gateway_audit "
                "BEGIN SELECT RAISE(ABORT, 'gateway_audit is append-only'); END"
            )


def downgrade() -> None:
    for name in ("gateway_audit", "gateway_alerts", "gateway_counters", "gateway_keys"):
        op.drop_table(name)
