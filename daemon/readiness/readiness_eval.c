/* Readiness engine: the verdict of each endpoint (observations, scenarios per
 * app, severity, expiry), the report, what-if. Scenarios are built in
 * readiness_scenario.c, reasons in readiness_reasons.c. Pure (see readiness.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readiness/readiness.h"
#include "readiness/readiness_int.h"
#include "base/array.h"
#include "base/expiry.h"
#include "base/util.h"

static void app_verdict_free(struct readiness_app_verdict *v)
{
	rd_scenario_free(&v->now);
	rd_scenario_free(&v->same_key);
	rd_scenario_free(&v->key_rotation);
	rd_scenario_free(&v->ca_change);
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
		if (!a->outcome || strcmp(a->outcome, "ok") != 0) {
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
	struct strbuf apps = rd_sb_new();
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
	if (!nnot) /* nothing was added to apps */
		return readiness_strv_add(
			&out->reasons,
			"%s expires on %s (%lld days left); the %s is ready for every "
			"app.",
			ex->subject ? ex->subject : "?", d, (long long)ex->days_left,
			ex->leaf ? "key rotation" : "CA change");
	int rc = strbuf_err(&apps);
	if (!rc)
		rc = readiness_strv_add(
			&out->reasons,
			"%s expires on %s (%lld days left) and the %s is not ready for %s%s.",
			ex->subject ? ex->subject : "?", d, (long long)ex->days_left,
			ex->leaf ? "key rotation" : "CA change", strbuf_ptr(&apps),
			ex->leaf && same_key_ok ? "; renewing with the same key is safe" : "");
	strbuf_free(&apps);
	return rc;
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
	size_t surv_cap = 0;
	uint8_t *fbuf = NULL;
	size_t fcap = 0;
	size_t naf = obs ? obs->naddrs : 0;
	struct rd_addr_flags *af = calloc(naf ? naf : 1, sizeof(*af));
	if (!af)
		rc = -ENOMEM;
	for (size_t i = 0; i < hc.napps && !rc; i++) {
		const struct rd_appcov *ac = &hc.apps[i];
		struct readiness_app_verdict *v = &out->apps[out->napps++];
		v->app = ac->app;
		rc = rd_flags_for(ac, obs, af, &fbuf, &fcap, live, self);
		if (!rc)
			rc = rd_scenario_worst(ac, RD_F_NOW, af, naf, &v->now);
		if (!rc)
			rc = rd_scenario_worst(ac, RD_F_NOW, af, naf, &v->same_key);
		if (!rc)
			rc = rd_scenario_worst(ac, RD_F_KEY_ROTATION, af, naf, &v->key_rotation);
		if (!rc)
			rc = rd_scenario_worst(ac, RD_F_CA_CHANGE, af, naf, &v->ca_change);
		if (rc)
			break;
		if (ac->nenforcing)
			out->pinned = true;
		if (v->key_rotation.evaluated && !v->key_rotation.ready) {
			const uint8_t *kf = NULL;
			for (size_t j = 0; j < naf; j++)
				if (af[j].a->address == v->key_rotation.address)
					kf = af[j].f;
			if (ARRAY_RESERVE(surv, surv_cap, ac->n ? ac->n : 1, ARRAY_MAX_ITEMS)) {
				rc = -ENOMEM;
				break;
			}
			for (size_t j = 0; j < ac->n; j++)
				surv[j] = !ac->vers[j].enforcing ||
					  (kf && (kf[j] & RD_F_KEY_ROTATION));
			rd_forecast(ac, surv, o, &v->forecast);
		} else if (v->key_rotation.ready) {
			snprintf(v->forecast.basis, sizeof(v->forecast.basis), "already ready");
		} else {
			snprintf(v->forecast.basis, sizeof(v->forecast.basis), "no chain observed");
		}
		rc = rd_reasons_app(ep, ac, v, o->at, obs, &v->reasons);
		if (v->now.stranded_share > 0)
			raise_sev(&out->severity, SEVERITY_CRITICAL);
		else if (v->now.unknown_share > 0 || rd_has_unknown(&v->now))
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
	if (rd_live_build(obs, inv->nendpoints, &live)) {
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
		rd_scenario_free(&w->apps[i].candidate);
		rd_scenario_free(&w->apps[i].current);
		readiness_strv_free(&w->apps[i].reasons);
	}
	free(w->apps);
	memset(w, 0, sizeof(*w));
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
	struct rd_addr_flags *af = calloc(naf ? naf : 1, sizeof(*af));
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
		rc = rd_flags_for(ac, current, af, &fbuf, &fcap, NULL, 0);
		if (!rc) {
			for (size_t j = 0; j < ac->n; j++)
				cf[j] = ac->vers[j].enforcing
						? rd_flags(&ac->vers[j], candidate, &can)
						: 0;
			rc = rd_scenario_fill(ac, RD_F_NOW, cf, NULL, &wa->candidate);
		}
		if (!rc)
			rc = rd_scenario_worst(ac, RD_F_NOW, af, naf, &wa->current);
		if (!rc)
			rc = rd_whatif_reasons(ac, wa, candidate);
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
