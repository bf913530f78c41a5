/* Reading apps, versions, adoption, policies and pins (declared in apps.h). */
#include "store/apps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "model/sort.h"
#include "base/array.h"
#include "base/util.h"

static int nomem(char *err, size_t errlen)
{
	return util_err(err, errlen, -ENOMEM, "out of memory");
}

static int dberr(struct db *db, int rc, const char *what, char *err, size_t errlen)
{
	return util_err(err, errlen, rc ? rc : -EIO, "%s: %s", what, db_errmsg(db));
}

/* ---- reading ------------------------------------------------------------ */

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

static void col_date(sqlite3_stmt *s, int i, char out[MODEL_DATE_LEN])
{
	const unsigned char *t = sqlite3_column_text(s, i);
	snprintf(out, MODEL_DATE_LEN, "%s", t ? (const char *)t : "");
}

static int load_pins(struct db *db, struct pin_policy *p)
{
	static const char sql[] = "SELECT sha256, role FROM pins WHERE policy_id = ?";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return -EIO;
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, p->id);
	int rc = 0, src;
	size_t cap = 0;
	while ((src = db_bound_step(&b)) == SQLITE_ROW) {
		if (ARRAY_RESERVE(p->pins, cap, p->npins + 1, ARRAY_MAX_ITEMS)) {
			rc = -ENOMEM;
			break;
		}
		struct pin *pin = &p->pins[p->npins];
		const char *b64 = (const char *)sqlite3_column_text(s, 0);
		if (!b64 || util_parse_pin(b64, pin->sha256, NULL, 0) ||
		    model_parse_role((const char *)sqlite3_column_text(s, 1), &pin->role)) {
			rc = -EBADMSG; /* the schema's CHECKs make this unreachable */
			break;
		}
		p->npins++;
	}
	if (!rc && src != SQLITE_DONE)
		rc = db_errno(src);
	sqlite3_reset(s);
	return rc;
}

/* override_anchors: one entry per line (apps.c bind_overrides). -ENOMEM or 0. */
static int read_overrides(sqlite3_stmt *s, int col, struct pin_policy *p)
{
	const char *t = (const char *)sqlite3_column_text(s, col);
	if (!t || !*t)
		return 0;
	size_t n = 1;
	for (const char *c = t; *c; c++)
		n += *c == '\n';
	p->override_anchors = calloc(n, sizeof(char *));
	if (!p->override_anchors)
		return -ENOMEM;
	for (const char *c = t; p->noverride_anchors < n;) {
		const char *e = strchr(c, '\n');
		size_t l = e ? (size_t)(e - c) : strlen(c);
		if (!(p->override_anchors[p->noverride_anchors] = strndup(c, l)))
			return -ENOMEM;
		p->noverride_anchors++;
		if (!e)
			break;
		c = e + 1;
	}
	return 0;
}

static int load_version_body(struct db *db, struct app_version *v)
{
	static const char qa[] =
		"SELECT at, share, active_users FROM adoption WHERE version_id = ? ORDER BY at";
	static const char qp[] =
		"SELECT id, pattern, include_subdomains, enforce, expires, source, "
		"override_anchors FROM pin_policies WHERE version_id = ? ORDER BY "
		"pattern, include_subdomains";
	int rc = 0, src;
	size_t cap = 0;
	bool oom = false;
	sqlite3_stmt *s = db_stmt(db, qa);
	if (!s)
		return -EIO;
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, v->id);
	while ((src = db_bound_step(&b)) == SQLITE_ROW) {
		if (ARRAY_RESERVE(v->adoption, cap, v->nadoption + 1, ARRAY_MAX_ITEMS)) {
			rc = -ENOMEM;
			break;
		}
		struct adoption_sample *a = &v->adoption[v->nadoption++];
		col_date(s, 0, a->at);
		(void)util_parse_date(a->at, &a->at_time);
		a->share = sqlite3_column_double(s, 1);
		a->active_users =
			sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 2);
	}
	if (!rc && src != SQLITE_DONE)
		rc = db_errno(src);
	sqlite3_reset(s);
	if (rc)
		return rc;
	if (!(s = db_stmt(db, qp)))
		return -EIO;
	b = db_binder(s);
	db_bind_int64(&b, v->id);
	cap = 0;
	while ((src = db_bound_step(&b)) == SQLITE_ROW) {
		if (ARRAY_RESERVE(v->policies, cap, v->npolicies + 1, ARRAY_MAX_ITEMS)) {
			rc = -ENOMEM;
			break;
		}
		struct pin_policy *p = &v->policies[v->npolicies++];
		memset(p, 0, sizeof(*p));
		p->id = sqlite3_column_int64(s, 0);
		p->pattern = col_dup(s, 1, &oom);
		p->include_subdomains = sqlite3_column_int(s, 2) != 0;
		p->enforce = sqlite3_column_int(s, 3) != 0;
		col_date(s, 4, p->expires);
		if (p->expires[0])
			(void)util_parse_date(p->expires, &p->expires_at);
		p->source = col_dup(s, 5, &oom);
		if (!oom && read_overrides(s, 6, p))
			oom = true;
		if (oom || !p->pattern) {
			rc = -ENOMEM;
			break;
		}
	}
	if (!rc && src != SQLITE_DONE)
		rc = db_errno(src);
	sqlite3_reset(s);
	for (size_t i = 0; !rc && i < v->npolicies; i++)
		rc = load_pins(db, &v->policies[i]);
	if (!rc)
		model_sort_version(v);
	return rc;
}

static int load_versions(struct db *db, struct app *a)
{
	static const char sql[] = "SELECT id, version, released FROM versions WHERE app_id = ?";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return -EIO;
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, a->id);
	int rc = 0, src;
	size_t cap = 0;
	bool oom = false;
	while ((src = db_bound_step(&b)) == SQLITE_ROW) {
		if (ARRAY_RESERVE(a->versions, cap, a->nversions + 1, ARRAY_MAX_ITEMS)) {
			rc = -ENOMEM;
			break;
		}
		struct app_version *v = &a->versions[a->nversions++];
		memset(v, 0, sizeof(*v));
		v->id = sqlite3_column_int64(s, 0);
		v->version = col_dup(s, 1, &oom);
		col_date(s, 2, v->released);
		if (oom || !v->version) {
			rc = -ENOMEM;
			break;
		}
	}
	if (!rc && src != SQLITE_DONE)
		rc = db_errno(src);
	sqlite3_reset(s);
	for (size_t i = 0; !rc && i < a->nversions; i++)
		rc = load_version_body(db, &a->versions[i]);
	if (!rc)
		model_sort_app(a);
	return rc;
}

#define APP_COLS "id, name, platform, bundle_id, adoption_threshold, failure_mode"

static int row_app(sqlite3_stmt *s, struct app *a)
{
	bool oom = false;
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	a->name = col_dup(s, 1, &oom);
	(void)model_parse_platform((const char *)sqlite3_column_text(s, 2), &a->platform);
	a->bundle_id = col_dup(s, 3, &oom);
	a->adoption_threshold = sqlite3_column_double(s, 4);
	a->failure_mode = FAIL_TERMINATE;
	(void)model_parse_failure_mode((const char *)sqlite3_column_text(s, 5), &a->failure_mode);
	if (oom || !a->name) {
		model_app_free(a);
		return -ENOMEM;
	}
	return 0;
}

static int collect_apps(struct db *db, sqlite3_stmt *s, bool with_versions, struct app **out,
			size_t *n)
{
	struct app *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0, src;
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		if (ARRAY_RESERVE(v, cap, cnt + 1, ARRAY_MAX_ITEMS)) {
			rc = -ENOMEM;
			break;
		}
		if ((rc = row_app(s, &v[cnt])))
			break;
		cnt++;
	}
	if (!rc && src != SQLITE_DONE)
		rc = db_errno(src);
	sqlite3_reset(s);
	for (size_t i = 0; !rc && with_versions && i < cnt; i++)
		rc = load_versions(db, &v[i]);
	if (rc) {
		for (size_t i = 0; i < cnt; i++)
			model_app_free(&v[i]);
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int apps_list(struct db *db, bool with_versions, struct app **out, size_t *n, char *err,
	      size_t errlen)
{
	static const char sql[] = "SELECT " APP_COLS " FROM apps ORDER BY name";
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = db_stmt(db, sql);
	int rc = s ? collect_apps(db, s, with_versions, out, n) : -EIO;
	if (rc)
		return util_err(err, errlen, rc, "reading apps: %s",
				rc == -ENOMEM ? "out of memory" : db_errmsg(db));
	return 0;
}

int apps_get(struct db *db, const char *name, bool with_versions, struct app *out, char *err,
	     size_t errlen)
{
	static const char sql[] = "SELECT " APP_COLS " FROM apps WHERE name = ?";
	struct app *v = NULL;
	size_t n = 0;
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return dberr(db, -EIO, "reading app", err, errlen);
	struct db_binder b = db_binder(s);
	db_bind_text(&b, name ? name : "");
	if (db_bound(&b) != SQLITE_OK)
		return dberr(db, db_errno(db_bound(&b)), "reading app", err, errlen);
	int rc = collect_apps(db, s, with_versions, &v, &n);
	if (rc)
		return util_err(err, errlen, rc, "reading app %s: %s", name ? name : "",
				rc == -ENOMEM ? "out of memory" : db_errmsg(db));
	if (n == 0) {
		free(v);
		return util_err(err, errlen, -ENOENT, "no app '%s'", name ? name : "");
	}
	*out = v[0];
	free(v);
	return 0;
}

int apps_version_get(struct db *db, const char *app, const char *version, struct app_version *out,
		     char *err, size_t errlen)
{
	static const char sql[] =
		"SELECT id, released FROM versions WHERE app_id = ? AND version = ?";
	struct app a;
	memset(out, 0, sizeof(*out));
	int rc = apps_get(db, app, false, &a, err, errlen);
	if (rc)
		return rc;
	int64_t app_id = a.id;
	model_app_free(&a);
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return dberr(db, -EIO, "reading version", err, errlen);
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, app_id);
	db_bind_text(&b, version ? version : "");
	int src = db_bound_step(&b);
	if (src == SQLITE_ROW) {
		out->id = sqlite3_column_int64(s, 0);
		col_date(s, 1, out->released);
	}
	sqlite3_reset(s);
	if (src == SQLITE_DONE)
		return util_err(err, errlen, -ENOENT, "app '%s' has no version '%s'", app,
				version ? version : "");
	if (src != SQLITE_ROW)
		return dberr(db, db_errno(src), "reading version", err, errlen);
	if (!(out->version = strdup(version)))
		return nomem(err, errlen);
	rc = load_version_body(db, out);
	if (rc) {
		model_version_free(out);
		return util_err(err, errlen, rc, "reading version %s/%s: %s", app, version,
				rc == -ENOMEM ? "out of memory" : db_errmsg(db));
	}
	return 0;
}

int apps_name(struct db *db, int64_t id, char *name, size_t len, char *err, size_t errlen)
{
	static const char sql[] = "SELECT name FROM apps WHERE id = ?";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return dberr(db, 0, "reading app", err, errlen);
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, id);
	int rc = db_bound_step(&b);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);
		int n = snprintf(name, len, "%s", t ? (const char *)t : "");
		rc = n < 0 || (size_t)n >= len ? util_err(err, errlen, -ENAMETOOLONG,
							  "app %lld: name too long", (long long)id)
					       : 0;
	} else if (rc == SQLITE_DONE) {
		rc = util_err(err, errlen, -ENOENT, "no app with id %lld", (long long)id);
	} else {
		rc = dberr(db, db_errno(rc), "reading app", err, errlen);
	}
	sqlite3_reset(s);
	return rc;
}
