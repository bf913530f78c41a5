/* unit.expiry: days left and the [alerts] expiry_days thresholds, one
 * definition for every surface: base/expiry.c itself, the readiness engine's
 * expiry, the readiness JSON (check --json, /api/v1/readiness) and the
 * certificate_expiring alert agree at every threshold boundary. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "alerts/alerts.h"
#include "base/config.h"
#include "base/expiry.h"
#include "base/util.h"
#include "model/model.h"
#include "readiness/readiness.h"
#include "readiness/readiness_json.h"

#define DAY 86400

static const int defaults[EXPIRY_THRESHOLDS_MAX] = { 30, 14, 7, 2 };

static void test_expiry_days_left_boundaries(void **state)
{
	(void)state;
	static const struct {
		int64_t diff; /* not_after - at, seconds */
		int64_t days;
	} cases[] = {
		{ 0, 0 },	  { 1, 0 },
		{ DAY - 1, 0 },	  { DAY, 1 },
		{ DAY + 1, 1 },	  { 2 * DAY - 1, 1 },
		{ 14 * DAY, 14 }, { 15 * DAY - 1, 14 },
		{ -1, -1 },	  { -DAY + 1, -1 },
		{ -DAY, -1 },	  { -DAY - 1, -2 },
		{ -3 * DAY, -3 }, { (int64_t)3650 * DAY + 5, 3650 },
	};
	const time_t at = 1800000000;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t got = expiry_days_left((time_t)(at + cases[i].diff), at);
		if (got != cases[i].days)
			fail_msg("case %zu: diff %lld s gives %lld days, want %lld", i,
				 (long long)cases[i].diff, (long long)got,
				 (long long)cases[i].days);
	}
}

static void test_expiry_level_thresholds(void **state)
{
	(void)state;
	static const struct {
		int th[EXPIRY_THRESHOLDS_MAX];
		int64_t days;
		enum expiry_level level;
		int threshold;
	} cases[] = {
		/* default 30,14,7,2: info at 30, warning at 14, critical at 7 and 2 */
		{ { 30, 14, 7, 2 }, 31, EXPIRY_NONE, 0 },
		{ { 30, 14, 7, 2 }, 30, EXPIRY_INFO, 30 },
		{ { 30, 14, 7, 2 }, 15, EXPIRY_INFO, 30 },
		{ { 30, 14, 7, 2 }, 14, EXPIRY_WARNING, 14 },
		{ { 30, 14, 7, 2 }, 8, EXPIRY_WARNING, 14 },
		{ { 30, 14, 7, 2 }, 7, EXPIRY_CRITICAL, 7 },
		{ { 30, 14, 7, 2 }, 3, EXPIRY_CRITICAL, 7 },
		{ { 30, 14, 7, 2 }, 2, EXPIRY_CRITICAL, 2 },
		{ { 30, 14, 7, 2 }, 0, EXPIRY_CRITICAL, 2 },
		{ { 30, 14, 7, 2 }, -1, EXPIRY_CRITICAL, 2 },
		/* two thresholds: the second is critical */
		{ { 21, 7, 0, 0 }, 22, EXPIRY_NONE, 0 },
		{ { 21, 7, 0, 0 }, 21, EXPIRY_INFO, 21 },
		{ { 21, 7, 0, 0 }, 8, EXPIRY_INFO, 21 },
		{ { 21, 7, 0, 0 }, 7, EXPIRY_CRITICAL, 7 },
		/* one threshold: critical */
		{ { 10, 0, 0, 0 }, 11, EXPIRY_NONE, 0 },
		{ { 10, 0, 0, 0 }, 10, EXPIRY_CRITICAL, 10 },
		/* three: info, warning, critical */
		{ { 60, 30, 5, 0 }, 30, EXPIRY_WARNING, 30 },
		{ { 60, 30, 5, 0 }, 6, EXPIRY_WARNING, 30 },
		{ { 60, 30, 5, 0 }, 5, EXPIRY_CRITICAL, 5 },
		/* none configured: never */
		{ { 0, 0, 0, 0 }, -5, EXPIRY_NONE, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum expiry_level l = expiry_level(cases[i].days, cases[i].th);
		int t = expiry_threshold(cases[i].days, cases[i].th);
		if (l != cases[i].level || t != cases[i].threshold)
			fail_msg("case %zu: %lld days: level %d threshold %d, want %d and %d", i,
				 (long long)cases[i].days, l, t, cases[i].level,
				 cases[i].threshold);
		/* the alert severity is the same rule */
		assert_int_equal((int)alerts_expiry_severity(cases[i].days, cases[i].th),
				 (int)cases[i].level);
	}
}

static void test_expiry_thresholds_parse_table(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int rc;
		int th[EXPIRY_THRESHOLDS_MAX];
		const char *msg;
	} cases[] = {
		{ "30,14,7,2", 0, { 30, 14, 7, 2 }, NULL },
		{ "2, 7 14,30", 0, { 30, 14, 7, 2 }, NULL }, /* ascending is accepted */
		{ "21,7", 0, { 21, 7, 0, 0 }, NULL },
		{ "1", 0, { 1, 0, 0, 0 }, NULL },
		{ "3650", 0, { 3650, 0, 0, 0 }, NULL },
		{ "3651", -EINVAL, { 0 }, "'3651' is not a day count in [1, 3650]" },
		{ "0", -EINVAL, { 0 }, "'0' is not a day count" },
		{ "30,-1", -EINVAL, { 0 }, "'-1' is not a day count" },
		{ "30,x", -EINVAL, { 0 }, "'x' is not a day count" },
		{ "30,14,7,2,1", -EINVAL, { 0 }, "at most 4 day counts" },
		{ "14,30,7", -EINVAL, { 0 }, "neither descending" },
		{ "7,7", -EINVAL, { 0 }, "7 days is given twice" },
		{ "", -EINVAL, { 0 }, "expected 1 to 4 day counts" },
		{ " , ", -EINVAL, { 0 }, "expected 1 to 4 day counts" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int th[EXPIRY_THRESHOLDS_MAX] = { 99, 99, 99, 99 };
		char err[ERRLEN] = "", buf[64];
		int rc = expiry_thresholds_parse(cases[i].text, th, err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("case %zu '%s': rc %d, want %d (%s)", i, cases[i].text, rc,
				 cases[i].rc, err);
		if (rc == 0) {
			assert_memory_equal(th, cases[i].th, sizeof(th));
			char again[64];
			snprintf(again, sizeof(again), "%s",
				 expiry_thresholds_format(th, buf, sizeof(buf)));
			int th2[EXPIRY_THRESHOLDS_MAX];
			assert_int_equal(expiry_thresholds_parse(again, th2, err, sizeof(err)), 0);
			assert_memory_equal(th, th2, sizeof(th));
		} else {
			assert_int_equal(th[0], 99); /* unchanged */
			if (!strstr(err, cases[i].msg))
				fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
		}
	}
	char buf[64];
	assert_string_equal(expiry_thresholds_format(defaults, buf, sizeof(buf)), "30,14,7,2");
}

/* A validated chain leaf, intermediate, root with the given expiry times. */
static void make_chain(struct readiness_chain *ch, struct readiness_cert *c, time_t leaf,
		       time_t inter)
{
	memset(c, 0, 3 * sizeof(*c));
	static char *names[3][2] = { { "CN=api.example.com", "CN=Test Intermediate" },
				     { "CN=Test Intermediate", "CN=Test Root" },
				     { "CN=Test Root", "CN=Test Root" } };
	time_t na[3] = { leaf, inter, inter + 1000 * DAY };
	for (int i = 0; i < 3; i++) {
		c[i].subject = names[i][0];
		c[i].issuer = names[i][1];
		c[i].not_after = na[i];
		c[i].sha256[0] = (uint8_t)(i + 1);
		c[i].sha256[1] = (uint8_t)(leaf & 0xff);
		c[i].pin[0] = (uint8_t)(i + 1);
		c[i].is_ca = i > 0;
	}
	ch->certs = c;
	ch->ncerts = 3;
}

/* At each boundary around each default threshold: expiry_days_left, the
 * readiness engine's expiry, the readiness JSON and the certificate_expiring
 * alert give the same days and the same level. */
static void test_expiry_days_one_way_everywhere(void **state)
{
	(void)state;
	const time_t at = 1800000000;
	struct config cfg;
	config_defaults(&cfg);
	struct endpoint ep = { .id = 1, .host = "api.example.com", .port = 443, .enabled = true };
	struct inventory inv = { .endpoints = &ep, .nendpoints = 1 };
	struct readiness_index *idx = readiness_index_new(&inv);
	assert_non_null(idx);
	for (int t = 0; t < EXPIRY_THRESHOLDS_MAX; t++) {
		int64_t b = (int64_t)defaults[t] * DAY;
		int64_t more[] = { b - 1, b, b + DAY - 1, b + DAY, -1, 0 };
		for (size_t k = 0; k < ARRAY_SIZE(more); k++) {
			int64_t off = more[k];
			struct readiness_cert certs[3];
			struct readiness_address addr = { .address = "192.0.2.1", .outcome = "ok" };
			make_chain(&addr.validated, certs, (time_t)(at + off),
				   (time_t)(at + 400 * DAY));
			addr.presented = addr.validated;
			addr.presented.ncerts = 2;
			struct readiness_observed ob = { .addrs = &addr, .naddrs = 1 };
			struct readiness_opts o;
			readiness_opts_default(&o, at);
			struct readiness_endpoint_verdict ev;
			assert_int_equal(readiness_eval_endpoint(idx, 0, &ob, &o, &ev), 0);
			int64_t want = expiry_days_left((time_t)(at + off), at);
			assert_true(ev.expiry.known);
			assert_int_equal(ev.expiry.days_left, want);
			json_t *j = readiness_endpoint_json(&ev);
			assert_non_null(j);
			assert_int_equal(json_integer_value(json_object_get(
						 json_object_get(j, "expiry"), "days_left")),
					 want);
			json_t *leaf = json_array_get(
				json_object_get(json_array_get(json_object_get(j, "addresses"), 0),
						"chain"),
				0);
			assert_int_equal(json_integer_value(json_object_get(leaf, "days_left")),
					 want);
			json_decref(j);
			struct alerts_condv v = { 0 };
			assert_int_equal(alerts_conds_expiry(&ev, &cfg, &v, 0), 0);
			enum alert_severity sev = alerts_expiry_severity(want, defaults);
			if (sev == ALERT_SEV_NONE) {
				assert_int_equal(v.n, 0);
			} else {
				assert_int_equal(v.n, 1);
				assert_int_equal(v.v[0].severity, sev);
				assert_int_equal(json_integer_value(json_object_get(v.v[0].details,
										    "days_left")),
						 want);
				assert_int_equal(json_integer_value(json_object_get(
							 v.v[0].details, "threshold_days")),
						 expiry_threshold(want, defaults));
			}
			alerts_condv_free(&v);
			readiness_endpoint_verdict_free(&ev);
		}
	}
	readiness_index_free(idx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expiry_days_left_boundaries),
		cmocka_unit_test(test_expiry_level_thresholds),
		cmocka_unit_test(test_expiry_thresholds_parse_table),
		cmocka_unit_test(test_expiry_days_one_way_everywhere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
