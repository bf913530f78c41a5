/* The candidate certificate table. See store/candidates.h. */
#include "store/candidates.h"
#include "base/array.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "base/util.h"

static const char SQL_LOAD[] =
	"SELECT chain_pem, host, not_before, not_after FROM candidates WHERE id = ?1";

static char *col_strdup(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	return t ? strdup((const char *)t) : NULL;
}

int candidates_db_load(struct db *db, int64_t id, char **pem, char **host, int64_t *not_before,
		       char *err, size_t errlen)
{
	static const char what[] = "reading candidate";
	struct db_binder b = db_binder(db_stmt(db, SQL_LOAD));
	*pem = *host = NULL;
	*not_before = 0;
	db_bind_int64(&b, id);
	if (db_bound(&b) != SQLITE_OK)
		return db_run(db, &b, what, err, errlen);
	int src = sqlite3_step(b.st), rc = 0;
	if (src == SQLITE_ROW) {
		*pem = col_strdup(b.st, 0);
		*host = col_strdup(b.st, 1);
		*not_before = sqlite3_column_int64(b.st, 2);
		if (!*pem || (!*host && sqlite3_column_type(b.st, 1) != SQLITE_NULL))
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
	} else if (src == SQLITE_DONE) {
		rc = util_err(err, errlen, -ENOENT, "no candidate %lld", (long long)id);
	} else {
		rc = db_stmt_fail(db, src, what, err, errlen);
	}
	sqlite3_reset(b.st);
	if (rc) {
		free(*pem);
		free(*host);
		*pem = *host = NULL;
	}
	return rc;
}

static const char SQL_SAVE_VERDICT[] =
	"UPDATE candidates SET evaluated_at = ?2, verdict = ?3, max_stranded = ?4, "
	"would_strand = ?5 WHERE id = ?1";

int candidates_db_save_verdict(struct db *db, int64_t id, time_t now, const char *verdict,
			       double max_stranded, bool would_strand, char *err, size_t errlen)
{
	struct db_binder b = db_binder(db_stmt(db, SQL_SAVE_VERDICT));
	db_bind_int64(&b, id);
	db_bind_int64(&b, now);
	db_bind_text(&b, verdict);
	db_bind_double(&b, max_stranded);
	db_bind_int64(&b, would_strand ? 1 : 0);
	return db_run(db, &b, "saving verdict", err, errlen);
}

static const char SQL_IDS[] = "SELECT id FROM candidates ORDER BY id LIMIT ?1";

int candidates_db_ids(struct db *db, int64_t **ids, size_t *n, char *err, size_t errlen)
{
	static const char what[] = "listing candidates";
	struct db_binder b = db_binder(db_stmt(db, SQL_IDS));
	int64_t *v = NULL;
	size_t cnt = 0, cap = 0;
	int src, rc = 0;
	*ids = NULL;
	*n = 0;
	db_bind_int64(&b, CANDIDATES_DB_MAX_IDS);
	if (db_bound(&b) != SQLITE_OK)
		return db_run(db, &b, what, err, errlen);
	while ((src = sqlite3_step(b.st)) == SQLITE_ROW) {
		int grown = ARRAY_RESERVE(v, cap, cnt + 1, ARRAY_MAX_ITEMS);
		if (grown) {
			rc = util_err(err, errlen, grown,
				      grown == -ENOMEM ? "out of memory" : "too many candidates");
			break;
		}
		v[cnt++] = sqlite3_column_int64(b.st, 0);
	}
	if (!rc && src != SQLITE_DONE)
		rc = db_stmt_fail(db, src, what, err, errlen);
	sqlite3_reset(b.st);
	if (rc) {
		free(v);
		return rc;
	}
	*ids = v;
	*n = cnt;
	return 0;
}

int candidates_db_host_known(struct db *db, const char *host, bool *known, char *err, size_t errlen)
{
	static const char sql[] = "SELECT 1 FROM endpoints WHERE host = ?1 LIMIT 1";
	struct db_binder b = db_binder(db_stmt(db, sql));
	int64_t one;
	db_bind_text(&b, host);
	return db_run_int(db, &b, &one, known, "storing the candidate", err, errlen);
}

int candidates_db_find(struct db *db, const uint8_t chain_sha256[32], int64_t *id, char *err,
		       size_t errlen)
{
	static const char sql[] = "SELECT id FROM candidates WHERE chain_sha256 = ?1";
	struct db_binder b = db_binder(db_stmt(db, sql));
	db_bind_blob(&b, chain_sha256, 32);
	return db_run_int(db, &b, id, NULL, "storing the candidate", err, errlen);
}

int candidates_db_count_live(struct db *db, time_t now, int64_t *n, char *err, size_t errlen)
{
	static const char sql[] = "SELECT count(*) FROM candidates WHERE not_after > ?1";
	struct db_binder b = db_binder(db_stmt(db, sql));
	db_bind_int64(&b, now);
	return db_run_int(db, &b, n, NULL, "storing the candidate", err, errlen);
}

static const char SQL_INSERT[] =
	"INSERT INTO candidates (source, host, chain_sha256, leaf_sha256, chain_pem, chain_length, "
	"subject, issuer, not_before, not_after, dns_names, pins, added_at) VALUES "
	"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

int candidates_db_insert(struct db *db, const struct candidates_db_row *r, int64_t *id, char *err,
			 size_t errlen)
{
	struct db_binder b = db_binder(db_stmt(db, SQL_INSERT));
	db_bind_text(&b, r->source);
	db_bind_text(&b, r->host);
	db_bind_blob(&b, r->chain_sha256, 32);
	db_bind_blob(&b, r->leaf_sha256, 32);
	db_bind_text(&b, r->chain_pem);
	db_bind_int64(&b, r->chain_length);
	db_bind_text(&b, r->subject);
	db_bind_text(&b, r->issuer);
	db_bind_int64(&b, r->not_before);
	db_bind_int64(&b, r->not_after);
	db_bind_text(&b, r->dns_names);
	db_bind_text(&b, r->pins);
	db_bind_int64(&b, r->added_at);
	int rc = db_run(db, &b, "storing the candidate", err, errlen);
	*id = rc ? 0 : sqlite3_last_insert_rowid(db_handle(db));
	return rc;
}

int candidates_db_delete(struct db *db, int64_t id, char *err, size_t errlen)
{
	static const char sql[] = "DELETE FROM candidates WHERE id = ?1";
	struct db_binder b = db_binder(db_stmt(db, sql));
	db_bind_int64(&b, id);
	return db_run(db, &b, "removing", err, errlen);
}

/* ---- listing ---- */

static const char SQL_LIST[] =
	"SELECT id, source, host, subject, issuer, not_before, not_after, dns_names, pins, "
	"leaf_sha256, added_at, evaluated_at, would_strand, max_stranded, verdict "
	"FROM candidates WHERE ?1 = 0 OR id = ?1 ORDER BY added_at DESC, id DESC LIMIT 10000";

static json_t *parsed_or_null(sqlite3_stmt *s, int col)
{
	const char *t = (const char *)sqlite3_column_text(s, col);
	json_t *j = t ? json_loads(t, 0, NULL) : NULL;
	return j ? j : json_null();
}

static json_t *candidate_json(sqlite3_stmt *s)
{
	char hex[65];
	return json_pack(
		"{s:I,s:s,s:s?,s:s,s:s,s:I,s:I,s:o,s:o,s:s,s:I,s:o,s:b,s:o,s:o}", "id",
		(json_int_t)sqlite3_column_int64(s, 0), "source",
		(const char *)sqlite3_column_text(s, 1), "host",
		(const char *)sqlite3_column_text(s, 2), "subject",
		(const char *)sqlite3_column_text(s, 3), "issuer",
		(const char *)sqlite3_column_text(s, 4), "not_before",
		(json_int_t)sqlite3_column_int64(s, 5), "not_after",
		(json_int_t)sqlite3_column_int64(s, 6), "dns_names", parsed_or_null(s, 7), "pins",
		parsed_or_null(s, 8), "leaf_sha256",
		sqlite3_column_bytes(s, 9) == 32 ? util_hex(sqlite3_column_blob(s, 9), 32, hex)
						 : "",
		"added_at", (json_int_t)sqlite3_column_int64(s, 10), "evaluated_at",
		sqlite3_column_type(s, 11) == SQLITE_NULL
			? json_null()
			: json_integer(sqlite3_column_int64(s, 11)),
		"would_strand", sqlite3_column_int(s, 12) != 0, "max_stranded",
		sqlite3_column_type(s, 13) == SQLITE_NULL ? json_null()
							  : json_real(sqlite3_column_double(s, 13)),
		"verdict", parsed_or_null(s, 14));
}

int candidates_db_json(struct db *db, int64_t id, json_t **out, char *err, size_t errlen)
{
	static const char what[] = "listing candidates";
	struct db_binder b = db_binder(db_stmt(db, SQL_LIST));
	*out = NULL;
	db_bind_int64(&b, id);
	if (db_bound(&b) != SQLITE_OK)
		return db_run(db, &b, what, err, errlen);
	json_t *arr = json_array();
	int src = SQLITE_DONE;
	while (arr && (src = sqlite3_step(b.st)) == SQLITE_ROW) {
		json_t *o = candidate_json(b.st);
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	int rc = 0;
	if (!arr)
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
	else if (src != SQLITE_DONE)
		rc = db_stmt_fail(db, src, what, err, errlen);
	sqlite3_reset(b.st);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	if (id > 0) {
		json_t *one = json_incref(json_array_get(arr, 0));
		json_decref(arr);
		if (!one)
			return util_err(err, errlen, -ENOENT, "no candidate %lld", (long long)id);
		*out = one;
		return 0;
	}
	*out = arr;
	return 0;
}
