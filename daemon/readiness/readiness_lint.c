/* Readiness engine: adoption forecast and the rule stale_pin of the rule
 * table (lint.h). Pure (see readiness.h). */
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

/* ---- Rule stale_pin (lint.h) ----------------------------------------- */

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
int rd_rule_stale_pin(struct lint_ctx *c)
{
	const struct readiness_index *idx = c->in->idx;
	const struct readiness_observations *obs = c->in->obs;
	const struct readiness_opts *o = c->in->opts;
	if (!idx || !obs || !o)
		return 0;
	const struct inventory *inv = idx->inv;
	time_t since = o->at - (time_t)o->stale_after_s;
	char ps[32], d[16];
	int rc = 0;
	size_t ne = idx->nentries, npins = 0;
	size_t *off = calloc(ne + 1, sizeof(*off));
	size_t *ncov = calloc(ne ? ne : 1, sizeof(*ncov));
	size_t *hlen = calloc(inv->nendpoints ? inv->nendpoints : 1, sizeof(*hlen));
	const struct app_version **newest = calloc(inv->napps ? inv->napps : 1, sizeof(*newest));
	time_t *last = NULL;
	bool *recent = NULL;
	if (!off || !ncov || !hlen || !newest) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t e = 0; e < inv->nendpoints; e++)
		hlen[e] = strlen(inv->endpoints[e].host);
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
	last = calloc(npins ? npins : 1, sizeof(*last));
	recent = calloc(npins ? npins : 1, sizeof(*recent));
	if (!last || !recent) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t e = 0; e < inv->nendpoints && e < obs->neps; e++) {
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
			rc = lint_add(
				c, app, v, pol, NULL,
				"Pin %s of %s %s (pattern %s) matched no chain of its %zu "
				"covered endpoint%s for %lld days (last seen %s): safe to drop "
				"in the next release.",
				readiness_pin_short(pol->pins[j].sha256, ps, sizeof(ps)), app->name,
				v->version, pol->pattern, ncov[i], ncov[i] == 1 ? "" : "s",
				(long long)(o->stale_after_s / 86400),
				l ? util_fmt_date(l, d, sizeof(d)) : "never");
		}
	}
out:
	free(last);
	free(recent);
	free(off);
	free(ncov);
	free(hlen);
	free(newest);
	return rc;
}
