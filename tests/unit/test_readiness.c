/* Rule tables and property checks for the pure readiness engine. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "alerts/alerts.h"
#include "base/config.h"
#include "model/model.h"
#include "readiness/readiness.h"
#include "readiness/readiness_int.h"
#include "readiness/readiness_json.h"
#include "invbuild.h"
#include "base/util.h"

#define DAY 86400
static const time_t T = 1796083200; /* 2026-12-01 00:00 UTC */

/* ---- Builders --------------------------------------------------------- */

static struct inventory inv;
static struct readiness_observations obs;

static void pin_id(uint8_t out[32], unsigned id)
{
	memset(out, 0, 32);
	out[0] = (uint8_t)id;
	out[31] = (uint8_t)(id * 7 + 1);
}

static size_t app_add(const char *name, double thr)
{
	ib_app(&inv, name, thr);
	return inv.napps - 1;
}

static size_t ver_add(size_t ai, const char *version, const char *released)
{
	struct app_version *v = ib_version(&inv.apps[ai], version);
	snprintf(v->released, sizeof(v->released), "%s", released ? released : "");
	return inv.apps[ai].nversions - 1;
}

static size_t ver_find_or_add(size_t ai, const char *version)
{
	struct app_version *v = ib_version_find(&inv.apps[ai], version);
	return v ? (size_t)(v - inv.apps[ai].versions) : ver_add(ai, version, NULL);
}

static void adopt(size_t ai, size_t vi, time_t at, double share)
{
	ib_adoption(&inv.apps[ai].versions[vi], at, share);
}

/* pins: "1 2b 3" (b = backup role) */
static struct pin_policy *pol_add(size_t ai, size_t vi, const char *pattern, bool incl,
				  bool enforce, time_t expires_at, const char *pins)
{
	struct pin_policy *p =
		ib_policy(&inv.apps[ai].versions[vi], pattern, incl, enforce, expires_at);
	for (const char *s = pins; s && *s;) {
		char *end;
		unsigned long id = strtoul(s, &end, 10);
		if (end == s)
			break;
		uint8_t sha[32];
		pin_id(sha, (unsigned)id);
		ib_pin(p, sha, *end == 'b' ? PIN_BACKUP : PIN_CURRENT);
		s = end + (*end == 'b');
		while (*s == ' ')
			s++;
	}
	return p;
}

static size_t ep_add(const char *host, const char *env)
{
	ib_endpoint(&inv, host, env);
	obs.eps = ib_grow(obs.eps, obs.neps, sizeof(*obs.eps));
	obs.neps = inv.nendpoints;
	return inv.nendpoints - 1;
}

/* chain: "1 2 3": certificates with these key ids, leaf first, last self-signed */
static void chain_set(struct readiness_chain *c, const char *ids, time_t not_after)
{
	unsigned v[16];
	size_t n = 0;
	for (const char *s = ids; s && *s && n < 16;) {
		char *end;
		v[n] = (unsigned)strtoul(s, &end, 10);
		if (end == s)
			break;
		n++;
		s = end;
		while (*s == ' ')
			s++;
	}
	c->certs = n ? calloc(n, sizeof(*c->certs)) : NULL;
	c->ncerts = n;
	for (size_t i = 0; i < n; i++) {
		struct readiness_cert *x = &c->certs[i];
		char buf[32];
		pin_id(x->pin, v[i]);
		pin_id(x->sha256, v[i] + 100);
		snprintf(buf, sizeof(buf), "CN=k%u", v[i]);
		x->subject = strdup(buf);
		snprintf(buf, sizeof(buf), "CN=k%u", i + 1 < n ? v[i + 1] : v[i]);
		x->issuer = strdup(buf);
		x->not_before = T - 100 * DAY;
		x->not_after = not_after;
		x->is_ca = i > 0;
	}
}

static struct readiness_address *addr_add(size_t ei, const char *address, const char *outcome,
					  const char *validated, const char *presented)
{
	struct readiness_observed *o = &obs.eps[ei];
	o->addrs = ib_grow(o->addrs, o->naddrs, sizeof(*o->addrs));
	struct readiness_address *a = &o->addrs[o->naddrs++];
	a->address = strdup(address);
	a->outcome = strdup(outcome);
	chain_set(&a->validated, validated, T + 365 * DAY);
	chain_set(&a->presented, presented ? presented : validated, T + 365 * DAY);
	a->first_seen = T - 60 * DAY;
	a->last_seen = T;
	if (!o->history_since)
		o->history_since = a->first_seen;
	return a;
}

static int reset(void **state)
{
	(void)state;
	model_inventory_free(&inv);
	readiness_observations_free(&obs);
	return 0;
}

struct run {
	struct readiness_index *idx;
	struct readiness_report rep;
};

static void run_eval(struct run *r, time_t at)
{
	struct readiness_opts o;
	readiness_opts_default(&o, at);
	r->idx = readiness_index_new(&inv);
	assert_non_null(r->idx);
	assert_int_equal(readiness_eval(r->idx, &obs, &o, &r->rep), 0);
	/* Every report must serialise. */
	json_t *j = readiness_report_json(&r->rep);
	assert_non_null(j);
	json_decref(j);
}

static void run_free(struct run *r)
{
	readiness_report_free(&r->rep);
	readiness_index_free(r->idx);
}

static const struct readiness_app_verdict *app_of(const struct run *r, size_t ep, const char *name)
{
	const struct readiness_endpoint_verdict *v = &r->rep.eps[ep];
	for (size_t i = 0; i < v->napps; i++)
		if (strcmp(v->apps[i].app->name, name) == 0)
			return &v->apps[i];
	return NULL;
}

static bool reasons_contain(const struct readiness_strv *sv, const char *needle)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strstr(sv->v[i], needle))
			return true;
	return false;
}

/* ---- Patterns --------------------------------------------------------- */

/* The one table of pattern coverage (exact names, includeSubdomains, "*." one
 * label, "**." any depth including the name itself), boundaries included. */
static void test_pattern_covers_table(void **state)
{
	(void)state;
	static const struct {
		const char *pattern;
		bool incl;
		const char *host;
		bool covers;
	} cases[] = {
		{ "api.example.com", false, "api.example.com", true },
		{ "api.example.com", false, "x.api.example.com", false },
		{ "api.example.com", false, "example.com", false },
		{ "api.example.com", true, "api.example.com", true },
		{ "api.example.com", true, "x.api.example.com", true },
		{ "api.example.com", true, "a.b.api.example.com", true },
		{ "api.example.com", true, "example.com", false },
		{ "example.com", true, "notexample.com", false },
		{ "*.example.com", false, "api.example.com", true },
		{ "*.example.com", false, "example.com", false },
		{ "*.example.com", false, "a.b.example.com", false },
		{ "*.example.com", false, "xexample.com", false },
		{ "*.example.com", false, ".example.com", false },
		{ "*.example.com", true, "a.b.example.com", true },
		{ "*.example.com", true, "example.com", false },
		{ "**.example.com", false, "example.com", true },
		{ "**.example.com", false, "api.example.com", true },
		{ "**.example.com", false, "a.b.c.example.com", true },
		{ "**.example.com", false, "badexample.com", false },
		{ "**.example.com", false, "example.org", false },
		{ "api.example.com", false, "API.example.com", true },
		{ "api.example.com", false, "api.example.co", false },
		{ "", false, "example.com", false },
		{ "api.example.com", false, "eu.api.example.com", false },
		{ "api.example.com", true, "eu.api.example.com", true },
		{ "api.example.com", true, "xapi.example.com", false },
		{ "**.example.com", false, "notexample.com", false },
		{ "**.example.com", false, "example.com.evil", false },
		{ "**.example.com", false, "com", false },
		{ "api.example.com", true, "x.y.api.example.com", true },
		{ "*.example.com", false, "a.example.com", true },
		{ "*.example.com", false, "aexample.com", false },
		{ "**.example.com", false, "a.example.com", true },
		{ "**.example.com", false, "xexample.com", false },
		{ "example.com", false, "example.co", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool got = readiness_pattern_covers(cases[i].pattern, cases[i].incl, cases[i].host);
		if (got != cases[i].covers)
			fail_msg("case %zu: %s%s vs %s: got %d", i, cases[i].pattern,
				 cases[i].incl ? " (+sub)" : "", cases[i].host, got);
	}
}

static void test_pattern_specificity_order(void **state)
{
	(void)state;
	/* rel: 1 = a is more specific than b, 0 = a tie (merged) */
	static const struct {
		const char *a;
		bool ai;
		const char *b;
		bool bi;
		int rel;
	} cases[] = {
		{ "api.example.com", false, "api.example.com", true, 1 },
		{ "api.example.com", true, "*.example.com", false, 1 },
		{ "x.api.example.com", false, "api.example.com", true, 1 },
		{ "*.example.com", false, "**.example.com", false, 1 },
		{ "*.example.com", false, "example.com", true, 1 },
		{ "**.example.com", false, "example.com", true, 0 },
		{ "*.example.com", true, "example.com", true, 0 },
		{ "**.api.example.com", false, "*.example.com", false, 1 },
		{ "example.com", false, "**.example.com", false, 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int a = readiness_pattern_specificity(cases[i].a, cases[i].ai);
		int b = readiness_pattern_specificity(cases[i].b, cases[i].bi);
		if ((cases[i].rel == 1 && !(a > b)) || (cases[i].rel == 0 && a != b))
			fail_msg("case %zu: %s=%d vs %s=%d", i, cases[i].a, a, cases[i].b, b);
	}
}

static void test_policy_enforces_table(void **state)
{
	(void)state;
	struct pin one = { { 1 }, PIN_CURRENT };
	static const struct {
		bool enforce;
		size_t npins;
		int64_t expires; /* offset from T; INT64_MIN: none */
		bool enforces;
	} cases[] = {
		{ true, 1, INT64_MIN, true },  { false, 1, INT64_MIN, false },
		{ true, 0, INT64_MIN, false }, { true, 1, 0, false }, /* expires exactly at T */
		{ true, 1, 1, true },	       { true, 1, -DAY, false },
		{ true, 1, DAY, true },	       { false, 1, DAY, false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pin_policy p = { 0 };
		p.enforce = cases[i].enforce;
		p.npins = cases[i].npins;
		p.pins = &one;
		p.expires_at = cases[i].expires == INT64_MIN ? 0 : T + cases[i].expires;
		if (readiness_policy_enforces(&p, T) != cases[i].enforces)
			fail_msg("case %zu", i);
	}
}

/* ---- The scenario table ---------------------------------------------- */

struct vrow {
	const char *version;
	double share; /* < 0: no adoption figure */
	const char *pattern;
	bool incl, enforce;
	int exp_days; /* 0: no expiry; else T + exp_days (use 1000+N to mean "T + (N) exactly") */
	const char *pins;
};

struct expect {
	double stranded, unknown;
	bool ready;
};

struct scase {
	const char *name;
	const char *host;
	double threshold;
	struct vrow v[6];
	const char *validated_a, *presented_a; /* presented NULL: same as validated */
	const char *validated_b;	       /* second address, NULL: none */
	struct expect now, kr, ca;
	const char *worst_now; /* expected worst address for "now", NULL: don't check */
};

#define EXPIRES_AT_T 1000

/* One case per block, as a table. */
/* clang-format off */
static const struct scase scases[] = {
	{ "leaf pin, one version with backup",
	  "api.example.com", 0.95,
	  { { "1.0", 0.6, "api.example.com", false, true, 0, "1" },
	    { "2.0", 0.4, "api.example.com", false, true, 0, "1 9b" } },
	  "1 2 3", NULL, NULL,
	  { 0, 0, true }, { 0.6, 0, false }, { 0.6, 0, false }, "a" },
	{ "pin only on the root the server does not send (validated chain)",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "api.example.com", false, true, 0, "3" } },
	  "1 2 3", "1 2", NULL,
	  { 0, 0, true }, { 0, 0, true }, { 1.0, 0, false }, NULL },
	{ "root pin, probe could not validate: presented chain only",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "api.example.com", false, true, 0, "3" } },
	  "", "1 2", NULL,
	  /* key rotation: pin 3 is in no certificate pinwatch saw, so it may be
	   * the new leaf key (keys decide survival, not roles) */
	  { 1.0, 0, false }, { 0, 0, true }, { 1.0, 0, false }, NULL },
	{ "unknown adoption is never 0",
	  "api.example.com", 0.95,
	  { { "1.0", 0.5, "api.example.com", false, true, 0, "7" },
	    { "2.0", -1, "api.example.com", false, true, 0, "8" },
	    { "3.0", 0.3, "api.example.com", false, true, 0, "1 2" } },
	  "1 2 3", NULL, NULL,
	  /* key rotation to 1.0's key 7 saves 1.0; 2.0 (no figure) stays at risk */
	  { 0.5, 0.2, false }, { 0, 0.2, false }, { 0.8, 0.2, false }, NULL },
	{ "unknown version that accepts adds no unknown share",
	  "api.example.com", 0.5,
	  { { "1.0", 0.5, "api.example.com", false, true, 0, "1" },
	    { "2.0", -1, "api.example.com", false, true, 0, "1 2" } },
	  "1 2 3", NULL, NULL,
	  /* key rotation: 1.0's 50% is stranded; 2.0 (no figure) survives, so the
	   * 50% no figure accounts for do not count: 1 - 0.5 = 0.5, ready */
	  { 0, 0, true }, { 0.5, 0, true }, { 0.5, 0.5, false }, NULL },
	{ "report-only never strands",
	  "api.example.com", 0.95,
	  { { "1.0", 0.9, "api.example.com", false, false, 0, "7" } },
	  "1 2 3", NULL, NULL,
	  { 0, 0, true }, { 0, 0, true }, { 0, 0, true }, NULL },
	{ "pin set expiring exactly at T no longer enforces",
	  "api.example.com", 0.95,
	  { { "1.0", 0.9, "api.example.com", false, true, EXPIRES_AT_T, "7" } },
	  "1 2 3", NULL, NULL,
	  { 0, 0, true }, { 0, 0, true }, { 0, 0, true }, NULL },
	{ "pin set expiring one day after T still enforces",
	  "api.example.com", 0.95,
	  { { "1.0", 0.9, "api.example.com", false, true, 1, "7" } },
	  "1 2 3", NULL, NULL,
	  /* key rotation to key 7 (outside today's chain) saves it */
	  { 0.9, 0, false }, { 0, 0, true }, { 0.9, 0, false }, NULL },
	{ "expired policy",
	  "api.example.com", 0.95,
	  { { "1.0", 0.9, "api.example.com", false, true, -10, "7" } },
	  "1 2 3", NULL, NULL,
	  { 0, 0, true }, { 0, 0, true }, { 0, 0, true }, NULL },
	{ "nested override: excluded subdomain (enforce=false, no pins)",
	  "api.example.com", 0.95,
	  { { "1.0", 0.7, "**.example.com", false, true, 0, "7" },
	    { "1.0", 0.7, "api.example.com", false, false, 0, "" } },
	  "1 2 3", NULL, NULL,
	  { 0, 0, true }, { 0, 0, true }, { 0, 0, true }, NULL },
	{ "nested override does not reach a sibling",
	  "www.example.com", 0.95,
	  { { "1.0", 0.7, "**.example.com", false, true, 0, "7" },
	    { "1.0", 0.7, "api.example.com", false, false, 0, "" } },
	  "1 2 3", NULL, NULL,
	  { 0.7, 0, false }, { 0, 0, true }, { 0.7, 0, false }, NULL },
	{ "more specific enforcing policy with other pins wins over parent",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "example.com", true, true, 0, "7" },
	    { "1.0", 1.0, "api.example.com", false, true, 0, "1" } },
	  "1 2 3", NULL, NULL,
	  { 0, 0, true }, { 1.0, 0, false }, { 1.0, 0, false }, NULL },
	{ "surviving share exactly the threshold is ready",
	  "api.example.com", 0.95,
	  { { "1.0", 0.95, "api.example.com", false, true, 0, "2" },
	    { "2.0", 0.05, "api.example.com", false, true, 0, "1" } },
	  "1 2 3", NULL, NULL,
	  { 0, 0, true }, { 0.05, 0, true }, { 1.0, 0, false }, NULL },
	{ "shares summing to just below the threshold are not ready",
	  "api.example.com", 0.95,
	  { { "1.0", 0.9499, "api.example.com", false, true, 0, "2" },
	    { "2.0", 0.0501, "api.example.com", false, true, 0, "1" } },
	  "1 2 3", NULL, NULL,
	  { 0, 0, true }, { 0.0501, 0, false }, { 1.0, 0, false }, NULL },
	{ "three shares summing exactly to the threshold",
	  "api.example.com", 0.6,
	  { { "1.0", 0.1, "api.example.com", false, true, 0, "2" },
	    { "2.0", 0.2, "api.example.com", false, true, 0, "3" },
	    { "3.0", 0.3, "api.example.com", false, true, 0, "9b 1" },
	    { "4.0", 0.4, "api.example.com", false, true, 0, "1" } },
	  "1 2 3", NULL, NULL,
	  { 0, 0, true }, { 0.4, 0, true }, { 0.7, 0, false }, NULL },
	{ "'*.' covers one label only",
	  "a.b.example.com", 0.95,
	  { { "1.0", 0.9, "*.example.com", false, true, 0, "7" } },
	  "1 2 3", NULL, NULL,
	  { 0, 0, true }, { 0, 0, true }, { 0, 0, true }, NULL },
	{ "'**.' covers the apex",
	  "example.com", 0.95,
	  { { "1.0", 0.9, "**.example.com", false, true, 0, "7" } },
	  "1 2 3", NULL, NULL,
	  { 0.9, 0, false }, { 0, 0, true }, { 0.9, 0, false }, NULL },
	{ "a backup pin equal to today's leaf key does not survive a key rotation",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "api.example.com", false, true, 0, "1b" } },
	  "1 2 3", NULL, NULL,
	  { 0, 0, true }, { 1.0, 0, false }, { 1.0, 0, false }, NULL },
	{ "a backup pin outside today's chain survives a CA change",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "api.example.com", false, true, 0, "2 9b" } },
	  "1 2 3", NULL, NULL,
	  { 0, 0, true }, { 0, 0, true }, { 0, 0, true }, NULL },
	{ "a backup pin that is today's intermediate does not survive a CA change",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "api.example.com", false, true, 0, "1 2b" } },
	  "1 2 3", NULL, NULL,
	  { 0, 0, true }, { 0, 0, true }, { 1.0, 0, false }, NULL },
	{ "one new key matches one backup key: the best one is chosen",
	  "api.example.com", 0.6,
	  { { "1.0", 0.5, "api.example.com", false, true, 0, "1 8b" },
	    { "2.0", 0.3, "api.example.com", false, true, 0, "1 9b" },
	    { "3.0", 0.2, "api.example.com", false, true, 0, "1 8b" } },
	  "1 2 3", NULL, NULL,
	  { 0, 0, true }, { 0.3, 0, true }, { 0, 0, true }, NULL },
	{ "equal stranded share: the backup key that also saves the unknown version",
	  "api.example.com", 0.5,
	  { { "1.0", 0.4, "api.example.com", false, true, 0, "1 8b" },
	    { "2.0", -1, "api.example.com", false, true, 0, "1 9b" },
	    { "3.0", 0.4, "api.example.com", false, true, 0, "1 9b" } },
	  "1 2 3", NULL, NULL,
	  /* 1 - 0.4 = 0.6 survive: the unknown version survives, so ready */
	  { 0, 0, true }, { 0.4, 0, true }, { 0, 0, true }, NULL },
	{ "worst address counts",
	  "api.example.com", 0.95,
	  { { "1.0", 0.3, "api.example.com", false, true, 0, "1" },
	    { "2.0", 0.2, "api.example.com", false, true, 0, "4" } },
	  "1 2 3", NULL, "4 5 6",
	  /* key rotation per address: at a to 2.0's key 4 (1.0 stranded), at b
	   * to 1.0's key 1 (2.0 stranded); the worst is a */
	  { 0.3, 0, false }, { 0.3, 0, false }, { 0.5, 0, false }, "b" },
	{ "not covered: no app verdict at all",
	  "api.example.org", 0.95,
	  { { "1.0", 0.9, "api.example.com", false, true, 0, "7" } },
	  "1 2 3", NULL, NULL,
	  { 0, 0, true }, { 0, 0, true }, { 0, 0, true }, NULL },
};
/* clang-format on */

static bool near(double a, double b)
{
	return a - b < 1e-9 && b - a < 1e-9;
}

static void check_expect(const char *name, const char *what, const struct readiness_scenario *s,
			 const struct expect *e)
{
	if (!near(s->stranded_share, e->stranded) || !near(s->unknown_share, e->unknown) ||
	    s->ready != e->ready)
		fail_msg("%s / %s: got stranded %.6f unknown %.6f ready %d, want %.6f %.6f %d",
			 name, what, s->stranded_share, s->unknown_share, s->ready, e->stranded,
			 e->unknown, e->ready);
	double sum = 0;
	for (size_t i = 0; i < s->nstranded; i++)
		if (s->stranded[i].known)
			sum += s->stranded[i].share;
	if (!near(sum, s->stranded_share))
		fail_msg("%s / %s: stranded_versions sum %.6f != %.6f", name, what, sum,
			 s->stranded_share);
}

static void test_scenarios_table(void **state)
{
	for (size_t c = 0; c < ARRAY_SIZE(scases); c++) {
		const struct scase *sc = &scases[c];
		reset(state);
		size_t ai = app_add("shop", sc->threshold);
		for (size_t i = 0; i < ARRAY_SIZE(sc->v) && sc->v[i].version; i++) {
			const struct vrow *r = &sc->v[i];
			size_t before = inv.apps[ai].nversions;
			size_t vi = ver_find_or_add(ai, r->version);
			if (inv.apps[ai].nversions > before && r->share >= 0)
				adopt(ai, vi, T - 5 * DAY, r->share);
			time_t exp = r->exp_days == EXPIRES_AT_T ? T
				     : r->exp_days		 ? T + (time_t)r->exp_days * DAY
								 : 0;
			pol_add(ai, vi, r->pattern, r->incl, r->enforce, exp, r->pins);
		}
		size_t ei = ep_add(sc->host, NULL);
		addr_add(ei, "a", "ok", sc->validated_a, sc->presented_a);
		if (sc->validated_b)
			addr_add(ei, "b", "ok", sc->validated_b, NULL);
		struct run r;
		run_eval(&r, T);
		const struct readiness_app_verdict *v = app_of(&r, ei, "shop");
		bool covered =
			readiness_pattern_covers(sc->v[0].pattern, sc->v[0].incl, sc->host) ||
			(sc->v[1].pattern &&
			 readiness_pattern_covers(sc->v[1].pattern, sc->v[1].incl, sc->host));
		if (!covered) {
			if (v)
				fail_msg("%s: uncovered host has an app verdict", sc->name);
			run_free(&r);
			continue;
		}
		if (!v)
			fail_msg("%s: no verdict", sc->name);
		check_expect(sc->name, "now", &v->now, &sc->now);
		check_expect(sc->name, "same_key", &v->same_key, &sc->now);
		check_expect(sc->name, "key_rotation", &v->key_rotation, &sc->kr);
		check_expect(sc->name, "ca_change", &v->ca_change, &sc->ca);
		if (sc->worst_now && (!v->now.address || strcmp(v->now.address, sc->worst_now)))
			fail_msg("%s: worst address %s", sc->name, v->now.address);
		if (v->reasons.n == 0)
			fail_msg("%s: no reasons", sc->name);
		if (sc->now.stranded > 0 && r.rep.eps[ei].severity != SEVERITY_CRITICAL)
			fail_msg("%s: stranding now must be critical", sc->name);
		run_free(&r);
	}
	reset(state);
}

/* ---- Issue 14: keys, shares, per-library selection, overridePins, reasons -- */

/* One policy row; override: NULL, "system", "user", "@raw/x", or "pin:N"
 * (the anchor certificate with key N, as "sha256/<base64>"). */
struct prow {
	const char *version;
	double share; /* < 0: no adoption figure */
	const char *source;
	const char *pattern;
	bool incl, enforce;
	const char *pins;
	const char *override;
};

struct sx {
	double stranded, unknown, surviving; /* surviving < 0: not checked */
	bool ready;
};

#define NOCHK -1.0

struct gcase {
	const char *name;
	const char *host;
	double threshold;
	struct prow v[6];
	const char *validated, *presented; /* presented NULL: same as validated */
	struct sx now, kr, ca;
	int rotate_to;		/* key id key_rotation rotates to; 0: none; -1: not checked */
	const char *reason_has; /* NULL: not checked */
	const char *reason_not; /* NULL: not checked */
	bool not_pinned;	/* the app has a verdict but no version enforces */
};

static void override_add(struct pin_policy *p, const char *ov)
{
	char buf[64];
	if (strncmp(ov, "pin:", 4) == 0) {
		uint8_t pin[32];
		char b64[48];
		pin_id(pin, (unsigned)atoi(ov + 4));
		util_pin_b64(pin, b64);
		snprintf(buf, sizeof(buf), "sha256/%s", b64);
	} else {
		snprintf(buf, sizeof(buf), "%s", ov);
	}
	p->override_anchors = ib_grow(p->override_anchors, p->noverride_anchors, sizeof(char *));
	p->override_anchors[p->noverride_anchors++] = strdup(buf);
}

/* Sentences people read: no "0.0%" stranding claims, no verb without a
 * subject after a colon, no doubled punctuation or spaces, a full stop. */
static void check_grammar(const char *name, const struct readiness_strv *sv)
{
	static const char *const bad[] = {
		"strand 0.0%", "strands 0.0%", ": carries", ": carry", ": has",	  ": have",
		": pin ",      ": pins ",      "  ",	    " .",      ";.",	  ",.",
		"; ;",	       "1 versions",   "(s)",	    " ,",      "reach 0", "::"
	};
	for (size_t i = 0; i < sv->n; i++) {
		const char *s = sv->v[i];
		size_t n = strlen(s);
		if (n == 0 || s[n - 1] != '.')
			fail_msg("%s: reason without a full stop: %s", name, s);
		for (size_t b = 0; b < ARRAY_SIZE(bad); b++)
			if (strstr(s, bad[b]))
				fail_msg("%s: reason has '%s': %s", name, bad[b], s);
	}
}

static void check_sx(const char *name, const char *what, const struct readiness_scenario *s,
		     const struct sx *e)
{
	if (!near(s->stranded_share, e->stranded) || !near(s->unknown_share, e->unknown) ||
	    s->ready != e->ready || (e->surviving >= 0 && !near(s->surviving_share, e->surviving)))
		fail_msg("%s / %s: got stranded %.10f unknown %.10f surviving %.10f ready %d, want "
			 "%.10f %.10f %.10f %d",
			 name, what, s->stranded_share, s->unknown_share, s->surviving_share,
			 s->ready, e->stranded, e->unknown, e->surviving, e->ready);
}

static void run_gcases(void **state, const struct gcase *cases, size_t n)
{
	for (size_t c = 0; c < n; c++) {
		const struct gcase *gc = &cases[c];
		reset(state);
		size_t ai = app_add("shop", gc->threshold);
		for (size_t i = 0; i < ARRAY_SIZE(gc->v) && gc->v[i].version; i++) {
			const struct prow *r = &gc->v[i];
			size_t before = inv.apps[ai].nversions;
			size_t vi = ver_find_or_add(ai, r->version);
			if (inv.apps[ai].nversions > before && r->share >= 0)
				adopt(ai, vi, T - 5 * DAY, r->share);
			struct pin_policy *p =
				pol_add(ai, vi, r->pattern, r->incl, r->enforce, 0, r->pins);
			if (r->source) {
				free(p->source); /* ib_policy() set "inventory" */
				p->source = strdup(r->source);
			}
			if (r->override)
				override_add(p, r->override);
		}
		size_t ei = ep_add(gc->host, NULL);
		addr_add(ei, "a", gc->validated[0] ? "ok" : "untrusted", gc->validated,
			 gc->presented);
		struct run r;
		run_eval(&r, T);
		const struct readiness_app_verdict *v = app_of(&r, ei, "shop");
		if (!v)
			fail_msg("%s: no verdict", gc->name);
		if (gc->not_pinned) {
			if (v->now.nenforcing != 0)
				fail_msg("%s: %zu versions enforce, want none", gc->name,
					 v->now.nenforcing);
		}
		check_sx(gc->name, "now", &v->now, &gc->now);
		check_sx(gc->name, "same_key", &v->same_key, &gc->now);
		check_sx(gc->name, "key_rotation", &v->key_rotation, &gc->kr);
		check_sx(gc->name, "ca_change", &v->ca_change, &gc->ca);
		if (gc->rotate_to == 0 && v->key_rotation.has_rotation_key)
			fail_msg("%s: a rotation key was chosen", gc->name);
		if (gc->rotate_to > 0) {
			uint8_t k[32];
			pin_id(k, (unsigned)gc->rotate_to);
			if (!v->key_rotation.has_rotation_key ||
			    memcmp(v->key_rotation.rotation_key, k, 32) != 0)
				fail_msg("%s: rotation key is not key %d", gc->name, gc->rotate_to);
		}
		if (gc->reason_has && !reasons_contain(&v->reasons, gc->reason_has))
			fail_msg("%s: no reason contains '%s' (first: %s)", gc->name,
				 gc->reason_has, v->reasons.n ? v->reasons.v[0] : "-");
		if (gc->reason_not && reasons_contain(&v->reasons, gc->reason_not))
			fail_msg("%s: a reason contains '%s'", gc->name, gc->reason_not);
		check_grammar(gc->name, &v->reasons);
		check_grammar(gc->name, &r.rep.eps[ei].reasons);
		run_free(&r);
	}
	reset(state);
}

/* clang-format off */
static const struct gcase rotation_key_cases[] = {
	{ "a current pin outside today's chain is a rotation key like a backup pin",
	  "api.example.com", 0.95,
	  { { "1.0", 0.5, NULL, "api.example.com", false, true, "1 9", NULL },
	    { "2.0", 0.5, NULL, "api.example.com", false, true, "1 9b", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 0.5, 0, 0.5, false }, 9,
	  "rotate to the key sha256/", NULL, false },
	{ "a version pinning only a current key outside the chain survives the rotation to it",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, NULL, "api.example.com", false, true, "9", NULL } },
	  "1 2 3", NULL,
	  { 1.0, 0, 0, false }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, 9, NULL, NULL, false },
	{ "a current pin equal to today's leaf key is no rotation key",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, NULL, "api.example.com", false, true, "1", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 1.0, 0, 0, false }, { 1.0, 0, 0, false }, 0,
	  "pins only the current leaf key", NULL, false },
	{ "a current pin on today's intermediate survives without a rotation key",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, NULL, "api.example.com", false, true, "2", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, 0, NULL, NULL, false },
	{ "one new key: the current key saving more users beats a backup key",
	  "api.example.com", 0.5,
	  { { "1.0", 0.6, NULL, "api.example.com", false, true, "1 8", NULL },
	    { "2.0", 0.4, NULL, "api.example.com", false, true, "1 9b", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0.4, 0, 0.6, true }, { 0.6, 0, 0.4, false }, 8, NULL, NULL, false },
	{ "equal stranded shares: the lowest key",
	  "api.example.com", 0.5,
	  { { "1.0", 0.5, NULL, "api.example.com", false, true, "1 9", NULL },
	    { "2.0", 0.5, NULL, "api.example.com", false, true, "1 8", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0.5, 0, 0.5, true }, { 1.0, 0, 0, false }, 8, NULL, NULL, false },
};

static const struct gcase share_cases[] = {
	{ "same-key renewal strands nobody: a version without a figure does not hold it back",
	  "api.example.com", 0.95,
	  { { "1.0", 0.5, NULL, "api.example.com", false, true, "1 2", NULL },
	    { "2.0", -1, NULL, "api.example.com", false, true, "1 2", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 0.5, 0.5, 0, false }, 0,
	  "Key rotation is safe for shop", " 0.0%", false },
	{ "no figures at all, nobody at risk: ready",
	  "api.example.com", 0.95,
	  { { "1.0", -1, NULL, "api.example.com", false, true, "2", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 0, 1.0, 0, false }, 0,
	  "would strand up to 100.0% of shop users", NULL, false },
	{ "no figures at all, a version at risk now: every user unknown",
	  "api.example.com", 0.95,
	  { { "1.0", -1, NULL, "api.example.com", false, true, "5", NULL },
	    { "2.0", -1, NULL, "api.example.com", false, true, "2", NULL } },
	  "1 2 3", NULL,
	  { 0, 1.0, 0, false }, { 0, 0, 1, true }, { 0, 1.0, 0, false }, 5,
	  "Now up to 100.0% of shop users may be stranded", NULL, false },
	{ "a version without a figure at risk: surviving = 1 - stranded - unknown, at the threshold",
	  "api.example.com", 0.5,
	  { { "1.0", 0.3, NULL, "api.example.com", false, true, "1", NULL },
	    { "2.0", -1, NULL, "api.example.com", false, true, "1", NULL },
	    { "3.0", 0.5, NULL, "api.example.com", false, true, "2", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0.3, 0.2, 0.5, true }, { 0.8, 0.2, 0, false }, 0,
	  "Key rotation is safe for shop: 50.0% of users keep working", NULL, false },
	{ "the same, threshold 2e-9 above: not ready",
	  "api.example.com", 0.500000002,
	  { { "1.0", 0.3, NULL, "api.example.com", false, true, "1", NULL },
	    { "2.0", -1, NULL, "api.example.com", false, true, "1", NULL },
	    { "3.0", 0.5, NULL, "api.example.com", false, true, "2", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0.3, 0.2, 0.5, false }, { 0.8, 0.2, 0, false }, 0,
	  "Key rotation would strand 30.0% of shop users (and up to 20.0% more", NULL, false },
	{ "the same, threshold 5e-10 above: within the 1e-9 tolerance, ready",
	  "api.example.com", 0.5000000005,
	  { { "1.0", 0.3, NULL, "api.example.com", false, true, "1", NULL },
	    { "2.0", -1, NULL, "api.example.com", false, true, "1", NULL },
	    { "3.0", 0.5, NULL, "api.example.com", false, true, "2", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0.3, 0.2, 0.5, true }, { 0.8, 0.2, 0, false }, 0, NULL, NULL, false },
	{ "figures summing over 1: shares clamp, nothing unaccounted",
	  "api.example.com", 0.3,
	  { { "1.0", 0.7, NULL, "api.example.com", false, true, "1", NULL },
	    { "2.0", 0.5, NULL, "api.example.com", false, true, "2", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0.7, 0, 0.3, true }, { 1.0, 0, 0, false }, 0, NULL, NULL, false },
	{ "figures summing to 1 and a version without a figure at risk: named, no share",
	  "api.example.com", 0.95,
	  { { "1.0", 0.6, NULL, "api.example.com", false, true, "2", NULL },
	    { "2.0", 0.4, NULL, "api.example.com", false, true, "2", NULL },
	    { "3.0", -1, NULL, "api.example.com", false, true, "1", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, 0,
	  "it still puts 3.0 (no adoption figure) at risk", " 0.0%", false },
	{ "figures below 1, no version without a figure: unaccounted users do not count",
	  "api.example.com", 0.7,
	  { { "1.0", 0.3, NULL, "api.example.com", false, true, "1", NULL },
	    { "2.0", 0.5, NULL, "api.example.com", false, true, "2", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0.3, 0, 0.7, true }, { 0.8, 0, 0.2, false }, 0, NULL, NULL, false },
};

static const struct gcase selection_cases[] = {
	{ "inventory: the exact host beats **. (most specific wins)",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "inventory", "api.example.com", false, true, "7", NULL },
	    { "1.0", 1.0, "inventory", "**.example.com", false, true, "1", NULL } },
	  "1 2 3", NULL,
	  { 1.0, 0, 0, false }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, -1, NULL, NULL, false },
	{ "okhttp: every matching pattern's pins are accepted together",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "okhttp", "api.example.com", false, true, "7", NULL },
	    { "1.0", 1.0, "okhttp", "**.example.com", false, true, "1", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, -1, NULL, NULL, false },
	{ "okhttp: *. and **. at once for a one-label host",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "okhttp", "*.example.com", false, true, "7", NULL },
	    { "1.0", 1.0, "okhttp", "**.example.com", false, true, "2", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, -1, NULL, NULL, false },
	{ "okhttp: *. does not match two labels, **. does",
	  "a.api.example.com", 0.95,
	  { { "1.0", 1.0, "okhttp", "*.example.com", false, true, "1", NULL },
	    { "1.0", 1.0, "okhttp", "**.example.com", false, true, "7", NULL } },
	  "1 2 3", NULL,
	  { 1.0, 0, 0, false }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, -1, NULL, NULL, false },
	{ "nsc: the domain equal to the host wins over an includeSubdomains parent",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "nsc", "example.com", true, true, "1", NULL },
	    { "1.0", 1.0, "nsc", "api.example.com", true, true, "7", NULL } },
	  "1 2 3", NULL,
	  { 1.0, 0, 0, false }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, -1, NULL, NULL, false },
	{ "nsc: the longest includeSubdomains parent wins",
	  "a.api.example.com", 0.95,
	  { { "1.0", 1.0, "nsc", "example.com", true, true, "7", NULL },
	    { "1.0", 1.0, "nsc", "api.example.com", true, true, "2", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, -1, NULL, NULL, false },
	{ "nsc: an exact nested domain without pins excludes the host",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "nsc", "example.com", true, true, "7", NULL },
	    { "1.0", 1.0, "nsc", "api.example.com", false, false, "", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 0, 0, 1, true }, -1, NULL, NULL, true },
	{ "trustkit: the domain equal to the host wins",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "trustkit", "example.com", true, true, "1", NULL },
	    { "1.0", 1.0, "trustkit", "api.example.com", false, true, "7", NULL } },
	  "1 2 3", NULL,
	  { 1.0, 0, 0, false }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, -1, NULL, NULL, false },
	{ "trustkit: two includeSubdomains parents, either may be picked: worst case",
	  "a.api.example.com", 0.95,
	  { { "1.0", 1.0, "trustkit", "example.com", true, true, "7", NULL },
	    { "1.0", 1.0, "trustkit", "api.example.com", true, true, "1", NULL } },
	  "1 2 3", NULL,
	  /* key rotation to 7 fails api.example.com's pin set, to any other key
	   * example.com's */
	  { 1.0, 0, 0, false }, { 1.0, 0, 0, false }, { 1.0, 0, 0, false }, -1, NULL, NULL,
	  false },
	{ "trustkit: two parents that both accept",
	  "a.api.example.com", 0.95,
	  { { "1.0", 1.0, "trustkit", "example.com", true, true, "2", NULL },
	    { "1.0", 1.0, "trustkit", "api.example.com", true, true, "3", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, -1, NULL, NULL, false },
	{ "trustkit: TSKExcludeSubdomainFromParentPolicy (exact, not enforced) excludes",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "trustkit", "example.com", true, true, "7", NULL },
	    { "1.0", 1.0, "trustkit", "api.example.com", false, false, "", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 0, 0, 1, true }, -1, NULL, NULL, true },
	{ "nsc and okhttp in one version: both layers check the connection",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "nsc", "api.example.com", false, true, "1", NULL },
	    { "1.0", 1.0, "okhttp", "api.example.com", false, true, "7", NULL } },
	  "1 2 3", NULL,
	  /* the NSC layer pins only today's leaf: no new key passes both */
	  { 1.0, 0, 0, false }, { 1.0, 0, 0, false }, { 1.0, 0, 0, false }, -1, NULL, NULL,
	  false },
	{ "nsc and okhttp both accept",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "nsc", "api.example.com", false, true, "1 3", NULL },
	    { "1.0", 1.0, "okhttp", "api.example.com", false, true, "2", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, -1, NULL, NULL, false },
	{ "two layers, one new key: a key only one layer pins does not save the version",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "nsc", "api.example.com", false, true, "1 9b", NULL },
	    { "1.0", 1.0, "okhttp", "api.example.com", false, true, "1 8b", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 1.0, 0, 0, false }, { 0, 0, 1, true }, -1, NULL, NULL, false },
	{ "two layers, one new key both pin",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "nsc", "api.example.com", false, true, "1 9b", NULL },
	    { "1.0", 1.0, "okhttp", "api.example.com", false, true, "1 9b", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 0, 0, 1, true }, 9, NULL, NULL, false },
	{ "inventory and api: equally specific policies merged as before",
	  "x.example.com", 0.95,
	  { { "1.0", 1.0, "inventory", "**.example.com", false, true, "7", NULL },
	    { "1.0", 1.0, "api", "example.com", true, true, "1", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, -1, NULL, NULL, false },
};

static const struct gcase override_cases[] = {
	{ "overridePins on system: a chain validated by the trust store skips the pin check",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "nsc", "api.example.com", false, true, "7", "system" } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 0, 0, 1, true }, -1, NULL, NULL, false },
	{ "overridePins on system: a chain that did not validate is pin-checked",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "nsc", "api.example.com", false, true, "7", "system" } },
	  "", "1 2",
	  { 1.0, 0, 0, false }, { 0, 0, 1, true }, { 0, 0, 1, true }, -1, NULL, NULL, false },
	{ "overridePins on the chain's anchor certificate",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "nsc", "api.example.com", false, true, "1", "pin:3" } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, -1, NULL, NULL, false },
	{ "overridePins on an intermediate is not the anchor",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "nsc", "api.example.com", false, true, "7", "pin:2" } },
	  "1 2 3", NULL,
	  { 1.0, 0, 0, false }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, -1, NULL, NULL, false },
	{ "overridePins on user anchors never applies to a server's chain",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "nsc", "api.example.com", false, true, "7", "user" } },
	  "1 2 3", NULL,
	  { 1.0, 0, 0, false }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, -1, NULL, NULL, false },
	{ "an unread anchor file: the verdict assumes the pin check applies, and says so",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, "nsc", "api.example.com", false, true, "7", "@raw/corp_ca" } },
	  "1 2 3", NULL,
	  { 1.0, 0, 0, false }, { 0, 0, 1, true }, { 1.0, 0, 0, false }, -1,
	  "@raw/corp_ca", NULL, false },
};

static const struct gcase reason_cases[] = {
	{ "CA change safe with nobody stranded",
	  "api.example.com", 0.95,
	  { { "1.0", 1.0, NULL, "api.example.com", false, true, "1 9b", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 0, 0, 1, true }, 9,
	  "A CA change is safe for shop: every enforcing version", NULL, false },
	{ "CA change safe but still stranding a small version",
	  "api.example.com", 0.9,
	  { { "1.0", 0.95, NULL, "api.example.com", false, true, "1 9b", NULL },
	    { "2.0", 0.05, NULL, "api.example.com", false, true, "1", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0.05, 0, 0.95, true }, { 0.05, 0, 0.95, true }, 9,
	  "it would still strand 2.0 (5.0%), which carries no backup pin outside today's chain",
	  NULL, false },
	{ "CA change not ready, several versions",
	  "api.example.com", 0.95,
	  { { "1.0", 0.6, NULL, "api.example.com", false, true, "1", NULL },
	    { "2.0", 0.4, NULL, "api.example.com", false, true, "2", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0.6, 0, 0.4, false }, { 1.0, 0, 0, false }, 0,
	  "A CA change would strand 100.0% of shop users: 1.0 (60.0%) and 2.0 (40.0%) carry no "
	  "backup pin outside today's chain.", NULL, false },
	{ "CA change at risk only for a version without a figure",
	  "api.example.com", 0.95,
	  { { "1.0", 0.8, NULL, "api.example.com", false, true, "1 9b", NULL },
	    { "2.0", -1, NULL, "api.example.com", false, true, "2", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0, 0, 1, true }, { 0, 0.2, 0.8, false }, 9,
	  "A CA change would strand up to 20.0% of shop users: 2.0 (no adoption figure) carries "
	  "no backup pin outside today's chain", NULL, false },
	{ "now stranding one version",
	  "api.example.com", 0.95,
	  { { "1.0", 0.3, NULL, "api.example.com", false, true, "7", NULL },
	    { "2.0", 0.7, NULL, "api.example.com", false, true, "2 9b", NULL } },
	  "1 2 3", NULL,
	  { 0.3, 0, 0.7, false }, { 0, 0, 1, true }, { 0.3, 0, 0.7, false }, 7,
	  "Now 30.0% of shop users are stranded at a: 1.0 (30.0%) has no pin in the validated chain",
	  NULL, false },
	{ "key rotation not ready, several survivors to wait for",
	  "api.example.com", 0.95,
	  { { "1.0", 0.5, NULL, "api.example.com", false, true, "1", NULL },
	    { "2.0", 0.3, NULL, "api.example.com", false, true, "1 2", NULL },
	    { "3.0", 0.2, NULL, "api.example.com", false, true, "1 3", NULL } },
	  "1 2 3", NULL,
	  { 0, 0, 1, true }, { 0.5, 0, 0.5, false }, { 1.0, 0, 0, false }, 0,
	  "wait until 2.0 and 3.0 (a CA pin or the new key) reach 95.0%", NULL, false },
};
/* clang-format on */

static void test_rotation_key_any_role(void **state)
{
	run_gcases(state, rotation_key_cases, ARRAY_SIZE(rotation_key_cases));
}

static void test_shares_unaccounted_table(void **state)
{
	run_gcases(state, share_cases, ARRAY_SIZE(share_cases));
}

static void test_policy_selection_per_source(void **state)
{
	run_gcases(state, selection_cases, ARRAY_SIZE(selection_cases));
}

static void test_override_anchors_table(void **state)
{
	run_gcases(state, override_cases, ARRAY_SIZE(override_cases));
}

static void test_reasons_grammar_table(void **state)
{
	run_gcases(state, reason_cases, ARRAY_SIZE(reason_cases));
}

/* readiness_version_pins (pin lint): the same selection as the engine. */
static void test_version_pins_per_source(void **state)
{
	static const struct {
		const char *host;
		struct prow v[3];
		bool pins;
	} cases[] = {
		{ "api.example.com",
		  { { "1", 1, "nsc", "example.com", true, true, "7", NULL },
		    { "1", 1, "nsc", "api.example.com", false, false, "", NULL } },
		  false },
		{ "api.example.com",
		  { { "1", 1, "inventory", "**.example.com", false, true, "7", NULL },
		    { "1", 1, "inventory", "api.example.com", false, false, "", NULL } },
		  false },
		{ "api.example.com",
		  { { "1", 1, "okhttp", "**.example.com", false, true, "7", NULL },
		    { "1", 1, "okhttp", "api.example.com", false, false, "", NULL } },
		  true }, /* OkHttp has no exclusion: the other pattern still pins */
		{ "a.api.example.com",
		  { { "1", 1, "trustkit", "example.com", true, false, "7", NULL },
		    { "1", 1, "trustkit", "api.example.com", true, true, "7", NULL } },
		  true }, /* either parent may be picked: it may pin */
		{ "www.example.com",
		  { { "1", 1, "nsc", "api.example.com", true, true, "7", NULL } },
		  false },
	};
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		reset(state);
		size_t ai = app_add("shop", 0.9);
		size_t vi = ver_add(ai, "1", NULL);
		for (size_t i = 0; i < ARRAY_SIZE(cases[c].v) && cases[c].v[i].version; i++) {
			const struct prow *r = &cases[c].v[i];
			struct pin_policy *p =
				pol_add(ai, vi, r->pattern, r->incl, r->enforce, 0, r->pins);
			free(p->source); /* ib_policy() set "inventory" */
			p->source = strdup(r->source);
		}
		if (readiness_version_pins(&inv.apps[ai].versions[vi], cases[c].host, T) !=
		    cases[c].pins)
			fail_msg("case %zu", c);
	}
	reset(state);
}

/* What-if: overridePins against a candidate's anchor; bare pins name no anchor. */
static void test_whatif_override_anchor(void **state)
{
	(void)state;
	size_t ai = app_add("shop", 0.95);
	size_t vi = ver_add(ai, "1.0", NULL);
	adopt(ai, vi, T - DAY, 1.0);
	struct pin_policy *p = pol_add(ai, vi, "api.example.com", false, true, 0, "7");
	free(p->source); /* ib_policy() set "inventory" */
	p->source = strdup("nsc");
	override_add(p, "pin:6");
	struct readiness_index *idx = readiness_index_new(&inv);
	assert_non_null(idx);
	static const struct {
		const char *chain;
		bool bare;
		double stranded;
	} cases[] = {
		{ "4 5 6", false, 0 }, /* ends at the overriding anchor */
		{ "4 6 5", false, 1 }, /* the anchor key is not last */
		{ "4 5 6", true, 1 },  /* bare pins: no anchor known */
	};
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct readiness_chain cand = { 0 };
		chain_set(&cand, cases[c].chain, T + 400 * DAY);
		for (size_t i = 0; cases[c].bare && i < cand.ncerts; i++)
			readiness_cert_free(&cand.certs[i]);
		struct readiness_whatif w;
		assert_int_equal(readiness_whatif_eval(idx, "api.example.com", &cand, NULL, T, &w),
				 0);
		if (!near(w.apps[0].candidate.stranded_share, cases[c].stranded))
			fail_msg("case %zu: %.3f", c, w.apps[0].candidate.stranded_share);
		check_grammar("whatif", &w.apps[0].reasons);
		if (reasons_contain(&w.apps[0].reasons, "bare pins name no trust anchor") !=
		    cases[c].bare)
			fail_msg("case %zu: the bare-pins note is %s", c,
				 cases[c].bare ? "missing" : "wrong");
		readiness_whatif_free(&w);
		readiness_chain_free(&cand);
	}
	readiness_index_free(idx);
	reset(state);
}

/* Issue 14, defect 3: a leaf expiring in 3 days, a same-key renewal and a key
 * rotation that strand nobody, one version without an adoption figure: no
 * critical severity and no rotation_not_ready alert for "0.0% stranded". When
 * a version without a figure is at risk, the alert says "up to", not 0.0%. */
static void test_alerts_no_rotation_alert_for_nobody_stranded(void **state)
{
	static const struct {
		const char *pins_unknown; /* pins of the version without a figure */
		bool alert;
	} cases[] = {
		{ "1 2", false }, /* it pins the intermediate: survives */
		{ "1", true },	  /* it pins only today's leaf: at risk, users unaccounted */
	};
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		reset(state);
		size_t ai = app_add("shop-android", 0.95);
		size_t v1 = ver_add(ai, "4.1.0", NULL);
		size_t v2 = ver_add(ai, "4.2.0", NULL);
		adopt(ai, v1, T - DAY, 0.6);
		pol_add(ai, v1, "api.example.com", false, true, 0, "1 2");
		pol_add(ai, v2, "api.example.com", false, true, 0, cases[c].pins_unknown);
		size_t ei = ep_add("api.example.com", NULL);
		inv.endpoints[ei].enabled = true;
		struct readiness_address *a = addr_add(ei, "192.0.2.1", "ok", "1 2 3", NULL);
		a->validated.certs[0].not_after = T + 3 * DAY;
		struct run r;
		run_eval(&r, T);
		if (!cases[c].alert)
			assert_int_not_equal(r.rep.eps[ei].severity, SEVERITY_CRITICAL);
		struct config cfg;
		config_defaults(&cfg);
		struct alerts_condv v = { 0 };
		char err[256];
		assert_int_equal(alerts_conds_from_readiness(&r.rep, &cfg, &v, err, sizeof(err)),
				 0);
		const struct alert_cond *rn = NULL;
		for (size_t i = 0; i < v.n; i++) {
			if (v.v[i].kind == ALERT_STRANDING_NOW)
				fail_msg("case %zu: stranding_now: %s", c, v.v[i].summary);
			if (v.v[i].kind == ALERT_ROTATION_NOT_READY)
				rn = &v.v[i];
		}
		if (!cases[c].alert && rn)
			fail_msg("case %zu: rotation alert: %s", c, rn->summary);
		if (cases[c].alert) {
			assert_non_null(rn);
			if (strstr(rn->summary, " 0.0%") || !strstr(rn->summary, "up to 40.0%"))
				fail_msg("case %zu: %s", c, rn->summary);
		}
		alerts_condv_free(&v);
		run_free(&r);
	}
	reset(state);
}

static void test_reasons_name_versions_shares_pins(void **state)
{
	(void)state;
	size_t ai = app_add("shop-android", 0.95);
	size_t v1 = ver_add(ai, "4.1.0", "2026-03-01");
	size_t v2 = ver_add(ai, "4.2.0", "2026-05-01");
	size_t v3 = ver_add(ai, "4.3.0", "2026-09-01");
	adopt(ai, v1, T - DAY, 0.155);
	adopt(ai, v2, T - DAY, 0.075);
	adopt(ai, v3, T - DAY, 0.77);
	pol_add(ai, v1, "api.example.com", false, true, 0, "1");
	pol_add(ai, v2, "api.example.com", false, true, 0, "1");
	pol_add(ai, v3, "api.example.com", false, true, 0, "1 9b");
	size_t ei = ep_add("api.example.com", NULL);
	addr_add(ei, "192.0.2.1", "ok", "1 2 3", NULL);
	struct run r;
	run_eval(&r, T);
	const struct readiness_app_verdict *v = app_of(&r, ei, "shop-android");
	assert_non_null(v);
	assert_true(near(v->key_rotation.stranded_share, 0.23));
	char leaf[32];
	readiness_pin_short(obs.eps[ei].addrs[0].validated.certs[0].pin, leaf, sizeof(leaf));
	bool found = false;
	for (size_t i = 0; i < v->reasons.n; i++) {
		const char *s = v->reasons.v[i];
		if (strstr(s, "Key rotation would strand 23.0% of shop-android users") &&
		    strstr(s, "4.1.0 (15.5%) and 4.2.0 (7.5%)") && strstr(s, leaf) &&
		    strstr(s, "renew with the same key") && strstr(s, "4.3.0"))
			found = true;
	}
	if (!found)
		fail_msg("reasons: %s", v->reasons.n > 1 ? v->reasons.v[1] : "(none)");
	assert_true(reasons_contain(&v->reasons, "Now nobody is stranded"));
	uint8_t nine[32];
	pin_id(nine, 9);
	assert_true(v->key_rotation.has_rotation_key);
	assert_memory_equal(v->key_rotation.rotation_key, nine, 32);
	run_free(&r);
}

/* Users stranded now: the reasons say what to do, with the numbers (roll back
 * to the previous chain, or move to a spare key and who that still strands),
 * and never offer a key another host serves as the spare. */
static const char *advice_of(const struct readiness_app_verdict *v)
{
	for (size_t i = 0; i < v->reasons.n; i++)
		if (strstr(v->reasons.v[i], "To restore service for shop"))
			return v->reasons.v[i];
	return NULL;
}

static void test_incident_guidance(void **state)
{
	(void)state;
	size_t ai = app_add("shop", 0.9);
	size_t v1 = ver_add(ai, "2.0", NULL);
	size_t v2 = ver_add(ai, "1.0", NULL);
	adopt(ai, v1, T - DAY, 0.6);
	adopt(ai, v2, T - DAY, 0.4);
	/* 2.0 pins the old leaf 1 and the spare 9; 1.0 pins the intermediate 2 */
	pol_add(ai, v1, "api.example.com", false, true, 0, "1 9b");
	pol_add(ai, v2, "api.example.com", false, true, 0, "2");
	size_t ei = ep_add("api.example.com", NULL);
	/* the address moved from leaf 1 to the unpinned leaf 5 yesterday */
	struct readiness_address *a = addr_add(ei, "192.0.2.1", "ok", "5 2 3", NULL);
	a->first_seen = T - DAY;
	chain_set(&a->previous, "1 2 3", T + 100 * DAY);
	char old[32], nine[32];
	uint8_t k9[32];
	pin_id(k9, 9);
	readiness_pin_short(a->previous.certs[0].pin, old, sizeof(old));
	readiness_pin_short(k9, nine, sizeof(nine));

	/* The best key to move to is the old leaf key: the advice is the roll-back. */
	struct run r;
	run_eval(&r, T);
	const struct readiness_app_verdict *v = app_of(&r, ei, "shop");
	assert_true(near(v->now.stranded_share, 0.6));
	const char *adv = advice_of(v);
	if (!adv || !strstr(adv, "roll back to the chain 192.0.2.1 presented until 2026-11-30") ||
	    !strstr(adv, old) || !strstr(adv, "which every enforcing version accepts") ||
	    strstr(adv, "move the leaf"))
		fail_msg("advice: %s", adv ? adv : "(none)");
	run_free(&r);

	/* Another host serves key 1 as its leaf: the spare 9 is offered as well. */
	size_t e2 = ep_add("www.example.com", NULL);
	addr_add(e2, "192.0.2.8", "ok", "1 2 3", NULL);
	run_eval(&r, T);
	v = app_of(&r, ei, "shop");
	adv = advice_of(v);
	if (!adv || !strstr(adv, "roll back") || !strstr(adv, "; or move the leaf to the key") ||
	    !strstr(adv, nine))
		fail_msg("advice with key 1 live elsewhere: %s", adv ? adv : "(none)");
	run_free(&r);

	/* A third host serves key 9: no spare is left, and 9 is never named. */
	size_t e3 = ep_add("cdn.example.com", NULL);
	addr_add(e3, "192.0.2.9", "ok", "9 2 3", NULL);
	run_eval(&r, T);
	v = app_of(&r, ei, "shop");
	assert_false(v->key_rotation.has_rotation_key);
	char offer1[64], offer2[64];
	snprintf(offer1, sizeof(offer1), "to the key %s", nine);
	snprintf(offer2, sizeof(offer2), "rotate to the key %s", nine);
	for (size_t i = 0; i < v->reasons.n; i++)
		if (strstr(v->reasons.v[i], offer1) || strstr(v->reasons.v[i], offer2))
			fail_msg("another host's live key is offered: %s", v->reasons.v[i]);
	adv = advice_of(v);
	assert_non_null(adv);
	assert_non_null(strstr(adv, "roll back"));
	run_free(&r);
}

/* Nothing to roll back to and no spare key: the advice says so; nobody
 * stranded: no advice. */
static void test_incident_guidance_no_way_back(void **state)
{
	(void)state;
	size_t ai = app_add("shop", 0.9);
	size_t vi = ver_add(ai, "1.0", NULL);
	adopt(ai, vi, T - DAY, 1.0);
	pol_add(ai, vi, "**.example.com", false, true, 0, "1");
	size_t ei = ep_add("api.example.com", NULL);
	addr_add(ei, "192.0.2.1", "ok", "5 2 3", NULL);
	size_t e2 = ep_add("www.example.com", NULL);
	addr_add(e2, "192.0.2.2", "ok", "1 2 3", NULL);
	struct run r;
	run_eval(&r, T);
	const struct readiness_app_verdict *v = app_of(&r, ei, "shop");
	const char *adv = advice_of(v);
	if (!adv || !strstr(adv, "no earlier chain is on record"))
		fail_msg("advice: %s", adv ? adv : "(none)");
	assert_null(advice_of(app_of(&r, e2, "shop")));
	run_free(&r);
}

static void test_presented_fallback_is_said(void **state)
{
	(void)state;
	size_t ai = app_add("shop", 0.9);
	size_t vi = ver_add(ai, "1.0", NULL);
	adopt(ai, vi, T, 1.0);
	pol_add(ai, vi, "api.example.com", false, true, 0, "1");
	size_t ei = ep_add("api.example.com", NULL);
	addr_add(ei, "192.0.2.1", "untrusted", "", "1 2");
	struct run r;
	run_eval(&r, T);
	const struct readiness_endpoint_verdict *ev = &r.rep.eps[ei];
	assert_true(reasons_contain(&ev->reasons, "checked against the presented chain"));
	assert_true(ev->failing);
	assert_int_equal(ev->severity, SEVERITY_WARNING);
	assert_true(near(app_of(&r, ei, "shop")->now.stranded_share, 0));
	run_free(&r);
}

/* ---- Expiry ----------------------------------------------------------- */

static void test_expiry_table(void **state)
{
	static const struct {
		const char *name;
		int64_t leaf_left_s, ca_left_s; /* not_after - T of the leaf and of the CA certs */
		const char *pins;		/* of the only version (share 1.0) */
		int64_t days_left;
		bool leaf;
		enum severity sev;
	} cases[] = {
		/* "2" pins the intermediate: key rotation ready, CA change not */
		{ "leaf expires exactly at T", 0, 400 * DAY, "2", 0, true, SEVERITY_INFO },
		{ "leaf expired one second ago", -1, 400 * DAY, "2", -1, true, SEVERITY_CRITICAL },
		{ "31 days, rotation ready", 31 * DAY, 400 * DAY, "2 9b", 31, true, SEVERITY_OK },
		{ "30 days, rotation ready", 30 * DAY, 400 * DAY, "2 9b", 30, true, SEVERITY_INFO },
		/* "1": leaf only: key rotation not ready, same-key renewal ready */
		{ "20 days, rotation not ready", 20 * DAY, 400 * DAY, "1", 20, true,
		  SEVERITY_INFO },
		{ "14 days, rotation not ready", 14 * DAY, 400 * DAY, "1", 14, true,
		  SEVERITY_WARNING },
		{ "7 days, same key is a safe path", 7 * DAY, 400 * DAY, "1", 7, true,
		  SEVERITY_WARNING },
		{ "CA expires in 7 days, CA change not ready", 400 * DAY, 7 * DAY, "1 2", 7, false,
		  SEVERITY_CRITICAL },
		{ "CA expires in 8 days, CA change not ready", 400 * DAY, 8 * DAY, "1 2", 8, false,
		  SEVERITY_WARNING },
		{ "CA expires in 7 days, CA change ready", 400 * DAY, 7 * DAY, "1 9b", 7, false,
		  SEVERITY_INFO },
	};
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		reset(state);
		size_t ai = app_add("shop", 0.95);
		size_t vi = ver_add(ai, "1.0", NULL);
		adopt(ai, vi, T, 1.0);
		pol_add(ai, vi, "api.example.com", false, true, 0, cases[c].pins);
		size_t ei = ep_add("api.example.com", NULL);
		struct readiness_address *a = addr_add(ei, "192.0.2.1", "ok", "1 2 3", NULL);
		for (size_t i = 0; i < a->validated.ncerts; i++)
			a->validated.certs[i].not_after =
				T + (i == 0 ? cases[c].leaf_left_s : cases[c].ca_left_s);
		struct run r;
		run_eval(&r, T);
		const struct readiness_endpoint_verdict *ev = &r.rep.eps[ei];
		assert_true(ev->expiry.known);
		if (ev->expiry.days_left != cases[c].days_left ||
		    ev->expiry.leaf != cases[c].leaf || ev->severity != cases[c].sev)
			fail_msg("%s: days %lld leaf %d severity %s", cases[c].name,
				 (long long)ev->expiry.days_left, ev->expiry.leaf,
				 severity_name(ev->severity));
		run_free(&r);
	}
	reset(state);
}

/* ---- Drift, disagreement, coverage ----------------------------------- */

static void test_drift_and_disagreement(void **state)
{
	(void)state;
	size_t ai = app_add("shop", 0.5);
	size_t vi = ver_add(ai, "1.0", NULL);
	adopt(ai, vi, T, 1.0);
	pol_add(ai, vi, "**.example.com", false, true, 0, "2 9b");
	size_t e0 = ep_add("a.example.com", NULL);
	struct readiness_address *a = addr_add(e0, "192.0.2.1", "ok", "1 2 3", NULL);
	a->first_seen = T - 2 * DAY;
	chain_set(&a->previous, "4 2 3", T);
	size_t e1 = ep_add("b.example.com", NULL);
	a = addr_add(e1, "192.0.2.2", "ok", "1 2 3", NULL);
	a->first_seen = T - 20 * DAY; /* outside the 7-day drift window */
	chain_set(&a->previous, "4 2 3", T);
	size_t e2 = ep_add("c.example.com", NULL);
	addr_add(e2, "192.0.2.3", "ok", "1 2 3", NULL);
	addr_add(e2, "192.0.2.4", "ok", "5 2 3", NULL);
	struct run r;
	run_eval(&r, T);
	assert_true(r.rep.eps[e0].drift);
	assert_true(reasons_contain(&r.rep.eps[e0].reasons, "changed chain on 2026-11-29"));
	assert_false(r.rep.eps[e1].drift);
	assert_false(r.rep.eps[e0].disagree);
	assert_true(r.rep.eps[e2].disagree);
	assert_int_equal(r.rep.eps[e2].severity, SEVERITY_WARNING);
	assert_true(reasons_contain(&r.rep.eps[e2].reasons, "present different chains"));
	run_free(&r);
}

static void test_coverage_gaps(void **state)
{
	(void)state;
	size_t ai = app_add("shop", 0.5);
	size_t vi = ver_add(ai, "1.0", NULL);
	adopt(ai, vi, T, 1.0);
	pol_add(ai, vi, "api.example.com", false, true, 0, "1 9b");
	pol_add(ai, vi, "*.typo-example.com", false, true, 0, "1 9b");
	pol_add(ai, vi, "report.example.com", false, false, 0, "1 9b");
	size_t e0 = ep_add("api.example.com", NULL);
	size_t e1 = ep_add("www.example.com", NULL);
	size_t e2 = ep_add("staging.example.com", "staging");
	size_t e3 = ep_add("report.example.com", NULL);
	addr_add(e0, "192.0.2.1", "ok", "1 2 3", NULL);
	struct run r;
	run_eval(&r, T);
	assert_false(r.rep.eps[e0].unprotected);
	assert_true(r.rep.eps[e1].unprotected);
	assert_false(r.rep.eps[e2].unprotected); /* not production */
	assert_true(r.rep.eps[e3].unprotected);	 /* report-only is not pinning */
	assert_true(reasons_contain(&r.rep.eps[e3].apps[0].reasons, "does not enforce"));
	size_t unused = 0;
	for (size_t i = 0; i < r.rep.findings.nfindings; i++)
		if (r.rep.findings.findings[i].id == LINT_PATTERN_UNMATCHED) {
			unused++;
			assert_string_equal(r.rep.findings.findings[i].policy_ref->pattern,
					    "*.typo-example.com");
		}
	assert_int_equal(unused, 1);
	run_free(&r);
}

/* ---- Findings: stale, single pin, no backup --------------------------- */

static size_t count_findings(const struct run *r, enum lint_rule_id k, const char *ver)
{
	size_t n = 0;
	for (size_t i = 0; i < r->rep.findings.nfindings; i++)
		if (r->rep.findings.findings[i].id == k &&
		    (!ver || (r->rep.findings.findings[i].version &&
			      strcmp(r->rep.findings.findings[i].version, ver) == 0)))
			n++;
	return n;
}

static void test_stale_pins_table(void **state)
{
	static const struct {
		const char *name;
		int64_t history_days;  /* observed for this long */
		int64_t last_seen_ago; /* pin 5 last seen this many days ago; -1 never */
		size_t stale;
	} cases[] = {
		{ "not seen for 40 days", 60, 40, 1 },
		{ "seen 10 days ago", 60, 10, 0 },
		{ "seen exactly 30 days ago", 60, 30, 0 },
		{ "never seen, long history", 60, -1, 1 },
		{ "never seen, history too short", 10, -1, 0 },
	};
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		reset(state);
		size_t ai = app_add("shop", 0.5);
		size_t old = ver_add(ai, "1.0", "2026-01-01");
		size_t vi = ver_add(ai, "2.0", "2026-06-01");
		pol_add(ai, old, "api.example.com", false, true, 0, "5");
		/* newest: current 1 (seen now), current 5, backup 9 (never seen: fine) */
		pol_add(ai, vi, "api.example.com", false, true, 0, "1 5 9b");
		size_t ei = ep_add("api.example.com", NULL);
		addr_add(ei, "192.0.2.1", "ok", "1 2 3", NULL);
		struct readiness_observed *o = &obs.eps[ei];
		o->history_since = T - cases[c].history_days * DAY;
		o->seen = calloc(2, sizeof(*o->seen));
		pin_id(o->seen[0].pin, 1);
		o->seen[0].last_seen = T;
		o->nseen = 1;
		if (cases[c].last_seen_ago >= 0) {
			pin_id(o->seen[1].pin, 5);
			o->seen[1].last_seen = T - cases[c].last_seen_ago * DAY;
			o->nseen = 2;
		}
		struct run r;
		run_eval(&r, T);
		size_t got = count_findings(&r, LINT_STALE_PIN, NULL);
		if (got != cases[c].stale)
			fail_msg("%s: %zu stale findings", cases[c].name, got);
		assert_int_equal(count_findings(&r, LINT_STALE_PIN, "1.0"), 0);
		run_free(&r);
	}
	reset(state);
}

static void test_single_pin_and_no_backup(void **state)
{
	(void)state;
	size_t ai = app_add("shop", 0.5);
	size_t v1 = ver_add(ai, "1.0", "2026-01-01");
	size_t v2 = ver_add(ai, "2.0", "2026-02-01");
	size_t v3 = ver_add(ai, "3.0", "2026-03-01");
	size_t v4 = ver_add(ai, "4.0", "2026-04-01");
	pol_add(ai, v1, "api.example.com", false, true, 0, "1");
	pol_add(ai, v2, "api.example.com", false, true, 0, "1 2");
	pol_add(ai, v3, "api.example.com", false, true, 0, "1 9b");
	pol_add(ai, v4, "api.example.com", false, false, 0, "1"); /* report-only: no lint */
	ep_add("api.example.com", NULL);
	struct run r;
	run_eval(&r, T);
	assert_int_equal(count_findings(&r, LINT_TOO_FEW_PINS, "1.0"), 1);
	assert_int_equal(count_findings(&r, LINT_NO_BACKUP_PIN, "1.0"), 0);
	assert_int_equal(count_findings(&r, LINT_NO_BACKUP_PIN, "2.0"), 1);
	assert_int_equal(count_findings(&r, LINT_TOO_FEW_PINS, "3.0"), 0);
	assert_int_equal(count_findings(&r, LINT_NO_BACKUP_PIN, "3.0"), 0);
	assert_int_equal(count_findings(&r, LINT_TOO_FEW_PINS, "4.0"), 0);
	run_free(&r);
}

/* ---- Forecast --------------------------------------------------------- */

static void test_forecast(void **state)
{
	static const struct {
		const char *name;
		size_t nsamples;
		double backup_share[4]; /* share of 2.0 (backup pin) at T-90, T-60, T-30, T */
		bool available;
		int64_t days; /* expected forecast T + days */
	} cases[] = {
		{ "linear rise", 3, { 0.5, 0.7, 0.9 }, true, 8 },
		{ "two samples are not enough", 2, { 0.5, 0.7 }, false, 0 },
		{ "falling share: no date", 3, { 0.9, 0.8, 0.7 }, false, 0 },
		{ "four samples", 4, { 0.3, 0.5, 0.7, 0.9 }, true, 8 },
	};
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		reset(state);
		size_t ai = app_add("shop", 0.95);
		size_t v1 = ver_add(ai, "1.0", NULL);
		size_t v2 = ver_add(ai, "2.0", NULL);
		pol_add(ai, v1, "api.example.com", false, true, 0, "1");
		pol_add(ai, v2, "api.example.com", false, true, 0, "1 9b");
		size_t n = cases[c].nsamples;
		for (size_t i = 0; i < n; i++) {
			time_t at = T - (time_t)(n - 1 - i) * 30 * DAY;
			adopt(ai, v1, at, 1.0 - cases[c].backup_share[i]);
			adopt(ai, v2, at, cases[c].backup_share[i]);
		}
		size_t ei = ep_add("api.example.com", NULL);
		addr_add(ei, "192.0.2.1", "ok", "1 2 3", NULL);
		struct run r;
		run_eval(&r, T);
		const struct readiness_app_verdict *v = app_of(&r, ei, "shop");
		assert_non_null(v);
		assert_false(v->key_rotation.ready);
		if (v->forecast.available != cases[c].available)
			fail_msg("%s: available %d (%s)", cases[c].name, v->forecast.available,
				 v->forecast.basis);
		if (cases[c].available && v->forecast.date != T + cases[c].days * DAY)
			fail_msg("%s: date off by %lld s (%s)", cases[c].name,
				 (long long)(v->forecast.date - (T + cases[c].days * DAY)),
				 v->forecast.basis);
		if (n < 3)
			assert_non_null(strstr(v->forecast.basis, "not enough data"));
		assert_true(reasons_contain(&v->reasons,
					    cases[c].available ? "forecast 20" : "no forecast"));
		run_free(&r);
	}
	reset(state);
}

/* ---- What-if ---------------------------------------------------------- */

static void test_whatif_table(void **state)
{
	(void)state;
	size_t ai = app_add("shop", 0.95);
	size_t v1 = ver_add(ai, "1.0", NULL);
	size_t v2 = ver_add(ai, "2.0", NULL);
	size_t v3 = ver_add(ai, "3.0", NULL);
	adopt(ai, v1, T - DAY, 0.2);
	adopt(ai, v2, T - DAY, 0.3);
	adopt(ai, v3, T - DAY, 0.5);
	pol_add(ai, v1, "api.example.com", false, true, T + 30 * DAY, "1");
	pol_add(ai, v2, "api.example.com", false, true, 0, "1 9b");
	pol_add(ai, v3, "api.example.com", false, true, 0, "3 9b");
	struct readiness_index *idx = readiness_index_new(&inv);
	assert_non_null(idx);
	static const struct {
		const char *chain;
		int64_t at_days;
		double stranded;
	} cases[] = {
		{ "1 2 3", 0, 0 },   /* today's chain */
		{ "8 2 3", 0, 0.5 }, /* new leaf key, same CA: 1.0 and 2.0 stranded */
		{ "9 2 3", 0, 0.2 }, /* rotate to the backup key: 1.0 stranded */
		{ "9 2 3", 30, 0 },  /* ... after 1.0's pin set expired (exactly at expiry) */
		{ "9", 0, 0.2 },     /* bare pin */
		{ "7 6", 0, 1.0 },   /* everything new */
	};
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct readiness_chain cand = { 0 };
		chain_set(&cand, cases[c].chain, T + 400 * DAY);
		struct readiness_whatif w;
		assert_int_equal(readiness_whatif_eval(idx, "api.example.com", &cand, NULL,
						       T + cases[c].at_days * DAY, &w),
				 0);
		assert_int_equal(w.napps, 1);
		if (!near(w.apps[0].candidate.stranded_share, cases[c].stranded))
			fail_msg("case %zu: %.3f", c, w.apps[0].candidate.stranded_share);
		assert_true(near(w.max_stranded, cases[c].stranded));
		assert_false(w.apps[0].current.evaluated);
		assert_true(w.apps[0].reasons.n > 0);
		json_t *j = readiness_whatif_json(&w, "api.example.com", 443, 0, &cand);
		assert_non_null(j);
		json_decref(j);
		readiness_whatif_free(&w);
		readiness_chain_free(&cand);
	}
	/* Bad input */
	struct readiness_chain empty = { 0 };
	struct readiness_whatif w;
	assert_int_equal(readiness_whatif_eval(idx, "api.example.com", &empty, NULL, T, &w),
			 -EINVAL);
	readiness_index_free(idx);
}

/* ---- JSON contract (docs/readiness.md JSON shape / what-if) ------------ */

static void has(json_t *o, const char *key, int type)
{
	json_t *v = json_object_get(o, key);
	if (!v || (type >= 0 && json_typeof(v) != (json_type)type &&
		   !(type == JSON_REAL && json_is_integer(v)) &&
		   !(type == JSON_TRUE && json_is_boolean(v))))
		fail_msg("JSON field '%s' missing or of the wrong type", key);
}

static void check_scenario_json(json_t *s)
{
	has(s, "stranded_share", JSON_REAL);
	has(s, "unknown_share", JSON_REAL);
	has(s, "ready", JSON_TRUE);
	has(s, "stranded_versions", JSON_ARRAY);
	json_t *v;
	size_t i;
	json_array_foreach(json_object_get(s, "stranded_versions"), i, v)
	{
		has(v, "version", JSON_STRING);
		has(v, "share", -1); /* a number, or null when the adoption is unknown */
	}
}

static void test_json_contract(void **state)
{
	(void)state;
	size_t ai = app_add("shop", 0.95);
	size_t v1 = ver_add(ai, "1.0", NULL);
	size_t v2 = ver_add(ai, "2.0", NULL);
	adopt(ai, v1, T - DAY, 0.4);
	pol_add(ai, v1, "api.example.com", false, true, 0, "7");
	pol_add(ai, v2, "api.example.com", false, true, 0, "8"); /* no adoption figure */
	size_t ei = ep_add("api.example.com", NULL);
	addr_add(ei, "192.0.2.1", "ok", "1 2 3", "1 2");
	struct run r;
	run_eval(&r, T);
	json_t *rep = readiness_report_json(&r.rep);
	assert_non_null(rep);
	json_t *ep = json_array_get(json_object_get(rep, "endpoints"), 0);
	has(ep, "host", JSON_STRING);
	has(ep, "port", JSON_INTEGER);
	has(ep, "severity", JSON_STRING);
	assert_string_equal(json_string_value(json_object_get(ep, "severity")), "critical");
	has(ep, "addresses", JSON_ARRAY);
	json_t *a = json_array_get(json_object_get(ep, "addresses"), 0);
	has(a, "address", JSON_STRING);
	has(a, "outcome", JSON_STRING);
	has(a, "chain", JSON_ARRAY);
	json_t *c = json_array_get(json_object_get(a, "chain"), 2); /* the anchor, not sent */
	has(c, "subject", JSON_STRING);
	has(c, "issuer", JSON_STRING);
	has(c, "not_after", JSON_STRING);
	has(c, "pin", JSON_STRING);
	char b64[48];
	assert_string_equal(json_string_value(json_object_get(c, "pin")),
			    util_pin_b64(obs.eps[ei].addrs[0].validated.certs[2].pin, b64));
	has(ep, "expiry", JSON_OBJECT);
	has(json_object_get(ep, "expiry"), "not_after", JSON_STRING);
	has(json_object_get(ep, "expiry"), "days_left", JSON_INTEGER);
	has(ep, "reasons", JSON_ARRAY);
	has(ep, "apps", JSON_ARRAY);
	json_t *app = json_array_get(json_object_get(ep, "apps"), 0);
	has(app, "app", JSON_STRING);
	has(app, "reasons", JSON_ARRAY);
	static const char *const scen[] = { "now", "key_rotation", "ca_change",
					    "same_key_renewal" };
	for (size_t i = 0; i < ARRAY_SIZE(scen); i++) {
		has(app, scen[i], JSON_OBJECT);
		check_scenario_json(json_object_get(app, scen[i]));
	}
	json_t *now = json_object_get(app, "now");
	assert_true(fabs(json_number_value(json_object_get(now, "stranded_share")) - 0.4) < 1e-9);
	assert_true(fabs(json_number_value(json_object_get(now, "unknown_share")) - 0.6) < 1e-9);
	json_t *sv = json_object_get(now, "stranded_versions");
	assert_int_equal(json_array_size(sv), 2);
	assert_true(json_is_null(json_object_get(json_array_get(sv, 1), "share")));
	json_decref(rep);

	/* What-if */
	struct readiness_chain cand = { 0 };
	chain_set(&cand, "9", T + 400 * DAY);
	struct readiness_whatif w;
	assert_int_equal(
		readiness_whatif_eval(r.idx, "api.example.com", &cand, &obs.eps[ei], T, &w), 0);
	json_t *wj = readiness_whatif_json(&w, "api.example.com", 443, 0, &cand);
	json_t *wa = json_array_get(json_object_get(wj, "apps"), 0);
	has(wa, "app", JSON_STRING);
	check_scenario_json(wa);
	assert_true(json_is_true(json_object_get(wj, "risk")));
	json_decref(wj);
	readiness_whatif_free(&w);
	readiness_chain_free(&cand);
	run_free(&r);
}

/* ---- Properties over generated inventories ---------------------------- */

static uint32_t rng_state = 12345;
static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return (rng_state >> 16) % n;
}

static const char *const gen_patterns[] = { "api.example.com", "*.example.com", "**.example.com",
					    "example.com", "x.api.example.com" };

static void gen_inventory(void)
{
	size_t ai = app_add("gen", 0.3 + 0.1 * rnd(7));
	size_t nv = 1 + rnd(7);
	for (size_t i = 0; i < nv; i++) {
		char name[16];
		snprintf(name, sizeof(name), "%zu.0", i);
		size_t vi = ver_add(ai, name, NULL);
		if (rnd(5))
			adopt(ai, vi, T - DAY, (double)rnd(30) / 100.0);
		size_t np = 1 + rnd(2);
		for (size_t p = 0; p < np; p++) {
			char pins[32] = "";
			size_t n = 1 + rnd(3);
			for (size_t k = 0; k < n; k++) {
				size_t len = strlen(pins);
				snprintf(pins + len, sizeof(pins) - len, "%u%s ", 1 + rnd(8),
					 rnd(3) == 0 ? "b" : "");
			}
			pol_add(ai, vi, gen_patterns[rnd(ARRAY_SIZE(gen_patterns))], rnd(2),
				rnd(6) != 0, rnd(5) == 0 ? T + ((time_t)rnd(3) - 1) * DAY : 0,
				pins);
		}
	}
	size_t ei = ep_add(rnd(2) ? "api.example.com" : "x.api.example.com", NULL);
	char chain[16];
	snprintf(chain, sizeof(chain), "%u %u %u", 1 + rnd(8), 1 + rnd(8), 1 + rnd(8));
	addr_add(ei, "a", "ok", chain, NULL);
}

struct figures {
	double s[3], u[3];
};

static bool figures_of(struct figures *f)
{
	struct run r;
	run_eval(&r, T);
	const struct readiness_app_verdict *v = app_of(&r, 0, "gen");
	bool have = v != NULL;
	if (v) {
		const struct readiness_scenario *sc[3] = { &v->now, &v->key_rotation,
							   &v->ca_change };
		for (int i = 0; i < 3; i++) {
			f->s[i] = sc[i]->stranded_share;
			f->u[i] = sc[i]->unknown_share;
			/* surviving counts known shares only, so the three never
			 * exceed 1 (they make 1 when every user has a figure) */
			assert_true(sc[i]->surviving_share + sc[i]->stranded_share +
					    sc[i]->unknown_share <=
				    1.0 + 1e-9);
		}
	}
	run_free(&r);
	return have;
}

static void test_property_adding_a_pin_never_increases_stranded(void **state)
{
	for (int iter = 0; iter < 400; iter++) {
		reset(state);
		gen_inventory();
		struct figures before, after;
		if (!figures_of(&before))
			continue;
		struct app *a = &inv.apps[0];
		struct app_version *v = &a->versions[rnd((uint32_t)a->nversions)];
		struct pin_policy *p = &v->policies[rnd((uint32_t)v->npolicies)];
		/* add a pin (an empty pin set would become enforcing: not "adding a pin") */
		p->pins = realloc(p->pins, (p->npins + 1) * sizeof(*p->pins));
		assert_non_null(p->pins);
		pin_id(p->pins[p->npins].sha256, 1 + rnd(9));
		p->pins[p->npins++].role = rnd(2) ? PIN_BACKUP : PIN_CURRENT;
		assert_true(figures_of(&after));
		for (int i = 0; i < 3; i++) {
			/* key rotation (i == 1) picks the backup key with the least stranded
			 * share, then unknown: (stranded, unknown) never grows in that order */
			bool worse = after.s[i] > before.s[i] + 1e-12 ||
				     (after.u[i] > before.u[i] + 1e-12 &&
				      (i != 1 || after.s[i] > before.s[i] - 1e-12));
			if (worse)
				fail_msg("iter %d scenario %d: %.3f/%.3f -> %.3f/%.3f", iter, i,
					 before.s[i], before.u[i], after.s[i], after.u[i]);
		}
	}
	reset(state);
}

static void test_property_removing_adoption_never_increases_stranded(void **state)
{
	for (int iter = 0; iter < 400; iter++) {
		reset(state);
		gen_inventory();
		struct figures before, after;
		if (!figures_of(&before))
			continue;
		struct app *a = &inv.apps[0];
		struct app_version *v = &a->versions[rnd((uint32_t)a->nversions)];
		v->nadoption = 0; /* this version's figure goes away */
		assert_true(figures_of(&after));
		for (int i = 0; i < 3; i++)
			if (after.s[i] > before.s[i] + 1e-12)
				fail_msg("iter %d scenario %d: %.3f -> %.3f", iter, i, before.s[i],
					 after.s[i]);
	}
	reset(state);
}

/* Sentences are cut at RD_SB_MAX bytes as the old fixed buffer cut them: the
 * text is the head of everything added, whichever adder crosses the cap. */
static void test_sentence_cut_table(void **state)
{
	(void)state;
	static const struct {
		size_t pieces[4]; /* lengths of the pieces added, 0 ends */
		bool formatted;	  /* rd_sb_add("%s") instead of rd_sb_str() */
	} cases[] = {
		{ { 3 }, false },
		{ { 3 }, true },
		{ { RD_SB_MAX }, false },
		{ { RD_SB_MAX }, true },
		{ { RD_SB_MAX + 1 }, false },
		{ { RD_SB_MAX + 1 }, true },
		{ { RD_SB_MAX - 1, 1, 1 }, false },
		{ { RD_SB_MAX - 1, 2 }, true },
		{ { 1000, 1000, 1000 }, true },
		{ { 1000, 1000, 1000 }, false },
		{ { RD_SB_MAX, 5, 7 }, true },
		{ { 4000 }, true },
	};
	static char src[4096];
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)('a' + i % 26);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct strbuf sb = rd_sb_new();
		char want[4 * 4096 + 1];
		size_t wn = 0;
		for (size_t k = 0; k < 4 && cases[c].pieces[k]; k++) {
			char piece[4097];
			size_t n = cases[c].pieces[k];
			memcpy(piece, src + k, n);
			piece[n] = '\0';
			memcpy(want + wn, piece, n);
			wn += n;
			if (cases[c].formatted)
				rd_sb_add(&sb, "%s", piece);
			else
				rd_sb_str(&sb, piece);
		}
		if (wn > RD_SB_MAX)
			wn = RD_SB_MAX;
		want[wn] = '\0';
		assert_int_equal(strbuf_err(&sb), 0);
		assert_int_equal(strbuf_len(&sb), wn);
		assert_string_equal(strbuf_ptr(&sb), want);
		/* a full buffer takes nothing more, and does not fail */
		rd_sb_pct(&sb, 0.5);
		if (wn == RD_SB_MAX)
			assert_string_equal(strbuf_ptr(&sb), want);
		else
			assert_int_equal(strbuf_len(&sb), wn < RD_SB_MAX - 5 ? wn + 5 : RD_SB_MAX);
		struct readiness_strv sv = { 0 };
		assert_int_equal(rd_sb_push(&sv, &sb), 0);
		assert_int_equal(sv.n, 1);
		assert_int_equal(strncmp(sv.v[0], want, wn), 0);
		assert_int_equal(strbuf_len(&sb), 0);
		readiness_strv_free(&sv);
	}
}

/* A buffer with a smaller cap is cut at its own cap. */
static void test_sentence_cut_small_cap(void **state)
{
	(void)state;
	struct strbuf sb;
	strbuf_init(&sb, 10);
	rd_sb_str(&sb, "0123");
	rd_sb_add(&sb, "%s-%d", "456", 789);
	assert_string_equal(strbuf_ptr(&sb), "0123456-78");
	rd_sb_str(&sb, "x");
	rd_sb_add(&sb, "%d", 1);
	assert_string_equal(strbuf_ptr(&sb), "0123456-78");
	assert_int_equal(strbuf_err(&sb), 0);
	strbuf_free(&sb);
}

/* rd_sb_push drops the sentence, without error, once the list is full. */
static void test_sentence_push_full(void **state)
{
	(void)state;
	struct readiness_strv sv = { 0 };
	for (size_t i = 0; i < READINESS_MAX_REASONS + 2; i++) {
		struct strbuf sb = rd_sb_new();
		rd_sb_add(&sb, "sentence %zu", i);
		assert_int_equal(rd_sb_push(&sv, &sb), 0);
		assert_null(sb.p);
	}
	assert_int_equal(sv.n, READINESS_MAX_REASONS);
	assert_string_equal(sv.v[READINESS_MAX_REASONS - 1], "sentence 63");
	readiness_strv_free(&sv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_covers_table),
		cmocka_unit_test(test_sentence_cut_table),
		cmocka_unit_test(test_sentence_push_full),
		cmocka_unit_test(test_sentence_cut_small_cap),
		cmocka_unit_test(test_pattern_specificity_order),
		cmocka_unit_test(test_policy_enforces_table),
		cmocka_unit_test_teardown(test_scenarios_table, reset),
		cmocka_unit_test_teardown(test_rotation_key_any_role, reset),
		cmocka_unit_test_teardown(test_shares_unaccounted_table, reset),
		cmocka_unit_test_teardown(test_policy_selection_per_source, reset),
		cmocka_unit_test_teardown(test_override_anchors_table, reset),
		cmocka_unit_test_teardown(test_reasons_grammar_table, reset),
		cmocka_unit_test_teardown(test_whatif_override_anchor, reset),
		cmocka_unit_test_teardown(test_version_pins_per_source, reset),
		cmocka_unit_test_teardown(test_alerts_no_rotation_alert_for_nobody_stranded, reset),
		cmocka_unit_test_teardown(test_reasons_name_versions_shares_pins, reset),
		cmocka_unit_test_teardown(test_incident_guidance, reset),
		cmocka_unit_test_teardown(test_incident_guidance_no_way_back, reset),
		cmocka_unit_test_teardown(test_presented_fallback_is_said, reset),
		cmocka_unit_test_teardown(test_expiry_table, reset),
		cmocka_unit_test_teardown(test_drift_and_disagreement, reset),
		cmocka_unit_test_teardown(test_coverage_gaps, reset),
		cmocka_unit_test_teardown(test_stale_pins_table, reset),
		cmocka_unit_test_teardown(test_single_pin_and_no_backup, reset),
		cmocka_unit_test_teardown(test_forecast, reset),
		cmocka_unit_test_teardown(test_whatif_table, reset),
		cmocka_unit_test_teardown(test_json_contract, reset),
		cmocka_unit_test_teardown(test_property_adding_a_pin_never_increases_stranded,
					  reset),
		cmocka_unit_test_teardown(test_property_removing_adoption_never_increases_stranded,
					  reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
