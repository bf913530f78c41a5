/* Building the condition list: from the observation history (probe_failing,
 * validation_failed), from pin-set expiry dates (pin_set_expiring), and —
 * in alerts_readiness.c — from readiness verdicts. pin_set_expiring is the rule
 * pin-set-expiring of the rule table (readiness/lint.h) over the inventory. alerts_evaluate()
 * gathers them and applies them in one alerts_apply(). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "base/config.h"
#include "base/expiry.h"
#include "store/alertstate.h"
#include "store/db.h"
#include "store/inventory.h"
#include "readiness/lint.h"
#include "base/array.h"
#include "base/util.h"

void alerts_condv_free(struct alerts_condv *v)
{
	for (size_t i = 0; i < v->n; i++)
		json_decref(v->v[i].details);
	free(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}

struct alert_cond *alerts_condv_push(struct alerts_condv *v)
{
	if (ARRAY_RESERVE(v->v, v->cap, v->n + 1, ALERT_MAX_CONDS))
		return NULL;
	struct alert_cond *c = &v->v[v->n++];
	memset(c, 0, sizeof(*c));
	return c;
}

/* ---- observations: probe_failing, validation_failed ---------------------- */

struct obs_ctx {
	struct alerts_condv *out;
	const struct config *cfg;
};

/* The conditions of one endpoint's failing addresses (alertstate_failing()). */
static int flush_endpoint(const struct alertstate_endpoint *ep, void *arg)
{
	const struct obs_ctx *ctx = arg;
	struct alerts_condv *v = ctx->out;
	const struct config *cfg = ctx->cfg;
	const struct alertstate_addr *a = ep->addrs;
	size_t na = ep->naddrs;
	const char *host = ep->host;
	int port = ep->port;
	int64_t worst_fail = 0, nfail = 0, ninvalid = 0;
	bool expired = false;
	for (size_t i = 0; i < na; i++) {
		if (a[i].has_chain) {
			ninvalid++;
			if (strstr(a[i].outcome, "expired"))
				expired = true;
		} else {
			nfail++;
			if (a[i].consecutive > worst_fail)
				worst_fail = a[i].consecutive;
		}
	}
	enum severity fsev = alerts_probe_failing_severity(worst_fail, cfg->alerts_probe_failures);
	for (int pass = 0; pass < 2; pass++) {
		bool invalid = pass == 1;
		if (invalid ? ninvalid == 0 : fsev == SEVERITY_OK)
			continue;
		struct alert_cond *c = alerts_condv_push(v);
		if (!c)
			return -ENOMEM;
		c->kind = invalid ? ALERT_VALIDATION_FAILED : ALERT_PROBE_FAILING;
		c->endpoint_id = ep->id;
		c->severity = invalid ? (expired ? SEVERITY_CRITICAL : SEVERITY_WARNING) : fsev;
		if (alerts_fingerprint(c->kind, host, port, NULL, c->fingerprint,
				       sizeof(c->fingerprint)))
			return -ENOSPC;
		json_t *addrs = json_array(), *reasons = json_array();
		const char *first = NULL;
		for (size_t i = 0; i < na; i++) {
			if (a[i].has_chain != invalid)
				continue;
			if (!first)
				first = a[i].outcome;
			json_array_append_new(
				addrs,
				json_pack("{s:s, s:s, s:I, s:o}", "address", a[i].address,
					  "outcome", a[i].outcome, "consecutive_failures",
					  (json_int_t)a[i].consecutive, "detail",
					  a[i].detail ? json_string(a[i].detail) : json_null()));
			char r[512];
			snprintf(r, sizeof(r), "%s: %s%s%s (%lld consecutive probe%s)",
				 a[i].address, a[i].outcome, a[i].detail ? ", " : "",
				 a[i].detail ? a[i].detail : "", (long long)a[i].consecutive,
				 a[i].consecutive == 1 ? "" : "s");
			json_array_append_new(reasons, json_string(r));
		}
		c->details = json_pack("{s:o, s:o}", "addresses", addrs, "reasons", reasons);
		if (!c->details)
			return -ENOMEM;
		if (invalid)
			snprintf(c->summary, sizeof(c->summary),
				 "%s:%d presents a chain that does not validate (%s) on %lld "
				 "address%s",
				 host, port, first ? first : "?", (long long)ninvalid,
				 ninvalid == 1 ? "" : "es");
		else
			snprintf(c->summary, sizeof(c->summary),
				 "%s:%d probes failing (%s) on %lld address%s, %lld consecutive",
				 host, port, first ? first : "?", (long long)nfail,
				 nfail == 1 ? "" : "es", (long long)worst_fail);
	}
	return 0;
}

int alerts_conds_from_observations(struct db *db, const struct config *cfg,
				   struct alerts_condv *out, char *err, size_t errlen)
{
	struct obs_ctx ctx = { .out = out, .cfg = cfg };
	int rc = alertstate_failing(db, flush_endpoint, &ctx, err, errlen);
	if (rc == -ENOMEM || rc == -ENOSPC)
		util_err(err, errlen, rc, "building conditions: %s", strerror(-rc));
	return rc;
}

/* ---- pin_set_expiring --------------------------------------------------- */

/* The findings @f[i..n) of the same app and pattern as @f[i]: the versions
 * (", " separated, capped) and the soonest expiring policy. */
static const struct pin_policy *expiry_group(const struct lint_finding *f, size_t n, size_t i,
					     char *versions, size_t vlen)
{
	const struct pin_policy *soonest = f[i].policy_ref;
	size_t used = 0;
	versions[0] = 0;
	for (size_t k = i; k < n; k++) {
		if (f[k].app_ref != f[i].app_ref || strcmp(f[k].pattern, f[i].pattern) != 0)
			continue;
		if (f[k].policy_ref->expires_at < soonest->expires_at)
			soonest = f[k].policy_ref;
		int w = snprintf(versions + used, vlen - used, "%s%s", used ? ", " : "",
				 f[k].version);
		if (w < 0 || (size_t)w >= vlen - used) {
			used = vlen - 1;
			break;
		}
		used += (size_t)w;
	}
	return soonest;
}

int alerts_conds_from_inventory_expiry(const struct inventory *inv, const struct config *cfg,
				       time_t now, struct alerts_condv *out, char *err,
				       size_t errlen)
{
	/* The rule pin-set-expiring of the rule table (lint.h) with the first
	 * [alerts] expiry_days threshold as its window, one condition per app
	 * and pattern. */
	int th0 = cfg->alerts_expiry_days[0] > 0 ? cfg->alerts_expiry_days[0] : 30;
	int th1 = cfg->alerts_expiry_days[1];
	struct lint_input in = {
		.inv = inv, .at = now, .expiry_days = th0, .only = 1u << LINT_PIN_SET_EXPIRING
	};
	struct lint_report rep = { 0 };
	int rc = lint_eval(&in, &rep);
	if (rc)
		rc = util_err(err, errlen, rc, "evaluating pin-set-expiring: out of memory");
	const struct lint_finding *f = rep.findings;
	for (size_t i = 0; i < rep.nfindings && !rc; i++) {
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = f[k].app_ref == f[i].app_ref &&
			       strcmp(f[k].pattern, f[i].pattern) == 0;
		if (seen)
			continue;
		char versions[400];
		const struct pin_policy *p =
			expiry_group(f, rep.nfindings, i, versions, sizeof(versions));
		const char *app = f[i].app, *pattern = f[i].pattern, *expires = p->expires;
		int64_t days = expiry_days_left(p->expires_at, now);
		struct alert_cond *c = alerts_condv_push(out);
		if (!c) {
			rc = util_err(err, errlen, -ENOMEM, "too many conditions");
			break;
		}
		c->kind = ALERT_PIN_SET_EXPIRING;
		c->app_id = f[i].app_ref->id;
		c->severity = th1 > 0 && days <= th1 ? SEVERITY_WARNING : SEVERITY_INFO;
		if (alerts_fingerprint(c->kind, pattern, 0, app, c->fingerprint,
				       sizeof(c->fingerprint))) {
			rc = util_err(err, errlen, -ENOSPC, "fingerprint too long");
			break;
		}
		snprintf(c->summary, sizeof(c->summary),
			 "%s: the pin set for %s of version(s) %s expires on %s (%lld days)", app,
			 pattern, versions, expires, (long long)days);
		char r[600];
		snprintf(r, sizeof(r),
			 "After %s these versions stop enforcing their pins for %s; ship a release "
			 "with a renewed pin set.",
			 expires, pattern);
		c->details = json_pack("{s:s, s:s, s:s, s:I, s:[s]}", "pattern", pattern,
				       "versions", versions, "expires", expires, "days_left",
				       (json_int_t)days, "reasons", r);
		if (!c->details)
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
	}
	lint_report_free(&rep);
	return rc;
}

int alerts_conds_from_pin_expiry(struct db *db, const struct config *cfg, time_t now,
				 struct alerts_condv *out, char *err, size_t errlen)
{
	struct inventory inv = { 0 };
	int rc = inventory_load(db, &inv, err, errlen);
	if (!rc)
		rc = alerts_conds_from_inventory_expiry(&inv, cfg, now, out, err, errlen);
	model_inventory_free(&inv);
	return rc;
}

/* ---- everything ----------------------------------------------------------- */

/* Drop the conditions a failed source appended after @mark. */
static void condv_truncate(struct alerts_condv *v, size_t mark)
{
	for (size_t i = mark; i < v->n; i++)
		json_decref(v->v[i].details);
	v->n = mark;
}

int alerts_evaluate(struct db *db, const struct config *cfg, time_t now,
		    const struct alerts_source *extra, struct alerts_result *res, char *err,
		    size_t errlen)
{
	/* One source failing (a corrupt row, a readiness error) must not silence
	 * the others: its kinds leave the scope (their alerts stay as they are),
	 * the rest is applied, and the first error is returned. */
	const unsigned kinds[4] = {
		ALERT_SCOPE(ALERT_PROBE_FAILING) | ALERT_SCOPE(ALERT_VALIDATION_FAILED),
		ALERT_SCOPE(ALERT_PIN_SET_EXPIRING),
		0, /* readiness: added to the scope by the source itself on success */
		extra ? extra->scope : 0,
	};
	struct alerts_condv v = { 0 };
	unsigned scope = 0;
	char msg[ERRLEN];
	int first = 0;
	for (int src = 0; src < (extra ? 4 : 3); src++) {
		size_t mark = v.n;
		int rc;
		switch (src) {
		case 0:
			rc = alerts_conds_from_observations(db, cfg, &v, msg, sizeof(msg));
			break;
		case 1:
			rc = alerts_conds_from_pin_expiry(db, cfg, now, &v, msg, sizeof(msg));
			break;
		case 2:
			rc = alerts_conds_from_store_readiness(db, cfg, now, &v, &scope, msg,
							       sizeof(msg));
			break;
		default:
			rc = extra->conds(db, cfg, now, &v, msg, sizeof(msg));
			break;
		}
		if (rc == 0) {
			scope |= kinds[src];
			continue;
		}
		condv_truncate(&v, mark);
		if (!first) {
			first = rc;
			util_err(err, errlen, rc, "%s", msg);
		}
	}
	int rc = alerts_apply(db, v.v, v.n, scope, now, cfg, res, msg, sizeof(msg));
	alerts_condv_free(&v);
	if (rc) {
		util_err(err, errlen, rc, "%s", msg);
		return rc;
	}
	return first;
}
