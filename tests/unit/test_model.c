#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "model/model.h"
#include "base/util.h"

static void test_model_normalize_host_table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int rc;
		const char *out;
	} cases[] = {
		{ "api.example.com", 0, "api.example.com" },
		{ "API.Example.COM", 0, "api.example.com" },
		{ "api.example.com.", 0, "api.example.com" },
		{ "xn--bcher-kva.example", 0, "xn--bcher-kva.example" }, /* A-labels kept */
		{ "XN--BCHER-KVA.example", 0, "xn--bcher-kva.example" },
		{ "_service.example.com", 0, "_service.example.com" },
		{ "localhost", 0, "localhost" },
		{ "a", 0, "a" },
		{ "", -EINVAL, NULL },
		{ ".", -EINVAL, NULL },
		{ "api.example.com..", -EINVAL, NULL },
		{ ".example.com", -EINVAL, NULL },
		{ "a..b", -EINVAL, NULL },
		{ "exa mple.com", -EINVAL, NULL },
		{ "b\xc3\xbc"
		  "cher.example",
		  -EINVAL, NULL }, /* U-labels are not accepted */
		{ "api.example.com:443", -EINVAL, NULL },
		{ "*.example.com", -EINVAL, NULL },
		{ "a/b", -EINVAL, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[512];
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		int rc = model_normalize_host(buf);
		if (rc != cases[i].rc || (cases[i].out && strcmp(buf, cases[i].out)))
			fail_msg("host '%s': rc %d, '%s'", cases[i].in, rc, buf);
	}
}

static void test_model_normalize_host_lengths(void **state)
{
	(void)state;
	char buf[600];
	/* a 63-byte label is fine, 64 is not */
	memset(buf, 'a', 63);
	strcpy(buf + 63, ".example");
	assert_int_equal(model_normalize_host(buf), 0);
	memset(buf, 'a', 64);
	strcpy(buf + 64, ".example");
	assert_int_equal(model_normalize_host(buf), -EINVAL);
	/* 253 bytes total is fine (plus a trailing dot), 254 is not */
	size_t o = 0;
	while (o + 50 <= 253) {
		memset(buf + o, 'b', 49);
		buf[o + 49] = '.';
		o += 50;
	}
	memset(buf + o, 'c', 253 - o);
	buf[253] = '\0';
	assert_int_equal(strlen(buf), 253);
	assert_int_equal(model_normalize_host(buf), 0);
	strcat(buf, ".");
	assert_int_equal(model_normalize_host(buf), 0);
	assert_int_equal(strlen(buf), 253);
	strcat(buf, "d");
	assert_int_equal(model_normalize_host(buf), -EINVAL);
}

static void test_model_normalize_pattern_table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int rc;
		const char *out;
	} cases[] = {
		{ "api.example.com", 0, "api.example.com" },
		{ "*.Example.com", 0, "*.example.com" },
		{ "**.Example.com.", 0, "**.example.com" },
		{ "*.example", -EINVAL, NULL }, /* one-label remainder, like *.com */
		{ "*.com", -EINVAL, NULL },
		{ "**.com", -EINVAL, NULL },
		{ "*", -EINVAL, NULL },
		{ "*.", -EINVAL, NULL },
		{ "***.example.com", -EINVAL, NULL },
		{ "*.*.example.com", -EINVAL, NULL },
		{ "api.*.example.com", -EINVAL, NULL },
		{ "a*.example.com", -EINVAL, NULL },
		{ "", -EINVAL, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[512];
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		int rc = model_normalize_pattern(buf);
		if (rc != cases[i].rc || (cases[i].out && strcmp(buf, cases[i].out)))
			fail_msg("pattern '%s': rc %d, '%s'", cases[i].in, rc, buf);
	}
}

static void test_model_latest_adoption(void **state)
{
	(void)state;
	struct adoption_sample s[3] = {
		{ .at = "2026-09-01", .share = 0.1 },
		{ .at = "2026-10-01", .share = 0.2 },
		{ .at = "2026-11-01", .share = 0.3 },
	};
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(util_parse_date(s[i].at, &s[i].at_time), 0);
	struct app_version v = { .adoption = s, .nadoption = 3 };
	static const struct {
		const char *at;
		int idx; /* -1: none */
	} cases[] = {
		{ "2026-08-31", -1 }, { "2026-09-01", 0 }, { "2026-09-30", 0 },
		{ "2026-10-01", 1 },  { "2026-12-31", 2 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		time_t t;
		assert_int_equal(util_parse_date(cases[i].at, &t), 0);
		const struct adoption_sample *got = model_latest_adoption(&v, t);
		if (cases[i].idx < 0)
			assert_null(got);
		else
			assert_ptr_equal(got, &s[cases[i].idx]);
	}
	struct app_version none = { 0 };
	assert_null(model_latest_adoption(&none, 4102444800));
}

static void test_model_enum_names_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++) {
		enum failure_mode m;
		assert_int_equal(
			model_parse_failure_mode(model_failure_mode_name((enum failure_mode)i), &m),
			0);
		assert_int_equal(m, i);
	}
	for (int i = 0; i < 3; i++) {
		enum app_platform p;
		assert_int_equal(
			model_parse_platform(model_platform_name((enum app_platform)i), &p), 0);
		assert_int_equal(p, i);
	}
	enum pin_role r;
	assert_int_equal(model_parse_role("backup", &r), 0);
	assert_int_equal(r, PIN_BACKUP);
	assert_int_equal(model_parse_role("Backup", &r), -EINVAL);
	assert_int_equal(model_parse_role(NULL, &r), -EINVAL);
	assert_null(model_platform_name((enum app_platform)3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_normalize_host_table),
		cmocka_unit_test(test_model_normalize_host_lengths),
		cmocka_unit_test(test_model_normalize_pattern_table),
		cmocka_unit_test(test_model_latest_adoption),
		cmocka_unit_test(test_model_enum_names_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
