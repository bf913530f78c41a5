-- Hardening (issue 15).
-- Corroboration counts report sources the way the rate limiter groups them:
-- IPv4 by address, IPv6 by /64 ("2001:db8:1:2::/64"). NULL on rows stored
-- before this migration: their source counts as its own group.
ALTER TABLE reports ADD COLUMN source_group TEXT CHECK (source_group IS NULL OR length(source_group) BETWEEN 1 AND 64);
CREATE INDEX reports_cluster_group ON reports (cluster_id, source_group);

-- Delivery picks, per webhook, the most severe pending notification first.
CREATE INDEX webhook_outbox_pending ON webhook_outbox (webhook_id, state, alert_id, id);

-- Quota eviction takes clusters and reports of unknown app versions first.
CREATE INDEX report_clusters_evict ON report_clusters (version_id IS NOT NULL, last_seen, id);
CREATE INDEX reports_evict ON reports (version_id IS NOT NULL, received_at, id);
