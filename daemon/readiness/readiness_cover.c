/* Readiness engine: which versions of which apps cover a host, with which
 * deciding policies (per pinning library), and their adoption shares at a
 * time. Pure (see readiness.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "readiness/readiness.h"
#include "readiness/readiness_int.h"
#include "base/array.h"
#include "base/util.h"

/* ---- Coverage of one host --------------------------------------------- */

struct hit {
	uint32_t app, ver, pol;
	int spec;
	uint8_t src;
	bool exact; /* the pattern is the host itself (no wildcard) */
};

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	if (x->app != y->app)
		return x->app < y->app ? -1 : 1;
	if (x->ver != y->ver)
		return x->ver < y->ver ? -1 : 1;
	if (x->spec != y->spec)
		return x->spec > y->spec ? -1 : 1;
	return x->pol < y->pol ? -1 : x->pol > y->pol;
}

void rd_hostcov_free(struct rd_hostcov *hc)
{
	free(hc->apps);
	free(hc->pool);
	memset(hc, 0, sizeof(*hc));
}

double rd_unaccounted(const struct rd_appcov *ac)
{
	double r = 1.0 - ac->known_sum;
	return r > 1e-12 ? r : 0.0;
}

static double known_sum(const struct app *a, time_t at)
{
	double s = 0;
	for (size_t v = 0; v < a->nversions; v++) {
		const struct adoption_sample *as = model_latest_adoption(&a->versions[v], at);
		if (as)
			s += as->share;
	}
	return s;
}

int rd_shares_build(const struct inventory *inv, time_t at, struct rd_shares *out)
{
	size_t n = 0;
	memset(out, 0, sizeof(*out));
	out->app_off = calloc(inv->napps + 1, sizeof(*out->app_off));
	out->app_known = calloc(inv->napps + 1, sizeof(*out->app_known));
	for (size_t a = 0; out->app_off && a < inv->napps; a++) {
		out->app_off[a] = n;
		n += inv->apps[a].nversions;
	}
	out->ver_share = calloc(n + 1, sizeof(*out->ver_share));
	if (!out->app_off || !out->app_known || !out->ver_share) {
		rd_shares_free(out);
		return -ENOMEM;
	}
	for (size_t a = 0; a < inv->napps; a++) {
		const struct app *app = &inv->apps[a];
		for (size_t v = 0; v < app->nversions; v++) {
			const struct adoption_sample *as =
				model_latest_adoption(&app->versions[v], at);
			out->ver_share[out->app_off[a] + v] = as ? as->share : -1.0;
			if (as)
				out->app_known[a] += as->share;
		}
	}
	return 0;
}

void rd_shares_free(struct rd_shares *sh)
{
	free(sh->app_known);
	free(sh->ver_share);
	free(sh->app_off);
	memset(sh, 0, sizeof(*sh));
}

static void cov_add(struct rd_cov *cv, const struct hit *h, uint8_t grp, time_t at)
{
	if (cv->npol >= RD_MAX_POL)
		return; /* more deciding policies than any real configuration has */
	const struct pin_policy *p = &cv->v->policies[h->pol];
	bool enf = readiness_policy_enforces(p, at);
	cv->pol_enf[cv->npol] = enf;
	cv->grp[cv->npol] = grp;
	cv->pol[cv->npol++] = p;
	if (grp >= cv->ngrp)
		cv->ngrp = (uint8_t)(grp + 1);
	cv->enforcing = cv->enforcing || enf;
}

/*
 * The deciding policies of one version among its covering hits @h (sorted
 * most specific first), per library (docs/readiness.md "Policy selection"):
 *  - inventory/api: the most specific pattern wins, ties merged (one group);
 *  - nsc: the domain equal to the host wins, else the most specific
 *    (longest) includeSubdomains parent (ApplicationConfig.getConfigForHostname);
 *  - okhttp: every matching pattern, pins accepted together
 *    (CertificatePinner.findMatchingPins);
 *  - trustkit: the domain equal to the host wins, else one of the
 *    includeSubdomains parents in NSDictionary order, which is unspecified:
 *    each parent is its own group, so the version survives only when it
 *    survives whichever parent TrustKit picks.
 * Groups of different libraries are all checked (a connection passes every
 * pinning layer the app has).
 */
static void select_policies(const struct hit *h, size_t n, time_t at, struct rd_cov *cv)
{
	uint8_t g = 0;
	unsigned first = h[0].src;
	bool one_src = true;
	for (size_t i = 1; i < n && one_src; i++)
		one_src = h[i].src == first;
	if (one_src && first == RD_SRC_INVENTORY) {
		/* the common case: hits come most specific first */
		for (size_t i = 0; i < n && h[i].spec == h[0].spec; i++)
			cov_add(cv, &h[i], 0, at);
		return;
	}
	for (unsigned src = one_src ? first : 0; src < (one_src ? first + 1 : RD_SRC_N); src++) {
		bool any = false, exact = false;
		int best = -1;
		for (size_t i = 0; i < n; i++) {
			if (h[i].src != src)
				continue;
			any = true;
			exact = exact || h[i].exact;
			if (h[i].spec > best)
				best = h[i].spec;
		}
		if (!any)
			continue;
		bool used = false;
		for (size_t i = 0; i < n; i++) {
			if (h[i].src != src)
				continue;
			bool take;
			switch (src) {
			case RD_SRC_OKHTTP:
				take = true;
				break;
			case RD_SRC_NSC:
			case RD_SRC_TRUSTKIT:
				take = exact ? h[i].exact
					     : (src == RD_SRC_TRUSTKIT || h[i].spec == best);
				break;
			default:
				take = h[i].spec == best;
			}
			if (!take)
				continue;
			/* TrustKit without an exact domain: one group per possible parent */
			bool own = src == RD_SRC_TRUSTKIT && !exact;
			cov_add(cv, &h[i], own && used ? (uint8_t)(g + 1) : g, at);
			if (own && used)
				g++;
			used = true;
		}
		if (used)
			g++;
	}
}

static int hit_spec_desc(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	if (x->spec != y->spec)
		return x->spec > y->spec ? -1 : 1;
	return x->pol < y->pol ? -1 : x->pol > y->pol;
}

bool readiness_version_pins(const struct app_version *v, const char *host, time_t at)
{
	struct hit hits[RD_MAX_POL * 2];
	size_t n = 0;
	size_t hlen = host ? strlen(host) : 0;
	for (size_t i = 0; i < v->npolicies && n < ARRAY_SIZE(hits); i++) {
		const struct pin_policy *p = &v->policies[i];
		struct rd_pat pat;
		if (!p->pattern)
			continue;
		rd_pat_init(&pat, p->pattern, p->include_subdomains);
		if (!rd_covers(&pat, host, hlen))
			continue;
		hits[n++] = (struct hit){ 0,
					  0,
					  (uint32_t)i,
					  readiness_pattern_specificity(p->pattern,
									p->include_subdomains),
					  (uint8_t)rd_src_of(p->source),
					  pat.kind == 0 && pat.blen == hlen };
	}
	if (n == 0)
		return false;
	qsort(hits, n, sizeof(*hits), hit_spec_desc);
	struct rd_cov cv = { .v = v };
	select_policies(hits, n, at, &cv);
	return cv.enforcing;
}

int rd_hostcov_build(const struct readiness_index *idx, const char *host, time_t at,
		     const struct rd_shares *sh, struct rd_hostcov *out)
{
	memset(out, 0, sizeof(*out));
	const struct inventory *inv = idx->inv;
	struct hit *hits = NULL;
	size_t nhits = 0, cap = 0;
	size_t depth = 0; /* labels of the host before the suffix looked up */

	/* Every suffix of the host is a possible pattern base; the lookup already
	 * matched the base on a label boundary, so coverage is a matter of depth. */
	for (const char *s = host; s && *s; depth++) {
		const struct rd_bucket *b = rd_bucket_find(idx, s, strlen(s));
		for (size_t i = 0; b && i < b->n; i++) {
			const struct rd_entry *e = &idx->entries[b->idx[i]];
			bool covers = e->kind == 2 || (e->kind == 0 && (depth == 0 || e->incl)) ||
				      (e->kind == 1 && (depth == 1 || (depth > 1 && e->incl)));
			if (!covers)
				continue;
			if (ARRAY_RESERVE(hits, cap, nhits + 1, ARRAY_MAX_ITEMS))
				goto nomem;
			hits[nhits++] = (struct hit){ e->app,  e->ver, e->pol,
						      e->spec, e->src, e->kind == 0 && depth == 0 };
		}
		s = strchr(s, '.');
		if (s)
			s++;
	}
	if (nhits == 0)
		return 0;
	qsort(hits, nhits, sizeof(*hits), hit_cmp);

	size_t napps = 0, nvers = 0;
	for (size_t i = 0; i < nhits; i++) {
		if (i == 0 || hits[i].app != hits[i - 1].app)
			napps++;
		if (i == 0 || hits[i].app != hits[i - 1].app || hits[i].ver != hits[i - 1].ver)
			nvers++;
	}
	out->apps = calloc(napps, sizeof(*out->apps));
	out->pool = calloc(nvers, sizeof(*out->pool));
	if (!out->apps || !out->pool)
		goto nomem;
	struct rd_appcov *ac = NULL;
	size_t used = 0;
	for (size_t i = 0; i < nhits;) {
		const struct hit *h = &hits[i];
		const struct app *app = &inv->apps[h->app];
		if (i == 0 || h->app != hits[i - 1].app) {
			ac = &out->apps[out->napps++];
			ac->app = app;
			ac->vers = out->pool + used;
			ac->known_sum = sh ? sh->app_known[h->app] : known_sum(app, at);
		}
		size_t end = i + 1;
		while (end < nhits && hits[end].app == h->app && hits[end].ver == h->ver)
			end++;
		struct rd_cov *cv = &out->pool[used++];
		ac->n++;
		cv->v = &app->versions[h->ver];
		if (sh) {
			double x = sh->ver_share[sh->app_off[h->app] + h->ver];
			cv->known = x >= 0;
			cv->share = x >= 0 ? x : 0.0;
		} else {
			const struct adoption_sample *as = model_latest_adoption(cv->v, at);
			cv->known = as != NULL;
			cv->share = as ? as->share : 0.0;
		}
		select_policies(hits + i, end - i, at, cv);
		if (cv->enforcing)
			ac->nenforcing++;
		i = end;
	}
	free(hits);
	return 0;
nomem:
	free(hits);
	rd_hostcov_free(out);
	return -ENOMEM;
}
