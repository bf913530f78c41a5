/* Process-wide probe counters: outcomes, the probe duration histogram and
 * sweeps, as the scheduler counts them and /metrics reports them.
 *
 * The scheduler calls probe_counters_probe() once per finished probe of one
 * address and probe_counters_sweep() once per finished sweep (after its
 * results are committed); http/metrics.c renders a probe_counters_read()
 * snapshot. Thread-safe (one mutex, no I/O), usable before anything starts.
 */
#ifndef PINWATCH_PROBE_COUNTERS_H
#define PINWATCH_PROBE_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

/** Upper bounds (seconds) of the probe duration histogram buckets. */
#define PROBE_COUNTERS_BUCKETS                          \
	{                                               \
		0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 \
	}
#define PROBE_COUNTERS_NBUCKETS 9
/** Distinct outcomes tracked; further ones are counted as "other". */
#define PROBE_COUNTERS_OUTCOMES	   32
#define PROBE_COUNTERS_OUTCOME_LEN 48

/** A snapshot of the counters. */
struct probe_counters {
	struct {
		char name[PROBE_COUNTERS_OUTCOME_LEN]; /**< the outcome as stored ("tls_alert:...")
							*/
		uint64_t n;
	} outcomes[PROBE_COUNTERS_OUTCOMES + 1];   /**< [PROBE_COUNTERS_OUTCOMES]: "other" */
	size_t noutcomes;			   /**< distinct outcomes, in first-seen order */
	uint64_t buckets[PROBE_COUNTERS_NBUCKETS]; /**< per bucket (not cumulative) */
	uint64_t probe_count;
	double probe_sum; /**< seconds */
	uint64_t sweeps;
	uint64_t sweep_probes;
	double last_sweep_seconds;
};

/**
 * One probe of one address finished after @seconds with @outcome ("ok",
 * "tls_alert:...", ...; NULL counts as "unknown"; a negative or NaN
 * duration as 0).
 */
void probe_counters_probe(const char *outcome, double seconds);

/** One sweep finished and its results are stored: @probes probes, @seconds wall time. */
void probe_counters_sweep(unsigned probes, double seconds);

/** Copy the counters into @out. */
void probe_counters_read(struct probe_counters *out);

/** Forget every counter (tests). */
void probe_counters_reset(void);

#endif
