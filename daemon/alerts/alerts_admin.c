/* Alerts as people see and steer them: listing, silences. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "store/audit.h"
#include "store/db.h"
#include "base/util.h"

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

int alerts_list_json(struct db *db, bool all, int limit, time_t now, json_t **out, char *err,
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
	sqlite3_bind_int(s, 1, all);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int(s, 3, limit > 0 ? limit : 1000);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
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

int alerts_firing_counts(struct db *db, int64_t out[4])
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

int alerts_endpoint_lookup(struct db *db, const char *spec, int64_t *id, char *err, size_t errlen)
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
	sqlite3_bind_text(s, 1, host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, port);
	int n = 0, rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
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

static int valid_text(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int alerts_silence_add(struct db *db, const char *actor, const char *fingerprint,
		       int64_t endpoint_id, time_t until, const char *reason, time_t now,
		       int64_t *id, char *err, size_t errlen)
{
	static const char sql[] =
		"INSERT INTO silences (fingerprint, endpoint_id, until, reason,"
		" created_by, created_at) VALUES (?1, NULLIF(?2, 0), ?3, ?4, ?5, ?6)";
	if ((!fingerprint || !*fingerprint) && endpoint_id <= 0)
		return util_err(err, errlen, -EINVAL, "a fingerprint or an endpoint is required");
	if (fingerprint && *fingerprint && !valid_text(fingerprint, ALERT_FINGERPRINT_MAX - 1))
		return util_err(err, errlen, -EINVAL, "bad fingerprint");
	if (!valid_text(reason, 1024))
		return util_err(err, errlen, -EINVAL,
				"a reason of 1 to 1024 printable characters is required");
	if (until <= now)
		return util_err(err, errlen, -EINVAL, "the silence must end in the future");
	int rc = db_begin(db);
	if (rc)
		return util_err(err, errlen, rc, "%s", db_errmsg(db));
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s) {
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
		goto fail;
	}
	sqlite3_bind_text(s, 1, fingerprint && *fingerprint ? fingerprint : NULL, -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, endpoint_id);
	sqlite3_bind_int64(s, 3, until);
	sqlite3_bind_text(s, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, now);
	rc = sqlite3_step(s);
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

int alerts_silence_remove(struct db *db, const char *actor, int64_t id, time_t now, char *err,
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
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
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
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : util_err(err, errlen, -EIO, "%s", db_errmsg(db));
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

int alerts_silences_json(struct db *db, time_t now, json_t **out, char *err, size_t errlen)
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
	sqlite3_bind_int64(s, 1, now);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
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
