/* Prometheus metrics.
 *
 * Two kinds of values:
 * - counters and histograms that the probe side updates as things happen,
 *   through the thread-safe functions below (cheap: one mutex, no I/O);
 * - gauges computed from the database when /metrics is scraped (latest
 *   outcome and earliest expiry per endpoint address, sweep lag, webhook
 *   queue depth, and the stranded shares from readiness when available).
 *
 * For the probe engineer: call metrics_probe_observe() once per finished
 * probe of one address, and metrics_sweep_observe() once per finished sweep.
 * Both may be called from any thread, before or after the server starts.
 */
#ifndef PINWATCH_METRICS_H
#define PINWATCH_METRICS_H

#include <stddef.h>

struct db;

/** Upper bounds (seconds) of the probe duration histogram buckets. */
#define METRICS_PROBE_BUCKETS                           \
	{                                               \
		0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 \
	}

/**
 * One probe of one address finished after @seconds with @outcome ("ok",
 * "pin_mismatch", "timeout", ...; NULL counts as "unknown"). At most 32
 * distinct outcomes are tracked; further ones are counted as "other".
 */
void metrics_probe_observe(const char *outcome, double seconds);

/**
 * One sweep finished and its results are stored: @probes probes, @seconds
 * wall time. The scheduler calls it after `pinwatch sweep` and, under
 * serve, after each pass (every enabled endpoint probed once; scheduler.c).
 */
void metrics_sweep_observe(unsigned probes, double seconds);

/** Forget every counter (tests). */
void metrics_reset(void);

/**
 * Render the Prometheus text exposition (version 0.0.4) into a fresh
 * malloc'ed string (*out, length *len): the counters above plus gauges read
 * through @db. 0 or a negative errno (-EIO with the SQLite message in @err).
 */
int metrics_render(struct db *db, char **out, size_t *len, char *err, size_t errlen);

/** Escape a Prometheus label value (\\, \", \n) into @out (always terminated). Returns @out. */
char *metrics_escape_label(const char *in, char *out, size_t outlen);

#endif
