#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "alerts/alerts.h"
#include "base/config.h"
#include "store/db.h"
#include "signals/reports.h"
#include "sigcert.h"
#include "base/util.h"
#include "testdb.h"

/* Fixed "now" of the tests: 2026-11-27T10:00:00Z. */
#define NOW ((time_t)1795773600)
#define DAY 86400

static char dir[64];
static char path[128];

/* Server chain (root, intermediate, leaf), the same key reissued, and an
 * interception chain (corporate inspection CA). */
static struct tcert root, inter, leaf, leaf_reissued, mitm_root, mitm_leaf;
static char pem_root[8192], pem_inter[8192], pem_leaf[8192], pem_reissued[8192],
	pem_mitm_root[8192], pem_mitm_leaf[8192];

static int group_setup(void **state)
{
	(void)state;
	const char *const dns[] = { "api.example.com", NULL };
	if (gnutls_global_init() < 0)
		return -1;
	if (tcert_make(&root, "Example Root CA", NULL, NULL, true, NOW - 400 * DAY,
		       NOW + 3000 * DAY, NULL) ||
	    tcert_make(&inter, "Example Issuing CA", NULL, &root, true, NOW - 300 * DAY,
		       NOW + 1000 * DAY, NULL) ||
	    tcert_make(&leaf, "api.example.com", dns, &inter, false, NOW - 30 * DAY, NOW + 60 * DAY,
		       NULL) ||
	    tcert_make(&leaf_reissued, "api.example.com", dns, &inter, false, NOW - 2 * DAY,
		       NOW + 88 * DAY, &leaf) ||
	    tcert_make(&mitm_root, "Corp TLS Inspection CA", NULL, NULL, true, NOW - 400 * DAY,
		       NOW + 3000 * DAY, NULL) ||
	    tcert_make(&mitm_leaf, "api.example.com", dns, &mitm_root, false, NOW - DAY,
		       NOW + 10 * DAY, NULL))
		return -1;
	tcert_json_pem(&root, pem_root, sizeof(pem_root));
	tcert_json_pem(&inter, pem_inter, sizeof(pem_inter));
	tcert_json_pem(&leaf, pem_leaf, sizeof(pem_leaf));
	tcert_json_pem(&leaf_reissued, pem_reissued, sizeof(pem_reissued));
	tcert_json_pem(&mitm_root, pem_mitm_root, sizeof(pem_mitm_root));
	tcert_json_pem(&mitm_leaf, pem_mitm_leaf, sizeof(pem_mitm_leaf));
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tcert_free(&root);
	tcert_free(&inter);
	tcert_free(&leaf);
	tcert_free(&leaf_reissued);
	tcert_free(&mitm_root);
	tcert_free(&mitm_leaf);
	gnutls_global_deinit();
	return 0;
}

/* A database with: endpoint 1 api.example.com:443 observed presenting
 * leaf+inter; endpoint 2 other.example.com:443 never observed; app 1
 * shop-ios (com.example.shop, ios) with version 4.2.0; app 2 shop-android
 * (same bundle id) with version 4.2.0. */
static int setup(void **state)
{
	char err[ERRLEN];
	if (testdb_mkdir("reports", dir, sizeof(dir), path, sizeof(path)))
		return -1;
	struct db *db = db_open(path, 0, err, sizeof(err));
	if (!db)
		return -1;
	if (tseed_shop(db))
		return -1;
	const struct tcert *chain[] = { &leaf, &inter };
	if (tobs_add(db, 1, chain, 2, NOW - 20 * DAY, NOW - 600))
		return -1;
	*state = db;
	return 0;
}

static int teardown(void **state)
{
	db_close(*state);
	testdb_remove(path, dir);
	return 0;
}

/* Fill a template with chain c0, c1, c2 and the two known pins. */
static char *body(const char *name, const char *c0, const char *c1, const char *c2)
{
	const char *kv[] = {
		"C0", c0,     "C1",	    c1,	    "C2",
		c2,   "PIN1", root.pin_b64, "PIN2", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		NULL
	};
	char *b = tmpl_fill(name, kv);
	assert_non_null(b);
	return b;
}

static int64_t q(struct db *db, const char *sql)
{
	int64_t v = -1;
	assert_int_equal(db_query_int(db, sql, &v), 0);
	return v;
}

/* ---- parsing of realistic bodies ---- */

static void test_reports_parse_trustkit_ios(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct report r;
	char *b = body("trustkit-ios.json", pem_leaf, pem_inter, pem_root);
	assert_int_equal(reports_parse(b, strlen(b), &r, err, sizeof(err)), 0);
	assert_int_equal(r.format, REPORT_TRUSTKIT);
	assert_string_equal(r.bundle_id, "com.example.shop");
	assert_string_equal(r.app_version, "4.2.0");
	assert_string_equal(r.platform, "IOS");
	assert_string_equal(r.platform_version, "17.1.2");
	assert_string_equal(r.trustkit_version, "3.0.3");
	assert_string_equal(r.hostname, "api.example.com");
	assert_string_equal(r.noted_hostname, "example.com");
	assert_int_equal(r.port, 443);
	assert_int_equal(r.include_subdomains, 1);
	assert_int_equal(r.enforce, 1);
	assert_int_equal(r.validation_result, 1);
	assert_int_equal(r.date_time, 1795770843); /* 2026-11-27T09:14:03Z */
	assert_string_equal(r.expiration, "2027-06-01");
	assert_int_equal(r.nserved, 0);
	assert_int_equal(r.nvalidated, 3);
	assert_memory_equal(r.validated[0].sha256, leaf.sha256, 32);
	assert_memory_equal(r.validated[0].spki, leaf.spki, 32);
	assert_memory_equal(r.validated[2].spki, root.spki, 32);
	assert_string_equal(r.validated[0].subject, "CN=api.example.com");
	assert_string_equal(r.validated[0].issuer, "CN=Example Issuing CA");
	assert_int_equal(r.nknown, 2);
	assert_memory_equal(r.known_pins[0], root.spki, 32);
	reports_clear(&r);
	free(b);
}

static void test_reports_parse_trustkit_ios_legacy(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct report r;
	char *b = body("trustkit-ios-legacy.json", pem_leaf, pem_inter, "");
	assert_int_equal(reports_parse_trustkit(b, strlen(b), &r, err, sizeof(err)), 0);
	assert_null(r.platform);
	assert_int_equal(r.enforce, -1);
	assert_int_equal(r.nvalidated, 2);
	assert_int_equal(r.nknown, 1);
	reports_clear(&r);
	free(b);
}

static void test_reports_parse_trustkit_android(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct report r;
	char *b = body("trustkit-android.json", pem_leaf, pem_inter, pem_root);
	assert_int_equal(reports_parse(b, strlen(b), &r, err, sizeof(err)), 0);
	assert_int_equal(r.format, REPORT_TRUSTKIT);
	assert_string_equal(r.platform, "ANDROID");
	assert_int_equal(r.port, 0);
	assert_int_equal(r.date_time, 1795770843);
	assert_int_equal(r.nserved, 2);
	assert_int_equal(r.nvalidated, 3);
	assert_memory_equal(r.served[1].sha256, inter.sha256, 32);
	reports_clear(&r);
	free(b);
}

static void test_reports_parse_hpkp_forms(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct report r;
	static const char *const files[] = { "hpkp-chrome.json", "hpkp-wrapped.json" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *b = body(files[i], pem_leaf, pem_inter, pem_root);
		assert_int_equal(reports_parse(b, strlen(b), &r, err, sizeof(err)), 0);
		assert_int_equal(r.format, REPORT_HPKP);
		assert_null(r.bundle_id);
		assert_int_equal(r.enforce, -1);
		assert_non_null(r.noted_hostname);
		assert_string_equal(r.hostname, "api.example.com");
		assert_int_equal(r.port, 443);
		assert_int_equal(r.date_time, 1795770843);
		assert_int_equal(r.nserved, 2);
		assert_int_equal(r.nknown, 2);
		assert_true(r.expiration[0] != '\0');
		reports_clear(&r);
		assert_int_equal(reports_parse_hpkp(b, strlen(b), &r, err, sizeof(err)), 0);
		reports_clear(&r);
		free(b);
	}
}

/* ---- hostile bodies ---- */

static void expect_bad(const char *b, size_t len, const char *needle)
{
	char err[ERRLEN] = "";
	struct report r;
	int rc = reports_parse(b, len, &r, err, sizeof(err));
	if (rc != -EINVAL || !strstr(err, needle))
		fail_msg("expected -EINVAL with '%s', got %d '%s' for %.80s", needle, rc, err, b);
}

static void expect_str(const char *b, const char *needle)
{
	expect_bad(b, strlen(b), needle);
}

static void test_reports_parse_empty_noted_hostname(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct report r;
	char *b = body("hpkp-wrapped.json", pem_leaf, pem_inter, pem_root);
	char *at = strstr(b, "\"noted-hostname\":\"api.example.com\"");
	assert_non_null(at);
	memmove(at + 18, at + 33, strlen(at + 33) + 1); /* value becomes "" */
	assert_non_null(strstr(b, "\"noted-hostname\":\"\""));
	assert_int_equal(reports_parse(b, strlen(b), &r, err, sizeof(err)), 0);
	assert_null(r.noted_hostname);
	reports_clear(&r);
	free(b);
}

static void test_reports_parse_wrong_types(void **state)
{
	(void)state;
	/* Each case: the TrustKit iOS body with one member replaced. */
	static const struct {
		const char *from, *to, *needle;
	} cases[] = {
		{ "\"app-version\":\"4.2.0\"", "\"app-version\":420",
		  "app-version: expected a string, got integer" },
		{ "\"app-bundle-id\":\"com.example.shop\"", "\"app-bundle-id\":null",
		  "app-bundle-id: missing" },
		{ "\"app-bundle-id\":\"com.example.shop\"", "\"app-bundle-id\":\"\"",
		  "app-bundle-id: empty" },
		{ "\"port\":443", "\"port\":\"443\"", "port: expected an integer, got string" },
		{ "\"port\":443", "\"port\":70000", "port: 70000 out of range" },
		{ "\"port\":443", "\"port\":443.5", "port: expected an integer, got number" },
		{ "\"include-subdomains\":true", "\"include-subdomains\":1",
		  "include-subdomains: expected a boolean" },
		{ "\"enforce-pinning\":true", "\"enforce-pinning\":\"yes\"",
		  "enforce-pinning: expected a boolean" },
		{ "\"validation-result\":1", "\"validation-result\":-1",
		  "validation-result: -1 out of range" },
		{ "\"date-time\":\"2026-11-27T09:14:03Z\"", "\"date-time\":\"yesterday\"",
		  "date-time: expected an ISO 8601" },
		{ "\"date-time\":\"2026-11-27T09:14:03Z\"",
		  "\"date-time\":\"2026-02-30T09:14:03Z\"", "date-time: expected an ISO 8601" },
		{ "\"hostname\":\"api.example.com\"", "\"hostname\":\"api example.com\"",
		  "hostname: not a valid host name" },
		{ "\"hostname\":\"api.example.com\"", "\"hostname\":[]",
		  "hostname: expected a string, got array" },
		{ "\"known-pins\":[", "\"known-pins\":{},\"x\":[",
		  "known-pins: expected an array of strings, got object" },
		{ "\"known-pins\":[\"pin-sha256=", "\"known-pins\":[7,\"pin-sha256=",
		  "known-pins[0]: expected a string, got integer" },
		{ "\"known-pins\":[\"pin-sha256=", "\"known-pins\":[\"sha256/abc\",\"pin-sha256=",
		  "known-pins[0]: expected pin-sha256=" },
		{ "\"known-pins\":[\"pin-sha256=",
		  "\"known-pins\":[\"pin-sha256=\\\"AAAA\\\"\",\"pin-sha256=",
		  "known-pins[0]: pin-sha256 is not 32 bytes" },
		{ "\"validated-certificate-chain\":[",
		  "\"validated-certificate-chain\":[\"hello\",",
		  "validated-certificate-chain[0]: not a PEM certificate" },
		{ "\"validated-certificate-chain\":[", "\"validated-certificate-chain\":[{},",
		  "validated-certificate-chain[0]: expected a PEM string, got object" },
		{ "\"validated-certificate-chain\":[",
		  "\"validated-certificate-chain\":\"x\",\"y\":[",
		  "validated-certificate-chain: expected an array" },
		{ "\"known-pins-expiration-date\":\"2027-06-01\"",
		  "\"known-pins-expiration-date\":\"June\"",
		  "known-pins-expiration-date: expected a date" },
	};
	char *good = body("trustkit-ios.json", pem_leaf, pem_inter, pem_root);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *at = strstr(good, cases[i].from);
		if (!at)
			fail_msg("case %zu: '%s' not in the template", i, cases[i].from);
		size_t pre = (size_t)(at - good), fl = strlen(cases[i].from),
		       tl = strlen(cases[i].to);
		char *b = malloc(strlen(good) + tl + 1);
		assert_non_null(b);
		memcpy(b, good, pre);
		memcpy(b + pre, cases[i].to, tl);
		strcpy(b + pre + tl, at + fl);
		expect_bad(b, strlen(b), cases[i].needle);
		free(b);
	}
	free(good);
}

static void test_reports_parse_hostile_bodies(void **state)
{
	(void)state;
	/* Deep nesting: refused before jansson recurses. */
	char deep[4096];
	size_t o = 0;
	o += (size_t)snprintf(deep, sizeof(deep), "{\"hostname\":");
	for (int i = 0; i < 1000; i++)
		deep[o++] = '[';
	deep[o] = '\0';
	expect_bad(deep, o, "nested deeper than");
	/* Brackets inside strings do not count. */
	expect_str("{\"hostname\":\"[[[[[[[[[[[[[[[[[[[\"}", "hostname: not a valid host name");
	/* Invalid UTF-8 inside a string. */
	const char bad_utf8[] = "{\"app-bundle-id\":\"com.ex\xc3\x28\",\"app-version\":\"1\"}";
	expect_bad(bad_utf8, sizeof(bad_utf8) - 1, "invalid JSON");
	/* NUL inside a string (\u0000) is refused by jansson without JSON_ALLOW_NUL. */
	expect_str("{\"hostname\":\"a\\u0000b\"}", "invalid JSON");
	/* Not an object, empty, truncated, trailing garbage, duplicate keys. */
	expect_str("[1,2]", "expected a JSON object, got array");
	expect_str("", "body: empty");
	expect_str("{\"hostname\":", "invalid JSON");
	expect_str("{} {}", "invalid JSON");
	expect_str("{\"hostname\":\"a.example\",\"hostname\":\"b.example\"}", "invalid JSON");
	expect_str("{\"hpkp-report\":[]}", "hpkp-report: expected an object, got array");
	/* A TrustKit body without its bundle id says so (not "served chain missing"). */
	expect_str("{\"app-version\":\"4.2.0\",\"hostname\":\"a.example\"}",
		   "app-bundle-id: missing");
	/* A huge string member is refused by the field cap. */
	size_t n = 100000;
	char *big = malloc(n + 64);
	assert_non_null(big);
	o = (size_t)snprintf(big, 64, "{\"app-bundle-id\":\"");
	memset(big + o, 'a', n);
	o += n;
	o += (size_t)snprintf(big + o, 64, "\",\"app-version\":\"1\"}");
	expect_bad(big, o, "app-bundle-id: longer than 256 bytes");
	free(big);
	/* Too many certificates / pins. */
	char many[8192];
	o = (size_t)snprintf(many, sizeof(many),
			     "{\"hostname\":\"a.example\",\"known-pins\":[],"
			     "\"served-certificate-chain\":[");
	for (int i = 0; i < 17; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%s\"x\"", i ? "," : "");
	o += (size_t)snprintf(many + o, sizeof(many) - o, "]}");
	expect_bad(many, o, "served-certificate-chain: more than 16 certificates");
}

/* ---- storage, join, classification ---- */

static void ingest_ok(struct db *db, struct reports_limits *lim, const char *b, const char *src,
		      time_t now)
{
	char err[ERRLEN] = "";
	int st = reports_ingest(db, b, strlen(b), src, now, lim, err, sizeof(err));
	if (st != 202)
		fail_msg("ingest: %d %s", st, err);
}

static void test_reports_classification_table(void **state)
{
	struct db *db = *state;
	struct reports_limits *lim = reports_limits_new(65536, 10, 1000, 64, 1000);
	assert_non_null(lim);
	static const char *const names[] = { "matches_server", "differs", "unknown_host",
					     "unobserved" };
	/* Each row: template, host substitution, chain, expected class, joins. */
	struct {
		const char *tmpl, *host;
		const char *c0, *c1, *c2;
		enum report_class want;
		int64_t app, version, endpoint;
	} cases[] = {
		/* Server's leaf as seen by iOS: the app's pins are wrong. */
		{ "trustkit-ios.json", NULL, pem_leaf, pem_inter, pem_root, REPORT_MATCHES_SERVER,
		  1, 11, 1 },
		/* Same key, reissued certificate: still what the server presents. */
		{ "trustkit-android.json", NULL, pem_reissued, pem_inter, pem_root,
		  REPORT_MATCHES_SERVER, 2, 21, 1 },
		/* Interception by a corporate CA. */
		{ "trustkit-android.json", NULL, pem_mitm_leaf, pem_mitm_root, pem_mitm_root,
		  REPORT_DIFFERS, 2, 21, 1 },
		{ "hpkp-chrome.json", NULL, pem_mitm_leaf, pem_mitm_root, pem_mitm_root,
		  REPORT_DIFFERS, 0, 0, 1 },
		/* Host not in the inventory. */
		{ "trustkit-ios.json", "login.example.net", pem_leaf, pem_inter, pem_root,
		  REPORT_UNKNOWN_HOST, 1, 11, 0 },
		/* Inventoried but never observed. */
		{ "hpkp-wrapped.json", "other.example.com", pem_leaf, pem_inter, pem_root,
		  REPORT_UNOBSERVED, 0, 0, 2 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *b = body(cases[i].tmpl, cases[i].c0, cases[i].c1, cases[i].c2);
		if (cases[i].host) {
			char *at;
			while ((at = strstr(b, "api.example.com")) != NULL) {
				size_t hl = strlen(cases[i].host);
				char *nb = malloc(strlen(b) + hl + 1);
				assert_non_null(nb);
				memcpy(nb, b, (size_t)(at - b));
				strcpy(nb + (at - b), cases[i].host);
				strcat(nb, at + strlen("api.example.com"));
				free(b);
				b = nb;
			}
		}
		struct report r;
		struct reports_stored st;
		char err[ERRLEN];
		assert_int_equal(reports_parse(b, strlen(b), &r, err, sizeof(err)), 0);
		if (reports_store(db, &r, "192.0.2.10", NOW, 1000, &st, err, sizeof(err)))
			fail_msg("case %zu: %s", i, err);
		if (st.classification != cases[i].want)
			fail_msg("case %zu: classified %s, want %s", i, names[st.classification],
				 names[cases[i].want]);
		assert_true(st.new_cluster);
		char sql[256];
		snprintf(sql, sizeof(sql),
			 "SELECT coalesce(app_id, 0) * 1000000 + coalesce(version_id, 0) * 1000 + "
			 "coalesce(endpoint_id, 0) FROM reports WHERE id = %lld",
			 (long long)st.report_id);
		assert_int_equal(q(db, sql), cases[i].app * 1000000 + cases[i].version * 1000 +
						     cases[i].endpoint);
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM report_clusters WHERE id = %lld AND classification "
			 "= '%s'",
			 (long long)st.cluster_id, names[cases[i].want]);
		assert_int_equal(q(db, sql), 1);
		reports_clear(&r);
		free(b);
	}
	/* The same report again lands in the same cluster. */
	char *b = body("trustkit-ios.json", pem_leaf, pem_inter, pem_root);
	ingest_ok(db, lim, b, "192.0.2.10", NOW + 10);
	free(b);
	assert_int_equal(q(db, "SELECT count(*) FROM report_clusters"), 6);
	assert_int_equal(q(db, "SELECT report_count FROM report_clusters WHERE id = 1"), 2);
	assert_int_equal(q(db, "SELECT count FROM report_cluster_days WHERE cluster_id = 1 AND "
			       "day = '2026-11-27'"),
			 2);
	/* No device identifier is stored anywhere. */
	assert_int_equal(q(db, "SELECT count(*) FROM reports WHERE served_chain LIKE '%6C1F7F3E%' "
			       "OR validated_chain LIKE '%6C1F7F3E%'"),
			 0);
	reports_limits_free(lim);
}

static void test_reports_ingest_never_stores_half(void **state)
{
	struct db *db = *state;
	char err[ERRLEN];
	struct reports_limits *lim = reports_limits_new(65536, 10, 1000, 64, 1000);
	assert_non_null(lim);
	/* Bad bodies: 400, counted, nothing stored. */
	assert_int_equal(reports_ingest(db, "{\"app-bundle-id\":5}", 19, "192.0.2.1", NOW, lim, err,
					sizeof(err)),
			 400);
	assert_non_null(strstr(err, "app-bundle-id"));
	assert_int_equal(reports_ingest(db, "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]", 40,
					"192.0.2.1", NOW, lim, err, sizeof(err)),
			 400);
	/* A storage failure after the cluster was written rolls everything back. */
	assert_int_equal(db_exec(db,
				 "CREATE TEMP TRIGGER fail_reports BEFORE INSERT ON reports "
				 "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END",
				 err, sizeof(err)),
			 0);
	char *b = body("trustkit-ios.json", pem_leaf, pem_inter, pem_root);
	assert_int_equal(reports_ingest(db, b, strlen(b), "192.0.2.1", NOW, lim, err, sizeof(err)),
			 -EIO);
	assert_non_null(strstr(err, "disk on fire"));
	assert_int_equal(q(db, "SELECT count(*) FROM reports"), 0);
	assert_int_equal(q(db, "SELECT count(*) FROM report_clusters"), 0);
	assert_int_equal(q(db, "SELECT count(*) FROM report_cluster_days"), 0);
	assert_int_equal(db_exec(db, "DROP TRIGGER fail_reports", err, sizeof(err)), 0);
	ingest_ok(db, lim, b, "192.0.2.1", NOW);
	free(b);
	struct reports_stats st;
	reports_limits_stats(lim, &st);
	assert_int_equal(st.bad, 2);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.accepted, 1);
	assert_int_equal(st.new_clusters, 1);
	reports_limits_free(lim);
}

static void test_reports_ingest_size_cap(void **state)
{
	struct db *db = *state;
	char err[ERRLEN];
	struct reports_limits *lim = reports_limits_new(1024, 10, 100, 64, 1000);
	assert_non_null(lim);
	char *b = body("trustkit-ios.json", pem_leaf, pem_inter, pem_root);
	assert_true(strlen(b) > 1024);
	assert_int_equal(reports_ingest(db, b, strlen(b), "192.0.2.1", NOW, lim, err, sizeof(err)),
			 413);
	free(b);
	struct reports_stats st;
	reports_limits_stats(lim, &st);
	assert_int_equal(st.too_large, 1);
	assert_int_equal(q(db, "SELECT count(*) FROM reports"), 0);
	reports_limits_free(lim);
	assert_null(reports_limits_new(0, 1, 1, 64, 1));
	assert_null(reports_limits_new(REPORTS_MAX_BODY_HARD + 1, 1, 1, 64, 1));
	assert_null(reports_limits_new(1024, 0, 1, 64, 1));
}

static void test_reports_ingest_rate_limited(void **state)
{
	struct db *db = *state;
	char err[ERRLEN];
	/* 1 report/s, burst 20; thousands in the same second from one source. */
	struct reports_limits *lim = reports_limits_new(65536, 1, 20, 256, 100000);
	assert_non_null(lim);
	char *b = body("hpkp-chrome.json", pem_leaf, pem_inter, pem_root);
	int accepted = 0, limited = 0;
	for (int i = 0; i < 5000; i++) {
		int st = reports_ingest(db, b, strlen(b), "198.51.100.7", NOW, lim, err,
					sizeof(err));
		if (st == 202)
			accepted++;
		else if (st == 429)
			limited++;
		else
			fail_msg("unexpected status %d: %s", st, err);
	}
	assert_int_equal(accepted, 20);
	assert_int_equal(limited, 4980);
	/* Another source is not affected; IPv6 sources share their /64. */
	ingest_ok(db, lim, b, "198.51.100.8", NOW);
	int v6 = 0;
	for (int i = 0; i < 100; i++) {
		char src[64];
		snprintf(src, sizeof(src), "2001:db8:1:2::%x", i + 1);
		v6 += reports_ingest(db, b, strlen(b), src, NOW, lim, err, sizeof(err)) == 202;
	}
	assert_int_equal(v6, 20);
	/* Tokens come back with time. */
	assert_int_equal(
		reports_ingest(db, b, strlen(b), "198.51.100.7", NOW + 1, lim, err, sizeof(err)),
		202);
	assert_int_equal(
		reports_ingest(db, b, strlen(b), "198.51.100.7", NOW + 1, lim, err, sizeof(err)),
		429);
	free(b);
	struct reports_stats st;
	reports_limits_stats(lim, &st);
	assert_int_equal(st.rate_limited, 4980 + 80 + 1);
	assert_int_equal(st.accepted, 20 + 1 + 20 + 1);
	assert_int_equal(q(db, "SELECT count(*) FROM reports"), 42);
	reports_limits_free(lim);
}

static void test_reports_limits_table_bounded(void **state)
{
	(void)state;
	/* 64 slots, 10000 distinct sources: every new source gets its burst,
	 * the table never grows, and a recently seen source keeps its bucket. */
	struct reports_limits *lim = reports_limits_new(1024, 1, 2, 64, 10);
	assert_non_null(lim);
	for (int i = 0; i < 10000; i++) {
		char src[32];
		snprintf(src, sizeof(src), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		assert_int_equal(reports_limits_take(lim, src, NOW), 1);
	}
	assert_int_equal(reports_limits_take(lim, "10.0.39.15", NOW), 1); /* i = 9999 */
	assert_int_equal(reports_limits_take(lim, "10.0.39.15", NOW), 0);
	reports_limits_free(lim);
}

static void test_reports_quota_evicts_oldest(void **state)
{
	struct db *db = *state;
	char err[ERRLEN];
	struct reports_limits *lim = reports_limits_new(65536, 100, 100, 64, 3);
	assert_non_null(lim);
	char *b = body("trustkit-ios.json", pem_leaf, pem_inter, pem_root);
	/* Received out of id order: the oldest received goes first. */
	const time_t at[] = { NOW + 50, NOW + 10, NOW + 40, NOW + 20, NOW + 30 };
	for (size_t i = 0; i < ARRAY_SIZE(at); i++)
		ingest_ok(db, lim, b, "192.0.2.5", at[i]);
	free(b);
	assert_int_equal(q(db, "SELECT count(*) FROM reports"), 3);
	assert_int_equal(q(db, "SELECT min(received_at) FROM reports"), NOW + 30);
	assert_int_equal(q(db, "SELECT max(received_at) FROM reports"), NOW + 50);
	/* Aggregates survive eviction. */
	assert_int_equal(q(db, "SELECT report_count FROM report_clusters"), 5);
	struct reports_stats st;
	reports_limits_stats(lim, &st);
	assert_int_equal(st.evicted, 2);
	(void)err;
	reports_limits_free(lim);
}

static void test_reports_alert_conds_new_cluster(void **state)
{
	struct db *db = *state;
	char err[ERRLEN];
	struct reports_alert *a;
	size_t n;
	struct reports_limits *lim = reports_limits_new(65536, 100, 100, 64, 1000);
	assert_non_null(lim);
	assert_int_equal(reports_alert_conds(db, NOW, 7 * DAY, &a, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	reports_alerts_free(a, n);

	char *b = body("trustkit-ios.json", pem_leaf, pem_inter, pem_root);
	ingest_ok(db, lim, b, "192.0.2.5", NOW);
	ingest_ok(db, lim, b, "192.0.2.6", NOW + 5);
	free(b);
	assert_int_equal(reports_alert_conds(db, NOW + 5, 7 * DAY, &a, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].kind, "pin_failures_reported");
	assert_int_equal(a[0].severity, SEVERITY_CRITICAL);
	assert_int_equal(a[0].endpoint_id, 1);
	assert_int_equal(a[0].app_id, 1);
	assert_non_null(strstr(a[0].summary, "2 pin-failure reports from shop-ios `4.2.0` for "));
	assert_string_equal(json_string_value(json_object_get(a[0].details, "classification")),
			    "matches_server");
	char fp[128];
	snprintf(fp, sizeof(fp), "%s", a[0].fingerprint);
	reports_alerts_free(a, n);

	/* A second cluster (interception) adds one condition; the first keeps its
	 * fingerprint. One source alone is only info; a second address makes it
	 * a warning (the same address again does not). */
	b = body("trustkit-android.json", pem_mitm_leaf, pem_mitm_root, pem_mitm_root);
	ingest_ok(db, lim, b, "192.0.2.7", NOW + 6);
	ingest_ok(db, lim, b, "192.0.2.7", NOW + 6);
	assert_int_equal(reports_alert_conds(db, NOW + 6, 7 * DAY, &a, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(a[0].fingerprint, fp);
	assert_int_equal(a[1].severity, SEVERITY_INFO);
	assert_int_equal(json_integer_value(json_object_get(a[1].details, "sources")), 1);
	reports_alerts_free(a, n);
	ingest_ok(db, lim, b, "198.51.100.20", NOW + 6);
	free(b);
	assert_int_equal(reports_alert_conds(db, NOW + 6, 7 * DAY, &a, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(a[1].severity, SEVERITY_WARNING);
	assert_int_equal(a[1].app_id, 2);
	reports_alerts_free(a, n);

	/* Through the alert engine: one firing alert per cluster, critical for
	 * matches_server; they resolve once the clusters go quiet. */
	struct config cfg;
	config_defaults(&cfg);
	struct alerts_result res;
	assert_int_equal(
		alerts_evaluate(db, &cfg, NOW + 6, &reports_alerts_source, &res, err, sizeof(err)),
		0);
	/* (the observed fixture certificates also raise certificate_expiring) */
	assert_int_equal(res.opened - q(db, "SELECT count(*) FROM alerts WHERE kind ="
					    " 'certificate_expiring' AND status = 'firing'"),
			 2);
	assert_int_equal(q(db,
			   "SELECT count(*) FROM alerts WHERE kind = 'pin_failures_reported' AND "
			   "status = 'firing' AND severity = 'critical' AND app_id = 1"),
			 1);
	assert_int_equal(
		alerts_evaluate(db, &cfg, NOW + 7, &reports_alerts_source, &res, err, sizeof(err)),
		0);
	assert_int_equal(res.opened, 0);
	assert_int_equal(alerts_evaluate(db, &cfg, NOW + 8 * DAY, &reports_alerts_source, &res, err,
					 sizeof(err)),
			 0);
	assert_int_equal(res.resolved, 2);

	/* Quiet clusters stop being conditions after the window. */
	assert_int_equal(reports_alert_conds(db, NOW + 8 * DAY, 7 * DAY, &a, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 0);
	reports_alerts_free(a, n);

	json_t *j = NULL;
	assert_int_equal(reports_clusters_json(db, 100, 30, NOW + 6, &j, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(j), 2);
	json_t *first = json_array_get(j, 1);
	assert_string_equal(json_string_value(json_object_get(first, "app")), "shop-ios");
	assert_int_equal(json_integer_value(json_object_get(first, "report_count")), 2);
	json_t *days = json_object_get(first, "days");
	assert_int_equal(json_array_size(days), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(days, 0), "count")), 2);
	json_decref(j);
	reports_limits_free(lim);
}

static void test_reports_parse_value_matches_text(void **state)
{
	struct db *db = *state;
	char err[ERRLEN];
	static const char *const files[] = { "trustkit-ios.json", "trustkit-android.json",
					     "hpkp-chrome.json", "hpkp-wrapped.json" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *b = body(files[i], pem_leaf, pem_inter, pem_root);
		struct report a, v;
		json_t *jroot = json_loads(b, JSON_REJECT_DUPLICATES, NULL);
		assert_non_null(jroot);
		assert_int_equal(reports_parse(b, strlen(b), &a, err, sizeof(err)), 0);
		assert_int_equal(reports_parse_value(jroot, &v, err, sizeof(err)), 0);
		assert_int_equal(a.format, v.format);
		assert_string_equal(a.hostname, v.hostname);
		assert_int_equal(a.nserved, v.nserved);
		assert_int_equal(a.nvalidated, v.nvalidated);
		assert_int_equal(a.nknown, v.nknown);
		assert_int_equal(a.date_time, v.date_time);
		reports_clear(&a);
		reports_clear(&v);
		json_decref(jroot);
		free(b);
	}
	/* A deep tree handed over by the HTTP layer is refused the same way. */
	json_t *deep = json_array(), *cur = deep;
	for (int i = 0; i < 50; i++) {
		json_t *n = json_array();
		json_array_append_new(cur, n);
		cur = n;
	}
	json_t *jroot = json_pack("{s:s,s:o}", "hostname", "a.example", "known-pins", deep);
	struct report r;
	assert_int_equal(reports_parse_value(jroot, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nested deeper than 8"));
	struct reports_limits *lim = reports_limits_new(65536, 10, 100, 64, 1000);
	assert_non_null(lim);
	assert_int_equal(
		reports_ingest_value(db, jroot, 300, "192.0.2.1", NOW, lim, err, sizeof(err)), 400);
	assert_int_equal(reports_ingest_value(db, NULL, 0, "192.0.2.1", NOW, lim, err, sizeof(err)),
			 400);
	json_decref(jroot);
	char *b = body("hpkp-wrapped.json", pem_leaf, pem_inter, pem_root);
	jroot = json_loads(b, 0, NULL);
	assert_int_equal(
		reports_ingest_value(db, jroot, strlen(b), "192.0.2.1", NOW, lim, err, sizeof(err)),
		202);
	assert_int_equal(
		reports_ingest_value(db, jroot, 70000, "192.0.2.1", NOW, lim, err, sizeof(err)),
		413);
	json_decref(jroot);
	free(b);
	struct reports_stats st;
	reports_limits_stats(lim, &st);
	assert_int_equal(st.bad, 2);
	assert_int_equal(st.accepted, 1);
	assert_int_equal(st.too_large, 1);
	reports_limits_free(lim);
}

static void test_reports_cluster_cap_evicts_least_recent(void **state)
{
	struct db *db = *state;
	char err[ERRLEN];
	/* REPORTS_MAX_CLUSTERS old clusters (a flood of made-up chains), each
	 * with a report and a day count; the oldest-seen is id 1. */
	assert_int_equal(db_exec(db,
				 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
				 "WHERE i < 20000) "
				 "INSERT INTO report_clusters (id, key, hostname, port, "
				 "chain_sha256, chain_length, "
				 "classification, first_seen, last_seen, report_count) SELECT i, "
				 "randomblob(32), 'x.example', 443, randomblob(32), 1, "
				 "'unknown_host', i, i, 1 "
				 "FROM n;"
				 "INSERT INTO report_cluster_days SELECT id, '2026-11-01', 1 FROM "
				 "report_clusters;"
				 "INSERT INTO report_cluster_days VALUES (2, '2024-01-01', 1);"
				 "INSERT INTO reports (received_at, source, format, hostname, "
				 "port, served_chain, "
				 "validated_chain, known_pins, cluster_id, classification) SELECT "
				 "last_seen, "
				 "'192.0.2.1', 'hpkp', 'x.example', 443, '[]', '[]', '[]', id, "
				 "'unknown_host' "
				 "FROM report_clusters;",
				 err, sizeof(err)),
			 0);
	char *b = body("hpkp-chrome.json", pem_leaf, pem_inter, pem_root);
	struct report r;
	struct reports_stored st;
	assert_int_equal(reports_parse(b, strlen(b), &r, err, sizeof(err)), 0);
	assert_int_equal(reports_store(db, &r, "192.0.2.9", NOW, 1000000, &st, err, sizeof(err)),
			 0);
	assert_true(st.new_cluster);
	assert_int_equal(st.clusters_evicted, 1);
	assert_int_equal(q(db, "SELECT count(*) FROM report_clusters"), REPORTS_MAX_CLUSTERS);
	assert_int_equal(q(db, "SELECT count(*) FROM report_clusters WHERE id = 1"), 0);
	assert_int_equal(q(db, "SELECT count(*) FROM reports WHERE cluster_id = 1"), 0);
	assert_int_equal(q(db, "SELECT count(*) FROM reports"), REPORTS_MAX_CLUSTERS);
	/* Day counts older than REPORTS_DAYS_KEPT are pruned. */
	assert_int_equal(q(db, "SELECT count(*) FROM report_cluster_days WHERE day < '2025-01-01'"),
			 0);
	/* A report for an existing cluster evicts nothing. */
	assert_int_equal(
		reports_store(db, &r, "192.0.2.9", NOW + 1, 1000000, &st, err, sizeof(err)), 0);
	assert_false(st.new_cluster);
	assert_int_equal(q(db, "SELECT count(*) FROM report_clusters"), REPORTS_MAX_CLUSTERS);
	reports_clear(&r);
	free(b);
}

/* @b with "app-version" and "hostname" replaced (forged reports). */
static char *forge(const char *b, const char *version, const char *host)
{
	json_t *j = json_loads(b, 0, NULL);
	assert_non_null(j);
	if (version)
		json_object_set_new(j, "app-version", json_string(version));
	if (host)
		json_object_set_new(j, "hostname", json_string(host));
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_non_null(s);
	return s;
}

static const struct reports_alert *find_fp(const struct reports_alert *a, size_t n, const char *fp)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(a[i].fingerprint, fp))
			return &a[i];
	return NULL;
}

/* A flood of forged reports (one made-up app version each, one source) is
 * one info condition per host; a genuine cluster after it still raises its
 * own critical condition; nothing is dropped silently. */
static void test_reports_alert_conds_flood(void **state)
{
	struct db *db = *state;
	char err[ERRLEN], ver[32];
	struct reports_alert *a;
	size_t n, folded;
	struct reports_limits *lim = reports_limits_new(65536, 1000, 100000, 64, 100000);
	assert_non_null(lim);
	char *b = body("trustkit-ios.json", pem_leaf, pem_inter, pem_root);
	for (int i = 0; i < 300; i++) {
		snprintf(ver, sizeof(ver), "9.%d.0", i);
		char *f = forge(b, ver, NULL);
		ingest_ok(db, lim, f, "203.0.113.9", NOW);
		free(f);
	}
	/* ... also from two addresses of one IPv6 /64: still one source */
	char *f = forge(b, "9.999.0", NULL);
	ingest_ok(db, lim, f, "2001:db8:1:2::10", NOW);
	ingest_ok(db, lim, f, "2001:db8:1:2::11", NOW);
	free(f);
	assert_int_equal(q(db, "SELECT count(*) FROM report_clusters"), 301);
	assert_int_equal(reports_alert_conds(db, NOW, 7 * DAY, &a, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(a[0].severity, SEVERITY_INFO);
	assert_true(json_is_true(json_object_get(a[0].details, "aggregated")));
	assert_int_equal(json_integer_value(json_object_get(a[0].details, "clusters")), 301);
	assert_int_equal(json_integer_value(json_object_get(a[0].details, "sources")), 1);
	assert_non_null(strstr(a[0].summary, "`api.example.com:443`"));
	reports_alerts_free(a, n);

	/* the genuine cluster: a known version, two sources */
	ingest_ok(db, lim, b, "192.0.2.5", NOW + 1);
	ingest_ok(db, lim, b, "2001:db8:9::1", NOW + 1);
	assert_int_equal(reports_alert_conds(db, NOW + 1, 7 * DAY, &a, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(a[0].severity, SEVERITY_CRITICAL);
	assert_int_equal(a[0].app_id, 1);
	assert_int_equal(json_integer_value(json_object_get(a[0].details, "sources")), 2);
	reports_alerts_free(a, n);

	/* Forged clusters for many made-up hosts: the cap keeps the genuine
	 * critical first and ends with the overflow condition. */
	for (int i = 0; i < 6; i++) {
		char host[64];
		snprintf(host, sizeof(host), "h%d.forged.example", i);
		char *g = forge(b, "1.0", host);
		ingest_ok(db, lim, g, "203.0.113.9", NOW + 2);
		free(g);
	}
	/* a cap table: conditions are 1 critical + 7 aggregates */
	static const struct {
		size_t cap, n, folded;
	} caps[] = { { 1, 1, 8 }, { 2, 2, 7 }, { 7, 7, 2 }, { 8, 8, 0 }, { 9, 8, 0 } };
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
		assert_int_equal(reports_alert_conds_capped(db, NOW + 2, 7 * DAY, caps[i].cap, &a,
							    &n, &folded, err, sizeof(err)),
				 0);
		assert_int_equal(n, caps[i].n);
		assert_int_equal(folded, caps[i].folded);
		const struct reports_alert *o = find_fp(a, n, REPORTS_OVERFLOW_FINGERPRINT);
		if (caps[i].folded) {
			assert_non_null(o);
			assert_ptr_equal(o, &a[n - 1]);
			assert_int_equal(o->severity, SEVERITY_WARNING);
		} else {
			assert_null(o);
		}
		if (caps[i].cap > 1)
			assert_int_equal(a[0].severity, SEVERITY_CRITICAL);
		reports_alerts_free(a, n);
	}
	free(b);
	reports_limits_free(lim);
}

/* Over the report quota, forged reports (unknown versions) are evicted
 * before those of a known version: a flood cannot erase the sources that
 * corroborate a genuine cluster. */
static void test_reports_quota_keeps_known_versions(void **state)
{
	struct db *db = *state;
	char err[ERRLEN], ver[32];
	struct reports_alert *a;
	size_t n;
	struct reports_limits *lim = reports_limits_new(65536, 1000, 100000, 64, 4);
	assert_non_null(lim);
	char *b = body("trustkit-ios.json", pem_leaf, pem_inter, pem_root);
	ingest_ok(db, lim, b, "192.0.2.5", NOW);
	ingest_ok(db, lim, b, "192.0.2.6", NOW);
	for (int i = 0; i < 10; i++) {
		snprintf(ver, sizeof(ver), "7.%d", i);
		char *f = forge(b, ver, NULL);
		ingest_ok(db, lim, f, "203.0.113.9", NOW + 1 + i);
		free(f);
	}
	assert_int_equal(q(db, "SELECT count(*) FROM reports"), 4);
	assert_int_equal(q(db, "SELECT count(*) FROM reports WHERE version_id IS NOT NULL"), 2);
	assert_int_equal(reports_alert_conds(db, NOW + 11, 7 * DAY, &a, &n, err, sizeof(err)), 0);
	assert_true(n >= 1);
	assert_int_equal(a[0].severity, SEVERITY_CRITICAL);
	assert_int_equal(json_integer_value(json_object_get(a[0].details, "sources")), 2);
	reports_alerts_free(a, n);
	free(b);
	reports_limits_free(lim);
}

static void test_reports_quote_table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t max;
		const char *want;
	} cases[] = {
		{ "4.2.0", 64, "`4.2.0`" },
		{ "", 64, "``" },
		{ "evil.example/x?y", 64, "`evil.example/x?y`" },
		{ "a`b", 64, "`a'b`" },
		{ "a\nb\tc\x7f", 64, "`a?b?c?`" },
		{ "abcdef", 3, "`abc...`" },
		{ "abc", 3, "`abc`" },
		{ "ab\xc3\xa9z", 3, "`ab...`" }, /* not cut inside é */
		{ "ab\xc3\xa9z", 4, "`ab\xc3\xa9...`" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char out[64];
		reports_quote(cases[i].in, cases[i].max, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
	}
	char small[8];
	reports_quote("abcdefghij", 64, small, sizeof(small));
	assert_string_equal(small, "`ab...`"); /* fills 8 bytes exactly */
}

static void test_reports_source_group_table(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "192.0.2.5", "192.0.2.5" },
		{ "::ffff:192.0.2.5", "192.0.2.5" },
		{ "2001:db8:1:2::10", "2001:db8:1:2::/64" },
		{ "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64" },
		{ "2001:db8:1:3::10", "2001:db8:1:3::/64" },
		{ "::1", "::/64" },
		{ "", "unknown" },
		{ "not-an-address", "not-an-address" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char out[64];
		reports_source_group(cases[i].in, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reports_parse_trustkit_ios),
		cmocka_unit_test(test_reports_parse_trustkit_ios_legacy),
		cmocka_unit_test(test_reports_parse_trustkit_android),
		cmocka_unit_test(test_reports_parse_hpkp_forms),
		cmocka_unit_test(test_reports_parse_empty_noted_hostname),
		cmocka_unit_test(test_reports_parse_wrong_types),
		cmocka_unit_test(test_reports_parse_hostile_bodies),
		cmocka_unit_test_setup_teardown(test_reports_classification_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reports_ingest_never_stores_half, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reports_ingest_size_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reports_ingest_rate_limited, setup, teardown),
		cmocka_unit_test(test_reports_limits_table_bounded),
		cmocka_unit_test_setup_teardown(test_reports_quota_evicts_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reports_alert_conds_new_cluster, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reports_parse_value_matches_text, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reports_cluster_cap_evicts_least_recent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reports_alert_conds_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reports_quota_keeps_known_versions, setup,
						teardown),
		cmocka_unit_test(test_reports_quote_table),
		cmocka_unit_test(test_reports_source_group_table),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
