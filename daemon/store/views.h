/* Read views of the store as JSON: what the HTTP API's read routes answer
 * (docs/api.md: endpoints, observations, apps with versions, the audit log,
 * certificates served now).
 *
 * Lists use keyset pagination on the row id: at most @limit items, and
 * *next set to the id of the last item when more follow (0 otherwise); the
 * caller passes it back as @cursor.
 *
 * Every function reads the whole answer or fails: a busy or failing
 * database is an error, never a shorter list. Errors: -ENOENT only for "no
 * such object" (the message names it), -EBUSY when the database is busy or
 * locked, -ENOMEM, -ENOSPC/-EROFS/-EIO and other negative errno for database
 * failures; a message in @err always. On success the caller owns *items
 * (*out); on failure it is NULL.
 */
#ifndef PINWATCH_VIEWS_H
#define PINWATCH_VIEWS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct db;

/** Filters of views_endpoints(); NULL: any. */
struct views_endpoint_filter {
	const char *environment, *owner, *tag, *host;
};

/**
 * Endpoints with id > @cursor in id order, each {id, host, port, sni,
 * environment, owner, tags[], third_party, interval, interval_s, enabled,
 * last_probe_at, next_probe_at}.
 */
int views_endpoints(struct db *db, const struct views_endpoint_filter *f, int64_t cursor,
		    int64_t limit, json_t **items, int64_t *next, char *err, size_t errlen);
/** Endpoint @id as views_endpoints() shows it. -ENOENT when missing. */
int views_endpoint(struct db *db, int64_t id, json_t **out, char *err, size_t errlen);
/** 0 when endpoint @id exists, -ENOENT when not, or a database error. */
int views_endpoint_exists(struct db *db, int64_t id, char *err, size_t errlen);

/**
 * The latest observation of each address of endpoint @endpoint_id, by
 * address, each with its presented and validated chains (certificate objects
 * in chain order, or null).
 */
int views_observations_latest(struct db *db, int64_t endpoint_id, int64_t limit, json_t **items,
			      int64_t *next, char *err, size_t errlen);
/**
 * Observations of @endpoint_id newest first (@cursor: ids below it; 0 from
 * the newest), optionally of one @address (NULL: all).
 */
int views_observations_history(struct db *db, int64_t endpoint_id, const char *address,
			       int64_t cursor, int64_t limit, json_t **items, int64_t *next,
			       char *err, size_t errlen);

/**
 * Apps with id > @cursor in id order ({id, name, platform, bundle_id,
 * adoption_threshold, failure_mode, versions: count}); @platform NULL: any.
 */
int views_apps(struct db *db, const char *platform, int64_t cursor, int64_t limit, json_t **items,
	       int64_t *next, char *err, size_t errlen);
/**
 * App @id as views_apps() shows it, with versions[] (by release date, then
 * id) holding adoption[] and pin_policies[] with their pins. -ENOENT.
 */
int views_app(struct db *db, int64_t id, json_t **out, char *err, size_t errlen);

/** Filters of views_audit(); NULL / 0: any. */
struct views_audit_filter {
	const char *actor, *action, *object_type, *object_id;
	time_t since, until; /**< at >= since, at < until */
};
/** Audit rows newest first (@cursor: ids below it; 0 from the newest). */
int views_audit(struct db *db, const struct views_audit_filter *f, int64_t cursor, int64_t limit,
		json_t **items, int64_t *next, char *err, size_t errlen);

/**
 * Certificates that some endpoint's latest observation presents, id > @cursor
 * in id order, with the endpoints and addresses serving them and days_left
 * counted from @now.
 */
int views_certificates(struct db *db, time_t now, int64_t cursor, int64_t limit, json_t **items,
		       int64_t *next, char *err, size_t errlen);

/* ---- for the Prometheus metrics ---- */

/**
 * The latest observation of every endpoint address, by host, port, address:
 * @fn(@ctx, host, port, address, outcome, not_after) with the earliest
 * notAfter of its presented chain (NULL when it has none). @fn returns 0 to go
 * on, or a negative errno that stops and is returned. 0, -EIO.
 */
int views_address_outcomes(struct db *db,
			   int (*fn)(void *ctx, const char *host, int port, const char *address,
				     const char *outcome, const int64_t *not_after),
			   void *ctx, char *err, size_t errlen);
/**
 * For every enabled endpoint address (latest observation), by host, port,
 * address: @fn(@ctx, host, port, address, not_after) with the earliest
 * notAfter of its validated chain without the trust anchor, else of its
 * presented chain (as certificate_expiring judges); addresses with neither
 * are skipped. Stops on @fn's negative errno. 0, -EIO.
 */
int views_address_expiry(struct db *db,
			 int (*fn)(void *ctx, const char *host, int port, const char *address,
				   int64_t not_after),
			 void *ctx, char *err, size_t errlen);
/** The earliest next_probe_at of the enabled endpoints into *at (0: none). 0, -EIO. */
int views_next_probe_min(struct db *db, time_t *at, char *err, size_t errlen);

#endif
