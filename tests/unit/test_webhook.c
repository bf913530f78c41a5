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

#include "base/config.h"
#include "store/db.h"
#include "base/util.h"
#include "alerts/webhook.h"
#include "alerts/webhook_int.h"
#include "testdb.h"

static void test_webhook_signature_rfc4231(void **state)
{
	(void)state;
	char sig[80];
	const char *data = "what do ya want for nothing?";
	assert_int_equal(webhook_signature("Jefe", data, strlen(data), sig, sizeof(sig)), 0);
	assert_string_equal(
		sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	assert_int_equal(webhook_signature("Jefe", data, strlen(data), sig, 10), -EINVAL);
}

static void test_webhook_backoff_table(void **state)
{
	(void)state;
	static const struct {
		int attempts;
		int64_t cap;
		double rnd;
		int64_t want;
	} cases[] = {
		{ 1, 3600, 0.0, 1 },	   { 1, 3600, 0.999, 1 },     { 2, 3600, 0.0, 1 },
		{ 2, 3600, 0.999, 2 },	   { 5, 3600, 0.0, 8 },	      { 5, 3600, 0.5, 12 },
		{ 5, 3600, 0.999, 16 },	   { 13, 3600, 0.999, 3598 }, { 13, 3600, 0.0, 1800 },
		{ 60, 3600, 0.999, 3598 }, { 1000, 60, 0.0, 30 },     { 3, 1, 0.0, 1 },
		{ 0, 10, 0.0, 1 },	   { 4, 10, 2.0, 4 },	      { 4, 10, -1.0, 4 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t got = webhook_backoff(cases[i].attempts, cases[i].cap, cases[i].rnd);
		if (got != cases[i].want)
			fail_msg("case %zu: got %lld want %lld", i, (long long)got,
				 (long long)cases[i].want);
	}
}

static void test_webhook_classify_table(void **state)
{
	(void)state;
	static const struct {
		bool ok;
		long status;
		enum webhook_verdict want;
	} cases[] = {
		{ true, 200, WEBHOOK_DELIVERED }, { true, 204, WEBHOOK_DELIVERED },
		{ true, 299, WEBHOOK_DELIVERED }, { true, 500, WEBHOOK_RETRY },
		{ true, 503, WEBHOOK_RETRY },	  { true, 408, WEBHOOK_RETRY },
		{ true, 429, WEBHOOK_RETRY },	  { true, 400, WEBHOOK_PERMANENT },
		{ true, 404, WEBHOOK_PERMANENT }, { true, 410, WEBHOOK_PERMANENT },
		{ true, 301, WEBHOOK_PERMANENT }, { true, 302, WEBHOOK_PERMANENT },
		{ true, 100, WEBHOOK_PERMANENT }, { false, 0, WEBHOOK_RETRY },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (webhook_classify(cases[i].ok, cases[i].status) != cases[i].want)
			fail_msg("case %zu (%ld)", i, cases[i].status);
}

static void test_webhook_url_check_table(void **state)
{
	(void)state;
	char err[ERRLEN];
	static const struct {
		const char *url;
		int ok;
	} cases[] = {
		{ "http://127.0.0.1:9000/hook", 1 },
		{ "https://hooks.slack.com/services/T0/B0/XYZ", 1 },
		{ "https://[::1]:8443/x?y=1", 1 },
		{ "ftp://example.com/x", 0 },
		{ "file:///etc/passwd", 0 },
		{ "gopher://example.com", 0 },
		{ "example.com/hook", 0 },
		{ "http://", 0 },
		{ "", 0 },
		{ "http://exa mple.com/", 0 },
		{ "HTTP://example.com/", 0 },
		{ "javascript:alert(1)", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc = webhook_url_check(cases[i].url, err, sizeof(err));
		if ((rc == 0) != cases[i].ok)
			fail_msg("case %zu '%s': rc %d (%s)", i, cases[i].url, rc, err);
	}
	char *huge = malloc(WEBHOOK_URL_MAX + 20);
	assert_non_null(huge);
	memset(huge, 'a', WEBHOOK_URL_MAX + 19);
	memcpy(huge, "http://x/", 9);
	huge[WEBHOOK_URL_MAX + 19] = 0;
	assert_int_equal(webhook_url_check(huge, err, sizeof(err)), -EINVAL);
	free(huge);
}

static void test_webhook_redact_url(void **state)
{
	(void)state;
	static const struct {
		const char *url, *want;
	} cases[] = {
		{ "https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/..." },
		{ "https://hooks.example.com/SECRETTOKEN", "https://hooks.example.com/..." },
		{ "http://127.0.0.1:9000/hook", "http://127.0.0.1:9000/..." },
		{ "http://u:pw@h/a?token=1", "http://h/..." },
		{ "http://h/?token=1", "http://h/..." },
		{ "https://h.example", "https://h.example" },
		{ "https://h.example/", "https://h.example" },
		{ "http://[::1]:8/x", "http://[::1]:8/..." },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[256];
		assert_int_equal(webhook_redact_url(cases[i].url, out, sizeof(out)), 0);
		assert_string_equal(out, cases[i].want);
	}
	char small[8];
	assert_int_equal(webhook_redact_url("https://hooks.example.com/x", small, sizeof(small)),
			 -ENOSPC);
}

static struct webhook_alert sample(json_t *details, const char *status)
{
	struct webhook_alert a = {
		.alert_id = 7,
		.fingerprint = "stranding_now-0123456789abcdef",
		.kind = "stranding_now",
		.severity = "critical",
		.status = status,
		.endpoint = "api.example.com:443",
		.endpoint_id = 3,
		.app = "shop<android>&",
		.summary = "31% of <b>shop</b> stranded & more",
		.details = details,
		.starts_at = 1764000000,
		.ends_at = strcmp(status, "resolved") ? 0 : 1764003600,
	};
	return a;
}

static void test_webhook_payload_generic(void **state)
{
	(void)state;
	json_t *d = json_pack("{s:f, s:[{s:s, s:f}], s:[s, s]}", "stranded_share", 0.31, "versions",
			      "version", "4.2.0", "share", 0.31, "reasons", "first",
			      "second \"quoted\"");
	struct webhook_alert a = sample(d, "firing");
	char *body = webhook_payload(WEBHOOK_GENERIC, &a, "https://pw.example/", "rcv");
	assert_non_null(body);
	json_t *j = json_loads(body, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "version")), "4");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "firing");
	assert_string_equal(json_string_value(json_object_get(j, "receiver")), "rcv");
	json_t *al = json_array_get(json_object_get(j, "alerts"), 0);
	json_t *labels = json_object_get(al, "labels");
	assert_string_equal(json_string_value(json_object_get(labels, "alertname")),
			    "stranding_now");
	assert_string_equal(json_string_value(json_object_get(labels, "severity")), "critical");
	assert_string_equal(json_string_value(json_object_get(labels, "endpoint")),
			    "api.example.com:443");
	assert_string_equal(json_string_value(json_object_get(labels, "app")), "shop<android>&");
	assert_string_equal(json_string_value(json_object_get(labels, "fingerprint")),
			    a.fingerprint);
	json_t *ann = json_object_get(al, "annotations");
	assert_string_equal(json_string_value(json_object_get(ann, "reasons")),
			    "first\nsecond \"quoted\"");
	assert_string_equal(json_string_value(json_object_get(al, "startsAt")),
			    "2025-11-24T16:00:00Z");
	assert_string_equal(json_string_value(json_object_get(al, "endsAt")),
			    "0001-01-01T00:00:00Z");
	assert_string_equal(json_string_value(json_object_get(al, "fingerprint")), a.fingerprint);
	json_t *pw = json_object_get(al, "pinwatch");
	assert_true(json_real_value(json_object_get(pw, "stranded_share")) == 0.31);
	assert_int_equal(json_array_size(json_object_get(pw, "versions")), 1);
	assert_string_equal(json_string_value(json_object_get(pw, "dashboard")),
			    "https://pw.example/endpoint?id=3");
	json_decref(j);
	free(body);

	struct webhook_alert r = sample(d, "resolved");
	body = webhook_payload(WEBHOOK_GENERIC, &r, "", "rcv");
	j = json_loads(body, 0, NULL);
	al = json_array_get(json_object_get(j, "alerts"), 0);
	assert_string_equal(json_string_value(json_object_get(al, "status")), "resolved");
	assert_string_equal(json_string_value(json_object_get(al, "endsAt")),
			    "2025-11-24T17:00:00Z");
	assert_true(json_is_null(json_object_get(json_object_get(al, "pinwatch"), "dashboard")));
	json_decref(j);
	free(body);
	json_decref(d);
}

static void test_webhook_payload_slack_escapes(void **state)
{
	(void)state;
	json_t *d = json_pack("{s:f, s:[s], s:[s]}", "stranded_share", 0.2, "versions", "4.1<x>",
			      "reasons", "<!channel> & <http://evil|click>");
	struct webhook_alert a = sample(d, "firing");
	char *body = webhook_payload(WEBHOOK_SLACK, &a, "https://pw.example", NULL);
	assert_non_null(body);
	json_t *j = json_loads(body, 0, NULL);
	const char *t = json_string_value(json_object_get(j, "text"));
	assert_non_null(t);
	assert_non_null(strstr(t, "[FIRING] critical stranding_now api.example.com:443"));
	assert_non_null(strstr(t, "shop&lt;android&gt;&amp;"));
	assert_non_null(strstr(t, "&lt;!channel&gt; &amp; &lt;http://evil|click&gt;"));
	assert_non_null(strstr(t, "4.1&lt;x&gt;"));
	assert_non_null(strstr(t, "Stranded share: 20.0%"));
	assert_non_null(strstr(t, "<https://pw.example/endpoint?id=3|Open in pinwatch>"));
	/* The only raw '<' is our own link. */
	assert_ptr_equal(strchr(t, '<'), strstr(t, "<https://pw.example"));
	json_decref(j);
	free(body);
	json_decref(d);
}

static void test_webhook_payload_huge_reason_capped(void **state)
{
	(void)state;
	json_t *reasons = json_array();
	char *big = malloc(100000);
	memset(big, 'r', 99999);
	big[99999] = 0;
	for (int i = 0; i < 5; i++)
		json_array_append_new(reasons, json_string(big));
	free(big);
	json_t *d = json_pack("{s:o}", "reasons", reasons);
	struct webhook_alert a = sample(d, "firing");
	char *body = webhook_payload(WEBHOOK_SLACK, &a, NULL, NULL);
	assert_non_null(body);
	assert_true(strlen(body) < 20000);
	free(body);
	/* generic: over WEBHOOK_BODY_MAX the details are left out, the alert still goes */
	body = webhook_payload(WEBHOOK_GENERIC, &a, NULL, NULL);
	assert_non_null(body);
	assert_true(strlen(body) <= WEBHOOK_BODY_MAX);
	assert_non_null(strstr(body, "\"fingerprint\""));
	assert_null(strstr(body, "rrrrrrrrrr"));
	free(body);
	json_decref(d);
}

static void test_webhook_add_list_remove(void **state)
{
	(void)state;
	char dir[64], path[128], err[ERRLEN];
	snprintf(dir, sizeof(dir), "/tmp/pinwatch-test-webhook-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	struct db *db = db_open(path, 0, err, sizeof(err));
	assert_non_null(db);
	int64_t id;
	json_t *arr;
	assert_int_equal(webhook_add(db, "t", "ftp://x/", WEBHOOK_GENERIC, "s", NULL, 1, &id, err,
				     sizeof(err)),
			 -EINVAL);
	assert_int_equal(webhook_add(db, "t", "http://x/", WEBHOOK_GENERIC, "", NULL, 1, &id, err,
				     sizeof(err)),
			 -EINVAL);
	assert_int_equal(webhook_add(db, "t", "http://x/", WEBHOOK_GENERIC, "s", "urgent", 1, &id,
				     err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(webhook_add(db, "t", "https://hooks.slack.com/services/T/B/SECRETPATH",
				     WEBHOOK_SLACK, "topsecret", "critical", 1, &id, err,
				     sizeof(err)),
			 0);
	assert_int_equal(webhook_list_json(db, &arr, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(arr), 1);
	char *dump = json_dumps(arr, 0);
	assert_null(strstr(dump, "topsecret"));
	assert_null(strstr(dump, "SECRETPATH"));
	assert_non_null(strstr(dump, "\"has_secret\": true"));
	assert_non_null(strstr(dump, "\"min_severity\": \"critical\""));
	free(dump);
	json_decref(arr);
	int64_t p = -1, g = -1;
	assert_int_equal(webhook_outbox_counts(db, &p, &g), 0);
	assert_int_equal(p, 0);
	assert_int_equal(g, 0);
	assert_int_equal(webhook_remove(db, "t", id, err, sizeof(err)), 0);
	int64_t n = -1;
	assert_int_equal(db_query_int(db,
				      "SELECT count(*) FROM audit_log WHERE object_type ="
				      " 'webhook' AND action IN ('create', 'delete')",
				      &n),
			 0);
	assert_int_equal(n, 2);
	/* The audit log never holds the secret or the URL's secret path. */
	assert_int_equal(db_query_int(db,
				      "SELECT count(*) FROM audit_log WHERE after LIKE"
				      " '%topsecret%' OR before LIKE '%SECRETPATH%'"
				      " OR after LIKE '%SECRETPATH%'",
				      &n),
			 0);
	assert_int_equal(n, 0);
	assert_int_equal(webhook_remove(db, "t", id, err, sizeof(err)), -ENOENT);
	db_close(db);
	testdb_remove(path, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_webhook_signature_rfc4231),
		cmocka_unit_test(test_webhook_backoff_table),
		cmocka_unit_test(test_webhook_classify_table),
		cmocka_unit_test(test_webhook_url_check_table),
		cmocka_unit_test(test_webhook_redact_url),
		cmocka_unit_test(test_webhook_payload_generic),
		cmocka_unit_test(test_webhook_payload_slack_escapes),
		cmocka_unit_test(test_webhook_payload_huge_reason_capped),
		cmocka_unit_test(test_webhook_add_list_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
