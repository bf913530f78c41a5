-- Field signals: pin-failure reports (TrustKit, HPKP), their clusters, and
-- candidate certificates seen before deployment (CT, manual upload).
-- Times are INTEGER unix seconds (UTC); days are TEXT 'YYYY-MM-DD'.

-- One cluster per (app bundle id, app version, host, port, served-chain
-- fingerprint), keyed by SHA-256 over those fields. app/version/endpoint ids
-- are the inventory join at the time of the last report (NULL: not known).
-- classification: matches_server (the chain users see is what pinwatch
-- observed, so the app's pins are wrong: stranding), differs (users see
-- another chain: TLS inspection, captive portal or attack), unknown_host
-- (the host is not in the inventory: wrong domain mapping), unobserved
-- (inventoried but no observation to compare with yet).
CREATE TABLE report_clusters (
	id             INTEGER PRIMARY KEY,
	key            BLOB    NOT NULL UNIQUE CHECK (length(key) = 32),
	app_id         INTEGER REFERENCES apps (id) ON DELETE SET NULL,
	version_id     INTEGER REFERENCES versions (id) ON DELETE SET NULL,
	endpoint_id    INTEGER REFERENCES endpoints (id) ON DELETE SET NULL,
	bundle_id      TEXT    CHECK (bundle_id IS NULL OR length(bundle_id) <= 256),
	app_version    TEXT    CHECK (app_version IS NULL OR length(app_version) <= 64),
	hostname       TEXT    NOT NULL CHECK (length(hostname) BETWEEN 1 AND 253),
	port           INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
	chain_sha256   BLOB    NOT NULL CHECK (length(chain_sha256) = 32),
	chain_length   INTEGER NOT NULL CHECK (chain_length BETWEEN 0 AND 64),
	leaf_sha256    BLOB    CHECK (leaf_sha256 IS NULL OR length(leaf_sha256) = 32),
	leaf_spki      BLOB    CHECK (leaf_spki IS NULL OR length(leaf_spki) = 32),
	leaf_subject   TEXT,
	leaf_issuer    TEXT,
	classification TEXT    NOT NULL CHECK (classification IN
	                       ('matches_server', 'differs', 'unknown_host', 'unobserved')),
	first_seen     INTEGER NOT NULL,
	last_seen      INTEGER NOT NULL CHECK (last_seen >= first_seen),
	report_count   INTEGER NOT NULL DEFAULT 0 CHECK (report_count >= 0)
);
CREATE INDEX report_clusters_last_seen ON report_clusters (last_seen);
CREATE INDEX report_clusters_endpoint ON report_clusters (endpoint_id);
CREATE INDEX report_clusters_version ON report_clusters (version_id);

-- Report counts per cluster and UTC day (kept when raw reports are evicted).
CREATE TABLE report_cluster_days (
	cluster_id INTEGER NOT NULL REFERENCES report_clusters (id) ON DELETE CASCADE,
	day        TEXT    NOT NULL CHECK (date(day, '+0 days') IS day),
	count      INTEGER NOT NULL CHECK (count >= 1),
	PRIMARY KEY (cluster_id, day)
) WITHOUT ROWID;

-- Raw reports, bounded by a row quota (oldest received first evicted).
-- Chains are stored compactly as JSON arrays of {"sha256": hex, "spki": b64};
-- known_pins as a JSON array of base64 pins. Device identifiers
-- (app-vendor-id) are deliberately not stored.
CREATE TABLE reports (
	id                 INTEGER PRIMARY KEY,
	received_at        INTEGER NOT NULL,
	source             TEXT    NOT NULL CHECK (length(source) BETWEEN 1 AND 64),
	format             TEXT    NOT NULL CHECK (format IN ('trustkit', 'hpkp')),
	bundle_id          TEXT    CHECK (bundle_id IS NULL OR length(bundle_id) <= 256),
	app_version        TEXT    CHECK (app_version IS NULL OR length(app_version) <= 64),
	platform           TEXT    CHECK (platform IS NULL OR length(platform) <= 32),
	platform_version   TEXT    CHECK (platform_version IS NULL OR length(platform_version) <= 64),
	trustkit_version   TEXT    CHECK (trustkit_version IS NULL OR length(trustkit_version) <= 32),
	hostname           TEXT    NOT NULL CHECK (length(hostname) BETWEEN 1 AND 253),
	port               INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
	noted_hostname     TEXT    CHECK (noted_hostname IS NULL OR length(noted_hostname) <= 253),
	include_subdomains INTEGER CHECK (include_subdomains IS NULL OR include_subdomains IN (0, 1)),
	enforce            INTEGER CHECK (enforce IS NULL OR enforce IN (0, 1)),
	validation_result  INTEGER,
	date_time          INTEGER,
	expiration_date    TEXT,
	served_chain       TEXT    NOT NULL,
	validated_chain    TEXT    NOT NULL,
	known_pins         TEXT    NOT NULL,
	app_id             INTEGER REFERENCES apps (id) ON DELETE SET NULL,
	version_id         INTEGER REFERENCES versions (id) ON DELETE SET NULL,
	endpoint_id        INTEGER REFERENCES endpoints (id) ON DELETE SET NULL,
	cluster_id         INTEGER REFERENCES report_clusters (id) ON DELETE CASCADE,
	classification     TEXT    NOT NULL CHECK (classification IN
	                           ('matches_server', 'differs', 'unknown_host', 'unobserved'))
);
CREATE INDEX reports_received ON reports (received_at, id);
CREATE INDEX reports_cluster ON reports (cluster_id);

-- Candidate chains: certificates seen before deployment. verdict is the
-- what-if evaluation against every inventoried endpoint the leaf covers.
CREATE TABLE candidates (
	id           INTEGER PRIMARY KEY,
	source       TEXT    NOT NULL CHECK (source IN ('ct', 'manual')),
	host         TEXT    CHECK (host IS NULL OR length(host) BETWEEN 1 AND 253),
	chain_sha256 BLOB    NOT NULL UNIQUE CHECK (length(chain_sha256) = 32),
	leaf_sha256  BLOB    NOT NULL CHECK (length(leaf_sha256) = 32),
	chain_pem    TEXT    NOT NULL CHECK (length(chain_pem) BETWEEN 1 AND 262144),
	chain_length INTEGER NOT NULL CHECK (chain_length BETWEEN 1 AND 16),
	subject      TEXT    NOT NULL,
	issuer       TEXT    NOT NULL,
	not_before   INTEGER NOT NULL,
	not_after    INTEGER NOT NULL,
	dns_names    TEXT    NOT NULL,
	pins         TEXT    NOT NULL,
	added_at     INTEGER NOT NULL,
	evaluated_at INTEGER,
	verdict      TEXT,
	max_stranded REAL    CHECK (max_stranded IS NULL OR (max_stranded >= 0 AND max_stranded <= 1)),
	would_strand INTEGER NOT NULL DEFAULT 0 CHECK (would_strand IN (0, 1))
);
CREATE INDEX candidates_leaf ON candidates (leaf_sha256);
