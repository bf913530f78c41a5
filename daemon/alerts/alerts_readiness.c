/* Readiness verdicts to alert conditions: stranding_now, rotation_not_ready,
 * chain_changed, edges_disagree, certificate_expiring (alerts_expiry.c); and
 * from open rotation plans, rotation_completed (which replaces chain_changed
 * for a planned change) and plan_overdue. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "base/config.h"
#include "store/db.h"
#include "store/inventory.h"
#include "model/model.h"
#include "readiness/readiness.h"
#include "readiness/readiness_load.h"
#include "readiness/readiness_gate.h"
#include "readiness/readiness_plan_db.h"
#include "store/plans.h"
#include "base/util.h"

/* Reasons of the app verdict, then of the endpoint, capped. */
static json_t *reasons_json(const struct readiness_strv *a, const struct readiness_strv *b,
			    const char *extra)
{
	json_t *arr = json_array();
	if (!arr)
		return NULL;
	if (extra)
		json_array_append_new(arr, json_string(extra));
	for (size_t i = 0; a && i < a->n && json_array_size(arr) < 32; i++)
		json_array_append_new(arr, json_string(a->v[i]));
	for (size_t i = 0; b && i < b->n && json_array_size(arr) < 32; i++)
		json_array_append_new(arr, json_string(b->v[i]));
	return arr;
}

static json_t *versions_json(const struct readiness_scenario *s)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < s->nstranded; i++) {
		const struct readiness_version_share *v = &s->stranded[i];
		json_array_append_new(
			arr,
			json_pack("{s:s, s:o}", "version",
				  v->version && v->version->version ? v->version->version : "?",
				  "share", v->known ? json_real(v->share) : json_null()));
	}
	return arr;
}

static int scenario_cond(struct alerts_condv *out, enum alert_kind kind, enum severity sev,
			 const struct readiness_endpoint_verdict *ev,
			 const struct readiness_app_verdict *av, const struct readiness_scenario *s,
			 const char *extra_reason)
{
	const struct endpoint *ep = ev->ep;
	const char *app = av->app->name;
	struct alert_cond *c = alerts_condv_push(out);
	if (!c)
		return -ENOMEM;
	c->kind = kind;
	c->endpoint_id = ep->id;
	c->app_id = av->app->id;
	c->severity = sev;
	if (alerts_fingerprint(kind, ep->host, ep->port, app, c->fingerprint,
			       sizeof(c->fingerprint)))
		return -ENOSPC;
	if (kind == ALERT_STRANDING_NOW)
		snprintf(c->summary, sizeof(c->summary),
			 "%s:%d strands %.1f%% of %s users now (%zu version%s)", ep->host, ep->port,
			 s->stranded_share * 100.0, app, s->nstranded,
			 s->nstranded == 1 ? "" : "s");
	else if (s->stranded_share <= 1e-9 && s->unknown_share > 0)
		/* only versions without an adoption figure are at risk: the share
		 * is the users no figure accounts for, an upper bound (never "0.0%") */
		snprintf(c->summary, sizeof(c->summary),
			 "%s:%d: certificate expires in %lld day%s and a key rotation would strand "
			 "up to %.1f%% of %s users (versions without an adoption figure; %.1f%% "
			 "would survive, %.0f%% needed)",
			 ep->host, ep->port, (long long)ev->expiry.days_left,
			 ev->expiry.days_left == 1 ? "" : "s", s->unknown_share * 100.0, app,
			 s->surviving_share * 100.0, av->app->adoption_threshold * 100.0);
	else
		snprintf(c->summary, sizeof(c->summary),
			 "%s:%d: certificate expires in %lld day%s and a key rotation would strand "
			 "%.1f%% of %s users (%.1f%% would survive, %.0f%% needed)",
			 ep->host, ep->port, (long long)ev->expiry.days_left,
			 ev->expiry.days_left == 1 ? "" : "s", s->stranded_share * 100.0, app,
			 s->surviving_share * 100.0, av->app->adoption_threshold * 100.0);
	c->details = json_pack("{s:f, s:f, s:f, s:o, s:o, s:o}", "stranded_share",
			       s->stranded_share, "unknown_share", s->unknown_share,
			       "surviving_share", s->surviving_share, "versions", versions_json(s),
			       "reasons", reasons_json(&av->reasons, &ev->reasons, extra_reason),
			       "address", s->address ? json_string(s->address) : json_null());
	if (!c->details)
		return -ENOMEM;
	if (ev->expiry.known) {
		char d[16];
		json_object_set_new(c->details, "expiry_days", json_integer(ev->expiry.days_left));
		json_object_set_new(c->details, "not_after",
				    json_string(util_fmt_date(ev->expiry.not_after, d, sizeof(d))));
	}
	return 0;
}

static int endpoint_cond(struct alerts_condv *out, enum alert_kind kind, enum severity sev,
			 const struct readiness_endpoint_verdict *ev, const char *what)
{
	const struct endpoint *ep = ev->ep;
	struct alert_cond *c = alerts_condv_push(out);
	if (!c)
		return -ENOMEM;
	c->kind = kind;
	c->endpoint_id = ep->id;
	c->severity = sev;
	if (alerts_fingerprint(kind, ep->host, ep->port, NULL, c->fingerprint,
			       sizeof(c->fingerprint)))
		return -ENOSPC;
	snprintf(c->summary, sizeof(c->summary), "%s:%d %s", ep->host, ep->port, what);
	c->details = json_pack("{s:o}", "reasons", reasons_json(NULL, &ev->reasons, NULL));
	return c->details ? 0 : -ENOMEM;
}

int alerts_conds_from_readiness(const struct readiness_report *rep, const struct config *cfg,
				struct alerts_condv *out, char *err, size_t errlen)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < rep->neps; i++) {
		const struct readiness_endpoint_verdict *ev = &rep->eps[i];
		size_t first = out->n;
		if (!ev->ep || !ev->ep->enabled)
			continue;
		for (size_t k = 0; rc == 0 && k < ev->napps; k++) {
			const struct readiness_app_verdict *av = &ev->apps[k];
			if (!av->app)
				continue;
			if (av->now.evaluated && av->now.stranded_share > 1e-9)
				rc = scenario_cond(out, ALERT_STRANDING_NOW, SEVERITY_CRITICAL, ev,
						   av, &av->now, NULL);
			if (rc || !ev->expiry.known || !av->key_rotation.evaluated ||
			    av->key_rotation.ready)
				continue;
			enum severity sev = expiry_level(
				ev->expiry.days_left > 100000 ? 100000 : (int)ev->expiry.days_left,
				cfg->alerts_expiry_days);
			if (sev == SEVERITY_OK)
				continue;
			const char *extra =
				av->same_key.evaluated && av->same_key.ready
					? "A renewal that keeps the current key is safe; "
					  "a new key is not."
					: NULL;
			rc = scenario_cond(out, ALERT_ROTATION_NOT_READY, sev, ev, av,
					   &av->key_rotation, extra);
		}
		if (rc == 0 && ev->drift) {
			rc = endpoint_cond(
				out, ALERT_CHAIN_CHANGED, SEVERITY_INFO, ev,
				"presents a new chain (no planned rotation is recorded)");
			if (rc == 0)
				json_object_set_new(out->v[out->n - 1].details, "planned",
						    json_false());
		}
		if (rc == 0 && ev->disagree)
			rc = endpoint_cond(out, ALERT_EDGES_DISAGREE, SEVERITY_WARNING, ev,
					   "addresses present different chains");
		if (rc == 0)
			rc = alerts_conds_expiry(ev, cfg, out, first);
	}
	if (rc)
		return util_err(err, errlen, rc, "building readiness conditions: %s",
				strerror(-rc));
	return 0;
}

/* One condition about plan @p of endpoint @ev. */
static int plan_cond(struct alerts_condv *out, enum alert_kind kind, enum severity sev,
		     const struct plan *p, const struct readiness_plan_state *st,
		     const char *summary)
{
	char app[32];
	struct alert_cond *c = alerts_condv_push(out);
	if (!c)
		return -ENOMEM;
	c->kind = kind;
	c->endpoint_id = st->ep ? st->ep->id : 0;
	c->severity = sev;
	snprintf(app, sizeof(app), "plan-%lld", (long long)p->id);
	if (alerts_fingerprint(kind, p->host, p->port, app, c->fingerprint, sizeof(c->fingerprint)))
		return -ENOSPC;
	snprintf(c->summary, sizeof(c->summary), "%s", summary);
	json_t *reasons = json_array();
	for (size_t i = 0; reasons && i < READINESS_PLAN_STEPS; i++)
		if (!st->steps[i].done || i == 6)
			for (size_t k = 0; k < st->steps[i].evidence.n; k++)
				json_array_append_new(reasons,
						      json_string(st->steps[i].evidence.v[k]));
	c->details = json_pack("{s:I, s:s, s:s, s:I, s:I, s:o}", "plan", (json_int_t)p->id,
			       "status", readiness_plan_status_name(st->status), "host", p->host,
			       "presenting", (json_int_t)st->npresenting, "addresses",
			       (json_int_t)st->naddrs, "reasons", reasons ? reasons : json_array());
	if (c->details && p->not_before[0])
		json_object_set_new(c->details, "not_before", json_string(p->not_before));
	if (c->details)
		json_object_set_new(c->details, "planned", json_true());
	return c->details ? 0 : -ENOMEM;
}

/*
 * Open plans: a chain change of an endpoint to its plan's key is the planned
 * rotation (rotation_completed, info, instead of chain_changed); a plan still
 * waiting after its not-before date is overdue (warning).
 */
static int plans_conds(struct db *db, const struct config *cfg, time_t now,
		       const struct readiness_index *idx, const struct readiness_observations *obs,
		       const struct readiness_report *rep, struct alerts_condv *out, char *err,
		       size_t errlen)
{
	struct plan *v = NULL;
	size_t n = 0;
	struct readiness_ca_pool pool = { 0 };
	int64_t confirm_s = readiness_plan_confirm_s(cfg);
	int rc = plans_list(db, true, &v, &n, err, errlen);
	if (rc || n == 0)
		return rc;
	if ((rc = readiness_load_ca_crts(db, now, &pool.crts, &pool.n, err, errlen)))
		goto out;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct readiness_plan_state st;
		char sum[ALERT_SUMMARY_MAX];
		rc = readiness_plan_state_of(&v[i], idx, obs, &pool, now, confirm_s, &st, err,
					     errlen);
		if (rc)
			break;
		const struct readiness_endpoint_verdict *ev = NULL;
		for (size_t k = 0; st.ep && k < rep->neps && !ev; k++)
			if (rep->eps[k].ep == st.ep)
				ev = &rep->eps[k];
		if (ev && ev->drift && st.npresenting) {
			snprintf(sum, sizeof(sum),
				 "%s:%d rotated to the key of plan %lld on %zu of %zu address%s "
				 "(status %s)",
				 v[i].host, v[i].port, (long long)v[i].id, st.npresenting,
				 st.naddrs, st.naddrs == 1 ? "" : "es",
				 readiness_plan_status_name(st.status));
			rc = plan_cond(out, ALERT_ROTATION_COMPLETED, SEVERITY_INFO, &v[i], &st,
				       sum);
			/* The change was planned: drop the unplanned chain_changed. */
			for (size_t k = 0; rc == 0 && k < out->n; k++) {
				struct alert_cond *c = &out->v[k];
				if (c->kind != ALERT_CHAIN_CHANGED || c->endpoint_id != st.ep->id)
					continue;
				json_decref(c->details);
				out->v[k] = out->v[--out->n];
				k--;
			}
		}
		if (rc == 0 && st.overdue) {
			snprintf(sum, sizeof(sum),
				 "%s:%d: plan %lld was due from %s and is not ready: rotating now "
				 "would strand users",
				 v[i].host, v[i].port, (long long)v[i].id, v[i].not_before);
			rc = plan_cond(out, ALERT_PLAN_OVERDUE, SEVERITY_WARNING, &v[i], &st, sum);
		}
		readiness_plan_state_free(&st);
		if (rc == -ENOMEM || rc == -ENOSPC)
			util_err(err, errlen, rc, "building plan conditions: %s", strerror(-rc));
	}
out:
	readiness_ca_crts_free(pool.crts, pool.n);
	plans_free(v, n);
	return rc;
}

int alerts_conds_from_store_readiness(struct db *db, const struct config *cfg, time_t now,
				      struct alerts_condv *out, unsigned *scope, char *err,
				      size_t errlen)
{
	struct inventory inv;
	struct readiness_observations obs = { 0 };
	struct readiness_report rep;
	struct readiness_opts o;
	struct readiness_index *idx = NULL;
	bool have_rep = false;

	memset(&rep, 0, sizeof(rep));
	int rc = inventory_load(db, &inv, err, errlen);
	if (rc)
		return rc;
	if ((rc = readiness_load_observations(db, &inv, now, &obs, err, errlen)) != 0)
		goto out;
	if (!(idx = readiness_index_new(&inv))) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	readiness_opts_default(&o, now);
	if ((rc = readiness_eval(idx, &obs, &o, &rep)) != 0) {
		util_err(err, errlen, rc, "readiness evaluation failed: %s", strerror(-rc));
		goto out;
	}
	have_rep = true;
	rc = alerts_conds_from_readiness(&rep, cfg, out, err, errlen);
	if (rc == 0)
		rc = plans_conds(db, cfg, now, idx, &obs, &rep, out, err, errlen);
	if (rc == 0)
		*scope |= ALERT_SCOPE(ALERT_STRANDING_NOW) | ALERT_SCOPE(ALERT_ROTATION_NOT_READY) |
			  ALERT_SCOPE(ALERT_CHAIN_CHANGED) | ALERT_SCOPE(ALERT_EDGES_DISAGREE) |
			  ALERT_SCOPE(ALERT_ROTATION_COMPLETED) | ALERT_SCOPE(ALERT_PLAN_OVERDUE) |
			  ALERT_SCOPE(ALERT_CERTIFICATE_EXPIRING);
out:
	if (have_rep)
		readiness_report_free(&rep);
	readiness_index_free(idx);
	readiness_observations_free(&obs);
	model_inventory_free(&inv);
	return rc;
}
