#include "store/inventory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/apps.h"
#include "store/audit.h"
#include "store/db.h"
#include "model/json.h"
#include "model/validate.h"
#include "base/array.h"
#include "base/util.h"

/* ---- reading ------------------------------------------------------------ */

#define EP_COLS "id, host, port, sni, environment, owner, third_party, interval_s, enabled"

static char *col_dup(sqlite3_stmt *s, int i, bool *oom)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	if (!t)
		return NULL;
	char *d = strdup((const char *)t);
	if (!d)
		*oom = true;
	return d;
}

static int load_tags(struct db *db, struct endpoint *e)
{
	static const char sql[] =
		"SELECT tag FROM endpoint_tags WHERE endpoint_id = ? ORDER BY tag";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return -EIO;
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, e->id);
	int rc;
	bool oom = false;
	while ((rc = db_bound_step(&b)) == SQLITE_ROW && !oom) {
		if (e->ntags >= MODEL_MAX_TAGS) /* the store never writes more */
			break;
		if (!e->tags && !(e->tags = calloc(MODEL_MAX_TAGS, sizeof(char *)))) {
			oom = true;
			break;
		}
		if ((e->tags[e->ntags] = col_dup(s, 0, &oom)))
			e->ntags++;
	}
	sqlite3_reset(s);
	if (oom)
		return -ENOMEM;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_errno(rc);
}

static int row_endpoint(struct db *db, sqlite3_stmt *s, struct endpoint *e)
{
	bool oom = false;
	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(s, 0);
	e->host = col_dup(s, 1, &oom);
	e->port = sqlite3_column_int(s, 2);
	e->sni = col_dup(s, 3, &oom);
	e->environment = col_dup(s, 4, &oom);
	e->owner = col_dup(s, 5, &oom);
	e->third_party = sqlite3_column_int(s, 6) != 0;
	e->interval_s = sqlite3_column_int64(s, 7);
	e->enabled = sqlite3_column_int(s, 8) != 0;
	if (oom || !e->host) {
		model_endpoint_free(e);
		return -ENOMEM;
	}
	(void)db;
	return 0;
}

/* Run @s (bound) and collect endpoints; tags are loaded after the scan so
 * that the tag statement does not interleave with @s. */
static int collect_endpoints(struct db *db, sqlite3_stmt *s, struct endpoint **out, size_t *n)
{
	struct endpoint *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0, src;
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		if (ARRAY_RESERVE(v, cap, cnt + 1, ARRAY_MAX_ITEMS)) {
			rc = -ENOMEM;
			break;
		}
		if ((rc = row_endpoint(db, s, &v[cnt])) != 0)
			break;
		cnt++;
	}
	if (!rc && src != SQLITE_DONE)
		rc = db_errno(src);
	sqlite3_reset(s);
	for (size_t i = 0; !rc && i < cnt; i++)
		rc = load_tags(db, &v[i]);
	if (rc) {
		for (size_t i = 0; i < cnt; i++)
			model_endpoint_free(&v[i]);
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int inventory_endpoint_list(struct db *db, struct endpoint **out, size_t *n, char *err,
			    size_t errlen)
{
	static const char sql[] = "SELECT " EP_COLS " FROM endpoints ORDER BY host, port";
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = db_stmt(db, sql);
	int rc = s ? collect_endpoints(db, s, out, n) : -EIO;
	if (rc)
		return util_err(err, errlen, rc, "reading endpoints: %s",
				rc == -ENOMEM ? "out of memory" : db_errmsg(db));
	return 0;
}

/* The one endpoint the statement @b bound (NULL when it could not be
 * prepared) finds. */
static int get_one(struct db *db, const struct db_binder *b, struct endpoint *out, const char *what,
		   char *err, size_t errlen)
{
	struct endpoint *v = NULL;
	size_t n = 0;
	memset(out, 0, sizeof(*out));
	int rc = !b->st			    ? -EIO
		 : db_bound(b) != SQLITE_OK ? db_errno(db_bound(b))
					    : collect_endpoints(db, b->st, &v, &n);
	if (rc)
		return util_err(err, errlen, rc, "reading endpoint %s: %s", what,
				rc == -ENOMEM ? "out of memory" : db_errmsg(db));
	if (n == 0) {
		free(v);
		return util_err(err, errlen, -ENOENT, "no endpoint %s", what);
	}
	*out = v[0];
	for (size_t i = 1; i < n; i++)
		model_endpoint_free(&v[i]);
	free(v);
	return 0;
}

int inventory_endpoint_get(struct db *db, const char *host, int port, struct endpoint *out,
			   char *err, size_t errlen)
{
	static const char sql[] = "SELECT " EP_COLS " FROM endpoints WHERE host = ? AND port = ?";
	char h[256], what[300];
	snprintf(h, sizeof(h), "%s", host ? host : "");
	if (model_normalize_host(h))
		return util_err(err, errlen, -EINVAL, "host: not a valid host name");
	snprintf(what, sizeof(what), "%s:%d", h, port);
	struct db_binder b = db_binder(db_stmt(db, sql));
	db_bind_text(&b, h);
	db_bind_int64(&b, port);
	return get_one(db, &b, out, what, err, errlen);
}

int inventory_endpoint_get_id(struct db *db, int64_t id, struct endpoint *out, char *err,
			      size_t errlen)
{
	static const char sql[] = "SELECT " EP_COLS " FROM endpoints WHERE id = ?";
	char what[32];
	snprintf(what, sizeof(what), "#%lld", (long long)id);
	struct db_binder b = db_binder(db_stmt(db, sql));
	db_bind_int64(&b, id);
	return get_one(db, &b, out, what, err, errlen);
}

int inventory_load(struct db *db, struct inventory *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int rc = inventory_endpoint_list(db, &out->endpoints, &out->nendpoints, err, errlen);
	if (!rc)
		rc = apps_list(db, true, &out->apps, &out->napps, err, errlen);
	if (rc)
		model_inventory_free(out);
	return rc;
}

/* ---- writing (inside a transaction) ------------------------------------- */

/* Step the statement @b bound (not when a bind failed); 0 or an error about @what. */
static int step_done(struct db *db, const struct db_binder *b, const char *what, char *err,
		     size_t errlen)
{
	int rc = db_bound_step(b);
	sqlite3_reset(b->st);
	if (rc == SQLITE_DONE)
		return 0;
	return util_err(err, errlen, db_errno(rc), "%s: %s", what, db_errmsg(db));
}

static int write_tags(struct db *db, const struct endpoint *e, char *err, size_t errlen)
{
	static const char del[] = "DELETE FROM endpoint_tags WHERE endpoint_id = ?";
	static const char ins[] = "INSERT INTO endpoint_tags (endpoint_id, tag) VALUES (?, ?)";
	sqlite3_stmt *s = db_stmt(db, del);
	if (!s)
		return util_err(err, errlen, -EIO, "tags: %s", db_errmsg(db));
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, e->id);
	int rc = step_done(db, &b, "deleting tags", err, errlen);
	for (size_t i = 0; !rc && i < e->ntags; i++) {
		if (!(s = db_stmt(db, ins)))
			return util_err(err, errlen, -EIO, "tags: %s", db_errmsg(db));
		b = db_binder(s);
		db_bind_int64(&b, e->id);
		db_bind_text(&b, e->tags[i]);
		rc = step_done(db, &b, "writing tags", err, errlen);
	}
	return rc;
}

static int ep_audit(struct db *db, const char *actor, const char *action,
		    const struct endpoint *before, const struct endpoint *after, char *err,
		    size_t errlen)
{
	const struct endpoint *e = after ? after : before;
	char id[300];
	snprintf(id, sizeof(id), "%s:%d", e->host, e->port);
	json_t *b = before ? model_endpoint_to_json(before) : NULL;
	json_t *a = after ? model_endpoint_to_json(after) : NULL;
	int rc;
	if ((before && !b) || (after && !a))
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
	else
		rc = audit_append(db, actor, action, "endpoint", id, b, a, err, errlen);
	json_decref(b);
	json_decref(a);
	return rc;
}

static int ep_insert(struct db *db, const char *actor, struct endpoint *e, char *err, size_t errlen)
{
	static const char sql[] =
		"INSERT INTO endpoints (host, port, sni, environment, owner, third_party, "
		"interval_s, enabled, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return util_err(err, errlen, -EIO, "adding endpoint: %s", db_errmsg(db));
	time_t now = util_now();
	struct db_binder b = db_binder(s);
	db_bind_text(&b, e->host);
	db_bind_int64(&b, e->port);
	db_bind_text(&b, e->sni);
	db_bind_text(&b, e->environment);
	db_bind_text(&b, e->owner);
	db_bind_int64(&b, e->third_party);
	db_bind_int64(&b, e->interval_s);
	db_bind_int64(&b, e->enabled);
	db_bind_int64(&b, now);
	db_bind_int64(&b, now);
	int rc = db_bound_step(&b);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		if ((rc & 0xff) == SQLITE_CONSTRAINT)
			return util_err(err, errlen, -EEXIST, "endpoint %s:%d already exists",
					e->host, e->port);
		return util_err(err, errlen, db_errno(rc), "adding endpoint: %s", db_errmsg(db));
	}
	e->id = sqlite3_last_insert_rowid(db_handle(db));
	if ((rc = write_tags(db, e, err, errlen)))
		return rc;
	return ep_audit(db, actor, "create", NULL, e, err, errlen);
}

/* @have is the stored state of e's (host, port); nothing written when equal. */
static int ep_update(struct db *db, const char *actor, const struct endpoint *have,
		     struct endpoint *e, bool *changed, char *err, size_t errlen)
{
	static const char sql[] = "UPDATE endpoints SET sni = ?, environment = ?, owner = ?, "
				  "third_party = ?, interval_s = ?, enabled = ?, updated_at = ? "
				  "WHERE id = ?";
	json_t *a = model_endpoint_to_json(have), *b = model_endpoint_to_json(e);
	bool same = a && b && json_equal(a, b);
	json_decref(a);
	json_decref(b);
	if (!a || !b)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	e->id = have->id;
	if (changed)
		*changed = !same;
	if (same)
		return 0;
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return util_err(err, errlen, -EIO, "updating endpoint: %s", db_errmsg(db));
	struct db_binder bd = db_binder(s);
	db_bind_text(&bd, e->sni);
	db_bind_text(&bd, e->environment);
	db_bind_text(&bd, e->owner);
	db_bind_int64(&bd, e->third_party);
	db_bind_int64(&bd, e->interval_s);
	db_bind_int64(&bd, e->enabled);
	db_bind_int64(&bd, util_now());
	db_bind_int64(&bd, e->id);
	int rc = step_done(db, &bd, "updating endpoint", err, errlen);
	if (!rc)
		rc = write_tags(db, e, err, errlen);
	if (!rc)
		rc = ep_audit(db, actor, "update", have, e, err, errlen);
	return rc;
}

static int ep_delete(struct db *db, const char *actor, const struct endpoint *have, char *err,
		     size_t errlen)
{
	static const char sql[] = "DELETE FROM endpoints WHERE id = ?";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return util_err(err, errlen, -EIO, "deleting endpoint: %s", db_errmsg(db));
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, have->id);
	int rc = step_done(db, &b, "deleting endpoint", err, errlen);
	return rc ? rc : ep_audit(db, actor, "delete", have, NULL, err, errlen);
}

/* ---- public writes ------------------------------------------------------ */

int inventory_endpoint_create(struct db *db, const char *actor, struct endpoint *e, char *err,
			      size_t errlen)
{
	bool owned;
	int rc = model_check_endpoint(e, err, errlen);
	if (rc)
		return rc;
	if ((rc = db_tx_begin(db, &owned, err, errlen)))
		return rc;
	rc = ep_insert(db, actor, e, err, errlen);
	return db_tx_end(db, owned, rc, err, errlen);
}

int inventory_endpoint_ensure(struct db *db, const char *actor, struct endpoint *e, bool *created,
			      char *err, size_t errlen)
{
	struct endpoint have = { 0 };
	if (created)
		*created = false;
	int rc = model_check_endpoint(e, err, errlen);
	if (!rc && !(rc = inventory_endpoint_get(db, e->host, e->port, &have, err, errlen)))
		e->id = have.id;
	model_endpoint_free(&have);
	if (rc != -ENOENT)
		return rc;
	rc = inventory_endpoint_create(db, actor, e, err, errlen);
	if (!rc && created)
		*created = true;
	return rc;
}

int inventory_endpoint_update(struct db *db, const char *actor, struct endpoint *e, bool *changed,
			      char *err, size_t errlen)
{
	struct endpoint have = { 0 };
	bool owned;
	if (changed)
		*changed = false;
	int rc = model_check_endpoint(e, err, errlen);
	if (rc)
		return rc;
	if ((rc = db_tx_begin(db, &owned, err, errlen)))
		return rc;
	rc = inventory_endpoint_get(db, e->host, e->port, &have, err, errlen);
	if (!rc)
		rc = ep_update(db, actor, &have, e, changed, err, errlen);
	model_endpoint_free(&have);
	return db_tx_end(db, owned, rc, err, errlen);
}

int inventory_endpoint_delete(struct db *db, const char *actor, const char *host, int port,
			      char *err, size_t errlen)
{
	struct endpoint have = { 0 };
	bool owned;
	int rc = db_tx_begin(db, &owned, err, errlen);
	if (rc)
		return rc;
	rc = inventory_endpoint_get(db, host, port, &have, err, errlen);
	if (!rc)
		rc = ep_delete(db, actor, &have, err, errlen);
	model_endpoint_free(&have);
	return db_tx_end(db, owned, rc, err, errlen);
}

/* ---- import ------------------------------------------------------------- */

static int ep_cmp(const struct endpoint *a, const struct endpoint *b)
{
	int c = strcmp(a->host, b->host);
	return c ? c : (a->port > b->port) - (a->port < b->port);
}

static int copy_endpoint(const struct endpoint *src, struct endpoint *dst)
{
	memset(dst, 0, sizeof(*dst));
	*dst = *src;
	dst->host = strdup(src->host);
	dst->sni = src->sni ? strdup(src->sni) : NULL;
	dst->environment = src->environment ? strdup(src->environment) : NULL;
	dst->owner = src->owner ? strdup(src->owner) : NULL;
	dst->tags = src->ntags ? calloc(src->ntags, sizeof(char *)) : NULL;
	dst->ntags = 0;
	bool bad = !dst->host || (src->sni && !dst->sni) ||
		   (src->environment && !dst->environment) || (src->owner && !dst->owner) ||
		   (src->ntags && !dst->tags);
	for (size_t i = 0; !bad && i < src->ntags; i++) {
		if (!(dst->tags[i] = strdup(src->tags[i])))
			bad = true;
		else
			dst->ntags++;
	}
	if (bad) {
		model_endpoint_free(dst);
		return -ENOMEM;
	}
	return 0;
}

static int ep_cmp_void(const void *x, const void *y)
{
	return ep_cmp(x, y);
}

static int import_endpoints(struct db *db, const char *actor, const struct inventory *want,
			    bool prune, struct inventory_import_stats *st, char *err, size_t errlen)
{
	struct endpoint *have = NULL;
	size_t nhave = 0;
	bool *seen = NULL;
	int rc = inventory_endpoint_list(db, &have, &nhave, err, errlen);
	if (rc)
		return rc;
	if (nhave && !(seen = calloc(nhave, sizeof(*seen))))
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
	/* @have is sorted by (host, port); @want may come in any order. */
	for (size_t i = 0; !rc && i < want->nendpoints; i++) {
		struct endpoint e;
		if (copy_endpoint(&want->endpoints[i], &e)) {
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
			break;
		}
		rc = model_check_endpoint(&e, err, errlen);
		struct endpoint *h =
			rc || !nhave ? NULL : bsearch(&e, have, nhave, sizeof(*have), ep_cmp_void);
		if (!rc && !h) {
			rc = ep_insert(db, actor, &e, err, errlen);
			st->created++;
		} else if (!rc) {
			bool changed = false;
			seen[h - have] = true;
			rc = ep_update(db, actor, h, &e, &changed, err, errlen);
			if (changed)
				st->updated++;
			else
				st->unchanged++;
		}
		model_endpoint_free(&e);
	}
	for (size_t j = 0; !rc && prune && j < nhave; j++) {
		if (seen[j])
			continue;
		rc = ep_delete(db, actor, &have[j], err, errlen);
		st->deleted++;
	}
	for (size_t k = 0; k < nhave; k++)
		model_endpoint_free(&have[k]);
	free(have);
	free(seen);
	return rc;
}

int inventory_import(struct db *db, const char *actor, const struct inventory *want, bool prune,
		     struct inventory_import_stats *st, char *err, size_t errlen)
{
	struct inventory_import_stats local = { 0 };
	struct app *have = NULL;
	size_t nhave = 0;
	bool owned;
	int64_t rows0 = 0, rows1 = 0;
	char head[AUDIT_HASH_HEX];

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	int rc = db_tx_begin(db, &owned, err, errlen);
	if (rc)
		return rc;
	rc = audit_head(db, head, &rows0, err, errlen);
	if (!rc)
		rc = import_endpoints(db, actor, want, prune, st, err, errlen);
	for (size_t i = 0; !rc && i < want->napps; i++)
		rc = apps_sync(db, actor, &want->apps[i], prune, st, err, errlen);
	if (!rc && prune) {
		rc = apps_list(db, false, &have, &nhave, err, errlen);
		for (size_t j = 0; !rc && j < nhave; j++) {
			bool listed = false;
			for (size_t i = 0; i < want->napps && !listed; i++)
				listed = strcmp(want->apps[i].name, have[j].name) == 0;
			if (!listed) {
				rc = apps_delete(db, actor, have[j].name, err, errlen);
				st->deleted++;
			}
		}
		for (size_t j = 0; j < nhave; j++)
			model_app_free(&have[j]);
		free(have);
	}
	if (!rc)
		rc = audit_head(db, head, &rows1, err, errlen);
	st->audit_rows = (unsigned)(rows1 - rows0);
	rc = db_tx_end(db, owned, rc, err, errlen);
	if (rc)
		memset(st, 0, sizeof(*st));
	return rc;
}
