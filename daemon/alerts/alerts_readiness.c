/* Readiness verdicts to alert conditions: stranding_now, rotation_not_ready,
 * chain_changed, edges_disagree, and certificate_expiring (alerts_expiry.c). */
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

static int scenario_cond(struct alerts_condv *out, enum alert_kind kind, enum alert_severity sev,
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

static int endpoint_cond(struct alerts_condv *out, enum alert_kind kind, enum alert_severity sev,
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
				rc = scenario_cond(out, ALERT_STRANDING_NOW, ALERT_CRITICAL, ev, av,
						   &av->now, NULL);
			if (rc || !ev->expiry.known || !av->key_rotation.evaluated ||
			    av->key_rotation.ready)
				continue;
			enum alert_severity sev = alerts_rotation_severity(
				ev->expiry.days_left > 100000 ? 100000 : (int)ev->expiry.days_left,
				cfg->alerts_expiry_days);
			if (sev == ALERT_SEV_NONE)
				continue;
			const char *extra =
				av->same_key.evaluated && av->same_key.ready
					? "A renewal that keeps the current key is safe; "
					  "a new key is not."
					: NULL;
			rc = scenario_cond(out, ALERT_ROTATION_NOT_READY, sev, ev, av,
					   &av->key_rotation, extra);
		}
		if (rc == 0 && ev->drift)
			rc = endpoint_cond(
				out, ALERT_CHAIN_CHANGED, ALERT_INFO, ev,
				"presents a new chain (no planned rotation is recorded)");
		if (rc == 0 && ev->disagree)
			rc = endpoint_cond(out, ALERT_EDGES_DISAGREE, ALERT_WARNING, ev,
					   "addresses present different chains");
		if (rc == 0)
			rc = alerts_conds_expiry(ev, cfg, out, first);
	}
	if (rc)
		return util_err(err, errlen, rc, "building readiness conditions: %s",
				strerror(-rc));
	return 0;
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
		*scope |= ALERT_SCOPE(ALERT_STRANDING_NOW) | ALERT_SCOPE(ALERT_ROTATION_NOT_READY) |
			  ALERT_SCOPE(ALERT_CHAIN_CHANGED) | ALERT_SCOPE(ALERT_EDGES_DISAGREE) |
			  ALERT_SCOPE(ALERT_CERTIFICATE_EXPIRING);
out:
	if (have_rep)
		readiness_report_free(&rep);
	readiness_index_free(idx);
	readiness_observations_free(&obs);
	model_inventory_free(&inv);
	return rc;
}
