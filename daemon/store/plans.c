#include "store/plans.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "base/util.h"
#include "store/audit.h"
#include "store/db.h"

void plan_free(struct plan *p)
{
	if (!p)
		return;
	free(p->host);
	free(p->note);
	free(p->chain_pem);
	free(p->keys);
	free(p->created_by);
	free(p->cancelled_by);
	memset(p, 0, sizeof(*p));
}

void plans_free(struct plan *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		plan_free(&v[i]);
	free(v);
}

static int plan_check(struct plan *p, char *err, size_t errlen)
{
	if (!p->host || strlen(p->host) > 253 || model_normalize_host(p->host))
		return util_err(err, errlen, -EINVAL, "host: not a valid host name");
	if (p->port < 1 || p->port > 65535)
		return util_err(err, errlen, -EINVAL, "port: must be between 1 and 65535");
	if (p->not_before[0] && util_parse_date(p->not_before, &p->not_before_at))
		return util_err(err, errlen, -EINVAL, "not_before: not a date (YYYY-MM-DD)");
	if (!p->not_before[0])
		p->not_before_at = 0;
	if (p->note && (strlen(p->note) > PLANS_MAX_NOTE || util_has_ctrl(p->note)))
		return util_err(err, errlen, -EINVAL,
				"note: at most %d bytes without control characters",
				PLANS_MAX_NOTE);
	if (p->chain_pem && strlen(p->chain_pem) > PLANS_MAX_CHAIN)
		return util_err(err, errlen, -EINVAL, "chain: larger than %d bytes",
				PLANS_MAX_CHAIN);
	if (p->nkeys == 0 || p->nkeys > PLANS_MAX_KEYS)
		return util_err(err, errlen, -EINVAL, "keys: between 1 and %d planned keys",
				PLANS_MAX_KEYS);
	for (size_t i = 0; i < p->nkeys; i++)
		for (size_t k = 0; k < i; k++)
			if (!memcmp(p->keys[i], p->keys[k], 32))
				return util_err(err, errlen, -EINVAL,
						"keys[%zu]: duplicate of keys[%zu]", i, k);
	return 0;
}

/* The audited form of a plan: what it plans, not who recorded it. */
static json_t *plan_audit_json(const struct plan *p, bool cancelled)
{
	json_t *keys = json_array();
	char b64[64];
	for (size_t i = 0; keys && i < p->nkeys; i++)
		json_array_append_new(keys, json_string(util_pin_b64(p->keys[i], b64)));
	return json_pack("{s:s, s:i, s:o, s:o, s:o, s:b, s:b}", "host", p->host, "port", p->port,
			 "not_before", p->not_before[0] ? json_string(p->not_before) : json_null(),
			 "note", p->note ? json_string(p->note) : json_null(), "keys", keys,
			 "chain", p->chain_pem != NULL, "cancelled", cancelled);
}

/* Run the statement @b bound (NULL when it could not be prepared) that
 * returns no rows. 0, or a negative errno with SQLite's message. */
static int run_bound(struct db *db, const struct db_binder *b, char *err, size_t errlen)
{
	if (!b->st)
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	int rc = db_bound_step(b);
	sqlite3_reset(b->st);
	if (rc != SQLITE_DONE)
		return util_err(err, errlen, db_errno(rc), "%s", db_errmsg(db));
	return 0;
}

int plans_add(struct db *db, const char *actor, struct plan *p, char *err, size_t errlen)
{
	int64_t open;
	int rc = plan_check(p, err, errlen);
	if (rc)
		return rc;
	if (db_begin(db))
		return util_err(err, errlen, -EIO, "begin: %s", db_errmsg(db));
	if (db_query_int(db, "SELECT count(*) FROM plans WHERE cancelled_at IS NULL", &open)) {
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
		goto fail;
	}
	if (open >= PLANS_MAX_OPEN) {
		rc = util_err(err, errlen, -ENOSPC, "%d open plans already: cancel some first",
			      PLANS_MAX_OPEN);
		goto fail;
	}
	sqlite3_stmt *st = db_stmt(db, "INSERT INTO plans (host, port, not_before, note, chain_pem,"
				       " created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)");
	p->created_at = util_now();
	struct db_binder b = db_binder(st);
	db_bind_text(&b, p->host);
	db_bind_int64(&b, p->port);
	db_bind_text(&b, p->not_before[0] ? p->not_before : NULL);
	db_bind_text(&b, p->note);
	db_bind_text(&b, p->chain_pem);
	db_bind_int64(&b, p->created_at);
	db_bind_text(&b, actor);
	if ((rc = run_bound(db, &b, err, errlen)))
		goto fail;
	p->id = sqlite3_last_insert_rowid(db_handle(db));
	st = db_stmt(db, "INSERT INTO plan_keys (plan_id, pos, pin) VALUES (?, ?, ?)");
	for (size_t i = 0; i < p->nkeys; i++) {
		b = db_binder(st);
		db_bind_int64(&b, p->id);
		db_bind_int64(&b, (int64_t)i);
		db_bind_blob(&b, p->keys[i], 32);
		if ((rc = run_bound(db, &b, err, errlen)))
			goto fail;
	}
	free(p->created_by);
	if (!(p->created_by = strdup(actor))) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	json_t *after = plan_audit_json(p, false);
	rc = after ? audit_commit(db, actor, "create", "plan", p->id, NULL, after, err, errlen)
		   : util_err(err, errlen, -ENOMEM, "out of memory");
	json_decref(after);
	return rc; /* audit_commit rolled back on failure */
fail:
	db_rollback(db);
	return rc;
}

int plans_cancel(struct db *db, const char *actor, int64_t id, char *err, size_t errlen)
{
	struct plan p;
	int rc = plans_get(db, id, &p, err, errlen);
	if (rc)
		return rc;
	if (p.cancelled_at) {
		plan_free(&p);
		return util_err(err, errlen, -ENOENT, "plan %lld is already cancelled",
				(long long)id);
	}
	if (db_begin(db)) {
		plan_free(&p);
		return util_err(err, errlen, -EIO, "begin: %s", db_errmsg(db));
	}
	sqlite3_stmt *st = db_stmt(db, "UPDATE plans SET cancelled_at = ?, cancelled_by = ?"
				       " WHERE id = ? AND cancelled_at IS NULL");
	struct db_binder b = db_binder(st);
	db_bind_int64(&b, util_now());
	db_bind_text(&b, actor);
	db_bind_int64(&b, id);
	if ((rc = run_bound(db, &b, err, errlen)))
		goto fail;
	if (sqlite3_changes(db_handle(db)) == 0) {
		rc = util_err(err, errlen, -ENOENT, "plan %lld is already cancelled",
			      (long long)id);
		goto fail;
	}
	json_t *before = plan_audit_json(&p, false), *after = plan_audit_json(&p, true);
	rc = before && after
		     ? audit_commit(db, actor, "cancel", "plan", id, before, after, err, errlen)
		     : util_err(err, errlen, -ENOMEM, "out of memory");
	json_decref(before);
	json_decref(after);
	if (rc && !(before && after))
		db_rollback(db); /* audit_commit() rolls back its own failures */
	plan_free(&p);
	return rc;
fail:
	db_rollback(db);
	plan_free(&p);
	return rc;
}

static int dup_col(sqlite3_stmt *st, int col, char **out)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup((const char *)s);
	return *out ? 0 : -ENOMEM;
}

static int load_keys(struct db *db, struct plan *p, char *err, size_t errlen)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT pin FROM plan_keys WHERE plan_id = ? ORDER BY pos");
	struct db_binder b = db_binder(st);
	db_bind_int64(&b, p->id);
	if (db_bound(&b) != SQLITE_OK)
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	int step, rc = 0;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != 32 || p->nkeys >= PLANS_MAX_KEYS)
			continue;
		if (!p->keys && !(p->keys = calloc(PLANS_MAX_KEYS, 32))) {
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
			break;
		}
		memcpy(p->keys[p->nkeys++], sqlite3_column_blob(st, 0), 32);
	}
	sqlite3_reset(st);
	if (rc == 0 && step != SQLITE_DONE)
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	return rc;
}

#define PLAN_COLS                                                                      \
	"SELECT id, host, port, not_before, note, chain_pem, created_at, created_by, " \
	"cancelled_at, cancelled_by FROM plans"

static int read_row(sqlite3_stmt *st, struct plan *p)
{
	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, 0);
	p->port = sqlite3_column_int(st, 2);
	const unsigned char *nb = sqlite3_column_text(st, 3);
	if (nb && util_parse_date((const char *)nb, &p->not_before_at) == 0)
		snprintf(p->not_before, sizeof(p->not_before), "%s", (const char *)nb);
	p->created_at = sqlite3_column_int64(st, 6);
	p->cancelled_at = sqlite3_column_int64(st, 8);
	if (dup_col(st, 1, &p->host) || dup_col(st, 4, &p->note) || dup_col(st, 5, &p->chain_pem) ||
	    dup_col(st, 7, &p->created_by) || dup_col(st, 9, &p->cancelled_by) || !p->host) {
		plan_free(p);
		return -ENOMEM;
	}
	return 0;
}

int plans_get(struct db *db, int64_t id, struct plan *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = db_stmt(db, PLAN_COLS " WHERE id = ?");
	struct db_binder b = db_binder(st);
	db_bind_int64(&b, id);
	if (db_bound(&b) != SQLITE_OK)
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	int step = sqlite3_step(st), rc = 0;
	if (step == SQLITE_ROW)
		rc = read_row(st, out) ? util_err(err, errlen, -ENOMEM, "out of memory") : 0;
	else if (step == SQLITE_DONE)
		rc = util_err(err, errlen, -ENOENT, "no plan %lld", (long long)id);
	else
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	sqlite3_reset(st);
	if (rc == 0 && (rc = load_keys(db, out, err, errlen)))
		plan_free(out);
	return rc;
}

int plans_list(struct db *db, bool open_only, struct plan **out, size_t *n, char *err,
	       size_t errlen)
{
	struct plan *v = NULL;
	size_t cnt = 0, cap = 0;
	int step, rc = 0;
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(db, open_only ? PLAN_COLS " WHERE cancelled_at IS NULL"
							     " ORDER BY id DESC"
						 : PLAN_COLS " ORDER BY id DESC");
	if (!st)
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = ARRAY_RESERVE(v, cap, cnt + 1, ARRAY_MAX_ITEMS)))
			break;
		if ((rc = read_row(st, &v[cnt])))
			break;
		cnt++;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	else if (rc)
		util_err(err, errlen, rc, "out of memory");
	sqlite3_reset(st);
	for (size_t i = 0; rc == 0 && i < cnt; i++)
		rc = load_keys(db, &v[i], err, errlen);
	if (rc) {
		plans_free(v, cnt);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}
