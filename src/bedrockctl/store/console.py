"""Tables of the web console (branch ``console``, migration ``0001_console``): users, login sessions, per-user AWS
credentials (envelope-encrypted), plugin instances, budget overrides and the console's own event log.

Times are UNIX seconds (float), like the gateway's tables.
"""

from __future__ import annotations

import sqlalchemy as sa

from bedrockctl.store.schema import metadata

console_users = sa.Table(
    "console_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(200), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(300)),  # NULL for users who only sign in through an identity provider
    sa.Column("role", sa.String(20), nullable=False),  # admin | member
    sa.Column("team", sa.String(200), nullable=False, server_default="default"),
    sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("auth_provider", sa.String(64), nullable=False, server_default="local"),
    sa.Column("external_subject", sa.String(300)),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_login_at", sa.Float),
)

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # sha256 of the cookie value; the cookie itself is not stored
    sa.Column("user_id", sa.Integer, sa.ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

console_credentials = sa.Table(
    "console_credentials",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ref", sa.String(32), nullable=False, unique=True),  # random; bound into the ciphertext (AAD)
    sa.Column("owner_id", sa.Integer, sa.ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # keys | role
    sa.Column("access_key_id", sa.String(128)),  # an identifier, not a secret (shown masked anyway)
    sa.Column("role_arn", sa.String(2048)),
    sa.Column("region", sa.String(32), nullable=False),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),  # AES-GCM(data key): secret key, token, external id
    sa.Column("nonce", sa.LargeBinary, nullable=False),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),  # the data key, wrapped by the master key
    sa.Column("key_provider", sa.String(300), nullable=False),  # local:<fingerprint> | kms:<key id>
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("last_tested_at", sa.Float),
    sa.Column("last_test_ok", sa.Boolean),
    sa.UniqueConstraint("owner_id", "name", name="uq_console_credentials_owner_id"),
)

console_plugin_instances = sa.Table(
    "console_plugin_instances",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("owner_id", sa.Integer, sa.ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("plugin", sa.String(64), nullable=False),
    sa.Column("regions", sa.String(1000), nullable=False, server_default=""),
    sa.Column(
        "credential_id", sa.Integer, sa.ForeignKey("console_credentials.id", ondelete="SET NULL")
    ),  # NULL = the server's default credential chain
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_scan_at", sa.Float),
    sa.Column("last_scan", sa.JSON),
)

console_budgets = sa.Table(
    "console_budgets",
    metadata,
    sa.Column("scope", sa.String(20), primary_key=True),  # environment | team | user
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("monthly_budget_usd", sa.Float),
    sa.Column("daily_budget_usd", sa.Float),
    sa.Column("alert_thresholds", sa.JSON),
    sa.Column("hard_stop_pct", sa.Float),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
)

console_events = sa.Table(
    "console_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False, index=True),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(300), nullable=False, server_default=""),
    sa.Column("owner", sa.String(200)),  # whose object it was (members see events about their own objects)
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
)

TABLES = (
    console_users,
    console_sessions,
    console_credentials,
    console_plugin_instances,
    console_budgets,
    console_events,
)

# sign-in back-off (services/login_throttle.py): one row per throttled key
console_login_failures = sa.Table(
    "console_login_failures",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),  # sha256 of the scope and the user name and/or address
    sa.Column("failures", sa.Integer, nullable=False),  # attempts counted within the window
    sa.Column("last_failure_at", sa.Float, nullable=False, index=True),
    sa.Column("blocked_until", sa.Float, nullable=False),
)
