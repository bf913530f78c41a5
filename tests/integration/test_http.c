/* The HTTP server and API over real HTTP on loopback, with libcurl. */
#include <errno.h>
#include <math.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "base/config.h"
#include "readiness/lint.h"
#include "store/db.h"
#include "http/http.h"
#include "http/http_guard.h"
#include "http_fixture.h"
#include "httpc.h"
#include "http/metrics.h"
#include "store/tokens.h"
#include "base/util.h"

static char dir[256], dbpath[300];
static struct db *wdb;
static struct http *srv;
static int port;
static struct fixture_ids ids;
static char tok_read[TOKEN_LEN], tok_write[TOKEN_LEN], tok_admin[TOKEN_LEN], tok_revoked[TOKEN_LEN];

/* One request. @hdrs: extra header lines, NULL-terminated. */
static void req_full(struct httpc_resp *r, const char *base, const char *method, const char *path,
		     const char *token, const char *ctype, const char *body,
		     const char *const *hdrs)
{
	httpc_request(r, base, method, path, token, ctype, body, hdrs);
}

static char base_url[64];

static void req(struct httpc_resp *r, const char *method, const char *path, const char *token,
		const char *body)
{
	req_full(r, base_url, method, path, token, body ? "application/json" : NULL, body, NULL);
}

/* One request whose answer only matters by its status. */
static void expect_status(const char *method, const char *path, const char *token, const char *body,
			  long status)
{
	struct httpc_resp r;
	req(&r, method, path, token, body);
	if (r.status != status)
		fail_msg("%s %s: HTTP %ld, expected %ld (%s)", method, path, r.status, status,
			 r.body ? r.body : "");
	httpc_resp_free(&r);
}

static const char *jstr(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

/* ---- setup ------------------------------------------------------------ */

static struct config base_cfg(void)
{
	struct config c;
	config_defaults(&c);
	snprintf(c.http_listen, sizeof(c.http_listen), "127.0.0.1:0");
	c.http_max_body = 16384;
	c.http_max_connections = 64;
	c.http_per_ip_connections = 32;
	c.http_timeout_s = 10;
	return c;
}

static int probe_calls;
static int64_t probe_last;
static int fake_probe_now(void *ctx, int64_t id, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	probe_calls++;
	probe_last = id;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	char err[ERRLEN];
	snprintf(dir, sizeof(dir), "/tmp/pinwatch-http-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(dbpath, sizeof(dbpath), "%s/db.sqlite", dir);
	wdb = db_open(dbpath, 0, err, sizeof(err));
	if (!wdb || fixture_seed(wdb, 5, &ids))
		return -1;
	if (tokens_create(wdb, "reader", TOKEN_READ, "test", tok_read, sizeof(tok_read), err,
			  sizeof(err)) ||
	    tokens_create(wdb, "writer", TOKEN_WRITE, "test", tok_write, sizeof(tok_write), err,
			  sizeof(err)) ||
	    tokens_create(wdb, "admin", TOKEN_ADMIN, "test", tok_admin, sizeof(tok_admin), err,
			  sizeof(err)) ||
	    tokens_create(wdb, "old", TOKEN_ADMIN, "test", tok_revoked, sizeof(tok_revoked), err,
			  sizeof(err)) ||
	    tokens_revoke(wdb, "old", "test", err, sizeof(err)))
		return -1;
	struct config c = base_cfg();
	srv = http_new(&c, dbpath, err, sizeof(err));
	if (!srv) {
		fprintf(stderr, "http_new: %s\n", err);
		return -1;
	}
	port = http_port(srv);
	snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", port);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[400];
	http_free(srv);
	db_close(wdb);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- tests ------------------------------------------------------------ */

static void test_healthz_scheduler(void **state)
{
	(void)state;
	struct httpc_resp r;
	req(&r, "GET", "/healthz", NULL, NULL);
	assert_int_equal(r.status, 503); /* no scheduler heartbeat yet */
	assert_false(json_is_true(json_object_get(r.json, "scheduler")));
	assert_true(json_is_true(json_object_get(r.json, "database")));
	httpc_resp_free(&r);
	http_note_scheduler_alive(srv, util_now());
	http_note_sweep(srv, util_now() - 5);
	req(&r, "GET", "/healthz", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "status"), "ok");
	assert_true(json_integer_value(json_object_get(r.json, "last_sweep_age_s")) >= 5);
	httpc_resp_free(&r);
	/* an old heartbeat is fine while nothing is overdue... */
	http_note_scheduler_alive(srv, util_now() - 3600);
	http_note_sweep(srv, util_now() - 3600);
	expect_status("GET", "/healthz", NULL, NULL, 200);
	/* ...but not once the schedule falls behind */
	char err[ERRLEN], sql[160];
	snprintf(sql, sizeof(sql), "UPDATE endpoints SET next_probe_at = %lld WHERE id = %lld",
		 (long long)util_now() - 1800, (long long)ids.endpoint_xss);
	assert_int_equal(db_exec(wdb, sql, err, sizeof(err)), 0);
	req(&r, "GET", "/healthz", NULL, NULL);
	assert_int_equal(r.status, 503);
	assert_true(json_integer_value(json_object_get(r.json, "schedule_lag_s")) >= 1800);
	httpc_resp_free(&r);
	http_note_scheduler_alive(srv, util_now());
	expect_status("GET", "/healthz", NULL, NULL, 200);
}

static void test_auth_read(void **state)
{
	(void)state;
	struct httpc_resp r;
	req(&r, "GET", "/api/v1/status", NULL, NULL);
	assert_int_equal(r.status, 401);
	assert_string_equal(jstr(r.json, "error"), "unauthorized");
	assert_non_null(jstr(r.json, "detail"));
	httpc_resp_free(&r);
	expect_status("GET", "/api/v1/status", tok_revoked, NULL, 401);
	expect_status("GET", "/api/v1/status",
		      "pwt_0000000000000000000000000000000000000000000000000000000000000000", NULL,
		      401);
	const char *const basic[] = { "Authorization: Basic Zm9vOmJhcg==", NULL };
	req_full(&r, base_url, "GET", "/api/v1/status", NULL, NULL, NULL, basic);
	assert_int_equal(r.status, 401);
	httpc_resp_free(&r);
	req(&r, "GET", "/api/v1/status", tok_read, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "application/json");
	assert_string_equal(r.nosniff, "nosniff");
	assert_int_equal(json_integer_value(json_object_get(r.json, "endpoints")), 7);
	assert_int_equal(json_integer_value(json_object_get(r.json, "apps")), 1);
	httpc_resp_free(&r);
}

static void test_auth_roles(void **state)
{
	(void)state;
	struct httpc_resp r;
	req(&r, "GET", "/api/v1/tokens", tok_write, NULL);
	assert_int_equal(r.status, 403);
	assert_string_equal(jstr(r.json, "error"), "forbidden");
	httpc_resp_free(&r);
	expect_status("POST", "/api/v1/tokens", tok_read, "{\"name\":\"x\",\"role\":\"read\"}",
		      403);
	expect_status("POST", "/api/v1/tokens", NULL, "{\"name\":\"x\",\"role\":\"read\"}", 401);
	expect_status("POST", "/api/v1/endpoints/1/probe", tok_read, NULL, 403);
	req(&r, "GET", "/api/v1/tokens", tok_admin, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 4);
	httpc_resp_free(&r);
}

static void test_tokens_create_revoke(void **state)
{
	(void)state;
	struct httpc_resp r;
	req(&r, "POST", "/api/v1/tokens", tok_admin, "{\"name\":\"ci\",\"role\":\"write\"}");
	assert_int_equal(r.status, 201);
	char tok[TOKEN_LEN];
	snprintf(tok, sizeof(tok), "%s", jstr(r.json, "token"));
	assert_int_equal(strlen(tok), TOKEN_LEN - 1);
	httpc_resp_free(&r);
	expect_status("POST", "/api/v1/tokens", tok_admin, "{\"name\":\"ci\",\"role\":\"write\"}",
		      409);
	expect_status("POST", "/api/v1/tokens", tok_admin,
		      "{\"name\":\"bad name\",\"role\":\"write\"}", 400);
	expect_status("POST", "/api/v1/tokens", tok_admin, "{\"name\":\"y\",\"role\":\"root\"}",
		      400);
	expect_status("GET", "/api/v1/status", tok, NULL, 200);
	expect_status("DELETE", "/api/v1/tokens/ci", tok_admin, NULL, 200);
	expect_status("DELETE", "/api/v1/tokens/ci", tok_admin, NULL, 404);
	expect_status("GET", "/api/v1/status", tok, NULL, 401);
}

static void test_bad_bodies(void **state)
{
	(void)state;
	struct httpc_resp r;
	req(&r, "POST", "/api/v1/tokens", tok_admin, "{\"name\": \"z\", \"role\": }");
	assert_int_equal(r.status, 400);
	assert_string_equal(jstr(r.json, "error"), "bad_json");
	assert_non_null(strstr(jstr(r.json, "detail"), "column"));
	httpc_resp_free(&r);
	req(&r, "POST", "/api/v1/tokens", tok_admin,
	    "{\"name\":\"z\",\"name\":\"w\",\"role\":\"read\"}");
	assert_int_equal(r.status, 400); /* duplicate keys */
	httpc_resp_free(&r);
	expect_status("POST", "/api/v1/tokens", tok_admin, "[1,2]", 400);
	req_full(&r, base_url, "POST", "/api/v1/tokens", tok_admin, "text/plain",
		 "{\"name\":\"z\",\"role\":\"read\"}", NULL);
	assert_int_equal(r.status, 415);
	httpc_resp_free(&r);
	req_full(&r, base_url, "POST", "/api/v1/tokens", tok_admin,
		 "application/x-www-form-urlencoded", "name=z", NULL);
	assert_int_equal(r.status, 415);
	httpc_resp_free(&r);
	static char big[20000];
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 3] = '}';
	big[sizeof(big) - 1] = 0;
	req(&r, "POST", "/api/v1/tokens", tok_admin, big);
	assert_int_equal(r.status, 413);
	assert_string_equal(jstr(r.json, "error"), "too_large");
	httpc_resp_free(&r);
	/* chunked: no Content-Length, the cap applies while reading */
	const char *const chunked[] = { "Transfer-Encoding: chunked", NULL };
	req_full(&r, base_url, "POST", "/api/v1/tokens", tok_admin, "application/json", big,
		 chunked);
	assert_int_equal(r.status, 413);
	httpc_resp_free(&r);
	req(&r, "POST", "/api/v1/tokens", tok_admin, NULL);
	assert_int_equal(r.status, 400); /* body required */
	httpc_resp_free(&r);
}

static void test_csrf(void **state)
{
	(void)state;
	struct httpc_resp r;
	const char *const cross[] = { "Sec-Fetch-Site: cross-site", NULL };
	req_full(&r, base_url, "POST", "/api/v1/tokens", tok_admin, "application/json",
		 "{\"name\":\"c1\",\"role\":\"read\"}", cross);
	assert_int_equal(r.status, 403);
	assert_string_equal(jstr(r.json, "error"), "cross_site_request");
	httpc_resp_free(&r);
	const char *const foreign[] = { "Origin: http://evil.example", NULL };
	req_full(&r, base_url, "POST", "/api/v1/tokens", tok_admin, "application/json",
		 "{\"name\":\"c2\",\"role\":\"read\"}", foreign);
	assert_int_equal(r.status, 403);
	httpc_resp_free(&r);
	const char *const null_origin[] = { "Origin: null", NULL };
	req_full(&r, base_url, "DELETE", "/api/v1/tokens/reader", tok_admin, NULL, NULL,
		 null_origin);
	assert_int_equal(r.status, 403);
	httpc_resp_free(&r);
	char same[128];
	snprintf(same, sizeof(same), "Origin: http://127.0.0.1:%d", port);
	const char *const ok[] = { same, "Sec-Fetch-Site: same-origin", NULL };
	req_full(&r, base_url, "POST", "/api/v1/tokens", tok_admin, "application/json",
		 "{\"name\":\"c3\",\"role\":\"read\"}", ok);
	assert_int_equal(r.status, 201);
	httpc_resp_free(&r);
	/* a cross-site GET is allowed (reads do not change state) */
	req_full(&r, base_url, "GET", "/api/v1/status", tok_read, NULL, NULL, cross);
	assert_int_equal(r.status, 200);
	httpc_resp_free(&r);
}

static void test_routing(void **state)
{
	(void)state;
	struct httpc_resp r;
	req(&r, "GET", "/api/v1/nope", tok_read, NULL);
	assert_int_equal(r.status, 404);
	assert_string_equal(jstr(r.json, "error"), "not_found");
	httpc_resp_free(&r);
	req(&r, "PUT", "/api/v1/status", tok_admin, NULL);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "GET");
	httpc_resp_free(&r);
	expect_status("GET", "/api/v1/endpoints/abc", tok_read, NULL, 400);
	expect_status("GET", "/api/v1/endpoints/99999", tok_read, NULL, 404);
	req(&r, "GET", "/", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.ctype, "text/html"));
	assert_non_null(strstr(r.csp, "script-src 'self'"));
	assert_null(strstr(r.csp, "unsafe-inline"));
	httpc_resp_free(&r);
	expect_status("HEAD", "/api/v1/status", tok_read, NULL, 200);
}

static void test_endpoints_pagination(void **state)
{
	(void)state;
	struct httpc_resp r;
	char path[256], cursor[32] = "";
	int total = 0, pages = 0;
	int64_t prev = 0;
	do {
		snprintf(path, sizeof(path), "/api/v1/endpoints?limit=3%s%s",
			 cursor[0] ? "&cursor=" : "", cursor);
		req(&r, "GET", path, tok_read, NULL);
		assert_int_equal(r.status, 200);
		json_t *items = json_object_get(r.json, "items"), *e;
		size_t i;
		json_array_foreach(items, i, e)
		{
			int64_t id = json_integer_value(json_object_get(e, "id"));
			assert_true(id > prev);
			prev = id;
		}
		total += (int)json_array_size(items);
		pages++;
		const char *nc = jstr(r.json, "next_cursor");
		snprintf(cursor, sizeof(cursor), "%s", nc ? nc : "");
		httpc_resp_free(&r);
	} while (cursor[0] && pages < 10);
	assert_int_equal(total, 7);
	assert_int_equal(pages, 3);

	req(&r, "GET", "/api/v1/endpoints?environment=staging", tok_read, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")),
			 3); /* xss + bulk1 + bulk3 */
	httpc_resp_free(&r);
	req(&r, "GET", "/api/v1/endpoints?tag=api&owner=payments", tok_read, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
	assert_string_equal(jstr(json_array_get(json_object_get(r.json, "items"), 0), "host"),
			    "api.example.test");
	httpc_resp_free(&r);
	expect_status("GET", "/api/v1/endpoints?limit=0", tok_read, NULL, 400);
	expect_status("GET", "/api/v1/endpoints?cursor=x", tok_read, NULL, 400);
}

static void test_observations(void **state)
{
	(void)state;
	struct httpc_resp r;
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/endpoints/%lld/observations",
		 (long long)ids.endpoint_api);
	req(&r, "GET", path, tok_read, NULL);
	assert_int_equal(r.status, 200);
	json_t *items = json_object_get(r.json, "items");
	assert_int_equal(json_array_size(items), 2); /* 127.0.0.1 and ::1, latest each */
	json_t *o = json_array_get(items, 0);
	assert_string_equal(jstr(o, "outcome"), "ok");
	json_t *chain = json_object_get(o, "presented_chain");
	assert_int_equal(json_array_size(chain), 2);
	assert_string_equal(jstr(json_array_get(chain, 0), "pin"), ids.pin_leaf);
	assert_string_equal(jstr(json_array_get(chain, 1), "pin"), ids.pin_ca);
	httpc_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/endpoints/%lld/history?address=127.0.0.1&limit=1",
		 (long long)ids.endpoint_api);
	req(&r, "GET", path, tok_read, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
	assert_string_equal(jstr(json_array_get(json_object_get(r.json, "items"), 0), "outcome"),
			    "ok");
	const char *nc = jstr(r.json, "next_cursor");
	assert_non_null(nc);
	snprintf(path, sizeof(path),
		 "/api/v1/endpoints/%lld/history?address=127.0.0.1&limit=1&cursor=%s",
		 (long long)ids.endpoint_api, nc);
	httpc_resp_free(&r);
	req(&r, "GET", path, tok_read, NULL);
	assert_string_equal(jstr(json_array_get(json_object_get(r.json, "items"), 0), "outcome"),
			    "handshake_failed");
	assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
	httpc_resp_free(&r);
	expect_status("GET", "/api/v1/endpoints/424242/history", tok_read, NULL, 404);
	/* each period carries the engine's verdict on its chain: today's leaf
	 * strands 4.1.0 (20%), the old leaf (::1 until two hours ago) strands
	 * nobody, a timeout has no chain to judge */
	snprintf(path, sizeof(path), "/api/v1/endpoints/%lld/history", (long long)ids.endpoint_api);
	req(&r, "GET", path, tok_read, NULL);
	assert_int_equal(r.status, 200);
	json_t *it;
	size_t i, today = 0, old = 0, none = 0;
	json_array_foreach(json_object_get(r.json, "items"), i, it)
	{
		json_t *rd = json_object_get(it, "readiness");
		json_t *leaf = json_array_get(json_object_get(it, "presented_chain"), 0);
		assert_non_null(rd);
		if (!leaf) {
			assert_true(json_is_null(rd));
			none++;
			continue;
		}
		json_t *app = json_array_get(json_object_get(rd, "apps"), 0);
		double s = json_number_value(json_object_get(app, "stranded_share"));
		assert_string_equal(jstr(app, "app"), "shop-android");
		assert_string_equal(jstr(rd, "chain_source"), "validated");
		assert_string_equal(jstr(rd, "evaluated_at"), jstr(it, "last_seen"));
		if (!strcmp(jstr(leaf, "pin"), ids.pin_leaf)) {
			assert_true(fabs(s - 0.2) < 1e-9);
			assert_true(json_is_true(json_object_get(rd, "stranded")));
			today++;
		} else {
			assert_string_equal(jstr(leaf, "pin"), ids.pin_old_leaf);
			assert_true(s == 0.0);
			assert_true(json_is_false(json_object_get(rd, "stranded")));
			old++;
		}
	}
	assert_int_equal(today, 3);
	assert_int_equal(old, 4);
	assert_int_equal(none, 1);
	httpc_resp_free(&r);
}

static void test_apps(void **state)
{
	(void)state;
	struct httpc_resp r;
	char path[128];
	req(&r, "GET", "/api/v1/apps", tok_read, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
	httpc_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/apps/%lld", (long long)ids.app);
	req(&r, "GET", path, tok_read, NULL);
	assert_int_equal(r.status, 200);
	json_t *vs = json_object_get(r.json, "versions");
	assert_int_equal(json_array_size(vs), 2);
	json_t *v = json_array_get(vs, 1);
	assert_string_equal(jstr(v, "version"), "4.2.0");
	assert_int_equal(json_array_size(json_object_get(v, "adoption")), 2);
	json_t *pins =
		json_object_get(json_array_get(json_object_get(v, "pin_policies"), 0), "pins");
	assert_int_equal(json_array_size(pins), 2);
	httpc_resp_free(&r);
	expect_status("GET", "/api/v1/apps/77", tok_read, NULL, 404);
}

static void test_probe_now(void **state)
{
	(void)state;
	struct httpc_resp r;
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/endpoints/%lld/probe", (long long)ids.endpoint_api);
	http_set_probe_now(srv, NULL, NULL);
	expect_status("POST", path, tok_write, NULL, 503);
	http_set_probe_now(srv, fake_probe_now, NULL);
	req(&r, "POST", path, tok_write, NULL);
	assert_int_equal(r.status, 202);
	assert_int_equal(probe_calls, 1);
	assert_int_equal(probe_last, ids.endpoint_api);
	httpc_resp_free(&r);
	req(&r, "POST", "/api/v1/endpoints/31337/probe", tok_write, NULL);
	assert_int_equal(r.status, 404);
	assert_int_equal(probe_calls, 1);
	httpc_resp_free(&r);
	req(&r, "GET", path, tok_write, NULL); /* no GET changes state */
	assert_int_equal(r.status, 405);
	assert_int_equal(probe_calls, 1);
	httpc_resp_free(&r);
}

static void test_metrics(void **state)
{
	(void)state;
	struct httpc_resp r;
	metrics_reset();
	metrics_probe_observe("ok", 0.07);
	metrics_probe_observe("timeout", 12);
	expect_status("GET", "/metrics", NULL, NULL, 401);
	req(&r, "GET", "/metrics", tok_read, NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.ctype, "text/plain"));
	assert_non_null(strstr(r.body, "pinwatch_address_outcome{host=\"api.example.test\",port="
				       "\"443\",address=\"::1\",outcome=\"ok\"} 1\n"));
	assert_non_null(strstr(r.body, "pinwatch_probe_duration_seconds_bucket{le=\"0.1\"} 1\n"));
	assert_non_null(strstr(r.body, "pinwatch_probe_duration_seconds_bucket{le=\"30\"} 2\n"));
	assert_non_null(strstr(r.body, "pinwatch_probes_total{outcome=\"timeout\"} 1\n"));
	assert_non_null(strstr(r.body, "pinwatch_webhook_queue_depth 0\n"));
	assert_non_null(
		strstr(r.body, "pinwatch_address_expiry_seconds{host=\"xss.example.test\""));
	httpc_resp_free(&r);
}

static int64_t count_rows(const char *sql)
{
	int64_t n = -1;
	assert_int_equal(db_query_int(wdb, sql, &n), 0);
	return n;
}

static void test_endpoint_writes(void **state)
{
	(void)state;
	struct httpc_resp r;
	char path[128];
	expect_status("POST", "/api/v1/endpoints", tok_read, "{\"host\":\"new.example.test\"}",
		      403);
	req(&r, "POST", "/api/v1/endpoints", tok_write,
	    "{\"host\":\"New.Example.TEST\",\"port\":8443,\"tags\":[\"b\",\"a\"],\"owner\":"
	    "\"web\"}");
	assert_int_equal(r.status, 201);
	assert_string_equal(jstr(r.json, "host"), "new.example.test");
	int64_t id = json_integer_value(json_object_get(r.json, "id"));
	assert_true(id > 0);
	httpc_resp_free(&r);
	expect_status("POST", "/api/v1/endpoints", tok_write,
		      "{\"host\":\"new.example.test\",\"port\":8443}", 409);
	req(&r, "POST", "/api/v1/endpoints", tok_write, "{\"host\":\"bad host!\"}");
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(jstr(r.json, "detail"), "host"));
	httpc_resp_free(&r);
	req(&r, "POST", "/api/v1/endpoints", tok_write,
	    "{\"host\":\"x.example.test\",\"prot\":443}");
	assert_int_equal(r.status, 400); /* unknown key, as import */
	assert_non_null(strstr(jstr(r.json, "detail"), "prot"));
	httpc_resp_free(&r);
	expect_status("POST", "/api/v1/endpoints", tok_write, "[]", 400);

	snprintf(path, sizeof(path), "/api/v1/endpoints/%lld", (long long)id);
	req(&r, "PUT", path, tok_write, "{\"owner\":\"payments\",\"tags\":[\"a\"]}");
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(r.json, "changed")));
	httpc_resp_free(&r);
	req(&r, "PUT", path, tok_write, "{\"owner\":\"payments\",\"tags\":[\"a\"]}");
	assert_int_equal(r.status, 200);
	assert_false(json_is_true(json_object_get(r.json, "changed")));
	httpc_resp_free(&r);
	expect_status("PUT", path, tok_write, "{\"host\":\"other.example.test\"}", 400);
	req(&r, "GET", path, tok_read, NULL);
	assert_string_equal(jstr(r.json, "owner"), "payments");
	httpc_resp_free(&r);
	assert_int_equal(count_rows("SELECT count(*) FROM audit_log WHERE actor = 'token:writer' "
				    "AND object_type = 'endpoint'"),
			 2); /* create + one real update */
	expect_status("DELETE", path, tok_write, NULL, 200);
	expect_status("GET", path, tok_read, NULL, 404);
	expect_status("DELETE", path, tok_write, NULL, 404);
}

static void test_app_writes(void **state)
{
	(void)state;
	struct httpc_resp r;
	char path[256], body[1024];
	req(&r, "POST", "/api/v1/apps", tok_write,
	    "{\"name\":\"shop-ios\",\"platform\":\"ios\",\"adoption_threshold\":0.9}");
	assert_int_equal(r.status, 201);
	int64_t id = json_integer_value(json_object_get(r.json, "id"));
	httpc_resp_free(&r);
	expect_status("POST", "/api/v1/apps", tok_write,
		      "{\"name\":\"shop-ios\",\"platform\":\"ios\"}", 409);
	expect_status("POST", "/api/v1/apps", tok_write,
		      "{\"name\":\"x\",\"platform\":\"symbian\"}", 400);
	snprintf(path, sizeof(path), "/api/v1/apps/%lld", (long long)id);
	expect_status("PUT", path, tok_write, "{\"platform\":\"ios\",\"adoption_threshold\":0.8}",
		      200);

	snprintf(path, sizeof(path), "/api/v1/apps/%lld/versions", (long long)id);
	snprintf(body, sizeof(body),
		 "{\"version\":\"2.0\",\"pin_policies\":[{\"pattern\":\"api.example.test\","
		 "\"pins\":[{\"sha256\":\"%s\",\"role\":\"current\"},{\"sha256\":\"not-base64\"}]}]"
		 "}",
		 ids.pin_ca);
	req(&r, "POST", path, tok_write, body);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(jstr(r.json, "detail"), "pin_policies[0].pins[1].sha256"));
	httpc_resp_free(&r);
	snprintf(body, sizeof(body),
		 "{\"version\":\"2.0\",\"pin_policies\":[{\"pattern\":\"api.example.test\","
		 "\"pins\":[{\"sha256\":\"%s\",\"role\":\"current\"}]}]}",
		 ids.pin_ca);
	expect_status("POST", path, tok_write, body, 201);
	snprintf(path, sizeof(path), "/api/v1/apps/%lld/versions/2.0", (long long)id);
	req(&r, "GET", path, tok_read, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "version"), "2.0");
	httpc_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/apps/%lld/versions/2.0/policies", (long long)id);
	snprintf(body, sizeof(body),
		 "{\"pattern\":\"**.example.test\",\"pins\":[{\"sha256\":\"%s\",\"role\":"
		 "\"backup\"}]}",
		 ids.pin_leaf);
	expect_status("PUT", path, tok_write, body, 200);
	snprintf(path, sizeof(path), "/api/v1/apps/%lld/adoption", (long long)id);
	expect_status("POST", path, tok_write,
		      "{\"samples\":[{\"version\":\"2.0\",\"at\":\"2026-11-01\",\"share\":0.5}]}",
		      200);
	expect_status("POST", path, tok_write,
		      "{\"samples\":[{\"version\":\"9.9\",\"at\":\"2026-11-01\",\"share\":0.5}]}",
		      404);
	expect_status("POST", path, tok_write,
		      "{\"samples\":[{\"version\":\"2.0\",\"at\":\"2026-13-01\",\"share\":0.5}]}",
		      400);
	snprintf(path, sizeof(path), "/api/v1/apps/%lld", (long long)id);
	req(&r, "GET", path, tok_read, NULL);
	json_t *v = json_array_get(json_object_get(r.json, "versions"), 0);
	assert_int_equal(json_array_size(json_object_get(v, "pin_policies")), 2);
	assert_int_equal(json_array_size(json_object_get(v, "adoption")), 1);
	httpc_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/apps/%lld/versions/2.0/adoption/2026-11-01",
		 (long long)id);
	expect_status("DELETE", path, tok_write, NULL, 200);
	snprintf(path, sizeof(path),
		 "/api/v1/apps/%lld/versions/2.0/policies?pattern=**.example.test", (long long)id);
	expect_status("DELETE", path, tok_write, NULL, 200);
	snprintf(path, sizeof(path), "/api/v1/apps/%lld/versions/2.0", (long long)id);
	expect_status("DELETE", path, tok_write, NULL, 200);
	snprintf(path, sizeof(path), "/api/v1/apps/%lld", (long long)id);
	expect_status("DELETE", path, tok_admin, NULL, 200);
	expect_status("GET", path, tok_read, NULL, 404);
}

static void test_inventory_bulk(void **state)
{
	(void)state;
	struct httpc_resp r;
	req(&r, "GET", "/api/v1/inventory", tok_read, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "endpoints")), 7);
	char *doc = json_dumps(r.json, JSON_COMPACT);
	httpc_resp_free(&r);
	int64_t audit_before = count_rows("SELECT count(*) FROM audit_log");
	/* re-importing the export changes nothing and writes no audit row */
	assert_true(strlen(doc) < 16384);
	req_full(&r, base_url, "POST", "/api/v1/inventory", tok_write, "application/json", doc,
		 NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "created")), 0);
	assert_int_equal(json_integer_value(json_object_get(r.json, "updated")), 0);
	httpc_resp_free(&r);
	assert_int_equal(count_rows("SELECT count(*) FROM audit_log"), audit_before);
	free(doc);
	/* all or nothing: a document with one bad pin changes nothing */
	req(&r, "POST", "/api/v1/inventory", tok_write,
	    "{\"endpoints\":[{\"host\":\"added.example.test\"}],\"apps\":[{\"name\":\"a\","
	    "\"platform\":\"ios\","
	    "\"versions\":[{\"version\":\"1\",\"pin_policies\":[{\"pattern\":\"x.test\",\"pins\":[{"
	    "\"sha256\":\"abc\"}]}]}]}]}");
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(jstr(r.json, "detail"),
			       "apps[0].versions[0].pin_policies[0].pins[0].sha256"));
	httpc_resp_free(&r);
	assert_int_equal(
		count_rows("SELECT count(*) FROM endpoints WHERE host = 'added.example.test'"), 0);
	assert_int_equal(count_rows("SELECT count(*) FROM audit_log"), audit_before);
	req(&r, "POST", "/api/v1/inventory", tok_write,
	    "{\"endpoints\":[{\"host\":\"added.example.test\"}]}");
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "created")), 1);
	httpc_resp_free(&r);
	expect_status("POST", "/api/v1/inventory?prune=maybe", tok_write, "{}", 400);
}

static void test_audit_list(void **state)
{
	(void)state;
	struct httpc_resp r;
	req(&r, "GET",
	    "/api/v1/"
	    "audit?actor=token:writer&object_type=endpoint&object_id=new.example.test:8443&limit=1",
	    tok_read, NULL);
	assert_int_equal(r.status, 200);
	json_t *e = json_array_get(json_object_get(r.json, "items"), 0);
	assert_string_equal(jstr(e, "action"), "delete");
	char path[160];
	snprintf(path, sizeof(path),
		 "/api/v1/"
		 "audit?actor=token:writer&object_type=endpoint&object_id=new.example.test:8443&"
		 "limit=1&cursor=%s",
		 jstr(r.json, "next_cursor"));
	httpc_resp_free(&r);
	req(&r, "GET", path, tok_read, NULL);
	e = json_array_get(json_object_get(r.json, "items"), 0);
	assert_string_equal(jstr(e, "action"), "update");
	assert_string_equal(jstr(json_object_get(e, "after"), "owner"), "payments");
	httpc_resp_free(&r);
	req(&r, "GET", "/api/v1/audit?action=create&object_type=token", tok_read, NULL);
	assert_true(json_array_size(json_object_get(r.json, "items")) >= 5);
	assert_null(strstr(r.body, "pwt_")); /* tokens never reach the log */
	httpc_resp_free(&r);
	expect_status("GET", "/api/v1/audit?since=yesterday", tok_read, NULL, 400);

	req(&r, "GET", "/api/v1/audit/verify", tok_read, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(r.json, "ok")));
	assert_true(json_integer_value(json_object_get(r.json, "rows")) > 10);
	httpc_resp_free(&r);
	char err[ERRLEN];
	assert_int_equal(db_exec(wdb,
				 "DROP TRIGGER audit_log_no_update; "
				 "UPDATE audit_log SET actor = 'cli:mallory' WHERE id = 3",
				 err, sizeof(err)),
			 0);
	req(&r, "GET", "/api/v1/audit/verify", tok_read, NULL);
	assert_int_equal(r.status, 200);
	assert_false(json_is_true(json_object_get(r.json, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r.json, "bad_id")), 3);
	httpc_resp_free(&r);
}

static void test_readiness(void **state)
{
	(void)state;
	struct httpc_resp r;
	char path[128];
	expect_status("GET", "/api/v1/readiness", NULL, NULL, 401);
	req(&r, "GET", "/api/v1/readiness", tok_read, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "application/json");
	json_t *items = json_object_get(r.json, "items");
	int64_t total = json_integer_value(json_object_get(r.json, "total"));
	assert_true(total >= 7);
	/* worst first: the endpoint whose 4.1.0 users (20%) are stranded */
	json_t *first = json_array_get(items, 0);
	assert_string_equal(jstr(first, "host"), "api.example.test");
	assert_string_equal(jstr(first, "severity"), "critical");
	json_t *now = json_object_get(json_array_get(json_object_get(first, "apps"), 0), "now");
	assert_true(fabs(json_real_value(json_object_get(now, "stranded_share")) - 0.2) < 1e-9);
	assert_true(json_is_array(json_object_get(r.json, "findings")));
	httpc_resp_free(&r);

	req(&r, "GET", "/api/v1/readiness?severity=critical", tok_read, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
	httpc_resp_free(&r);
	expect_status("GET", "/api/v1/readiness?severity=dire", tok_read, NULL, 400);
	req(&r, "GET", "/api/v1/readiness?environment=staging&tag=edge", tok_read, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
	assert_string_equal(jstr(json_array_get(json_object_get(r.json, "items"), 0), "host"),
			    "xss.example.test");
	httpc_resp_free(&r);
	/* pages of 2 cover everything once */
	int seen = 0;
	char cursor[32] = "";
	for (int page = 0; page < 20; page++) {
		snprintf(path, sizeof(path), "/api/v1/readiness?limit=2%s%s",
			 cursor[0] ? "&cursor=" : "", cursor);
		req(&r, "GET", path, tok_read, NULL);
		seen += (int)json_array_size(json_object_get(r.json, "items"));
		const char *nc = jstr(r.json, "next_cursor");
		snprintf(cursor, sizeof(cursor), "%s", nc ? nc : "");
		httpc_resp_free(&r);
		if (!cursor[0])
			break;
	}
	assert_int_equal(seen, total);

	snprintf(path, sizeof(path), "/api/v1/readiness/%lld", (long long)ids.endpoint_api);
	req(&r, "GET", path, tok_read, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "host"), "api.example.test");
	assert_int_equal(json_integer_value(json_object_get(r.json, "id")), ids.endpoint_api);
	httpc_resp_free(&r);
	expect_status("GET", "/api/v1/readiness/987654", tok_read, NULL, 404);

	req(&r, "GET", "/metrics", tok_read, NULL);
	assert_non_null(strstr(r.body, "pinwatch_stranded_share{host=\"api.example.test\",port="
				       "\"443\",app=\"shop-android\",scenario=\"now\"} 0.2\n"));
	assert_non_null(
		strstr(r.body, "pinwatch_endpoints_by_severity{severity=\"critical\"} 1\n"));
	httpc_resp_free(&r);
	req(&r, "GET", "/api/v1/status", tok_read, NULL);
	assert_int_equal(json_integer_value(
				 json_object_get(json_object_get(r.json, "readiness"), "critical")),
			 1);
	httpc_resp_free(&r);
	req(&r, "GET", "/api/v1/lint", tok_read, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_is_array(json_object_get(r.json, "readiness_findings")));
	/* 4.1.0 enforces a single pin on api.example.test */
	json_t *f;
	size_t fi;
	size_t nfew = 0, nwarn = 0, ncrit = 0, nall;
	json_t *rfs = json_object_get(r.json, "readiness_findings");
	nall = json_array_size(json_object_get(r.json, "findings"));
	/* one rule set: the readiness shape lists the same findings */
	assert_int_equal(json_array_size(rfs), nall);
	json_array_foreach(json_object_get(r.json, "findings"), fi, f)
	{
		json_t *rf = json_array_get(rfs, fi);
		assert_non_null(lint_rule_find(jstr(f, "rule")));
		assert_string_equal(jstr(rf, "kind"), jstr(f, "rule"));
		assert_string_equal(jstr(rf, "severity"), jstr(f, "severity"));
		assert_string_equal(jstr(rf, "text"), jstr(f, "message"));
		assert_string_equal(jstr(f, "severity"),
				    lint_severity_name(lint_rule_find(jstr(f, "rule"))->severity));
		nwarn += strcmp(jstr(f, "severity"), "info") != 0;
		ncrit += strcmp(jstr(f, "severity"), "critical") == 0;
		nfew += !strcmp(jstr(f, "rule"), "too-few-pins") && jstr(f, "version") &&
			!strcmp(jstr(f, "version"), "4.1.0");
	}
	assert_int_equal(nfew, 1); /* once, no longer also as single_pin */
	assert_true(nwarn > 0);
	httpc_resp_free(&r);
	static const struct {
		const char *query;
		int status;
		int which; /* 0: all, 1: warning and above, 2: critical */
	} lint_cases[] = {
		{ "?min_severity=info", 200, 0 },     { "?min_severity=warning", 200, 1 },
		{ "?min_severity=critical", 200, 2 }, { "?min_severity=high", 400, 0 },
		{ "?min_severity=", 400, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(lint_cases); i++) {
		char lpath[128];
		snprintf(lpath, sizeof(lpath), "/api/v1/lint%s", lint_cases[i].query);
		req(&r, "GET", lpath, tok_read, NULL);
		assert_int_equal(r.status, lint_cases[i].status);
		if (r.status == 200) {
			size_t want = lint_cases[i].which == 0	 ? nall
				      : lint_cases[i].which == 1 ? nwarn
								 : ncrit;
			assert_int_equal(json_array_size(json_object_get(r.json, "findings")),
					 want);
			assert_int_equal(
				json_array_size(json_object_get(r.json, "readiness_findings")),
				want);
		}
		httpc_resp_free(&r);
	}

	/* the cached snapshot follows changes made through the API... */
	expect_status("POST", "/api/v1/endpoints", tok_write, "{\"host\":\"fresh.example.test\"}",
		      201);
	req(&r, "GET", "/api/v1/readiness?limit=1", tok_read, NULL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), total + 1);
	httpc_resp_free(&r);
	/* ...and outside it (another process importing) */
	char err[ERRLEN];
	assert_int_equal(db_exec(wdb,
				 "INSERT INTO endpoints (host, created_at, updated_at) VALUES "
				 "('cli.example.test', 0, 0)",
				 err, sizeof(err)),
			 0);
	req(&r, "GET", "/api/v1/readiness?limit=1", tok_read, NULL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), total + 2);
	httpc_resp_free(&r);
}

static double app_share(json_t *j, const char *app)
{
	json_t *a;
	size_t i;
	json_array_foreach(
		json_object_get(j, "apps"), i,
		a) if (!strcmp(jstr(a, "app"),
			       app)) return json_real_value(json_object_get(a, "stranded_share"));
	return -1;
}

static void test_whatif(void **state)
{
	(void)state;
	struct httpc_resp r;
	char body[512], cert[300], key[300], *pem = NULL;
	size_t n;
	/* candidate keeps the CA: 4.2.0 (pins the CA) survives, 4.1.0 (20%) does not */
	snprintf(body, sizeof(body), "{\"host\":\"api.example.test\",\"pins\":[\"sha256/%s\"]}",
		 ids.pin_ca);
	req(&r, "POST", "/api/v1/whatif", tok_read, body);
	if (r.status != 200)
		fprintf(stderr, "whatif: %s\n", r.body);
	assert_int_equal(r.status, 200);
	assert_true(fabs(app_share(r.json, "shop-android") - 0.2) < 1e-9);
	httpc_resp_free(&r);
	/* an unrelated self-signed chain strands both versions (0.2 + 0.8) */
	snprintf(cert, sizeof(cert), "%s/whatif-cert.pem", dir);
	snprintf(key, sizeof(key), "%s/whatif-key.pem", dir);
	assert_int_equal(fixture_tls_files(cert, key), 0);
	assert_int_equal(util_read_file(cert, 65536, &pem, &n), 0);
	json_t *j = json_pack("{s:s, s:i, s:s, s:s}", "host", "api.example.test", "port", 443,
			      "chain_pem", pem, "at", "2026-12-01");
	char *b = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	req(&r, "POST", "/api/v1/whatif", tok_read, b);
	assert_int_equal(r.status, 200);
	assert_true(fabs(app_share(r.json, "shop-android") - 1.0) < 1e-9);
	/* it builds to no trust anchor: the checks every client makes fail */
	json_t *ck = json_object_get(r.json, "checks");
	assert_true(json_is_true(json_object_get(ck, "checked")));
	assert_false(json_is_true(json_object_get(ck, "ok")));
	bool untrusted = false;
	size_t k;
	json_t *f;
	json_array_foreach(json_object_get(ck, "failed"), k, f) untrusted |=
		!strcmp(json_string_value(f), "untrusted");
	assert_true(untrusted);
	assert_true(json_is_true(json_object_get(r.json, "risk")));
	httpc_resp_free(&r);
	free(b);
	free(pem);
	/* a typo host is refused; any_host evaluates it by its name; without a
	 * port the endpoint's own port is answered */
	snprintf(body, sizeof(body), "{\"host\":\"api.example.tset\",\"pins\":[\"sha256/%s\"]}",
		 ids.pin_ca);
	req(&r, "POST", "/api/v1/whatif", tok_read, body);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(jstr(r.json, "detail"), "not an inventoried endpoint"));
	httpc_resp_free(&r);
	snprintf(body, sizeof(body),
		 "{\"host\":\"api.example.tset\",\"any_host\":true,\"pins\":[\"sha256/%s\"]}",
		 ids.pin_ca);
	req(&r, "POST", "/api/v1/whatif", tok_read, body);
	assert_int_equal(r.status, 200);
	assert_false(json_is_true(json_object_get(r.json, "inventoried")));
	httpc_resp_free(&r);
	snprintf(body, sizeof(body), "{\"host\":\"api.example.test\",\"pins\":[\"sha256/%s\"]}",
		 ids.pin_ca);
	req(&r, "POST", "/api/v1/whatif", tok_read, body);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "port")), 443);
	assert_false(json_is_true(json_object_get(json_object_get(r.json, "checks"), "checked")));
	httpc_resp_free(&r);
	expect_status("POST", "/api/v1/whatif", tok_read, "{\"host\":\"api.example.test\"}", 400);
	req(&r, "POST", "/api/v1/whatif", tok_read,
	    "{\"host\":\"api.example.test\",\"pins\":[\"nope\"]}");
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(jstr(r.json, "detail"), "pins[0]"));
	httpc_resp_free(&r);
	expect_status("POST", "/api/v1/whatif", tok_read,
		      "{\"host\":\"api.example.test\",\"chain_pem\":\"-----BEGIN "
		      "CERTIFICATE-----\\ngarbage\\n-----END CERTIFICATE-----\\n\"}",
		      400);
	expect_status("POST", "/api/v1/whatif", NULL, "{\"host\":\"api.example.test\",\"pins\":[]}",
		      401);
}

static void test_alerts_webhooks(void **state)
{
	(void)state;
	struct httpc_resp r;
	char err[ERRLEN], sql[512];
	req(&r, "GET", "/api/v1/alerts", tok_read, NULL);
	assert_int_equal(r.status, 200);
	size_t before = json_array_size(json_object_get(r.json, "items"));
	httpc_resp_free(&r);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO alerts (fingerprint, kind, endpoint_id, severity, status, summary, "
		 "starts_at, updated_at) "
		 "VALUES ('fp-test-1', 'stranding_now', %lld, 'critical', 'firing', 'shop-android "
		 "20%% stranded', %lld, %lld)",
		 (long long)ids.endpoint_api, (long long)util_now(), (long long)util_now());
	assert_int_equal(db_exec(wdb, sql, err, sizeof(err)), 0);
	req(&r, "GET", "/api/v1/alerts", tok_read, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), before + 1);
	httpc_resp_free(&r);
	req(&r, "GET", "/api/v1/alerts?severity=critical", tok_read, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
	httpc_resp_free(&r);
	req(&r, "GET", "/api/v1/alerts?severity=info", tok_read, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
	httpc_resp_free(&r);
	expect_status("GET", "/api/v1/alerts?all=perhaps", tok_read, NULL, 400);

	expect_status("POST", "/api/v1/alerts/silences", tok_read,
		      "{\"fingerprint\":\"fp-test-1\",\"until\":\"2099-01-01\",\"reason\":\"x\"}",
		      403);
	req(&r, "POST", "/api/v1/alerts/silences", tok_write,
	    "{\"fingerprint\":\"fp-test-1\",\"until\":\"2099-01-01\",\"reason\":\"rotation "
	    "planned\"}");
	assert_int_equal(r.status, 201);
	int64_t sid = json_integer_value(json_object_get(r.json, "id"));
	httpc_resp_free(&r);
	expect_status("POST", "/api/v1/alerts/silences", tok_write,
		      "{\"until\":\"someday\",\"reason\":\"x\"}", 400);
	req(&r, "GET", "/api/v1/alerts/silences", tok_read, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
	httpc_resp_free(&r);
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/alerts/silences/%lld", (long long)sid);
	expect_status("DELETE", path, tok_write, NULL, 200);

	req(&r, "POST", "/api/v1/webhooks", tok_write,
	    "{\"url\":\"http://127.0.0.1:9/hook\",\"secret\":\"s3cret\"}");
	assert_int_equal(r.status, 403); /* webhooks need admin */
	httpc_resp_free(&r);
	expect_status("POST", "/api/v1/webhooks", tok_admin,
		      "{\"url\":\"ftp://127.0.0.1/hook\",\"secret\":\"s3cret\"}", 400);
	req(&r, "POST", "/api/v1/webhooks", tok_admin,
	    "{\"url\":\"http://127.0.0.1:9/"
	    "hook\",\"secret\":\"s3cret-value\",\"format\":\"slack\"}");
	assert_int_equal(r.status, 201);
	int64_t wid = json_integer_value(json_object_get(r.json, "id"));
	httpc_resp_free(&r);
	req(&r, "GET", "/api/v1/webhooks", tok_admin, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
	assert_null(strstr(r.body, "s3cret-value"));
	httpc_resp_free(&r);
	expect_status("GET", "/api/v1/webhooks", tok_read, NULL, 403);
	snprintf(path, sizeof(path), "/api/v1/webhooks/%lld/test", (long long)wid);
	req(&r, "POST", path, tok_admin, NULL);
	assert_int_equal(r.status, 200);
	assert_false(
		json_is_true(json_object_get(r.json, "delivered"))); /* nothing listens on port 9 */
	httpc_resp_free(&r);
	/* The outbox: a given-up row is listed with its error and can be retried. */
	snprintf(sql, sizeof(sql),
		 "INSERT INTO webhook_outbox (webhook_id, idempotency_key, body, state, attempts,"
		 " next_attempt_at, last_status, last_error, created_at) VALUES (%lld, 'k1',"
		 " '{\"secret-body\":1}', 'given_up', 1, 0, 400, 'HTTP 400', 0)",
		 (long long)wid);
	assert_int_equal(db_exec(wdb, sql, err, sizeof(err)), 0);
	req(&r, "GET", "/api/v1/webhooks/outbox?state=given_up", tok_admin, NULL);
	assert_int_equal(r.status, 200);
	json_t *row = json_array_get(json_object_get(r.json, "items"), 0);
	assert_int_equal(json_integer_value(json_object_get(row, "last_status")), 400);
	assert_null(strstr(r.body, "secret-body"));
	int64_t oid = json_integer_value(json_object_get(row, "id"));
	httpc_resp_free(&r);
	expect_status("GET", "/api/v1/webhooks/outbox?state=lost", tok_admin, NULL, 400);
	expect_status("GET", "/api/v1/webhooks/outbox", tok_read, NULL, 403);
	snprintf(path, sizeof(path), "/api/v1/webhooks/outbox/%lld/retry", (long long)oid);
	expect_status("POST", path, tok_admin, NULL, 200);
	req(&r, "POST", path, tok_admin, NULL);
	assert_int_equal(r.status, 404); /* no longer given up */
	httpc_resp_free(&r);
	req(&r, "GET", "/api/v1/webhooks/outbox?state=pending", tok_admin, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
	httpc_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/webhooks/%lld", (long long)wid);
	expect_status("DELETE", path, tok_admin, NULL, 200);
	expect_status("DELETE", path, tok_admin, NULL, 404);
}

static char *report_body(const char *pem, const char *host)
{
	char pin[80];
	snprintf(pin, sizeof(pin), "pin-sha256=\"%s\"", ids.pin_ca);
	json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:b, s:[s], s:[s], s:[s]}", "date-time",
			      "2026-11-27T09:14:03Z", "hostname", host, "port", 443,
			      "effective-expiration-date", "2027-01-26T09:12:44Z",
			      "include-subdomains", 0, "known-pins", pin,
			      "served-certificate-chain", pem, "validated-certificate-chain", pem);
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static void test_reports_candidates(void **state)
{
	(void)state;
	struct httpc_resp r;
	char cert[300], key[300], *pem = NULL;
	size_t n;
	snprintf(cert, sizeof(cert), "%s/report-cert.pem", dir);
	snprintf(key, sizeof(key), "%s/report-key.pem", dir);
	assert_int_equal(fixture_tls_files(cert, key), 0);
	assert_int_equal(util_read_file(cert, 65536, &pem, &n), 0);

	/* apps in the field post reports without a token */
	char *body = report_body(pem, "api.example.test");
	req(&r, "POST", "/api/v1/reports", NULL, body);
	if (r.status != 202)
		fprintf(stderr, "report refused: %s\n", r.body);
	assert_int_equal(r.status, 202);
	httpc_resp_free(&r);
	req_full(&r, base_url, "POST", "/api/v1/reports", NULL, "text/plain", body, NULL);
	assert_int_equal(r.status, 415);
	httpc_resp_free(&r);
	expect_status("POST", "/api/v1/reports", NULL, "{\"hostname\":\"api.example.test\"}", 400);
	req(&r, "GET", "/api/v1/reports", NULL, NULL);
	assert_int_equal(r.status, 401); /* reading them needs a token */
	httpc_resp_free(&r);
	req(&r, "GET", "/api/v1/reports", tok_read, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_array_size(json_object_get(r.json, "items")) >= 1);
	httpc_resp_free(&r);
	/* one source is rate limited after its burst */
	int limited = 0;
	for (int i = 0; i < 40 && !limited; i++) {
		req(&r, "POST", "/api/v1/reports", NULL, body);
		limited = r.status == 429;
		httpc_resp_free(&r);
	}
	assert_true(limited);
	free(body);

	json_t *cj = json_pack("{s:s, s:s}", "pem", pem, "source", "manual");
	char *cbody = json_dumps(cj, JSON_COMPACT);
	json_decref(cj);
	expect_status("POST", "/api/v1/candidates", tok_read, cbody, 403);
	req(&r, "POST", "/api/v1/candidates", tok_write, cbody);
	if (r.status != 201)
		fprintf(stderr, "candidate refused: %s\n", r.body);
	assert_int_equal(r.status, 201);
	int64_t cid = json_integer_value(json_object_get(r.json, "id"));
	httpc_resp_free(&r);
	req(&r, "POST", "/api/v1/candidates", tok_write, cbody);
	assert_int_equal(r.status, 200); /* known chain */
	httpc_resp_free(&r);
	expect_status("POST", "/api/v1/candidates", tok_write, "{\"pem\":\"not a certificate\"}",
		      400);
	req(&r, "GET", "/api/v1/candidates", tok_read, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
	httpc_resp_free(&r);
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/candidates/%lld", (long long)cid);
	expect_status("GET", path, tok_read, NULL, 200);
	expect_status("DELETE", path, tok_write, NULL, 200);
	expect_status("GET", path, tok_read, NULL, 404);
	free(cbody);
	free(pem);
}

static void test_public_read_ipv6(void **state)
{
	(void)state;
	char err[ERRLEN], base[64];
	struct httpc_resp r;
	struct config c = base_cfg();
	c.http_public_read = true;
	snprintf(c.http_listen, sizeof(c.http_listen), "[::1]:0");
	struct http *h = http_new(&c, dbpath, err, sizeof(err));
	if (!h) {
		/* a host without IPv6 loopback cannot run this case */
		fprintf(stderr, "skipping IPv6: %s\n", err);
		skip();
	}
	snprintf(base, sizeof(base), "http://[::1]:%d", http_port(h));
	req_full(&r, base, "GET", "/api/v1/endpoints?limit=1", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	httpc_resp_free(&r);
	req_full(&r, base, "GET", "/api/v1/tokens", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 401); /* public_read covers reads, not admin */
	httpc_resp_free(&r);
	req_full(&r, base, "POST", "/api/v1/endpoints/1/probe", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 401);
	httpc_resp_free(&r);
	http_free(h);
}

static void test_https(void **state)
{
	(void)state;
	char err[ERRLEN], base[64];
	struct httpc_resp r;
	struct config c = base_cfg();
	snprintf(c.http_tls_cert, sizeof(c.http_tls_cert), "%s/cert.pem", dir);
	snprintf(c.http_tls_key, sizeof(c.http_tls_key), "%s/key.pem", dir);
	assert_int_equal(fixture_tls_files(c.http_tls_cert, c.http_tls_key), 0);
	struct http *h = http_new(&c, dbpath, err, sizeof(err));
	assert_non_null(h);
	snprintf(base, sizeof(base), "https://127.0.0.1:%d", http_port(h));
	req_full(&r, base, "GET", "/api/v1/status", tok_read, NULL, NULL, NULL);
	assert_int_equal(r.cc, CURLE_OK);
	assert_int_equal(r.status, 200);
	httpc_resp_free(&r);
	http_free(h);
	/* a key readable by others is refused */
	assert_int_equal(chmod(c.http_tls_key, 0644), 0);
	h = http_new(&c, dbpath, err, sizeof(err));
	assert_null(h);
	assert_non_null(strstr(err, "accessible by group or others"));
}

static int connect_raw(int p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* half a request keeps the connection busy */
	if (write(fd, "GET /healthz HTTP/1.1\r\n", 23) != 23) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_per_ip_limit(void **state)
{
	(void)state;
	char err[ERRLEN], base[64];
	struct httpc_resp r;
	struct config c = base_cfg();
	c.http_per_ip_connections = 2;
	struct http *h = http_new(&c, dbpath, err, sizeof(err));
	assert_non_null(h);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", http_port(h));
	int fds[2 + 16 + 1];
	size_t nfd = 0;
	fds[nfd++] = connect_raw(http_port(h));
	fds[nfd++] = connect_raw(http_port(h));
	assert_true(fds[0] >= 0 && fds[1] >= 0);
	http_note_scheduler_alive(h, util_now()); /* /healthz answers 200 when served */
	/* a third connection from the address gets a clear 503 once the server has
	 * accepted the first two */
	int limited = 0;
	for (int i = 0; i < 250 && !limited; i++) {
		req_full(&r, base, "GET", "/healthz", NULL, NULL, NULL, NULL);
		limited = r.status == 503 && r.json &&
			  !strcmp(jstr(r.json, "error"), "too_many_connections");
		httpc_resp_free(&r);
		if (!limited)
			usleep(20000);
	}
	assert_true(limited);
	/* far past the limit, connections are refused at accept (no response) */
	while (nfd < 2 + 16)
		fds[nfd++] = connect_raw(http_port(h));
	int refused = 0;
	for (int i = 0; i < 250 && !refused; i++) {
		req_full(&r, base, "GET", "/healthz", NULL, NULL, NULL, NULL);
		refused = r.cc != CURLE_OK && r.status == 0;
		if (!refused && i % 50 == 0)
			fprintf(stderr, "per-ip flood: try %d: status %ld %s\n", i, r.status,
				r.body ? r.body : "");
		httpc_resp_free(&r);
		if (!refused)
			usleep(20000);
	}
	assert_true(refused);
	for (size_t i = 0; i < nfd; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* once they are closed the address is served again (the server notices
	 * closed sockets asynchronously: wait for it) */
	int served = 0, tries;
	for (tries = 0; tries < 500 && !served; tries++) {
		req_full(&r, base, "GET", "/healthz", NULL, NULL, NULL, NULL);
		served = r.cc == CURLE_OK && r.status > 0 && r.status != 503;
		httpc_resp_free(&r);
		if (!served)
			usleep(20000);
	}
	assert_true(served);
	http_free(h);
}

static void test_idle_timeout(void **state)
{
	(void)state;
	char err[ERRLEN], buf[64];
	struct config c = base_cfg();
	c.http_timeout_s = 1;
	struct http *h = http_new(&c, dbpath, err, sizeof(err));
	assert_non_null(h);
	int fd = connect_raw(http_port(h)); /* half a request, then silence */
	assert_true(fd >= 0);
	struct timeval tv = { .tv_sec = 15 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* the server closes the idle connection (read returns 0, or a reset) well
	 * before our 15 s receive timeout */
	ssize_t n = read(fd, buf, sizeof(buf));
	assert_true(n <= 0);
	assert_false(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	close(fd);
	http_free(h);
}

static void test_bad_listen(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct config c = base_cfg();
	snprintf(c.http_listen, sizeof(c.http_listen), "127.0.0.1");
	assert_null(http_new(&c, dbpath, err, sizeof(err)));
	assert_non_null(strstr(err, "listen"));
	snprintf(c.http_listen, sizeof(c.http_listen), "[::1:80");
	assert_null(http_new(&c, dbpath, err, sizeof(err)));
	struct config d = base_cfg();
	assert_null(http_new(&d, "/nonexistent/dir/db.sqlite", err, sizeof(err)));
}

static void test_http_authority_host_table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t outlen;
		const char *want; /* NULL: refused */
	} cases[] = {
		{ "localhost", 64, "localhost" },
		{ "LocalHost:8080", 64, "localhost" },
		{ "pinwatch.example.", 64, "pinwatch.example" },
		{ "pinwatch.example.:443", 64, "pinwatch.example" },
		{ "127.0.0.1:80", 64, "127.0.0.1" },
		{ "[::1]:8080", 64, "::1" },
		{ "[::1]", 64, "::1" },
		{ "[2001:DB8::1]", 64, "2001:db8::1" },
		{ "::1", 64, "::1" }, /* unbracketed IPv6: taken whole */
		{ "[::1", 64, NULL },
		{ "", 64, NULL },
		{ ":80", 64, NULL },
		{ ".", 64, NULL },
		{ "a b", 64, NULL },
		{ "a\tb", 64, NULL },
		{ "user@evil.example", 64, NULL },
		{ "evil.example/x", 64, NULL },
		{ "abcd", 5, "abcd" },
		{ "abcde", 5, NULL }, /* does not fit */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[64] = "";
		bool ok =
			http_authority_host(cases[i].in, strlen(cases[i].in), out, cases[i].outlen);
		if (!cases[i].want) {
			if (ok)
				fail_msg("case %zu '%s': accepted as '%s'", i, cases[i].in, out);
			continue;
		}
		if (!ok)
			fail_msg("case %zu '%s': refused", i, cases[i].in);
		assert_string_equal(out, cases[i].want);
	}
}

static void test_http_url_origin_table(void **state)
{
	(void)state;
	static const struct {
		const char *url, *origin, *host; /* "": not an absolute URL */
	} cases[] = {
		{ "http://127.0.0.1:8080", "http://127.0.0.1:8080", "127.0.0.1" },
		{ "https://Pinwatch.Example.com/dash?x=1#f", "https://pinwatch.example.com",
		  "pinwatch.example.com" },
		{ "HTTPS://pinwatch.example.com.:8443/", "https://pinwatch.example.com.:8443",
		  "pinwatch.example.com" },
		{ "http://[::1]:8080/", "http://[::1]:8080", "::1" },
		{ "http://[2001:DB8::1]", "http://[2001:db8::1]", "2001:db8::1" },
		{ "http://user:pw@evil.example/", "http://evil.example", "evil.example" },
		{ "http://localhost:80", "http://localhost:80", "localhost" }, /* as named */
		{ "null", "", "" },
		{ "", "", "" },
		{ "pinwatch.example.com:8080", "", "" },
		{ "http://", "", "" },
		{ "http://[::1", "", "" },
		{ "http://a b/", "", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char origin[128], host[64];
		http_url_origin(cases[i].url, origin, sizeof(origin));
		http_url_host(cases[i].url, host, sizeof(host));
		if (strcmp(origin, cases[i].origin) || strcmp(host, cases[i].host))
			fail_msg("case %zu '%s': origin '%s' host '%s', want '%s' '%s'", i,
				 cases[i].url, origin, host, cases[i].origin, cases[i].host);
	}
	/* an origin that does not fit is "" rather than cut */
	char small[16];
	http_url_origin("http://pinwatch.example.com", small, sizeof(small));
	assert_string_equal(small, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_authority_host_table),
		cmocka_unit_test(test_http_url_origin_table),
		cmocka_unit_test(test_healthz_scheduler),
		cmocka_unit_test(test_auth_read),
		cmocka_unit_test(test_auth_roles),
		cmocka_unit_test(test_tokens_create_revoke),
		cmocka_unit_test(test_bad_bodies),
		cmocka_unit_test(test_csrf),
		cmocka_unit_test(test_routing),
		cmocka_unit_test(test_endpoints_pagination),
		cmocka_unit_test(test_observations),
		cmocka_unit_test(test_apps),
		cmocka_unit_test(test_probe_now),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_endpoint_writes),
		cmocka_unit_test(test_app_writes),
		cmocka_unit_test(test_inventory_bulk),
		cmocka_unit_test(test_audit_list),
		cmocka_unit_test(test_readiness),
		cmocka_unit_test(test_whatif),
		cmocka_unit_test(test_alerts_webhooks),
		cmocka_unit_test(test_reports_candidates),
		cmocka_unit_test(test_public_read_ipv6),
		cmocka_unit_test(test_https),
		cmocka_unit_test(test_per_ip_limit),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_bad_listen),
	};
	gnutls_global_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	gnutls_global_deinit();
	return rc;
}
