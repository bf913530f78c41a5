#include "store/webhooks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
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
	size_t cnt = 0;
	int src = SQLITE_DONE, rc = 0;
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return util_err(err, errlen, -EIO, "loading webhooks: %s", db_errmsg(db));
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt >= WEBHOOKS_MAX)
			break; /* hard cap */
		struct webhooks_target *nv = realloc(v, (cnt + 1) * sizeof(*nv));
		if (!nv) {
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
			break;
		}
		v = nv;
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
	sqlite3_bind_int64(s, 1, webhook_id);
	sqlite3_bind_int64(s, 2, alert_id);
	sqlite3_bind_text(s, 3, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, body, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)now);
	int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -EIO;
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
