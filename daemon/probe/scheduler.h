/* Scheduler: when and how many probes.
 *
 * One event-loop thread (the caller's) drives up to `concurrency` probes at
 * once with epoll (probe.h state machines), a few resolver threads run
 * getaddrinfo so that DNS never blocks the loop, and one writer thread owns
 * the database writer connection and commits finished results in batches
 * through the schedule store (store/schedule.h), off the probing path.
 * Endpoints are read from the `endpoints` table (schedule_endpoints()); each
 * is probed at its interval_s with jitter, at every A/AAAA address (up to
 * max_addresses), and a restart resumes from the stored next_probe_at /
 * last_probe_at.
 */
#ifndef PINWATCH_SCHEDULER_H
#define PINWATCH_SCHEDULER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "probe/probe.h"

/** Resolver hook (tests map names to loopback addresses); same contract as probe_resolve. */
typedef int (*sched_resolve_fn)(void *ud, const char *host, uint16_t port, struct probe_addr *out,
				size_t max, size_t *n, char *err, size_t errlen);

/** Called on the writer thread after each committed batch with the endpoints it touched. */
typedef void (*sched_commit_hook)(void *ud, const int64_t *endpoint_ids, size_t n);

struct sched_stats;

struct sched_opts {
	int concurrency;	  /**< probes in flight; default 64, at most 4096 */
	int timeout_ms;		  /**< connect + handshake; default 10000 */
	int max_addresses;	  /**< per endpoint; default 16 */
	int jitter_pct;		  /**< +- percent of the interval; default 10 */
	const char *ca_file;	  /**< NULL/"": system trust store */
	int resolver_threads;	  /**< default 4 */
	sched_resolve_fn resolve; /**< NULL: probe_resolve (getaddrinfo) */
	void *resolve_ud;
	sched_commit_hook after_commit; /**< optional post-batch hook (alerts, metrics) */
	/** Optional: called on the loop thread about once a second by scheduler_run
	 *  (watchdog, STATUS=, HTTP heartbeat) with the totals so far. */
	void (*on_tick)(void *ud, const struct sched_stats *st);
	void *hook_ud;
	/** serve: start even when the database is read-only (dbhealth.h): probe
	 *  on, drop the results (counted), retry writing every DBHEALTH_RETRY_S */
	bool allow_readonly;
	/** Dual-certificate discovery: every address is also probed offering only
	 *  ECDSA and only RSA signature algorithms (probe.h PROBE_VARIANT_*) once
	 *  every discover_interval_s (0: never), and at once after the normal
	 *  probe saw a new chain. Results go to variant_observations. */
	int64_t discover_interval_s;
	/** scheduler_sweep only: 1 discover at every endpoint, -1 at none, 0 at
	 *  those whose discovery is due (as the daemon would). */
	int sweep_discover;
};

/** Totals of a sweep (or of the run so far). */
struct sched_stats {
	int64_t endpoints;	  /**< endpoints completed */
	int64_t probes;		  /**< addresses probed (one per address; dns_error counts one) */
	int64_t failures;	  /**< probes whose outcome is not ok */
	int64_t new_rows;	  /**< observation rows opened */
	int64_t discovery_probes; /**< discovery probes (ECDSA-only and RSA-only offers), not in
				     probes */
	int64_t wall_ms;
	struct {
		char cls[32]; /**< outcome class: ok, timeout, tls_error, tls_alert, ... */
		int64_t n;
	} outcomes[24];
	size_t noutcomes;
};

struct scheduler;

/**
 * Open two connections to @db_path (a reader for the loop, the writer for
 * the writer thread), load the trust store, start resolver and writer
 * threads. With @o->allow_readonly a read-only database is not an error:
 * the reader opens it read-only and the writer thread opens it (migrations
 * and quick_check as usual) once it can be written. Raises RLIMIT_NOFILE as
 * far as allowed for the concurrency. NULL with a message in @err.
 */
struct scheduler *scheduler_new(const char *db_path, const struct sched_opts *o, char *err,
				size_t errlen);

/** Stop the threads (committing what is queued) and free; NULL-safe. */
void scheduler_free(struct scheduler *s);

/**
 * Probe every enabled endpoint once, now, without jitter; return when all
 * are done and committed, or when *@stop becomes non-zero (in-flight probes
 * finish within their timeout; nothing new starts). Fills @st. 0 or negative errno.
 */
int scheduler_sweep(struct scheduler *s, volatile sig_atomic_t *stop, struct sched_stats *st,
		    char *err, size_t errlen);

/** Called by scheduler_run when *reload was set: re-read the config into @o. */
typedef int (*sched_reload_fn)(void *ud, struct sched_opts *o);

/**
 * The daemon loop: probe endpoints as they fall due until *@stop; when
 * *@reload is set, clear it, call @on_reload (may be NULL), apply the new
 * options and re-read the endpoints. Endpoints are also re-read every
 * minute. Each pass in which every enabled endpoint completed a probe
 * started after the previous pass closed counts as a sweep for the metrics
 * (probe_counters_sweep(), once its results are committed). Returns 0 after a
 * graceful stop (everything committed).
 */
int scheduler_run(struct scheduler *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload,
		  sched_reload_fn on_reload, void *ud, char *err, size_t errlen);

/**
 * Make endpoint @endpoint_id due now (thread-safe; for the API). An endpoint
 * the loop has not loaded yet (created since its last reload) is loaded
 * first. 0, or -EBUSY when 64 requests are already waiting for
 * the loop (a request for an endpoint already waiting is merged, 0).
 */
int scheduler_probe_now(struct scheduler *s, int64_t endpoint_id);

#endif
