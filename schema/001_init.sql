-- pinwatch initial data model (see ../shared/DESIGN.md).
-- Times are INTEGER unix seconds (UTC). Calendar dates given by users
-- (release, adoption sample, pin-set expiry) are TEXT 'YYYY-MM-DD' so that
-- they round-trip through import/export exactly as written.

-- Inventory --------------------------------------------------------------

CREATE TABLE endpoints (
	id            INTEGER PRIMARY KEY,
	host          TEXT    NOT NULL CHECK (length(host) BETWEEN 1 AND 253 AND host = lower(host)),
	port          INTEGER NOT NULL DEFAULT 443 CHECK (port BETWEEN 1 AND 65535),
	sni           TEXT    CHECK (sni IS NULL OR length(sni) BETWEEN 1 AND 253),
	environment   TEXT    NOT NULL DEFAULT 'production' CHECK (length(environment) BETWEEN 1 AND 64),
	owner         TEXT    CHECK (owner IS NULL OR length(owner) <= 128),
	third_party   INTEGER NOT NULL DEFAULT 0 CHECK (third_party IN (0, 1)),
	interval_s    INTEGER NOT NULL DEFAULT 300 CHECK (interval_s BETWEEN 10 AND 604800),
	enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	last_probe_at INTEGER,
	next_probe_at INTEGER,
	UNIQUE (host, port)
);
CREATE INDEX endpoints_env ON endpoints (environment);
CREATE INDEX endpoints_owner ON endpoints (owner);
CREATE INDEX endpoints_next_probe ON endpoints (enabled, next_probe_at);

CREATE TABLE endpoint_tags (
	endpoint_id INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
	tag         TEXT    NOT NULL CHECK (length(tag) BETWEEN 1 AND 64),
	PRIMARY KEY (endpoint_id, tag)
) WITHOUT ROWID;
CREATE INDEX endpoint_tags_tag ON endpoint_tags (tag);

CREATE TABLE apps (
	id                 INTEGER PRIMARY KEY,
	name               TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 128),
	platform           TEXT    NOT NULL CHECK (platform IN ('android', 'ios', 'other')),
	bundle_id          TEXT    CHECK (bundle_id IS NULL OR length(bundle_id) <= 256),
	adoption_threshold REAL    NOT NULL DEFAULT 0.95 CHECK (adoption_threshold >= 0 AND adoption_threshold <= 1),
	failure_mode       TEXT    NOT NULL DEFAULT 'terminate'
	                           CHECK (failure_mode IN ('log', 'message', 'redirect', 'terminate')),
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
);
CREATE INDEX apps_bundle ON apps (bundle_id);

CREATE TABLE versions (
	id         INTEGER PRIMARY KEY,
	app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
	version    TEXT    NOT NULL CHECK (length(version) BETWEEN 1 AND 64),
	released   TEXT    CHECK (released IS NULL OR date(released, '+0 days') IS released),
	created_at INTEGER NOT NULL,
	UNIQUE (app_id, version)
);

-- One adoption sample per version and date; the latest sample counts.
CREATE TABLE adoption (
	version_id   INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
	at           TEXT    NOT NULL CHECK (date(at, '+0 days') IS at),
	share        REAL    NOT NULL CHECK (share >= 0 AND share <= 1),
	active_users INTEGER CHECK (active_users IS NULL OR active_users >= 0),
	PRIMARY KEY (version_id, at)
) WITHOUT ROWID;

-- A policy with enforce = 0 and no pins is how a subdomain that is excluded
-- from its parent's pinning (NSC nested config without pin-set, TrustKit
-- kTSKExcludeSubdomainFromParentPolicy) is represented.
CREATE TABLE pin_policies (
	id                 INTEGER PRIMARY KEY,
	version_id         INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
	pattern            TEXT    NOT NULL CHECK (length(pattern) BETWEEN 1 AND 256 AND pattern = lower(pattern)),
	include_subdomains INTEGER NOT NULL DEFAULT 0 CHECK (include_subdomains IN (0, 1)),
	enforce            INTEGER NOT NULL DEFAULT 1 CHECK (enforce IN (0, 1)),
	expires            TEXT    CHECK (expires IS NULL OR date(expires, '+0 days') IS expires),
	source             TEXT    NOT NULL DEFAULT 'inventory'
	                           CHECK (source IN ('inventory', 'nsc', 'trustkit', 'okhttp', 'api')),
	UNIQUE (version_id, pattern, include_subdomains)
);
CREATE INDEX pin_policies_pattern ON pin_policies (pattern);

CREATE TABLE pins (
	policy_id INTEGER NOT NULL REFERENCES pin_policies (id) ON DELETE CASCADE,
	sha256    TEXT    NOT NULL CHECK (length(sha256) = 44),
	role      TEXT    NOT NULL DEFAULT 'current' CHECK (role IN ('current', 'backup')),
	PRIMARY KEY (policy_id, sha256)
) WITHOUT ROWID;
CREATE INDEX pins_sha256 ON pins (sha256);

-- Observations -----------------------------------------------------------

-- Each certificate once, by the SHA-256 of its DER.
CREATE TABLE certificates (
	id          INTEGER PRIMARY KEY,
	sha256      BLOB    NOT NULL UNIQUE CHECK (length(sha256) = 32),
	der         BLOB    NOT NULL CHECK (length(der) BETWEEN 1 AND 262144),
	subject     TEXT    NOT NULL,
	issuer      TEXT    NOT NULL,
	serial      TEXT    NOT NULL,
	not_before  INTEGER NOT NULL,
	not_after   INTEGER NOT NULL,
	key_type    TEXT    NOT NULL,
	key_bits    INTEGER NOT NULL,
	spki_sha256 BLOB    NOT NULL CHECK (length(spki_sha256) = 32),
	is_ca       INTEGER NOT NULL DEFAULT 0 CHECK (is_ca IN (0, 1)),
	first_seen  INTEGER NOT NULL
);
CREATE INDEX certificates_spki ON certificates (spki_sha256);
CREATE INDEX certificates_not_after ON certificates (not_after);

-- Each ordered chain once, by SHA-256 over the concatenated certificate hashes.
CREATE TABLE chains (
	id     INTEGER PRIMARY KEY,
	sha256 BLOB    NOT NULL UNIQUE CHECK (length(sha256) = 32),
	length INTEGER NOT NULL CHECK (length BETWEEN 0 AND 64)
);

CREATE TABLE chain_certs (
	chain_id INTEGER NOT NULL REFERENCES chains (id) ON DELETE CASCADE,
	pos      INTEGER NOT NULL CHECK (pos >= 0),
	cert_id  INTEGER NOT NULL REFERENCES certificates (id),
	PRIMARY KEY (chain_id, pos)
) WITHOUT ROWID;
CREATE INDEX chain_certs_cert ON chain_certs (cert_id);

-- Run-length encoded: a row is opened when (endpoint, address, outcome,
-- chain) changes; an unchanged probe only moves last_seen and probe_count.
CREATE TABLE observations (
	id                 INTEGER PRIMARY KEY,
	endpoint_id        INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
	address            TEXT    NOT NULL CHECK (length(address) BETWEEN 1 AND 64),
	outcome            TEXT    NOT NULL CHECK (length(outcome) BETWEEN 1 AND 128),
	presented_chain_id INTEGER REFERENCES chains (id),
	validated_chain_id INTEGER REFERENCES chains (id),
	tls_version        TEXT,
	cipher             TEXT,
	trusted            INTEGER CHECK (trusted IS NULL OR trusted IN (0, 1)),
	name_ok            INTEGER CHECK (name_ok IS NULL OR name_ok IN (0, 1)),
	detail             TEXT,
	first_seen         INTEGER NOT NULL,
	last_seen          INTEGER NOT NULL CHECK (last_seen >= first_seen),
	probe_count        INTEGER NOT NULL DEFAULT 1 CHECK (probe_count >= 1),
	duration_ms        INTEGER
);
CREATE INDEX observations_endpoint ON observations (endpoint_id, address, last_seen);
CREATE INDEX observations_last_seen ON observations (last_seen);

CREATE TABLE sweeps (
	id          INTEGER PRIMARY KEY,
	started_at  INTEGER NOT NULL,
	finished_at INTEGER,
	probes      INTEGER NOT NULL DEFAULT 0,
	failures    INTEGER NOT NULL DEFAULT 0
);

-- Audit ------------------------------------------------------------------

-- Append-only and hash-chained: hash = SHA-256(prev_hash || canonical row).
CREATE TABLE audit_log (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	at          INTEGER NOT NULL,
	actor       TEXT    NOT NULL CHECK (length(actor) BETWEEN 1 AND 128),
	action      TEXT    NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
	object_type TEXT    NOT NULL CHECK (length(object_type) BETWEEN 1 AND 64),
	object_id   TEXT,
	before      TEXT,
	after       TEXT,
	prev_hash   TEXT    NOT NULL CHECK (length(prev_hash) = 64),
	hash        TEXT    NOT NULL UNIQUE CHECK (length(hash) = 64)
);
CREATE INDEX audit_object ON audit_log (object_type, object_id);
CREATE INDEX audit_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- API tokens: only the SHA-256 of the token is stored.
CREATE TABLE tokens (
	id           INTEGER PRIMARY KEY,
	name         TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
	role         TEXT    NOT NULL CHECK (role IN ('read', 'write', 'admin')),
	hash         BLOB    NOT NULL UNIQUE CHECK (length(hash) = 32),
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER,
	revoked_at   INTEGER
);

-- Alerts and webhooks ------------------------------------------------------

CREATE TABLE alerts (
	id           INTEGER PRIMARY KEY,
	fingerprint  TEXT    NOT NULL CHECK (length(fingerprint) BETWEEN 1 AND 128),
	kind         TEXT    NOT NULL CHECK (kind IN ('stranding_now', 'rotation_not_ready', 'chain_changed',
	                     'edges_disagree', 'validation_failed', 'pin_set_expiring', 'probe_failing',
	                     'pin_failures_reported', 'candidate_would_strand')),
	endpoint_id  INTEGER REFERENCES endpoints (id) ON DELETE SET NULL,
	app_id       INTEGER REFERENCES apps (id) ON DELETE SET NULL,
	severity     TEXT    NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
	status       TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
	summary      TEXT    NOT NULL,
	details      TEXT,
	starts_at    INTEGER NOT NULL,
	ends_at      INTEGER CHECK (ends_at IS NULL OR ends_at >= starts_at),
	last_sent_at INTEGER,
	updated_at   INTEGER NOT NULL
);
-- At most one firing episode per fingerprint.
CREATE UNIQUE INDEX alerts_firing ON alerts (fingerprint) WHERE status = 'firing';
CREATE INDEX alerts_status ON alerts (status, severity);

CREATE TABLE silences (
	id          INTEGER PRIMARY KEY,
	fingerprint TEXT,
	endpoint_id INTEGER REFERENCES endpoints (id) ON DELETE CASCADE,
	until       INTEGER NOT NULL,
	reason      TEXT    NOT NULL CHECK (length(reason) BETWEEN 1 AND 1024),
	created_by  TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	CHECK (fingerprint IS NOT NULL OR endpoint_id IS NOT NULL)
);

CREATE TABLE webhooks (
	id           INTEGER PRIMARY KEY,
	url          TEXT    NOT NULL CHECK (url LIKE 'http://%' OR url LIKE 'https://%'),
	format       TEXT    NOT NULL DEFAULT 'generic' CHECK (format IN ('generic', 'slack')),
	secret       TEXT,
	min_severity TEXT    NOT NULL DEFAULT 'warning' CHECK (min_severity IN ('info', 'warning', 'critical')),
	enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	created_at   INTEGER NOT NULL
);

-- Persisted outbox: written in the transaction that changes the alert, deleted
-- only after a 2xx; a delivery that gave up stays with state 'given_up'.
CREATE TABLE webhook_outbox (
	id              INTEGER PRIMARY KEY,
	webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
	alert_id        INTEGER REFERENCES alerts (id) ON DELETE SET NULL,
	idempotency_key TEXT    NOT NULL,
	body            TEXT    NOT NULL,
	state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'given_up')),
	attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at INTEGER NOT NULL,
	last_status     INTEGER,
	last_error      TEXT,
	created_at      INTEGER NOT NULL,
	UNIQUE (webhook_id, idempotency_key)
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt_at);
