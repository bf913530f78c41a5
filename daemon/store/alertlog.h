/* The alerts table in the store: alert episodes as the alerts engine
 * (alerts/alerts.c) opens, updates and resolves them, and whether a silence
 * covers one. Kinds and severities are their names (alerts.h); the engine
 * decides, this module only reads and writes rows. Every write runs in the
 * caller's transaction when there is one. Errors: -EIO (message "<what>:
 * <SQLite's message>" in @err), -ENOMEM, -E2BIG.
 */
#ifndef PINWATCH_ALERTLOG_H
#define PINWATCH_ALERTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

struct db;

/** One firing alert as stored. */
struct alertlog_row {
	int64_t id;
	char fingerprint[128]; /**< truncated to fit (the schema allows 128 bytes) */
	char kind[32];	       /**< name; "" when longer */
	char severity[16];     /**< name; "" when longer */
	int64_t endpoint_id;   /**< 0: none */
	time_t starts_at, last_sent_at;
	char *summary, *details; /**< owned; may be NULL */
};

/**
 * The firing alerts (in no particular order) into a new array *rows of *n;
 * free with alertlog_rows_free. -E2BIG ("too many firing alerts") when the
 * array would have to grow beyond @max rows.
 */
int alertlog_firing(struct db *db, size_t max, struct alertlog_row **rows, size_t *n, char *err,
		    size_t errlen);
/** Free @rows from alertlog_firing (NULL-safe). */
void alertlog_rows_free(struct alertlog_row *rows, size_t n);

/** *out: a silence still running at @now covers @fingerprint or endpoint @endpoint_id (0: none). */
int alertlog_silenced(struct db *db, time_t now, const char *fingerprint, int64_t endpoint_id,
		      bool *out, char *err, size_t errlen);

/**
 * Open a firing alert (endpoint_id/app_id 0: none) starting at @now; its id
 * into *id. Strings are copied.
 */
int alertlog_open(struct db *db, const char *fingerprint, const char *kind, int64_t endpoint_id,
		  int64_t app_id, const char *severity, const char *summary, const char *details,
		  time_t now, int64_t *id, char *err, size_t errlen);
/** Set severity, summary and details of alert @id (updated at @now). */
int alertlog_update(struct db *db, int64_t id, const char *severity, const char *summary,
		    const char *details, time_t now, char *err, size_t errlen);
/** Resolve alert @id: ended at @ends, updated at @now. */
int alertlog_resolve(struct db *db, int64_t id, time_t ends, time_t now, char *err, size_t errlen);
/** Record that a notification about alert @id was queued at @now. */
int alertlog_sent(struct db *db, int64_t id, time_t now, char *err, size_t errlen);

/* Listing and silences, as alerts/alerts_admin.c documents them in alerts.h
 * (alerts_list_json, alerts_firing_counts, alerts_endpoint_lookup,
 * alerts_silence_remove, alerts_silences_json: same contracts). */
int alertlog_list_json(struct db *db, bool all, int limit, time_t now, json_t **out, char *err,
		       size_t errlen);
int alertlog_firing_counts(struct db *db, int64_t out[4]);
int alertlog_endpoint_lookup(struct db *db, const char *spec, int64_t *id, char *err,
			     size_t errlen);
/**
 * Store a silence (inputs checked by alerts_silence_add) and its audit row
 * ("create" "silence") in one transaction; its id into *id.
 */
int alertlog_silence_add(struct db *db, const char *actor, const char *fingerprint,
			 int64_t endpoint_id, time_t until, const char *reason, time_t now,
			 int64_t *id, char *err, size_t errlen);
int alertlog_silence_remove(struct db *db, const char *actor, int64_t id, time_t now, char *err,
			    size_t errlen);
int alertlog_silences_json(struct db *db, time_t now, json_t **out, char *err, size_t errlen);

#endif
