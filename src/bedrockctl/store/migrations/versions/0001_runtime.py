"""runtime: usage_records (one row per model/agent call) and response_cache

Revision ID: 0001_runtime
Revises:
Create Date: 2025-01-01

Frozen DDL: this revision spells out what it creates and imports no product table module, so a database built
today and one built when this revision was written are the same (``tests/store/test_migration_schema.py``).
A table that already exists is left alone: a store the runtime used before migrations ran already has its
tables (``runtime.tables.ensure_tables``), as the first version of this revision allowed (``checkfirst``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_runtime"
down_revision = None
branch_labels = ("runtime",)
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "usage_records" not in existing:
        op.create_table(
            "usage_records",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("ts", sa.Float, nullable=False),
            sa.Column("request_id", sa.String(64)),
            sa.Column("operation", sa.String(48), nullable=False),
            sa.Column("model_requested", sa.String(256), nullable=False),
            sa.Column("model_served", sa.String(256)),
            sa.Column("base_model", sa.String(128)),
            sa.Column("region_served", sa.String(32)),
            sa.Column("input_tokens", sa.Integer, nullable=False),
            sa.Column("output_tokens", sa.Integer, nullable=False),
            sa.Column("cache_read_tokens", sa.Integer, nullable=False),
            sa.Column("cache_write_tokens", sa.Integer, nullable=False),
            sa.Column("latency_ms", sa.Integer, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("attempts_json", sa.Text),
            sa.Column("cache_hit", sa.Boolean, nullable=False),
            sa.Column("tags_json", sa.Text),
            sa.Column("caller", sa.String(256)),
            sa.Column("environment", sa.String(64)),
            sa.Column("cost_usd", sa.Numeric(18, 10)),
            sa.Column("status", sa.String(64), nullable=False),
            sa.Column("guardrail_intervened", sa.Boolean, nullable=False),
        )
        op.create_index("ix_usage_records_ts", "usage_records", ["ts"])
        op.create_index("ix_usage_records_request_id", "usage_records", ["request_id"])
        op.create_index("ix_usage_records_base_model", "usage_records", ["base_model"])
    if "response_cache" not in existing:
        op.create_table(
            "response_cache",
            sa.Column("key", sa.String(64), nullable=False),
            sa.Column("model", sa.String(256), nullable=False),
            sa.Column("created", sa.Float, nullable=False),
            sa.Column("expires", sa.Float, nullable=False),
            sa.Column("body", sa.LargeBinary, nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )
        op.create_index("ix_response_cache_expires", "response_cache", ["expires"])


def downgrade() -> None:
    op.drop_table("response_cache")
    op.drop_table("usage_records")
