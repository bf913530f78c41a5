/* Prometheus metrics.
 *
 * Two kinds of values:
 * - counters and histograms that the probe side updates as things happen
 *   (probe/probe_counters.h: the scheduler counts, this page reads);
 * - gauges computed from the database when /metrics is scraped (latest
 *   outcome and earliest expiry per endpoint address, sweep lag, webhook
 *   queue depth, and the stranded shares from readiness when available).
 */
#ifndef PINWATCH_METRICS_H
#define PINWATCH_METRICS_H

#include <stddef.h>

struct db;

/**
 * Render the Prometheus text exposition (version 0.0.4) into a fresh
 * malloc'ed string (*out, length *len): the probe counters plus gauges read
 * through @db. 0 or a negative errno (-EIO with the SQLite message in @err).
 */
int metrics_render(struct db *db, char **out, size_t *len, char *err, size_t errlen);

/** Escape a Prometheus label value (\\, \", \n) into @out (always terminated). Returns @out. */
char *metrics_escape_label(const char *in, char *out, size_t outlen);

#endif
