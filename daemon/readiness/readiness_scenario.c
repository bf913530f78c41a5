/* Readiness engine: the scenarios of one app against the observed addresses
 * (which versions survive, the shares they strand, the key a rotation should
 * use). Pure (see readiness.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "readiness/readiness.h"
#include "readiness/readiness_int.h"
#include "base/array.h"

static void measure(const struct rd_appcov *ac, uint8_t bit, const uint8_t *f, double *stranded,
		    double *unknown)
{
	double s = 0;
	bool unk = false;
	for (size_t i = 0; i < ac->n; i++) {
		const struct rd_cov *c = &ac->vers[i];
		if (!c->enforcing || (f[i] & bit))
			continue;
		if (c->known)
			s += c->share;
		else
			unk = true;
	}
	*stranded = rd_clamp01(s);
	*unknown = unk ? rd_unaccounted(ac) : 0.0;
}

void rd_scenario_free(struct readiness_scenario *s)
{
	free(s->stranded);
	memset(s, 0, sizeof(*s));
}

/* Fill @out from flags @f (NULL: nothing observed; only the counts). */
int rd_scenario_fill(const struct rd_appcov *ac, uint8_t bit, const uint8_t *f, const char *address,
		     struct readiness_scenario *out)
{
	memset(out, 0, sizeof(*out));
	out->nenforcing = ac->nenforcing;
	if (!f) {
		/* Nothing observed: nothing can be said about stranding yet. */
		out->surviving_share = ac->nenforcing ? 0.0 : 1.0;
		out->ready = ac->nenforcing == 0 || ac->app->adoption_threshold <= RD_EPS;
		return 0;
	}
	out->evaluated = true;
	out->address = address;
	measure(ac, bit, f, &out->stranded_share, &out->unknown_share);
	/* surviving = 1 - stranded - unknown (docs/readiness.md "Shares"): users no
	 * adoption figure accounts for count against the scenario only when a
	 * version without a figure is at risk in it (unknown_share is then those
	 * users, else 0); a scenario that strands nobody is never held back by
	 * missing figures. */
	out->surviving_share = ac->nenforcing == 0
				       ? 1.0 /* no version pins this host: nobody can be stranded */
				       : rd_clamp01(1.0 - out->stranded_share - out->unknown_share);
	out->ready = out->surviving_share >= ac->app->adoption_threshold - RD_EPS;
	size_t n = 0;
	for (size_t i = 0; i < ac->n; i++)
		n += ac->vers[i].enforcing && !(f[i] & bit);
	if (n == 0)
		return 0;
	out->stranded = calloc(n, sizeof(*out->stranded));
	if (!out->stranded)
		return -ENOMEM;
	for (size_t i = 0; i < ac->n; i++) {
		const struct rd_cov *c = &ac->vers[i];
		if (!c->enforcing || (f[i] & bit))
			continue;
		out->stranded[out->nstranded++] =
			(struct readiness_version_share){ c->v, c->share, c->known };
	}
	return 0;
}

/* The worst address under @bit: largest stranded, then largest unknown. */
static const struct rd_addr_flags *worst_address(const struct rd_appcov *ac, uint8_t bit,
						 const struct rd_addr_flags *af, size_t naf)
{
	const struct rd_addr_flags *worst = NULL;
	double ws = -1, wu = -1;
	for (size_t i = 0; i < naf; i++) {
		if (!af[i].ch)
			continue;
		double s, u;
		measure(ac, bit, af[i].f, &s, &u);
		if (s > ws + RD_EPS || (s > ws - RD_EPS && u > wu + RD_EPS)) {
			worst = &af[i];
			ws = s;
			wu = u;
		}
	}
	return worst;
}

int rd_scenario_worst(const struct rd_appcov *ac, uint8_t bit, const struct rd_addr_flags *af,
		      size_t naf, struct readiness_scenario *out)
{
	const struct rd_addr_flags *w = worst_address(ac, bit, af, naf);
	int rc = rd_scenario_fill(ac, bit, w ? w->f : NULL, w && w->a ? w->a->address : NULL, out);
	if (!rc && w && bit == RD_F_KEY_ROTATION && w->has_key) {
		out->has_rotation_key = true;
		memcpy(out->rotation_key, w->key, 32);
	}
	return rc;
}

struct keycand {
	uint8_t key[32];
	uint32_t idx; /* into ac->vers */
};

static int keycand_cmp(const void *a, const void *b)
{
	const struct keycand *x = a, *y = b;
	int c = memcmp(x->key, y->key, 32);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static bool key_in(const uint8_t key[32], const struct readiness_chain *c)
{
	for (size_t i = 0; c && i < c->ncerts; i++)
		if (memcmp(key, c->certs[i].pin, 32) == 0)
			return true;
	return false;
}

static int live_cmp(const void *a, const void *b)
{
	return memcmp(((const struct rd_live_key *)a)->key, ((const struct rd_live_key *)b)->key,
		      32);
}

int rd_live_build(const struct readiness_observations *obs, size_t neps, struct rd_live *out)
{
	size_t cap = 0;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; obs && i < obs->neps && i < neps; i++)
		cap += obs->eps[i].naddrs;
	if (!cap)
		return 0;
	out->v = calloc(cap, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 0; i < obs->neps && i < neps; i++)
		for (size_t a = 0; a < obs->eps[i].naddrs; a++) {
			const struct readiness_chain *ch = rd_eval_chain(&obs->eps[i].addrs[a]);
			if (!ch || !ch->ncerts)
				continue;
			memcpy(out->v[out->n].key, ch->certs[0].pin, 32);
			out->v[out->n++].ep = i;
		}
	qsort(out->v, out->n, sizeof(*out->v), live_cmp);
	return 0;
}

/* Whether an endpoint other than @self presents @key as its leaf key now. */
static bool live_elsewhere(const struct rd_live *l, const uint8_t key[32], size_t self)
{
	size_t lo = 0, hi = l ? l->n : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(l->v[mid].key, key, 32) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; l && lo < l->n && memcmp(l->v[lo].key, key, 32) == 0; lo++)
		if (l->v[lo].ep != self)
			return true;
	return false;
}

/* Key rotation: the new leaf key is one key. Keys decide survival, not roles:
 * every pin (current or backup) of an at-risk version that is in no
 * certificate of today's chain is a candidate K; a version survives the
 * rotation to K when each of its enforcing checker groups pins a CA key of the
 * chain, has an applying overridePins anchor, or pins K. Pick the K that
 * leaves the smallest stranded share, then no at-risk version without a
 * figure, then the lowest pin (for determinism). A key another endpoint
 * presents as its leaf now (@live, other than @self) is no candidate. */
static int rotation_key(const struct rd_appcov *ac, struct rd_addr_flags *af,
			const struct rd_live *live, size_t self)
{
	struct keycand *kc = NULL;
	size_t n = 0, cap = 0;
	double stranded = 0;
	size_t unknown = 0;
	af->has_key = false;
	for (size_t j = 0; j < ac->n; j++) {
		const struct rd_cov *c = &ac->vers[j];
		if (!c->enforcing || (af->f[j] & RD_F_KEY_ROTATION))
			continue;
		if (c->known)
			stranded += c->share;
		else
			unknown++;
		for (size_t i = 0; i < c->npol; i++) {
			if (!c->pol_enf[i])
				continue;
			for (size_t k = 0; k < c->pol[i]->npins; k++) {
				const struct pin *p = &c->pol[i]->pins[k];
				if (key_in(p->sha256, af->ch) ||
				    live_elsewhere(live, p->sha256, self))
					continue;
				if (ARRAY_RESERVE(kc, cap, n + 1, ARRAY_MAX_ITEMS)) {
					free(kc);
					return -ENOMEM;
				}
				memcpy(kc[n].key, p->sha256, 32);
				kc[n++].idx = (uint32_t)j;
			}
		}
	}
	if (n == 0) {
		free(kc);
		return 0;
	}
	qsort(kc, n, sizeof(*kc), keycand_cmp);
	size_t best = 0, best_end = 0;
	double best_s = 2;
	bool best_u = true;
	for (size_t g = 0; g < n;) {
		size_t e = g;
		double s = stranded;
		size_t u = unknown;
		for (; e < n && memcmp(kc[e].key, kc[g].key, 32) == 0; e++) {
			if (e > g && kc[e].idx == kc[e - 1].idx)
				continue; /* the same version listing the key twice */
			const struct rd_cov *c = &ac->vers[kc[e].idx];
			if (c->ngrp > 1 && !rd_survives_key(c, af->ch, &af->an, kc[g].key))
				continue; /* another pinning layer still rejects */
			if (c->known)
				s -= c->share;
			else
				u--;
		}
		if (s < best_s - 1e-12 || (s < best_s + 1e-12 && best_u && u == 0)) {
			best = g;
			best_end = e;
			best_s = s;
			best_u = u > 0;
		}
		g = e;
	}
	for (size_t i = best; i < best_end; i++) {
		const struct rd_cov *c = &ac->vers[kc[i].idx];
		if (c->ngrp <= 1 || rd_survives_key(c, af->ch, &af->an, kc[best].key))
			af->f[kc[i].idx] |= RD_F_KEY_ROTATION;
	}
	af->has_key = true;
	memcpy(af->key, kc[best].key, 32);
	free(kc);
	return 0;
}

/* Flags of @ac against every address of @obs; @buf grows as needed. */
int rd_flags_for(const struct rd_appcov *ac, const struct readiness_observed *obs,
		 struct rd_addr_flags *af, uint8_t **buf, size_t *bufcap,
		 const struct rd_live *live, size_t self)
{
	size_t na = obs ? obs->naddrs : 0;
	size_t need = na * (ac->n ? ac->n : 1);
	if (ARRAY_RESERVE(*buf, *bufcap, need, ARRAY_MAX_ITEMS))
		return -ENOMEM;
	for (size_t k = 0; k < na; k++) {
		af[k].a = &obs->addrs[k];
		af[k].ch = readiness_platform_chain(&obs->addrs[k], ac->app->platform, NULL);
		af[k].an = rd_platform_anchor(&obs->addrs[k], ac->app->platform);
		af[k].f = *buf + k * ac->n;
		af[k].has_key = false;
		if (!af[k].ch)
			continue;
		for (size_t j = 0; j < ac->n; j++)
			af[k].f[j] = ac->vers[j].enforcing
					     ? rd_flags(&ac->vers[j], af[k].ch, &af[k].an)
					     : 0;
		int rc = rotation_key(ac, &af[k], live, self);
		if (rc)
			return rc;
	}
	return 0;
}

/* Whether a version without an adoption figure is at risk in @s. */
bool rd_has_unknown(const struct readiness_scenario *s)
{
	for (size_t i = 0; i < s->nstranded; i++)
		if (!s->stranded[i].known)
			return true;
	return false;
}
