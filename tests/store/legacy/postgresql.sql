-- The schema the Alembic migrations of bedrockctl at commit 11664a2 (before the DDL was frozen) built on
-- postgresql, every statement they ran, in order, each ended by a line holding only ';'. A database in the field
-- at revisions 0001_{console,gateway,inventory,runtime} looks like this. Never regenerate: it is the past.
;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL,
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
)
;
CREATE TABLE usage_records (
	id SERIAL NOT NULL,
	ts FLOAT NOT NULL,
	request_id VARCHAR(64),
	operation VARCHAR(48) NOT NULL,
	model_requested VARCHAR(256) NOT NULL,
	model_served VARCHAR(256),
	base_model VARCHAR(128),
	region_served VARCHAR(32),
	input_tokens INTEGER NOT NULL,
	output_tokens INTEGER NOT NULL,
	cache_read_tokens INTEGER NOT NULL,
	cache_write_tokens INTEGER NOT NULL,
	latency_ms INTEGER NOT NULL,
	attempts INTEGER NOT NULL,
	attempts_json TEXT,
	cache_hit BOOLEAN NOT NULL,
	tags_json TEXT,
	caller VARCHAR(256),
	environment VARCHAR(64),
	cost_usd NUMERIC(18, 10),
	status VARCHAR(64) NOT NULL,
	guardrail_intervened BOOLEAN NOT NULL,
	PRIMARY KEY (id)
)
;
CREATE INDEX ix_usage_records_request_id ON usage_records (request_id)
;
CREATE INDEX ix_usage_records_ts ON usage_records (ts)
;
CREATE INDEX ix_usage_records_base_model ON usage_records (base_model)
;
CREATE TABLE response_cache (
	key VARCHAR(64) NOT NULL,
	model VARCHAR(256) NOT NULL,
	created FLOAT NOT NULL,
	expires FLOAT NOT NULL,
	body BYTEA NOT NULL,
	PRIMARY KEY (key)
)
;
CREATE INDEX ix_response_cache_expires ON response_cache (expires)
;
INSERT INTO alembic_version (version_num) VALUES ('0001_runtime') RETURNING alembic_version.version_num
;
CREATE TABLE inventory_scans (
	id SERIAL NOT NULL,
	started_at TIMESTAMP WITH TIME ZONE NOT NULL,
	finished_at TIMESTAMP WITH TIME ZONE,
	status VARCHAR(20) NOT NULL,
	plugins JSON NOT NULL,
	regions JSON NOT NULL,
	accounts JSON NOT NULL,
	target_count INTEGER NOT NULL,
	asset_count INTEGER NOT NULL,
	error_count INTEGER NOT NULL,
	duration_s FLOAT,
	CONSTRAINT pk_inventory_scans PRIMARY KEY (id)
)
;
CREATE TABLE inventory_assets (
	id SERIAL NOT NULL,
	asset_key VARCHAR(64) NOT NULL,
	plugin VARCHAR(64) NOT NULL,
	account_id VARCHAR(32) NOT NULL,
	region VARCHAR(32) NOT NULL,
	asset_type VARCHAR(64) NOT NULL,
	asset_id TEXT NOT NULL,
	name TEXT,
	arn TEXT,
	data JSON NOT NULL,
	data_hash VARCHAR(64) NOT NULL,
	first_seen TIMESTAMP WITH TIME ZONE NOT NULL,
	last_seen TIMESTAMP WITH TIME ZONE NOT NULL,
	removed_at TIMESTAMP WITH TIME ZONE,
	first_scan_id INTEGER NOT NULL,
	last_scan_id INTEGER NOT NULL,
	CONSTRAINT pk_inventory_assets PRIMARY KEY (id),
	CONSTRAINT uq_inventory_assets_asset_key UNIQUE (asset_key),
	CONSTRAINT fk_inventory_assets_first_scan_id_inventory_scans FOREIGN KEY(first_scan_id) REFERENCES inventory_scans (id),
	CONSTRAINT fk_inventory_assets_last_scan_id_inventory_scans FOREIGN KEY(last_scan_id) REFERENCES inventory_scans (id)
)
;
CREATE INDEX ix_inventory_assets_scope ON inventory_assets (plugin, account_id, region, asset_type)
;
CREATE TABLE inventory_observations (
	scan_id INTEGER NOT NULL,
	asset_pk INTEGER NOT NULL,
	data_hash VARCHAR(64) NOT NULL,
	CONSTRAINT pk_inventory_observations PRIMARY KEY (scan_id, asset_pk),
	CONSTRAINT fk_inventory_observations_scan_id_inventory_scans FOREIGN KEY(scan_id) REFERENCES inventory_scans (id) ON DELETE CASCADE,
	CONSTRAINT fk_inventory_observations_asset_pk_inventory_assets FOREIGN KEY(asset_pk) REFERENCES inventory_assets (id) ON DELETE CASCADE
)
;
CREATE TABLE inventory_events (
	id SERIAL NOT NULL,
	scan_id INTEGER NOT NULL,
	asset_pk INTEGER NOT NULL,
	kind VARCHAR(16) NOT NULL,
	at TIMESTAMP WITH TIME ZONE NOT NULL,
	before JSON,
	after JSON,
	CONSTRAINT pk_inventory_events PRIMARY KEY (id),
	CONSTRAINT fk_inventory_events_scan_id_inventory_scans FOREIGN KEY(scan_id) REFERENCES inventory_scans (id) ON DELETE CASCADE,
	CONSTRAINT fk_inventory_events_asset_pk_inventory_assets FOREIGN KEY(asset_pk) REFERENCES inventory_assets (id) ON DELETE CASCADE
)
;
CREATE INDEX ix_inventory_events_at ON inventory_events (at)
;
CREATE TABLE inventory_scan_targets (
	id SERIAL NOT NULL,
	scan_id INTEGER NOT NULL,
	plugin VARCHAR(64) NOT NULL,
	account_id VARCHAR(32) NOT NULL,
	region VARCHAR(32) NOT NULL,
	asset_type VARCHAR(64) NOT NULL,
	ok BOOLEAN NOT NULL,
	asset_count INTEGER NOT NULL,
	error_code VARCHAR(64),
	error TEXT,
	duration_s FLOAT,
	CONSTRAINT pk_inventory_scan_targets PRIMARY KEY (id),
	CONSTRAINT fk_inventory_scan_targets_scan_id_inventory_scans FOREIGN KEY(scan_id) REFERENCES inventory_scans (id) ON DELETE CASCADE
)
;
INSERT INTO alembic_version (version_num) VALUES ('0001_inventory') RETURNING alembic_version.version_num
;
CREATE TABLE gateway_keys (
	key_id VARCHAR(40) NOT NULL,
	secret_hash VARCHAR(64) NOT NULL,
	name VARCHAR(200) DEFAULT '' NOT NULL,
	user_name VARCHAR(200) NOT NULL,
	team VARCHAR(200) NOT NULL,
	environment VARCHAR(200) NOT NULL,
	allowed_models JSON NOT NULL,
	limits JSON NOT NULL,
	created_at FLOAT NOT NULL,
	expires_at FLOAT,
	revoked_at FLOAT,
	PRIMARY KEY (key_id)
)
;
CREATE TABLE gateway_counters (
	scope VARCHAR(300) NOT NULL,
	win VARCHAR(40) NOT NULL,
	cap BIGINT NOT NULL,
	used BIGINT DEFAULT '0' NOT NULL,
	reserved BIGINT DEFAULT '0' NOT NULL,
	resets_at FLOAT NOT NULL,
	PRIMARY KEY (scope, win)
)
;
CREATE TABLE gateway_alerts (
	scope VARCHAR(300) NOT NULL,
	win VARCHAR(40) NOT NULL,
	threshold FLOAT NOT NULL,
	sent_at FLOAT NOT NULL,
	PRIMARY KEY (scope, win, threshold)
)
;
CREATE TABLE gateway_audit (
	id BIGSERIAL NOT NULL,
	ts FLOAT NOT NULL,
	request_id VARCHAR(64) NOT NULL,
	key_id VARCHAR(40),
	user_name VARCHAR(200),
	team VARCHAR(200),
	environment VARCHAR(200),
	protocol VARCHAR(20) NOT NULL,
	operation VARCHAR(60) NOT NULL,
	model_requested VARCHAR(300),
	model_served VARCHAR(300),
	region VARCHAR(40),
	input_tokens INTEGER DEFAULT '0' NOT NULL,
	output_tokens INTEGER DEFAULT '0' NOT NULL,
	cost_nusd BIGINT DEFAULT '0' NOT NULL,
	status VARCHAR(80) NOT NULL,
	http_status INTEGER NOT NULL,
	latency_ms INTEGER NOT NULL,
	attempts INTEGER DEFAULT '1' NOT NULL,
	client VARCHAR(100),
	PRIMARY KEY (id)
)
;
CREATE INDEX ix_gateway_audit_ts ON gateway_audit (ts)
;
CREATE OR REPLACE FUNCTION gateway_audit_append_only() RETURNS trigger AS $$
               BEGIN RAISE EXCEPTION 'gateway_audit is append-only'; END; $$ LANGUAGE plpgsql
;
CREATE TRIGGER gateway_audit_no_change BEFORE UPDATE OR DELETE ON gateway_audit FOR EACH ROW EXECUTE FUNCTION gateway_audit_append_only()
;
INSERT INTO alembic_version (version_num) VALUES ('0001_gateway') RETURNING alembic_version.version_num
;
CREATE TABLE console_users (
	id SERIAL NOT NULL,
	username VARCHAR(200) NOT NULL,
	password_hash VARCHAR(300),
	role VARCHAR(20) NOT NULL,
	team VARCHAR(200) DEFAULT 'default' NOT NULL,
	display_name VARCHAR(200) DEFAULT '' NOT NULL,
	auth_provider VARCHAR(64) DEFAULT 'local' NOT NULL,
	external_subject VARCHAR(300),
	disabled BOOLEAN DEFAULT false NOT NULL,
	created_at FLOAT NOT NULL,
	last_login_at FLOAT,
	CONSTRAINT pk_console_users PRIMARY KEY (id),
	CONSTRAINT uq_console_users_username UNIQUE (username)
)
;
CREATE TABLE console_sessions (
	id VARCHAR(64) NOT NULL,
	user_id INTEGER NOT NULL,
	csrf_token VARCHAR(64) NOT NULL,
	created_at FLOAT NOT NULL,
	expires_at FLOAT NOT NULL,
	CONSTRAINT pk_console_sessions PRIMARY KEY (id),
	CONSTRAINT fk_console_sessions_user_id_console_users FOREIGN KEY(user_id) REFERENCES console_users (id) ON DELETE CASCADE
)
;
CREATE TABLE console_credentials (
	id SERIAL NOT NULL,
	ref VARCHAR(32) NOT NULL,
	owner_id INTEGER NOT NULL,
	name VARCHAR(200) NOT NULL,
	kind VARCHAR(20) NOT NULL,
	access_key_id VARCHAR(128),
	role_arn VARCHAR(2048),
	region VARCHAR(32) NOT NULL,
	ciphertext BYTEA NOT NULL,
	nonce BYTEA NOT NULL,
	wrapped_key BYTEA NOT NULL,
	key_provider VARCHAR(300) NOT NULL,
	created_at FLOAT NOT NULL,
	updated_at FLOAT NOT NULL,
	last_tested_at FLOAT,
	last_test_ok BOOLEAN,
	CONSTRAINT pk_console_credentials PRIMARY KEY (id),
	CONSTRAINT uq_console_credentials_ref UNIQUE (ref),
	CONSTRAINT uq_console_credentials_owner_id UNIQUE (owner_id, name),
	CONSTRAINT fk_console_credentials_owner_id_console_users FOREIGN KEY(owner_id) REFERENCES console_users (id) ON DELETE CASCADE
)
;
CREATE TABLE console_plugin_instances (
	id SERIAL NOT NULL,
	owner_id INTEGER NOT NULL,
	name VARCHAR(200) NOT NULL,
	plugin VARCHAR(64) NOT NULL,
	regions VARCHAR(1000) DEFAULT '' NOT NULL,
	credential_id INTEGER,
	config JSON NOT NULL,
	created_at FLOAT NOT NULL,
	last_scan_at FLOAT,
	last_scan JSON,
	CONSTRAINT pk_console_plugin_instances PRIMARY KEY (id),
	CONSTRAINT fk_console_plugin_instances_owner_id_console_users FOREIGN KEY(owner_id) REFERENCES console_users (id) ON DELETE CASCADE,
	CONSTRAINT fk_console_plugin_instances_credential_id_console_credentials FOREIGN KEY(credential_id) REFERENCES console_credentials (id) ON DELETE SET NULL
)
;
CREATE TABLE console_budgets (
	scope VARCHAR(20) NOT NULL,
	name VARCHAR(200) NOT NULL,
	monthly_budget_usd FLOAT,
	daily_budget_usd FLOAT,
	alert_thresholds JSON,
	hard_stop_pct FLOAT,
	updated_at FLOAT NOT NULL,
	updated_by VARCHAR(200) NOT NULL,
	CONSTRAINT pk_console_budgets PRIMARY KEY (scope, name)
)
;
CREATE TABLE console_events (
	id SERIAL NOT NULL,
	ts FLOAT NOT NULL,
	actor VARCHAR(200) NOT NULL,
	action VARCHAR(64) NOT NULL,
	target VARCHAR(300) DEFAULT '' NOT NULL,
	owner VARCHAR(200),
	detail TEXT DEFAULT '' NOT NULL,
	CONSTRAINT pk_console_events PRIMARY KEY (id)
)
;
CREATE INDEX ix_console_events_ts ON console_events (ts)
;
INSERT INTO alembic_version (version_num) VALUES ('0001_console') RETURNING alembic_version.version_num
;
