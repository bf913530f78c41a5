/* Rotation plans: the seven steps, the status and "overdue" by a table of
 * scenarios (readiness_plan.h), boundaries included. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/util.h"
#include "model/model.h"
#include "readiness/readiness.h"
#include "readiness/readiness_plan.h"
#include "invbuild.h"

#define DAY 86400
static const time_t T = 1796083200; /* 2026-12-01 00:00 UTC */

/* Key ids used by the table: 1 today's leaf, 2 the planned leaf, 3 the root,
 * 5 another edge's leaf, 9 a spare key. */
static void key(uint8_t out[32], unsigned id)
{
	memset(out, 0xa5, 32);
	out[0] = (uint8_t)id;
}

/* "1 3" -> a chain of certificates with those keys (leaf first). */
static void chain_of(struct readiness_chain *c, const char *ids, bool bare)
{
	memset(c, 0, sizeof(*c));
	c->certs = calloc(8, sizeof(*c->certs));
	assert_non_null(c->certs);
	for (const char *s = ids; s && *s && c->ncerts < 8;) {
		char *end;
		unsigned id = (unsigned)strtoul(s, &end, 10);
		if (end == s)
			break;
		struct readiness_cert *x = &c->certs[c->ncerts++];
		key(x->pin, id);
		key(x->sha256, id + 100);
		if (!bare) {
			x->subject = strdup("CN=k");
			x->issuer = strdup("CN=k");
			x->not_after = T + 300 * DAY;
			x->is_ca = c->ncerts > 1;
		}
		s = end;
		while (*s == ' ')
			s++;
	}
}

#define NB_NONE (-9999)

struct plan_case {
	const char *name;
	const char *versions[4]; /* "VERSION SHARE PIN..." (SHARE -1: no adoption figure) */
	const char *addrs[3];	 /* chains of the endpoint's addresses */
	int presenting_days;	 /* how long every address has presented its chain */
	const char *staging;	 /* chain of a staging endpoint, or NULL */
	bool inventoried;
	const char *planned;
	bool from_chain;
	int not_before_days; /* relative to T; NB_NONE: none */
	bool cancelled;
	const char done[8]; /* "1101110": steps 1..7 done */
	enum readiness_plan_status status;
	bool overdue;
	size_t presenting;
};

/* clang-format off */
static const struct plan_case cases[] = {
	{ "ready, not rolled out yet",
	  { "2.0 0.7 1 2 9", "1.0 0.3 3" }, { "1 3" },
	  60, NULL, true, "2 3", true, NB_NONE, false, "1101110", PLAN_READY, false, 0 },
	{ "an old version pins only today's leaf: waiting and overdue",
	  { "2.0 0.7 1 2 9", "1.0 0.3 1" }, { "1 3" },
	  60, NULL, true, "2 3", true, -1, false, "1101100", PLAN_WAITING, true, 0 },
	{ "due today counts as overdue",
	  { "2.0 0.7 1 2 9", "1.0 0.3 1" }, { "1 3" },
	  60, NULL, true, "2 3", true, 0, false, "1101100", PLAN_WAITING, true, 0 },
	{ "due tomorrow is not overdue",
	  { "2.0 0.7 1 2 9", "1.0 0.3 1" }, { "1 3" },
	  60, NULL, true, "2 3", true, 1, false, "1101100", PLAN_WAITING, false, 0 },
	{ "no spare key: step 4 open, still ready",
	  { "2.0 1.0 1 2" }, { "1 3" },
	  60, NULL, true, "2 3", true, NB_NONE, false, "1100110", PLAN_READY, false, 0 },
	{ "edges disagree: step 4 open",
	  { "2.0 1.0 1 2 9" }, { "1 3", "5 3" },
	  60, NULL, true, "2 3", true, NB_NONE, false, "1100110", PLAN_READY, false, 0 },
	{ "a staging endpoint presents the planned key",
	  { "2.0 1.0 1 2 9" }, { "1 3" },
	  60, "2 3", true, "2 3", true, NB_NONE, false, "1111110", PLAN_READY, false, 0 },
	{ "one of two addresses rotated: rolling out",
	  { "2.0 1.0 1 2 9" }, { "2 3", "1 3" },
	  60, NULL, true, "2 3", true, NB_NONE, false, "1100110", PLAN_ROLLING_OUT, false, 1 },
	{ "every address for 15 days of 14: completed",
	  { "2.0 1.0 1 2 9" }, { "2 3", "2 3" },
	  15, NULL, true, "2 3", true, NB_NONE, false, "1101111", PLAN_COMPLETED, false, 2 },
	{ "every address for exactly 14 days: completed",
	  { "2.0 1.0 1 2 9" }, { "2 3" },
	  14, NULL, true, "2 3", true, NB_NONE, false, "1101111", PLAN_COMPLETED, false, 1 },
	{ "every address for 13 days: still rolling out",
	  { "2.0 1.0 1 2 9" }, { "2 3" },
	  13, NULL, true, "2 3", true, NB_NONE, false, "1101110", PLAN_ROLLING_OUT, false, 1 },
	{ "cancelled overrides everything, never overdue",
	  { "2.0 0.7 1 2 9", "1.0 0.3 1" }, { "1 3" },
	  60, NULL, true, "2 3", true, -5, true, "1101100", PLAN_CANCELLED, false, 0 },
	{ "a chain plan is presented only by its leaf key, not a shared root",
	  { "2.0 1.0 1 2 9" }, { "1 3" },
	  60, NULL, true, "2 3", true, NB_NONE, false, "1101110", PLAN_READY, false, 0 },
	{ "a key plan is presented by any planned key as leaf",
	  { "2.0 1.0 1 9 2" }, { "9 3" },
	  3, NULL, true, "9 2", false, NB_NONE, false, "1101110", PLAN_ROLLING_OUT, false, 1 },
	{ "not inventoried: step 1 open, unprobed",
	  { "2.0 1.0 1 2 9" }, { NULL },
	  60, NULL, false, "2 3", true, NB_NONE, false, "0100010", PLAN_READY, false, 0 },
	{ "no app pins the host: every app step trivially done",
	  { NULL }, { "1 3" },
	  60, NULL, true, "2 3", true, NB_NONE, false, "1101110", PLAN_READY, false, 0 },
	{ "no version carries both keys: release step open",
	  { "2.0 0.5 1 9", "3.0 0.5 2 9" }, { "1 3" },
	  60, NULL, true, "2 3", true, NB_NONE, false, "1101000", PLAN_WAITING, false, 0 },
	{ "a version without an adoption figure that the plan strands",
	  { "2.0 0.9 1 2 9", "1.0 -1 1" }, { "1 3" },
	  60, NULL, true, "2 3", true, NB_NONE, false, "1101110", PLAN_READY, false, 0 },
};
/* clang-format on */

static void build(const struct plan_case *c, struct inventory *inv,
		  struct readiness_observations *obs)
{
	memset(inv, 0, sizeof(*inv));
	memset(obs, 0, sizeof(*obs));
	obs->eps = calloc(2, sizeof(*obs->eps));
	assert_non_null(obs->eps);
	const char *hosts[2] = { c->inventoried ? "api.example.com" : "other.example.com",
				 "staging.example.com" };
	for (size_t e = 0; e < (c->staging ? 2u : 1u); e++) {
		struct endpoint *ep = ib_endpoint(inv, hosts[e], e ? "staging" : "production");
		ep->id = (int64_t)e + 1;
		obs->neps++;
		const char *chains[3] = { c->addrs[0], c->addrs[1], c->addrs[2] };
		if (e) {
			chains[0] = c->staging;
			chains[1] = NULL;
		}
		struct readiness_observed *o = &obs->eps[e];
		o->addrs = calloc(3, sizeof(*o->addrs));
		assert_non_null(o->addrs);
		for (size_t a = 0; a < 3 && chains[a] && (e || c->inventoried); a++) {
			struct readiness_address *ad = &o->addrs[o->naddrs++];
			char ip[32];
			snprintf(ip, sizeof(ip), "192.0.2.%zu", e * 10 + a + 1);
			ad->address = strdup(ip);
			ad->outcome = strdup("ok");
			chain_of(&ad->presented, chains[a], false);
			chain_of(&ad->validated, chains[a], false);
			ad->first_seen = T - (time_t)c->presenting_days * DAY;
			ad->last_seen = T;
			chain_of(&ad->previous, "1 3", false);
		}
	}
	if (!c->versions[0])
		return;
	struct app *ap = ib_app(inv, "shop", 0.9);
	ap->id = 1;
	for (size_t v = 0; v < 4 && c->versions[v]; v++) {
		char name[16];
		double share;
		int off;
		assert_int_equal(sscanf(c->versions[v], "%15s %lf %n", name, &share, &off), 2);
		struct app_version *ver = ib_version(ap, name);
		if (share >= 0)
			ib_adoption(ver, T - 5 * DAY, share);
		struct pin_policy *p = ib_policy(ver, "api.example.com", false, true, 0);
		struct readiness_chain pins;
		chain_of(&pins, c->versions[v] + off, true);
		for (size_t k = 0; k < pins.ncerts; k++)
			ib_pin(p, pins.certs[k].pin, PIN_CURRENT);
		readiness_chain_free(&pins);
	}
}

static void test_readiness_plan_eval_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct plan_case *c = &cases[i];
		struct inventory inv;
		struct readiness_observations obs;
		struct readiness_chain planned;
		struct readiness_plan_state st;
		struct readiness_opts o;
		build(c, &inv, &obs);
		chain_of(&planned, c->planned, !c->from_chain);
		struct readiness_index *idx = readiness_index_new(&inv);
		assert_non_null(idx);
		readiness_opts_default(&o, T);
		struct readiness_plan_in in = {
			.host = "api.example.com",
			.port = 443,
			.planned = &planned,
			.from_chain = c->from_chain,
			.not_before = c->not_before_days != NB_NONE
					      ? T + (time_t)c->not_before_days * DAY
					      : 0,
			.cancelled = c->cancelled,
			.confirm_s = 14 * DAY,
		};
		assert_int_equal(readiness_plan_eval(idx, &obs, &in, &o, &st), 0);
		char got[8];
		for (size_t k = 0; k < READINESS_PLAN_STEPS; k++) {
			got[k] = st.steps[k].done ? '1' : '0';
			if (st.steps[k].evidence.n == 0)
				fail_msg("%s: step %zu has no evidence", c->name, k + 1);
		}
		got[7] = '\0';
		bool overdue = c->overdue;
		if (strcmp(got, c->done) || st.status != c->status || st.overdue != overdue ||
		    st.npresenting != c->presenting)
			fail_msg("%s: steps %s status %s overdue %d presenting %zu; want %s %s %d "
				 "%zu",
				 c->name, got, readiness_plan_status_name(st.status), st.overdue,
				 st.npresenting, c->done, readiness_plan_status_name(c->status),
				 overdue, c->presenting);
		json_t *j = readiness_plan_state_json(&st);
		assert_non_null(j);
		assert_string_equal(json_string_value(json_object_get(j, "status")),
				    readiness_plan_status_name(c->status));
		assert_int_equal(json_array_size(json_object_get(j, "steps")), 7);
		json_decref(j);
		readiness_plan_state_free(&st);
		readiness_index_free(idx);
		readiness_chain_free(&planned);
		readiness_observations_free(&obs);
		model_inventory_free(&inv);
	}
}

/* Step 7's evidence names the versions still relying on the old keys. */
static void test_readiness_plan_eval_cleanup_names_old_key_users(void **state)
{
	(void)state;
	static const struct plan_case c = {
		"completed with a version left behind",
		{ "2.0 0.95 1 2 9", "1.0 0.05 1" },
		{ "2 3" },
		20,
		NULL,
		true,
		"2 3",
		true,
		NB_NONE,
		false,
		"",
		PLAN_COMPLETED,
		false,
		1,
	};
	struct inventory inv;
	struct readiness_observations obs;
	struct readiness_chain planned;
	struct readiness_plan_state st;
	struct readiness_opts o;
	build(&c, &inv, &obs);
	chain_of(&planned, c.planned, false);
	struct readiness_index *idx = readiness_index_new(&inv);
	readiness_opts_default(&o, T);
	struct readiness_plan_in in = { .host = "api.example.com",
					.port = 443,
					.planned = &planned,
					.from_chain = true,
					.confirm_s = 14 * DAY };
	assert_int_equal(readiness_plan_eval(idx, &obs, &in, &o, &st), 0);
	assert_int_equal(st.status, PLAN_COMPLETED);
	bool named = false;
	for (size_t k = 0; k < st.steps[6].evidence.n; k++)
		named = named || (strstr(st.steps[6].evidence.v[k], "1.0 (5.0%)") &&
				  strstr(st.steps[6].evidence.v[k], "shop"));
	if (!named)
		fail_msg("step 7 does not name 1.0 (5.0%%): %s", st.steps[6].evidence.v[0]);
	readiness_plan_state_free(&st);
	readiness_index_free(idx);
	readiness_chain_free(&planned);
	readiness_observations_free(&obs);
	model_inventory_free(&inv);
}

static void test_readiness_plan_eval_rejects_empty_plan(void **state)
{
	(void)state;
	struct inventory inv = { 0 };
	struct readiness_chain none = { 0 };
	struct readiness_plan_state st;
	struct readiness_opts o;
	struct readiness_index *idx = readiness_index_new(&inv);
	readiness_opts_default(&o, T);
	struct readiness_plan_in in = { .host = "api.example.com", .port = 443, .planned = &none };
	assert_int_equal(readiness_plan_eval(idx, NULL, &in, &o, &st), -EINVAL);
	readiness_plan_state_free(&st);
	readiness_index_free(idx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readiness_plan_eval_table),
		cmocka_unit_test(test_readiness_plan_eval_cleanup_names_old_key_users),
		cmocka_unit_test(test_readiness_plan_eval_rejects_empty_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
