/* The pin-failure report tables in the store: reports, their clusters and
 * the clusters' day counts (tables reports, report_clusters,
 * report_cluster_days). Parsing, classification, limits and the alert
 * conditions live in signals/reports.c; this module only reads and writes
 * rows.
 *
 * Every function reads or writes all it is asked for or fails: a busy or
 * failing database is an error, never a shorter answer. Database failures
 * are -EBUSY (busy or locked) or -EIO, with a message in @err; the write
 * functions expect the caller's transaction (db_begin()).
 */
#ifndef PINWATCH_STORE_REPORTS_H
#define PINWATCH_STORE_REPORTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct db;

/** The inventory rows a report joins to (0: none). */
struct reports_db_join {
	int64_t app_id, version_id, endpoint_id;
};

/**
 * Join a report to the inventory: the app by @bundle_id (NULL: none; the
 * one of @platform, compared in lower case, first, then the lowest id), its
 * version by @app_version (NULL: none), the endpoint by @host (the one on
 * @port first, then on 443, then the lowest id). 0 or a database error.
 */
int reports_db_join(struct db *db, const char *bundle_id, const char *platform,
		    const char *app_version, const char *host, int port,
		    struct reports_db_join *out, char *err, size_t errlen);

/**
 * Whether endpoint @endpoint_id has observations seen within [@from, @to]
 * (*any), and whether the leaf of one of their presented chains has SHA-256
 * @leaf_sha or SPKI pin @leaf_spki (*match; both NULL: nothing to compare,
 * *match false). 0 or a database error.
 */
int reports_db_observed(struct db *db, int64_t endpoint_id, int64_t from, int64_t to,
			const uint8_t *leaf_sha, const uint8_t *leaf_spki, bool *any, bool *match,
			char *err, size_t errlen);

/** One report counted into its cluster (reports_db_cluster_count()). Borrowed pointers. */
struct reports_db_cluster {
	uint8_t key[32]; /**< the cluster key */
	struct reports_db_join join;
	const char *bundle_id, *app_version; /**< NULL: none */
	const char *hostname;
	int port;
	uint8_t chain_sha256[32];
	int chain_length;
	const uint8_t *leaf_sha256, *leaf_spki; /**< 32 bytes each; NULL: no leaf */
	const char *leaf_subject, *leaf_issuer; /**< NULL with no leaf */
	const char *classification;
};

/**
 * Count one report of @c at @now: the cluster with @c->key gets @c's join
 * and classification, last_seen max(last_seen, @now) and one more report;
 * when there is none it is created with one report, seen at @now. Then the
 * day count of @day ("YYYY-MM-DD") of that cluster grows by one. *id: the
 * cluster; *created: whether it is new. 0 or a database error.
 */
int reports_db_cluster_count(struct db *db, const struct reports_db_cluster *c, time_t now,
			     const char *day, int64_t *id, bool *created, char *err, size_t errlen);

/**
 * Keep at most @max clusters besides @keep (clusters of unknown app
 * versions first, then the least recently seen go, with their reports; the
 * number removed in *evicted) and no day counts before @oldest_day. 0 or a
 * database error.
 */
int reports_db_bound_clusters(struct db *db, int64_t keep, int64_t max, const char *oldest_day,
			      int *evicted, char *err, size_t errlen);

/** One stored report (table reports). Borrowed pointers; NULL text is SQL NULL. */
struct reports_db_report {
	int64_t received_at;
	const char *source, *source_group, *format;
	const char *bundle_id, *app_version, *platform, *platform_version, *trustkit_version;
	const char *hostname, *noted_hostname;
	int port;
	int include_subdomains, enforce, validation_result; /**< -1: NULL */
	int64_t date_time;				    /**< 0: NULL */
	const char *expiration;
	const char *served_chain, *validated_chain, *known_pins; /**< JSON text */
	struct reports_db_join join;
	int64_t cluster_id;
	const char *classification;
};

/** Insert @r; its id into *id. 0 or a database error. */
int reports_db_insert(struct db *db, const struct reports_db_report *r, int64_t *id, char *err,
		      size_t errlen);

/**
 * Keep at most @max reports (reports of unknown app versions first, then
 * the oldest go; the number removed in *evicted). 0 or a database error.
 */
int reports_db_evict(struct db *db, int64_t max, int *evicted, char *err, size_t errlen);

/**
 * The @limit most recently seen clusters as a new JSON array *out: id,
 * classification, app, bundle_id, app_version, host, port, report_count,
 * first_seen, last_seen, leaf {sha256, spki, subject, issuer}, endpoint_id,
 * app_id, version_id, days [{day, count}] of the days from @since_day
 * ("YYYY-MM-DD") on. 0, -ENOMEM or a database error.
 */
int reports_db_clusters_json(struct db *db, int64_t limit, const char *since_day, json_t **out,
			     char *err, size_t errlen);

/** A cluster seen recently (reports_db_active()); pointers live during the call. */
struct reports_db_active {
	int64_t id;
	const uint8_t *key;	    /**< 32 bytes; NULL when the row holds no valid key */
	const char *classification; /**< NULL when the row holds none */
	const char *app;	    /**< the app's name, else the reported bundle id; may be NULL */
	const char *app_version, *hostname, *leaf_issuer; /**< may be NULL */
	int port;
	int64_t report_count, first_seen, last_seen;
	int64_t endpoint_id, app_id; /**< 0: none */
	int64_t sources;	     /**< distinct source groups among its stored reports */
	bool known_version;	     /**< joined to an inventoried version */
	bool app_known;		     /**< joined to an inventoried app */
};

/**
 * Call @fn(@ctx, row) for every cluster last seen at or after @since,
 * ordered by host, port and id. @fn returns 0 to go on or a negative errno
 * that stops the walk and is returned (with "reading clusters: out of
 * memory" or "reading clusters: a malformed row" in @err). 0 or a database
 * error.
 */
int reports_db_active(struct db *db, time_t since,
		      int (*fn)(void *ctx, const struct reports_db_active *row), void *ctx,
		      char *err, size_t errlen);

#endif
