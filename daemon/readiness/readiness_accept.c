/* Readiness engine: whether a covering version accepts a chain, now and
 * after a key rotation or a CA change (pins, checker groups, overridePins
 * anchors). Pure (see readiness.h). */
#include <string.h>

#include "readiness/readiness.h"
#include "readiness/readiness_int.h"
#include "base/util.h"

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
