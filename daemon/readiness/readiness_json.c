/* Readiness verdicts as JSON (docs/readiness.md "JSON shape", "What-if gate"). */
#include "readiness/readiness_json.h"

#include <math.h>
#include <string.h>

#include "base/expiry.h"
#include "base/util.h"

/* Shares are rounded to 6 decimals so that 0.1 + 0.2 prints as 0.3. */
static json_t *share(double x)
{
	return json_real(round(x * 1e6) / 1e6);
}

static json_t *time_str(time_t t)
{
	char buf[32];
	return json_string(util_fmt_time(t, buf, sizeof(buf)));
}

static json_t *strv_json(const struct readiness_strv *sv)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

json_t *readiness_scenario_json(const struct readiness_scenario *s)
{
	json_t *vs = json_array();
	for (size_t i = 0; vs && i < s->nstranded; i++) {
		const struct readiness_version_share *v = &s->stranded[i];
		json_array_append_new(vs,
				      json_pack("{s:s, s:o}", "version", v->version->version,
						"share", v->known ? share(v->share) : json_null()));
	}
	json_t *o = json_pack("{s:o, s:o, s:b, s:o, s:o, s:b, s:I}", "stranded_share",
			      share(s->stranded_share), "unknown_share", share(s->unknown_share),
			      "ready", s->ready, "stranded_versions", vs ? vs : json_array(),
			      "surviving_share", share(s->surviving_share), "evaluated",
			      s->evaluated, "enforcing_versions", (json_int_t)s->nenforcing);
	if (o && s->address)
		json_object_set_new(o, "address", json_string(s->address));
	if (o && s->has_rotation_key) {
		char b64[48];
		json_object_set_new(o, "rotate_to_pin",
				    json_string(util_pin_b64(s->rotation_key, b64)));
	}
	return o;
}

/* @at: evaluation time for days_left (0: omit). */
static json_t *chain_json(const struct readiness_chain *c, time_t at)
{
	json_t *a = json_array();
	char b64[48], hex[65];
	for (size_t i = 0; a && i < c->ncerts; i++) {
		const struct readiness_cert *x = &c->certs[i];
		if (!x->subject) { /* a bare candidate pin */
			json_array_append_new(a,
					      json_pack("{s:s}", "pin", util_pin_b64(x->pin, b64)));
			continue;
		}
		json_t *o = json_pack("{s:s?, s:s?, s:o, s:s, s:s, s:b}", "subject", x->subject,
				      "issuer", x->issuer, "not_after", time_str(x->not_after),
				      "pin", util_pin_b64(x->pin, b64), "sha256",
				      util_hex(x->sha256, 32, hex), "is_ca", x->is_ca);
		if (o && at && x->not_after)
			json_object_set_new(o, "days_left",
					    json_integer(expiry_days_left(x->not_after, at)));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *app_json(const struct readiness_app_verdict *v)
{
	json_t *fc = json_pack("{s:b, s:I, s:s}", "available", v->forecast.available, "samples",
			       (json_int_t)v->forecast.nsamples, "basis", v->forecast.basis);
	if (fc && v->forecast.available) {
		char d[16];
		json_object_set_new(fc, "date",
				    json_string(util_fmt_date(v->forecast.date, d, sizeof(d))));
	}
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:f}", "app", v->app->name, "now",
			 readiness_scenario_json(&v->now), "same_key_renewal",
			 readiness_scenario_json(&v->same_key), "key_rotation",
			 readiness_scenario_json(&v->key_rotation), "ca_change",
			 readiness_scenario_json(&v->ca_change), "forecast", fc ? fc : json_null(),
			 "reasons", strv_json(&v->reasons), "adoption_threshold",
			 v->app->adoption_threshold);
}

/* Dual-certificate discovery: the chain each offer got at address @a. */
static json_t *variants_json(const struct readiness_address *a, time_t at)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < a->nvariants; i++) {
		const struct readiness_variant *x = &a->variants[i];
		bool validated = x->validated.ncerts > 0;
		json_t *o =
			json_pack("{s:s, s:s, s:o, s:s, s:I, s:o, s:o}", "variant",
				  x->variant ? x->variant : "?", "outcome",
				  x->outcome ? x->outcome : "unknown", "chain",
				  chain_json(validated ? &x->validated : &x->presented, at),
				  "chain_source", validated ? "validated" : "presented",
				  "presented_length", (json_int_t)x->presented.ncerts, "first_seen",
				  time_str(x->first_seen), "last_seen", time_str(x->last_seen));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* Which chain the app was evaluated against: "ecdsa" when some address
 * gave its platform the ECDSA-only chain, else "default". */
static const char *app_chain_variant(const struct readiness_app_verdict *v,
				     const struct readiness_observed *obs)
{
	const char *var = "default";
	for (size_t i = 0; obs && i < obs->naddrs; i++) {
		const char *x = "default";
		readiness_platform_chain(&obs->addrs[i], v->app->platform, &x);
		if (strcmp(x, "default") != 0)
			var = x;
	}
	return var;
}

json_t *readiness_endpoint_json(const struct readiness_endpoint_verdict *v)
{
	json_t *addrs = json_array();
	const struct readiness_observed *obs = v->obs;
	for (size_t i = 0; addrs && obs && i < obs->naddrs; i++) {
		const struct readiness_address *a = &obs->addrs[i];
		bool validated = a->validated.ncerts > 0;
		json_t *o =
			json_pack("{s:s, s:s, s:o, s:s, s:I, s:o, s:o}", "address", a->address,
				  "outcome", a->outcome ? a->outcome : "unknown", "chain",
				  chain_json(validated ? &a->validated : &a->presented, v->at),
				  "chain_source", validated ? "validated" : "presented",
				  "presented_length", (json_int_t)a->presented.ncerts, "first_seen",
				  time_str(a->first_seen), "last_seen", time_str(a->last_seen));
		/* The presented chain in full only when it is not a prefix of the validated one
		 * (extra, missing or reordered certificates): it is otherwise redundant. */
		bool prefix = validated && a->presented.ncerts <= a->validated.ncerts;
		for (size_t k = 0; prefix && k < a->presented.ncerts; k++)
			prefix = memcmp(a->presented.certs[k].sha256, a->validated.certs[k].sha256,
					32) == 0;
		if (o && validated && !prefix)
			json_object_set_new(o, "presented_chain", chain_json(&a->presented, v->at));
		if (o && a->nvariants)
			json_object_set_new(o, "variants", variants_json(a, v->at));
		json_array_append_new(addrs, o);
	}
	json_t *expiry = json_null();
	if (v->expiry.known)
		expiry = json_pack("{s:o, s:I, s:s?, s:b}", "not_after",
				   time_str(v->expiry.not_after), "days_left",
				   (json_int_t)v->expiry.days_left, "subject", v->expiry.subject,
				   "leaf", v->expiry.leaf);
	json_t *apps = json_array();
	for (size_t i = 0; apps && i < v->napps; i++) {
		json_t *o = app_json(&v->apps[i]);
		if (o)
			json_object_set_new(o, "chain_variant",
					    json_string(app_chain_variant(&v->apps[i], obs)));
		json_array_append_new(apps, o);
	}
	return json_pack("{s:s, s:i, s:s, s:o, s:o, s:o, s:o, s:{s:b, s:b, s:b, s:b, s:b, s:b}}",
			 "host", v->ep->host, "port", v->ep->port, "severity",
			 severity_name(v->severity), "addresses", addrs, "expiry",
			 expiry ? expiry : json_null(), "apps", apps, "reasons",
			 strv_json(&v->reasons), "flags", "pinned", v->pinned, "unprotected",
			 v->unprotected, "drift", v->drift, "disagree", v->disagree, "failing",
			 v->failing, "variants_differ", v->variants_differ);
}

json_t *readiness_report_json(const struct readiness_report *r)
{
	json_t *eps = json_array();
	size_t count[4] = { 0 };
	for (size_t i = 0; eps && i < r->neps; i++) {
		json_array_append_new(eps, readiness_endpoint_json(&r->eps[i]));
		count[r->eps[i].severity]++;
	}
	json_t *fs = json_array();
	for (size_t i = 0; fs && i < r->findings.nfindings; i++) {
		const struct lint_finding *f = &r->findings.findings[i];
		json_array_append_new(fs, json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s}",
						    "kind", f->rule, "severity",
						    severity_name(f->severity), "app", f->app,
						    "version", f->version, "pattern", f->pattern,
						    "endpoint", f->endpoint, "text", f->message));
	}
	return json_pack("{s:o, s:s, s:{s:I, s:I, s:I, s:I}, s:o, s:o}", "at", time_str(r->at),
			 "severity", severity_name(r->worst), "summary", "ok", (json_int_t)count[0],
			 "info", (json_int_t)count[1], "warning", (json_int_t)count[2], "critical",
			 (json_int_t)count[3], "endpoints", eps, "findings", fs);
}

json_t *readiness_whatif_json(const struct readiness_whatif *w, const char *host, int port,
			      double max_stranded, const struct readiness_chain *candidate)
{
	json_t *apps = json_array();
	for (size_t i = 0; apps && i < w->napps; i++) {
		const struct readiness_whatif_app *a = &w->apps[i];
		json_t *o = readiness_scenario_json(&a->candidate);
		if (!o)
			continue;
		json_object_set_new(o, "app", json_string(a->app->name));
		json_object_set_new(o, "reasons", strv_json(&a->reasons));
		json_object_set_new(
			o, "exceeds",
			json_boolean(a->candidate.stranded_share > max_stranded + 1e-9));
		json_object_set_new(o, "current",
				    a->current.evaluated ? readiness_scenario_json(&a->current)
							 : json_null());
		json_array_append_new(apps, o);
	}
	json_t *o = json_pack("{s:s, s:i, s:o, s:o, s:f, s:o, s:b, s:o}", "host", host, "port",
			      port, "at", time_str(w->at), "candidate",
			      chain_json(candidate, w->at), "max_stranded", max_stranded,
			      "max_stranded_share", share(w->max_stranded), "risk",
			      w->max_stranded > max_stranded + 1e-9, "apps", apps);
	if (o)
		json_object_set_new(o, "max_unknown_share", share(w->max_unknown));
	return o;
}
