/* The rule set: the table and the rules over the inventory alone. stale_pin
 * (readiness_lint.c) and chains_differ (readiness_variants.c) read the
 * engine's index, observations and verdicts. See lint.h. */
#include "readiness/lint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readiness/readiness.h"
#include "readiness/readiness_int.h"
#include "base/array.h"
#include "base/util.h"

const char *lint_severity_name(enum lint_severity s)
{
	switch (s) {
	case LINT_INFO:
		return "info";
	case LINT_WARNING:
		return "warning";
	case LINT_CRITICAL:
		return "critical";
	}
	return "unknown";
}

int lint_severity_parse(const char *s, enum lint_severity *out)
{
	for (int i = LINT_INFO; i <= LINT_CRITICAL; i++)
		if (s && strcmp(s, lint_severity_name((enum lint_severity)i)) == 0) {
			*out = (enum lint_severity)i;
			return 0;
		}
	return -EINVAL;
}

void lint_report_free(struct lint_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfindings; i++) {
		struct lint_finding *f = &r->findings[i];
		free(f->app);
		free(f->version);
		free(f->pattern);
		free(f->endpoint);
		free(f->message);
	}
	free(r->findings);
	memset(r, 0, sizeof(*r));
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int lint_add(struct lint_ctx *c, const struct app *a, const struct app_version *v,
	     const struct pin_policy *p, const struct endpoint *e, const char *fmt, ...)
{
	struct lint_report *r = c->out;
	if (c->rc)
		return c->rc;
	if (r->nfindings >= LINT_MAX_FINDINGS) {
		r->dropped++;
		return 0;
	}
	if (ARRAY_RESERVE(r->findings, r->cap, r->nfindings + 1, LINT_MAX_FINDINGS))
		return c->rc = -ENOMEM;
	char msg[1024], ep[300] = "";
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = 0;
	if (e && (size_t)snprintf(ep, sizeof(ep), "%s:%d", e->host, e->port) >= sizeof(ep))
		ep[sizeof(ep) - 1] = 0;
	struct lint_finding *f = &r->findings[r->nfindings++];
	*f = (struct lint_finding){
		.id = c->rule,
		.rule = lint_rules[c->rule].name,
		.severity = lint_rules[c->rule].severity,
		.app = dup_or_null(a ? a->name : NULL),
		.version = dup_or_null(v ? v->version : NULL),
		.pattern = dup_or_null(p ? p->pattern : NULL),
		.endpoint = dup_or_null(e ? ep : NULL),
		.message = strdup(msg),
		.app_ref = a,
		.version_ref = v,
		.policy_ref = p,
		.endpoint_ref = e,
	};
	if (!f->message || (a && !f->app) || (v && !f->version) || (p && !f->pattern) ||
	    (e && !f->endpoint))
		c->rc = -ENOMEM;
	return c->rc;
}

/* ---- Rules over the inventory ----------------------------------------- */

static bool has_backup(const struct pin_policy *p)
{
	for (size_t i = 0; i < p->npins; i++)
		if (p->pins[i].role == PIN_BACKUP)
			return true;
	return false;
}

/* An enforcing policy not expired at @at (with or without pins). */
static bool enforced_at(const struct pin_policy *p, time_t at)
{
	return p->enforce && (!p->expires[0] || at < p->expires_at);
}

static const char *subs(const struct pin_policy *p)
{
	return p->include_subdomains ? " (with subdomains)" : "";
}

/* Call @fn for every policy of every version, in inventory order. */
static int each_policy(struct lint_ctx *c,
		       void (*fn)(struct lint_ctx *c, const struct app *a,
				  const struct app_version *v, const struct pin_policy *p))
{
	const struct inventory *inv = c->in->inv;
	for (size_t ai = 0; ai < inv->napps && !c->rc; ai++) {
		const struct app *a = &inv->apps[ai];
		for (size_t vi = 0; vi < a->nversions; vi++)
			for (size_t pi = 0; pi < a->versions[vi].npolicies; pi++)
				fn(c, a, &a->versions[vi], &a->versions[vi].policies[pi]);
	}
	return c->rc;
}

static void too_few_pins(struct lint_ctx *c, const struct app *a, const struct app_version *v,
			 const struct pin_policy *p)
{
	if (enforced_at(p, c->in->at) && p->npins < 2)
		lint_add(c, a, v, p, NULL,
			 "%s %s pins %s%s with %zu pin%s: a single key change strands this "
			 "version; ship a backup pin",
			 a->name, v->version, p->pattern, subs(p), p->npins,
			 p->npins == 1 ? "" : "s");
}

static void no_backup_pin(struct lint_ctx *c, const struct app *a, const struct app_version *v,
			  const struct pin_policy *p)
{
	if (enforced_at(p, c->in->at) && p->npins >= 2 && !has_backup(p))
		lint_add(c, a, v, p, NULL,
			 "%s %s pins %s%s with %zu pins but none is marked backup: a key "
			 "rotation or CA change strands it",
			 a->name, v->version, p->pattern, subs(p), p->npins);
}

static void pin_set_expiring(struct lint_ctx *c, const struct app *a, const struct app_version *v,
			     const struct pin_policy *p)
{
	time_t at = c->in->at;
	int days = c->in->expiry_days > 0 ? c->in->expiry_days : LINT_EXPIRY_WARN_DAYS;
	if (!p->enforce || !p->npins || !p->expires[0] || p->expires_at <= at ||
	    p->expires_at - at > (time_t)days * 86400)
		return;
	/* A version nobody uses any more (latest share 0) strands nobody. */
	const struct adoption_sample *s = model_latest_adoption(v, at);
	if (s && s->share == 0)
		return;
	lint_add(c, a, v, p, NULL, "%s %s: the pin set for %s expires on %s, within %d days",
		 a->name, v->version, p->pattern, p->expires, days);
}

static void pin_set_expired(struct lint_ctx *c, const struct app *a, const struct app_version *v,
			    const struct pin_policy *p)
{
	if (p->enforce && p->npins && p->expires[0] && p->expires_at <= c->in->at)
		lint_add(c, a, v, p, NULL,
			 "%s %s: the pin set for %s expired on %s (the app no longer enforces "
			 "it)",
			 a->name, v->version, p->pattern, p->expires);
}

static void pattern_unmatched(struct lint_ctx *c, const struct app *a, const struct app_version *v,
			      const struct pin_policy *p)
{
	const struct inventory *inv = c->in->inv;
	for (size_t i = 0; i < inv->nendpoints; i++)
		if (readiness_pattern_covers(p->pattern, p->include_subdomains,
					     inv->endpoints[i].host))
			return;
	lint_add(c, a, v, p, NULL,
		 "%s %s: pattern %s%s matches no inventoried endpoint (wrong domain mapping?)",
		 a->name, v->version, p->pattern, subs(p));
}

static int rule_too_few_pins(struct lint_ctx *c)
{
	return each_policy(c, too_few_pins);
}

static int rule_no_backup_pin(struct lint_ctx *c)
{
	return each_policy(c, no_backup_pin);
}

static int rule_pin_set_expiring(struct lint_ctx *c)
{
	return each_policy(c, pin_set_expiring);
}

static int rule_pin_set_expired(struct lint_ctx *c)
{
	return each_policy(c, pin_set_expired);
}

static int rule_pattern_unmatched(struct lint_ctx *c)
{
	return each_policy(c, pattern_unmatched);
}

/* Enabled production endpoints (first or third party as @third) no version pins. */
static int unpinned(struct lint_ctx *c, bool third)
{
	const struct inventory *inv = c->in->inv;
	for (size_t ei = 0; ei < inv->nendpoints && !c->rc; ei++) {
		const struct endpoint *e = &inv->endpoints[ei];
		if (e->third_party != third || !e->enabled || !e->environment ||
		    strcmp(e->environment, "production") != 0)
			continue;
		bool pinned = false;
		for (size_t ai = 0; ai < inv->napps && !pinned; ai++)
			for (size_t vi = 0; vi < inv->apps[ai].nversions && !pinned; vi++)
				pinned = readiness_version_pins(&inv->apps[ai].versions[vi],
								e->host, c->in->at);
		if (!pinned)
			lint_add(c, NULL, NULL, NULL, e,
				 "production endpoint %s:%d is pinned by no app version%s", e->host,
				 e->port, third ? " (third party)" : "");
	}
	return c->rc;
}

static int rule_endpoint_unpinned(struct lint_ctx *c)
{
	return unpinned(c, false);
}

static int rule_third_party_unpinned(struct lint_ctx *c)
{
	return unpinned(c, true);
}

static int rule_version_no_adoption(struct lint_ctx *c)
{
	const struct inventory *inv = c->in->inv;
	for (size_t ai = 0; ai < inv->napps && !c->rc; ai++)
		for (size_t vi = 0; vi < inv->apps[ai].nversions; vi++) {
			const struct app_version *v = &inv->apps[ai].versions[vi];
			if (v->nadoption == 0)
				lint_add(c, &inv->apps[ai], v, NULL, NULL,
					 "%s %s has no adoption figure: its users count as "
					 "unknown",
					 inv->apps[ai].name, v->version);
		}
	return c->rc;
}

static int rule_adoption_over_one(struct lint_ctx *c)
{
	const struct inventory *inv = c->in->inv;
	for (size_t ai = 0; ai < inv->napps && !c->rc; ai++) {
		const struct app *a = &inv->apps[ai];
		double sum = 0;
		for (size_t vi = 0; vi < a->nversions; vi++) {
			const struct adoption_sample *s =
				model_latest_adoption(&a->versions[vi], c->in->at);
			if (s)
				sum += s->share;
		}
		if (sum > 1.0 + 1e-9)
			lint_add(c, a, NULL, NULL, NULL,
				 "%s: the latest adoption shares of its versions sum to %.4f, "
				 "above 1",
				 a->name, sum);
	}
	return c->rc;
}

/* ---- The table -------------------------------------------------------- */

const struct lint_rule lint_rules[LINT_NRULES] = {
	[LINT_TOO_FEW_PINS] = { "too-few-pins", "single_pin", LINT_WARNING,
				"an enforcing pin set with fewer than two pins",
				rule_too_few_pins },
	[LINT_NO_BACKUP_PIN] = { "no-backup-pin", "no_backup", LINT_WARNING,
				 "an enforcing pin set whose pins are all 'current'",
				 rule_no_backup_pin },
	[LINT_PIN_SET_EXPIRING] = { "pin-set-expiring", NULL, LINT_WARNING,
				    "an enforcing pin set of a version in use expiring within "
				    "30 days",
				    rule_pin_set_expiring },
	[LINT_PIN_SET_EXPIRED] = { "pin-set-expired", NULL, LINT_INFO,
				   "an enforcing pin set past its expiry (no longer enforced)",
				   rule_pin_set_expired },
	[LINT_PATTERN_UNMATCHED] = { "pattern-unmatched", "pattern_unused", LINT_WARNING,
				     "a policy pattern that covers no inventoried endpoint",
				     rule_pattern_unmatched },
	[LINT_ENDPOINT_UNPINNED] = { "endpoint-unpinned", NULL, LINT_WARNING,
				     "an enabled production endpoint no app version pins",
				     rule_endpoint_unpinned },
	[LINT_THIRD_PARTY_UNPINNED] = { "third-party-unpinned", NULL, LINT_INFO,
					"the same for a third-party endpoint",
					rule_third_party_unpinned },
	[LINT_VERSION_NO_ADOPTION] = { "version-no-adoption", NULL, LINT_WARNING,
				       "a version without any adoption figure",
				       rule_version_no_adoption },
	[LINT_ADOPTION_OVER_ONE] = { "adoption-over-one", NULL, LINT_CRITICAL,
				     "an app whose versions' latest shares sum above 1",
				     rule_adoption_over_one },
	[LINT_STALE_PIN] = { "stale_pin", NULL, LINT_INFO,
			     "a current pin of the newest release unseen for 30 days",
			     rd_rule_stale_pin },
	[LINT_CHAINS_DIFFER] = { "chains_differ", NULL, LINT_WARNING,
				 "a version accepts one chain an address presents, not another",
				 rd_rule_chains_differ },
};

const struct lint_rule *lint_rule_find(const char *name)
{
	for (size_t i = 0; name && i < LINT_NRULES; i++)
		if (strcmp(lint_rules[i].name, name) == 0 ||
		    (lint_rules[i].alias && strcmp(lint_rules[i].alias, name) == 0))
			return &lint_rules[i];
	return NULL;
}

int lint_eval(const struct lint_input *in, struct lint_report *out)
{
	struct lint_ctx c = { .in = in, .out = out };
	for (size_t i = 0; i < LINT_NRULES && !c.rc; i++) {
		if (lint_rules[i].severity < in->min_severity ||
		    (in->only && !(in->only & (1u << i))))
			continue;
		c.rule = (enum lint_rule_id)i;
		lint_rules[i].eval(&c);
	}
	return c.rc;
}

int lint_run(const struct inventory *inv, time_t now, struct lint_report *out)
{
	struct lint_input in = { .inv = inv, .at = now };
	return lint_eval(&in, out);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *lint_report_json(const struct lint_report *r, enum lint_severity min)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < r->nfindings; i++) {
		const struct lint_finding *f = &r->findings[i];
		if (f->severity < min)
			continue;
		json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "rule", f->rule,
				      "severity", lint_severity_name(f->severity), "app",
				      str_or_null(f->app), "version", str_or_null(f->version),
				      "pattern", str_or_null(f->pattern), "endpoint",
				      str_or_null(f->endpoint), "message", f->message);
		if (!o || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}
