"""gateway: keys (hashed), counters (budgets, rate limits), alerts sent, append-only audit trail

Revision ID: 0001_gateway
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from alembic import op

revision = "0001_gateway"
down_revision = None
branch_labels = ("gateway",)
depends_on = None


def upgrade() -> None:
    from bedrockctl.store.gateway import TABLES, metadata

    metadata.create_all(op.get_bind(), tables=list(TABLES), checkfirst=True)
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
