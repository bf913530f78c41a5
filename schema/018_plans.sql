-- Planned rotations: the chain or keys an endpoint will move to. A plan's
-- progress is computed from what pinwatch observes, never stored.
CREATE TABLE plans (
	id           INTEGER PRIMARY KEY,
	host         TEXT    NOT NULL CHECK (length(host) BETWEEN 1 AND 253),
	port         INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
	not_before   TEXT    CHECK (not_before IS NULL OR length(not_before) = 10),
	note         TEXT    CHECK (note IS NULL OR length(note) <= 1024),
	chain_pem    TEXT    CHECK (chain_pem IS NULL OR length(chain_pem) <= 262144),
	created_at   INTEGER NOT NULL,
	created_by   TEXT    NOT NULL,
	cancelled_at INTEGER,
	cancelled_by TEXT
);
CREATE INDEX plans_host ON plans (host, port);

-- The planned keys (SPKI SHA-256), in order: for a chain plan the leaf's key
-- comes first.
CREATE TABLE plan_keys (
	plan_id INTEGER NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
	pos     INTEGER NOT NULL CHECK (pos >= 0),
	pin     BLOB    NOT NULL CHECK (length(pin) = 32),
	PRIMARY KEY (plan_id, pos)
) WITHOUT ROWID;
