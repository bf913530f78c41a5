#include "store/alertlog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit.h"
#include "store/db.h"
#include "base/array.h"
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
		int grc = ARRAY_RESERVE(rows, cap, n + 1, max);
		if (grc) {
			sqlite3_reset(s);
			alertlog_rows_free(rows, n);
			return util_err(err, errlen, grc,
					grc == -E2BIG ? "too many firing alerts" : "out of memory");
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
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, now);
	db_bind_text(&b, fingerprint);
	db_bind_int64(&b, endpoint_id);
	int rc = db_bound_step(&b);
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
/* Step the statement @b bound (not when a bind failed); 0 or an error about @what. */
static int step_done(struct db *db, const struct db_binder *b, const char *what, char *err,
		     size_t errlen)
{
	int rc = db_bound_step(b) == SQLITE_DONE ? 0 : sql_fail(db, what, err, errlen);
	sqlite3_reset(b->st);
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
	struct db_binder b = db_binder(s);
	db_bind_text(&b, fingerprint);
	db_bind_text(&b, kind);
	db_bind_int64(&b, endpoint_id);
	db_bind_int64(&b, app_id);
	db_bind_text(&b, severity);
	db_bind_text(&b, summary);
	db_bind_text(&b, details);
	db_bind_int64(&b, now);
	int rc = step_done(db, &b, "opening alert", err, errlen);
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
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, id);
	db_bind_text(&b, severity);
	db_bind_text(&b, summary);
	db_bind_text(&b, details);
	db_bind_int64(&b, now);
	return step_done(db, &b, "updating alert", err, errlen);
}

int alertlog_resolve(struct db *db, int64_t id, time_t ends, time_t now, char *err, size_t errlen)
{
	static const char sql[] = "UPDATE alerts SET status = 'resolved', ends_at = ?2,"
				  " updated_at = ?3 WHERE id = ?1";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return sql_fail(db, "resolving alert", err, errlen);
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, id);
	db_bind_int64(&b, ends);
	db_bind_int64(&b, now);
	return step_done(db, &b, "resolving alert", err, errlen);
}

int alertlog_sent(struct db *db, int64_t id, time_t now, char *err, size_t errlen)
{
	static const char sql[] = "UPDATE alerts SET last_sent_at = ?2 WHERE id = ?1";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return sql_fail(db, "updating alert", err, errlen);
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, id);
	db_bind_int64(&b, now);
	return step_done(db, &b, "updating alert", err, errlen);
}

/* ---- listing and silences (alerts_admin.c) ---- */

static json_t *text_or_null(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? json_string((const char *)t) : json_null();
}

static json_t *int_or_null(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? json_null()
							: json_integer(sqlite3_column_int64(s, i));
}

int alertlog_list_json(struct db *db, bool all, int limit, time_t now, json_t **out, char *err,
		       size_t errlen)
{
	static const char sql[] =
		"SELECT a.id, a.fingerprint, a.kind, a.severity, a.status, a.endpoint_id, a.app_id,"
		" a.summary, a.details, a.starts_at, a.ends_at, a.last_sent_at,"
		" EXISTS (SELECT 1 FROM silences s WHERE s.until > ?2 AND (s.fingerprint = "
		"a.fingerprint"
		" OR (a.endpoint_id IS NOT NULL AND s.endpoint_id = a.endpoint_id)))"
		" FROM alerts a WHERE ?1 OR a.status = 'firing'"
		" ORDER BY a.status = 'firing' DESC, a.starts_at DESC, a.id DESC LIMIT ?3";
	sqlite3_stmt *s = db_stmt(db, sql);
	json_t *arr = json_array();
	int rc;
	if (!s || !arr) {
		json_decref(arr);
		return util_err(err, errlen, -EIO, "listing alerts: %s", db_errmsg(db));
	}
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, all);
	db_bind_int64(&b, now);
	db_bind_int64(&b, limit > 0 ? limit : 1000);
	while ((rc = db_bound_step(&b)) == SQLITE_ROW) {
		const char *dt = (const char *)sqlite3_column_text(s, 8);
		json_t *details = dt ? json_loads(dt, 0, NULL) : NULL;
		json_t *ep = json_object_get(details, "endpoint");
		json_t *app = json_object_get(details, "app");
		json_t *o = json_pack(
			"{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
			"s:b}",
			"id", (json_int_t)sqlite3_column_int64(s, 0), "fingerprint",
			text_or_null(s, 1), "kind", text_or_null(s, 2), "severity",
			text_or_null(s, 3), "status", text_or_null(s, 4), "endpoint_id",
			int_or_null(s, 5), "endpoint",
			json_is_string(ep) ? json_copy(ep) : json_null(), "app_id",
			int_or_null(s, 6), "app",
			json_is_string(app) ? json_copy(app) : json_null(), "summary",
			text_or_null(s, 7), "details", details ? details : json_null(), "starts_at",
			int_or_null(s, 9), "ends_at", int_or_null(s, 10), "last_sent_at",
			int_or_null(s, 11), "silenced", sqlite3_column_int(s, 12));
		if (!o || json_array_append_new(arr, o)) {
			sqlite3_reset(s);
			json_decref(arr);
			return util_err(err, errlen, -ENOMEM, "out of memory");
		}
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return util_err(err, errlen, -EIO, "listing alerts: %s", db_errmsg(db));
	}
	*out = arr;
	return 0;
}

int alertlog_firing_counts(struct db *db, int64_t out[4])
{
	static const char sql[] = "SELECT coalesce(sum(severity = 'info'), 0),"
				  " coalesce(sum(severity = 'warning'), 0),"
				  " coalesce(sum(severity = 'critical'), 0)"
				  " FROM alerts WHERE status = 'firing'";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return -EIO;
	int rc = sqlite3_step(s);
	out[0] = 0;
	for (int i = 0; i < 3; i++)
		out[i + 1] = rc == SQLITE_ROW ? sqlite3_column_int64(s, i) : 0;
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

int alertlog_endpoint_lookup(struct db *db, const char *spec, int64_t *id, char *err, size_t errlen)
{
	static const char sql[] =
		"SELECT id FROM endpoints WHERE host = lower(?1) AND (?2 = 0 OR port = ?2) LIMIT 2";
	char host[300];
	int port = 0,
	    prc = spec ? util_parse_hostport(spec, 0, host, sizeof(host), &port) : -EINVAL;
	if (prc == -ERANGE)
		return util_err(err, errlen, -EINVAL, "bad port in '%s'", spec);
	if (prc)
		return util_err(err, errlen, -EINVAL, "bad endpoint '%s'", spec ? spec : "");
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	struct db_binder b = db_binder(s);
	db_bind_text(&b, host);
	db_bind_int64(&b, port);
	int n = 0, rc;
	while ((rc = db_bound_step(&b)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		n++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	if (n == 0)
		return util_err(err, errlen, -ENOENT, "no endpoint '%s' in the inventory", spec);
	if (n > 1)
		return util_err(err, errlen, -EINVAL,
				"'%s' names several endpoints; give HOST:PORT", spec);
	return 0;
}

int alertlog_silence_add(struct db *db, const char *actor, const char *fingerprint,
			 int64_t endpoint_id, time_t until, const char *reason, time_t now,
			 int64_t *id, char *err, size_t errlen)
{
	static const char sql[] =
		"INSERT INTO silences (fingerprint, endpoint_id, until, reason,"
		" created_by, created_at) VALUES (?1, NULLIF(?2, 0), ?3, ?4, ?5, ?6)";
	int rc = db_begin(db);
	if (rc)
		return util_err(err, errlen, rc, "%s", db_errmsg(db));
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s) {
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
		goto fail;
	}
	struct db_binder b = db_binder(s);
	db_bind_text(&b, fingerprint && *fingerprint ? fingerprint : NULL);
	db_bind_int64(&b, endpoint_id);
	db_bind_int64(&b, until);
	db_bind_text(&b, reason);
	db_bind_text(&b, actor);
	db_bind_int64(&b, now);
	rc = db_bound_step(&b);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		rc = util_err(err, errlen, db_errno(rc), "adding silence: %s", db_errmsg(db));
		goto fail;
	}
	*id = sqlite3_last_insert_rowid(db_handle(db));
	json_t *after =
		json_pack("{s:I, s:o, s:o, s:I, s:s}", "id", (json_int_t)*id, "fingerprint",
			  fingerprint && *fingerprint ? json_string(fingerprint) : json_null(),
			  "endpoint_id", endpoint_id > 0 ? json_integer(endpoint_id) : json_null(),
			  "until", (json_int_t)until, "reason", reason);
	rc = audit_commit(db, actor, "create", "silence", *id, NULL, after, err, errlen);
	json_decref(after);
	return rc;
fail:
	db_rollback(db);
	return rc;
}

int alertlog_silence_remove(struct db *db, const char *actor, int64_t id, time_t now, char *err,
			    size_t errlen)
{
	static const char sql_get[] = "SELECT until FROM silences WHERE id = ?";
	static const char sql_upd[] = "UPDATE silences SET until = ?2 WHERE id = ?1";
	int rc = db_begin(db);
	if (rc)
		return util_err(err, errlen, rc, "%s", db_errmsg(db));
	sqlite3_stmt *s = db_stmt(db, sql_get);
	if (!s) {
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
		goto fail;
	}
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, id);
	rc = db_bound_step(&b);
	int64_t until = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW) {
		rc = util_err(err, errlen, rc == SQLITE_DONE ? -ENOENT : -EIO,
			      "no silence with id %lld", (long long)id);
		goto fail;
	}
	if (until <= now) {
		rc = util_err(err, errlen, -ENOENT, "silence %lld has already ended",
			      (long long)id);
		goto fail;
	}
	if (!(s = db_stmt(db, sql_upd))) {
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
		goto fail;
	}
	b = db_binder(s);
	db_bind_int64(&b, id);
	db_bind_int64(&b, now);
	rc = db_bound_step(&b) == SQLITE_DONE ? 0
					      : util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	sqlite3_reset(s);
	if (rc)
		goto fail;
	json_t *before = json_pack("{s:I, s:I}", "id", (json_int_t)id, "until", (json_int_t)until);
	json_t *after = json_pack("{s:I, s:I}", "id", (json_int_t)id, "until", (json_int_t)now);
	rc = audit_commit(db, actor, "update", "silence", id, before, after, err, errlen);
	json_decref(before);
	json_decref(after);
	return rc;
fail:
	db_rollback(db);
	return rc;
}

int alertlog_silences_json(struct db *db, time_t now, json_t **out, char *err, size_t errlen)
{
	static const char sql[] = "SELECT s.id, s.fingerprint, s.endpoint_id, e.host || ':' || "
				  "e.port, s.until, s.reason,"
				  " s.created_by, s.created_at FROM silences s LEFT JOIN endpoints "
				  "e ON e.id = s.endpoint_id"
				  " WHERE s.until > ? ORDER BY s.id";
	sqlite3_stmt *s = db_stmt(db, sql);
	json_t *arr = json_array();
	int rc;
	if (!s || !arr) {
		json_decref(arr);
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	}
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, now);
	while ((rc = db_bound_step(&b)) == SQLITE_ROW) {
		json_t *o = json_pack("{s:I, s:o, s:o, s:o, s:I, s:o, s:o, s:I}", "id",
				      (json_int_t)sqlite3_column_int64(s, 0), "fingerprint",
				      text_or_null(s, 1), "endpoint_id", int_or_null(s, 2),
				      "endpoint", text_or_null(s, 3), "until",
				      (json_int_t)sqlite3_column_int64(s, 4), "reason",
				      text_or_null(s, 5), "created_by", text_or_null(s, 6),
				      "created_at", (json_int_t)sqlite3_column_int64(s, 7));
		if (o)
			json_array_append_new(arr, o);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	}
	*out = arr;
	return 0;
}
