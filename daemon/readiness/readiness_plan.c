/* Rotation plans: the seven steps evaluated from the inventory and the
 * observations (see readiness_plan.h). Pure, like the rest of the core. */
#include "readiness/readiness_plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "readiness/readiness_int.h"
#include "readiness/readiness_json.h"

#define TODAY_MAX 128 /* distinct keys of today's chains considered */
#define NAMED_MAX 6   /* versions named in one sentence */

static const char *const status_names[] = { "waiting", "ready", "rolling_out", "completed",
					    "cancelled" };
static const char *const step_names[READINESS_PLAN_STEPS] = { "inventory", "pins",    "staging",
							      "prepared",  "release", "adoption",
							      "cleanup" };

const char *readiness_plan_status_name(enum readiness_plan_status s)
{
	return (unsigned)s < ARRAY_SIZE(status_names) ? status_names[s] : "unknown";
}

static bool chain_has(const struct readiness_chain *c, const uint8_t pin[32])
{
	for (size_t i = 0; c && i < c->ncerts; i++)
		if (!memcmp(c->certs[i].pin, pin, 32))
			return true;
	return false;
}

/* The key an address must present as its leaf to "present the plan". */
static bool planned_leaf(const struct readiness_plan_in *in, const uint8_t pin[32])
{
	if (in->from_chain)
		return !memcmp(in->planned->certs[0].pin, pin, 32);
	return chain_has(in->planned, pin);
}

static const struct readiness_cert *addr_leaf(const struct readiness_address *a)
{
	if (a->presented.ncerts)
		return &a->presented.certs[0];
	return a->validated.ncerts ? &a->validated.certs[0] : NULL;
}

struct keyset {
	uint8_t k[TODAY_MAX][32];
	size_t n;
};

static bool keyset_has(const struct keyset *s, const uint8_t pin[32])
{
	for (size_t i = 0; i < s->n; i++)
		if (!memcmp(s->k[i], pin, 32))
			return true;
	return false;
}

static void keyset_add_chain(struct keyset *s, const struct readiness_chain *c)
{
	for (size_t i = 0; c && i < c->ncerts; i++)
		if (!keyset_has(s, c->certs[i].pin) && s->n < TODAY_MAX)
			memcpy(s->k[s->n++], c->certs[i].pin, 32);
}

/* Whether an enforcing winning policy of @c carries a pin for which @pred holds. */
static bool cov_pins(const struct rd_cov *c, bool (*pred)(const uint8_t *, const void *),
		     const void *arg)
{
	for (size_t k = 0; k < c->npol; k++) {
		if (!c->pol_enf[k])
			continue;
		for (size_t p = 0; p < c->pol[k]->npins; p++)
			if (pred(c->pol[k]->pins[p].sha256, arg))
				return true;
	}
	return false;
}

static bool pred_planned(const uint8_t *pin, const void *arg)
{
	return chain_has(((const struct readiness_plan_in *)arg)->planned, pin);
}

static bool pred_today(const uint8_t *pin, const void *arg)
{
	return keyset_has(arg, pin);
}

struct spare_arg {
	const struct keyset *today;
	const struct readiness_plan_in *in;
};

static bool pred_spare(const uint8_t *pin, const void *arg)
{
	const struct spare_arg *s = arg;
	return !keyset_has(s->today, pin) && !chain_has(s->in->planned, pin);
}

/* "4.3.0 (31.0%), 4.4.0 (no adoption figure)" for the versions of @ac that
 * satisfy @want; the number of them into *n. */
static void name_versions(struct strbuf *sb, const struct rd_appcov *ac, const bool *want,
			  size_t *n)
{
	*n = 0;
	for (size_t j = 0; j < ac->n; j++) {
		if (!want[j])
			continue;
		if (*n < NAMED_MAX) {
			rd_sb_add(sb, "%s%s (", *n ? ", " : "", ac->vers[j].v->version);
			if (ac->vers[j].known)
				rd_sb_pct(sb, ac->vers[j].share);
			else
				rd_sb_str(sb, "no adoption figure");
			rd_sb_str(sb, ")");
		}
		(*n)++;
	}
	if (*n > NAMED_MAX)
		rd_sb_add(sb, " and %zu more", *n - NAMED_MAX);
}

static int add(struct readiness_plan_step *st, struct strbuf *sb)
{
	return rd_sb_push(&st->evidence, sb);
}

/* Steps 2 and 5: every app pinning the host has a version whose enforcing pins
 * satisfy @p1 (and @p2 when given). */
static int step_versions(struct readiness_plan_step *st, const struct rd_hostcov *hc,
			 bool (*p1)(const uint8_t *, const void *), const void *a1,
			 bool (*p2)(const uint8_t *, const void *), const void *a2,
			 const char *what, const char *missing)
{
	size_t pinning = 0, ok = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < hc->napps; i++) {
		const struct rd_appcov *ac = &hc->apps[i];
		if (!ac->nenforcing)
			continue;
		pinning++;
		bool *want = calloc(ac->n ? ac->n : 1, sizeof(*want));
		if (!want)
			return -ENOMEM;
		for (size_t j = 0; j < ac->n; j++)
			want[j] = ac->vers[j].enforcing && cov_pins(&ac->vers[j], p1, a1) &&
				  (!p2 || cov_pins(&ac->vers[j], p2, a2));
		struct strbuf sb = rd_sb_new();
		size_t n;
		rd_sb_add(&sb, "%s: %s: ", ac->app->name, what);
		name_versions(&sb, ac, want, &n);
		free(want);
		if (n) {
			ok++;
			rd_sb_str(&sb, ".");
		} else {
			strbuf_reset(&sb);
			rd_sb_add(&sb, "%s: no version %s.", ac->app->name, missing);
		}
		rc = add(st, &sb);
	}
	st->done = ok == pinning;
	if (rc == 0 && pinning == 0)
		rc = readiness_strv_add(&st->evidence, "No app pins this host: nothing to ship.");
	return rc;
}

static int step_inventory(struct readiness_plan_state *s, const struct readiness_plan_in *in)
{
	struct readiness_plan_step *st = &s->steps[0];
	st->done = s->inventoried && s->naddrs > 0;
	if (!s->inventoried)
		return readiness_strv_add(&st->evidence,
					  "%s:%d is not an inventoried endpoint: add it "
					  "(pinwatch endpoint add) so that pinwatch probes it.",
					  in->host, in->port);
	if (!s->naddrs)
		return readiness_strv_add(&st->evidence,
					  "%s:%d is inventoried but has not been probed yet.",
					  in->host, in->port);
	return readiness_strv_add(&st->evidence, "%s:%d is inventoried; %zu address%s probed.",
				  in->host, in->port, s->naddrs, s->naddrs == 1 ? "" : "es");
}

static int step_staging(struct readiness_plan_state *s, const struct readiness_index *idx,
			const struct readiness_observations *obs,
			const struct readiness_plan_in *in)
{
	struct readiness_plan_step *st = &s->steps[2];
	const struct inventory *inv = idx->inv;
	for (size_t j = 0; obs && j < inv->nendpoints && j < obs->neps; j++) {
		const struct endpoint *e = &inv->endpoints[j];
		if (!e->environment || !strcmp(e->environment, "production"))
			continue;
		for (size_t a = 0; a < obs->eps[j].naddrs; a++) {
			const struct readiness_cert *leaf = addr_leaf(&obs->eps[j].addrs[a]);
			if (!leaf || !planned_leaf(in, leaf->pin))
				continue;
			st->done = true;
			return readiness_strv_add(
				&st->evidence,
				"%s:%d (%s) presents the planned key at %s: test a build that pins "
				"it against this endpoint.",
				e->host, e->port, e->environment, obs->eps[j].addrs[a].address);
		}
	}
	return readiness_strv_add(&st->evidence,
				  "No non-production endpoint presents the planned key yet: deploy "
				  "it to staging and test a protected build there first.");
}

static int step_prepared(struct readiness_plan_state *s, const struct readiness_observed *ob,
			 const struct rd_hostcov *hc, const struct keyset *today,
			 const struct readiness_plan_in *in)
{
	struct readiness_plan_step *st = &s->steps[3];
	bool agree = ob && ob->naddrs > 0;
	for (size_t a = 1; agree && a < ob->naddrs; a++)
		agree = rd_same_chain(&ob->addrs[0].presented, &ob->addrs[a].presented);
	int rc;
	if (!ob || !ob->naddrs)
		rc = readiness_strv_add(&st->evidence, "No address has been probed yet.");
	else if (agree)
		rc = readiness_strv_add(&st->evidence,
					"Every address presents the same chain today (%zu "
					"address%s).",
					ob->naddrs, ob->naddrs == 1 ? "" : "es");
	else
		rc = readiness_strv_add(&st->evidence,
					"Addresses present different chains today: make every edge "
					"serve the same chain before rotating.");
	if (rc)
		return rc;
	struct spare_arg sa = { today, in };
	bool spare = false, pinned = false;
	for (size_t i = 0; i < hc->napps; i++)
		for (size_t j = 0; j < hc->apps[i].n; j++)
			if (hc->apps[i].vers[j].enforcing) {
				pinned = true;
				spare = spare || cov_pins(&hc->apps[i].vers[j], pred_spare, &sa);
			}
	if (!pinned)
		rc = readiness_strv_add(&st->evidence,
					"No app pins this host: no spare key needed.");
	else if (spare)
		rc = readiness_strv_add(
			&st->evidence,
			"A spare key (neither today's nor the planned one) is pinned "
			"for disaster recovery.");
	else
		rc = readiness_strv_add(
			&st->evidence,
			"No version pins a spare key besides today's and the planned "
			"one: if the planned key is lost there is no key to move to.");
	st->done = agree && (spare || !pinned);
	return rc;
}

static int step_adoption(struct readiness_plan_state *s, const struct rd_hostcov *hc,
			 const struct readiness_plan_in *in, const struct readiness_opts *o)
{
	struct readiness_plan_step *st = &s->steps[5];
	int rc = 0;
	size_t ready = 0;
	if (s->whatif.napps) {
		s->apps = calloc(s->whatif.napps, sizeof(*s->apps));
		if (!s->apps)
			return -ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < s->whatif.napps; i++) {
		const struct readiness_whatif_app *wa = &s->whatif.apps[i];
		struct readiness_plan_app *pa = &s->apps[s->napps++];
		pa->app = wa->app;
		pa->executed = &wa->candidate;
		const struct rd_appcov *ac = NULL;
		for (size_t k = 0; k < hc->napps && !ac; k++)
			if (hc->apps[k].app == wa->app)
				ac = &hc->apps[k];
		if (wa->candidate.ready) {
			ready++;
			snprintf(pa->forecast.basis, sizeof(pa->forecast.basis), "already ready");
		} else if (ac) {
			bool *surv = calloc(ac->n ? ac->n : 1, sizeof(*surv));
			if (!surv)
				return -ENOMEM;
			/* A planned chain validates like a candidate the gate checked; bare
			 * keys say nothing about the anchor (as in a what-if). */
			struct rd_anchor an = {
				.system = in->from_chain,
				.pin = in->from_chain
					       ? in->planned->certs[in->planned->ncerts - 1].pin
					       : NULL,
			};
			for (size_t j = 0; j < ac->n; j++)
				surv[j] = !ac->vers[j].enforcing ||
					  (rd_flags(&ac->vers[j], in->planned, &an) & RD_F_NOW);
			rd_forecast(ac, surv, o, &pa->forecast);
			free(surv);
		}
		struct strbuf sb = rd_sb_new();
		const struct readiness_scenario *x = &wa->candidate;
		rd_sb_add(&sb, "%s: executing the plan now would strand ", wa->app->name);
		rd_sb_pct(&sb, x->stranded_share);
		if (x->nstranded) {
			rd_sb_str(&sb, " (");
			rd_sb_versions(&sb, x->stranded, x->nstranded);
			rd_sb_str(&sb, ")");
		}
		rd_sb_str(&sb, "; ");
		rd_sb_pct(&sb, x->surviving_share);
		rd_sb_str(&sb, " would survive, ");
		rd_sb_pct(&sb, wa->app->adoption_threshold);
		rd_sb_add(&sb, " needed: %s", x->ready ? "ready." : "not ready");
		if (!x->ready && pa->forecast.available) {
			char d[16];
			rd_sb_add(&sb, "; forecast ready on %s (%s).",
				  util_fmt_date(pa->forecast.date, d, sizeof(d)),
				  pa->forecast.basis);
		} else if (!x->ready) {
			rd_sb_add(&sb, "; no forecast: %s.", pa->forecast.basis);
		}
		rc = add(st, &sb);
	}
	st->done = ready == s->whatif.napps;
	if (rc == 0 && s->whatif.napps == 0)
		rc = readiness_strv_add(&st->evidence,
					"No app pins this host: the plan strands nobody.");
	return rc;
}

static int step_cleanup(struct readiness_plan_state *s, const struct readiness_observed *ob,
			const struct readiness_plan_in *in, const struct readiness_opts *o)
{
	struct readiness_plan_step *st = &s->steps[6];
	long long confirm_d = (long long)(in->confirm_s / 86400);
	if (!s->naddrs || s->npresenting < s->naddrs)
		return readiness_strv_add(&st->evidence,
					  "%zu of %zu address%s present%s the planned key; the old "
					  "keys stay until every address has presented it for %lld "
					  "day%s.",
					  s->npresenting, s->naddrs, s->naddrs == 1 ? "" : "es",
					  s->npresenting == 1 ? "s" : "", confirm_d,
					  confirm_d == 1 ? "" : "s");
	int64_t held = (int64_t)(o->at - s->presenting_since);
	if (held < in->confirm_s)
		return readiness_strv_add(
			&st->evidence,
			"Every address presents the planned key since %lld day%s; "
			"%lld needed before the old keys can go.",
			(long long)(held / 86400), held / 86400 == 1 ? "" : "s", confirm_d);
	st->done = true;
	struct keyset old = { .n = 0 };
	for (size_t a = 0; ob && a < ob->naddrs; a++)
		keyset_add_chain(&old, &ob->addrs[a].previous);
	struct strbuf sb = rd_sb_new();
	rd_sb_add(&sb, "Every address has presented the planned key for %lld days: the old keys",
		  (long long)(held / 86400));
	size_t named = 0;
	for (size_t i = 0; i < old.n; i++) {
		if (chain_has(in->planned, old.k[i]))
			continue;
		char b[24];
		if (named < NAMED_MAX)
			rd_sb_add(&sb, "%s %s", named ? "," : "",
				  readiness_pin_short(old.k[i], b, sizeof(b)));
		named++;
	}
	rd_sb_str(&sb, " can be dropped in a later release.");
	int rc = add(st, &sb);
	for (size_t i = 0; rc == 0 && i < s->napps; i++) {
		const struct readiness_scenario *x = s->apps[i].executed;
		if (!x->nstranded)
			continue;
		strbuf_reset(&sb);
		rd_sb_add(&sb, "%s: still relying on the old keys: ", s->apps[i].app->name);
		rd_sb_versions(&sb, x->stranded, x->nstranded);
		rd_sb_str(&sb, ".");
		rc = add(st, &sb);
	}
	return rc;
}

int readiness_plan_eval(const struct readiness_index *idx, const struct readiness_observations *obs,
			const struct readiness_plan_in *in, const struct readiness_opts *o,
			struct readiness_plan_state *out)
{
	memset(out, 0, sizeof(*out));
	if (!idx || !in || !in->host || !in->planned || !in->planned->ncerts || !o)
		return -EINVAL;
	const struct inventory *inv = idx->inv;
	const struct readiness_observed *ob = NULL;
	for (size_t i = 0; i < inv->nendpoints; i++) {
		if (strcmp(inv->endpoints[i].host, in->host) || inv->endpoints[i].port != in->port)
			continue;
		out->inventoried = true;
		out->ep = &inv->endpoints[i];
		if (obs && i < obs->neps)
			ob = &obs->eps[i];
		break;
	}
	struct keyset *today = calloc(1, sizeof(*today));
	if (!today)
		return -ENOMEM;
	out->naddrs = ob ? ob->naddrs : 0;
	for (size_t a = 0; a < out->naddrs; a++) {
		const struct readiness_address *ad = &ob->addrs[a];
		const struct readiness_cert *leaf = addr_leaf(ad);
		keyset_add_chain(today, rd_eval_chain(ad));
		if (!leaf || !planned_leaf(in, leaf->pin))
			continue;
		out->npresenting++;
		if (ad->first_seen > out->presenting_since)
			out->presenting_since = ad->first_seen;
	}
	if (out->npresenting < out->naddrs)
		out->presenting_since = 0;

	struct rd_hostcov hc = { 0 };
	int rc = readiness_whatif_eval(idx, in->host, in->planned, ob, o->at, &out->whatif);
	if (rc == 0)
		rc = rd_hostcov_build(idx, in->host, o->at, NULL, &hc);
	if (rc == 0)
		rc = step_inventory(out, in);
	if (rc == 0)
		rc = step_versions(&out->steps[1], &hc, pred_planned, in, NULL, NULL,
				   "versions pinning a planned key",
				   "pins a planned key: ship one that does");
	if (rc == 0)
		rc = step_staging(out, idx, obs, in);
	if (rc == 0)
		rc = step_prepared(out, ob, &hc, today, in);
	if (rc == 0)
		rc = step_versions(&out->steps[4], &hc, pred_today, today, pred_planned, in,
				   "versions carrying both today's and a planned key",
				   "carries both today's and a planned key: release one before "
				   "rotating");
	if (rc == 0)
		rc = step_adoption(out, &hc, in, o);
	if (rc == 0)
		rc = step_cleanup(out, ob, in, o);
	rd_hostcov_free(&hc);
	free(today);
	if (rc)
		return rc;
	if (in->cancelled)
		out->status = PLAN_CANCELLED;
	else if (out->steps[6].done)
		out->status = PLAN_COMPLETED;
	else if (out->npresenting)
		out->status = PLAN_ROLLING_OUT;
	else if (out->steps[5].done)
		out->status = PLAN_READY;
	else
		out->status = PLAN_WAITING;
	out->overdue = out->status == PLAN_WAITING && in->not_before && o->at >= in->not_before;
	return 0;
}

void readiness_plan_state_free(struct readiness_plan_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < READINESS_PLAN_STEPS; i++)
		readiness_strv_free(&s->steps[i].evidence);
	free(s->apps);
	readiness_whatif_free(&s->whatif);
	memset(s, 0, sizeof(*s));
}

json_t *readiness_plan_state_json(const struct readiness_plan_state *s)
{
	json_t *steps = json_array(), *apps = json_array();
	for (size_t i = 0; steps && i < READINESS_PLAN_STEPS; i++) {
		json_t *ev = json_array();
		for (size_t k = 0; ev && k < s->steps[i].evidence.n; k++)
			json_array_append_new(ev, json_string(s->steps[i].evidence.v[k]));
		json_array_append_new(steps,
				      json_pack("{s:I, s:s, s:b, s:o}", "step", (json_int_t)(i + 1),
						"name", step_names[i], "done", s->steps[i].done,
						"evidence", ev ? ev : json_array()));
	}
	for (size_t i = 0; apps && i < s->napps; i++) {
		const struct readiness_plan_app *pa = &s->apps[i];
		json_t *x = readiness_scenario_json(pa->executed);
		json_t *fc = json_pack("{s:b, s:s}", "available", pa->forecast.available, "basis",
				       pa->forecast.basis);
		if (fc && pa->forecast.available) {
			char d[16];
			json_object_set_new(
				fc, "date",
				json_string(util_fmt_date(pa->forecast.date, d, sizeof(d))));
		}
		if (x) {
			json_object_set_new(x, "app", json_string(pa->app->name));
			json_object_set_new(x, "adoption_threshold",
					    json_real(pa->app->adoption_threshold));
			json_object_set_new(x, "forecast", fc ? fc : json_null());
		} else {
			json_decref(fc);
		}
		json_array_append_new(apps, x);
	}
	json_t *o = json_pack("{s:s, s:b, s:I, s:I, s:b, s:o, s:o}", "status",
			      readiness_plan_status_name(s->status), "inventoried", s->inventoried,
			      "addresses", (json_int_t)s->naddrs, "presenting",
			      (json_int_t)s->npresenting, "overdue", s->overdue, "steps",
			      steps ? steps : json_array(), "apps", apps ? apps : json_array());
	if (o && s->presenting_since) {
		char t[32];
		json_object_set_new(o, "presenting_since",
				    json_string(util_fmt_time(s->presenting_since, t, sizeof(t))));
	}
	return o;
}
