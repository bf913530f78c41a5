#include "store/apps.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/apps_model.h"
#include "store/audit.h"
#include "store/db.h"
#include "store/inventory.h"
#include "model/json.h"
#include "model/validate.h"
#include "base/util.h"

static int nomem(char *err, size_t errlen)
{
	return util_err(err, errlen, -ENOMEM, "out of memory");
}

static int dberr(struct db *db, int rc, const char *what, char *err, size_t errlen)
{
	return util_err(err, errlen, rc ? rc : -EIO, "%s: %s", what, db_errmsg(db));
}

/* Step the statement @b bound (not when a bind failed); 0 or an error about @what. */
static int step_done(struct db *db, const struct db_binder *b, const char *what, char *err,
		     size_t errlen)
{
	int rc = db_bound_step(b);
	sqlite3_reset(b->st);
	return rc == SQLITE_DONE ? 0 : dberr(db, db_errno(rc), what, err, errlen);
}

int apps_check(const struct app *a, char *err, size_t errlen)
{
	size_t n = a->name ? strlen(a->name) : 0;
	if (n < 1 || n > 128 || util_has_ctrl(a->name))
		return util_err(err, errlen, -EINVAL,
				"name: 1 to 128 bytes without control characters");
	if (!model_platform_name(a->platform))
		return util_err(err, errlen, -EINVAL, "platform: must be android, ios or other");
	if (!model_failure_mode_name(a->failure_mode))
		return util_err(err, errlen, -EINVAL,
				"failure_mode: must be log, message, redirect or terminate");
	if (a->bundle_id &&
	    (strlen(a->bundle_id) < 1 || strlen(a->bundle_id) > 256 || util_has_ctrl(a->bundle_id)))
		return util_err(err, errlen, -EINVAL, "bundle_id: 1 to 256 bytes");
	if (!isfinite(a->adoption_threshold) || a->adoption_threshold < 0 ||
	    a->adoption_threshold > 1)
		return util_err(err, errlen, -EINVAL,
				"adoption_threshold: must be between 0 and 1");
	return 0;
}

/* ---- writing (inside a transaction) ------------------------------------- */

/* @v, or SQL NULL when it is NULL or empty. */
static void bind_opt(struct db_binder *b, const char *v)
{
	db_bind_text(b, v && *v ? v : NULL);
}

static int audit_json(struct db *db, const char *actor, const char *action, const char *type,
		      const char *id, json_t *b, json_t *a, bool want_b, bool want_a, char *err,
		      size_t errlen)
{
	int rc;
	if ((want_b && !b) || (want_a && !a))
		rc = nomem(err, errlen);
	else
		rc = audit_append(db, actor, action, type, id, b, a, err, errlen);
	json_decref(b);
	json_decref(a);
	return rc;
}

static int audit_version(struct db *db, const char *actor, const char *action, const char *app,
			 const struct app_version *before, const struct app_version *after,
			 char *err, size_t errlen)
{
	char id[200];
	snprintf(id, sizeof(id), "%s/%s", app, after ? after->version : before->version);
	return audit_json(db, actor, action, "version", id,
			  before ? model_version_to_json(before) : NULL,
			  after ? model_version_to_json(after) : NULL, before != NULL,
			  after != NULL, err, errlen);
}

static int insert_pins(struct db *db, const struct pin_policy *p, char *err, size_t errlen)
{
	static const char sql[] = "INSERT INTO pins (policy_id, sha256, role) VALUES (?, ?, ?)";
	char b64[48];
	for (size_t i = 0; i < p->npins; i++) {
		sqlite3_stmt *s = db_stmt(db, sql);
		if (!s)
			return dberr(db, -EIO, "writing pins", err, errlen);
		struct db_binder b = db_binder(s);
		db_bind_int64(&b, p->id);
		db_bind_text(&b, util_pin_b64(p->pins[i].sha256, b64));
		db_bind_text(&b, model_role_name(p->pins[i].role));
		int rc = step_done(db, &b, "writing pins", err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

/* override_anchors as stored into *@out (the caller frees it): one entry per
 * line, NULL when none. Entries are validated (model_check_override_anchor:
 * no whitespace), so a newline never occurs inside one. 0 or -ENOMEM. */
static int join_overrides(const struct pin_policy *p, char **out)
{
	size_t n = 0;
	for (size_t i = 0; i < p->noverride_anchors; i++)
		n += strlen(p->override_anchors[i]) + 1;
	char *t = n ? malloc(n) : NULL;
	*out = NULL;
	if (!n)
		return 0;
	if (!t)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = 0; i < p->noverride_anchors; i++) {
		size_t l = strlen(p->override_anchors[i]);
		if (i)
			t[o++] = '\n';
		memcpy(t + o, p->override_anchors[i], l);
		o += l;
	}
	t[o] = '\0';
	*out = t;
	return 0;
}

static int insert_policy(struct db *db, int64_t vid, struct pin_policy *p, char *err, size_t errlen)
{
	static const char sql[] = "INSERT INTO pin_policies (version_id, pattern, "
				  "include_subdomains, enforce, expires, source, override_anchors) "
				  "VALUES (?,?,?,?,?,?,?)";
	char *overrides;
	if (join_overrides(p, &overrides))
		return nomem(err, errlen);
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s) {
		free(overrides);
		return dberr(db, -EIO, "writing policy", err, errlen);
	}
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, vid);
	db_bind_text(&b, p->pattern);
	db_bind_int64(&b, p->include_subdomains);
	db_bind_int64(&b, p->enforce);
	bind_opt(&b, p->expires);
	db_bind_text(&b, p->source ? p->source : "inventory");
	db_bind_text(&b, overrides);
	int rc = step_done(db, &b, "writing policy", err, errlen);
	free(overrides);
	if (rc)
		return rc;
	p->id = sqlite3_last_insert_rowid(db_handle(db));
	return insert_pins(db, p, err, errlen);
}

static int update_policy(struct db *db, struct pin_policy *p, char *err, size_t errlen)
{
	static const char upd[] = "UPDATE pin_policies SET enforce = ?, expires = ?, source = ?, "
				  "override_anchors = ? WHERE id = ?";
	static const char del[] = "DELETE FROM pins WHERE policy_id = ?";
	char *overrides;
	if (join_overrides(p, &overrides))
		return nomem(err, errlen);
	sqlite3_stmt *s = db_stmt(db, upd);
	if (!s) {
		free(overrides);
		return dberr(db, -EIO, "updating policy", err, errlen);
	}
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, p->enforce);
	bind_opt(&b, p->expires);
	db_bind_text(&b, p->source ? p->source : "inventory");
	db_bind_text(&b, overrides);
	db_bind_int64(&b, p->id);
	int rc = step_done(db, &b, "updating policy", err, errlen);
	free(overrides);
	if (rc)
		return rc;
	if (!(s = db_stmt(db, del)))
		return dberr(db, -EIO, "updating pins", err, errlen);
	b = db_binder(s);
	db_bind_int64(&b, p->id);
	if ((rc = step_done(db, &b, "updating pins", err, errlen)))
		return rc;
	return insert_pins(db, p, err, errlen);
}

/*
 * Write the difference between @before (the stored state of version @vid,
 * NULL for a fresh row) and @after (validated, sorted); ids of kept policies
 * are carried over into @after.
 */
static int version_write(struct db *db, int64_t vid, const struct app_version *before,
			 struct app_version *after, char *err, size_t errlen)
{
	static const char upd[] = "UPDATE versions SET released = ? WHERE id = ?";
	static const char del_a[] = "DELETE FROM adoption WHERE version_id = ? AND at = ?";
	static const char put_a[] = "INSERT OR REPLACE INTO adoption (version_id, at, share, "
				    "active_users) VALUES (?,?,?,?)";
	static const char del_p[] = "DELETE FROM pin_policies WHERE id = ?";
	static const struct app_version empty = { 0 };
	sqlite3_stmt *s;
	int rc = 0;

	if (!before)
		before = &empty;
	after->id = vid;
	if (before != &empty && strcmp(before->released, after->released)) {
		if (!(s = db_stmt(db, upd)))
			return dberr(db, -EIO, "updating version", err, errlen);
		struct db_binder b = db_binder(s);
		bind_opt(&b, after->released);
		db_bind_int64(&b, vid);
		if ((rc = step_done(db, &b, "updating version", err, errlen)))
			return rc;
	}
	for (size_t i = 0; i < before->nadoption; i++) {
		if (apps_find_sample_sorted(after, before->adoption[i].at) >= 0)
			continue;
		if (!(s = db_stmt(db, del_a)))
			return dberr(db, -EIO, "deleting adoption", err, errlen);
		struct db_binder b = db_binder(s);
		db_bind_int64(&b, vid);
		db_bind_text(&b, before->adoption[i].at);
		if ((rc = step_done(db, &b, "deleting adoption", err, errlen)))
			return rc;
	}
	for (size_t i = 0; i < after->nadoption; i++) {
		const struct adoption_sample *a = &after->adoption[i];
		ssize_t k = apps_find_sample_sorted(before, a->at);
		if (k >= 0 && before->adoption[k].share == a->share &&
		    before->adoption[k].active_users == a->active_users)
			continue;
		if (!(s = db_stmt(db, put_a)))
			return dberr(db, -EIO, "writing adoption", err, errlen);
		struct db_binder b = db_binder(s);
		db_bind_int64(&b, vid);
		db_bind_text(&b, a->at);
		db_bind_double(&b, a->share);
		if (a->active_users >= 0)
			db_bind_int64(&b, a->active_users);
		else
			db_bind_null(&b);
		if ((rc = step_done(db, &b, "writing adoption", err, errlen)))
			return rc;
	}
	for (size_t i = 0; i < before->npolicies; i++) {
		const struct pin_policy *p = &before->policies[i];
		if (apps_find_policy(after, p->pattern, p->include_subdomains) >= 0)
			continue;
		if (!(s = db_stmt(db, del_p)))
			return dberr(db, -EIO, "deleting policy", err, errlen);
		struct db_binder b = db_binder(s);
		db_bind_int64(&b, p->id);
		if ((rc = step_done(db, &b, "deleting policy", err, errlen)))
			return rc;
	}
	for (size_t i = 0; i < after->npolicies; i++) {
		struct pin_policy *p = &after->policies[i];
		ssize_t k = apps_find_policy(before, p->pattern, p->include_subdomains);
		if (k < 0) {
			rc = insert_policy(db, vid, p, err, errlen);
		} else {
			p->id = before->policies[k].id;
			if (!apps_policy_equal(&before->policies[k], p))
				rc = update_policy(db, p, err, errlen);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static bool version_same(const struct app_version *a, const struct app_version *b)
{
	json_t *x = model_version_to_json(a), *y = model_version_to_json(b);
	bool same = x && y && json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return same;
}

/* Store @after (validated) over @before and audit; nothing when equal. */
int apps_version_commit(struct db *db, const char *actor, const char *action, const char *app,
			int64_t vid, const struct app_version *before, struct app_version *after,
			bool *changed, char *err, size_t errlen)
{
	if (changed)
		*changed = false;
	if (before && version_same(before, after))
		return 0;
	int rc = version_write(db, vid, before, after, err, errlen);
	if (!rc)
		rc = audit_version(db, actor, action, app, before, after, err, errlen);
	if (!rc && changed)
		*changed = true;
	return rc;
}

int apps_insert_version_row(struct db *db, int64_t app_id, const char *app,
			    const struct app_version *v, int64_t *vid, char *err, size_t errlen)
{
	static const char sql[] = "INSERT INTO versions (app_id, version, released, created_at) "
				  "VALUES (?,?,?,?)";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return dberr(db, -EIO, "adding version", err, errlen);
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, app_id);
	db_bind_text(&b, v->version);
	bind_opt(&b, v->released);
	db_bind_int64(&b, util_now());
	int rc = db_bound_step(&b);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		if ((rc & 0xff) == SQLITE_CONSTRAINT)
			return util_err(err, errlen, -EEXIST, "app '%s' already has version '%s'",
					app, v->version);
		return dberr(db, db_errno(rc), "adding version", err, errlen);
	}
	*vid = sqlite3_last_insert_rowid(db_handle(db));
	return 0;
}

static int delete_row(struct db *db, const char *sql, int64_t id, const char *what, char *err,
		      size_t errlen)
{
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return dberr(db, -EIO, what, err, errlen);
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, id);
	return step_done(db, &b, what, err, errlen);
}

int apps_app_insert(struct db *db, const char *actor, struct app *a, char *err, size_t errlen)
{
	static const char sql[] =
		"INSERT INTO apps (name, platform, bundle_id, adoption_threshold, "
		"failure_mode, created_at, updated_at) VALUES (?,?,?,?,?,?,?)";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return dberr(db, -EIO, "adding app", err, errlen);
	time_t now = util_now();
	struct db_binder b = db_binder(s);
	db_bind_text(&b, a->name);
	db_bind_text(&b, model_platform_name(a->platform));
	bind_opt(&b, a->bundle_id);
	db_bind_double(&b, a->adoption_threshold);
	db_bind_text(&b, model_failure_mode_name(a->failure_mode));
	db_bind_int64(&b, now);
	db_bind_int64(&b, now);
	int rc = db_bound_step(&b);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		if ((rc & 0xff) == SQLITE_CONSTRAINT)
			return util_err(err, errlen, -EEXIST, "app '%s' already exists", a->name);
		return dberr(db, db_errno(rc), "adding app", err, errlen);
	}
	a->id = sqlite3_last_insert_rowid(db_handle(db));
	return audit_json(db, actor, "create", "app", a->name, NULL, model_app_to_json(a, false),
			  false, true, err, errlen);
}

int apps_app_update(struct db *db, const char *actor, const struct app *have, struct app *a,
		    bool *changed, char *err, size_t errlen)
{
	static const char sql[] = "UPDATE apps SET platform = ?, bundle_id = ?, "
				  "adoption_threshold = ?, failure_mode = ?, updated_at = ? "
				  "WHERE id = ?";
	json_t *b = model_app_to_json(have, false), *n = model_app_to_json(a, false);
	a->id = have->id;
	*changed = false;
	if (!b || !n || json_equal(b, n)) {
		json_decref(b);
		json_decref(n);
		return b && n ? 0 : nomem(err, errlen);
	}
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s) {
		json_decref(b);
		json_decref(n);
		return dberr(db, -EIO, "updating app", err, errlen);
	}
	struct db_binder bd = db_binder(s);
	db_bind_text(&bd, model_platform_name(a->platform));
	bind_opt(&bd, a->bundle_id);
	db_bind_double(&bd, a->adoption_threshold);
	db_bind_text(&bd, model_failure_mode_name(a->failure_mode));
	db_bind_int64(&bd, util_now());
	db_bind_int64(&bd, a->id);
	int rc = step_done(db, &bd, "updating app", err, errlen);
	if (rc) {
		json_decref(b);
		json_decref(n);
		return rc;
	}
	*changed = true;
	return audit_json(db, actor, "update", "app", a->name, b, n, true, true, err, errlen);
}

/* ---- public: apps ------------------------------------------------------- */

int apps_create(struct db *db, const char *actor, struct app *a, char *err, size_t errlen)
{
	bool owned;
	int rc = apps_check(a, err, errlen);
	if (rc || (rc = db_tx_begin(db, &owned, err, errlen)))
		return rc;
	rc = apps_app_insert(db, actor, a, err, errlen);
	return db_tx_end(db, owned, rc, err, errlen);
}

int apps_update(struct db *db, const char *actor, struct app *a, bool *changed, char *err,
		size_t errlen)
{
	struct app have;
	bool owned, ch = false;
	int rc = apps_check(a, err, errlen);
	if (rc || (rc = db_tx_begin(db, &owned, err, errlen)))
		return rc;
	rc = apps_get(db, a->name, false, &have, err, errlen);
	if (!rc) {
		rc = apps_app_update(db, actor, &have, a, &ch, err, errlen);
		model_app_free(&have);
	}
	if (changed)
		*changed = !rc && ch;
	return db_tx_end(db, owned, rc, err, errlen);
}

int apps_delete(struct db *db, const char *actor, const char *name, char *err, size_t errlen)
{
	static const char sql[] = "DELETE FROM apps WHERE id = ?";
	struct app have;
	bool owned;
	int rc = db_tx_begin(db, &owned, err, errlen);
	if (rc)
		return rc;
	rc = apps_get(db, name, true, &have, err, errlen);
	if (!rc) {
		rc = delete_row(db, sql, have.id, "deleting app", err, errlen);
		if (!rc)
			rc = audit_json(db, actor, "delete", "app", have.name,
					model_app_to_json(&have, true), NULL, true, false, err,
					errlen);
		model_app_free(&have);
	}
	return db_tx_end(db, owned, rc, err, errlen);
}

/* ---- public: versions --------------------------------------------------- */

static int app_id_of(struct db *db, const char *app, int64_t *id, char *err, size_t errlen)
{
	struct app a;
	int rc = apps_get(db, app, false, &a, err, errlen);
	if (!rc) {
		*id = a.id;
		model_app_free(&a);
	}
	return rc;
}

int apps_version_create(struct db *db, const char *actor, const char *app, struct app_version *v,
			char *err, size_t errlen)
{
	int64_t app_id, vid;
	bool owned;
	int rc = model_check_version(v, err, errlen);
	if (rc || (rc = db_tx_begin(db, &owned, err, errlen)))
		return rc;
	rc = app_id_of(db, app, &app_id, err, errlen);
	if (!rc)
		rc = apps_insert_version_row(db, app_id, app, v, &vid, err, errlen);
	if (!rc)
		rc = apps_version_commit(db, actor, "create", app, vid, NULL, v, NULL, err, errlen);
	return db_tx_end(db, owned, rc, err, errlen);
}

int apps_version_replace(struct db *db, const char *actor, const char *app, struct app_version *v,
			 bool *changed, char *err, size_t errlen)
{
	struct app_version have;
	bool owned;
	if (changed)
		*changed = false;
	int rc = model_check_version(v, err, errlen);
	if (rc || (rc = db_tx_begin(db, &owned, err, errlen)))
		return rc;
	rc = apps_version_get(db, app, v->version, &have, err, errlen);
	if (!rc) {
		rc = apps_version_commit(db, actor, "update", app, have.id, &have, v, changed, err,
					 errlen);
		model_version_free(&have);
	}
	return db_tx_end(db, owned, rc, err, errlen);
}

int apps_version_remove(struct db *db, const char *actor, const char *app,
			const struct app_version *have, char *err, size_t errlen)
{
	static const char sql[] = "DELETE FROM versions WHERE id = ?";
	int rc = delete_row(db, sql, have->id, "deleting version", err, errlen);
	return rc ? rc : audit_version(db, actor, "delete", app, have, NULL, err, errlen);
}

int apps_version_delete(struct db *db, const char *actor, const char *app, const char *version,
			char *err, size_t errlen)
{
	struct app_version have;
	bool owned;
	int rc = db_tx_begin(db, &owned, err, errlen);
	if (rc)
		return rc;
	rc = apps_version_get(db, app, version, &have, err, errlen);
	if (!rc) {
		rc = apps_version_remove(db, actor, app, &have, err, errlen);
		model_version_free(&have);
	}
	return db_tx_end(db, owned, rc, err, errlen);
}

/* Load version @version of @app, let @edit change a copy, then commit it. */
typedef int (*version_edit_fn)(struct app_version *v, const void *arg, char *err, size_t errlen);

static int edit_version(struct db *db, const char *actor, const char *action, const char *app,
			const char *version, version_edit_fn edit, const void *arg, bool *changed,
			char *err, size_t errlen)
{
	struct app_version have, after;
	bool owned;
	if (changed)
		*changed = false;
	int rc = db_tx_begin(db, &owned, err, errlen);
	if (rc)
		return rc;
	rc = apps_version_get(db, app, version, &have, err, errlen);
	if (rc)
		return db_tx_end(db, owned, rc, err, errlen);
	rc = apps_copy_version(&have, &after) ? nomem(err, errlen) : 0;
	if (!rc) {
		rc = edit(&after, arg, err, errlen);
		if (!rc)
			rc = model_check_version(&after, err, errlen);
		if (!rc)
			rc = apps_version_commit(db, actor, action, app, have.id, &have, &after,
						 changed, err, errlen);
		model_version_free(&after);
	}
	model_version_free(&have);
	return db_tx_end(db, owned, rc, err, errlen);
}

static int edit_put_policy(struct app_version *v, const void *arg, char *err, size_t errlen)
{
	struct pin_policy p;
	char msg[ERRLEN];
	if (apps_copy_policy(arg, &p))
		return nomem(err, errlen);
	if (!p.source && !(p.source = strdup("api"))) {
		model_policy_free(&p);
		return nomem(err, errlen);
	}
	int rc = model_check_policy(&p, msg, sizeof(msg));
	if (rc)
		util_err(err, errlen, rc, "%s", msg);
	else if (!model_valid_source(p.source))
		rc = util_err(err, errlen, -EINVAL, "source: unknown");
	else if (apps_put_policy(v, &p))
		rc = nomem(err, errlen);
	model_policy_free(&p);
	return rc;
}

int apps_policy_put(struct db *db, const char *actor, const char *app, const char *version,
		    const struct pin_policy *p, bool *changed, char *err, size_t errlen)
{
	return edit_version(db, actor, "update", app, version, edit_put_policy, p, changed, err,
			    errlen);
}

struct policy_key {
	const char *pattern;
	bool incl;
};

static int edit_del_policy(struct app_version *v, const void *arg, char *err, size_t errlen)
{
	const struct policy_key *k = arg;
	char pat[300];
	snprintf(pat, sizeof(pat), "%s", k->pattern ? k->pattern : "");
	if (model_normalize_pattern(pat))
		return util_err(err, errlen, -EINVAL, "pattern: not a host name or *./**. pattern");
	ssize_t i = apps_find_policy(v, pat, k->incl);
	if (i < 0)
		return util_err(err, errlen, -ENOENT, "version %s has no policy for %s%s",
				v->version, pat, k->incl ? " (include_subdomains)" : "");
	apps_del_policy(v, (size_t)i);
	return 0;
}

int apps_policy_delete(struct db *db, const char *actor, const char *app, const char *version,
		       const char *pattern, bool include_subdomains, char *err, size_t errlen)
{
	struct policy_key k = { pattern, include_subdomains };
	return edit_version(db, actor, "update", app, version, edit_del_policy, &k, NULL, err,
			    errlen);
}

static int edit_del_sample(struct app_version *v, const void *arg, char *err, size_t errlen)
{
	ssize_t i = apps_find_sample(v, arg);
	if (i < 0)
		return util_err(err, errlen, -ENOENT, "version %s has no adoption sample for %s",
				v->version, (const char *)arg);
	apps_del_sample(v, (size_t)i);
	return 0;
}

int apps_adoption_delete(struct db *db, const char *actor, const char *app, const char *version,
			 const char *at, char *err, size_t errlen)
{
	return edit_version(db, actor, "adoption", app, version, edit_del_sample, at, NULL, err,
			    errlen);
}
