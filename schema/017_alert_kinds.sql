-- Alert kinds are validated by pinwatch itself (alerts_kind_parse); the table
-- only checks their shape, so that a new kind of alert needs no table rebuild.
-- SQLite cannot change a CHECK in place: rebuild alerts, keeping every row,
-- its id, the indexes, and the outbox rows' links to their alerts (dropping
-- the old table sets webhook_outbox.alert_id to NULL; they are restored).
CREATE TEMP TABLE outbox_alert_017 AS
	SELECT id, alert_id FROM webhook_outbox WHERE alert_id IS NOT NULL;

CREATE TABLE alerts_017 (
	id           INTEGER PRIMARY KEY,
	fingerprint  TEXT    NOT NULL CHECK (length(fingerprint) BETWEEN 1 AND 128),
	kind         TEXT    NOT NULL CHECK (length(kind) BETWEEN 1 AND 64
	                                     AND kind NOT GLOB '*[^a-z_]*'),
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
INSERT INTO alerts_017 (id, fingerprint, kind, endpoint_id, app_id, severity, status, summary,
                        details, starts_at, ends_at, last_sent_at, updated_at)
	SELECT id, fingerprint, kind, endpoint_id, app_id, severity, status, summary,
	       details, starts_at, ends_at, last_sent_at, updated_at FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_017 RENAME TO alerts;
CREATE UNIQUE INDEX alerts_firing ON alerts (fingerprint) WHERE status = 'firing';
CREATE INDEX alerts_status ON alerts (status, severity);

UPDATE webhook_outbox
	SET alert_id = (SELECT o.alert_id FROM outbox_alert_017 o WHERE o.id = webhook_outbox.id)
	WHERE id IN (SELECT id FROM outbox_alert_017);
DROP TABLE outbox_alert_017;
