/* libFuzzer harness for the readiness engine: the input bytes describe an
 * inventory (apps, versions, adoption, policies, pins) and observations
 * (addresses, presented/validated/previous chains, pins seen); the engine
 * evaluates them, serialises the report and a what-if, and the harness checks
 * the share invariants (each share in [0, 1]; stranded + unknown + surviving
 * = 1 unless clamped). Memory errors are caught by the sanitizers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "readiness/readiness.h"
#include "readiness/readiness_json.h"

#define DAY 86400
static const time_t T = 1796083200;

struct rd {
	const uint8_t *p;
	size_t n;
};

static unsigned next(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static const char *const hosts[] = { "example.com", "api.example.com", "a.b.example.com",
				     "x.api.example.com", "example.org" };
static const char *const sources[] = { "inventory", "nsc", "trustkit", "okhttp", "api" };
static const char ov_pin[] = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
static const char *const ovs[] = { "system", "user", "@raw/corp_ca", ov_pin };
static const char *const patterns[] = { "example.com",	  "api.example.com",   "*.example.com",
					"**.example.com", "*.api.example.com", "example.org" };

static void pin_of(uint8_t out[32], unsigned id)
{
	memset(out, 0, 32);
	out[0] = (uint8_t)(id % 9);
}

static void chain_of(struct rd *r, struct readiness_chain *c)
{
	size_t n = next(r) % 4;
	c->certs = n ? calloc(n, sizeof(*c->certs)) : NULL;
	if (!c->certs)
		return;
	c->ncerts = n;
	for (size_t i = 0; i < n; i++) {
		unsigned id = next(r);
		pin_of(c->certs[i].pin, id);
		c->certs[i].sha256[0] = (uint8_t)id;
		c->certs[i].subject = strdup(id & 1 ? "CN=a" : "CN=b");
		c->certs[i].issuer = strdup(id & 2 ? "CN=a" : "CN=b");
		c->certs[i].not_after = T + ((time_t)next(r) - 100) * DAY;
		c->certs[i].is_ca = i > 0;
	}
}

static void check(const struct readiness_scenario *s)
{
	if (!(s->stranded_share >= 0 && s->stranded_share <= 1 && s->unknown_share >= 0 &&
	      s->unknown_share <= 1 && s->surviving_share >= 0 && s->surviving_share <= 1))
		abort();
	/* surviving counts KNOWN shares only: the three never exceed 1 (they make
	 * exactly 1 when every user has an adoption figure) */
	double sum = s->stranded_share + s->unknown_share;
	if (s->evaluated && sum <= 1 && s->surviving_share + sum > 1 + 1e-9)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = { data, size };
	struct inventory inv = { 0 };
	struct readiness_observations obs = { 0 };

	inv.napps = 1 + next(&r) % 3;
	inv.apps = calloc(inv.napps, sizeof(*inv.apps));
	for (size_t a = 0; inv.apps && a < inv.napps; a++) {
		struct app *app = &inv.apps[a];
		app->name = strdup("app");
		app->adoption_threshold = next(&r) / 255.0;
		app->nversions = 1 + next(&r) % 5;
		app->versions = calloc(app->nversions, sizeof(*app->versions));
		for (size_t v = 0; app->versions && v < app->nversions; v++) {
			struct app_version *ver = &app->versions[v];
			ver->version = strdup("1.0");
			snprintf(ver->released, sizeof(ver->released), "2026-0%zu-01", 1 + v);
			ver->nadoption = next(&r) % 3;
			ver->adoption = calloc(ver->nadoption + 1, sizeof(*ver->adoption));
			for (size_t s = 0; ver->adoption && s < ver->nadoption; s++) {
				ver->adoption[s].at_time = T - (time_t)(next(&r) % 200) * DAY;
				ver->adoption[s].share = next(&r) / 255.0;
			}
			ver->npolicies = 1 + next(&r) % 3;
			ver->policies = calloc(ver->npolicies, sizeof(*ver->policies));
			for (size_t p = 0; ver->policies && p < ver->npolicies; p++) {
				struct pin_policy *pol = &ver->policies[p];
				unsigned b = next(&r);
				pol->pattern = strdup(patterns[b % 6]);
				pol->include_subdomains = b & 0x10;
				pol->enforce = !(b & 0x20);
				pol->expires_at = b & 0x40 ? T + ((time_t)next(&r) - 128) * DAY : 0;
				/* the library the policy came from decides its selection */
				unsigned sb = next(&r);
				pol->source = strdup(sources[sb % 5]);
				if (sb & 0x80) { /* NSC overridePins anchors */
					pol->override_anchors = calloc(1, sizeof(char *));
					if (pol->override_anchors &&
					    (pol->override_anchors[0] = strdup(ovs[(sb >> 3) % 4])))
						pol->noverride_anchors = 1;
				}
				pol->npins = next(&r) % 4;
				pol->pins = calloc(pol->npins + 1, sizeof(*pol->pins));
				for (size_t k = 0; pol->pins && k < pol->npins; k++) {
					unsigned id = next(&r);
					pin_of(pol->pins[k].sha256, id);
					pol->pins[k].role = id & 0x80 ? PIN_BACKUP : PIN_CURRENT;
				}
			}
		}
	}
	inv.nendpoints = 1 + next(&r) % 4;
	inv.endpoints = calloc(inv.nendpoints, sizeof(*inv.endpoints));
	obs.eps = calloc(inv.nendpoints, sizeof(*obs.eps));
	obs.neps = obs.eps ? inv.nendpoints : 0;
	for (size_t e = 0; inv.endpoints && obs.eps && e < inv.nendpoints; e++) {
		inv.endpoints[e].host = strdup(hosts[next(&r) % 5]);
		inv.endpoints[e].port = 443;
		inv.endpoints[e].environment = strdup("production");
		struct readiness_observed *o = &obs.eps[e];
		o->naddrs = next(&r) % 3;
		o->addrs = o->naddrs ? calloc(o->naddrs, sizeof(*o->addrs)) : NULL;
		if (!o->addrs)
			o->naddrs = 0;
		for (size_t k = 0; k < o->naddrs; k++) {
			struct readiness_address *ad = &o->addrs[k];
			unsigned b = next(&r);
			ad->address = strdup(k ? "192.0.2.2" : "192.0.2.1");
			ad->outcome = strdup(b & 1 ? "untrusted" : "ok");
			chain_of(&r, &ad->presented);
			if (!(b & 1))
				chain_of(&r, &ad->validated);
			if (b & 2)
				chain_of(&r, &ad->previous);
			ad->first_seen = T - (time_t)(next(&r) % 20) * DAY;
			ad->last_seen = T;
		}
		o->history_since = T - (time_t)(next(&r) % 90) * DAY;
		o->nseen = next(&r) % 3;
		o->seen = o->nseen ? calloc(o->nseen, sizeof(*o->seen)) : NULL;
		if (!o->seen)
			o->nseen = 0;
		for (size_t k = 0; k < o->nseen; k++) {
			pin_of(o->seen[k].pin, next(&r));
			o->seen[k].last_seen = T - (time_t)(next(&r) % 90) * DAY;
		}
	}

	struct readiness_index *idx = readiness_index_new(&inv);
	if (idx) {
		struct readiness_opts o;
		readiness_opts_default(&o, T);
		struct readiness_report rep;
		if (readiness_eval(idx, &obs, &o, &rep) == 0) {
			for (size_t e = 0; e < rep.neps; e++)
				for (size_t a = 0; a < rep.eps[e].napps; a++) {
					const struct readiness_app_verdict *v = &rep.eps[e].apps[a];
					check(&v->now);
					check(&v->same_key);
					check(&v->key_rotation);
					check(&v->ca_change);
				}
			json_decref(readiness_report_json(&rep));
			readiness_report_free(&rep);
		}
		struct readiness_chain cand = { 0 };
		chain_of(&r, &cand);
		struct readiness_whatif w;
		if (cand.ncerts &&
		    readiness_whatif_eval(idx, hosts[next(&r) % 5], &cand,
					  obs.neps ? &obs.eps[0] : NULL, T, &w) == 0) {
			for (size_t a = 0; a < w.napps; a++)
				check(&w.apps[a].candidate);
			json_decref(readiness_whatif_json(&w, "h", 443, 0, &cand));
			readiness_whatif_free(&w);
		}
		readiness_chain_free(&cand);
		readiness_index_free(idx);
	}
	readiness_observations_free(&obs);
	model_inventory_free(&inv);
	return 0;
}
