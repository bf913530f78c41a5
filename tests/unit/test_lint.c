#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "readiness/lint.h"
#include "readiness/readiness.h"
#include "base/util.h"
#include "invbuild.h"

/* ---- building inventories ------------------------------------------------ */

static void add_endpoint(struct inventory *inv, const char *host, const char *env, bool third,
			 bool enabled)
{
	struct endpoint *e = ib_endpoint(inv, host, env);
	e->third_party = third;
	e->enabled = enabled;
}

static struct app *add_app(struct inventory *inv, const char *name)
{
	return ib_app(inv, name, 0.95);
}

static struct app_version *add_version(struct app *a, const char *version)
{
	return ib_version(a, version);
}

static void add_adoption(struct app_version *v, const char *at, double share)
{
	time_t t;
	assert_int_equal(util_parse_date(at, &t), 0);
	ib_adoption(v, t, share);
}

/* roles: "cb" = current, backup; pin i is 32 bytes of i + 1 */
static struct pin_policy *add_policy(struct app_version *v, const char *pattern, bool incl,
				     bool enforce, const char *expires, const char *roles)
{
	time_t exp = 0;
	if (expires)
		assert_int_equal(util_parse_date(expires, &exp), 0);
	struct pin_policy *p = ib_policy(v, pattern, incl, enforce, exp);
	for (size_t i = 0; roles[i]; i++) {
		uint8_t sha[32];
		memset(sha, (int)(i + 1), 32);
		ib_pin(p, sha, roles[i] == 'b' ? PIN_BACKUP : PIN_CURRENT);
	}
	return p;
}

/* A clean inventory: every rule passes at NOW. */
#define NOW "2026-11-27"

static void clean(struct inventory *inv)
{
	memset(inv, 0, sizeof(*inv));
	add_endpoint(inv, "api.example.com", "production", false, true);
	add_endpoint(inv, "eu.api.example.com", "production", false, true);
	add_endpoint(inv, "cdn.example.com", "production", false, true);
	add_endpoint(inv, "api.staging.example.com", "staging", false, true);
	struct app *a = add_app(inv, "shop-android");
	struct app_version *v = add_version(a, "4.2.0");
	add_adoption(v, "2026-11-01", 0.40);
	add_adoption(v, "2026-11-20", 0.60);
	add_policy(v, "api.example.com", true, true, "2027-06-01", "cb");
	add_policy(v, "**.cdn.example.com", false, true, NULL, "cbb");
	v = add_version(a, "4.1.0");
	add_adoption(v, "2026-11-01", 0.55);
	add_adoption(v, "2026-11-20", 0.35);
	add_policy(v, "api.example.com", true, true, NULL, "cb");
}

/* ---- mutations ----------------------------------------------------------- */

static struct app_version *v0(struct inventory *inv)
{
	return &inv->apps[0].versions[0];
}

static void m_none(struct inventory *inv)
{
	(void)inv;
}

static void m_single_pin(struct inventory *inv)
{
	add_policy(v0(inv), "eu.api.example.com", false, true, NULL, "c");
}

static void m_zero_pins_enforcing(struct inventory *inv)
{
	add_policy(v0(inv), "eu.api.example.com", false, true, NULL, "");
}

static void m_single_pin_report_only(struct inventory *inv)
{
	add_policy(v0(inv), "eu.api.example.com", false, false, NULL, "c");
}

static void m_no_backup(struct inventory *inv)
{
	add_policy(v0(inv), "eu.api.example.com", false, true, NULL, "cc");
}

static void set_expiry(struct inventory *inv, const char *d)
{
	struct pin_policy *p = &v0(inv)->policies[0];
	snprintf(p->expires, sizeof(p->expires), "%s", d);
	assert_int_equal(util_parse_date(d, &p->expires_at), 0);
}

static void m_exp_23d(struct inventory *inv)
{
	set_expiry(inv, "2026-12-20");
}

static void m_exp_30d(struct inventory *inv)
{
	set_expiry(inv, "2026-12-27");
}

static void m_exp_31d(struct inventory *inv)
{
	set_expiry(inv, "2026-12-28");
}

static void m_exp_today(struct inventory *inv)
{
	set_expiry(inv, "2026-11-27");
}

static void m_exp_past(struct inventory *inv)
{
	set_expiry(inv, "2026-01-31");
}

static void m_exp_1d(struct inventory *inv)
{
	set_expiry(inv, "2026-11-28");
}

static void m_exp_30d_unused(struct inventory *inv)
{
	/* nobody uses 4.2.0 any more (latest share 0): its expiry strands nobody */
	set_expiry(inv, "2026-12-27");
	add_adoption(v0(inv), "2026-11-25", 0);
}

static void m_expiring_report_only(struct inventory *inv)
{
	add_policy(v0(inv), "eu.api.example.com", false, false, "2026-12-01", "cb");
}

static void m_expired_single_pin(struct inventory *inv)
{
	/* an expired pin set strands nobody: expired, not too few pins */
	add_policy(v0(inv), "eu.api.example.com", false, true, "2026-11-01", "c");
}

static void m_all_expired_unpins(struct inventory *inv)
{
	/* every pin set covering api.example.com (and its subdomains) expired:
	 * the apps no longer pin those endpoints */
	set_expiry(inv, "2026-01-31");
	struct pin_policy *p = &inv->apps[0].versions[1].policies[0];
	snprintf(p->expires, sizeof(p->expires), "%s", "2026-02-01");
	assert_int_equal(util_parse_date(p->expires, &p->expires_at), 0);
}

static void m_typo_pattern(struct inventory *inv)
{
	add_policy(v0(inv), "api.exmaple.com", false, true, NULL, "cb");
}

static void m_one_label_wildcard_misses(struct inventory *inv)
{
	/* *.example.com does not reach a.b.example.com; the endpoint cdn.x is
	 * one label: covered. Add a pattern that only matches two labels down. */
	add_policy(v0(inv), "*.api.staging.example.com", false, true, NULL, "cb");
}

static void m_unpinned_endpoint(struct inventory *inv)
{
	add_endpoint(inv, "login.example.net", "production", false, true);
}

static void m_unpinned_third_party(struct inventory *inv)
{
	add_endpoint(inv, "maps.vendor.example", "production", true, true);
}

static void m_unpinned_staging_disabled(struct inventory *inv)
{
	add_endpoint(inv, "login.staging.example.net", "staging", false, true);
	add_endpoint(inv, "old.example.net", "production", false, false);
}

static void m_excluded_endpoint(struct inventory *inv)
{
	/* status.api.example.com is excluded from the include_subdomains parent
	 * by every version that covers it: unprotected. */
	add_endpoint(inv, "status.api.example.com", "production", false, true);
	add_policy(&inv->apps[0].versions[0], "status.api.example.com", false, false, NULL, "");
	add_policy(&inv->apps[0].versions[1], "status.api.example.com", false, false, NULL, "");
}

static void m_excluded_by_one_version(struct inventory *inv)
{
	add_endpoint(inv, "status.api.example.com", "production", false, true);
	add_policy(&inv->apps[0].versions[0], "status.api.example.com", false, false, NULL, "");
}

static void m_no_adoption(struct inventory *inv)
{
	struct app_version *v = add_version(&inv->apps[0], "4.3.0-beta");
	add_policy(v, "api.example.com", true, true, NULL, "cb");
}

static void m_sum_above_one(struct inventory *inv)
{
	add_adoption(&inv->apps[0].versions[1], "2026-11-25", 0.45);
}

static void m_old_sum_above_one(struct inventory *inv)
{
	/* the 2026-11-01 samples sum to 0.95; make an old pair sum above 1 while
	 * the latest ones stay fine */
	inv->apps[0].versions[0].adoption[0].share = 0.7;
}

static void m_future_sample_ignored(struct inventory *inv)
{
	add_adoption(&inv->apps[0].versions[1], "2026-12-15", 0.9);
}

struct expect {
	const char *rule;
	const char *severity;
	const char *version;  /* NULL: not checked */
	const char *pattern;  /* NULL: not checked */
	const char *endpoint; /* NULL: not checked */
};

static void test_lint_rules_table(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		void (*mutate)(struct inventory *);
		struct expect e[4];
	} cases[] = {
		{ "clean", m_none, { { 0 } } },
		{ "single pin",
		  m_single_pin,
		  { { "too-few-pins", "warning", "4.2.0", "eu.api.example.com", NULL } } },
		{ "enforcing without pins",
		  m_zero_pins_enforcing,
		  { { "too-few-pins", "warning", "4.2.0", "eu.api.example.com", NULL } } },
		{ "single pin report-only", m_single_pin_report_only, { { 0 } } },
		{ "no backup",
		  m_no_backup,
		  { { "no-backup-pin", "warning", "4.2.0", "eu.api.example.com", NULL } } },
		{ "expires in 23 days",
		  m_exp_23d,
		  { { "pin-set-expiring", "warning", "4.2.0", "api.example.com", NULL } } },
		{ "expires in 30 days",
		  m_exp_30d,
		  { { "pin-set-expiring", "warning", "4.2.0", "api.example.com", NULL } } },
		{ "expires in 31 days", m_exp_31d, { { 0 } } },
		{ "expires tomorrow",
		  m_exp_1d,
		  { { "pin-set-expiring", "warning", "4.2.0", "api.example.com", NULL } } },
		{ "expires in 30 days, version unused", m_exp_30d_unused, { { 0 } } },
		{ "report-only pin set expiring", m_expiring_report_only, { { 0 } } },
		{ "expired single pin",
		  m_expired_single_pin,
		  { { "pin-set-expired", "info", "4.2.0", "eu.api.example.com", NULL } } },
		{ "expires today",
		  m_exp_today,
		  { { "pin-set-expired", "info", "4.2.0", "api.example.com", NULL } } },
		{ "expired",
		  m_exp_past,
		  { { "pin-set-expired", "info", "4.2.0", "api.example.com", NULL } } },
		{ "all pin sets expired",
		  m_all_expired_unpins,
		  { { "pin-set-expired", "info", "4.2.0", "api.example.com", NULL },
		    { "pin-set-expired", "info", "4.1.0", "api.example.com", NULL },
		    { "endpoint-unpinned", "warning", NULL, NULL, "api.example.com:443" },
		    { "endpoint-unpinned", "warning", NULL, NULL, "eu.api.example.com:443" } } },
		{ "typo pattern",
		  m_typo_pattern,
		  { { "pattern-unmatched", "warning", "4.2.0", "api.exmaple.com", NULL } } },
		{ "wildcard too deep",
		  m_one_label_wildcard_misses,
		  { { "pattern-unmatched", "warning", "4.2.0", "*.api.staging.example.com",
		      NULL } } },
		{ "unpinned production endpoint",
		  m_unpinned_endpoint,
		  { { "endpoint-unpinned", "warning", NULL, NULL, "login.example.net:443" } } },
		{ "unpinned third party",
		  m_unpinned_third_party,
		  { { "third-party-unpinned", "info", NULL, NULL, "maps.vendor.example:443" } } },
		{ "unpinned staging / disabled", m_unpinned_staging_disabled, { { 0 } } },
		{ "excluded endpoint",
		  m_excluded_endpoint,
		  { { "endpoint-unpinned", "warning", NULL, NULL,
		      "status.api.example.com:443" } } },
		{ "excluded by one version only", m_excluded_by_one_version, { { 0 } } },
		{ "version without adoption",
		  m_no_adoption,
		  { { "version-no-adoption", "warning", "4.3.0-beta", NULL, NULL } } },
		{ "latest shares above 1",
		  m_sum_above_one,
		  { { "adoption-over-one", "critical", NULL, NULL, NULL } } },
		{ "old shares above 1, latest fine", m_old_sum_above_one, { { 0 } } },
		{ "future sample ignored", m_future_sample_ignored, { { 0 } } },
	};
	time_t now;
	assert_int_equal(util_parse_date(NOW, &now), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct inventory inv;
		struct lint_report r = { 0 };
		clean(&inv);
		cases[i].mutate(&inv);
		assert_int_equal(lint_run(&inv, now, &r), 0);
		size_t want = 0;
		while (want < 4 && cases[i].e[want].rule)
			want++;
		if (r.nfindings != want) {
			for (size_t k = 0; k < r.nfindings; k++)
				print_message("  %s: %s\n", r.findings[k].rule,
					      r.findings[k].message);
			fail_msg("%s: %zu findings, expected %zu", cases[i].name, r.nfindings,
				 want);
		}
		for (size_t k = 0; k < want; k++) {
			const struct expect *e = &cases[i].e[k];
			const struct lint_finding *f = &r.findings[k];
			assert_string_equal(f->rule, e->rule);
			assert_string_equal(lint_severity_name(f->severity), e->severity);
			assert_non_null(f->message);
			if (e->version)
				assert_string_equal(f->version, e->version);
			if (e->pattern)
				assert_string_equal(f->pattern, e->pattern);
			if (e->endpoint)
				assert_string_equal(f->endpoint, e->endpoint);
		}
		lint_report_free(&r);
		model_inventory_free(&inv);
	}
}

static void test_lint_typo_also_unpins(void **state)
{
	(void)state;
	/* The classic mistake: the only policy for a host has a typo, so the
	 * pattern matches nothing and the real endpoint is unpinned. */
	struct inventory inv = { 0 };
	struct lint_report r = { 0 };
	add_endpoint(&inv, "pay.example.com", "production", false, true);
	struct app_version *v = add_version(add_app(&inv, "wallet"), "1.0");
	add_adoption(v, "2026-11-20", 1.0);
	add_policy(v, "pay.exmaple.com", false, true, NULL, "cb");
	assert_int_equal(lint_run(&inv, 1795737600, &r), 0);
	assert_int_equal(r.nfindings, 2);
	assert_string_equal(r.findings[0].rule, "pattern-unmatched");
	assert_string_equal(r.findings[0].app, "wallet");
	assert_string_equal(r.findings[1].rule, "endpoint-unpinned");
	assert_null(r.findings[1].app);

	json_t *j = lint_report_json(&r, LINT_INFO);
	assert_non_null(j);
	assert_int_equal(json_array_size(j), 2);
	json_t *o = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(o, "rule")), "pattern-unmatched");
	assert_string_equal(json_string_value(json_object_get(o, "severity")), "warning");
	assert_string_equal(json_string_value(json_object_get(o, "app")), "wallet");
	assert_string_equal(json_string_value(json_object_get(o, "version")), "1.0");
	assert_string_equal(json_string_value(json_object_get(o, "pattern")), "pay.exmaple.com");
	assert_true(json_is_null(json_object_get(o, "endpoint")));
	assert_non_null(json_string_value(json_object_get(o, "message")));
	o = json_array_get(j, 1);
	assert_string_equal(json_string_value(json_object_get(o, "endpoint")),
			    "pay.example.com:443");
	assert_true(json_is_null(json_object_get(o, "app")));
	json_decref(j);
	lint_report_free(&r);
	model_inventory_free(&inv);
}

static void test_lint_empty_inventory(void **state)
{
	(void)state;
	struct inventory inv = { 0 };
	struct lint_report r = { 0 };
	assert_int_equal(lint_run(&inv, 0, &r), 0);
	assert_int_equal(r.nfindings, 0);
	json_t *j = lint_report_json(&r, LINT_INFO);
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
}

/* The table itself: one name, one severity, a description and an evaluator
 * per rule; names and aliases unique and found. */
static void test_lint_rule_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < LINT_NRULES; i++) {
		const struct lint_rule *r = &lint_rules[i];
		assert_non_null(r->name);
		assert_non_null(r->description);
		assert_non_null(r->eval);
		assert_true(r->severity >= LINT_INFO && r->severity <= LINT_CRITICAL);
		assert_ptr_equal(lint_rule_find(r->name), r);
		if (r->alias)
			assert_ptr_equal(lint_rule_find(r->alias), r);
		for (size_t k = 0; k < i; k++) {
			assert_string_not_equal(lint_rules[k].name, r->name);
			if (r->alias)
				assert_string_not_equal(lint_rules[k].name, r->alias);
		}
	}
	static const struct {
		const char *name;
		const char *want; /* NULL: no such rule */
	} cases[] = {
		{ "too-few-pins", "too-few-pins" }, { "single_pin", "too-few-pins" },
		{ "no_backup", "no-backup-pin" },   { "pattern_unused", "pattern-unmatched" },
		{ "stale_pin", "stale_pin" },	    { "chains_differ", "chains_differ" },
		{ "too_few_pins", NULL },	    { "", NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct lint_rule *r = lint_rule_find(cases[i].name);
		if (!cases[i].want)
			assert_null(r);
		else {
			assert_non_null(r);
			assert_string_equal(r->name, cases[i].want);
		}
	}
	assert_null(lint_rule_find(NULL));
}

static void test_lint_severity_parse_table(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int rc;
		enum lint_severity want;
	} cases[] = {
		{ "info", 0, LINT_INFO },	   { "warning", 0, LINT_WARNING },
		{ "critical", 0, LINT_CRITICAL },  { "ok", -EINVAL, LINT_INFO },
		{ "Warning", -EINVAL, LINT_INFO }, { "", -EINVAL, LINT_INFO },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum lint_severity got = LINT_INFO;
		assert_int_equal(lint_severity_parse(cases[i].s, &got), cases[i].rc);
		assert_int_equal(got, cases[i].want);
	}
}

/* One inventory with an info, a warning and a critical finding, filtered by
 * the least severity evaluated (and by the JSON). */
static void test_lint_eval_min_severity_table(void **state)
{
	(void)state;
	static const struct {
		enum lint_severity min;
		size_t n;
	} cases[] = { { LINT_INFO, 3 }, { LINT_WARNING, 2 }, { LINT_CRITICAL, 1 } };
	time_t now;
	assert_int_equal(util_parse_date(NOW, &now), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct inventory inv;
		clean(&inv);
		m_unpinned_third_party(&inv); /* info */
		m_no_backup(&inv);	      /* warning */
		m_sum_above_one(&inv);	      /* critical */
		struct lint_input in = { .inv = &inv, .at = now, .min_severity = cases[i].min };
		struct lint_report r = { 0 };
		assert_int_equal(lint_eval(&in, &r), 0);
		assert_int_equal(r.nfindings, cases[i].n);
		for (size_t k = 0; k < r.nfindings; k++)
			assert_true(r.findings[k].severity >= cases[i].min);
		lint_report_free(&r);
		in.min_severity = LINT_INFO;
		assert_int_equal(lint_eval(&in, &r), 0);
		json_t *j = lint_report_json(&r, cases[i].min);
		assert_int_equal(json_array_size(j), cases[i].n);
		json_decref(j);
		lint_report_free(&r);
		model_inventory_free(&inv);
	}
}

/* pin-set-expiring with another window (the alert's [alerts] expiry_days) and
 * one rule selected. */
static void test_lint_eval_expiry_days_table(void **state)
{
	(void)state;
	static const struct {
		const char *expires;
		int days;
		size_t n;
	} cases[] = {
		{ "2026-12-07", 10, 1 },			  /* 10 days: in */
		{ "2026-12-08", 10, 0 },			  /* 11 days: out */
		{ "2026-11-28", 1, 1 },	 { "2026-11-27", 10, 0 }, /* today: expired, not expiring */
		{ "2026-12-28", 0, 0 },				  /* 31 days, default window 30 */
		{ "2026-12-27", 0, 1 },
	};
	time_t now;
	assert_int_equal(util_parse_date(NOW, &now), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct inventory inv;
		clean(&inv);
		set_expiry(&inv, cases[i].expires);
		m_no_backup(&inv); /* another rule's finding: not selected */
		struct lint_input in = { .inv = &inv,
					 .at = now,
					 .expiry_days = cases[i].days,
					 .only = 1u << LINT_PIN_SET_EXPIRING };
		struct lint_report r = { 0 };
		assert_int_equal(lint_eval(&in, &r), 0);
		if (r.nfindings != cases[i].n)
			fail_msg("%s within %d days: %zu findings", cases[i].expires, cases[i].days,
				 r.nfindings);
		for (size_t k = 0; k < r.nfindings; k++) {
			assert_int_equal(r.findings[k].id, LINT_PIN_SET_EXPIRING);
			assert_ptr_equal(r.findings[k].policy_ref,
					 &inv.apps[0].versions[0].policies[0]);
		}
		lint_report_free(&r);
		model_inventory_free(&inv);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lint_rules_table),
		cmocka_unit_test(test_lint_typo_also_unpins),
		cmocka_unit_test(test_lint_empty_inventory),
		cmocka_unit_test(test_lint_rule_table),
		cmocka_unit_test(test_lint_severity_parse_table),
		cmocka_unit_test(test_lint_eval_min_severity_table),
		cmocka_unit_test(test_lint_eval_expiry_days_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
