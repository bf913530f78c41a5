/* Apps, versions, pin policies and adoption samples in the store.
 * Transaction, audit and error conventions: see inventory.h.
 *
 * Audit objects: "app" (id = name; JSON without versions, or with them on
 * delete), "version" (id = "<app>/<version>"; JSON = the version as in the
 * inventory file, with its adoption and pin_policies).
 */
#ifndef PINWATCH_APPS_H
#define PINWATCH_APPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

struct db;

/** One adoption figure for apps_add_adoption(). */
struct adoption_row {
	const char *version;
	char at[MODEL_DATE_LEN]; /**< "YYYY-MM-DD" */
	double share;		 /**< [0, 1] */
	int64_t active_users;	 /**< -1 when not given */
};

/**
 * Check an app's own fields (name 1..128 bytes, platform/failure_mode in
 * range, bundle_id <= 256, threshold [0, 1]). Versions are not looked at.
 */
int apps_check(const struct app *a, char *err, size_t errlen);

/**
 * All apps sorted by name, with their versions (and everything below, order
 * as inventory_load) when @with_versions. Caller frees each
 * (model_app_free) and the array.
 */
int apps_list(struct db *db, bool with_versions, struct app **out, size_t *n, char *err,
	      size_t errlen);
/**
 * One app by name into @out; with @with_versions also its versions,
 * adoption, policies and pins (order as inventory_load). 0, -ENOENT, errno.
 */
int apps_get(struct db *db, const char *name, bool with_versions, struct app *out, char *err,
	     size_t errlen);

/**
 * The name of app @id into @name (@len bytes). 0, -ENOENT ("no app with id
 * N"), -ENAMETOOLONG when it does not fit, or a database errno.
 */
int apps_name(struct db *db, int64_t id, char *name, size_t len, char *err, size_t errlen);

/** Create app @a (its versions, if any, are ignored; a->id set). -EEXIST if the name exists. */
int apps_create(struct db *db, const char *actor, struct app *a, char *err, size_t errlen);
/** Update the fields of app a->name (not its versions). -ENOENT; *changed may be NULL. */
int apps_update(struct db *db, const char *actor, struct app *a, bool *changed, char *err,
		size_t errlen);
/** Delete an app with its versions, adoption and policies; audited with the whole app. */
int apps_delete(struct db *db, const char *actor, const char *name, char *err, size_t errlen);

/**
 * One version of an app, with adoption and policies. 0, -ENOENT (app or
 * version missing, the message says which), errno.
 */
int apps_version_get(struct db *db, const char *app, const char *version, struct app_version *out,
		     char *err, size_t errlen);
/**
 * Create version v->version of @app with its released date, adoption and
 * policies (all validated). -ENOENT no such app, -EEXIST version exists.
 */
int apps_version_create(struct db *db, const char *actor, const char *app, struct app_version *v,
			char *err, size_t errlen);
/**
 * Make version v->version of @app equal to @v: released, adoption samples
 * and policies are replaced as a whole. -ENOENT when the app or version is
 * missing. *changed may be NULL.
 */
int apps_version_replace(struct db *db, const char *actor, const char *app, struct app_version *v,
			 bool *changed, char *err, size_t errlen);
/** Delete a version with its adoption and policies. -ENOENT. Audited. */
int apps_version_delete(struct db *db, const char *actor, const char *app, const char *version,
			char *err, size_t errlen);

/**
 * Add or replace one policy (key: pattern + include_subdomains) of a version.
 * p->source NULL means "api". -ENOENT when app or version is missing.
 */
int apps_policy_put(struct db *db, const char *actor, const char *app, const char *version,
		    const struct pin_policy *p, bool *changed, char *err, size_t errlen);
/** Delete the policy (pattern, include_subdomains) of a version. -ENOENT. */
int apps_policy_delete(struct db *db, const char *actor, const char *app, const char *version,
		       const char *pattern, bool include_subdomains, char *err, size_t errlen);

/**
 * In one transaction: @app must exist (-ENOENT), version @version is created
 * when missing, and the version's policies whose source is @source ("nsc",
 * "trustkit", "okhttp", "inventory", "api") are replaced by @policies
 * (validated and normalised copies are stored; their own .source is
 * ignored). A policy of another source with the same pattern and
 * include_subdomains is taken over (replaced). Idempotent: the same input
 * again changes nothing and writes no audit row. Audited as action
 * "set_policies" on "version" "<app>/<version>" with before/after JSON.
 */
int apps_set_version_policies(struct db *db, const char *actor, const char *app,
			      const char *version, const struct pin_policy *policies, size_t n,
			      const char *source, char *err, size_t errlen);

/**
 * All or nothing, in one transaction: add the adoption samples @rows to
 * versions of @app. The app and every named version must exist (-ENOENT
 * naming the first missing version): a version pinwatch does not know is
 * refused rather than created, because a version without its pin policies
 * would silently count as "does not pin". A sample for a (version, date)
 * that exists is replaced. Errors (-EINVAL): bad date, share outside [0, 1],
 * the same (version, date) twice in @rows, or shares of the app summing
 * above 1.0 (+1e-9) on a date touched, counting stored samples. Samples
 * that equal the stored ones change nothing. Audited per changed version
 * as action "adoption" on "version" "<app>/<version>".
 */
int apps_add_adoption(struct db *db, const char *actor, const char *app,
		      const struct adoption_row *rows, size_t n, char *err, size_t errlen);

/** Delete one adoption sample. -ENOENT. Audited like apps_add_adoption. */
int apps_adoption_delete(struct db *db, const char *actor, const char *app, const char *version,
			 const char *at, char *err, size_t errlen);

/* For inventory_import(): reconcile one app inside the caller's transaction. */
struct inventory_import_stats;
/**
 * Make app @want (validated) exist and match, merging versions, samples and
 * policies as inventory_import() documents; @prune deletes what @want does
 * not list below the app. Must run inside a transaction.
 */
int apps_sync(struct db *db, const char *actor, const struct app *want, bool prune,
	      struct inventory_import_stats *st, char *err, size_t errlen);

#endif
