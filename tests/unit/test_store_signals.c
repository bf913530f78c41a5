/* unit.store_signals: the report and candidate tables of the store
 * (store/reports.h, store/candidates.h) and the statement helpers they run
 * on (db_run, db_run_int, db_stmt_fail in store/db.h). Lists answer whole or
 * fail: a database interrupted at any step, busy or missing a table gives an
 * error, never a shorter answer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "sigcert.h"
#include "store/candidates.h"
#include "store/db.h"
#include "store/reports.h"
#include "testdb.h"
#include "wholeanswer.h"

/* 2026-11-27T10:00:00Z */
#define NOW ((time_t)1795773600)
#define DAY 86400

static struct testdb *t;
static struct tcert root, leaf, rekeyed;

static int group_setup(void **state)
{
	(void)state;
	const char *const dns[] = { "api.example.com", NULL };
	if (gnutls_global_init() < 0)
		return -1;
	return tcert_make(&root, "Root", NULL, NULL, true, NOW - 400 * DAY, NOW + 900 * DAY,
			  NULL) ||
	       tcert_make(&leaf, "api.example.com", dns, &root, false, NOW - 30 * DAY,
			  NOW + 60 * DAY, NULL) ||
	       tcert_make(&rekeyed, "api.example.com", dns, &root, false, NOW - 2 * DAY,
			  NOW + 80 * DAY, &leaf);
}

static int group_teardown(void **state)
{
	(void)state;
	tcert_free(&root);
	tcert_free(&leaf);
	tcert_free(&rekeyed);
	gnutls_global_deinit();
	return 0;
}

/* tseed_shop() (endpoint 1 api.example.com:443 observing leaf + root over
 * [NOW - 20 days, NOW - 600], 2 other.example.com:443) and endpoint 3
 * api.example.com:8443. */
static int setup(void **state)
{
	(void)state;
	char err[ERRLEN];
	if (!(t = testdb_new()))
		return -1;
	if (tseed_shop(t->db) ||
	    db_exec(t->db,
		    "INSERT INTO endpoints (id, host, port, created_at, updated_at) VALUES "
		    "(3, 'api.example.com', 8443, 0, 0)",
		    err, sizeof(err)))
		return -1;
	const struct tcert *chain[] = { &leaf, &root };
	return tobs_add(t->db, 1, chain, 2, NOW - 20 * DAY, NOW - 600);
}

static int teardown(void **state)
{
	(void)state;
	testdb_free(t);
	t = NULL;
	return 0;
}

static int64_t q(const char *sql)
{
	int64_t v = -1;
	assert_int_equal(db_query_int(t->db, sql, &v), 0);
	return v;
}

/* ---- db_run, db_run_int ---- */

static void test_db_run_int_table(void **state)
{
	(void)state;
	static const struct {
		const char *sql;
		int nbind; /* integers bound (1, 2, ...) */
		int rc;
		int64_t value;
		bool found;
		const char *msg; /* prefix of the message; NULL: none */
	} cases[] = {
		{ "SELECT 7", 0, 0, 7, true, NULL },
		{ "SELECT ?1 + 1", 1, 0, 2, true, NULL },
		{ "SELECT 1 WHERE 0", 0, 0, 0, false, NULL },
		{ "SELECT count(*) FROM endpoints", 0, 0, 3, true, NULL },
		/* the first of several rows */
		{ "SELECT id FROM endpoints ORDER BY id DESC", 0, 0, 3, true, NULL },
		/* cannot be prepared: db_stmt() gives NULL */
		{ "SELECT x FROM no_such_table", 0, -EIO, 0, false, "probe: no such table" },
		/* bound past the last parameter: SQLITE_RANGE */
		{ "SELECT ?1", 2, -EIO, 0, false, "probe: " },
		/* fails while stepping: integer overflow */
		{ "SELECT abs(-9223372036854775807 - 1)", 0, -EIO, 0, false, "probe: integer" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERRLEN] = "";
		int64_t v = -1;
		bool found = !cases[i].found;
		struct db_binder b = db_binder(db_stmt(t->db, cases[i].sql));
		for (int k = 1; k <= cases[i].nbind; k++)
			db_bind_int64(&b, k);
		assert_int_equal(db_run_int(t->db, &b, &v, &found, "probe", err, sizeof(err)),
				 cases[i].rc);
		assert_true(v == cases[i].value);
		assert_true(found == cases[i].found);
		if (cases[i].msg)
			assert_memory_equal(err, cases[i].msg, strlen(cases[i].msg));
		else
			assert_string_equal(err, "");
		/* db_run() agrees on the outcome, and the statement is reusable */
		b = db_binder(db_stmt(t->db, cases[i].sql));
		for (int k = 1; k <= cases[i].nbind; k++)
			db_bind_int64(&b, k);
		assert_int_equal(db_run(t->db, &b, "probe", err, sizeof(err)), cases[i].rc);
	}
}

/* ---- reports ---- */

static void test_reports_db_join_table(void **state)
{
	(void)state;
	static const struct {
		const char *bundle, *platform, *version, *host;
		int port;
		int64_t app, ver, ep;
	} cases[] = {
		{ "com.example.shop", "IOS", "4.2.0", "api.example.com", 443, 1, 11, 1 },
		{ "com.example.shop", "ANDROID", "4.2.0", "api.example.com", 443, 2, 21, 1 },
		/* unknown platform: the lowest id */
		{ "com.example.shop", "", "4.2.0", "api.example.com", 443, 1, 11, 1 },
		{ "com.example.shop", NULL, NULL, "api.example.com", 443, 1, 0, 1 },
		{ "com.example.shop", "IOS", "9.9.9", "api.example.com", 443, 1, 0, 1 },
		{ "com.example.other", "IOS", "4.2.0", "api.example.com", 443, 0, 0, 1 },
		/* no bundle (HPKP): no app, no version even when one is given */
		{ NULL, NULL, "4.2.0", "api.example.com", 443, 0, 0, 1 },
		/* the endpoint on the port, then on 443, then none */
		{ NULL, NULL, NULL, "api.example.com", 8443, 0, 0, 3 },
		{ NULL, NULL, NULL, "api.example.com", 9443, 0, 0, 1 },
		{ NULL, NULL, NULL, "other.example.com", 8443, 0, 0, 2 },
		{ NULL, NULL, NULL, "unknown.example.com", 443, 0, 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERRLEN];
		struct reports_db_join j = { -1, -1, -1 };
		assert_int_equal(reports_db_join(t->db, cases[i].bundle, cases[i].platform,
						 cases[i].version, cases[i].host, cases[i].port, &j,
						 err, sizeof(err)),
				 0);
		assert_true(j.app_id == cases[i].app);
		assert_true(j.version_id == cases[i].ver);
		assert_true(j.endpoint_id == cases[i].ep);
	}
}

static void test_reports_db_observed_table(void **state)
{
	(void)state;
	static const uint8_t other[32] = { 1 };
	const struct {
		int64_t endpoint, from, to;
		const uint8_t *sha, *spki;
		bool any, match;
	} cases[] = {
		{ 1, NOW - 7 * DAY, NOW + DAY, leaf.sha256, leaf.spki, true, true },
		/* the same key in another certificate matches by its pin */
		{ 1, NOW - 7 * DAY, NOW + DAY, rekeyed.sha256, rekeyed.spki, true, true },
		{ 1, NOW - 7 * DAY, NOW + DAY, other, other, true, false },
		/* the root is no leaf */
		{ 1, NOW - 7 * DAY, NOW + DAY, root.sha256, root.spki, true, false },
		/* no leaf to compare */
		{ 1, NOW - 7 * DAY, NOW + DAY, NULL, NULL, true, false },
		/* window boundaries: last_seen NOW - 600, first_seen NOW - 20 days */
		{ 1, NOW - 600, NOW + DAY, leaf.sha256, leaf.spki, true, true },
		{ 1, NOW - 599, NOW + DAY, leaf.sha256, leaf.spki, false, false },
		{ 1, NOW - 30 * DAY, NOW - 20 * DAY, leaf.sha256, leaf.spki, true, true },
		{ 1, NOW - 30 * DAY, NOW - 20 * DAY - 1, leaf.sha256, leaf.spki, false, false },
		{ 2, NOW - 7 * DAY, NOW + DAY, leaf.sha256, leaf.spki, false, false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERRLEN];
		bool any = !cases[i].any, match = !cases[i].match;
		assert_int_equal(reports_db_observed(t->db, cases[i].endpoint, cases[i].from,
						     cases[i].to, cases[i].sha, cases[i].spki, &any,
						     &match, err, sizeof(err)),
				 0);
		assert_true(any == cases[i].any);
		assert_true(match == cases[i].match);
	}
}

/* A cluster for host/port keyed by @k, joined to endpoint 1 (and version 11
 * when @known). */
static struct reports_db_cluster cluster(uint8_t k, bool known)
{
	struct reports_db_cluster c = {
		.join = { known ? 1 : 0, known ? 11 : 0, 1 },
		.bundle_id = "com.example.shop",
		.app_version = "4.2.0",
		.hostname = "api.example.com",
		.port = 443,
		.chain_length = 2,
		.leaf_sha256 = leaf.sha256,
		.leaf_spki = leaf.spki,
		.leaf_subject = "CN=api.example.com",
		.leaf_issuer = "CN=Root",
		.classification = "matches_server",
	};
	memset(c.key, k, sizeof(c.key));
	memset(c.chain_sha256, k, sizeof(c.chain_sha256));
	return c;
}

static int64_t count_cluster(uint8_t k, bool known, time_t at, const char *day, bool *created)
{
	char err[ERRLEN];
	int64_t id = -1;
	struct reports_db_cluster c = cluster(k, known);
	assert_int_equal(
		reports_db_cluster_count(t->db, &c, at, day, &id, created, err, sizeof(err)), 0);
	assert_true(id > 0);
	return id;
}

static void test_reports_db_cluster_count(void **state)
{
	(void)state;
	char err[ERRLEN];
	bool created = false;
	int64_t id = count_cluster(1, true, NOW, "2026-11-27", &created);
	assert_true(created);
	assert_true(q("SELECT report_count FROM report_clusters") == 1);
	assert_true(q("SELECT first_seen = last_seen FROM report_clusters") == 1);
	/* again, earlier (a late report), the same day: counted, last_seen kept */
	assert_true(count_cluster(1, true, NOW - 10, "2026-11-27", &created) == id);
	assert_false(created);
	assert_true(q("SELECT report_count FROM report_clusters") == 2);
	assert_true(q("SELECT last_seen FROM report_clusters") == (int64_t)NOW);
	assert_true(q("SELECT sum(count) FROM report_cluster_days") == 2);
	/* a day later, reclassified and without the inventory join */
	struct reports_db_cluster c = cluster(1, false);
	c.join.endpoint_id = 0;
	c.classification = "differs";
	int64_t again = 0;
	assert_int_equal(reports_db_cluster_count(t->db, &c, NOW + DAY, "2026-11-28", &again,
						  &created, err, sizeof(err)),
			 0);
	assert_true(again == id);
	assert_true(q("SELECT count(*) FROM report_clusters WHERE classification = 'differs' "
		      "AND app_id IS NULL AND version_id IS NULL AND endpoint_id IS NULL AND "
		      "last_seen = 1795860000 AND report_count = 3") == 1);
	assert_true(q("SELECT count(*) FROM report_cluster_days") == 2);
	/* without a leaf */
	c = cluster(2, false);
	c.leaf_sha256 = c.leaf_spki = NULL;
	c.leaf_subject = c.leaf_issuer = NULL;
	assert_int_equal(reports_db_cluster_count(t->db, &c, NOW, "2026-11-27", &again, &created,
						  err, sizeof(err)),
			 0);
	assert_true(created && again != id);
	assert_true(q("SELECT count(*) FROM report_clusters WHERE leaf_sha256 IS NULL AND "
		      "leaf_subject IS NULL") == 1);
	/* a bad classification is refused by the schema: an error, nothing half done */
	c = cluster(3, false);
	c.classification = "bogus";
	assert_int_equal(reports_db_cluster_count(t->db, &c, NOW, "2026-11-27", &again, &created,
						  err, sizeof(err)),
			 -EIO);
	assert_false(created);
	assert_memory_equal(err, "creating the cluster: ", 22);
}

static void test_reports_db_bound_clusters_table(void **state)
{
	(void)state;
	/* clusters 1..6: 1-3 of unknown versions, 4-6 known; last seen in key order */
	static const struct {
		int64_t max;
		uint8_t keep; /* key of the cluster to keep */
		int evicted;
		const char *left; /* keys left, in order */
	} cases[] = {
		{ 6, 1, 0, "123456" }, { 7, 1, 0, "123456" }, { 5, 1, 1, "13456" },
		{ 5, 6, 1, "23456" },  { 3, 6, 3, "456" },    { 2, 6, 4, "56" },
		{ 1, 1, 5, "1" },      { 4, 4, 2, "3456" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERRLEN], left[8] = "";
		int64_t keep = 0;
		assert_int_equal(db_exec(t->db, "DELETE FROM report_clusters", err, sizeof(err)),
				 0);
		for (uint8_t k = 1; k <= 6; k++) {
			bool created;
			int64_t id = count_cluster(k, k > 3, NOW + k, "2026-11-27", &created);
			count_cluster(k, k > 3, NOW + k, k == 1 ? "2025-10-01" : "2025-10-02",
				      &created);
			if (k == cases[i].keep)
				keep = id;
		}
		int evicted = -1;
		assert_int_equal(reports_db_bound_clusters(t->db, keep, cases[i].max, "2025-10-02",
							   &evicted, err, sizeof(err)),
				 0);
		assert_int_equal(evicted, cases[i].evicted);
		struct db_binder b = db_binder(db_stmt(
			t->db,
			"SELECT group_concat(k, '') FROM (SELECT hex(substr(key, 1, 1)) % 10 "
			"AS k FROM report_clusters ORDER BY last_seen)"));
		sqlite3_stmt *st = b.st;
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		snprintf(left, sizeof(left), "%s", (const char *)sqlite3_column_text(st, 0));
		sqlite3_reset(st);
		assert_string_equal(left, cases[i].left);
		/* day counts before the oldest day are gone, the others kept */
		assert_true(
			q("SELECT count(*) FROM report_cluster_days WHERE day < '2025-10-02'") ==
			0);
		assert_true(q("SELECT count(*) FROM report_cluster_days") ==
			    2 * (int64_t)strlen(cases[i].left) - (strchr(left, '1') ? 1 : 0));
	}
}

static struct reports_db_report report(int64_t cluster_id, int64_t version_id, int64_t at)
{
	return (struct reports_db_report){
		.received_at = at,
		.source = "192.0.2.1",
		.source_group = "192.0.2.1",
		.format = "trustkit",
		.bundle_id = "com.example.shop",
		.app_version = "4.2.0",
		.hostname = "api.example.com",
		.port = 443,
		.include_subdomains = -1,
		.enforce = 1,
		.validation_result = 0,
		.served_chain = "[]",
		.validated_chain = "[]",
		.known_pins = "[]",
		.join = { version_id ? 1 : 0, version_id, 1 },
		.cluster_id = cluster_id,
		.classification = "matches_server",
	};
}

static void test_reports_db_insert_and_evict_table(void **state)
{
	(void)state;
	char err[ERRLEN];
	bool created;
	int64_t cid = count_cluster(1, true, NOW, "2026-11-27", &created), id = 0;
	/* what is stored: NULLs where the report had nothing */
	struct reports_db_report r = report(cid, 0, NOW);
	assert_int_equal(reports_db_insert(t->db, &r, &id, err, sizeof(err)), 0);
	assert_true(id > 0);
	assert_true(q("SELECT count(*) FROM reports WHERE include_subdomains IS NULL AND "
		      "enforce = 1 AND validation_result = 0 AND date_time IS NULL AND "
		      "platform IS NULL AND expiration_date IS NULL AND app_id IS NULL AND "
		      "version_id IS NULL AND endpoint_id = 1") == 1);
	/* a refused row is an error */
	r.format = "bogus";
	assert_int_equal(reports_db_insert(t->db, &r, &id, err, sizeof(err)), -EIO);
	assert_true(id == 0);
	assert_memory_equal(err, "storing the report: ", 20);

	/* reports of unknown versions go first, then the oldest */
	static const struct {
		int64_t max;
		int evicted;
		int64_t left_unknown, left_known;
	} cases[] = {
		{ 7, 0, 3, 3 }, { 6, 0, 3, 3 }, { 5, 1, 2, 3 },
		{ 3, 3, 0, 3 }, { 2, 4, 0, 2 }, { 1, 5, 0, 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(db_exec(t->db, "DELETE FROM reports", err, sizeof(err)), 0);
		for (int k = 0; k < 6; k++) {
			r = report(cid, k % 2 ? 11 : 0, NOW - k);
			assert_int_equal(reports_db_insert(t->db, &r, &id, err, sizeof(err)), 0);
		}
		int evicted = -1;
		assert_int_equal(reports_db_evict(t->db, cases[i].max, &evicted, err, sizeof(err)),
				 0);
		assert_int_equal(evicted, cases[i].evicted);
		assert_true(q("SELECT count(*) FROM reports WHERE version_id IS NULL") ==
			    cases[i].left_unknown);
		assert_true(q("SELECT count(*) FROM reports WHERE version_id IS NOT NULL") ==
			    cases[i].left_known);
		if (cases[i].left_known == 2)
			assert_true(q("SELECT min(received_at) FROM reports") == (int64_t)NOW - 3);
	}
}

/* Three clusters with reports from 1, 2 and 3 source groups, seen at NOW,
 * NOW - 1 day and NOW - 10 days. */
static void seed_clusters(void)
{
	char err[ERRLEN];
	static const char *const days[] = { "2026-11-27", "2026-11-26", "2026-11-17" };
	for (uint8_t k = 1; k <= 3; k++) {
		bool created;
		time_t at = k == 1 ? NOW : k == 2 ? NOW - DAY : NOW - 10 * DAY;
		int64_t cid = count_cluster(k, k != 3, at, days[k - 1], &created);
		for (int s = 0; s < k; s++) {
			char src[16];
			snprintf(src, sizeof(src), "192.0.2.%d", s);
			struct reports_db_report r = report(cid, k != 3 ? 11 : 0, at);
			int64_t id;
			r.source = r.source_group = src;
			assert_int_equal(reports_db_insert(t->db, &r, &id, err, sizeof(err)), 0);
		}
	}
}

static int collect_active(void *ctx, const struct reports_db_active *row)
{
	json_t *arr = ctx;
	char hex[65];
	json_t *o = json_pack(
		"{s:I,s:s,s:s,s:s?,s:s?,s:s,s:i,s:I,s:I,s:I,s:I,s:I,s:s?,s:I,s:b,s:b}", "id",
		(json_int_t)row->id, "key", util_hex(row->key, 32, hex), "classification",
		row->classification, "app", row->app, "version", row->app_version, "host",
		row->hostname, "port", row->port, "reports", (json_int_t)row->report_count, "first",
		(json_int_t)row->first_seen, "last", (json_int_t)row->last_seen, "endpoint",
		(json_int_t)row->endpoint_id, "app_id", (json_int_t)row->app_id, "issuer",
		row->leaf_issuer, "sources", (json_int_t)row->sources, "known_version",
		row->known_version, "app_known", row->app_known);
	return o && !json_array_append_new(arr, o) ? 0 : -ENOMEM;
}

static int call_active(json_t **out, char *err, size_t errlen)
{
	json_t *arr = json_array();
	int rc = reports_db_active(t->db, NOW - 7 * DAY, collect_active, arr, err, errlen);
	if (rc) {
		json_decref(arr);
		arr = NULL;
	}
	*out = arr;
	return rc;
}

static int call_clusters(json_t **out, char *err, size_t errlen)
{
	return reports_db_clusters_json(t->db, 10, "2026-11-20", out, err, errlen);
}

static void test_reports_db_active_and_clusters(void **state)
{
	(void)state;
	char err[ERRLEN];
	json_t *a = NULL;
	seed_clusters();
	assert_int_equal(call_active(&a, err, sizeof(err)), 0);
	/* the cluster last seen 10 days ago is not active */
	assert_int_equal(json_array_size(a), 2);
	json_t *first = json_array_get(a, 0);
	assert_int_equal(json_integer_value(json_object_get(first, "sources")), 1);
	assert_true(json_is_true(json_object_get(first, "known_version")));
	assert_true(json_is_true(json_object_get(first, "app_known")));
	assert_string_equal(json_string_value(json_object_get(first, "app")), "shop-ios");
	assert_string_equal(json_string_value(json_object_get(first, "issuer")), "CN=Root");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 1), "sources")), 2);
	json_decref(a);

	assert_int_equal(call_clusters(&a, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(a), 3);
	json_t *c = json_array_get(a, 0);
	assert_string_equal(json_string_value(json_object_get(c, "app")), "shop-ios");
	assert_int_equal(json_integer_value(json_object_get(c, "version_id")), 11);
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "leaf"), "spki")),
			    leaf.pin_b64);
	/* days from the given day on only */
	assert_int_equal(json_array_size(json_object_get(c, "days")), 1);
	c = json_array_get(a, 2);
	assert_true(json_is_null(json_object_get(c, "app_id")));
	assert_int_equal(json_array_size(json_object_get(c, "days")), 0);
	json_decref(a);
	/* the limit */
	assert_int_equal(reports_db_clusters_json(t->db, 1, "2026-11-20", &a, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
}

static int stop_at_second(void *ctx, const struct reports_db_active *row)
{
	(void)row;
	int *calls = ctx;
	return ++calls[0] == 2 ? calls[1] : 0;
}

static void test_reports_db_active_stops_on_callback_error(void **state)
{
	(void)state;
	static const struct {
		int rc;
		const char *msg;
	} cases[] = {
		{ -ENOMEM, "reading clusters: out of memory" },
		{ -EIO, "reading clusters: a malformed row" },
	};
	seed_clusters();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERRLEN] = "";
		int calls[2] = { 0, cases[i].rc };
		assert_int_equal(reports_db_active(t->db, NOW - 7 * DAY, stop_at_second, calls, err,
						   sizeof(err)),
				 cases[i].rc);
		assert_int_equal(calls[0], 2);
		assert_string_equal(err, cases[i].msg);
	}
}

/* ---- candidates ---- */

static struct candidates_db_row candidate(uint8_t k, const char *host, int64_t not_after)
{
	struct candidates_db_row r = {
		.source = "ct",
		.host = host,
		.chain_pem = "-----BEGIN CERTIFICATE-----\n...",
		.chain_length = 2,
		.subject = "CN=api.example.com",
		.issuer = "CN=Root",
		.not_before = NOW - DAY,
		.not_after = not_after,
		.dns_names = "[\"api.example.com\"]",
		.pins = "[]",
		.added_at = NOW + k,
	};
	memset(r.chain_sha256, k, 32);
	memset(r.leaf_sha256, k, 32);
	return r;
}

static void test_candidates_db_rows(void **state)
{
	(void)state;
	char err[ERRLEN];
	int64_t id1 = 0, id2 = 0, found = -1, n = -1;
	struct candidates_db_row r1 = candidate(1, NULL, NOW),
				 r2 = candidate(2, "api.example.com", NOW + 1);
	assert_int_equal(candidates_db_insert(t->db, &r1, &id1, err, sizeof(err)), 0);
	assert_int_equal(candidates_db_insert(t->db, &r2, &id2, err, sizeof(err)), 0);
	assert_true(id1 > 0 && id2 > id1);
	/* the same chain twice is refused by the schema: an error, never -EINVAL/-ENOSPC */
	int64_t dup = -1;
	assert_int_equal(candidates_db_insert(t->db, &r1, &dup, err, sizeof(err)), -EIO);
	assert_true(dup == 0);
	assert_memory_equal(err, "storing the candidate: ", 23);

	assert_int_equal(candidates_db_find(t->db, r2.chain_sha256, &found, err, sizeof(err)), 0);
	assert_true(found == id2);
	static const uint8_t none[32] = { 9 };
	assert_int_equal(candidates_db_find(t->db, none, &found, err, sizeof(err)), 0);
	assert_true(found == 0);

	/* live: notAfter after now (boundaries) */
	static const struct {
		time_t now;
		int64_t live;
	} live[] = { { NOW - 1, 2 }, { NOW, 1 }, { NOW + 1, 0 } };
	for (size_t i = 0; i < ARRAY_SIZE(live); i++) {
		assert_int_equal(candidates_db_count_live(t->db, live[i].now, &n, err, sizeof(err)),
				 0);
		assert_true(n == live[i].live);
	}

	static const struct {
		const char *host;
		bool known;
	} hosts[] = { { "api.example.com", true },
		      { "other.example.com", true },
		      { "API.example.com", false },
		      { "nope.example.com", false } };
	for (size_t i = 0; i < ARRAY_SIZE(hosts); i++) {
		bool known = !hosts[i].known;
		assert_int_equal(
			candidates_db_host_known(t->db, hosts[i].host, &known, err, sizeof(err)),
			0);
		assert_true(known == hosts[i].known);
	}

	char x[] = "x";
	char *pem = NULL, *host = x;
	int64_t nb = 0;
	assert_int_equal(candidates_db_load(t->db, id1, &pem, &host, &nb, err, sizeof(err)), 0);
	assert_string_equal(pem, r1.chain_pem);
	assert_null(host);
	assert_true(nb == (int64_t)NOW - DAY);
	free(pem);
	assert_int_equal(candidates_db_load(t->db, id2, &pem, &host, &nb, err, sizeof(err)), 0);
	assert_string_equal(host, "api.example.com");
	free(pem);
	free(host);
	assert_int_equal(candidates_db_load(t->db, 999, &pem, &host, &nb, err, sizeof(err)),
			 -ENOENT);
	assert_null(pem);
	assert_null(host);
	assert_string_equal(err, "no candidate 999");

	assert_int_equal(candidates_db_save_verdict(t->db, id2, NOW, "{\"would_strand\":true}",
						    0.25, true, err, sizeof(err)),
			 0);
	json_t *c = NULL;
	assert_int_equal(candidates_db_json(t->db, id2, &c, err, sizeof(err)), 0);
	assert_true(json_is_true(json_object_get(json_object_get(c, "verdict"), "would_strand")));
	assert_true(json_is_true(json_object_get(c, "would_strand")));
	assert_true(json_real_value(json_object_get(c, "max_stranded")) == 0.25);
	assert_int_equal(json_integer_value(json_object_get(c, "evaluated_at")), NOW);
	json_decref(c);
	/* a refused verdict (max_stranded out of range) is an error */
	assert_int_equal(
		candidates_db_save_verdict(t->db, id2, NOW, "{}", 2, true, err, sizeof(err)), -EIO);

	int64_t *ids = NULL;
	size_t nids = 0;
	assert_int_equal(candidates_db_ids(t->db, &ids, &nids, err, sizeof(err)), 0);
	assert_int_equal(nids, 2);
	assert_true(ids[0] == id1 && ids[1] == id2);
	free(ids);

	assert_int_equal(candidates_db_delete(t->db, id1, err, sizeof(err)), 0);
	assert_int_equal(candidates_db_json(t->db, id1, &c, err, sizeof(err)), -ENOENT);
	assert_null(c);
	assert_string_equal(err, "no candidate 1");
	assert_int_equal(candidates_db_json(t->db, 0, &c, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(c), 1);
	json_decref(c);
	assert_int_equal(candidates_db_ids(t->db, &ids, &nids, err, sizeof(err)), 0);
	assert_int_equal(nids, 1);
	free(ids);
	/* deleting what is not there changes nothing */
	assert_int_equal(candidates_db_delete(t->db, id1, err, sizeof(err)), 0);
}

static int call_candidates(json_t **out, char *err, size_t errlen)
{
	return candidates_db_json(t->db, 0, out, err, errlen);
}

static int call_ids(json_t **out, char *err, size_t errlen)
{
	int64_t *ids = NULL;
	size_t n = 0;
	int rc = candidates_db_ids(t->db, &ids, &n, err, errlen);
	*out = NULL;
	if (rc)
		return rc;
	*out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(*out, json_integer(ids[i]));
	free(ids);
	return 0;
}

/* ---- whole answer or an error ---- */

static void test_store_signals_lists_whole_or_error(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		wholeanswer_call call;
		size_t min_items;
	} lists[] = {
		{ "active clusters", call_active, 2 },
		{ "clusters", call_clusters, 3 },
		{ "candidates", call_candidates, 12 },
		{ "candidate ids", call_ids, 12 },
	};
	char err[ERRLEN];
	seed_clusters();
	for (uint8_t k = 1; k <= 12; k++) {
		struct candidates_db_row r = candidate(k, NULL, NOW + DAY);
		int64_t id;
		assert_int_equal(candidates_db_insert(t->db, &r, &id, err, sizeof(err)), 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		json_t *want = NULL;
		assert_int_equal(lists[i].call(&want, err, sizeof(err)), 0);
		assert_true(json_array_size(want) >= lists[i].min_items);
		/* every interrupted run fails, none may answer less */
		assert_true(wholeanswer_check(t->db, lists[i].call, want, lists[i].name) > 1);
		json_decref(want);
	}
}

/* A table gone (the statement cannot be prepared) is an error too. */
static void test_store_signals_missing_table(void **state)
{
	(void)state;
	char err[ERRLEN];
	json_t *out = (json_t *)&out;
	seed_clusters();
	assert_int_equal(db_exec(t->db, "DROP TABLE report_cluster_days", err, sizeof(err)), 0);
	assert_int_equal(call_clusters(&out, err, sizeof(err)), -EIO);
	assert_null(out);
	assert_memory_equal(err, "reading clusters: no such table", 31);
	assert_int_equal(db_exec(t->db, "DROP TABLE candidates", err, sizeof(err)), 0);
	out = (json_t *)&out;
	assert_int_equal(candidates_db_json(t->db, 0, &out, err, sizeof(err)), -EIO);
	assert_null(out);
	assert_memory_equal(err, "listing candidates: no such table", 33);
}

/* Another connection holds the write lock: writes fail with -EBUSY (after
 * the busy timeout, 0 here), never silently. */
static void test_store_signals_busy(void **state)
{
	(void)state;
	char err[ERRLEN];
	sqlite3 *other = NULL;
	int64_t id = -1, n = -1;
	bool created = true;
	assert_int_equal(sqlite3_open(t->path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db_handle(t->db), 0);

	struct candidates_db_row cr = candidate(1, NULL, NOW);
	assert_int_equal(candidates_db_insert(t->db, &cr, &id, err, sizeof(err)), -EBUSY);
	assert_true(id == 0);
	assert_memory_equal(err, "storing the candidate: database is locked", 41);
	assert_int_equal(
		candidates_db_save_verdict(t->db, 1, NOW, "{}", 0, false, err, sizeof(err)),
		-EBUSY);
	assert_int_equal(candidates_db_delete(t->db, 1, err, sizeof(err)), -EBUSY);
	struct reports_db_cluster c = cluster(1, true);
	assert_int_equal(reports_db_cluster_count(t->db, &c, NOW, "2026-11-27", &id, &created, err,
						  sizeof(err)),
			 -EBUSY);
	assert_false(created);
	struct reports_db_report r = report(1, 0, NOW);
	assert_int_equal(reports_db_insert(t->db, &r, &id, err, sizeof(err)), -EBUSY);
	/* reads go on (WAL) */
	assert_int_equal(candidates_db_count_live(t->db, 0, &n, err, sizeof(err)), 0);
	assert_true(n == 0);

	assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(candidates_db_insert(t->db, &cr, &id, err, sizeof(err)), 0);
	sqlite3_busy_timeout(db_handle(t->db), 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_db_run_int_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reports_db_join_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reports_db_observed_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reports_db_cluster_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reports_db_bound_clusters_table, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reports_db_insert_and_evict_table, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reports_db_active_and_clusters, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reports_db_active_stops_on_callback_error,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_candidates_db_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_signals_lists_whole_or_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_signals_missing_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_signals_busy, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
