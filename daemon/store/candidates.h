/* The candidate certificate table in the store (table candidates): chains
 * seen before deployment and their stored verdicts. Parsing, evaluation,
 * alert conditions and the API handler live in signals/candidates.c.
 *
 * Every function reads or writes all it is asked for or fails: a busy or
 * failing database is an error, never a shorter answer. Database failures
 * are -EBUSY (busy or locked) or -EIO, never -EINVAL or -ENOSPC (which
 * callers give their own meaning), with a message in @err.
 */
#ifndef PINWATCH_STORE_CANDIDATES_H
#define PINWATCH_STORE_CANDIDATES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct db;

/** Candidate ids listed at most by candidates_db_ids(). */
#define CANDIDATES_DB_MAX_IDS 100000

/**
 * What candidate @id needs to be evaluated: its PEM chain (*pem) and host
 * (*host, NULL when it has none), both malloc'ed for the caller, and the
 * leaf's notBefore. -ENOENT ("no candidate ID"), -ENOMEM or a database
 * error (then both are NULL).
 */
int candidates_db_load(struct db *db, int64_t id, char **pem, char **host, int64_t *not_before,
		       char *err, size_t errlen);

/** Store the verdict (JSON text) of candidate @id evaluated at @now. 0 or a database error. */
int candidates_db_save_verdict(struct db *db, int64_t id, time_t now, const char *verdict,
			       double max_stranded, bool would_strand, char *err, size_t errlen);

/**
 * The ids of all candidates in id order (at most CANDIDATES_DB_MAX_IDS)
 * into a new array *ids of *n (free() it; NULL when none). 0, -ENOMEM or a
 * database error.
 */
int candidates_db_ids(struct db *db, int64_t **ids, size_t *n, char *err, size_t errlen);

/** Whether some endpoint has host name @host (*known). 0 or a database error. */
int candidates_db_host_known(struct db *db, const char *host, bool *known, char *err,
			     size_t errlen);

/** The candidate whose chain hashes to @chain_sha256 (*id; 0: none). 0 or a database error. */
int candidates_db_find(struct db *db, const uint8_t chain_sha256[32], int64_t *id, char *err,
		       size_t errlen);

/** Candidates whose notAfter is after @now (*n). 0 or a database error. */
int candidates_db_count_live(struct db *db, time_t now, int64_t *n, char *err, size_t errlen);

/** A new candidate row. Borrowed pointers. */
struct candidates_db_row {
	const char *source; /**< "ct" or "manual" */
	const char *host;   /**< NULL: every endpoint the leaf covers */
	uint8_t chain_sha256[32], leaf_sha256[32];
	const char *chain_pem;
	int chain_length;
	const char *subject, *issuer;
	int64_t not_before, not_after;
	const char *dns_names, *pins; /**< JSON arrays as text */
	int64_t added_at;
};

/** Insert @r; its id into *id. 0 or a database error. */
int candidates_db_insert(struct db *db, const struct candidates_db_row *r, int64_t *id, char *err,
			 size_t errlen);

/** Delete candidate @id (none: no change). 0 or a database error. */
int candidates_db_delete(struct db *db, int64_t id, char *err, size_t errlen);

/**
 * Candidates as JSON, newest first (at most 10000): id, source, host,
 * subject, issuer, not_before, not_after, dns_names, pins, leaf_sha256,
 * added_at, evaluated_at, would_strand, max_stranded, verdict. @id > 0:
 * that one as an object. Caller owns *out. 0, -ENOENT ("no candidate ID"),
 * -ENOMEM or a database error.
 */
int candidates_db_json(struct db *db, int64_t id, json_t **out, char *err, size_t errlen);

#endif
