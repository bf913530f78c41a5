/* Readiness engine core: patterns, the policy index, coverage of a host and
 * the share arithmetic. Pure: no SQLite, clock or sockets (see readiness.h). */
#include "readiness/readiness.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "readiness/readiness_int.h"
#include "base/util.h"

/* ---- Small helpers ---------------------------------------------------- */

void readiness_opts_default(struct readiness_opts *o, time_t at)
{
	memset(o, 0, sizeof(*o));
	o->at = at;
	o->stale_after_s = 30 * 86400;
	o->drift_window_s = 7 * 86400;
	o->forecast_window_s = 120 * 86400;
}

/* Room for one more sentence: 1, 0 when the list is full (the sentence is
 * dropped, not an error), or -ENOMEM. */
static int strv_room(struct readiness_strv *sv)
{
	if (sv->n >= READINESS_MAX_REASONS)
		return 0;
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 4;
		char **v = realloc(sv->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		sv->v = v;
		sv->cap = cap;
	}
	return 1;
}

int readiness_strv_add(struct readiness_strv *sv, const char *fmt, ...)
{
	int room = strv_room(sv);
	if (room <= 0)
		return room;
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -ENOMEM;
	sv->v[sv->n++] = s;
	return 0;
}

int rd_strv_push(struct readiness_strv *sv, const char *str)
{
	int room = strv_room(sv);
	if (room <= 0)
		return room;
	char *d = strdup(str);
	if (!d)
		return -ENOMEM;
	sv->v[sv->n++] = d;
	return 0;
}

void readiness_strv_free(struct readiness_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

char *readiness_pin_short(const uint8_t pin[32], char *buf, size_t len)
{
	char b64[48];
	util_pin_b64(pin, b64);
	snprintf(buf, len, "sha256/%.8s...", b64);
	return buf;
}

void rd_sb_add(struct rd_sb *sb, const char *fmt, ...)
{
	if (sb->n >= sizeof(sb->b) - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	int rc = vsnprintf(sb->b + sb->n, sizeof(sb->b) - sb->n, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return;
	sb->n += (size_t)rc;
	if (sb->n >= sizeof(sb->b))
		sb->n = sizeof(sb->b) - 1;
}

void rd_sb_str(struct rd_sb *sb, const char *str)
{
	size_t room = sizeof(sb->b) - 1 - sb->n, len = strlen(str);
	if (len > room)
		len = room;
	memcpy(sb->b + sb->n, str, len);
	sb->n += len;
	sb->b[sb->n] = '\0';
}

/* "%.1f%%" without printf's floating-point path (hot: several per verdict). */
void rd_sb_pct(struct rd_sb *sb, double share)
{
	double x = share * 1000.0;
	if (!(x >= 0 && x < 1e12)) {
		rd_sb_add(sb, "%.1f%%", share * 100.0);
		return;
	}
	unsigned long long t = (unsigned long long)(x + 0.5);
	char tmp[32];
	size_t n = sizeof(tmp);
	tmp[--n] = '\0';
	tmp[--n] = '%';
	tmp[--n] = (char)('0' + t % 10);
	tmp[--n] = '.';
	t /= 10;
	do {
		tmp[--n] = (char)('0' + t % 10);
		t /= 10;
	} while (t);
	rd_sb_str(sb, tmp + n);
}

void rd_sb_versions(struct rd_sb *sb, const struct readiness_version_share *v, size_t n)
{
	size_t shown = n > 6 ? 5 : n;
	for (size_t i = 0; i < shown; i++) {
		if (i > 0)
			rd_sb_str(sb, i + 1 == n ? " and " : ", ");
		rd_sb_str(sb, v[i].version->version);
		rd_sb_str(sb, " (");
		if (v[i].known)
			rd_sb_pct(sb, v[i].share);
		else
			rd_sb_str(sb, "no adoption figure");
		rd_sb_str(sb, ")");
	}
	if (shown < n)
		rd_sb_add(sb, " and %zu more versions", n - shown);
}

/* ---- Freeing inputs --------------------------------------------------- */

int readiness_cert_copy(struct readiness_cert *dst, const struct readiness_cert *src)
{
	*dst = *src;
	dst->subject = src->subject ? strdup(src->subject) : NULL;
	dst->issuer = src->issuer ? strdup(src->issuer) : NULL;
	if ((src->subject && !dst->subject) || (src->issuer && !dst->issuer)) {
		readiness_cert_free(dst);
		return -ENOMEM;
	}
	return 0;
}

void readiness_cert_free(struct readiness_cert *c)
{
	if (!c)
		return;
	free(c->subject);
	free(c->issuer);
	c->subject = c->issuer = NULL;
}

void readiness_chain_free(struct readiness_chain *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ncerts; i++)
		readiness_cert_free(&c->certs[i]);
	free(c->certs);
	c->certs = NULL;
	c->ncerts = 0;
}

void readiness_address_free(struct readiness_address *a)
{
	if (!a)
		return;
	free(a->address);
	free(a->outcome);
	readiness_chain_free(&a->presented);
	readiness_chain_free(&a->validated);
	readiness_chain_free(&a->previous);
	for (size_t i = 0; a->variants && i < a->nvariants; i++) {
		free(a->variants[i].variant);
		free(a->variants[i].outcome);
		readiness_chain_free(&a->variants[i].presented);
		readiness_chain_free(&a->variants[i].validated);
	}
	free(a->variants);
	memset(a, 0, sizeof(*a));
}

void readiness_observed_free(struct readiness_observed *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->naddrs; i++)
		readiness_address_free(&o->addrs[i]);
	free(o->addrs);
	free(o->seen);
	memset(o, 0, sizeof(*o));
}

void readiness_observations_free(struct readiness_observations *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->neps; i++)
		readiness_observed_free(&o->eps[i]);
	free(o->eps);
	memset(o, 0, sizeof(*o));
}

/* ---- Patterns --------------------------------------------------------- */

static size_t wildcard_prefix(const char *pattern, int *kind)
{
	if (strncmp(pattern, "**.", 3) == 0) {
		*kind = 2;
		return 3;
	}
	if (strncmp(pattern, "*.", 2) == 0) {
		*kind = 1;
		return 2;
	}
	*kind = 0;
	return 0;
}

/* host ends with "." base, with a non-empty part before it; returns that part's length */
static bool below(const char *host, size_t hlen, const char *base, size_t blen, size_t *plen)
{
	if (hlen < blen + 2)
		return false;
	if (host[hlen - blen - 1] != '.' || strncasecmp(host + hlen - blen, base, blen) != 0)
		return false;
	*plen = hlen - blen - 1;
	return true;
}

bool rd_covers(const struct rd_pat *p, const char *host, size_t hlen)
{
	size_t plen;
	if (p->blen == 0 || hlen == 0)
		return false;
	bool equal = hlen == p->blen && strncasecmp(host, p->base, p->blen) == 0;
	switch (p->kind) {
	case 0: /* exact, optionally with subdomains */
		return equal || (p->incl && below(host, hlen, p->base, p->blen, &plen));
	case 1: /* "*.": one label, any depth with include_subdomains */
		if (!below(host, hlen, p->base, p->blen, &plen))
			return false;
		return p->incl || memchr(host, '.', plen) == NULL;
	default: /* "**.": apex and any depth */
		return equal || below(host, hlen, p->base, p->blen, &plen);
	}
}

void rd_pat_init(struct rd_pat *p, const char *pattern, bool include_subdomains)
{
	p->base = pattern + wildcard_prefix(pattern, &p->kind);
	p->blen = strlen(p->base);
	p->incl = include_subdomains;
}

bool readiness_pattern_covers(const char *pattern, bool include_subdomains, const char *host)
{
	if (!pattern || !host)
		return false;
	struct rd_pat p;
	rd_pat_init(&p, pattern, include_subdomains);
	return rd_covers(&p, host, strlen(host));
}

int readiness_pattern_specificity(const char *pattern, bool include_subdomains)
{
	int kind;
	const char *base = pattern + wildcard_prefix(pattern, &kind);
	int labels = *base ? 1 : 0;
	for (const char *p = base; *p; p++)
		labels += *p == '.';
	int k;
	if (kind == 0)
		k = include_subdomains ? 1 : 3;
	else if (kind == 1)
		k = include_subdomains ? 1 : 2;
	else
		k = 1;
	return 4 * labels + k;
}

bool readiness_policy_enforces(const struct pin_policy *p, time_t at)
{
	if (!p->enforce || p->npins == 0)
		return false;
	return p->expires_at == 0 || at < p->expires_at;
}

/* "nsc" -> RD_SRC_NSC ...; "inventory", "api", NULL and anything else -> RD_SRC_INVENTORY. */
static enum rd_src rd_src_of(const char *source)
{
	if (!source)
		return RD_SRC_INVENTORY;
	if (strcmp(source, "nsc") == 0)
		return RD_SRC_NSC;
	if (strcmp(source, "trustkit") == 0)
		return RD_SRC_TRUSTKIT;
	if (strcmp(source, "okhttp") == 0)
		return RD_SRC_OKHTTP;
	return RD_SRC_INVENTORY; /* "inventory", "api": pinwatch's own rule */
}

/* ---- Index ------------------------------------------------------------ */

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h = (h ^ c) * 1099511628211ULL;
	}
	return h;
}

static struct rd_bucket *bucket_find(const struct readiness_index *idx, const char *key, size_t n,
				     bool insert)
{
	size_t mask = idx->nbuckets - 1;
	for (size_t i = hash_str(key, n) & mask;; i = (i + 1) & mask) {
		struct rd_bucket *b = &idx->buckets[i];
		if (!b->key)
			return insert ? b : NULL;
		if (b->keylen == n && strncasecmp(b->key, key, n) == 0)
			return b;
	}
}

const struct rd_bucket *rd_bucket_find(const struct readiness_index *idx, const char *key, size_t n)
{
	return bucket_find(idx, key, n, false);
}

struct readiness_index *readiness_index_new(const struct inventory *inv)
{
	struct readiness_index *idx = calloc(1, sizeof(*idx));
	if (!idx)
		return NULL;
	idx->inv = inv;
	size_t n = 0;
	for (size_t a = 0; a < inv->napps; a++)
		for (size_t v = 0; v < inv->apps[a].nversions; v++)
			n += inv->apps[a].versions[v].npolicies;
	idx->nbuckets = 16;
	while (idx->nbuckets < 2 * n + 1)
		idx->nbuckets *= 2;
	idx->entries = calloc(n ? n : 1, sizeof(*idx->entries));
	idx->buckets = calloc(idx->nbuckets, sizeof(*idx->buckets));
	if (!idx->entries || !idx->buckets)
		goto fail;
	for (size_t a = 0; a < inv->napps; a++) {
		const struct app *app = &inv->apps[a];
		for (size_t v = 0; v < app->nversions; v++) {
			const struct app_version *ver = &app->versions[v];
			for (size_t p = 0; p < ver->npolicies; p++) {
				const struct pin_policy *pol = &ver->policies[p];
				if (!pol->pattern)
					continue;
				int kind;
				struct rd_entry *e = &idx->entries[idx->nentries];
				e->app = (uint32_t)a;
				e->ver = (uint32_t)v;
				e->pol = (uint32_t)p;
				e->spec = readiness_pattern_specificity(pol->pattern,
									pol->include_subdomains);
				e->base = pol->pattern + wildcard_prefix(pol->pattern, &kind);
				e->kind = kind;
				e->incl = pol->include_subdomains;
				e->src = (uint8_t)rd_src_of(pol->source);
				e->baselen = strlen(e->base);
				struct rd_bucket *b = bucket_find(idx, e->base, e->baselen, true);
				if (!b->key) {
					b->key = e->base;
					b->keylen = e->baselen;
				}
				if (b->n == b->cap) {
					size_t cap = b->cap ? b->cap * 2 : 4;
					uint32_t *ni = realloc(b->idx, cap * sizeof(*ni));
					if (!ni)
						goto fail;
					b->idx = ni;
					b->cap = cap;
				}
				b->idx[b->n++] = (uint32_t)idx->nentries++;
			}
		}
	}
	return idx;
fail:
	readiness_index_free(idx);
	return NULL;
}

void readiness_index_free(struct readiness_index *idx)
{
	if (!idx)
		return;
	for (size_t i = 0; idx->buckets && i < idx->nbuckets; i++)
		free(idx->buckets[i].idx);
	free(idx->buckets);
	free(idx->entries);
	free(idx);
}

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
		const struct rd_bucket *b = bucket_find(idx, s, strlen(s), false);
		for (size_t i = 0; b && i < b->n; i++) {
			const struct rd_entry *e = &idx->entries[b->idx[i]];
			bool covers = e->kind == 2 || (e->kind == 0 && (depth == 0 || e->incl)) ||
				      (e->kind == 1 && (depth == 1 || (depth > 1 && e->incl)));
			if (!covers)
				continue;
			if (nhits == cap) {
				size_t nc = cap ? cap * 2 : 16;
				struct hit *nh = realloc(hits, nc * sizeof(*nh));
				if (!nh)
					goto nomem;
				hits = nh;
				cap = nc;
			}
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

/* ---- Acceptance ------------------------------------------------------- */

static bool pin_in(const uint8_t pin[32], const struct readiness_chain *c, size_t from)
{
	for (size_t i = from; c && i < c->ncerts; i++)
		if (memcmp(pin, c->certs[i].pin, 32) == 0)
			return true;
	return false;
}

/* Whether an overridePins anchor of @p applies to a chain with anchor @an
 * (Android skips the pin check for a chain that ends at such an anchor).
 * @ca_change: the chain is a CA change of today's (a new, unknown anchor that
 * the same trust store validates: only "system" can still apply). */
static bool override_applies(const struct pin_policy *p, const struct rd_anchor *an, bool ca_change)
{
	if (!an)
		return false;
	for (size_t i = 0; i < p->noverride_anchors; i++) {
		const char *a = p->override_anchors[i];
		if (!a)
			continue;
		if (strcmp(a, "system") == 0) {
			if (an->system || ca_change)
				return true;
		} else if (!ca_change && an->pin && strncmp(a, "sha256/", 7) == 0) {
			uint8_t pin[32];
			char e[8];
			if (util_parse_pin(a, pin, e, sizeof(e)) == 0 &&
			    memcmp(pin, an->pin, 32) == 0)
				return true;
		}
		/* "user": never on a server-side probe; "@raw/...": unresolved */
	}
	return false;
}

/* RD_F_* bits of one checker group @g of @c. */
static uint8_t group_flags(const struct rd_cov *c, uint8_t g, const struct readiness_chain *chain,
			   const struct rd_anchor *an)
{
	const uint8_t *leaf = chain && chain->ncerts ? chain->certs[0].pin : NULL;
	uint8_t f = 0;
	for (size_t i = 0; i < c->npol; i++) {
		const struct pin_policy *p = c->pol[i];
		/* Only enforcing policies decide (a tied report-only one is not checked). */
		if (c->grp[i] != g || !c->pol_enf[i])
			continue;
		if (p->noverride_anchors) {
			if (override_applies(p, an, false))
				f |= RD_F_NOW | RD_F_KEY_ROTATION;
			if (override_applies(p, an, true))
				f |= RD_F_CA_CHANGE;
		}
		for (size_t j = 0; j < p->npins; j++) {
			const struct pin *pn = &p->pins[j];
			bool in_leaf = leaf && memcmp(pn->sha256, leaf, 32) == 0;
			bool in_ca = pin_in(pn->sha256, chain, 1);
			if (in_leaf || in_ca)
				f |= RD_F_NOW;
			/* a key outside the chain is credited by the caller, which
			 * picks the one key the new leaf key can be (rotation_key) */
			if (in_ca)
				f |= RD_F_KEY_ROTATION;
			if (pn->role == PIN_BACKUP && !in_leaf && !in_ca)
				f |= RD_F_CA_CHANGE;
		}
	}
	return f;
}

static bool group_enforces(const struct rd_cov *c, uint8_t g)
{
	for (size_t i = 0; i < c->npol; i++)
		if (c->grp[i] == g && c->pol_enf[i])
			return true;
	return false;
}

uint8_t rd_flags(const struct rd_cov *c, const struct readiness_chain *chain,
		 const struct rd_anchor *an)
{
	if (c->ngrp <= 1)
		return group_flags(c, 0, chain, an);
	uint8_t f = RD_F_NOW | RD_F_KEY_ROTATION | RD_F_CA_CHANGE;
	for (uint8_t g = 0; g < c->ngrp; g++)
		if (group_enforces(c, g))
			f &= group_flags(c, g, chain, an);
	return f;
}

bool rd_survives_key(const struct rd_cov *c, const struct readiness_chain *chain,
		     const struct rd_anchor *an, const uint8_t key[32])
{
	for (uint8_t g = 0; g < c->ngrp; g++) {
		if (!group_enforces(c, g) || (group_flags(c, g, chain, an) & RD_F_KEY_ROTATION))
			continue;
		bool has = false;
		for (size_t i = 0; i < c->npol && !has; i++) {
			if (c->grp[i] != g || !c->pol_enf[i])
				continue;
			for (size_t j = 0; j < c->pol[i]->npins && !has; j++)
				has = memcmp(c->pol[i]->pins[j].sha256, key, 32) == 0;
		}
		if (!has)
			return false;
	}
	return true;
}

bool rd_cov_unresolved_override(const struct rd_cov *c)
{
	for (size_t i = 0; i < c->npol; i++) {
		if (!c->pol_enf[i])
			continue;
		for (size_t j = 0; j < c->pol[i]->noverride_anchors; j++)
			if (c->pol[i]->override_anchors[j] &&
			    strncmp(c->pol[i]->override_anchors[j], "@", 1) == 0)
				return true;
	}
	return false;
}

struct rd_anchor rd_anchor_of(const struct readiness_address *a)
{
	struct rd_anchor an = { false, NULL };
	if (a && a->validated.ncerts) {
		an.system = true;
		an.pin = a->validated.certs[a->validated.ncerts - 1].pin;
	}
	return an;
}

const struct readiness_chain *rd_eval_chain(const struct readiness_address *a)
{
	if (a->validated.ncerts)
		return &a->validated;
	if (a->presented.ncerts)
		return &a->presented;
	return NULL;
}
