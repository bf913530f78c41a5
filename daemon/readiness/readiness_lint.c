/* Readiness engine: adoption forecast and app-level findings (stale pins,
 * single-pin and no-backup releases, patterns that match no endpoint).
 * Pure (see readiness.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readiness/readiness.h"
#include "readiness/readiness_int.h"
#include "base/util.h"

#define FORECAST_MAX_SAMPLES  8
#define FORECAST_HORIZON_DAYS (3 * 366)

static int time_cmp(const void *a, const void *b)
{
	time_t x = *(const time_t *)a, y = *(const time_t *)b;
	return x < y ? -1 : x > y;
}

/* Key-rotation surviving share of the app at @d with the given survival flags. */
static double surviving_at(const struct rd_appcov *ac, const bool *survive, time_t d)
{
	double stranded = 0, known = 0;
	bool unknown_at_risk = false;
	const struct app *a = ac->app;
	for (size_t v = 0; v < a->nversions; v++) {
		const struct adoption_sample *s = model_latest_adoption(&a->versions[v], d);
		if (s)
			known += s->share;
	}
	for (size_t j = 0; j < ac->n; j++) {
		if (survive[j])
			continue;
		const struct adoption_sample *s = model_latest_adoption(ac->vers[j].v, d);
		if (s)
			stranded += s->share;
		else
			unknown_at_risk = true;
	}
	/* 1 - stranded - unknown, as scenario_fill() computes it */
	double unknown = unknown_at_risk && known < 1.0 ? 1.0 - known : 0.0;
	double r = 1.0 - (stranded > 1.0 ? 1.0 : stranded) - unknown;
	return r < 0 ? 0 : r > 1 ? 1 : r;
}

void rd_forecast(const struct rd_appcov *ac, const bool *survive, const struct readiness_opts *o,
		 struct readiness_forecast *out)
{
	memset(out, 0, sizeof(*out));
	time_t dates[FORECAST_MAX_SAMPLES];
	size_t nd = 0;
	time_t from = o->at - (time_t)o->forecast_window_s;
	const struct app *a = ac->app;

	/* The most recent distinct sample dates of any version of the app. */
	for (size_t v = 0; v < a->nversions; v++) {
		const struct app_version *ver = &a->versions[v];
		for (size_t s = 0; s < ver->nadoption; s++) {
			time_t t = ver->adoption[s].at_time;
			if (t > o->at || t < from)
				continue;
			bool dup = false;
			for (size_t k = 0; k < nd && !dup; k++)
				dup = dates[k] == t;
			if (dup)
				continue;
			if (nd < FORECAST_MAX_SAMPLES) {
				dates[nd++] = t;
			} else {
				size_t oldest = 0;
				for (size_t k = 1; k < nd; k++)
					if (dates[k] < dates[oldest])
						oldest = k;
				if (t > dates[oldest])
					dates[oldest] = t;
			}
		}
	}
	qsort(dates, nd, sizeof(dates[0]), time_cmp);
	out->nsamples = nd;
	if (nd < 3) {
		snprintf(out->basis, sizeof(out->basis),
			 "not enough data (%zu adoption sample date%s in the last %lld days, 3 "
			 "needed)",
			 nd, nd == 1 ? "" : "s", (long long)(o->forecast_window_s / 86400));
		return;
	}
	double xs[FORECAST_MAX_SAMPLES], ys[FORECAST_MAX_SAMPLES], mx = 0, my = 0;
	for (size_t k = 0; k < nd; k++) {
		xs[k] = (double)(dates[k] - dates[0]) / 86400.0;
		ys[k] = surviving_at(ac, survive, dates[k]);
		mx += xs[k];
		my += ys[k];
	}
	mx /= (double)nd;
	my /= (double)nd;
	double sxx = 0, sxy = 0;
	for (size_t k = 0; k < nd; k++) {
		sxx += (xs[k] - mx) * (xs[k] - mx);
		sxy += (xs[k] - mx) * (ys[k] - my);
	}
	char d0[16], d1[16];
	util_fmt_date(dates[0], d0, sizeof(d0));
	util_fmt_date(dates[nd - 1], d1, sizeof(d1));
	double slope = sxx > 0 ? sxy / sxx : 0;
	double thr = a->adoption_threshold;
	if (slope <= 1e-7) {
		snprintf(out->basis, sizeof(out->basis),
			 "linear fit on %zu samples %s..%s: the surviving share is not rising "
			 "(%.1f%% -> %.1f%%)",
			 nd, d0, d1, ys[0] * 100, ys[nd - 1] * 100);
		return;
	}
	double days = mx + (thr - my) / slope; /* x where the line reaches thr */
	double until = days - xs[nd - 1] - (double)(o->at - dates[nd - 1]) / 86400.0;
	if (until > FORECAST_HORIZON_DAYS) {
		snprintf(
			out->basis, sizeof(out->basis),
			"linear fit on %zu samples %s..%s: +%.2f points/day reaches %.0f%% only in "
			"more than 3 years",
			nd, d0, d1, slope * 100, thr * 100);
		return;
	}
	if (until < 0)
		until = 0;
	out->available = true;
	out->date = o->at + (time_t)ceil(until) * 86400;
	out->date -= out->date % 86400;
	snprintf(out->basis, sizeof(out->basis),
		 "linear fit on %zu samples %s..%s: surviving share %.1f%% -> %.1f%%, +%.2f "
		 "points/day",
		 nd, d0, d1, ys[0] * 100, ys[nd - 1] * 100, slope * 100);
}

/* ---- Findings --------------------------------------------------------- */

static int add_finding(struct readiness_report *r, size_t *cap, enum readiness_finding_kind k,
		       enum readiness_severity sev, const struct app *a,
		       const struct app_version *v, const struct pin_policy *p, const char *fmt,
		       ...) __attribute__((format(printf, 8, 9)));

static int add_finding(struct readiness_report *r, size_t *cap, enum readiness_finding_kind k,
		       enum readiness_severity sev, const struct app *a,
		       const struct app_version *v, const struct pin_policy *p, const char *fmt,
		       ...)
{
	if (r->nfindings >= 100000)
		return 0; /* hard cap: a report of findings, not a memory sink */
	if (r->nfindings == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct readiness_finding *nf = realloc(r->findings, nc * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		r->findings = nf;
		*cap = nc;
	}
	va_list ap;
	va_start(ap, fmt);
	char *text = NULL;
	int rc = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -ENOMEM;
	r->findings[r->nfindings++] = (struct readiness_finding){ k, sev, a, v, p, text };
	return 0;
}

static const struct app_version *newest_release(const struct app *a)
{
	const struct app_version *best = NULL;
	for (size_t i = 0; i < a->nversions; i++) {
		const struct app_version *v = &a->versions[i];
		if (!best || strcmp(v->released, best->released) >= 0)
			best = v;
	}
	return best;
}

static const struct readiness_pin_seen *seen_of(const struct readiness_observed *o,
						const uint8_t pin[32])
{
	for (size_t i = 0; i < o->nseen; i++)
		if (memcmp(o->seen[i].pin, pin, 32) == 0)
			return &o->seen[i];
	return NULL;
}

/* Stale pins: walk each observed endpoint's candidate policies through the
 * index (suffix lookups) instead of matching every endpoint against every
 * policy; only policies of each app's newest release are tracked. */
static int stale_pins(const struct readiness_index *idx, const struct readiness_observations *obs,
		      const struct readiness_opts *o, const size_t *hlen,
		      struct readiness_report *r, size_t *cap)
{
	const struct inventory *inv = idx->inv;
	time_t since = o->at - (time_t)o->stale_after_s;
	char ps[32], d[16];
	int rc = 0;
	size_t ne = idx->nentries, npins = 0;
	size_t *off = calloc(ne + 1, sizeof(*off));
	size_t *ncov = calloc(ne ? ne : 1, sizeof(*ncov));
	const struct app_version **newest = calloc(inv->napps ? inv->napps : 1, sizeof(*newest));
	if (!off || !ncov || !newest) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t a = 0; a < inv->napps; a++)
		newest[a] = newest_release(&inv->apps[a]);
	for (size_t i = 0; i < ne; i++) {
		const struct rd_entry *en = &idx->entries[i];
		const struct app_version *v = &inv->apps[en->app].versions[en->ver];
		off[i] = npins;
		if (v == newest[en->app] && readiness_policy_enforces(&v->policies[en->pol], o->at))
			npins += v->policies[en->pol].npins;
	}
	off[ne] = npins;
	time_t *last = calloc(npins ? npins : 1, sizeof(*last));
	bool *recent = calloc(npins ? npins : 1, sizeof(*recent));
	if (!last || !recent) {
		free(last);
		free(recent);
		rc = -ENOMEM;
		goto out;
	}
	for (size_t e = 0; obs && e < inv->nendpoints && e < obs->neps; e++) {
		const struct readiness_observed *ob = &obs->eps[e];
		if (!ob->history_since || ob->history_since > since)
			continue; /* not observed long enough to call anything stale */
		const char *host = inv->endpoints[e].host;
		for (const char *s = host; s && *s;) {
			const struct rd_bucket *b =
				rd_bucket_find(idx, s, hlen[e] - (size_t)(s - host));
			for (size_t k = 0; b && k < b->n; k++) {
				size_t i = b->idx[k];
				if (off[i + 1] == off[i])
					continue; /* not a tracked policy */
				const struct rd_entry *en = &idx->entries[i];
				const struct pin_policy *pol =
					&inv->apps[en->app].versions[en->ver].policies[en->pol];
				struct rd_pat pat;
				rd_pat_init(&pat, pol->pattern, pol->include_subdomains);
				if (!rd_covers(&pat, host, hlen[e]))
					continue;
				ncov[i]++;
				for (size_t j = 0; j < pol->npins; j++) {
					const struct readiness_pin_seen *sn =
						seen_of(ob, pol->pins[j].sha256);
					if (!sn)
						continue;
					if (sn->last_seen > last[off[i] + j])
						last[off[i] + j] = sn->last_seen;
					if (sn->last_seen >= since)
						recent[off[i] + j] = true;
				}
			}
			s = strchr(s, '.');
			if (s)
				s++;
		}
	}
	for (size_t i = 0; i < ne && !rc; i++) {
		if (off[i + 1] == off[i] || ncov[i] == 0)
			continue;
		const struct rd_entry *en = &idx->entries[i];
		const struct app *app = &inv->apps[en->app];
		const struct app_version *v = &app->versions[en->ver];
		const struct pin_policy *pol = &v->policies[en->pol];
		for (size_t j = 0; j < pol->npins && !rc; j++) {
			if (pol->pins[j].role != PIN_CURRENT || recent[off[i] + j])
				continue; /* a backup is meant to be unseen */
			time_t l = last[off[i] + j];
			rc = add_finding(
				r, cap, READINESS_FIND_STALE_PIN, READINESS_INFO, app, v, pol,
				"Pin %s of %s %s (pattern %s) matched no chain of its %zu "
				"covered endpoint%s for %lld days (last seen %s): safe to drop "
				"in the next release.",
				readiness_pin_short(pol->pins[j].sha256, ps, sizeof(ps)), app->name,
				v->version, pol->pattern, ncov[i], ncov[i] == 1 ? "" : "s",
				(long long)(o->stale_after_s / 86400),
				l ? util_fmt_date(l, d, sizeof(d)) : "never");
		}
	}
	free(last);
	free(recent);
out:
	free(off);
	free(ncov);
	free(newest);
	return rc;
}

static int pin_lint(const struct inventory *inv, const struct readiness_opts *o,
		    struct readiness_report *r, size_t *cap)
{
	char ps[32];
	for (size_t a = 0; a < inv->napps; a++) {
		const struct app *app = &inv->apps[a];
		const struct app_version *newest = newest_release(app);
		for (size_t vi = 0; vi < app->nversions; vi++) {
			const struct app_version *v = &app->versions[vi];
			enum readiness_severity sev =
				v == newest ? READINESS_WARNING : READINESS_INFO;
			for (size_t p = 0; p < v->npolicies; p++) {
				const struct pin_policy *pol = &v->policies[p];
				if (!readiness_policy_enforces(pol, o->at))
					continue;
				int rc = 0;
				bool backup = false;
				for (size_t k = 0; k < pol->npins; k++)
					backup |= pol->pins[k].role == PIN_BACKUP;
				if (pol->npins == 1)
					rc = add_finding(
						r, cap, READINESS_FIND_SINGLE_PIN, sev, app, v, pol,
						"%s %s enforces a single pin (%s) for %s: any "
						"change of that key strands it; ship a backup pin.",
						app->name, v->version,
						readiness_pin_short(pol->pins[0].sha256, ps,
								    sizeof(ps)),
						pol->pattern);
				else if (!backup)
					rc = add_finding(
						r, cap, READINESS_FIND_NO_BACKUP, sev, app, v, pol,
						"%s %s pins %s with %zu pins and none of them is a "
						"backup: a key rotation or CA change strands it.",
						app->name, v->version, pol->pattern, pol->npins);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

static int unused_patterns(const struct readiness_index *idx, const size_t *hlen,
			   struct readiness_report *r, size_t *cap)
{
	const struct inventory *inv = idx->inv;
	int rc = 0;
	for (size_t i = 0; i < idx->nentries && !rc; i++) {
		const struct rd_entry *en = &idx->entries[i];
		const struct app *app = &inv->apps[en->app];
		const struct pin_policy *p = &app->versions[en->ver].policies[en->pol];
		/* Each (app, pattern, include_subdomains) once; entries are in app order. */
		bool dup = false;
		for (size_t j = i; j-- > 0 && idx->entries[j].app == en->app && !dup;) {
			const struct rd_entry *o = &idx->entries[j];
			const struct pin_policy *q = &app->versions[o->ver].policies[o->pol];
			dup = q->include_subdomains == p->include_subdomains &&
			      strcmp(q->pattern, p->pattern) == 0;
		}
		if (dup)
			continue;
		bool used = false;
		struct rd_pat pat;
		rd_pat_init(&pat, p->pattern, p->include_subdomains);
		for (size_t e = 0; e < inv->nendpoints && !used; e++)
			used = rd_covers(&pat, inv->endpoints[e].host, hlen[e]);
		if (used)
			continue;
		rc = add_finding(
			r, cap, READINESS_FIND_PATTERN_UNUSED, READINESS_INFO, app, NULL, p,
			"Pattern %s%s of %s matches no inventoried endpoint: a wrong "
			"domain mapping, or an endpoint missing from the inventory.",
			p->pattern, p->include_subdomains ? " (with subdomains)" : "", app->name);
	}
	return rc;
}

int rd_findings(const struct readiness_index *idx, const struct readiness_observations *obs,
		const struct readiness_opts *o, struct readiness_report *r)
{
	size_t cap = 0;
	const struct inventory *inv = idx->inv;
	size_t *hlen = calloc(inv->nendpoints ? inv->nendpoints : 1, sizeof(*hlen));
	if (!hlen)
		return -ENOMEM;
	for (size_t e = 0; e < inv->nendpoints; e++)
		hlen[e] = strlen(inv->endpoints[e].host);
	int rc = stale_pins(idx, obs, o, hlen, r, &cap);
	if (!rc)
		rc = pin_lint(inv, o, r, &cap);
	if (!rc)
		rc = unused_patterns(idx, hlen, r, &cap);
	free(hlen);
	return rc;
}
