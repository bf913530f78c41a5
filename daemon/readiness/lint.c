/* Pin lint: pure rules over struct inventory. See lint.h for the rules. */
#include "readiness/lint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readiness/readiness.h"
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

struct ctx {
	struct lint_report *out;
	size_t cap;
	int rc;
};

static void add(struct ctx *c, const char *rule, enum lint_severity sev, const struct app *a,
		const struct app_version *v, const struct pin_policy *p, const struct endpoint *e,
		const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static void add(struct ctx *c, const char *rule, enum lint_severity sev, const struct app *a,
		const struct app_version *v, const struct pin_policy *p, const struct endpoint *e,
		const char *fmt, ...)
{
	struct lint_report *r = c->out;
	if (c->rc)
		return;
	if (r->nfindings >= LINT_MAX_FINDINGS) {
		r->dropped++;
		return;
	}
	if (r->nfindings == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;
		struct lint_finding *nf = realloc(r->findings, ncap * sizeof(*nf));
		if (!nf) {
			c->rc = -ENOMEM;
			return;
		}
		r->findings = nf;
		c->cap = ncap;
	}
	char msg[ERRLEN], ep[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct lint_finding *f = &r->findings[r->nfindings];
	memset(f, 0, sizeof(*f));
	f->rule = rule;
	f->severity = sev;
	f->app = dup_or_null(a ? a->name : NULL);
	f->version = dup_or_null(v ? v->version : NULL);
	f->pattern = dup_or_null(p ? p->pattern : NULL);
	if (e)
		snprintf(ep, sizeof(ep), "%s:%d", e->host, e->port);
	f->endpoint = dup_or_null(e ? ep : NULL);
	f->message = strdup(msg);
	r->nfindings++;
	if (!f->message || (a && !f->app) || (v && !f->version) || (p && !f->pattern) ||
	    (e && !f->endpoint))
		c->rc = -ENOMEM;
}

static bool has_backup(const struct pin_policy *p)
{
	for (size_t i = 0; i < p->npins; i++)
		if (p->pins[i].role == PIN_BACKUP)
			return true;
	return false;
}

static void lint_policy(struct ctx *c, const struct inventory *inv, const struct app *a,
			const struct app_version *v, const struct pin_policy *p, time_t now)
{
	const char *subs = p->include_subdomains ? " (with subdomains)" : "";
	if (p->enforce && p->npins < 2)
		add(c, "too-few-pins", LINT_WARNING, a, v, p, NULL,
		    "%s %s pins %s%s with %zu pin%s: a single key change strands this version; "
		    "ship a backup pin",
		    a->name, v->version, p->pattern, subs, p->npins, p->npins == 1 ? "" : "s");
	else if (p->enforce && !has_backup(p))
		add(c, "no-backup-pin", LINT_WARNING, a, v, p, NULL,
		    "%s %s pins %s%s with %zu pins but none is marked backup", a->name, v->version,
		    p->pattern, subs, p->npins);

	if (p->expires[0] && p->npins) {
		if (p->expires_at <= now)
			add(c, "pin-set-expired", LINT_INFO, a, v, p, NULL,
			    "%s %s: the pin set for %s expired on %s (the app no longer enforces "
			    "it)",
			    a->name, v->version, p->pattern, p->expires);
		else if (p->expires_at - now <= (time_t)LINT_EXPIRY_WARN_DAYS * 86400)
			add(c, "pin-set-expiring", LINT_WARNING, a, v, p, NULL,
			    "%s %s: the pin set for %s expires on %s, within %d days", a->name,
			    v->version, p->pattern, p->expires, LINT_EXPIRY_WARN_DAYS);
	}

	bool matched = false;
	for (size_t i = 0; i < inv->nendpoints && !matched; i++)
		matched = readiness_pattern_covers(p->pattern, p->include_subdomains,
						   inv->endpoints[i].host);
	if (!matched)
		add(c, "pattern-unmatched", LINT_WARNING, a, v, p, NULL,
		    "%s %s: pattern %s%s matches no inventoried endpoint (wrong domain mapping?)",
		    a->name, v->version, p->pattern, subs);
}

int lint_run(const struct inventory *inv, time_t now, struct lint_report *out)
{
	struct ctx c = { .out = out, .cap = out->nfindings };

	for (size_t ai = 0; ai < inv->napps; ai++) {
		const struct app *a = &inv->apps[ai];
		double sum = 0;
		size_t with = 0;
		for (size_t vi = 0; vi < a->nversions; vi++) {
			const struct app_version *v = &a->versions[vi];
			for (size_t pi = 0; pi < v->npolicies; pi++)
				lint_policy(&c, inv, a, v, &v->policies[pi], now);
			const struct adoption_sample *s = model_latest_adoption(v, now);
			if (v->nadoption == 0)
				add(&c, "version-no-adoption", LINT_WARNING, a, v, NULL, NULL,
				    "%s %s has no adoption figure: its users count as unknown",
				    a->name, v->version);
			if (s) {
				sum += s->share;
				with++;
			}
		}
		if (with && sum > 1.0 + 1e-9)
			add(&c, "adoption-over-one", LINT_CRITICAL, a, NULL, NULL, NULL,
			    "%s: the latest adoption shares of its versions sum to %.4f, above 1",
			    a->name, sum);
	}

	for (size_t ei = 0; ei < inv->nendpoints; ei++) {
		const struct endpoint *e = &inv->endpoints[ei];
		if (!e->enabled || !e->environment || strcmp(e->environment, "production") != 0)
			continue;
		bool pinned = false;
		for (size_t ai = 0; ai < inv->napps && !pinned; ai++)
			for (size_t vi = 0; vi < inv->apps[ai].nversions && !pinned; vi++)
				pinned = readiness_version_pins(&inv->apps[ai].versions[vi],
								e->host, now);
		if (!pinned)
			add(&c, "endpoint-unpinned", e->third_party ? LINT_INFO : LINT_WARNING,
			    NULL, NULL, NULL, e,
			    "production endpoint %s:%d is pinned by no app version%s", e->host,
			    e->port, e->third_party ? " (third party)" : "");
	}
	return c.rc;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *lint_report_json(const struct lint_report *r)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < r->nfindings; i++) {
		const struct lint_finding *f = &r->findings[i];
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
