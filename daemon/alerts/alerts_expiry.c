/* certificate_expiring: the earliest notAfter of the chains an endpoint's
 * addresses serve, for every enabled endpoint whether or not an app pins it,
 * with the endpoint's rotation_not_ready merged into it (one page per
 * certificate). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alerts/alerts.h"
#include "base/config.h"
#include "base/expiry.h"
#include "base/util.h"
#include "model/model.h"
#include "readiness/readiness.h"

/* Addresses named in a summary; the details list them all. */
#define SUMMARY_ADDRS 4

struct earliest {
	const struct readiness_cert *cert;
	const char *role; /* "leaf", "intermediate", "root" */
};

/* The chain an address is judged by: the validated one, else what was presented. */
static const struct readiness_chain *served_chain(const struct readiness_address *a,
						  bool *validated)
{
	*validated = a->validated.ncerts > 0;
	return *validated ? &a->validated : &a->presented;
}

static const char *cert_role(const struct readiness_chain *ch, size_t j)
{
	const struct readiness_cert *c = &ch->certs[j];
	if (j == 0)
		return "leaf";
	if (c->subject && c->issuer && !strcmp(c->subject, c->issuer))
		return "root";
	return "intermediate";
}

/* The certificate of @ch that expires first; the trust anchor that completes
 * a validated chain is left out (clients do not judge an anchor by its dates). */
static struct earliest chain_earliest(const struct readiness_chain *ch, bool validated)
{
	struct earliest e = { NULL, NULL };
	size_t n = ch->ncerts;
	if (validated && n > 1)
		n--;
	for (size_t j = 0; j < n; j++) {
		const struct readiness_cert *c = &ch->certs[j];
		if (!c->not_after || (e.cert && c->not_after >= e.cert->not_after))
			continue;
		e.cert = c;
		e.role = cert_role(ch, j);
	}
	return e;
}

/* Whether @ch still carries @old: the same certificate, or one of the same
 * subject and issuer that expires no later than a day after it (edges of one
 * name may hold copies issued separately); a renewed one expires later. */
static bool chain_has(const struct readiness_chain *ch, const struct readiness_cert *old)
{
	for (size_t j = 0; j < ch->ncerts; j++) {
		const struct readiness_cert *c = &ch->certs[j];
		if (!memcmp(c->sha256, old->sha256, 32))
			return true;
		if (c->subject && old->subject && c->issuer && old->issuer &&
		    !strcmp(c->subject, old->subject) && !strcmp(c->issuer, old->issuer) &&
		    c->not_after && c->not_after < old->not_after + 86400)
			return true;
	}
	return false;
}

/* "a, b, c and 2 more" of the JSON string array @arr into @buf. */
static const char *name_list(json_t *arr, char *buf, size_t len)
{
	size_t n = json_array_size(arr), off = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n && i < SUMMARY_ADDRS; i++) {
		int w = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
				 json_string_value(json_array_get(arr, i)));
		if (w < 0 || (size_t)w >= len - off)
			return buf;
		off += (size_t)w;
	}
	if (n > SUMMARY_ADDRS)
		snprintf(buf + off, len - off, " and %zu more", n - SUMMARY_ADDRS);
	return buf;
}

static void when_text(int64_t days, const char *date, char *buf, size_t len)
{
	if (days < 0)
		snprintf(buf, len, "expired on %s", date);
	else if (days == 0)
		snprintf(buf, len, "expires within a day (%s)", date);
	else
		snprintf(buf, len, "expires in %lld day%s (%s)", (long long)days,
			 days == 1 ? "" : "s", date);
}

/* Merge the rotation_not_ready conditions of @ep in out->v[first..n-1) into
 * the expiring condition out->v[self]. */
static int merge_rotation(const struct readiness_endpoint_verdict *ev, struct alerts_condv *out,
			  size_t first, size_t self, json_t *apps, char *text, size_t textlen)
{
	size_t off = 0;
	text[0] = 0;
	for (size_t i = first; i < out->n; i++) {
		struct alert_cond *r = &out->v[i], *x = &out->v[self];
		if (i == self || r->kind != ALERT_ROTATION_NOT_READY ||
		    r->endpoint_id != x->endpoint_id)
			continue;
		r->quiet = true;
		if (r->severity > x->severity)
			x->severity = r->severity;
		json_t *d = r->details;
		const char *app = NULL;
		for (size_t k = 0; k < ev->napps && !app; k++)
			if (ev->apps[k].app && ev->apps[k].app->id == r->app_id)
				app = ev->apps[k].app->name;
		double stranded = json_real_value(json_object_get(d, "stranded_share"));
		json_object_set_new(d, "paged_by", json_string(x->fingerprint));
		json_t *reasons = json_object_get(d, "reasons");
		if (json_is_array(reasons))
			json_array_insert_new(
				reasons, 0,
				json_sprintf("Notified as %s (certificate_expiring): one page per "
					     "certificate.",
					     x->fingerprint));
		json_array_append_new(apps, json_pack("{s:s?, s:s, s:s, s:f, s:O?}", "app", app,
						      "fingerprint", r->fingerprint, "severity",
						      severity_name(r->severity), "stranded_share",
						      stranded, "surviving_share",
						      json_object_get(d, "surviving_share")));
		if (off < textlen) {
			int w = snprintf(text + off, textlen - off, "%s%s (%.1f%% stranded)",
					 off ? ", " : "", app ? app : "?", stranded * 100.0);
			if (w > 0)
				off += (size_t)w;
		}
	}
	return 0;
}

int alerts_conds_expiry(const struct readiness_endpoint_verdict *ev, const struct config *cfg,
			struct alerts_condv *out, size_t first)
{
	const struct endpoint *ep = ev->ep;
	const struct readiness_observed *obs = ev->obs;
	struct earliest worst = { NULL, NULL };

	if (!ep || !ep->enabled || !obs)
		return 0;
	for (size_t i = 0; i < obs->naddrs; i++) {
		bool validated;
		const struct readiness_chain *ch = served_chain(&obs->addrs[i], &validated);
		struct earliest e = chain_earliest(ch, validated);
		if (e.cert && (!worst.cert || e.cert->not_after < worst.cert->not_after))
			worst = e;
	}
	if (!worst.cert)
		return 0;
	int64_t days = expiry_days_left(worst.cert->not_after, ev->at);
	enum severity sev = expiry_level(days, cfg->alerts_expiry_days);
	if (sev == SEVERITY_OK)
		return 0;

	/* Every address with its own earliest certificate; those still serving the
	 * expiring one are named when others serve another chain. */
	json_t *addrs = json_array(), *stale = json_array(), *renewed = json_array();
	char d[16], t[32], hex[65];
	for (size_t i = 0; addrs && stale && renewed && i < obs->naddrs; i++) {
		const struct readiness_address *a = &obs->addrs[i];
		bool validated;
		const struct readiness_chain *ch = served_chain(a, &validated);
		if (!ch->ncerts)
			continue;
		struct earliest e = chain_earliest(ch, validated);
		bool has = chain_has(ch, worst.cert);
		json_array_append_new(has ? stale : renewed, json_string(a->address));
		json_array_append_new(
			addrs,
			json_pack(
				"{s:s, s:b, s:s?, s:s?, s:o, s:o}", "address", a->address,
				"serves_expiring", has, "subject", e.cert ? e.cert->subject : NULL,
				"role", e.role, "not_after",
				e.cert ? json_string(util_fmt_time(e.cert->not_after, t, sizeof(t)))
				       : json_null(),
				"days_left",
				e.cert ? json_integer(expiry_days_left(e.cert->not_after, ev->at))
				       : json_null()));
	}
	struct alert_cond *c = alerts_condv_push(out);
	if (!c || !addrs || !stale || !renewed) {
		json_decref(addrs);
		json_decref(stale);
		json_decref(renewed);
		return -ENOMEM;
	}
	size_t self = out->n - 1;
	c->kind = ALERT_CERTIFICATE_EXPIRING;
	c->endpoint_id = ep->id;
	c->severity = sev;
	if (alerts_fingerprint(c->kind, ep->host, ep->port, NULL, c->fingerprint,
			       sizeof(c->fingerprint))) {
		json_decref(addrs);
		json_decref(stale);
		json_decref(renewed);
		return -ENOSPC;
	}
	int threshold = expiry_threshold(days, cfg->alerts_expiry_days);
	char stage[96];
	util_hex(worst.cert->sha256, 8, hex);
	snprintf(stage, sizeof(stage), "%d:%s", threshold, hex);
	json_t *th = json_array();
	for (int i = 0; th && i < EXPIRY_THRESHOLDS_MAX && cfg->alerts_expiry_days[i] > 0; i++)
		json_array_append_new(th, json_integer(cfg->alerts_expiry_days[i]));
	util_fmt_date(worst.cert->not_after, d, sizeof(d));
	util_hex(worst.cert->sha256, 32, hex);
	c->details = json_pack(
		"{s:{s:s?, s:s?, s:s, s:s, s:s, s:I}, s:I, s:I, s:s, s:i, s:o, s:s, s:o, s:o, "
		"s:o, s:[]}",
		"certificate", "subject", worst.cert->subject, "issuer", worst.cert->issuer, "role",
		worst.role, "not_after", util_fmt_time(worst.cert->not_after, t, sizeof(t)),
		"sha256", hex, "days_left", (json_int_t)days, "days_left", (json_int_t)days,
		"expiry_days", (json_int_t)days, "not_after", d, "threshold_days", threshold,
		"thresholds", th ? th : json_array(), "stage", stage, "addresses", addrs,
		"stale_addresses", stale, "renewed_addresses", renewed, "reasons");
	if (!c->details)
		return -ENOMEM;

	char when[64], names[300], others[300], rot[400];
	when_text(days, d, when, sizeof(when));
	json_t *reasons = json_object_get(c->details, "reasons");
	json_array_append_new(reasons,
			      json_sprintf("The %s certificate %s (issued by %s) %s.", worst.role,
					   worst.cert->subject ? worst.cert->subject : "?",
					   worst.cert->issuer ? worst.cert->issuer : "?", when));
	bool partial = json_array_size(renewed) > 0;
	if (partial)
		json_array_append_new(reasons,
				      json_sprintf("%s still serve%s it; %s serve%s another chain.",
						   name_list(stale, names, sizeof(names)),
						   json_array_size(stale) == 1 ? "s" : "",
						   name_list(renewed, others, sizeof(others)),
						   json_array_size(renewed) == 1 ? "s" : ""));
	json_t *apps = json_array();
	if (!apps || merge_rotation(ev, out, first, self, apps, rot, sizeof(rot)))
		return -ENOMEM;
	c = &out->v[self];
	json_object_set_new(c->details, "rotation_not_ready", apps);
	if (rot[0])
		json_array_append_new(
			reasons, json_sprintf("The rotation it needs is not ready: a key rotation "
					      "would strand users of %s (rotation_not_ready).",
					      rot));
	int n = snprintf(c->summary, sizeof(c->summary), "%s:%d: %s certificate %s %s", ep->host,
			 ep->port, worst.role, worst.cert->subject ? worst.cert->subject : "?",
			 when);
	if (partial && n > 0 && (size_t)n < sizeof(c->summary))
		n += snprintf(c->summary + n, sizeof(c->summary) - (size_t)n,
			      "; still served by %s after the other addresses renewed", names);
	if (rot[0] && n > 0 && (size_t)n < sizeof(c->summary))
		snprintf(c->summary + n, sizeof(c->summary) - (size_t)n,
			 "; rotation not ready for %s", rot);
	return 0;
}
