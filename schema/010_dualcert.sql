-- Dual-certificate discovery: the chains an address presents to a client
-- that offers only ECDSA, or only RSA, signature algorithms (a server with an
-- ECDSA and an RSA certificate picks one by what the client offers). The
-- normal probe's results stay in `observations` (variant "default"); the
-- discovery probes' results go here, run-length encoded the same way: a row
-- is opened when (endpoint, address, variant, outcome, chains) changes, an
-- unchanged probe only moves last_seen and probe_count.
CREATE TABLE variant_observations (
	id                 INTEGER PRIMARY KEY,
	endpoint_id        INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
	address            TEXT    NOT NULL CHECK (length(address) BETWEEN 1 AND 64),
	variant            TEXT    NOT NULL CHECK (variant IN ('ecdsa', 'rsa')),
	outcome            TEXT    NOT NULL CHECK (length(outcome) BETWEEN 1 AND 128),
	presented_chain_id INTEGER REFERENCES chains (id),
	validated_chain_id INTEGER REFERENCES chains (id),
	tls_version        TEXT,
	cipher             TEXT,
	detail             TEXT,
	first_seen         INTEGER NOT NULL,
	last_seen          INTEGER NOT NULL CHECK (last_seen >= first_seen),
	probe_count        INTEGER NOT NULL DEFAULT 1 CHECK (probe_count >= 1)
);
CREATE INDEX variant_observations_endpoint
	ON variant_observations (endpoint_id, address, variant, last_seen);

-- When the endpoint's addresses were last probed with each variant (NULL:
-- never, or a chain change asked for a new discovery).
ALTER TABLE endpoints ADD COLUMN discovered_at INTEGER;

-- The trust store the probes validate against (an identity: SHA-256 of the
-- CA file, or of the system bundle's path, size and mtime) and since when.
-- A fresh `pinwatch sweep` process reuses the stored verdict of an
-- unchanged chain (same chain, name and trust store, outcome ok, checked
-- within the hour, every certificate still within its validity) instead of
-- parsing and validating it again; a different trust store moves `since`,
-- which invalidates every stored verdict.
CREATE TABLE probe_trust (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	sha256 BLOB    NOT NULL CHECK (length(sha256) = 32),
	since  INTEGER NOT NULL
);
