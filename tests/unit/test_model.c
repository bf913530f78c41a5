#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/json.h"
#include "model/model.h"
#include "model/sort.h"
#include "model/validate.h"
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

static void test_model_fmt_interval(void **state)
{
	(void)state;
	static const struct {
		int64_t s;
		const char *txt;
	} cases[] = { { 10, "10s" },   { 90, "90s" },	{ 300, "5m" },	  { 3600, "1h" },
		      { 5400, "90m" }, { 86400, "1d" }, { 604800, "1w" }, { 86401, "86401s" } };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[32];
		int64_t back;
		assert_string_equal(model_fmt_interval(cases[i].s, buf, sizeof(buf)), cases[i].txt);
		assert_int_equal(util_parse_duration(buf, &back), 0);
		assert_int_equal(back, cases[i].s);
	}
}

static void test_model_version_cmp(void **state)
{
	(void)state;
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
		{ "4.9", "4.10", -1 },	  { "4.10", "4.9", 1 },
		{ "4.2.0", "4.2.0", 0 },  { "4.2", "4.2.0", -1 },
		{ "10", "9", 1 },	  { "1.02", "1.2", -1 }, /* equal numbers: ties by strcmp */
		{ "1.0-beta", "1.0", 1 }, { "a", "b", -1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int c = model_version_cmp(cases[i].a, cases[i].b);
		c = (c > 0) - (c < 0);
		if (c != cases[i].want)
			fail_msg("%s vs %s: %d", cases[i].a, cases[i].b, c);
	}
}

/* The sort order inventory_load() returns: versions by number, samples by
 * date, policies by key, pins current first then by hash, tags and
 * endpoints (host, port) and apps by name. */
static void test_model_sort_inventory(void **state)
{
	(void)state;
	struct pin pins[] = { { { 9 }, PIN_BACKUP },
			      { { 5 }, PIN_CURRENT },
			      { { 1 }, PIN_BACKUP },
			      { { 7 }, PIN_CURRENT } };
	struct pin_policy pol[] = { { .pattern = "b.example" },
				    { .pattern = "a.example", .include_subdomains = true },
				    { .pattern = "a.example", .pins = pins, .npins = 4 } };
	struct adoption_sample ad[] = { { .at = "2026-03-01" }, { .at = "2026-01-01" } };
	struct app_version vs[] = { { .version = "4.10" },
				    { .version = "4.9",
				      .adoption = ad,
				      .nadoption = 2,
				      .policies = pol,
				      .npolicies = 3 },
				    { .version = "10.0" } };
	struct app apps[] = { { .name = "z", .versions = vs, .nversions = 3 }, { .name = "a" } };
	char *tags[] = { "web", "api", "edge" };
	struct endpoint eps[] = { { .host = "b.example", .port = 443 },
				  { .host = "a.example", .port = 8443, .tags = tags, .ntags = 3 },
				  { .host = "a.example", .port = 443 } };
	struct inventory inv = { eps, 3, apps, 2 };
	model_sort_inventory(&inv);
	assert_string_equal(eps[0].host, "a.example");
	assert_int_equal(eps[0].port, 443);
	assert_int_equal(eps[1].port, 8443);
	assert_string_equal(eps[2].host, "b.example");
	assert_string_equal(eps[1].tags[0], "api");
	assert_string_equal(eps[1].tags[2], "web");
	assert_string_equal(apps[0].name, "a");
	struct app *z = &apps[1];
	assert_string_equal(z->versions[0].version, "4.9");
	assert_string_equal(z->versions[1].version, "4.10");
	assert_string_equal(z->versions[2].version, "10.0");
	struct app_version *v = &z->versions[0];
	assert_string_equal(v->adoption[0].at, "2026-01-01");
	assert_string_equal(v->policies[0].pattern, "a.example");
	assert_false(v->policies[0].include_subdomains);
	assert_true(v->policies[1].include_subdomains);
	assert_string_equal(v->policies[2].pattern, "b.example");
	const struct pin *p = v->policies[0].pins;
	static const uint8_t order[] = { 5, 7, 1, 9 };
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		assert_int_equal(p[i].sha256[0], order[i]);
		assert_int_equal(p[i].role, i < 2 ? PIN_CURRENT : PIN_BACKUP);
	}
}

static int int_cmp(const void *x, const void *y)
{
	int a = *(const int *)x, b = *(const int *)y;
	return (a > b) - (a < b);
}

/* model_find_dup reports the duplicate that comes first in document order,
 * with the earliest element of its key. */
static void test_model_find_dup_table(void **state)
{
	(void)state;
	static const struct {
		int v[6];
		size_t n;
		int found;
		size_t first, second;
	} cases[] = {
		{ { 0 }, 0, 0, 0, 0 },
		{ { 1 }, 1, 0, 0, 0 },
		{ { 1, 2, 3 }, 3, 0, 0, 0 },
		{ { 1, 1 }, 2, 1, 0, 1 },
		{ { 3, 2, 1, 2 }, 4, 1, 1, 3 },
		{ { 5, 7, 7, 5 }, 4, 1, 1, 2 }, /* 7s pair up before the 5s */
		{ { 4, 9, 4, 9, 4 }, 5, 1, 0, 2 },
		{ { 1, 2, 3, 3, 2, 1 }, 6, 1, 2, 3 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t a = 99, b = 99;
		int d = model_find_dup(cases[i].v, cases[i].n, sizeof(int), int_cmp, &a, &b);
		if (d != cases[i].found || (d && (a != cases[i].first || b != cases[i].second)))
			fail_msg("case %zu: %d (%zu, %zu)", i, d, a, b);
	}
}

#define PIN_A	       "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define PIN_A_UNPADDED "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static void test_model_check_override_anchor_table(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out; /* out NULL: refused */
	} cases[] = {
		{ "system", "system" },
		{ "user", "user" },
		{ PIN_A, PIN_A },
		{ PIN_A_UNPADDED, PIN_A },
		{ "@raw/corp_ca", "@raw/corp_ca" },
		{ "@a/b", "@a/b" },
		{ "@/", "@/" },
		{ "@", NULL },
		{ "@raw", NULL },
		{ "raw/corp_ca", NULL },
		{ "@raw/corp ca", NULL },
		{ "@raw/caf\xc3\xa9", NULL },
		{ "System", NULL },
		{ "sha256/AAAA", NULL },
		{ "sha1/AAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL },
		{ "", NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERRLEN] = "", *a = strdup(cases[i].in);
		assert_non_null(a);
		int rc = model_check_override_anchor(&a, err, sizeof(err));
		if (cases[i].out ? rc != 0 || strcmp(a, cases[i].out) : rc != -EINVAL || !*err)
			fail_msg("'%s': rc %d, '%s' (%s)", cases[i].in, rc, a, err);
		free(a);
	}
	/* the longest unread anchor file name: 128 bytes */
	char name[130], err[ERRLEN];
	memset(name, 'x', sizeof(name));
	memcpy(name, "@raw/", 5);
	name[128] = '\0';
	char *a = strdup(name);
	assert_int_equal(model_check_override_anchor(&a, err, sizeof(err)), 0);
	free(a);
	name[128] = 'x';
	name[129] = '\0';
	a = strdup(name);
	assert_int_equal(model_check_override_anchor(&a, err, sizeof(err)), -EINVAL);
	free(a);
	a = NULL;
	assert_int_equal(model_check_override_anchor(&a, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "missing");
}

/* A policy built in C, varied one field at a time from a valid one. */
static void test_model_check_policy_table(void **state)
{
	(void)state;
	enum { TWO_PINS, SAME_PIN, MAX_PINS, MANY_PINS, NO_PINS };
	/* clang-format off */
	static const struct {
		const char *pattern;
		bool incl, enforce;
		const char *expires;
		int pins;
		const char *anchors[3];
		const char *err;     /* NULL: accepted */
		const char *pattern_out;
	} cases[] = {
		{ "Api.Example.com.", false, true, "", TWO_PINS, { 0 }, NULL, "api.example.com" },
		{ "*.example.com", false, true, "2027-01-31", TWO_PINS, { 0 }, NULL, "*.example.com" },
		{ "**.example.com", false, false, "", NO_PINS, { 0 }, NULL, "**.example.com" },
		{ "a.example", true, true, "", TWO_PINS, { "system", PIN_A_UNPADDED }, NULL, "a.example" },
		{ "a.example", false, true, "", MAX_PINS, { 0 }, NULL, "a.example" },
		{ "a.example", false, true, "", MANY_PINS, { 0 }, "pins: more than 64 pins", NULL },
		{ NULL, false, true, "", TWO_PINS, { 0 }, "pattern: not a host name or *./**. pattern", NULL },
		{ "a b", false, true, "", TWO_PINS, { 0 }, "pattern: not a host name or *./**. pattern", NULL },
		{ "*.*.example", false, true, "", TWO_PINS, { 0 }, "pattern: not a host name or *./**. pattern", NULL },
		{ "*.example.com", true, true, "", TWO_PINS, { 0 }, "include_subdomains: only for an exact host pattern", NULL },
		{ "a.example", false, true, "2027-02-30", TWO_PINS, { 0 }, "expires: not a date (YYYY-MM-DD)", NULL },
		{ "a.example", false, true, "", NO_PINS, { 0 }, "pins: an enforcing policy needs at least one pin", NULL },
		{ "a.example", false, true, "", SAME_PIN, { 0 }, "pins[2]: duplicate of pins[0]", NULL },
		{ "a.example", false, true, "", TWO_PINS, { "user", "bogus" }, "override_anchors[1]: must be system, user", NULL },
		{ "a.example", false, true, "", TWO_PINS, { PIN_A, "system", PIN_A_UNPADDED }, "override_anchors[2]: duplicate of override_anchors[0]", NULL },
	};
	/* clang-format on */
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pin pins[MODEL_MAX_PINS + 1];
		memset(pins, 0, sizeof(pins));
		char *anchors[3] = { NULL };
		char err[ERRLEN] = "";
		struct pin_policy p = { .include_subdomains = cases[i].incl,
					.enforce = cases[i].enforce,
					.pins = pins };
		static const size_t npins[] = { [TWO_PINS] = 2,
						[SAME_PIN] = 3,
						[MAX_PINS] = MODEL_MAX_PINS,
						[MANY_PINS] = MODEL_MAX_PINS + 1,
						[NO_PINS] = 0 };
		p.npins = npins[cases[i].pins];
		for (size_t k = 0; k < p.npins; k++)
			pins[k].sha256[0] = (uint8_t)(cases[i].pins == SAME_PIN && k == 2 ? 0 : k);
		snprintf(p.expires, sizeof(p.expires), "%s", cases[i].expires);
		p.pattern = cases[i].pattern ? strdup(cases[i].pattern) : NULL;
		for (size_t k = 0; k < 3 && cases[i].anchors[k]; k++)
			anchors[p.noverride_anchors++] = strdup(cases[i].anchors[k]);
		p.override_anchors = anchors;
		int rc = model_check_policy(&p, err, sizeof(err));
		if (cases[i].err ? rc != -EINVAL || strncmp(err, cases[i].err, strlen(cases[i].err))
				 : rc != 0 || strcmp(p.pattern, cases[i].pattern_out))
			fail_msg("case %zu (%s): rc %d, '%s'", i, cases[i].pattern, rc, err);
		if (!rc && p.expires[0])
			assert_int_equal(p.expires_at, 1801353600); /* 2027-01-31 */
		if (!rc && p.noverride_anchors == 2)
			assert_string_equal(anchors[1], PIN_A);
		free(p.pattern);
		for (size_t k = 0; k < p.noverride_anchors; k++)
			free(anchors[k]);
	}
}

/* An endpoint built in C, varied one field at a time from a valid one. */
static void test_model_check_endpoint_table(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct {
		const char *host, *sni, *env, *owner;
		int port;
		int64_t interval;
		const char *tags[3];
		const char *err; /* NULL: accepted */
	} cases[] = {
		{ "Api.Example.com.", NULL, NULL, NULL, 443, 0, { "b", "a" }, NULL },
		{ "a.example", "B.example", "staging", "ops", 1, 10, { 0 }, NULL },
		{ "a.example", NULL, NULL, "", 65535, 604800, { 0 }, NULL },
		{ NULL, NULL, NULL, NULL, 443, 0, { 0 }, "host: not a valid host name" },
		{ "a b", NULL, NULL, NULL, 443, 0, { 0 }, "host: not a valid host name" },
		{ "a.example", "a_b c", NULL, NULL, 443, 0, { 0 }, "sni: not a valid host name" },
		{ "a.example", NULL, NULL, NULL, 0, 0, { 0 }, "port: must be between 1 and 65535" },
		{ "a.example", NULL, NULL, NULL, 65536, 0, { 0 }, "port: must be between 1 and 65535" },
		{ "a.example", NULL, "", NULL, 443, 0, { 0 }, "environment: 1 to 64 bytes" },
		{ "a.example", NULL, "pro\tduction", NULL, 443, 0, { 0 }, "environment: 1 to 64 bytes" },
		{ "a.example", NULL, NULL, "o\nps", 443, 0, { 0 }, "owner: at most 128 bytes" },
		{ "a.example", NULL, NULL, NULL, 443, 0, { "a", "" }, "tags[1]: 1 to 64 bytes" },
		{ "a.example", NULL, NULL, NULL, 443, 0, { "a", "b", "a" }, "tags[2]: duplicate of tags[0]" },
		{ "a.example", NULL, NULL, NULL, 443, 9, { 0 }, "interval: must be between 10s and 7d" },
		{ "a.example", NULL, NULL, NULL, 443, 604801, { 0 }, "interval: must be between 10s and 7d" },
	};
	/* clang-format on */
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *tags[3] = { NULL }, err[ERRLEN] = "";
		struct endpoint e = { .port = cases[i].port, .interval_s = cases[i].interval };
		e.host = cases[i].host ? strdup(cases[i].host) : NULL;
		e.sni = cases[i].sni ? strdup(cases[i].sni) : NULL;
		e.environment = cases[i].env ? strdup(cases[i].env) : NULL;
		e.owner = cases[i].owner ? strdup(cases[i].owner) : NULL;
		for (size_t k = 0; k < 3 && cases[i].tags[k]; k++)
			tags[e.ntags++] = strdup(cases[i].tags[k]);
		e.tags = tags;
		int rc = model_check_endpoint(&e, err, sizeof(err));
		if (cases[i].err ? rc != -EINVAL || strncmp(err, cases[i].err, strlen(cases[i].err))
				 : rc != 0)
			fail_msg("case %zu (%s): rc %d, '%s'", i, cases[i].host, rc, err);
		if (i == 0) { /* normalised, defaulted and sorted */
			assert_string_equal(e.host, "api.example.com");
			assert_string_equal(e.environment, "production");
			assert_int_equal(e.interval_s, MODEL_DEFAULT_INTERVAL);
			assert_string_equal(tags[0], "a");
			assert_string_equal(tags[1], "b");
		} else if (i == 1) {
			assert_string_equal(e.sni, "b.example");
		}
		e.tags = NULL;
		for (size_t k = 0; k < e.ntags; k++)
			free(tags[k]);
		e.ntags = 0;
		model_endpoint_free(&e);
	}
	/* the tag cap: MODEL_MAX_TAGS distinct tags, not one more */
	char *many[MODEL_MAX_TAGS + 1], err[ERRLEN];
	for (size_t k = 0; k <= MODEL_MAX_TAGS; k++) {
		many[k] = malloc(8);
		snprintf(many[k], 8, "t%zu", k);
	}
	struct endpoint e = { .host = "a.example", .port = 443, .environment = "x" };
	e.tags = many;
	e.ntags = MODEL_MAX_TAGS;
	assert_int_equal(model_check_endpoint(&e, err, sizeof(err)), 0);
	e.ntags = MODEL_MAX_TAGS + 1;
	assert_int_equal(model_check_endpoint(&e, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "tags: at most 64 tags");
	for (size_t k = 0; k <= MODEL_MAX_TAGS; k++)
		free(many[k]);
}

static void test_model_check_sample_table(void **state)
{
	(void)state;
	static const struct {
		const char *at;
		double share;
		int64_t users;
		const char *err; /* NULL: accepted */
	} cases[] = {
		{ "2026-01-01", 0, -1, NULL },
		{ "2026-01-01", 1, 0, NULL },
		{ "2026-02-29", 0.5, 10, "at: not a date" },
		{ "", 0.5, 10, "at: not a date" },
		{ "2026-01-01", -0.0001, -1, "share: must be between 0 and 1" },
		{ "2026-01-01", 1.0001, -1, "share: must be between 0 and 1" },
		{ "2026-01-01", NAN, -1, "share: must be between 0 and 1" },
		{ "2026-01-01", 0.5, -2, "active_users: must not be negative" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERRLEN] = "";
		struct adoption_sample s = { .share = cases[i].share,
					     .active_users = cases[i].users };
		snprintf(s.at, sizeof(s.at), "%s", cases[i].at);
		int rc = model_check_sample(&s, err, sizeof(err));
		if (cases[i].err ? rc != -EINVAL || strncmp(err, cases[i].err, strlen(cases[i].err))
				 : rc != 0 || s.at_time != 1767225600)
			fail_msg("case %zu: rc %d, '%s'", i, rc, err);
	}
}

/* A whole version: samples and policies checked with their index, sources
 * defaulted and checked, duplicates refused after sorting. */
static void test_model_check_version_table(void **state)
{
	(void)state;
	static const struct {
		const char *version, *released;
		const char *at[2];  /* samples */
		const char *pat[2]; /* policies (one pin each; enforcing) */
		const char *source;
		const char *err; /* NULL: accepted */
	} cases[] = {
		{ "4.2.0",
		  "2026-01-01",
		  { "2026-02-01", "2026-01-01" },
		  { "b.example", "a.example" },
		  NULL,
		  NULL },
		{ "4.2.0", "", { 0 }, { "a.example" }, "okhttp", NULL },
		{ "", "", { 0 }, { 0 }, NULL, "version: 1 to 64 bytes" },
		{ "4.2\n", "", { 0 }, { 0 }, NULL, "version: 1 to 64 bytes" },
		{ "4.2.0", "yesterday", { 0 }, { 0 }, NULL, "released: not a date" },
		{ "4.2.0",
		  "",
		  { "2026-01-01", "2026-13-01" },
		  { 0 },
		  NULL,
		  "adoption[1].at: not a date" },
		{ "4.2.0",
		  "",
		  { "2026-01-01", "2026-01-01" },
		  { 0 },
		  NULL,
		  "adoption: two samples for 2026-01-01" },
		{ "4.2.0",
		  "",
		  { 0 },
		  { "a.example", "*.*" },
		  NULL,
		  "pin_policies[1].pattern: not" },
		{ "4.2.0",
		  "",
		  { 0 },
		  { "a.example" },
		  "manual",
		  "pin_policies[0].source: unknown" },
		{ "4.2.0",
		  "",
		  { 0 },
		  { "A.example", "a.example." },
		  NULL,
		  "pin_policies: two policies for a.example (include_subdomains false)" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERRLEN] = "";
		struct adoption_sample ad[2];
		struct pin_policy pol[2];
		struct pin pins[2];
		struct app_version v = { .version = strdup(cases[i].version),
					 .adoption = ad,
					 .policies = pol };
		memset(ad, 0, sizeof(ad));
		memset(pol, 0, sizeof(pol));
		memset(pins, 0, sizeof(pins));
		snprintf(v.released, sizeof(v.released), "%s", cases[i].released);
		for (size_t k = 0; k < 2 && cases[i].at[k]; k++)
			snprintf(ad[v.nadoption++].at, MODEL_DATE_LEN, "%s", cases[i].at[k]);
		for (size_t k = 0; k < 2 && cases[i].pat[k]; k++) {
			struct pin_policy *p = &pol[v.npolicies++];
			p->pattern = strdup(cases[i].pat[k]);
			p->source = cases[i].source ? strdup(cases[i].source) : NULL;
			p->enforce = true;
			p->pins = &pins[k];
			p->npins = 1;
		}
		int rc = model_check_version(&v, err, sizeof(err));
		if (cases[i].err ? rc != -EINVAL || strncmp(err, cases[i].err, strlen(cases[i].err))
				 : rc != 0)
			fail_msg("case %zu (%s): rc %d, '%s'", i, cases[i].version, rc, err);
		if (i == 0) { /* sorted, sources defaulted */
			assert_string_equal(ad[0].at, "2026-01-01");
			assert_string_equal(pol[0].pattern, "a.example");
			assert_string_equal(pol[0].source, "inventory");
		}
		for (size_t k = 0; k < v.npolicies; k++) {
			free(pol[k].pattern);
			free(pol[k].source);
		}
		free(v.version);
	}
	static const char *const sources[] = { "inventory", "nsc", "trustkit", "okhttp", "api" };
	for (size_t i = 0; i < ARRAY_SIZE(sources); i++)
		assert_true(model_valid_source(sources[i]));
	assert_false(model_valid_source("Inventory"));
	assert_false(model_valid_source(""));
	assert_false(model_valid_source(NULL));
}

/* The canonical JSON of an endpoint: defaults explicit, unset values omitted. */
static void test_model_endpoint_to_json(void **state)
{
	(void)state;
	char *tags[] = { "a", "b" };
	struct endpoint e = {
		.host = "a.example", .port = 443, .tags = tags, .ntags = 2, .enabled = true
	};
	json_t *j = model_endpoint_to_json(&e);
	assert_non_null(j);
	char *s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s,
			    "{\"host\":\"a.example\",\"port\":443,\"environment\":\"production\","
			    "\"tags\":[\"a\",\"b\"],\"third_party\":false,\"interval\":\"5m\","
			    "\"enabled\":true}");
	free(s);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_normalize_host_table),
		cmocka_unit_test(test_model_normalize_host_lengths),
		cmocka_unit_test(test_model_normalize_pattern_table),
		cmocka_unit_test(test_model_latest_adoption),
		cmocka_unit_test(test_model_enum_names_round_trip),
		cmocka_unit_test(test_model_fmt_interval),
		cmocka_unit_test(test_model_version_cmp),
		cmocka_unit_test(test_model_sort_inventory),
		cmocka_unit_test(test_model_find_dup_table),
		cmocka_unit_test(test_model_check_override_anchor_table),
		cmocka_unit_test(test_model_check_policy_table),
		cmocka_unit_test(test_model_check_endpoint_table),
		cmocka_unit_test(test_model_check_sample_table),
		cmocka_unit_test(test_model_check_version_table),
		cmocka_unit_test(test_model_endpoint_to_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
