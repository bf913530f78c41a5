/* The bulk writes of the apps store: policies of one source (app-config
 * importers), adoption figures (CSV importer) and the reconciliation of one
 * app for inventory_import(). Declared in apps.h. */
#include "store/apps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/apps_model.h"
#include "store/db.h"
#include "store/inventory.h"
#include "model/sort.h"
#include "model/validate.h"
#include "base/util.h"

#define MAX_ADOPTION_ROWS 100000
#define MAX_POLICIES	  MODEL_MAX_POLICIES

static int nomem(char *err, size_t errlen)
{
	return util_err(err, errlen, -ENOMEM, "out of memory");
}

int apps_set_version_policies(struct db *db, const char *actor, const char *app,
			      const char *version, const struct pin_policy *policies, size_t n,
			      const char *source, char *err, size_t errlen)
{
	struct app_version have = { 0 }, after = { 0 };
	struct app a;
	char msg[ERRLEN];
	bool owned, existed = true;
	int rc;

	if (!model_valid_source(source))
		return util_err(err, errlen, -EINVAL,
				"source must be inventory, nsc, trustkit, okhttp or api");
	if (n > MAX_POLICIES)
		return util_err(err, errlen, -EINVAL, "more than %d policies", MAX_POLICIES);
	if ((rc = db_tx_begin(db, &owned, err, errlen)))
		return rc;
	if ((rc = apps_get(db, app, false, &a, err, errlen)))
		return db_tx_end(db, owned, rc, err, errlen);
	int64_t app_id = a.id;
	model_app_free(&a);

	rc = apps_version_get(db, app, version, &have, err, errlen);
	if (rc == -ENOENT) {
		existed = false;
		memset(&have, 0, sizeof(have));
		if (!(after.version = strdup(version ? version : "")))
			rc = nomem(err, errlen);
		else if (!(rc = model_check_version(&after, err, errlen)))
			rc = apps_insert_version_row(db, app_id, app, &after, &after.id, err,
						     errlen);
	} else if (!rc && apps_copy_version(&have, &after)) {
		rc = nomem(err, errlen);
	}
	/* Drop what this source said last time, then add what it says now. */
	for (size_t i = after.npolicies; !rc && i-- > 0;)
		if (after.policies[i].source && strcmp(after.policies[i].source, source) == 0)
			apps_del_policy(&after, i);
	for (size_t i = 0; !rc && i < n; i++) {
		struct pin_policy p;
		if (apps_copy_policy(&policies[i], &p)) {
			rc = nomem(err, errlen);
			break;
		}
		free(p.source);
		if (!(p.source = strdup(source)))
			rc = nomem(err, errlen);
		else if ((rc = model_check_policy(&p, msg, sizeof(msg))))
			util_err(err, errlen, rc, "policy %zu (%s): %s", i,
				 p.pattern ? p.pattern : "", msg);
		if (!rc) {
			ssize_t k = apps_find_policy(&after, p.pattern, p.include_subdomains);
			if (k >= 0 && strcmp(after.policies[k].source, source) == 0)
				rc = util_err(err, errlen, -EINVAL, "policy %zu (%s): given twice",
					      i, p.pattern);
			else if (apps_put_policy(&after, &p))
				rc = nomem(err, errlen);
		}
		model_policy_free(&p);
	}
	if (!rc)
		rc = model_check_version(&after, err, errlen);
	if (!rc)
		rc = apps_version_commit(db, actor, "set_policies", app, after.id,
					 existed ? &have : NULL, &after, NULL, err, errlen);
	model_version_free(&after);
	model_version_free(&have);
	return db_tx_end(db, owned, rc, err, errlen);
}

/* The rows qsort_r() compares indices of (its argument is not const). */
struct rows_arg {
	const struct adoption_row *rows;
};

static int cmp_row_idx(const void *x, const void *y, void *arg)
{
	const struct adoption_row *rows = ((const struct rows_arg *)arg)->rows;
	const struct adoption_row *a = &rows[*(const size_t *)x], *b = &rows[*(const size_t *)y];
	int c = strcmp(a->version, b->version);
	if (!c)
		c = strncmp(a->at, b->at, MODEL_DATE_LEN);
	if (!c)
		c = (*(const size_t *)x > *(const size_t *)y) -
		    (*(const size_t *)x < *(const size_t *)y);
	return c;
}

static int check_rows(const struct adoption_row *rows, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		struct adoption_sample s = { .share = rows[i].share,
					     .active_users = rows[i].active_users };
		char msg[ERRLEN];
		if (!rows[i].version || !*rows[i].version)
			return util_err(err, errlen, -EINVAL, "row %zu: version missing", i);
		if (!memchr(rows[i].at, '\0', MODEL_DATE_LEN))
			return util_err(err, errlen, -EINVAL, "row %zu: at: not a date", i);
		memcpy(s.at, rows[i].at, MODEL_DATE_LEN);
		int rc = model_check_sample(&s, msg, sizeof(msg));
		if (rc)
			return util_err(err, errlen, rc, "row %zu (version %s): %s", i,
					rows[i].version, msg);
	}
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!idx)
		return nomem(err, errlen);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_row_idx, &(struct rows_arg){ rows });
	int rc = 0;
	for (size_t i = 1; i < n && !rc; i++) {
		const struct adoption_row *a = &rows[idx[i - 1]], *b = &rows[idx[i]];
		if (strcmp(a->version, b->version) == 0 && strcmp(a->at, b->at) == 0)
			rc = util_err(err, errlen, -EINVAL,
				      "row %zu: version %s on %s given twice (see row %zu)", idx[i],
				      b->version, b->at, idx[i - 1]);
	}
	free(idx);
	return rc;
}

struct row_order {
	const struct adoption_row *rows;
	const size_t *vk; /* version index of each row */
};

static int cmp_row_vk(const void *x, const void *y, void *arg)
{
	const struct row_order *o = arg;
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	if (o->vk[i] != o->vk[j])
		return o->vk[i] < o->vk[j] ? -1 : 1;
	return strcmp(o->rows[i].at, o->rows[j].at);
}

static int cmp_row_at(const void *x, const void *y, void *arg)
{
	const struct adoption_row *rows = ((const struct rows_arg *)arg)->rows;
	return strcmp(rows[*(const size_t *)x].at, rows[*(const size_t *)y].at);
}

static int cmp_version_name(const void *key, const void *elem)
{
	return model_version_cmp(key, ((const struct app_version *)elem)->version);
}

static int cmp_sample_at(const void *key, const void *elem)
{
	return strcmp(key, ((const struct adoption_sample *)elem)->at);
}

/* @v's samples (sorted) merged with rows idx[0..m) (sorted by date, one per
 * date): a row replaces the stored sample of its date. 0 or -ENOMEM. */
static int merge_rows(struct app_version *v, const struct adoption_row *rows, const size_t *idx,
		      size_t m)
{
	struct adoption_sample *out = malloc((v->nadoption + m) * sizeof(*out));
	size_t a = 0, b = 0, o = 0;
	if (!out)
		return -ENOMEM;
	while (a < v->nadoption || b < m) {
		int c = a >= v->nadoption ? 1
			: b >= m	  ? -1
					  : strcmp(v->adoption[a].at, rows[idx[b]].at);
		if (c < 0) {
			out[o++] = v->adoption[a++];
			continue;
		}
		const struct adoption_row *r = &rows[idx[b++]];
		struct adoption_sample s = { .share = r->share, .active_users = r->active_users };
		memcpy(s.at, r->at, MODEL_DATE_LEN);
		(void)util_parse_date(s.at, &s.at_time);
		out[o++] = s;
		if (c == 0)
			a++;
	}
	free(v->adoption);
	v->adoption = out;
	v->nadoption = o;
	return 0;
}

int apps_add_adoption(struct db *db, const char *actor, const char *app,
		      const struct adoption_row *rows, size_t n, char *err, size_t errlen)
{
	struct app have = { 0 };
	struct app_version *after = NULL;
	size_t *vk = NULL, *idx = NULL;
	bool owned;
	int rc;

	if (n > MAX_ADOPTION_ROWS)
		return util_err(err, errlen, -EINVAL, "more than %d adoption rows",
				MAX_ADOPTION_ROWS);
	if ((rc = check_rows(rows, n, err, errlen)))
		return rc;
	if ((rc = db_tx_begin(db, &owned, err, errlen)))
		return rc;
	if ((rc = apps_get(db, app, true, &have, err, errlen)))
		return db_tx_end(db, owned, rc, err, errlen);
	if ((have.nversions && !(after = calloc(have.nversions, sizeof(*after)))) ||
	    !(vk = malloc((n ? n : 1) * sizeof(*vk))) ||
	    !(idx = malloc((n ? n : 1) * sizeof(*idx))))
		rc = nomem(err, errlen);
	/* Which version each row is for (versions come sorted by version order). */
	for (size_t i = 0; !rc && i < n; i++) {
		const struct app_version *v =
			have.nversions ? bsearch(rows[i].version, have.versions, have.nversions,
						 sizeof(*have.versions), cmp_version_name)
				       : NULL;
		if (!v)
			rc = util_err(err, errlen, -ENOENT,
				      "row %zu: app '%s' has no version '%s' (add the version "
				      "with its pin policies first)",
				      i, app, rows[i].version);
		else
			vk[i] = (size_t)(v - have.versions);
		idx[i] = i;
	}
	/* Group rows by version, by date; merge each group into a copy. */
	if (!rc) {
		struct row_order ord = { rows, vk };
		qsort_r(idx, n, sizeof(*idx), cmp_row_vk, &ord);
	}
	for (size_t g = 0; !rc && g < n;) {
		size_t k = vk[idx[g]], e = g;
		while (e < n && vk[idx[e]] == k)
			e++;
		if (apps_copy_version(&have.versions[k], &after[k]) ||
		    merge_rows(&after[k], rows, idx + g, e - g))
			rc = nomem(err, errlen);
		g = e;
	}
	/* Shares of one app on one date cannot exceed the whole user base. */
	if (!rc)
		qsort_r(idx, n, sizeof(*idx), cmp_row_at, &(struct rows_arg){ rows });
	for (size_t i = 0; !rc && i < n; i++) {
		if (i > 0 && strcmp(rows[idx[i]].at, rows[idx[i - 1]].at) == 0)
			continue;
		const char *at = rows[idx[i]].at;
		double sum = 0;
		for (size_t k = 0; k < have.nversions; k++) {
			const struct app_version *v =
				after[k].version ? &after[k] : &have.versions[k];
			const struct adoption_sample *smp =
				v->nadoption ? bsearch(at, v->adoption, v->nadoption,
						       sizeof(*v->adoption), cmp_sample_at)
					     : NULL;
			if (smp)
				sum += smp->share;
		}
		if (sum > 1.0 + 1e-9)
			rc = util_err(err, errlen, -EINVAL,
				      "shares of app '%s' on %s would sum to %.4f (above 1)", app,
				      at, sum);
	}
	for (size_t k = 0; !rc && k < have.nversions; k++) {
		if (!after[k].version)
			continue;
		rc = model_check_version(&after[k], err, errlen);
		if (!rc)
			rc = apps_version_commit(db, actor, "adoption", app, have.versions[k].id,
						 &have.versions[k], &after[k], NULL, err, errlen);
	}
	for (size_t k = 0; after && k < have.nversions; k++)
		model_version_free(&after[k]);
	free(after);
	free(vk);
	free(idx);
	model_app_free(&have);
	return db_tx_end(db, owned, rc, err, errlen);
}

/* The version @want says, merged into @hv (NULL when new) unless @prune. */
static int merge_version(const struct app_version *hv, const struct app_version *want, bool prune,
			 struct app_version *out)
{
	if (!hv || prune)
		return apps_copy_version(want, out);
	if (apps_copy_version(hv, out))
		return -ENOMEM;
	memcpy(out->released, want->released, sizeof(out->released));
	if (apps_merge_samples(out, want->adoption, want->nadoption))
		goto fail;
	for (size_t i = 0; i < want->npolicies; i++)
		if (apps_put_policy(out, &want->policies[i]))
			goto fail;
	return 0;
fail:
	model_version_free(out);
	return -ENOMEM;
}

int apps_sync(struct db *db, const char *actor, const struct app *want, bool prune,
	      struct inventory_import_stats *st, char *err, size_t errlen)
{
	struct app have = { 0 };
	struct app attrs = *want; /* shallow: the app's own fields only, never freed */
	bool changed = false;
	char msg[ERRLEN];

	attrs.versions = NULL;
	attrs.nversions = 0;
	int rc = apps_check(&attrs, err, errlen);
	if (rc)
		return rc;
	rc = apps_get(db, want->name, true, &have, err, errlen);
	if (rc == -ENOENT) {
		rc = apps_app_insert(db, actor, &attrs, err, errlen);
		have.id = attrs.id;
		st->created++;
	} else if (!rc) {
		rc = apps_app_update(db, actor, &have, &attrs, &changed, err, errlen);
		if (changed)
			st->updated++;
		else
			st->unchanged++;
	}
	for (size_t i = 0; !rc && i < want->nversions; i++) {
		const struct app_version *wv = &want->versions[i];
		const struct app_version *hv = NULL;
		struct app_version merged;
		for (size_t k = 0; k < have.nversions && !hv; k++)
			if (strcmp(have.versions[k].version, wv->version) == 0)
				hv = &have.versions[k];
		if (merge_version(hv, wv, prune, &merged)) {
			rc = nomem(err, errlen);
			break;
		}
		if ((rc = model_check_version(&merged, msg, sizeof(msg)))) {
			util_err(err, errlen, rc, "app %s version %s: %s", want->name, wv->version,
				 msg);
		} else if (!hv) {
			rc = apps_insert_version_row(db, have.id, want->name, &merged, &merged.id,
						     err, errlen);
			if (!rc)
				rc = apps_version_commit(db, actor, "create", want->name, merged.id,
							 NULL, &merged, NULL, err, errlen);
			st->created++;
		} else {
			rc = apps_version_commit(db, actor, "update", want->name, hv->id, hv,
						 &merged, &changed, err, errlen);
			if (changed)
				st->updated++;
			else
				st->unchanged++;
		}
		model_version_free(&merged);
	}
	for (size_t k = 0; !rc && prune && k < have.nversions; k++) {
		bool listed = false;
		for (size_t i = 0; i < want->nversions && !listed; i++)
			listed = strcmp(want->versions[i].version, have.versions[k].version) == 0;
		if (!listed) {
			rc = apps_version_remove(db, actor, want->name, &have.versions[k], err,
						 errlen);
			st->deleted++;
		}
	}
	model_app_free(&have);
	return rc;
}
