/* POST/GET /api/v1/reports and /api/v1/candidates over real HTTP on loopback. */
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
#include <curl/curl.h>

#include "alerts/alerts_engine.h"
#include "signals/reports.h"
#include "base/config.h"
#include "store/db.h"
#include "http/http.h"
#include "httpc.h"
#include "sigcert.h"
#include "store/tokens.h"
#include "base/util.h"
#include "testslow.h"

#define DAY 86400

static char dir[64], dbpath[128], base[64];
static struct db *wdb;
static struct http *srv;
static char tok_read[TOKEN_LEN], tok_write[TOKEN_LEN];
static struct tcert root, inter, leaf;
static char pem_root[8192], pem_inter[8192], pem_leaf[8192];

static const char *extra_header; /* one more request header, or NULL */

static void request(struct httpc_resp *r, const char *method, const char *path, const char *token,
		    const char *body)
{
	const char *hdrs[] = { extra_header, NULL };
	/* As TrustKit sends it. */
	assert_int_equal(httpc_request(r, base, method, path, token,
				       body ? "application/json" : NULL, body, hdrs),
			 CURLE_OK);
}

static int64_t q(const char *sql)
{
	int64_t v = -1;
	assert_int_equal(db_query_int(wdb, sql, &v), 0);
	return v;
}

static int setup(void **state)
{
	(void)state;
	char err[ERRLEN];
	time_t now = util_now();
	const char *const dns[] = { "api.example.com", NULL };
	if (gnutls_global_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT))
		return -1;
	if (tcert_make(&root, "Example Root CA", NULL, NULL, true, now - 400 * DAY, now + 900 * DAY,
		       NULL) ||
	    tcert_make(&inter, "Example Issuing CA", NULL, &root, true, now - 300 * DAY,
		       now + 800 * DAY, NULL) ||
	    tcert_make(&leaf, "api.example.com", dns, &inter, false, now - 30 * DAY, now + 60 * DAY,
		       NULL))
		return -1;
	tcert_json_pem(&root, pem_root, sizeof(pem_root));
	tcert_json_pem(&inter, pem_inter, sizeof(pem_inter));
	tcert_json_pem(&leaf, pem_leaf, sizeof(pem_leaf));
	snprintf(dir, sizeof(dir), "/tmp/pinwatch-sighttp-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(dbpath, sizeof(dbpath), "%s/db.sqlite", dir);
	wdb = db_open(dbpath, 0, err, sizeof(err));
	if (!wdb ||
	    db_exec(wdb,
		    "INSERT INTO endpoints (id, host, port, created_at, updated_at) VALUES "
		    "(1, 'api.example.com', 443, 0, 0);"
		    "INSERT INTO apps (id, name, platform, bundle_id, created_at, updated_at) "
		    "VALUES "
		    "(1, 'shop-ios', 'ios', 'com.example.shop', 0, 0);"
		    "INSERT INTO versions (id, app_id, version, created_at) VALUES (11, 1, "
		    "'4.2.0', 0);"
		    "INSERT INTO adoption (version_id, at, share) VALUES (11, '2026-01-01', 0.5);"
		    "INSERT INTO pin_policies (id, version_id, pattern) VALUES (1, 11, "
		    "'api.example.com');"
		    "INSERT INTO pins (policy_id, sha256) VALUES "
		    "(1, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');",
		    err, sizeof(err)))
		return -1;
	const struct tcert *chain[] = { &leaf, &inter };
	if (tobs_add(wdb, 1, chain, 2, now - 10 * DAY, now))
		return -1;
	if (tokens_create(wdb, "reader", TOKEN_READ, "test", tok_read, sizeof(tok_read), err,
			  sizeof(err)) ||
	    tokens_create(wdb, "hook", TOKEN_WRITE, "test", tok_write, sizeof(tok_write), err,
			  sizeof(err)))
		return -1;
	struct config c;
	config_defaults(&c);
	snprintf(c.http_listen, sizeof(c.http_listen), "127.0.0.1:0");
	srv = http_new(&c, dbpath, err, sizeof(err));
	if (!srv) {
		fprintf(stderr, "http_new: %s\n", err);
		return -1;
	}
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", http_port(srv));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[160];
	http_free(srv);
	db_close(wdb);
	tcert_free(&root);
	tcert_free(&inter);
	tcert_free(&leaf);
	curl_global_cleanup();
	gnutls_global_deinit();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *report_body(void)
{
	const char *kv[] = { "C0",   pem_leaf,	    "C1",   pem_inter,	  "C2", pem_root,
			     "PIN1", inter.pin_b64, "PIN2", root.pin_b64, NULL };
	char *b = tmpl_fill("trustkit-ios.json", kv);
	assert_non_null(b);
	return b;
}

static void test_reports_route(void **state)
{
	(void)state;
	struct httpc_resp r;
	char *b = report_body();
	/* No token: apps send reports. */
	request(&r, "POST", "/api/v1/reports", NULL, b);
	assert_int_equal(r.status, 202);
	httpc_resp_free(&r);
	assert_int_equal(q("SELECT count(*) FROM reports WHERE source = '127.0.0.1' AND "
			   "classification = 'matches_server' AND version_id = 11"),
			 1);
	/* Whatever Origin a sender adds, a public report is not a cross-site write. */
	extra_header = "Origin: https://shop.example.net";
	request(&r, "POST", "/api/v1/reports", NULL, b);
	assert_int_equal(r.status, 202);
	httpc_resp_free(&r);
	/* ... while token routes still refuse cross-site writes. */
	request(&r, "POST", "/api/v1/candidates", tok_write, "{\"pem\": \"x\"}");
	assert_int_equal(r.status, 403);
	httpc_resp_free(&r);
	extra_header = NULL;
	/* Wrong type: 400 naming the field, nothing stored. */
	request(&r, "POST", "/api/v1/reports", NULL,
		"{\"app-bundle-id\":\"com.example.shop\",\"app-version\":4}");
	assert_int_equal(r.status, 400);
	assert_string_equal(json_string_value(json_object_get(r.json, "error")), "bad_report");
	assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")),
			       "app-version: expected a string"));
	httpc_resp_free(&r);
	/* A flood from one address: the burst passes, then 429. */
	int ok = 0, limited = 0;
	for (int i = 0; i < 60; i++) {
		request(&r, "POST", "/api/v1/reports", NULL, b);
		ok += r.status == 202;
		limited += r.status == 429;
		httpc_resp_free(&r);
	}
	assert_true(limited >= 20);
	assert_true(ok >= 27 && ok + limited == 60);
	free(b);
	assert_int_equal(q("SELECT count(*) FROM reports"), 2 + ok);
	/* Listing needs a read token and shows the cluster with the counters. */
	request(&r, "GET", "/api/v1/reports", NULL, NULL);
	assert_int_equal(r.status, 401);
	httpc_resp_free(&r);
	request(&r, "GET", "/api/v1/reports?days=7", tok_read, NULL);
	assert_int_equal(r.status, 200);
	json_t *items = json_object_get(r.json, "items");
	assert_int_equal(json_array_size(items), 1);
	json_t *c0 = json_array_get(items, 0);
	assert_string_equal(json_string_value(json_object_get(c0, "classification")),
			    "matches_server");
	assert_int_equal(json_integer_value(json_object_get(c0, "report_count")), 2 + ok);
	json_t *ctr = json_object_get(r.json, "counters");
	assert_int_equal(json_integer_value(json_object_get(ctr, "rate_limited")), limited);
	assert_int_equal(json_integer_value(json_object_get(ctr, "bad")), 1);
	httpc_resp_free(&r);
	request(&r, "GET", "/metrics", tok_read, NULL);
	assert_int_equal(r.status, 200);
	char want[96];
	snprintf(want, sizeof(want), "pinwatch_reports_total{outcome=\"rate_limited\"} %d\n",
		 limited);
	assert_non_null(strstr(r.body, want));
	assert_non_null(strstr(r.body, "pinwatch_report_clusters_created_total 1\n"));
	httpc_resp_free(&r);
}

static void test_candidates_routes(void **state)
{
	(void)state;
	struct httpc_resp r;
	json_t *req = json_pack("{s:s,s:s}", "pem", leaf.pem, "source", "ct");
	char *body = json_dumps(req, 0);
	json_decref(req);
	request(&r, "POST", "/api/v1/candidates", NULL, body);
	assert_int_equal(r.status, 401);
	httpc_resp_free(&r);
	request(&r, "POST", "/api/v1/candidates", tok_read, body);
	assert_int_equal(r.status, 403);
	httpc_resp_free(&r);
	request(&r, "POST", "/api/v1/candidates", tok_write, body);
	assert_int_equal(r.status, 201);
	/* The app pins a key this chain lacks (no root observed: nothing to complete). */
	assert_true(json_is_true(json_object_get(r.json, "would_strand")));
	int64_t id = json_integer_value(json_object_get(r.json, "id"));
	httpc_resp_free(&r);
	free(body);
	request(&r, "POST", "/api/v1/candidates", tok_write, "{\"pem\": \"junk\"}");
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), "chain:"));
	httpc_resp_free(&r);
	request(&r, "GET", "/api/v1/candidates", tok_read, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
	httpc_resp_free(&r);
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/candidates/%lld", (long long)id);
	request(&r, "GET", path, tok_read, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "source")), "ct");
	httpc_resp_free(&r);
	request(&r, "DELETE", path, tok_write, NULL);
	assert_int_equal(r.status, 200);
	httpc_resp_free(&r);
	request(&r, "DELETE", path, tok_write, NULL);
	assert_int_equal(r.status, 404);
	httpc_resp_free(&r);
	assert_int_equal(q("SELECT count(*) FROM audit_log WHERE object_type = 'candidate' AND "
			   "actor = 'token:hook'"),
			 2);
}

/* A busy database (another connection holds the write lock past the
 * server's busy_timeout) answers the write routes 503 "busy", like the rest
 * of the API, not 500; once the lock is gone the same requests succeed. A
 * server of its own: the flood of the reports test emptied the rate limit
 * of this address on the shared one. */
static void test_signals_busy_database(void **state)
{
	(void)state;
	struct httpc_resp r;
	char err[ERRLEN], url[64];
	struct config c;
	config_defaults(&c);
	snprintf(c.http_listen, sizeof(c.http_listen), "127.0.0.1:0");
	struct http *h = http_new(&c, dbpath, err, sizeof(err));
	assert_non_null(h);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", http_port(h));
	char *b = report_body();
	json_t *j = json_pack("{s:s}", "pem", leaf.pem);
	char *cand = json_dumps(j, 0);
	json_decref(j);
	assert_non_null(cand);
	int64_t reports = q("SELECT count(*) FROM reports");
	int64_t candidates = q("SELECT count(*) FROM candidates");
	assert_int_equal(db_exec(wdb, "BEGIN EXCLUSIVE", err, sizeof(err)), 0);
	assert_int_equal(httpc_request(&r, url, "POST", "/api/v1/reports", NULL, "application/json",
				       b, NULL),
			 CURLE_OK);
	assert_int_equal(r.status, 503);
	assert_string_equal(json_string_value(json_object_get(r.json, "error")), "busy");
	httpc_resp_free(&r);
	assert_int_equal(httpc_request(&r, url, "POST", "/api/v1/candidates", tok_write,
				       "application/json", cand, NULL),
			 CURLE_OK);
	assert_int_equal(r.status, 503);
	assert_string_equal(json_string_value(json_object_get(r.json, "error")), "busy");
	httpc_resp_free(&r);
	assert_int_equal(db_exec(wdb, "ROLLBACK", err, sizeof(err)), 0);
	assert_int_equal(q("SELECT count(*) FROM reports"), reports);
	assert_int_equal(q("SELECT count(*) FROM candidates"), candidates);
	assert_int_equal(httpc_request(&r, url, "POST", "/api/v1/reports", NULL, "application/json",
				       b, NULL),
			 CURLE_OK);
	assert_int_equal(r.status, 202);
	httpc_resp_free(&r);
	assert_int_equal(httpc_request(&r, url, "POST", "/api/v1/candidates", tok_write,
				       "application/json", cand, NULL),
			 CURLE_OK);
	assert_int_equal(r.status, 201);
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/candidates/%lld",
		 (long long)json_integer_value(json_object_get(r.json, "id")));
	httpc_resp_free(&r);
	/* The next test starts without candidates. */
	assert_int_equal(httpc_request(&r, url, "DELETE", path, tok_write, NULL, NULL, NULL),
			 CURLE_OK);
	assert_int_equal(r.status, 200);
	httpc_resp_free(&r);
	free(cand);
	free(b);
	http_free(h);
}

/* With the alert engine running, a new candidate pokes it: the alert fires
 * well before the engine's periodic evaluation (60 s) would run. */
static void test_candidate_pokes_alert_engine(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct config c;
	config_defaults(&c);
	struct alerts_engine *e =
		alerts_engine_new(&c, dbpath, &reports_alerts_source, err, sizeof(err));
	assert_non_null(e);
	int64_t t0 = util_mono_ms();
	while (alerts_engine_runs(e) < 1 && util_mono_ms() - t0 < test_ms(20000))
		usleep(20000);
	assert_true(alerts_engine_runs(e) >= 1);
	/* The first run saw the report cluster of the first test. */
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE kind = 'pin_failures_reported' AND "
			   "status = 'firing'"),
			 1);
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE kind = 'candidate_would_strand'"), 0);
	struct httpc_resp r;
	json_t *body_j = json_pack("{s:s}", "pem", leaf.pem);
	char *body = json_dumps(body_j, 0);
	json_decref(body_j);
	request(&r, "POST", "/api/v1/candidates", tok_write, body);
	assert_int_equal(r.status, 201);
	httpc_resp_free(&r);
	free(body);
	t0 = util_mono_ms();
	int64_t n = 0;
	while (util_mono_ms() - t0 < test_ms(30000)) {
		n = q("SELECT count(*) FROM alerts WHERE kind = 'candidate_would_strand' AND "
		      "status = 'firing'");
		if (n)
			break;
		usleep(100000);
	}
	assert_int_equal(n, 1);
	alerts_engine_free(e);
}

/* contrib/certspotter-hook in remote mode against this server: Cert
 * Spotter's environment in, a "ct" candidate out. */
static void test_certspotter_hook_remote(void **state)
{
	(void)state;
	const char *hook = getenv("SIGNALS_HOOK");
	if (!hook)
		skip();
	char chain[160], cmd[2048];
	snprintf(chain, sizeof(chain), "%s/chain.pem", dir);
	FILE *f = fopen(chain, "w");
	assert_non_null(f);
	fputs(leaf.pem, f);
	fputs(inter.pem, f);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd),
		 "env -i PATH=/usr/bin:/bin EVENT=discovered_cert CERT_FILENAME='%s' "
		 "SUMMARY='certificate discovered for api.example.com' WATCH_ITEM=api.example.com "
		 "PINWATCH_URL='%s' PINWATCH_TOKEN='%s' '%s' 2>/dev/null",
		 chain, base, tok_write, hook);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(
		q("SELECT count(*) FROM candidates WHERE source = 'ct' AND chain_length = 2 "
		  "AND would_strand = 1"),
		1);
	/* A wrong token makes the hook fail (Cert Spotter logs it). */
	snprintf(cmd, sizeof(cmd),
		 "env -i PATH=/usr/bin:/bin EVENT=discovered_cert CERT_FILENAME='%s' "
		 "PINWATCH_URL='%s' PINWATCH_TOKEN=pw_wrong '%s' 2>/dev/null",
		 chain, base, hook);
	assert_int_not_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reports_route),
		cmocka_unit_test(test_candidates_routes),
		cmocka_unit_test(test_signals_busy_database),
		cmocka_unit_test(test_candidate_pokes_alert_engine),
		cmocka_unit_test(test_certspotter_hook_remote),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
