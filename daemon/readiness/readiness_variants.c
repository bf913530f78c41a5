/* Readiness engine: the chains one address presents by what the client
 * offers (dual-certificate discovery). Which chain each platform is
 * evaluated against, the endpoint warning when the chains differ in their
 * pins, and the app-level finding for versions that accept only one of
 * them. Pure (see readiness.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readiness/readiness.h"
#include "readiness/readiness_int.h"
#include "base/util.h"

static const struct readiness_chain *variant_chain(const struct readiness_variant *v)
{
	if (v->validated.ncerts)
		return &v->validated;
	if (v->presented.ncerts)
		return &v->presented;
	return NULL;
}

static const struct readiness_variant *find_variant(const struct readiness_address *a,
						    const char *name)
{
	for (size_t i = 0; a->variants && i < a->nvariants; i++)
		if (a->variants[i].variant && !strcmp(a->variants[i].variant, name) &&
		    variant_chain(&a->variants[i]))
			return &a->variants[i];
	return NULL;
}

const struct readiness_chain *readiness_platform_chain(const struct readiness_address *a,
						       enum app_platform platform,
						       const char **variant)
{
	if (platform == PLATFORM_ANDROID || platform == PLATFORM_IOS) {
		const struct readiness_variant *v = find_variant(a, "ecdsa");
		if (v) {
			if (variant)
				*variant = "ecdsa";
			return variant_chain(v);
		}
	}
	if (variant)
		*variant = "default";
	return rd_eval_chain(a);
}

struct rd_anchor rd_platform_anchor(const struct readiness_address *a, enum app_platform platform)
{
	const char *var = "default";
	const struct readiness_chain *c = readiness_platform_chain(a, platform, &var);
	if (strcmp(var, "default") == 0)
		return rd_anchor_of(a);
	struct rd_anchor an = { false, NULL };
	const struct readiness_variant *v = find_variant(a, var);
	if (v && c == &v->validated && v->validated.ncerts) {
		an.system = true;
		an.pin = v->validated.certs[v->validated.ncerts - 1].pin;
	}
	return an;
}

/* Whether every pin of @a is in @b. */
static bool pins_within(const struct readiness_chain *a, const struct readiness_chain *b)
{
	for (size_t i = 0; i < a->ncerts; i++) {
		bool found = false;
		for (size_t j = 0; j < b->ncerts && !found; j++)
			found = memcmp(a->certs[i].pin, b->certs[j].pin, 32) == 0;
		if (!found)
			return false;
	}
	return true;
}

static bool same_pins(const struct readiness_chain *a, const struct readiness_chain *b)
{
	return pins_within(a, b) && pins_within(b, a);
}

/* The chains of address @a: [0] the normal probe's, then each discovered
 * variant's (NULL where there is none); names in @names. Returns how many. */
static size_t address_chains(const struct readiness_address *a,
			     const struct readiness_chain **chains, const char **names, size_t max)
{
	size_t n = 0;
	if (max == 0)
		return 0;
	chains[n] = rd_eval_chain(a);
	names[n++] = "default";
	for (size_t i = 0; a->variants && i < a->nvariants && n < max; i++) {
		chains[n] = variant_chain(&a->variants[i]);
		names[n++] = a->variants[i].variant ? a->variants[i].variant : "?";
	}
	return n;
}

static const char *offer_name(const char *variant)
{
	if (!strcmp(variant, "ecdsa"))
		return "offering only ECDSA";
	if (!strcmp(variant, "rsa"))
		return "offering only RSA";
	return "the default offer";
}

/* "clients offering only ECDSA signature algorithms" and the like. */
static const char *clients_of(const char *variant)
{
	if (!strcmp(variant, "ecdsa"))
		return "clients offering only ECDSA signature algorithms";
	if (!strcmp(variant, "rsa"))
		return "clients offering only RSA signature algorithms";
	return "clients with a default offer (RSA first)";
}

int rd_variant_observations(struct readiness_endpoint_verdict *out)
{
	const struct readiness_observed *obs = out->obs;
	char ps[32], ps2[32];
	for (size_t i = 0; obs && i < obs->naddrs; i++) {
		const struct readiness_address *a = &obs->addrs[i];
		const struct readiness_chain *ch[8];
		const char *nm[8];
		size_t n = address_chains(a, ch, nm, ARRAY_SIZE(ch));
		/* Expiry covers every chain a client can be given. */
		for (size_t k = 1; k < n; k++)
			for (size_t j = 0; ch[k] && j < ch[k]->ncerts; j++) {
				const struct readiness_cert *c = &ch[k]->certs[j];
				if (c->not_after &&
				    (!out->expiry.known || c->not_after < out->expiry.not_after)) {
					out->expiry.known = true;
					out->expiry.not_after = c->not_after;
					out->expiry.leaf = j == 0;
					out->expiry.subject = c->subject;
				}
			}
		/* The first pair of chains that differ in their pins. */
		for (size_t x = 0; x < n; x++)
			for (size_t y = x + 1; y < n; y++) {
				if (!ch[x] || !ch[y] || !ch[x]->ncerts || !ch[y]->ncerts ||
				    same_pins(ch[x], ch[y]))
					continue;
				bool first = !out->variants_differ;
				out->variants_differ = true;
				if (out->severity < SEVERITY_WARNING)
					out->severity = SEVERITY_WARNING;
				if (!first)
					goto next_address;
				int rc = readiness_strv_add(
					&out->reasons,
					"Address %s presents different chains by what the client "
					"offers: %s gives leaf %s (key %s), %s gives leaf %s (key "
					"%s), and their pins differ. A version that pins keys of "
					"only one of them strands the clients given the other; "
					"Android and iOS apps (ECDSA first) are evaluated against "
					"the ECDSA chain, other apps against the default one.",
					a->address, offer_name(nm[x]),
					ch[x]->certs[0].subject ? ch[x]->certs[0].subject : "?",
					readiness_pin_short(ch[x]->certs[0].pin, ps, sizeof(ps)),
					offer_name(nm[y]),
					ch[y]->certs[0].subject ? ch[y]->certs[0].subject : "?",
					readiness_pin_short(ch[y]->certs[0].pin, ps2, sizeof(ps2)));
				if (rc)
					return rc;
				goto next_address;
			}
next_address:;
	}
	return 0;
}

/* Findings of one address @a of endpoint @ep for the versions of @hc. */
static int address_findings(const struct endpoint *ep, const struct readiness_address *a,
			    const struct rd_hostcov *hc, struct lint_ctx *lc)
{
	const struct readiness_chain *ch[8];
	const char *nm[8];
	size_t n = address_chains(a, ch, nm, ARRAY_SIZE(ch));
	for (size_t i = 0; i < hc->napps; i++) {
		const struct rd_appcov *ac = &hc->apps[i];
		for (size_t j = 0; j < ac->n; j++) {
			const struct rd_cov *c = &ac->vers[j];
			if (!c->enforcing)
				continue;
			size_t ok = n, bad = n;
			for (size_t k = 0; k < n; k++) {
				if (!ch[k] || !ch[k]->ncerts)
					continue;
				/* The anchor for NSC overridePins: the last certificate
				 * of a validated chain. */
				bool validated = ch[k] == &a->validated;
				for (size_t v = 0; v < a->nvariants && !validated; v++)
					validated = ch[k] == &a->variants[v].validated;
				struct rd_anchor an = {
					validated,
					validated ? ch[k]->certs[ch[k]->ncerts - 1].pin : NULL
				};
				if (rd_flags(c, ch[k], &an) & RD_F_NOW)
					ok = ok < n ? ok : k;
				else
					bad = bad < n ? bad : k;
			}
			if (ok == n || bad == n)
				continue;
			int rc = lint_add(lc, ac->app, c->v, c->pol[0], ep,
					  "%s %s accepts the chain %s:%d (%s) presents to %s but "
					  "not the one it presents to %s: users given that chain "
					  "are stranded.",
					  ac->app->name, c->v->version, ep->host, ep->port,
					  a->address, clients_of(nm[ok]), clients_of(nm[bad]));
			if (rc)
				return rc;
		}
	}
	return 0;
}

int rd_rule_chains_differ(struct lint_ctx *c)
{
	const struct lint_input *in = c->in;
	if (!in->idx || !in->obs || !in->verdicts)
		return 0; /* needs the engine's observations and verdicts */
	const struct readiness_observations *obs = in->obs;
	for (size_t e = 0; e < obs->neps && e < in->inv->nendpoints; e++) {
		if (e >= in->verdicts->neps || !in->verdicts->eps[e].variants_differ)
			continue;
		const struct inventory *inv = in->inv;
		struct rd_hostcov hc;
		int rc = rd_hostcov_build(in->idx, inv->endpoints[e].host, in->at, NULL, &hc);
		if (rc)
			return rc;
		for (size_t i = 0; i < obs->eps[e].naddrs && !rc; i++)
			rc = address_findings(&inv->endpoints[e], &obs->eps[e].addrs[i], &hc, c);
		rd_hostcov_free(&hc);
		if (rc)
			return rc;
	}
	return 0;
}
