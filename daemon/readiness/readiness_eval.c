/* Readiness engine: scenarios per endpoint and app, reasons, severity,
 * what-if. Pure (see readiness.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readiness/readiness.h"
#include "readiness/readiness_int.h"
#include "base/expiry.h"
#include "base/util.h"
#include "model/outcome.h"

#define EPS 1e-9

static double clamp01(double x)
{
	return x < 0 ? 0 : x > 1 ? 1 : x;
}

/* Survival flags of every covering version of one app against one address. */
struct addr_flags {
	const struct readiness_address *a; /* NULL for a candidate */
	const struct readiness_chain *ch;
	struct rd_anchor an; /* the anchor the chain validates to (NSC overridePins) */
	uint8_t *f;	     /* [ac->n] */
	bool has_key;	     /* key rotation: the new leaf key chosen for this address */
	uint8_t key[32];
};

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
	*stranded = clamp01(s);
	*unknown = unk ? rd_unaccounted(ac) : 0.0;
}

static void scenario_free(struct readiness_scenario *s)
{
	free(s->stranded);
	memset(s, 0, sizeof(*s));
}

/* Fill @out from flags @f (NULL: nothing observed; only the counts). */
static int scenario_fill(const struct rd_appcov *ac, uint8_t bit, const uint8_t *f,
			 const char *address, struct readiness_scenario *out)
{
	memset(out, 0, sizeof(*out));
	out->nenforcing = ac->nenforcing;
	if (!f) {
		/* Nothing observed: nothing can be said about stranding yet. */
		out->surviving_share = ac->nenforcing ? 0.0 : 1.0;
		out->ready = ac->nenforcing == 0 || ac->app->adoption_threshold <= EPS;
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
				       : clamp01(1.0 - out->stranded_share - out->unknown_share);
	out->ready = out->surviving_share >= ac->app->adoption_threshold - EPS;
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
static const struct addr_flags *worst_address(const struct rd_appcov *ac, uint8_t bit,
					      const struct addr_flags *af, size_t naf)
{
	const struct addr_flags *worst = NULL;
	double ws = -1, wu = -1;
	for (size_t i = 0; i < naf; i++) {
		if (!af[i].ch)
			continue;
		double s, u;
		measure(ac, bit, af[i].f, &s, &u);
		if (s > ws + EPS || (s > ws - EPS && u > wu + EPS)) {
			worst = &af[i];
			ws = s;
			wu = u;
		}
	}
	return worst;
}

static int scenario_worst(const struct rd_appcov *ac, uint8_t bit, const struct addr_flags *af,
			  size_t naf, struct readiness_scenario *out)
{
	const struct addr_flags *w = worst_address(ac, bit, af, naf);
	int rc = scenario_fill(ac, bit, w ? w->f : NULL, w && w->a ? w->a->address : NULL, out);
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

/* Leaf keys the inventory's endpoints present now, sorted by key, so that
 * the advice never offers a key another host serves as a spare: a key in use
 * elsewhere is no backup. */
struct rd_live_key {
	uint8_t key[32];
	size_t ep; /* index into the inventory's endpoints */
};
struct rd_live {
	struct rd_live_key *v;
	size_t n;
};

static int live_cmp(const void *a, const void *b)
{
	return memcmp(((const struct rd_live_key *)a)->key, ((const struct rd_live_key *)b)->key,
		      32);
}

static int live_build(const struct readiness_observations *obs, size_t neps, struct rd_live *out)
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
static int rotation_key(const struct rd_appcov *ac, struct addr_flags *af,
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
				if (n == cap) {
					size_t nc = cap ? cap * 2 : 16;
					struct keycand *nk = realloc(kc, nc * sizeof(*nk));
					if (!nk) {
						free(kc);
						return -ENOMEM;
					}
					kc = nk;
					cap = nc;
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
static int flags_for(const struct rd_appcov *ac, const struct readiness_observed *obs,
		     struct addr_flags *af, uint8_t **buf, size_t *bufcap,
		     const struct rd_live *live, size_t self)
{
	size_t na = obs ? obs->naddrs : 0;
	size_t need = na * (ac->n ? ac->n : 1);
	if (need > *bufcap) {
		uint8_t *nb = realloc(*buf, need);
		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*bufcap = need;
	}
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

static void app_verdict_free(struct readiness_app_verdict *v)
{
	scenario_free(&v->now);
	scenario_free(&v->same_key);
	scenario_free(&v->key_rotation);
	scenario_free(&v->ca_change);
	readiness_strv_free(&v->reasons);
}

void readiness_endpoint_verdict_free(struct readiness_endpoint_verdict *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->napps; i++)
		app_verdict_free(&v->apps[i]);
	free(v->apps);
	readiness_strv_free(&v->reasons);
	memset(v, 0, sizeof(*v));
}

void readiness_report_free(struct readiness_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->neps; i++)
		readiness_endpoint_verdict_free(&r->eps[i]);
	free(r->eps);
	lint_report_free(&r->findings);
	memset(r, 0, sizeof(*r));
}

/* ---- Reasons ---------------------------------------------------------- */

static const char *leaf_subject(const struct readiness_chain *c)
{
	return c && c->ncerts && c->certs[0].subject ? c->certs[0].subject : "(no subject)";
}

/* Whether every enforcing pin of @c is the leaf key of @chain. */
static bool pins_only_leaf(const struct rd_cov *c, const struct readiness_chain *chain)
{
	if (!chain || chain->ncerts == 0)
		return false;
	for (size_t i = 0; i < c->npol; i++) {
		if (!c->pol_enf[i])
			continue;
		for (size_t j = 0; j < c->pol[i]->npins; j++)
			if (memcmp(c->pol[i]->pins[j].sha256, chain->certs[0].pin, 32))
				return false;
	}
	return true;
}

static bool in_stranded(const struct readiness_scenario *s, const struct app_version *v)
{
	for (size_t i = 0; i < s->nstranded; i++)
		if (s->stranded[i].version == v)
			return true;
	return false;
}

/* Whether a version without an adoption figure is at risk in @s. */
static bool has_unknown(const struct readiness_scenario *s)
{
	for (size_t i = 0; i < s->nstranded; i++)
		if (!s->stranded[i].known)
			return true;
	return false;
}

static const struct rd_cov *find_cov(const struct rd_appcov *ac, const struct app_version *v)
{
	for (size_t i = 0; i < ac->n; i++)
		if (ac->vers[i].v == v)
			return &ac->vers[i];
	return NULL;
}

/* Whether some at-risk version of @s has an adoption figure. */
static bool has_known(const struct readiness_scenario *s)
{
	for (size_t i = 0; i < s->nstranded; i++)
		if (s->stranded[i].known)
			return true;
	return false;
}

/*
 * The share a scenario strands, as people read it, after @verb ("would
 * strand ", "are stranded"...): "23.0% of shop users", with "(and up to 5.0%
 * more: ...)" when a version without a figure is at risk too, or "up to 20.0%
 * of shop users" when only such versions are. Callers use it only when
 * stranded_share or unknown_share is above 0.
 */
static void sb_share(struct rd_sb *sb, const struct readiness_scenario *s, const char *name)
{
	if (s->stranded_share > 0) {
		rd_sb_pct(sb, s->stranded_share);
		rd_sb_add(sb, " of %s users", name);
		if (s->unknown_share > 0) {
			rd_sb_str(sb, " (and up to ");
			rd_sb_pct(sb, s->unknown_share);
			rd_sb_str(sb, " more: the users no adoption figure accounts for may run an "
				      "at-risk version without one)");
		}
	} else {
		rd_sb_str(sb, "up to ");
		rd_sb_pct(sb, s->unknown_share);
		rd_sb_add(sb, " of %s users", name);
	}
}

/* "A, B and C" for up to three names of versions, then "and N more". */
static void sb_names(struct rd_sb *sb, const char *const *names, size_t n, size_t total)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			rd_sb_str(sb, i + 1 == n && total == n ? " and " : ", ");
		rd_sb_str(sb, names[i]);
	}
	if (total > n)
		rd_sb_add(sb, " and %zu more", total - n);
}

static void sb_pins_of(struct rd_sb *sb, const struct rd_cov *c)
{
	char ps[32];
	size_t shown = 0;
	for (size_t i = 0; i < c->npol; i++) {
		if (!c->pol_enf[i])
			continue;
		for (size_t j = 0; j < c->pol[i]->npins && shown < 3; j++, shown++)
			rd_sb_add(sb, "%s%s", shown ? ", " : "",
				  readiness_pin_short(c->pol[i]->pins[j].sha256, ps, sizeof(ps)));
	}
}

static int reasons_not_enforced(const struct endpoint *ep, const struct rd_appcov *ac, time_t at,
				struct readiness_strv *rs)
{
	size_t report_only = 0, expired = 0, nopins = 0;
	for (size_t i = 0; i < ac->n; i++) {
		const struct rd_cov *c = &ac->vers[i];
		for (size_t j = 0; j < c->npol; j++) {
			const struct pin_policy *p = c->pol[j];
			if (!p->enforce)
				report_only++;
			else if (p->npins == 0)
				nopins++;
			else if (p->expires_at && at >= p->expires_at)
				expired++;
		}
	}
	return readiness_strv_add(rs,
				  "%s does not enforce a pin for %s at this date (covering "
				  "version%s: %zu; deciding policies report-only or excluded: %zu, "
				  "with an expired pin set: %zu, without pins: %zu), so nobody can "
				  "be stranded.",
				  ac->app->name, ep->host, ac->n == 1 ? "" : "s", ac->n,
				  report_only, expired, nopins);
}

/* Versions whose deciding policy declares an overridePins anchor pinwatch
 * could not read: said once per app, the verdicts assume the pin check. */
static int reasons_unresolved(const struct rd_appcov *ac, struct readiness_strv *rs)
{
	struct rd_sb sb = { 0 };
	const char *names[3];
	size_t n = 0, total = 0;
	const char *anchor = NULL;
	for (size_t i = 0; i < ac->n; i++) {
		const struct rd_cov *c = &ac->vers[i];
		if (!c->enforcing || !rd_cov_unresolved_override(c))
			continue;
		if (n < 3)
			names[n++] = c->v->version;
		total++;
		for (size_t j = 0; j < c->npol && !anchor; j++)
			for (size_t k = 0; k < c->pol[j]->noverride_anchors && !anchor; k++)
				if (c->pol[j]->override_anchors[k] &&
				    c->pol[j]->override_anchors[k][0] == '@')
					anchor = c->pol[j]->override_anchors[k];
	}
	if (total == 0)
		return 0;
	sb_names(&sb, names, n, total);
	rd_sb_add(&sb,
		  " of %s %s overridePins for a trust anchor pinwatch could not read (%s); the "
		  "verdicts assume that the pin check applies to every chain.",
		  ac->app->name, total == 1 ? "declares" : "declare", anchor ? anchor : "?");
	return rd_strv_push(rs, sb.b);
}

static const struct readiness_address *addr_named(const struct readiness_observed *obs,
						  const char *address)
{
	for (size_t i = 0; obs && i < obs->naddrs; i++)
		if (obs->addrs[i].address == address)
			return &obs->addrs[i];
	return NULL;
}

/* "; it would still strand LIST" or "; it still puts LIST at risk" for a
 * ready scenario that leaves versions at risk, then @tail (", which ..."). */
static void sb_still(struct rd_sb *sb, const struct readiness_scenario *s, const char *tail_one,
		     const char *tail_many)
{
	if (s->nstranded == 0)
		return;
	bool known = has_known(s);
	rd_sb_str(sb, known ? "; it would still strand " : "; it still puts ");
	rd_sb_versions(sb, s->stranded, s->nstranded);
	if (!known)
		rd_sb_str(sb, " at risk");
	if (tail_one)
		rd_sb_str(sb, s->nstranded == 1 ? tail_one : tail_many);
}

static int reason_now(const struct rd_appcov *ac, const struct readiness_app_verdict *v,
		      const struct readiness_observed *obs, struct readiness_strv *rs)
{
	const char *name = ac->app->name;
	struct rd_sb sb = { 0 };
	char ps[32];
	const struct readiness_scenario *s = &v->now;
	if (s->nstranded == 0) {
		if (ac->nenforcing == 1)
			rd_sb_add(&sb,
				  "Now nobody is stranded: the enforcing version of %s accepts the "
				  "chain of every observed address.",
				  name);
		else
			rd_sb_add(&sb,
				  "Now nobody is stranded: all %zu enforcing versions of %s accept "
				  "the chain of every observed address.",
				  ac->nenforcing, name);
		return rd_strv_push(rs, sb.b);
	}
	const struct readiness_address *wa = addr_named(obs, s->address);
	const struct readiness_chain *wc =
		wa ? readiness_platform_chain(wa, ac->app->platform, NULL) : NULL;
	/* nstranded, not the shares: a version with no adoption figure is at risk
	 * even when the other figures add up to 100% (unknown_share is then 0). */
	if (s->stranded_share > 0) {
		rd_sb_str(&sb, "Now ");
		sb_share(&sb, s, name);
		rd_sb_add(&sb, " are stranded at %s: ", s->address);
	} else if (s->unknown_share > 0) {
		rd_sb_str(&sb, "Now ");
		sb_share(&sb, s, name);
		rd_sb_add(&sb, " may be stranded at %s: ", s->address);
	} else {
		rd_sb_add(&sb,
			  "Now %s versions without an adoption figure are stranded at %s (the "
			  "other figures add up to 100%%, so no share is counted): ",
			  name, s->address);
	}
	rd_sb_versions(&sb, s->stranded, s->nstranded);
	rd_sb_add(&sb, " %s no pin in the %s chain (leaf %s, key %s)",
		  s->nstranded > 1 ? "have" : "has",
		  wa && wa->validated.ncerts ? "validated" : "presented", leaf_subject(wc),
		  wc && wc->ncerts ? readiness_pin_short(wc->certs[0].pin, ps, sizeof(ps)) : "-");
	const struct rd_cov *c = find_cov(ac, s->stranded[0].version);
	if (c) {
		rd_sb_add(&sb, "; %s pins ", c->v->version);
		sb_pins_of(&sb, c);
	}
	rd_sb_str(&sb, ".");
	return rd_strv_push(rs, sb.b);
}

/* Users stranded now: what to do, with the numbers. Roll back to the chain
 * the address presented before (when it changed, which leaf key, what share
 * accepts it), or move the leaf to the rotation key under today's CA (which is
 * never another host's live key) and who that still strands. */
static int reason_incident(const struct rd_appcov *ac, const struct readiness_app_verdict *v,
			   const struct readiness_observed *obs, struct readiness_strv *rs)
{
	const struct readiness_scenario *s = &v->now;
	if (!s->nstranded)
		return 0;
	const struct readiness_address *wa = addr_named(obs, s->address);
	struct rd_sb sb = { 0 };
	char ps[32], t[32];
	bool any = false;
	rd_sb_add(&sb, "To restore service for %s: ", ac->app->name);
	if (wa && wa->previous.ncerts) {
		/* the previous chain as it was presented: no anchor is known, so an
		 * overridePins anchor is not credited (the safe side) */
		struct rd_anchor none = { 0 };
		double rejected = 0;
		size_t nrej = 0, unknown = 0;
		for (size_t j = 0; j < ac->n; j++) {
			const struct rd_cov *c = &ac->vers[j];
			if (!c->enforcing || (rd_flags(c, &wa->previous, &none) & RD_F_NOW))
				continue;
			nrej++;
			if (c->known)
				rejected += c->share;
			else
				unknown++;
		}
		rd_sb_add(&sb, "roll back to the chain %s presented until %s (leaf key %s), ",
			  wa->address, util_fmt_time(wa->first_seen, t, sizeof(t)),
			  readiness_pin_short(wa->previous.certs[0].pin, ps, sizeof(ps)));
		if (nrej == 0) {
			rd_sb_str(&sb, "which every enforcing version accepts");
		} else {
			rd_sb_str(&sb, "which ");
			rd_sb_pct(&sb, clamp01(1 - rejected));
			rd_sb_add(&sb, " of users accept (%zu version%s would still fail%s)", nrej,
				  nrej == 1 ? "" : "s",
				  unknown ? ", some without an adoption figure" : "");
		}
		any = true;
	}
	const struct readiness_scenario *kr = &v->key_rotation;
	/* moving the leaf back to the previous leaf key is the roll-back itself */
	bool same_as_back = any && kr->has_rotation_key &&
			    !memcmp(kr->rotation_key, wa->previous.certs[0].pin, 32);
	if (kr->has_rotation_key && !same_as_back) {
		rd_sb_add(&sb, "%smove the leaf to the key %s under the same CA, which ",
			  any ? "; or " : "",
			  readiness_pin_short(kr->rotation_key, ps, sizeof(ps)));
		if (kr->nstranded == 0) {
			rd_sb_str(&sb, "every enforcing version accepts");
		} else {
			rd_sb_str(&sb, "would still strand ");
			rd_sb_pct(&sb, kr->stranded_share);
			rd_sb_str(&sb, " (");
			rd_sb_versions(&sb, kr->stranded, kr->nstranded);
			rd_sb_str(&sb, ")");
		}
		any = true;
	}
	if (!any)
		rd_sb_str(&sb, "no earlier chain is on record and no version pins a spare key that "
			       "no other host serves: present a chain with a key the stranded "
			       "versions pin, or ship a release");
	rd_sb_str(&sb, ".");
	return rd_strv_push(rs, sb.b);
}

static int reason_key_rotation(const struct rd_appcov *ac, const struct readiness_app_verdict *v,
			       const struct readiness_observed *obs, struct readiness_strv *rs)
{
	const char *name = ac->app->name;
	double thr = ac->app->adoption_threshold;
	struct rd_sb sb = { 0 };
	char ps[32];
	const struct readiness_scenario *kr = &v->key_rotation;
	const struct readiness_address *ka = addr_named(obs, kr->address);
	const struct readiness_chain *kc =
		ka ? readiness_platform_chain(ka, ac->app->platform, NULL) : NULL;
	if (kr->ready) {
		rd_sb_add(&sb, "Key rotation is safe for %s: ", name);
		rd_sb_pct(&sb, kr->surviving_share);
		rd_sb_str(&sb, " of users keep working (threshold ");
		rd_sb_pct(&sb, thr);
		rd_sb_str(&sb, ")");
		if (kr->has_rotation_key)
			rd_sb_add(&sb, "; rotate to the key %s",
				  readiness_pin_short(kr->rotation_key, ps, sizeof(ps)));
		sb_still(&sb, kr, NULL, NULL);
		rd_sb_str(&sb, ".");
		return rd_strv_push(rs, sb.b);
	}
	rd_sb_str(&sb, "Key rotation would strand ");
	sb_share(&sb, kr, name);
	rd_sb_str(&sb, ": ");
	rd_sb_versions(&sb, kr->stranded, kr->nstranded);
	bool only_leaf = kr->nstranded > 0;
	for (size_t i = 0; i < kr->nstranded && only_leaf; i++) {
		const struct rd_cov *c = find_cov(ac, kr->stranded[i].version);
		only_leaf = c && pins_only_leaf(c, kc);
	}
	if (only_leaf)
		rd_sb_add(&sb, " %s only the current leaf key %s",
			  kr->nstranded > 1 ? "pin" : "pins",
			  readiness_pin_short(kc->certs[0].pin, ps, sizeof(ps)));
	else if (kr->has_rotation_key)
		rd_sb_add(&sb,
			  " %s no pin on a CA key of the chain and %s not pin %s, the key that "
			  "saves the most users",
			  kr->nstranded > 1 ? "have" : "has", kr->nstranded > 1 ? "do" : "does",
			  readiness_pin_short(kr->rotation_key, ps, sizeof(ps)));
	else
		rd_sb_add(&sb, " %s no pin on a CA key of the chain and no other key outside it",
			  kr->nstranded > 1 ? "have" : "has");
	rd_sb_str(&sb, "; ");
	if (v->same_key.ready)
		rd_sb_str(&sb, "renew with the same key or ");
	/* the versions that would survive: the ones to wait for */
	const char *names[3];
	size_t nsurv = 0, shown = 0;
	for (size_t i = 0; i < ac->n; i++) {
		const struct rd_cov *c = &ac->vers[i];
		if (!c->enforcing || !kc || in_stranded(kr, c->v))
			continue;
		if (shown < 3)
			names[shown++] = c->v->version;
		nsurv++;
	}
	if (nsurv == 0) {
		rd_sb_str(&sb, "ship a release that pins a backup key and wait until it reaches ");
	} else {
		rd_sb_str(&sb, "wait until ");
		sb_names(&sb, names, shown, nsurv);
		rd_sb_add(&sb, " (a CA pin or the new key) %s ", nsurv == 1 ? "reaches" : "reach");
	}
	rd_sb_pct(&sb, thr);
	if (v->forecast.available) {
		char d[16];
		rd_sb_add(&sb, " (forecast %s)", util_fmt_date(v->forecast.date, d, sizeof(d)));
	} else {
		rd_sb_add(&sb, " (no forecast: %s)", v->forecast.basis);
	}
	rd_sb_str(&sb, ".");
	return rd_strv_push(rs, sb.b);
}

static int reason_ca_change(const struct rd_appcov *ac, const struct readiness_app_verdict *v,
			    struct readiness_strv *rs)
{
	const char *name = ac->app->name;
	struct rd_sb sb = { 0 };
	const struct readiness_scenario *cc = &v->ca_change;
	if (cc->ready && cc->nstranded == 0) {
		rd_sb_add(&sb,
			  "A CA change is safe for %s: every enforcing version keeps working (a "
			  "backup pin outside today's chain, or pins overridden for system CAs).",
			  name);
	} else if (cc->ready) {
		rd_sb_add(&sb, "A CA change is safe for %s: ", name);
		rd_sb_pct(&sb, cc->surviving_share);
		rd_sb_str(&sb, " of users keep working (threshold ");
		rd_sb_pct(&sb, ac->app->adoption_threshold);
		rd_sb_str(&sb, ")");
		sb_still(&sb, cc, ", which carries no backup pin outside today's chain",
			 ", which carry no backup pin outside today's chain");
		rd_sb_str(&sb, ".");
	} else {
		rd_sb_str(&sb, "A CA change would strand ");
		sb_share(&sb, cc, name);
		rd_sb_str(&sb, ": ");
		rd_sb_versions(&sb, cc->stranded, cc->nstranded);
		rd_sb_add(&sb, " %s no backup pin outside today's chain.",
			  cc->nstranded > 1 ? "carry" : "carries");
	}
	return rd_strv_push(rs, sb.b);
}

static int reasons_app(const struct endpoint *ep, const struct rd_appcov *ac,
		       const struct readiness_app_verdict *v, time_t at,
		       const struct readiness_observed *obs, struct readiness_strv *rs)
{
	if (ac->nenforcing == 0)
		return reasons_not_enforced(ep, ac, at, rs);
	if (!v->now.evaluated)
		return readiness_strv_add(rs,
					  "No certificate chain of %s has been observed yet; %zu "
					  "version%s of %s %s pins for it and cannot be evaluated.",
					  ep->host, ac->nenforcing, ac->nenforcing == 1 ? "" : "s",
					  ac->app->name,
					  ac->nenforcing == 1 ? "enforces" : "enforce");
	int rc = reason_now(ac, v, obs, rs);
	if (!rc)
		rc = reason_incident(ac, v, obs, rs);
	if (!rc)
		rc = reason_key_rotation(ac, v, obs, rs);
	if (!rc)
		rc = reason_ca_change(ac, v, rs);
	if (!rc)
		rc = reasons_unresolved(ac, rs);
	return rc;
}

/* ---- Endpoint --------------------------------------------------------- */

bool rd_same_chain(const struct readiness_chain *a, const struct readiness_chain *b)
{
	if (a->ncerts != b->ncerts)
		return false;
	for (size_t i = 0; i < a->ncerts; i++)
		if (memcmp(a->certs[i].sha256, b->certs[i].sha256, 32))
			return false;
	return true;
}

static void raise_sev(enum severity *s, enum severity to)
{
	if (to > *s)
		*s = to;
}

static int endpoint_observations(struct readiness_endpoint_verdict *out,
				 const struct readiness_opts *o)
{
	const struct readiness_observed *obs = out->obs;
	const struct endpoint *ep = out->ep;
	char ps[32], ps2[32], d[16];
	struct readiness_strv *rs = &out->reasons;
	int rc = 0;

	if (!obs || obs->naddrs == 0) {
		raise_sev(&out->severity, SEVERITY_INFO);
		return readiness_strv_add(rs, "%s:%d has not been observed yet.", ep->host,
					  ep->port);
	}
	const struct readiness_chain *first = NULL;
	const char *first_addr = NULL;
	for (size_t i = 0; i < obs->naddrs && !rc; i++) {
		const struct readiness_address *a = &obs->addrs[i];
		const struct readiness_chain *ch = rd_eval_chain(a);
		if (!probe_outcome_is(a->outcome, PROBE_OUTCOME_OK)) {
			out->failing = true;
			raise_sev(&out->severity, SEVERITY_WARNING);
			rc = readiness_strv_add(rs, "Address %s: the probe reports '%s'%s.",
						a->address, a->outcome ? a->outcome : "unknown",
						ch ? "" : " and no certificate chain was recorded");
		}
		if (!rc && !a->validated.ncerts && a->presented.ncerts)
			rc = readiness_strv_add(
				rs,
				"Address %s could not be validated (outcome %s); pins were "
				"checked against the presented chain, so a pin on an anchor "
				"the server does not send is not seen.",
				a->address, a->outcome ? a->outcome : "unknown");
		if (!rc && a->previous.ncerts && a->presented.ncerts &&
		    a->first_seen + o->drift_window_s >= o->at && a->first_seen <= o->at) {
			out->drift = true;
			raise_sev(&out->severity, SEVERITY_INFO);
			const struct readiness_cert *old = &a->previous.certs[0];
			const struct readiness_cert *new = &a->presented.certs[0];
			bool same_key = memcmp(old->pin, new->pin, 32) == 0;
			rc = readiness_strv_add(
				rs,
				"Address %s changed chain on %s: leaf %s (key %s) replaced "
				"by %s (%s%s).",
				a->address, util_fmt_date(a->first_seen, d, sizeof(d)),
				old->subject ? old->subject : "?",
				readiness_pin_short(old->pin, ps, sizeof(ps)),
				new->subject ? new->subject : "?",
				same_key ? "same key" : "new key ",
				same_key ? "" : readiness_pin_short(new->pin, ps2, sizeof(ps2)));
		}
		if (ch && !first && a->presented.ncerts) {
			first = &a->presented;
			first_addr = a->address;
		} else if (ch && first && a->presented.ncerts &&
			   !rd_same_chain(first, &a->presented) && !out->disagree && !rc) {
			out->disagree = true;
			raise_sev(&out->severity, SEVERITY_WARNING);
			rc = readiness_strv_add(
				rs,
				"Addresses of %s present different chains: %s has leaf key "
				"%s, %s has leaf key %s.",
				ep->host, first_addr,
				readiness_pin_short(first->certs[0].pin, ps, sizeof(ps)),
				a->address,
				readiness_pin_short(a->presented.certs[0].pin, ps2, sizeof(ps2)));
		}
		/* Expiry: earliest certificate of any evaluated chain. */
		for (size_t j = 0; ch && j < ch->ncerts; j++) {
			const struct readiness_cert *c = &ch->certs[j];
			if (c->not_after &&
			    (!out->expiry.known || c->not_after < out->expiry.not_after)) {
				out->expiry.known = true;
				out->expiry.not_after = c->not_after;
				out->expiry.leaf = j == 0;
				out->expiry.subject = c->subject;
			}
		}
	}
	if (!rc)
		rc = rd_variant_observations(out);
	if (out->expiry.known)
		out->expiry.days_left = expiry_days_left(out->expiry.not_after, o->at);
	return rc;
}

/* Escalation of the earliest expiry by the readiness of the rotation it needs. */
static int endpoint_expiry(struct readiness_endpoint_verdict *out, time_t at)
{
	const struct readiness_expiry *ex = &out->expiry;
	char d[16];
	if (!ex->known)
		return 0;
	util_fmt_date(ex->not_after, d, sizeof(d));
	if (ex->not_after < at) {
		raise_sev(&out->severity, SEVERITY_CRITICAL);
		return readiness_strv_add(&out->reasons, "Certificate %s expired on %s.",
					  ex->subject ? ex->subject : "?", d);
	}
	if (ex->days_left > 30)
		return 0;
	/* Which rotation is needed: a leaf renewal (key rotation, or same key), or a CA change. */
	struct rd_sb apps = { 0 };
	bool same_key_ok = true;
	size_t nnot = 0;
	for (size_t i = 0; i < out->napps; i++) {
		const struct readiness_app_verdict *v = &out->apps[i];
		bool ready = ex->leaf ? v->key_rotation.ready : v->ca_change.ready;
		if (ready)
			continue;
		if (!v->same_key.ready)
			same_key_ok = false;
		rd_sb_add(&apps, "%s%s", nnot++ ? ", " : "", v->app->name);
	}
	enum severity sev = SEVERITY_INFO;
	if (nnot) {
		sev = ex->days_left <= 7    ? SEVERITY_CRITICAL
		      : ex->days_left <= 14 ? SEVERITY_WARNING
					    : SEVERITY_INFO;
		/* A leaf renewed with the same key strands nobody: there is a safe path. */
		if (ex->leaf && same_key_ok && sev == SEVERITY_CRITICAL)
			sev = SEVERITY_WARNING;
	}
	raise_sev(&out->severity, sev);
	if (!nnot)
		return readiness_strv_add(
			&out->reasons,
			"%s expires on %s (%lld days left); the %s is ready for every "
			"app.",
			ex->subject ? ex->subject : "?", d, (long long)ex->days_left,
			ex->leaf ? "key rotation" : "CA change");
	return readiness_strv_add(
		&out->reasons,
		"%s expires on %s (%lld days left) and the %s is not ready for %s%s.",
		ex->subject ? ex->subject : "?", d, (long long)ex->days_left,
		ex->leaf ? "key rotation" : "CA change", apps.b,
		ex->leaf && same_key_ok ? "; renewing with the same key is safe" : "");
}

static int eval_endpoint(const struct readiness_index *idx, const struct rd_shares *sh,
			 const struct endpoint *ep, const struct readiness_observed *obs,
			 const struct readiness_opts *o, const struct rd_live *live,
			 struct readiness_endpoint_verdict *out)
{
	size_t self = (size_t)(ep - idx->inv->endpoints);
	memset(out, 0, sizeof(*out));
	out->ep = ep;
	out->obs = obs;
	out->at = o->at;
	struct rd_hostcov hc;
	int rc = rd_hostcov_build(idx, ep->host, o->at, sh, &hc);
	if (rc)
		return rc;
	rc = endpoint_observations(out, o);
	if (rc)
		goto out;
	if (hc.napps) {
		out->apps = calloc(hc.napps, sizeof(*out->apps));
		if (!out->apps) {
			rc = -ENOMEM;
			goto out;
		}
	}
	bool *surv = NULL;
	uint8_t *fbuf = NULL;
	size_t fcap = 0;
	size_t naf = obs ? obs->naddrs : 0;
	struct addr_flags *af = calloc(naf ? naf : 1, sizeof(*af));
	if (!af)
		rc = -ENOMEM;
	for (size_t i = 0; i < hc.napps && !rc; i++) {
		const struct rd_appcov *ac = &hc.apps[i];
		struct readiness_app_verdict *v = &out->apps[out->napps++];
		v->app = ac->app;
		rc = flags_for(ac, obs, af, &fbuf, &fcap, live, self);
		if (!rc)
			rc = scenario_worst(ac, RD_F_NOW, af, naf, &v->now);
		if (!rc)
			rc = scenario_worst(ac, RD_F_NOW, af, naf, &v->same_key);
		if (!rc)
			rc = scenario_worst(ac, RD_F_KEY_ROTATION, af, naf, &v->key_rotation);
		if (!rc)
			rc = scenario_worst(ac, RD_F_CA_CHANGE, af, naf, &v->ca_change);
		if (rc)
			break;
		if (ac->nenforcing)
			out->pinned = true;
		if (v->key_rotation.evaluated && !v->key_rotation.ready) {
			const uint8_t *kf = NULL;
			for (size_t j = 0; j < naf; j++)
				if (af[j].a->address == v->key_rotation.address)
					kf = af[j].f;
			bool *ns = realloc(surv, (ac->n ? ac->n : 1) * sizeof(*ns));
			if (!ns) {
				rc = -ENOMEM;
				break;
			}
			surv = ns;
			for (size_t j = 0; j < ac->n; j++)
				surv[j] = !ac->vers[j].enforcing ||
					  (kf && (kf[j] & RD_F_KEY_ROTATION));
			rd_forecast(ac, surv, o, &v->forecast);
		} else if (v->key_rotation.ready) {
			snprintf(v->forecast.basis, sizeof(v->forecast.basis), "already ready");
		} else {
			snprintf(v->forecast.basis, sizeof(v->forecast.basis), "no chain observed");
		}
		rc = reasons_app(ep, ac, v, o->at, obs, &v->reasons);
		if (v->now.stranded_share > 0)
			raise_sev(&out->severity, SEVERITY_CRITICAL);
		else if (v->now.unknown_share > 0 || has_unknown(&v->now))
			raise_sev(&out->severity, SEVERITY_WARNING);
		if ((v->key_rotation.evaluated && !v->key_rotation.ready) ||
		    (v->ca_change.evaluated && !v->ca_change.ready))
			raise_sev(&out->severity, SEVERITY_INFO);
	}
	free(surv);
	free(fbuf);
	free(af);
	if (rc)
		goto out;
	if (!out->pinned && ep->environment && strcmp(ep->environment, "production") == 0) {
		out->unprotected = true;
		raise_sev(&out->severity, SEVERITY_INFO);
		rc = readiness_strv_add(&out->reasons,
					"No app enforces a pin for %s: this production endpoint is "
					"unprotected by pinning.",
					ep->host);
		if (rc)
			goto out;
	}
	rc = endpoint_expiry(out, o->at);
out:
	rd_hostcov_free(&hc);
	if (rc)
		readiness_endpoint_verdict_free(out);
	return rc;
}

int readiness_eval_endpoint(const struct readiness_index *idx, size_t i,
			    const struct readiness_observed *obs, const struct readiness_opts *o,
			    struct readiness_endpoint_verdict *out)
{
	if (i >= idx->inv->nendpoints)
		return -EINVAL;
	return eval_endpoint(idx, NULL, &idx->inv->endpoints[i], obs, o, NULL, out);
}

int readiness_eval(const struct readiness_index *idx, const struct readiness_observations *obs,
		   const struct readiness_opts *o, struct readiness_report *out)
{
	memset(out, 0, sizeof(*out));
	out->at = o->at;
	const struct inventory *inv = idx->inv;
	if (inv->nendpoints) {
		out->eps = calloc(inv->nendpoints, sizeof(*out->eps));
		if (!out->eps)
			return -ENOMEM;
	}
	struct rd_shares sh;
	struct rd_live live;
	if (live_build(obs, inv->nendpoints, &live)) {
		readiness_report_free(out);
		return -ENOMEM;
	}
	if (rd_shares_build(inv, o->at, &sh)) {
		free(live.v);
		readiness_report_free(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < inv->nendpoints; i++) {
		const struct readiness_observed *ob = obs && i < obs->neps ? &obs->eps[i] : NULL;
		int rc = eval_endpoint(idx, &sh, &inv->endpoints[i], ob, o, &live, &out->eps[i]);
		if (rc) {
			free(live.v);
			rd_shares_free(&sh);
			readiness_report_free(out);
			return rc;
		}
		out->neps++;
		raise_sev(&out->worst, out->eps[i].severity);
	}
	free(live.v);
	rd_shares_free(&sh);
	/* Every rule of the rule table, with the observations and verdicts. */
	struct lint_input in = {
		.inv = idx->inv, .at = o->at, .idx = idx, .obs = obs, .opts = o, .verdicts = out
	};
	int rc = lint_eval(&in, &out->findings);
	if (rc) {
		readiness_report_free(out);
		return rc;
	}
	for (size_t i = 0; i < out->findings.nfindings; i++)
		raise_sev(&out->worst, out->findings.findings[i].severity);
	return 0;
}

/* ---- What-if ---------------------------------------------------------- */

void readiness_whatif_free(struct readiness_whatif *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->napps; i++) {
		scenario_free(&w->apps[i].candidate);
		scenario_free(&w->apps[i].current);
		readiness_strv_free(&w->apps[i].reasons);
	}
	free(w->apps);
	memset(w, 0, sizeof(*w));
}

static int whatif_reasons(const struct rd_appcov *ac, struct readiness_whatif_app *wa,
			  const struct readiness_chain *cand)
{
	struct rd_sb sb = { 0 };
	const struct readiness_scenario *s = &wa->candidate;
	const char *name = ac->app->name;
	if (ac->nenforcing == 0)
		return readiness_strv_add(&wa->reasons,
					  "%s does not enforce a pin for this host at this date.",
					  name);
	if (s->nstranded == 0) {
		if (ac->nenforcing == 1)
			rd_sb_add(&sb,
				  "The candidate is safe for %s: its enforcing version accepts it.",
				  name);
		else
			rd_sb_add(&sb,
				  "The candidate is safe for %s: all %zu enforcing versions accept "
				  "it.",
				  name, ac->nenforcing);
	} else {
		if (s->stranded_share > 0 || s->unknown_share > 0) {
			rd_sb_str(&sb, "The candidate would strand ");
			sb_share(&sb, s, name);
			rd_sb_str(&sb, ": ");
		} else {
			rd_sb_add(&sb,
				  "The candidate puts %s versions without an adoption figure at "
				  "risk (the other figures add up to 100%%, so no share is "
				  "counted): ",
				  name);
		}
		rd_sb_versions(&sb, s->stranded, s->nstranded);
		rd_sb_add(&sb, " %s no pin in the candidate's %zu key%s",
			  s->nstranded > 1 ? "have" : "has", cand->ncerts,
			  cand->ncerts == 1 ? "" : "s");
		const struct rd_cov *c = find_cov(ac, s->stranded[0].version);
		if (c) {
			rd_sb_add(&sb, " (%s pins ", c->v->version);
			sb_pins_of(&sb, c);
			rd_sb_str(&sb, ")");
		}
		rd_sb_str(&sb, ".");
	}
	if (wa->current.evaluated && wa->current.stranded_share + EPS < s->stranded_share) {
		rd_sb_str(&sb, " Today's chain strands ");
		rd_sb_pct(&sb, wa->current.stranded_share);
		rd_sb_str(&sb, ".");
	}
	int rc = rd_strv_push(&wa->reasons, sb.b);
	if (!rc)
		rc = reasons_unresolved(ac, &wa->reasons);
	/* bare pins name no anchor: an overridePins anchor cannot be matched */
	const char *ov = NULL;
	for (size_t i = 0;
	     !rc && cand->ncerts && !cand->certs[0].subject && i < s->nstranded && !ov; i++) {
		const struct rd_cov *c = find_cov(ac, s->stranded[i].version);
		for (size_t j = 0; c && j < c->npol && !ov; j++)
			if (c->pol_enf[j] && c->pol[j]->noverride_anchors)
				ov = c->v->version;
	}
	if (!rc && ov)
		rc = readiness_strv_add(
			&wa->reasons,
			"%s of %s declares overridePins trust anchors; bare pins name "
			"no trust anchor, so the verdict assumes that the pin check "
			"applies (give the PEM chain to evaluate the anchor).",
			ov, name);
	return rc;
}

int readiness_whatif_eval(const struct readiness_index *idx, const char *host,
			  const struct readiness_chain *candidate,
			  const struct readiness_observed *current, time_t at,
			  struct readiness_whatif *out)
{
	memset(out, 0, sizeof(*out));
	out->at = at;
	if (!host || !*host || !candidate || candidate->ncerts == 0)
		return -EINVAL;
	/* A candidate of full certificates is taken as the chain the trust store
	 * validates (the what-if gate refuses one that does not build to an
	 * anchor); its last certificate is the anchor. Bare pins say nothing
	 * about the anchor: no overridePins anchor applies. */
	const struct readiness_cert *last = &candidate->certs[candidate->ncerts - 1];
	struct rd_anchor can = { candidate->certs[0].subject != NULL,
				 last->subject ? last->pin : NULL };
	struct rd_hostcov hc;
	int rc = rd_hostcov_build(idx, host, at, NULL, &hc);
	if (rc)
		return rc;
	uint8_t *fbuf = NULL, *cf = NULL;
	size_t fcap = 0, naf = current ? current->naddrs : 0;
	struct addr_flags *af = calloc(naf ? naf : 1, sizeof(*af));
	size_t maxn = 1;
	for (size_t i = 0; i < hc.napps; i++)
		maxn = hc.apps[i].n > maxn ? hc.apps[i].n : maxn;
	cf = calloc(maxn, 1);
	if (!af || !cf)
		rc = -ENOMEM;
	if (!rc && hc.napps) {
		out->apps = calloc(hc.napps, sizeof(*out->apps));
		if (!out->apps)
			rc = -ENOMEM;
	}
	for (size_t i = 0; i < hc.napps && !rc; i++) {
		const struct rd_appcov *ac = &hc.apps[i];
		struct readiness_whatif_app *wa = &out->apps[out->napps++];
		wa->app = ac->app;
		rc = flags_for(ac, current, af, &fbuf, &fcap, NULL, 0);
		if (!rc) {
			for (size_t j = 0; j < ac->n; j++)
				cf[j] = ac->vers[j].enforcing
						? rd_flags(&ac->vers[j], candidate, &can)
						: 0;
			rc = scenario_fill(ac, RD_F_NOW, cf, NULL, &wa->candidate);
		}
		if (!rc)
			rc = scenario_worst(ac, RD_F_NOW, af, naf, &wa->current);
		if (!rc)
			rc = whatif_reasons(ac, wa, candidate);
		if (wa->candidate.stranded_share > out->max_stranded)
			out->max_stranded = wa->candidate.stranded_share;
		if (wa->candidate.unknown_share > out->max_unknown)
			out->max_unknown = wa->candidate.unknown_share;
	}
	free(af);
	free(cf);
	free(fbuf);
	rd_hostcov_free(&hc);
	if (rc)
		readiness_whatif_free(out);
	return rc;
}
