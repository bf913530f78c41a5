#include "store/webhooks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit.h"
#include "store/db.h"
#include "base/array.h"
#include "base/util.h"

static void col_copy(sqlite3_stmt *s, int i, char *out, size_t len)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	if (!t || snprintf(out, len, "%s", (const char *)t) >= (int)len)
		out[0] = '\0';
}

int webhooks_enabled(struct db *db, struct webhooks_target **out, size_t *n, char *err,
		     size_t errlen)
{
	static const char sql[] =
		"SELECT id, format, min_severity FROM webhooks WHERE enabled = 1 ORDER BY id";
	struct webhooks_target *v = NULL;
	size_t cnt = 0, cap = 0;
	int src = SQLITE_DONE, rc = 0;
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return util_err(err, errlen, -EIO, "loading webhooks: %s", db_errmsg(db));
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt >= WEBHOOKS_MAX)
			break; /* hard cap */
		if (ARRAY_RESERVE(v, cap, cnt + 1, WEBHOOKS_MAX)) {
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
			break;
		}
		v[cnt].id = sqlite3_column_int64(s, 0);
		col_copy(s, 1, v[cnt].format, sizeof(v[cnt].format));
		col_copy(s, 2, v[cnt].min_severity, sizeof(v[cnt].min_severity));
		cnt++;
	}
	if (!rc && src != SQLITE_ROW && src != SQLITE_DONE)
		rc = util_err(err, errlen, -EIO, "loading webhooks: %s", db_errmsg(db));
	sqlite3_reset(s);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int webhooks_enqueue(struct db *db, int64_t webhook_id, int64_t alert_id, const char *key,
		     const char *body, time_t now, char *err, size_t errlen)
{
	static const char sql[] =
		"INSERT INTO webhook_outbox (webhook_id, alert_id, idempotency_key, body, state,"
		" attempts, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, "
		"?5)"
		" ON CONFLICT (webhook_id, idempotency_key) DO UPDATE SET body = excluded.body,"
		" state = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at,"
		" created_at = excluded.created_at, last_status = NULL, last_error = NULL";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return util_err(err, errlen, -EIO, "queueing notification: %s", db_errmsg(db));
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, webhook_id);
	db_bind_int64(&b, alert_id);
	db_bind_text(&b, key);
	db_bind_text(&b, body);
	db_bind_int64(&b, (int64_t)now);
	int rc = db_bound_step(&b) == SQLITE_DONE ? 0 : -EIO;
	if (rc)
		util_err(err, errlen, rc, "queueing notification: %s", db_errmsg(db));
	sqlite3_reset(s);
	return rc;
}

int webhooks_outbox_counts(struct db *db, int64_t *pending, int64_t *given_up)
{
	static const char sql[] = "SELECT coalesce(sum(state = 'pending'), 0),"
				  " coalesce(sum(state = 'given_up'), 0) FROM webhook_outbox";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return -EIO;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*pending = sqlite3_column_int64(s, 0);
		*given_up = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

/* ---- delivery ------------------------------------------------------------ */

/* The connection's own message: the worker's log lines show it as it is. */
static int sqlerr(struct db *db, int src, char *err, size_t errlen)
{
	return util_err(err, errlen, db_errno(src), "%s", db_errmsg(db));
}

static char *col_dup(sqlite3_stmt *s, int i, int *rc)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	char *d = t ? strdup((const char *)t) : NULL;
	if (t && !d)
		*rc = -ENOMEM;
	return d;
}

void webhooks_due_free(struct webhooks_due *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].key);
		free(rows[i].body);
		free(rows[i].url);
		free(rows[i].secret);
	}
	free(rows);
}

int webhooks_outbox_due(struct db *db, time_t now, size_t max, struct webhooks_due **rows,
			size_t *n, char *err, size_t errlen)
{
	static const char sql[] =
		"SELECT o.id, o.webhook_id, o.idempotency_key, o.body, o.attempts, "
		"o.next_attempt_at,"
		" o.created_at, w.url, w.secret FROM webhooks w JOIN webhook_outbox o ON o.id ="
		" (SELECT h.id FROM webhook_outbox h LEFT JOIN alerts a ON a.id = h.alert_id"
		"  WHERE h.webhook_id = w.id AND h.state = 'pending' AND (h.alert_id IS NULL OR"
		"  NOT EXISTS (SELECT 1 FROM webhook_outbox p WHERE p.webhook_id = h.webhook_id"
		"  AND p.state = 'pending' AND p.alert_id = h.alert_id AND p.id < h.id))"
		"  ORDER BY CASE a.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1"
		"  ELSE 2 END, h.id LIMIT 1)"
		" WHERE w.enabled = 1 AND o.next_attempt_at <= ?1 ORDER BY o.id LIMIT ?2";
	struct webhooks_due *v = NULL;
	size_t cnt = 0;
	int rc = 0, src = SQLITE_DONE;
	*rows = NULL;
	*n = 0;
	if (max == 0)
		return 0;
	if (max > WEBHOOKS_MAX)
		max = WEBHOOKS_MAX;
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, now);
	db_bind_int64(&b, (int64_t)max);
	if (db_bound(&b) != SQLITE_OK) {
		rc = sqlerr(db, db_bound(&b), err, errlen);
		sqlite3_reset(s);
		return rc;
	}
	v = calloc(max, sizeof(*v));
	if (!v) {
		sqlite3_reset(s);
		return util_err(err, errlen, -ENOMEM, "out of memory");
	}
	while (cnt < max && (src = sqlite3_step(s)) == SQLITE_ROW) {
		struct webhooks_due *d = &v[cnt++];
		d->id = sqlite3_column_int64(s, 0);
		d->webhook_id = sqlite3_column_int64(s, 1);
		d->attempts = sqlite3_column_int(s, 4);
		d->next_attempt_at = (time_t)sqlite3_column_int64(s, 5);
		d->created_at = (time_t)sqlite3_column_int64(s, 6);
		d->key = col_dup(s, 2, &rc);
		d->body = col_dup(s, 3, &rc);
		d->url = col_dup(s, 7, &rc);
		d->secret = col_dup(s, 8, &rc);
		if (rc)
			break;
	}
	if (rc)
		util_err(err, errlen, rc, "out of memory");
	else if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = sqlerr(db, src, err, errlen);
	sqlite3_reset(s);
	if (rc) {
		webhooks_due_free(v, cnt);
		return rc;
	}
	if (cnt == 0) {
		free(v);
		v = NULL;
	}
	*rows = v;
	*n = cnt;
	return 0;
}

int webhooks_outbox_give_up_old(struct db *db, time_t now, int64_t give_up_s, int *given_up,
				char *err, size_t errlen)
{
	static const char sql[] =
		"UPDATE webhook_outbox SET state = 'given_up', last_error = 'gave up after ' ||"
		" (?1 - created_at) || 's: ' || coalesce(last_error, 'never delivered')"
		" WHERE state = 'pending' AND created_at <= ?1 - ?2";
	static const char sql_any[] = "SELECT 1 FROM webhook_outbox WHERE state = 'pending'"
				      " AND created_at <= ?1 - ?2 LIMIT 1";
	if (given_up)
		*given_up = 0;
	sqlite3_stmt *s = db_stmt(db, sql_any);
	if (!s)
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, now);
	db_bind_int64(&b, give_up_s);
	int src = db_bound(&b) != SQLITE_OK ? db_bound(&b) : sqlite3_step(s);
	int rc = src == SQLITE_ROW || src == SQLITE_DONE ? 0 : sqlerr(db, src, err, errlen);
	sqlite3_reset(s);
	if (rc || src == SQLITE_DONE)
		return rc;
	if (!(s = db_stmt(db, sql)))
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	b = db_binder(s);
	db_bind_int64(&b, now);
	db_bind_int64(&b, give_up_s);
	src = db_bound(&b) != SQLITE_OK ? db_bound(&b) : sqlite3_step(s);
	if (src != SQLITE_DONE)
		rc = sqlerr(db, src, err, errlen);
	else if (given_up)
		*given_up = sqlite3_changes(db_handle(db));
	sqlite3_reset(s);
	return rc;
}

int webhooks_outbox_delivered(struct db *db, int64_t id, char *err, size_t errlen)
{
	static const char sql[] = "DELETE FROM webhook_outbox WHERE id = ?1";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, id);
	int src = db_bound(&b) != SQLITE_OK ? db_bound(&b) : sqlite3_step(s);
	int rc = src == SQLITE_DONE ? 0 : sqlerr(db, src, err, errlen);
	sqlite3_reset(s);
	return rc;
}

int webhooks_outbox_failed(struct db *db, const struct webhooks_attempt *a, char *err,
			   size_t errlen)
{
	static const char sql[] =
		"UPDATE webhook_outbox SET attempts = ?2, last_status = NULLIF(?3, 0), last_error "
		"= ?4,"
		" state = ?5, next_attempt_at = ?6 WHERE id = ?1 AND state = 'pending'";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, a->id);
	db_bind_int64(&b, a->attempts);
	db_bind_int64(&b, a->status);
	db_bind_text(&b, a->error);
	db_bind_text(&b, a->given_up ? "given_up" : "pending");
	db_bind_int64(&b, a->next_attempt_at);
	int src = db_bound(&b) != SQLITE_OK ? db_bound(&b) : sqlite3_step(s);
	int rc = src == SQLITE_DONE ? 0 : sqlerr(db, src, err, errlen);
	sqlite3_reset(s);
	return rc;
}

/* ---- configuration rows ------------------------------------------------- */

static json_t *webhook_row_json(sqlite3_stmt *s, webhooks_redact_fn redact)
{
	const char *url = (const char *)sqlite3_column_text(s, 1);
	char red[WEBHOOKS_URL_MAX + 16];
	if (redact && redact(url, red, sizeof(red)) != 0)
		snprintf(red, sizeof(red), "(unparsable URL)");
	return json_pack(
		"{s:I, s:s, s:s, s:s, s:b, s:I, s:b}", "id", (json_int_t)sqlite3_column_int64(s, 0),
		"url", redact ? red : url, "format", (const char *)sqlite3_column_text(s, 2),
		"min_severity", (const char *)sqlite3_column_text(s, 3), "enabled",
		sqlite3_column_int(s, 4), "created_at", (json_int_t)sqlite3_column_int64(s, 5),
		"has_secret", sqlite3_column_type(s, 6) != SQLITE_NULL);
}

int webhooks_add(struct db *db, const char *actor, const char *url, const char *format,
		 const char *secret, const char *min_severity, const char *url_shown, time_t now,
		 int64_t *id, char *err, size_t errlen)
{
	static const char sql[] =
		"INSERT INTO webhooks (url, format, secret, min_severity, enabled,"
		" created_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)";
	int64_t count = 0;
	int rc;
	if ((rc = db_begin(db)) != 0)
		return util_err(err, errlen, rc, "%s", db_errmsg(db));
	if (db_query_int(db, "SELECT count(*) FROM webhooks", &count) == 0 && count >= 1024) {
		db_rollback(db);
		return util_err(err, errlen, -ENOSPC, "too many webhooks (1024)");
	}
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s) {
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
		goto fail;
	}
	struct db_binder b = db_binder(s);
	db_bind_text(&b, url);
	db_bind_text(&b, format);
	db_bind_text(&b, secret);
	db_bind_text(&b, min_severity);
	db_bind_int64(&b, now);
	rc = db_bound_step(&b);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		rc = util_err(err, errlen, db_errno(rc), "adding webhook: %s", db_errmsg(db));
		goto fail;
	}
	*id = sqlite3_last_insert_rowid(db_handle(db));
	json_t *after = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)*id, "url", url_shown,
				  "format", format, "min_severity", min_severity);
	rc = audit_commit(db, actor, "create", "webhook", *id, NULL, after, err, errlen);
	json_decref(after);
	return rc;
fail:
	db_rollback(db);
	return rc;
}

int webhooks_remove(struct db *db, const char *actor, int64_t id, webhooks_redact_fn redact,
		    char *err, size_t errlen)
{
	static const char sql_get[] = "SELECT id, url, format, min_severity, enabled, created_at,"
				      " secret FROM webhooks WHERE id = ?";
	static const char sql_del[] = "DELETE FROM webhooks WHERE id = ?";
	int rc = db_begin(db);
	if (rc)
		return util_err(err, errlen, rc, "%s", db_errmsg(db));
	sqlite3_stmt *s = db_stmt(db, sql_get);
	json_t *before = NULL;
	if (!s) {
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
		goto fail;
	}
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, id);
	int src = db_bound_step(&b);
	if (src == SQLITE_ROW)
		before = webhook_row_json(s, redact);
	sqlite3_reset(s);
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		rc = util_err(err, errlen, db_errno(src), "%s", db_errmsg(db));
		goto fail;
	}
	if (!before) {
		rc = util_err(err, errlen, -ENOENT, "no webhook with id %lld", (long long)id);
		goto fail;
	}
	s = db_stmt(db, sql_del);
	if (!s) {
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
		goto fail;
	}
	b = db_binder(s);
	db_bind_int64(&b, id);
	rc = db_bound_step(&b) == SQLITE_DONE ? 0
					      : util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	sqlite3_reset(s);
	if (rc)
		goto fail;
	rc = audit_commit(db, actor, "delete", "webhook", id, before, NULL, err, errlen);
	json_decref(before);
	return rc;
fail:
	json_decref(before);
	db_rollback(db);
	return rc;
}

int webhooks_list_json(struct db *db, webhooks_redact_fn redact, json_t **out, char *err,
		       size_t errlen)
{
	static const char sql[] =
		"SELECT w.id, w.url, w.format, w.min_severity, w.enabled, w.created_at, w.secret,"
		" (SELECT count(*) FROM webhook_outbox o WHERE o.webhook_id = w.id AND o.state = "
		"'pending'),"
		" (SELECT count(*) FROM webhook_outbox o WHERE o.webhook_id = w.id AND o.state = "
		"'given_up')"
		" FROM webhooks w ORDER BY w.id";
	sqlite3_stmt *s = db_stmt(db, sql);
	json_t *arr = json_array();
	int rc;
	if (!s || !arr) {
		json_decref(arr);
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *o = webhook_row_json(s, redact);
		if (!o)
			break;
		json_object_set_new(o, "pending", json_integer(sqlite3_column_int64(s, 7)));
		json_object_set_new(o, "given_up", json_integer(sqlite3_column_int64(s, 8)));
		json_array_append_new(arr, o);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return util_err(err, errlen, -EIO, "listing webhooks: %s", db_errmsg(db));
	}
	*out = arr;
	return 0;
}

int webhooks_outbox_json(struct db *db, const char *state, int limit, json_t **out, char *err,
			 size_t errlen)
{
	static const char sql[] = "SELECT id, webhook_id, alert_id, idempotency_key, state, "
				  "attempts, next_attempt_at,"
				  " last_status, last_error, created_at FROM webhook_outbox"
				  " WHERE ?1 IS NULL OR state = ?1 ORDER BY id LIMIT ?2";
	sqlite3_stmt *s = db_stmt(db, sql);
	json_t *arr = json_array();
	int rc;
	if (!s || !arr) {
		json_decref(arr);
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	}
	struct db_binder b = db_binder(s);
	db_bind_text(&b, state);
	db_bind_int64(&b, limit > 0 ? limit : 1000);
	while ((rc = db_bound_step(&b)) == SQLITE_ROW) {
		json_t *o = json_object();
		static const char *const names[] = {
			"id",	      "webhook_id", "alert_id",	       "idempotency_key",
			"state",      "attempts",   "next_attempt_at", "last_status",
			"last_error", "created_at"
		};
		for (int i = 0; o && i < 10; i++) {
			json_t *v;
			switch (sqlite3_column_type(s, i)) {
			case SQLITE_NULL:
				v = json_null();
				break;
			case SQLITE_INTEGER:
				v = json_integer(sqlite3_column_int64(s, i));
				break;
			default:
				v = json_string((const char *)sqlite3_column_text(s, i));
			}
			json_object_set_new(o, names[i], v);
		}
		if (o)
			json_array_append_new(arr, o);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return util_err(err, errlen, -EIO, "listing the outbox: %s", db_errmsg(db));
	}
	*out = arr;
	return 0;
}

int webhooks_outbox_retry(struct db *db, const char *actor, int64_t id, time_t now, char *err,
			  size_t errlen)
{
	static const char sql[] =
		"UPDATE webhook_outbox SET state = 'pending', attempts = 0,"
		" next_attempt_at = ?2, created_at = ?2 WHERE id = ?1 AND state = 'given_up'";
	int rc = db_begin(db);
	if (rc)
		return util_err(err, errlen, rc, "%s", db_errmsg(db));
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s) {
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
		goto fail;
	}
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, id);
	db_bind_int64(&b, now);
	rc = db_bound_step(&b);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
		goto fail;
	}
	if (sqlite3_changes(db_handle(db)) != 1) {
		rc = util_err(err, errlen, -ENOENT, "no given-up outbox row with id %lld",
			      (long long)id);
		goto fail;
	}
	json_t *before = json_pack("{s:s}", "state", "given_up");
	json_t *after = json_pack("{s:s}", "state", "pending");
	rc = audit_commit(db, actor, "update", "webhook_outbox", id, before, after, err, errlen);
	json_decref(before);
	json_decref(after);
	return rc;
fail:
	db_rollback(db);
	return rc;
}

int webhooks_target_get(struct db *db, int64_t id, char *url, size_t urllen, char *format,
			size_t formatlen, char *secret, size_t secretlen, char *err, size_t errlen)
{
	static const char sql[] = "SELECT url, format, secret FROM webhooks WHERE id = ?";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, id);
	int rc = db_bound_step(&b);
	if (rc == SQLITE_ROW) {
		snprintf(url, urllen, "%s", (const char *)sqlite3_column_text(s, 0));
		col_copy(s, 1, format, formatlen);
		if (sqlite3_column_text(s, 2))
			snprintf(secret, secretlen, "%s", (const char *)sqlite3_column_text(s, 2));
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return util_err(err, errlen, rc == SQLITE_DONE ? -ENOENT : -EIO,
				"no webhook with id %lld", (long long)id);
	return 0;
}
