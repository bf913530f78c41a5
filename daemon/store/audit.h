/* The append-only, hash-chained audit log (table audit_log).
 *
 * Every change to the inventory appends one row: time, actor ("cli:<user>",
 * "token:<name>"), action ("create", "update", "delete", "set_policies",
 * "adoption", ...), object type and id, and the object before and after as
 * JSON (NULL for "did not exist").
 *
 * Chaining. Each row stores prev_hash (the previous row's hash; 64 "0" for
 * the first row) and
 *
 *     hash = lower-hex( SHA-256( prev_hash || canonical(row) ) )
 *
 * where prev_hash is its 64 ASCII hex characters and canonical(row) is the
 * concatenation, in this order, of the fields
 *
 *     at (decimal unix seconds, no sign, no leading zeros), actor, action,
 *     object_type, object_id, before, after
 *
 * each written as a netstring "<byte length in decimal>:<bytes>," and a
 * NULL field written as "~,". before/after are the exact text stored in the
 * row (compact JSON, keys sorted, ASCII only, as audit_append writes it).
 * The row id is not part of the hash: order is carried by prev_hash.
 * audit_verify() also refuses a row whose `at` is not an INTEGER or whose
 * text fields are not TEXT free of NUL bytes (so nothing can hide beyond
 * what is hashed).
 * Example: at=1700000000, actor "cli:ann", action "create", type "app",
 * id "shop", before NULL, after {"a":1} gives
 *   "10:1700000000,7:cli:ann,6:create,3:app,4:shop,~,7:{"a":1},"
 */
#ifndef PINWATCH_AUDIT_H
#define PINWATCH_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct db;

#define AUDIT_HASH_HEX 65 /* 64 hex digits + NUL */

/**
 * Append one row. Must be called inside the caller's transaction (db_begin);
 * returns -EINVAL otherwise, so that the change and its audit row commit or
 * roll back together. @before/@after are borrowed (not stolen); either may be
 * NULL. @object_id may be NULL. Returns 0 or a negative errno with a message.
 */
int audit_append(struct db *db, const char *actor, const char *action, const char *object_type,
		 const char *object_id, json_t *before, json_t *after, char *err, size_t errlen);

/**
 * Finish a change made inside the caller's transaction (db_begin): append its
 * audit row (object @object_type, @object_id written in decimal; @before and
 * @after borrowed, either may be NULL) and commit. When either fails, roll
 * back and return the negative errno with the message in @err (the COMMIT
 * error is SQLite's message). 0 when committed.
 */
int audit_commit(struct db *db, const char *actor, const char *action, const char *object_type,
		 int64_t object_id, json_t *before, json_t *after, char *err, size_t errlen);

/**
 * The hash of the latest row into @out ("0"*64 when the log is empty) and the
 * number of rows into @count (may be NULL). 0 or negative errno.
 */
int audit_head(struct db *db, char out[AUDIT_HASH_HEX], int64_t *count, char *err, size_t errlen);

/** Filter of audit_list(); zero-initialise for "everything". */
struct audit_filter {
	time_t since;		 /**< rows with at >= since; 0: no bound */
	const char *object_type; /**< NULL: any */
	const char *object_id;	 /**< NULL: any (only used with object_type) */
	int64_t after_id;	 /**< rows with id > after_id (paging); 0: from the start */
	int64_t limit;		 /**< at most this many rows; 0: no limit */
};

/**
 * Rows matching @f in ascending id order as a new JSON array of objects
 * {id, at (RFC 3339 UTC), actor, action, object_type, object_id, before,
 * after, prev_hash, hash}; before/after are parsed JSON (null when absent).
 * Caller owns *out. 0 or negative errno.
 */
int audit_list(struct db *db, const struct audit_filter *f, json_t **out, char *err, size_t errlen);

/** What audit_verify() found. */
struct audit_verify_result {
	int64_t rows;		   /**< rows checked */
	int64_t bad_id;		   /**< id of the first bad row; 0 when none */
	char reason[256];	   /**< why that row (or the head) is bad */
	char head[AUDIT_HASH_HEX]; /**< hash of the last row checked */
	bool head_missing;	   /**< @expect_head given and not in the chain */
};

/**
 * Walk the whole log in id order, recomputing every hash and checking every
 * prev_hash link. With @expect_head (64 hex, a head saved earlier with
 * audit_head) that hash must also be the hash of some row of the intact
 * chain; rows appended after it are fine, rows deleted from the tail (or
 * a rewritten log) are caught. Returns 0 when intact, -EBADMSG when broken
 * (details in @res), other negative errno on database errors.
 */
int audit_verify(struct db *db, const char *expect_head, struct audit_verify_result *res, char *err,
		 size_t errlen);

/**
 * The canonical content of a row as defined above, into a new malloc'd
 * buffer (*out, length *outlen). Exposed for tests and external verifiers.
 * 0 or -ENOMEM.
 */
int audit_canonical(int64_t at, const char *actor, const char *action, const char *object_type,
		    const char *object_id, const char *before, const char *after, char **out,
		    size_t *outlen);

#endif
