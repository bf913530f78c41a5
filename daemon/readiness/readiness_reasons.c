/* Readiness engine: the reasons of a verdict, sentences for people (what is
 * stranded, why, what to do about it), and of a what-if. Pure (see
 * readiness.h). */
#include <string.h>

#include "readiness/readiness.h"
#include "readiness/readiness_int.h"
#include "base/util.h"

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
static void sb_share(struct strbuf *sb, const struct readiness_scenario *s, const char *name)
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
static void sb_names(struct strbuf *sb, const char *const *names, size_t n, size_t total)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			rd_sb_str(sb, i + 1 == n && total == n ? " and " : ", ");
		rd_sb_str(sb, names[i]);
	}
	if (total > n)
		rd_sb_add(sb, " and %zu more", total - n);
}

static void sb_pins_of(struct strbuf *sb, const struct rd_cov *c)
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
	struct strbuf sb = rd_sb_new();
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
	return rd_sb_push(rs, &sb);
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
static void sb_still(struct strbuf *sb, const struct readiness_scenario *s, const char *tail_one,
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
	struct strbuf sb = rd_sb_new();
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
		return rd_sb_push(rs, &sb);
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
	return rd_sb_push(rs, &sb);
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
	struct strbuf sb = rd_sb_new();
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
			rd_sb_pct(&sb, rd_clamp01(1 - rejected));
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
	return rd_sb_push(rs, &sb);
}

static int reason_key_rotation(const struct rd_appcov *ac, const struct readiness_app_verdict *v,
			       const struct readiness_observed *obs, struct readiness_strv *rs)
{
	const char *name = ac->app->name;
	double thr = ac->app->adoption_threshold;
	struct strbuf sb = rd_sb_new();
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
		return rd_sb_push(rs, &sb);
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
	return rd_sb_push(rs, &sb);
}

static int reason_ca_change(const struct rd_appcov *ac, const struct readiness_app_verdict *v,
			    struct readiness_strv *rs)
{
	const char *name = ac->app->name;
	struct strbuf sb = rd_sb_new();
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
	return rd_sb_push(rs, &sb);
}

int rd_reasons_app(const struct endpoint *ep, const struct rd_appcov *ac,
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

int rd_whatif_reasons(const struct rd_appcov *ac, struct readiness_whatif_app *wa,
		      const struct readiness_chain *cand)
{
	struct strbuf sb = rd_sb_new();
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
	if (wa->current.evaluated && wa->current.stranded_share + RD_EPS < s->stranded_share) {
		rd_sb_str(&sb, " Today's chain strands ");
		rd_sb_pct(&sb, wa->current.stranded_share);
		rd_sb_str(&sb, ".");
	}
	int rc = rd_sb_push(&wa->reasons, &sb);
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
