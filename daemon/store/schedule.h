/* The probe scheduler's store: the endpoints it schedules, the batches its
 * writer thread commits, the sweeps rows of `pinwatch sweep`.
 *
 * The scheduler (probe/scheduler.h) runs no SQL of its own: its loop thread
 * reads through schedule_endpoints() on the reader connection, and its writer
 * thread writes through the functions below on the writer connection. Each
 * writing function owns its transaction (BEGIN IMMEDIATE ... COMMIT, rolled
 * back on failure), so one batch of results costs one commit.
 */
#ifndef PINWATCH_SCHEDULE_H
#define PINWATCH_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "probe/probe.h"

struct db;

/** One enabled endpoint as the scheduler needs it. */
struct schedule_endpoint {
	int64_t id;
	const char *host; /**< never NULL; valid during the callback only */
	const char *sni;  /**< the endpoint's SNI, else its host; never NULL */
	uint16_t port;
	int64_t interval_s;   /**< as stored (the scheduler applies its minimum) */
	bool has_last_probe;  /**< last_probe_at is set */
	time_t last_probe_at; /**< when has_last_probe */
	bool has_next_probe;  /**< next_probe_at is set */
	time_t next_probe_at; /**< when has_next_probe */
	bool has_discovered;  /**< discovered_at is set (else discovery is due) */
	time_t discovered_at; /**< when has_discovered */
};

/** Called once per endpoint; a non-zero return (negative errno, message in
 *  @err) stops the walk and is returned by schedule_endpoints(). */
typedef int (*schedule_endpoint_fn)(void *ud, const struct schedule_endpoint *e, char *err,
				    size_t errlen);

/**
 * Call @fn for every enabled endpoint, ordered by id. 0, what @fn returned,
 * or -EIO ("reading endpoints: ...") with the message in @err.
 */
int schedule_endpoints(struct db *db, schedule_endpoint_fn fn, void *ud, char *err, size_t errlen);

/**
 * One write of a writer batch: a probe result (@r set) or an endpoint's
 * probe times (@r NULL). An endpoint deleted meanwhile is skipped: there is
 * nothing to record for it.
 */
struct schedule_write {
	int64_t endpoint_id;
	/** the result to record (obs_record()); NULL: the probe times below */
	const struct probe_result *r;
	/** @r's chains are stored already: their ids (obs_reuse(), obs_record_ids()) */
	bool reused;
	int64_t pid, vid;
	/** also record @r for this variant (a discovering round: what the normal
	 *  probe got stands for its kind of key); PROBE_VARIANT_DEFAULT: no */
	enum probe_variant also_as;
	/** in: when @r opens a new observation row, discovery is due again
	 *  (discovered_at set NULL) */
	bool rediscover;
	/** out: @rediscover applied (tell the loop to discover at once) */
	bool rediscovered;
	time_t last_probe_at, next_probe_at; /**< @r NULL: the endpoint's new probe times */
	time_t discovered_at;		     /**< @r NULL: discovery done at (0: leave it) */
};

/** What schedule_commit() did. */
struct schedule_status {
	int64_t opened; /**< observation rows opened (normal probes only, not discovery) */
	bool readonly;	/**< it failed because the database cannot be written
			     (db_failed_readonly()) */
};

/**
 * Write @w[0..n-1] in one transaction; on failure roll it back. 0, or a
 * negative errno with the message in @err ("BEGIN failed: ...", the failing
 * write's message, "COMMIT failed: ..."); @st says whether the storage was
 * read-only. Sets each @w's rediscovered.
 */
int schedule_commit(struct db *db, struct schedule_write *w, size_t n, struct schedule_status *st,
		    char *err, size_t errlen);

/**
 * Record the identity of the trust store the probes validate with
 * (obs_trust_begin()) in its own transaction. 0 or negative errno.
 */
int schedule_trust(struct db *db, const uint8_t trust_id[32], time_t now, char *err, size_t errlen);

/**
 * Try a real write while the database is believed read-only: the schema
 * version written back unchanged (one WAL frame). 0 when it worked, else a
 * negative errno (db_errmsg() tells why).
 */
int schedule_try_write(struct db *db);

/** Open a sweeps row (its own transaction); its id in @id. 0 or negative
 *  errno with "recording the sweep: ..." in @err. */
int schedule_sweep_begin(struct db *db, time_t started_at, int64_t *id, char *err, size_t errlen);
/** Close sweeps row @id with its totals (its own transaction); as above. */
int schedule_sweep_end(struct db *db, int64_t id, time_t finished_at, int64_t probes,
		       int64_t failures, char *err, size_t errlen);

#endif
