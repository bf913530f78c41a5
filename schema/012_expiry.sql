-- certificate_expiring: a new alert kind. SQLite cannot change a CHECK
-- constraint in place, so the alerts table is rebuilt with the same columns,
-- rows and ids. Dropping the old table runs its ON DELETE SET NULL actions on
-- webhook_outbox.alert_id (foreign keys stay on during migrations): the links
-- are saved first and restored after the rename.
CREATE TABLE alerts_012 (
	id           INTEGER PRIMARY KEY,
	fingerprint  TEXT    NOT NULL CHECK (length(fingerprint) BETWEEN 1 AND 128),
	kind         TEXT    NOT NULL CHECK (kind IN ('stranding_now', 'rotation_not_ready', 'chain_changed',
	                     'edges_disagree', 'validation_failed', 'pin_set_expiring', 'probe_failing',
	                     'pin_failures_reported', 'candidate_would_strand',
	                     'certificate_expiring')),
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
INSERT INTO alerts_012 (id, fingerprint, kind, endpoint_id, app_id, severity, status, summary,
                        details, starts_at, ends_at, last_sent_at, updated_at)
	SELECT id, fingerprint, kind, endpoint_id, app_id, severity, status, summary,
	       details, starts_at, ends_at, last_sent_at, updated_at FROM alerts;
CREATE TEMP TABLE outbox_links_012 AS
	SELECT id, alert_id FROM webhook_outbox WHERE alert_id IS NOT NULL;
DROP TABLE alerts;
ALTER TABLE alerts_012 RENAME TO alerts;
UPDATE webhook_outbox SET alert_id = (SELECT l.alert_id FROM outbox_links_012 l
                                      WHERE l.id = webhook_outbox.id)
	WHERE id IN (SELECT id FROM outbox_links_012);
DROP TABLE outbox_links_012;
-- At most one firing episode per fingerprint.
CREATE UNIQUE INDEX alerts_firing ON alerts (fingerprint) WHERE status = 'firing';
CREATE INDEX alerts_status ON alerts (status, severity);
