#include "store/alertlog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "base/util.h"

static int sql_fail(struct db *db, const char *what, char *err, size_t errlen)
{
	return util_err(err, errlen, -EIO, "%s: %s", what, db_errmsg(db));
}

static char *col_strdup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? strdup((const char *)t) : NULL;
}

static void col_copy(sqlite3_stmt *s, int i, char *out, size_t len, bool truncate)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	int n = snprintf(out, len, "%s", t ? (const char *)t : "");
	if (!truncate && (n < 0 || (size_t)n >= len))
		out[0] = '\0';
}

void alertlog_rows_free(struct alertlog_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].summary);
		free(rows[i].details);
	}
	free(rows);
}

int alertlog_firing(struct db *db, size_t max, struct alertlog_row **out, size_t *nout, char *err,
		    size_t errlen)
{
	static const char sql[] =
		"SELECT id, fingerprint, kind, severity, endpoint_id, starts_at,"
		" last_sent_at, summary, details FROM alerts WHERE status = 'firing'";
	sqlite3_stmt *s = db_stmt(db, sql);
	struct alertlog_row *rows = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	if (!s)
		return sql_fail(db, "loading alerts", err, errlen);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			if (cap >= max) {
				sqlite3_reset(s);
				alertlog_rows_free(rows, n);
				return util_err(err, errlen, -E2BIG, "too many firing alerts");
			}
			size_t ncap = cap ? cap * 2 : 64;
			struct alertlog_row *nr = realloc(rows, ncap * sizeof(*nr));
			if (!nr) {
				sqlite3_reset(s);
				alertlog_rows_free(rows, n);
				return util_err(err, errlen, -ENOMEM, "out of memory");
			}
			rows = nr;
			cap = ncap;
		}
		struct alertlog_row *r = &rows[n];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(s, 0);
		col_copy(s, 1, r->fingerprint, sizeof(r->fingerprint), true);
		col_copy(s, 2, r->kind, sizeof(r->kind), false);
		col_copy(s, 3, r->severity, sizeof(r->severity), false);
		r->endpoint_id = sqlite3_column_int64(s, 4);
		r->starts_at = (time_t)sqlite3_column_int64(s, 5);
		r->last_sent_at = (time_t)sqlite3_column_int64(s, 6);
		r->summary = col_strdup(s, 7);
		r->details = col_strdup(s, 8);
		n++;
	}
	if (rc != SQLITE_DONE) {
		rc = sql_fail(db, "loading alerts", err, errlen);
		sqlite3_reset(s);
		alertlog_rows_free(rows, n);
		return rc;
	}
	sqlite3_reset(s);
	*out = rows;
	*nout = n;
	return 0;
}

int alertlog_silenced(struct db *db, time_t now, const char *fingerprint, int64_t endpoint_id,
		      bool *out, char *err, size_t errlen)
{
	static const char sql[] = "SELECT 1 FROM silences WHERE until > ?1 AND (fingerprint = ?2"
				  " OR (?3 <> 0 AND endpoint_id = ?3)) LIMIT 1";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return sql_fail(db, "reading silences", err, errlen);
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, endpoint_id);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = sql_fail(db, "reading silences", err, errlen);
		sqlite3_reset(s);
		return rc;
	}
	sqlite3_reset(s);
	*out = rc == SQLITE_ROW;
	return 0;
}

/* Step @s (bound) to its end; reset it. 0 or -EIO "<what>: ...". */
static int step_done(struct db *db, sqlite3_stmt *s, const char *what, char *err, size_t errlen)
{
	int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : sql_fail(db, what, err, errlen);
	sqlite3_reset(s);
	return rc;
}

int alertlog_open(struct db *db, const char *fingerprint, const char *kind, int64_t endpoint_id,
		  int64_t app_id, const char *severity, const char *summary, const char *details,
		  time_t now, int64_t *id, char *err, size_t errlen)
{
	static const char sql[] =
		"INSERT INTO alerts (fingerprint, kind, endpoint_id, app_id, severity, status,"
		" summary, details, starts_at, updated_at) VALUES (?1, ?2, NULLIF(?3, 0), "
		"NULLIF(?4, 0),"
		" ?5, 'firing', ?6, ?7, ?8, ?8)";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return sql_fail(db, "opening alert", err, errlen);
	sqlite3_bind_text(s, 1, fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, endpoint_id);
	sqlite3_bind_int64(s, 4, app_id);
	sqlite3_bind_text(s, 5, severity, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, summary, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, details, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, now);
	int rc = step_done(db, s, "opening alert", err, errlen);
	if (!rc)
		*id = sqlite3_last_insert_rowid(db_handle(db));
	return rc;
}

int alertlog_update(struct db *db, int64_t id, const char *severity, const char *summary,
		    const char *details, time_t now, char *err, size_t errlen)
{
	static const char sql[] = "UPDATE alerts SET severity = ?2, summary = ?3, details = ?4,"
				  " updated_at = ?5 WHERE id = ?1";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return sql_fail(db, "updating alert", err, errlen);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, severity, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, summary, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, details, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, now);
	return step_done(db, s, "updating alert", err, errlen);
}

int alertlog_resolve(struct db *db, int64_t id, time_t ends, time_t now, char *err, size_t errlen)
{
	static const char sql[] = "UPDATE alerts SET status = 'resolved', ends_at = ?2,"
				  " updated_at = ?3 WHERE id = ?1";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return sql_fail(db, "resolving alert", err, errlen);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, ends);
	sqlite3_bind_int64(s, 3, now);
	return step_done(db, s, "resolving alert", err, errlen);
}

int alertlog_sent(struct db *db, int64_t id, time_t now, char *err, size_t errlen)
{
	static const char sql[] = "UPDATE alerts SET last_sent_at = ?2 WHERE id = ?1";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return sql_fail(db, "updating alert", err, errlen);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	return step_done(db, s, "updating alert", err, errlen);
}
