/* Candidates: the what-if evaluation (pure) and the loader of the apps part
 * of the inventory it needs.
 *
 * The what-if here follows DESIGN.md "stranded share" for one presented
 * chain; it considers the pins of the candidate's certificates only (no
 * chain completion to a root of the trust store), which is exact for chains
 * that include their root and conservative (may over-report) otherwise.
 * When readiness.h's what-if lands, candidates_evaluate() should call it.
 */
#include "candidates.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "util.h"

/* Specificity of @p for @host: 0 no match; larger is more specific. */
static size_t policy_match(const struct pin_policy *p, const char *host)
{
	size_t hl = strlen(host), pl = strlen(p->pattern);
	const char *pat = p->pattern;
	if (!strcmp(pat, host))
		return 100000;
	if (!strncmp(pat, "**.", 3)) {
		const char *base = pat + 3;
		size_t bl = pl - 3;
		if (!strcmp(host, base) || (hl > bl + 1 && host[hl - bl - 1] == '.' &&
					    !strcmp(host + hl - bl, base)))
			return pl;
		return 0;
	}
	if (!strncmp(pat, "*.", 2)) {
		const char *base = pat + 2;
		size_t bl = pl - 2;
		if (hl > bl + 1 && host[hl - bl - 1] == '.' && !strcmp(host + hl - bl, base) &&
		    memchr(host, '.', hl - bl - 1) == NULL)
			return pl + 1;
		return 0;
	}
	if (p->include_subdomains && hl > pl + 1 && host[hl - pl - 1] == '.' &&
	    !strcmp(host + hl - pl, pat))
		return pl + 1;
	return 0;
}

static const struct pin_policy *covering_policy(const struct app_version *v, const char *host)
{
	const struct pin_policy *best = NULL;
	size_t best_s = 0;
	for (size_t i = 0; i < v->npolicies; i++) {
		size_t s = policy_match(&v->policies[i], host);
		if (s > best_s) {
			best_s = s;
			best = &v->policies[i];
		}
	}
	return best;
}

static bool policy_survives(const struct pin_policy *p, const uint8_t (*pins)[32], size_t npins)
{
	for (size_t i = 0; i < p->npins; i++)
		for (size_t j = 0; j < npins; j++)
			if (!memcmp(p->pins[i].sha256, pins[j], 32))
				return true;
	return false;
}

json_t *candidates_whatif(const struct app *apps, size_t napps, const char *host,
			  const uint8_t (*pins)[32], size_t npins, time_t at, double *max_stranded,
			  bool *unknown_stranded)
{
	json_t *out = json_array();
	*max_stranded = 0;
	*unknown_stranded = false;
	for (size_t a = 0; out && a < napps; a++) {
		const struct app *app = &apps[a];
		double stranded = 0, known = 0;
		bool pins_host = false;
		json_t *sv = json_array(), *uv = json_array();
		for (size_t v = 0; sv && uv && v < app->nversions; v++) {
			const struct app_version *ver = &app->versions[v];
			const struct adoption_sample *ad = model_latest_adoption(ver, at);
			if (ad)
				known += ad->share;
			const struct pin_policy *p = covering_policy(ver, host);
			if (!p)
				continue;
			pins_host = true;
			if (!p->enforce || (p->expires_at && at >= p->expires_at) ||
			    policy_survives(p, pins, npins))
				continue;
			if (ad) {
				stranded += ad->share;
				json_array_append_new(sv, json_pack("{s:s,s:f}", "version",
								    ver->version, "share",
								    ad->share));
			} else {
				*unknown_stranded = true;
				json_array_append_new(uv, json_string(ver->version));
			}
		}
		if (!pins_host || !sv || !uv) {
			json_decref(sv);
			json_decref(uv);
			continue;
		}
		if (stranded > 1)
			stranded = 1;
		double unknown = known >= 1 ? 0 : 1 - known;
		if (stranded > *max_stranded)
			*max_stranded = stranded;
		json_array_append_new(out, json_pack("{s:s,s:I,s:f,s:f,s:o,s:o}", "app", app->name,
						     "app_id", (json_int_t)app->id,
						     "stranded_share", stranded, "unknown_share",
						     unknown, "stranded_versions", sv,
						     "unknown_versions", uv));
	}
	return out;
}

/* ---- loading apps, versions, adoption, policies and pins from SQL ---- */

#define LOAD_MAX_ROWS 200000

struct vref {
	int64_t id;
	size_t app, ver;
};
struct pref {
	int64_t id;
	size_t app, ver, pol;
};

static int cmp_vref(const void *a, const void *b)
{
	int64_t x = ((const struct vref *)a)->id, y = ((const struct vref *)b)->id;
	return x < y ? -1 : x > y;
}
static int cmp_pref(const void *a, const void *b)
{
	int64_t x = ((const struct pref *)a)->id, y = ((const struct pref *)b)->id;
	return x < y ? -1 : x > y;
}

static void *grow(void *arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return arr;
	size_t ncap = *cap ? *cap * 2 : 8;
	void *na = realloc(arr, ncap * elem);
	if (!na)
		return NULL;
	memset((char *)na + *cap * elem, 0, (ncap - *cap) * elem);
	*cap = ncap;
	return na;
}

static char *col_dup(sqlite3_stmt *s, int c)
{
	const unsigned char *t = sqlite3_column_text(s, c);
	return strdup(t ? (const char *)t : "");
}

int candidates_load_apps(struct db *db, struct app **out, size_t *nout, char *err, size_t errlen)
{
	sqlite3 *h = db_handle(db);
	sqlite3_stmt *s = NULL;
	struct app *apps = NULL;
	size_t napps = 0, acap = 0;
	struct vref *vr = NULL;
	size_t nvr = 0, vrcap = 0;
	struct pref *pr = NULL;
	size_t npr = 0, prcap = 0;
	size_t rows = 0;
	int rc = -EIO;

	*out = NULL;
	*nout = 0;
	if (sqlite3_prepare_v2(h, "SELECT id, name, platform, bundle_id FROM apps ORDER BY id", -1,
			       &s, NULL) != SQLITE_OK)
		goto sqlfail;
	while (sqlite3_step(s) == SQLITE_ROW) {
		void *t = grow(apps, &acap, napps, sizeof(*apps));
		if (++rows > LOAD_MAX_ROWS || !t)
			goto nomem;
		apps = t;
		struct app *a = &apps[napps++];
		a->id = sqlite3_column_int64(s, 0);
		a->name = col_dup(s, 1);
		(void)model_parse_platform((const char *)sqlite3_column_text(s, 2), &a->platform);
		if (!a->name)
			goto nomem;
	}
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(h, "SELECT id, app_id, version FROM versions ORDER BY app_id, id", -1,
			       &s, NULL) != SQLITE_OK)
		goto sqlfail;
	size_t ai = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		int64_t app_id = sqlite3_column_int64(s, 1);
		while (ai < napps && apps[ai].id < app_id)
			ai++;
		if (ai >= napps || apps[ai].id != app_id)
			continue;
		struct app *a = &apps[ai];
		size_t cap = a->nversions; /* exact growth: versions per app are few */
		struct app_version *nv = realloc(a->versions, (cap + 1) * sizeof(*nv));
		if (!nv)
			goto nomem;
		a->versions = nv;
		memset(&nv[cap], 0, sizeof(nv[cap]));
		void *t = grow(vr, &vrcap, nvr, sizeof(*vr));
		if (++rows > LOAD_MAX_ROWS || !t)
			goto nomem;
		vr = t;
		nv[cap].id = sqlite3_column_int64(s, 0);
		nv[cap].version = col_dup(s, 2);
		a->nversions++;
		vr[nvr++] = (struct vref){ nv[cap].id, ai, cap };
		if (!nv[cap].version)
			goto nomem;
	}
	sqlite3_finalize(s);
	qsort(vr, nvr, sizeof(*vr), cmp_vref);

	if (sqlite3_prepare_v2(h, "SELECT version_id, at, share FROM adoption ORDER BY version_id, at",
			       -1, &s, NULL) != SQLITE_OK)
		goto sqlfail;
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct vref key = { sqlite3_column_int64(s, 0), 0, 0 };
		struct vref *f = bsearch(&key, vr, nvr, sizeof(*vr), cmp_vref);
		if (!f)
			continue;
		struct app_version *v = &apps[f->app].versions[f->ver];
		struct adoption_sample *na = realloc(v->adoption, (v->nadoption + 1) * sizeof(*na));
		if (!na)
			goto nomem;
		v->adoption = na;
		if (++rows > LOAD_MAX_ROWS)
			goto nomem;
		struct adoption_sample *smp = &na[v->nadoption++];
		memset(smp, 0, sizeof(*smp));
		const char *at = (const char *)sqlite3_column_text(s, 1);
		snprintf(smp->at, sizeof(smp->at), "%s", at ? at : "");
		(void)util_parse_date(smp->at, &smp->at_time);
		smp->share = sqlite3_column_double(s, 2);
		smp->active_users = -1;
	}
	sqlite3_finalize(s);

	if (sqlite3_prepare_v2(h,
			       "SELECT id, version_id, pattern, include_subdomains, enforce, expires "
			       "FROM pin_policies ORDER BY version_id, id",
			       -1, &s, NULL) != SQLITE_OK)
		goto sqlfail;
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct vref key = { sqlite3_column_int64(s, 1), 0, 0 };
		struct vref *f = bsearch(&key, vr, nvr, sizeof(*vr), cmp_vref);
		if (!f)
			continue;
		struct app_version *v = &apps[f->app].versions[f->ver];
		struct pin_policy *np = realloc(v->policies, (v->npolicies + 1) * sizeof(*np));
		if (!np)
			goto nomem;
		v->policies = np;
		struct pin_policy *p = &np[v->npolicies];
		memset(p, 0, sizeof(*p));
		v->npolicies++;
		void *t = grow(pr, &prcap, npr, sizeof(*pr));
		if (++rows > LOAD_MAX_ROWS || !t)
			goto nomem;
		pr = t;
		p->id = sqlite3_column_int64(s, 0);
		p->pattern = col_dup(s, 2);
		p->include_subdomains = sqlite3_column_int(s, 3) != 0;
		p->enforce = sqlite3_column_int(s, 4) != 0;
		const char *ex = (const char *)sqlite3_column_text(s, 5);
		if (ex && !util_parse_date(ex, &p->expires_at))
			snprintf(p->expires, sizeof(p->expires), "%s", ex);
		pr[npr++] = (struct pref){ p->id, f->app, f->ver, v->npolicies - 1 };
		if (!p->pattern)
			goto nomem;
	}
	sqlite3_finalize(s);
	qsort(pr, npr, sizeof(*pr), cmp_pref);

	if (sqlite3_prepare_v2(h, "SELECT policy_id, sha256, role FROM pins ORDER BY policy_id", -1,
			       &s, NULL) != SQLITE_OK)
		goto sqlfail;
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct pref key = { sqlite3_column_int64(s, 0), 0, 0, 0 };
		struct pref *f = bsearch(&key, pr, npr, sizeof(*pr), cmp_pref);
		if (!f)
			continue;
		struct pin_policy *p = &apps[f->app].versions[f->ver].policies[f->pol];
		uint8_t pin[32];
		if (util_parse_pin((const char *)sqlite3_column_text(s, 1), pin, NULL, 0))
			continue;
		struct pin *np = realloc(p->pins, (p->npins + 1) * sizeof(*np));
		if (!np)
			goto nomem;
		p->pins = np;
		if (++rows > LOAD_MAX_ROWS)
			goto nomem;
		memcpy(np[p->npins].sha256, pin, 32);
		np[p->npins].role = PIN_CURRENT;
		p->npins++;
	}
	sqlite3_finalize(s);
	s = NULL;
	free(vr);
	free(pr);
	*out = apps;
	*nout = napps;
	return 0;

sqlfail:
	util_err(err, errlen, -EIO, "loading the inventory: %s", sqlite3_errmsg(h));
	rc = -EIO;
	goto fail;
nomem:
	util_err(err, errlen, -ENOMEM, "loading the inventory: out of memory or over %d rows",
		 LOAD_MAX_ROWS);
	rc = -ENOMEM;
fail:
	sqlite3_finalize(s);
	for (size_t i = 0; i < napps; i++)
		model_app_free(&apps[i]);
	free(apps);
	free(vr);
	free(pr);
	return rc;
}
