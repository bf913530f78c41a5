/* Readiness engine: scenarios per endpoint and app, reasons, severity,
 * what-if. Pure (see readiness.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readiness/readiness.h"
#include "readiness/readiness_int.h"
#include "base/util.h"

#define EPS 1e-9

static double clamp01(double x)
{
	return x < 0 ? 0 : x > 1 ? 1 : x;
}

/* Survival flags of every covering version of one app against one address. */
struct addr_flags {
	const struct readiness_address *a; /* NULL for a candidate */
	const struct readiness_chain *ch;
	uint8_t *f;   /* [ac->n] */
	bool has_key; /* key rotation: the backup key chosen for this address */
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
	/* Surviving KNOWN share (issue 5): users we cannot place on a version with
	 * an adoption figure never count as surviving, so incomplete adoption data
	 * can only make a rotation look less ready, never more. With complete
	 * figures this is 1 - stranded; with an at-risk version lacking a figure it
	 * equals 1 - stranded - unknown, as before. */
	out->surviving_share = ac->nenforcing == 0
				       ? 1.0 /* no version pins this host: nobody can be stranded */
				       : clamp01(clamp01(ac->known_sum) - out->stranded_share);
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

/* Key rotation: the new leaf key can equal at most one backup key. Credit the
 * versions carrying the backup key that leaves the smallest stranded share
 * (then no unknown at-risk version; then the lowest pin, for determinism). */
static int rotation_key(const struct rd_appcov *ac, struct addr_flags *af)
{
	const uint8_t *leaf = af->ch->ncerts ? af->ch->certs[0].pin : NULL;
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
				if (p->role != PIN_BACKUP ||
				    (leaf && memcmp(p->sha256, leaf, 32) == 0))
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
	for (size_t i = best; i < best_end; i++)
		af->f[kc[i].idx] |= RD_F_KEY_ROTATION;
	af->has_key = true;
	memcpy(af->key, kc[best].key, 32);
	free(kc);
	return 0;
}

/* Flags of @ac against every address of @obs; @buf grows as needed. */
static int flags_for(const struct rd_appcov *ac, const struct readiness_observed *obs,
		     struct addr_flags *af, uint8_t **buf, size_t *bufcap)
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
		af[k].f = *buf + k * ac->n;
		af[k].has_key = false;
		if (!af[k].ch)
			continue;
		for (size_t j = 0; j < ac->n; j++)
			af[k].f[j] = ac->vers[j].enforcing ? rd_flags(&ac->vers[j], af[k].ch) : 0;
		int rc = rotation_key(ac, &af[k]);
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
	for (size_t i = 0; i < r->nfindings; i++)
		free(r->findings[i].text);
	free(r->findings);
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

static void sb_unknown(struct rd_sb *sb, const struct readiness_scenario *s)
{
	if (s->unknown_share <= 0)
		return;
	rd_sb_str(sb, "; versions without an adoption figure are at risk, so up to ");
	rd_sb_pct(sb, s->unknown_share);
	rd_sb_str(sb, " more (users no figure accounts for) may be");
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
				  "%s does not enforce a pin for %s at this date: of %zu covering "
				  "versions, %zu are report-only or excluded, %zu have an expired "
				  "pin set, %zu have no pins; nobody can be stranded.",
				  ac->app->name, ep->host, ac->n, report_only, expired, nopins);
}

static int reasons_app(const struct endpoint *ep, const struct rd_appcov *ac,
		       const struct readiness_app_verdict *v, time_t at,
		       const struct readiness_observed *obs, struct readiness_strv *rs)
{
	const char *name = ac->app->name;
	double thr = ac->app->adoption_threshold;
	struct rd_sb sb;
	char ps[32];

	if (ac->nenforcing == 0)
		return reasons_not_enforced(ep, ac, at, rs);
	if (!v->now.evaluated)
		return readiness_strv_add(
			rs,
			"No certificate chain of %s has been observed yet; %zu "
			"versions of %s enforce pins for it and cannot be evaluated.",
			ep->host, ac->nenforcing, name);

	/* Now */
	const struct readiness_address *wa = NULL;
	for (size_t i = 0; obs && i < obs->naddrs; i++)
		if (obs->addrs[i].address == v->now.address)
			wa = &obs->addrs[i];
	const struct readiness_chain *wc =
		wa ? readiness_platform_chain(wa, ac->app->platform, NULL) : NULL;
	memset(&sb, 0, sizeof(sb));
	/* nstranded, not the shares: a version with no adoption figure is at risk
	 * even when the other figures add up to 100% (unknown_share is then 0). */
	if (v->now.nstranded > 0) {
		rd_sb_str(&sb, "Now ");
		rd_sb_pct(&sb, v->now.stranded_share);
		rd_sb_add(&sb, " of %s users are stranded at %s: ", name, v->now.address);
		rd_sb_versions(&sb, v->now.stranded, v->now.nstranded);
		rd_sb_add(&sb, " %s no pin in the %s chain (leaf %s, key %s)",
			  v->now.nstranded > 1 ? "have" : "has",
			  wa && wa->validated.ncerts ? "validated" : "presented", leaf_subject(wc),
			  wc && wc->ncerts ? readiness_pin_short(wc->certs[0].pin, ps, sizeof(ps))
					   : "-");
		const struct rd_cov *c = find_cov(ac, v->now.stranded[0].version);
		if (c) {
			rd_sb_add(&sb, "; %s pins ", c->v->version);
			sb_pins_of(&sb, c);
		}
		sb_unknown(&sb, &v->now);
		rd_sb_str(&sb, ".");
	} else {
		rd_sb_add(&sb,
			  "Now nobody is stranded: each of the %zu enforcing versions of %s has a "
			  "pin in the chain of every observed address.",
			  ac->nenforcing, name);
	}
	if (rd_strv_push(rs, sb.b))
		return -ENOMEM;

	/* Key rotation */
	memset(&sb, 0, sizeof(sb));
	const struct readiness_scenario *kr = &v->key_rotation;
	const struct readiness_address *ka = NULL;
	for (size_t i = 0; obs && i < obs->naddrs; i++)
		if (obs->addrs[i].address == kr->address)
			ka = &obs->addrs[i];
	const struct readiness_chain *kc =
		ka ? readiness_platform_chain(ka, ac->app->platform, NULL) : NULL;
	if (!kr->ready && kr->evaluated && kr->nstranded == 0) {
		/* Nobody known is at risk, but readiness counts known shares only. */
		rd_sb_add(&sb,
			  "Key rotation is not proven safe for %s: every version with an "
			  "adoption figure keeps working, but the figures cover only ",
			  name);
		rd_sb_pct(&sb, kr->surviving_share);
		rd_sb_str(&sb, " of users (threshold ");
		rd_sb_pct(&sb, thr);
		rd_sb_str(&sb, "); add the missing versions' adoption.");
	} else if (kr->ready) {
		rd_sb_add(&sb, "Key rotation is safe for %s: ", name);
		rd_sb_pct(&sb, kr->surviving_share);
		rd_sb_str(&sb, " of users keep working (threshold ");
		rd_sb_pct(&sb, thr);
		rd_sb_str(&sb, ")");
		if (kr->has_rotation_key)
			rd_sb_add(&sb, "; rotate to the backup key %s",
				  readiness_pin_short(kr->rotation_key, ps, sizeof(ps)));
		if (kr->nstranded > 0) { /* also a version with no figure */
			rd_sb_str(&sb, "; it would still strand ");
			rd_sb_versions(&sb, kr->stranded, kr->nstranded);
		}
		rd_sb_str(&sb, ".");
	} else {
		rd_sb_str(&sb, "Key rotation would strand ");
		rd_sb_pct(&sb, kr->stranded_share);
		rd_sb_add(&sb, " of %s users: ", name);
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
		else
			rd_sb_add(
				&sb,
				" %s no pin on a CA key of the chain and no backup pin other than "
				"today's leaf key",
				kr->nstranded > 1 ? "have" : "has");
		sb_unknown(&sb, kr);
		rd_sb_str(&sb, "; ");
		if (v->same_key.ready)
			rd_sb_str(&sb, "renew with the same key or ");
		/* the versions that would survive: the ones to wait for */
		size_t nsurv = 0;
		for (size_t i = 0; i < ac->n; i++) {
			const struct rd_cov *c = &ac->vers[i];
			if (!c->enforcing || !kc || in_stranded(kr, c->v))
				continue;
			if (nsurv < 3)
				rd_sb_add(&sb, "%s%s", nsurv ? ", " : "wait until ", c->v->version);
			nsurv++;
		}
		if (nsurv == 0)
			rd_sb_str(&sb, "ship a release with a backup pin and wait until it");
		else if (nsurv > 3)
			rd_sb_add(&sb, " and %zu more", nsurv - 3);
		rd_sb_add(&sb, "%s reach%s ", nsurv ? " (backup or CA pin)" : "",
			  nsurv == 1 || nsurv == 0 ? "es" : "");
		rd_sb_pct(&sb, thr);
		if (v->forecast.available) {
			char d[16];
			rd_sb_add(&sb, " (forecast %s)",
				  util_fmt_date(v->forecast.date, d, sizeof(d)));
		} else {
			rd_sb_add(&sb, " (no forecast: %s)", v->forecast.basis);
		}
		rd_sb_str(&sb, ".");
	}
	if (rd_strv_push(rs, sb.b))
		return -ENOMEM;

	/* CA change */
	memset(&sb, 0, sizeof(sb));
	const struct readiness_scenario *cc = &v->ca_change;
	if (cc->ready) {
		rd_sb_add(&sb, "A CA change is safe for %s: ", name);
		rd_sb_pct(&sb, cc->surviving_share);
		rd_sb_add(&sb, " of users run versions with a backup pin outside today's chain or "
			       "that do not pin.");
	} else {
		rd_sb_str(&sb, "A CA change would strand ");
		rd_sb_pct(&sb, cc->stranded_share);
		rd_sb_add(&sb, " of %s users: ", name);
		rd_sb_versions(&sb, cc->stranded, cc->nstranded);
		rd_sb_add(&sb, " %s no backup pin outside today's chain",
			  cc->nstranded > 1 ? "carry" : "carries");
		sb_unknown(&sb, cc);
		rd_sb_str(&sb, ".");
	}
	return rd_strv_push(rs, sb.b);
}

/* ---- Endpoint --------------------------------------------------------- */

static bool same_chain(const struct readiness_chain *a, const struct readiness_chain *b)
{
	if (a->ncerts != b->ncerts)
		return false;
	for (size_t i = 0; i < a->ncerts; i++)
		if (memcmp(a->certs[i].sha256, b->certs[i].sha256, 32))
			return false;
	return true;
}

static void raise_sev(enum readiness_severity *s, enum readiness_severity to)
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
		raise_sev(&out->severity, READINESS_INFO);
		return readiness_strv_add(rs, "%s:%d has not been observed yet.", ep->host,
					  ep->port);
	}
	const struct readiness_chain *first = NULL;
	const char *first_addr = NULL;
	for (size_t i = 0; i < obs->naddrs && !rc; i++) {
		const struct readiness_address *a = &obs->addrs[i];
		const struct readiness_chain *ch = rd_eval_chain(a);
		if (!a->outcome || strcmp(a->outcome, "ok") != 0) {
			out->failing = true;
			raise_sev(&out->severity, READINESS_WARNING);
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
			raise_sev(&out->severity, READINESS_INFO);
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
			   !same_chain(first, &a->presented) && !out->disagree && !rc) {
			out->disagree = true;
			raise_sev(&out->severity, READINESS_WARNING);
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
	if (out->expiry.known) {
		int64_t diff = (int64_t)out->expiry.not_after - (int64_t)o->at;
		out->expiry.days_left = diff >= 0 ? diff / 86400 : -((-diff + 86399) / 86400);
	}
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
		raise_sev(&out->severity, READINESS_CRITICAL);
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
	enum readiness_severity sev = READINESS_INFO;
	if (nnot) {
		sev = ex->days_left <= 7    ? READINESS_CRITICAL
		      : ex->days_left <= 14 ? READINESS_WARNING
					    : READINESS_INFO;
		/* A leaf renewed with the same key strands nobody: there is a safe path. */
		if (ex->leaf && same_key_ok && sev == READINESS_CRITICAL)
			sev = READINESS_WARNING;
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
			 const struct readiness_opts *o, struct readiness_endpoint_verdict *out)
{
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
		rc = flags_for(ac, obs, af, &fbuf, &fcap);
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
			raise_sev(&out->severity, READINESS_CRITICAL);
		else if (v->now.unknown_share > 0 || has_unknown(&v->now))
			raise_sev(&out->severity, READINESS_WARNING);
		if ((v->key_rotation.evaluated && !v->key_rotation.ready) ||
		    (v->ca_change.evaluated && !v->ca_change.ready))
			raise_sev(&out->severity, READINESS_INFO);
	}
	free(surv);
	free(fbuf);
	free(af);
	if (rc)
		goto out;
	if (!out->pinned && ep->environment && strcmp(ep->environment, "production") == 0) {
		out->unprotected = true;
		raise_sev(&out->severity, READINESS_INFO);
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
	return eval_endpoint(idx, NULL, &idx->inv->endpoints[i], obs, o, out);
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
	if (rd_shares_build(inv, o->at, &sh)) {
		readiness_report_free(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < inv->nendpoints; i++) {
		const struct readiness_observed *ob = obs && i < obs->neps ? &obs->eps[i] : NULL;
		int rc = eval_endpoint(idx, &sh, &inv->endpoints[i], ob, o, &out->eps[i]);
		if (rc) {
			rd_shares_free(&sh);
			readiness_report_free(out);
			return rc;
		}
		out->neps++;
		raise_sev(&out->worst, out->eps[i].severity);
	}
	rd_shares_free(&sh);
	int rc = rd_findings(idx, obs, o, out);
	if (!rc)
		rc = rd_variant_findings(idx, obs, o, out);
	if (rc) {
		readiness_report_free(out);
		return rc;
	}
	for (size_t i = 0; i < out->nfindings; i++)
		raise_sev(&out->worst, out->findings[i].severity);
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
	if (ac->nenforcing == 0)
		return readiness_strv_add(&wa->reasons,
					  "%s does not enforce a pin for this host at this date.",
					  ac->app->name);
	if (s->nstranded == 0) {
		rd_sb_add(&sb,
			  "The candidate is safe for %s: each of its %zu enforcing versions has a "
			  "pin in it.",
			  ac->app->name, ac->nenforcing);
	} else {
		rd_sb_str(&sb, "The candidate would strand ");
		rd_sb_pct(&sb, s->stranded_share);
		rd_sb_add(&sb, " of %s users: ", ac->app->name);
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
		sb_unknown(&sb, s);
		rd_sb_str(&sb, ".");
	}
	if (wa->current.evaluated && wa->current.stranded_share + EPS < s->stranded_share) {
		rd_sb_str(&sb, " Today's chain strands ");
		rd_sb_pct(&sb, wa->current.stranded_share);
		rd_sb_str(&sb, ".");
	}
	return rd_strv_push(&wa->reasons, sb.b);
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
		rc = flags_for(ac, current, af, &fbuf, &fcap);
		if (!rc) {
			for (size_t j = 0; j < ac->n; j++)
				cf[j] = ac->vers[j].enforcing ? rd_flags(&ac->vers[j], candidate)
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
