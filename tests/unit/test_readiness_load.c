/* The readiness loader against a real database: latest row per address,
 * ties, "as of" filtering, previous chain (drift), pins seen, CA pool, PEM. */
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

#include "importers/invfile.h"
#include "store/db.h"
#include "store/inventory.h"
#include "readiness/readiness.h"
#include "readiness/readiness_load.h"
#include "base/util.h"
#include "testdb.h"
#include "testobs.h"

static char dir[64];
static char path[128];
static struct db *db;

static void exec(const char *sql)
{
	testobs_exec(db, sql);
}

static int setup(void **state)
{
	(void)state;
	char err[ERRLEN];
	if (testdb_mkdir("rdload", dir, sizeof(dir), path, sizeof(path)))
		return -1;
	db = db_open(path, 0, err, sizeof(err));
	if (!db)
		return -1;
	exec("INSERT INTO endpoints (id, host, created_at, updated_at) VALUES (1, "
	     "'api.example.com', 0, 0)");
	testobs_cert(db, 1, 2, 0); /* leaf X */
	testobs_cert(db, 2, 3, 1); /* intermediate */
	testobs_cert(db, 3, 3, 1); /* root */
	testobs_cert(db, 4, 2, 0); /* leaf Y */
	testobs_chain(db, 1, (int[]){ 1, 2 }, 2);
	testobs_chain(db, 2, (int[]){ 1, 2, 3 }, 3);
	testobs_chain(db, 3, (int[]){ 4, 2 }, 2);
	testobs_chain(db, 4, (int[]){ 4, 2, 3 }, 3);
	/* address A: chain X, then chain Y */
	testobs_obs(db, 1, 1, "192.0.2.1", "ok", 1, 2, 100, 200);
	testobs_obs(db, 2, 1, "192.0.2.1", "ok", 3, 4, 300, 400);
	/* address B: chain X twice with the same last_seen: the higher id wins */
	testobs_obs(db, 3, 1, "192.0.2.2", "ok", 1, 2, 100, 400);
	testobs_obs(db, 4, 1, "192.0.2.2", "untrusted", 1, 0, 350, 400);
	/* address C appears much later: A and B are then gone (not seen for a day) */
	testobs_obs(db, 5, 1, "192.0.2.3", "ok", 3, 4, 200000, 300000);
	testobs_obs(db, 6, 1, "192.0.2.4", "ok", 3, 4, 200000,
		    300000 - 86400); /* exactly a day: kept */
	testobs_obs(db, 7, 1, "192.0.2.5", "ok", 3, 4, 200000, 300000 - 86400 - 1); /* gone */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	db_close(db);
	testdb_remove(path, dir);
	return 0;
}

static const struct readiness_address *addr(const struct readiness_observed *o, const char *a)
{
	for (size_t i = 0; i < o->naddrs; i++)
		if (strcmp(o->addrs[i].address, a) == 0)
			return &o->addrs[i];
	fail_msg("address %s missing", a);
	return NULL;
}

static time_t seen(const struct readiness_observed *o, int spki_last_byte)
{
	for (size_t i = 0; i < o->nseen; i++)
		if (o->seen[i].pin[31] == spki_last_byte)
			return o->seen[i].last_seen;
	return -1;
}

static void test_load_endpoint_latest_and_previous(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct readiness_observed o;
	assert_int_equal(readiness_load_endpoint(db, 1, 1000, &o, err, sizeof(err)), 0);
	assert_int_equal(o.naddrs, 2);
	const struct readiness_address *a = addr(&o, "192.0.2.1");
	assert_string_equal(a->outcome, "ok");
	assert_int_equal(a->presented.ncerts, 2);
	assert_int_equal(a->validated.ncerts, 3);
	assert_string_equal(a->presented.certs[0].subject, "CN=c4");
	assert_string_equal(a->validated.certs[2].subject, "CN=c3");
	assert_int_equal(a->validated.certs[2].pin[31], 103);
	assert_true(a->validated.certs[1].is_ca);
	assert_int_equal(a->first_seen, 300);
	assert_int_equal(a->previous.ncerts, 2); /* chain X before */
	assert_string_equal(a->previous.certs[0].subject, "CN=c1");
	const struct readiness_address *b = addr(&o, "192.0.2.2");
	assert_string_equal(b->outcome, "untrusted"); /* tie on last_seen: higher id */
	assert_int_equal(b->validated.ncerts, 0);
	assert_int_equal(b->presented.ncerts, 2);
	assert_int_equal(b->previous.ncerts, 0); /* same chain before: no drift */
	assert_int_equal(o.history_since, 100);
	assert_int_equal(seen(&o, 101), 400); /* leaf X, seen at B until 400 */
	assert_int_equal(seen(&o, 104), 400);
	assert_int_equal(seen(&o, 103), 400);
	readiness_observed_free(&o);
}

static void test_load_endpoint_as_of(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct readiness_observed o;
	assert_int_equal(readiness_load_endpoint(db, 1, 250, &o, err, sizeof(err)), 0);
	assert_int_equal(o.naddrs, 2);
	const struct readiness_address *a = addr(&o, "192.0.2.1");
	assert_string_equal(a->presented.certs[0].subject, "CN=c1");
	assert_int_equal(a->previous.ncerts, 0);
	assert_string_equal(addr(&o, "192.0.2.2")->outcome, "ok");
	assert_int_equal(seen(&o, 104), -1); /* leaf Y not seen yet */
	readiness_observed_free(&o);
	/* before anything: nothing */
	assert_int_equal(readiness_load_endpoint(db, 1, 50, &o, err, sizeof(err)), 0);
	assert_int_equal(o.naddrs, 0);
	assert_int_equal(o.history_since, 0);
	readiness_observed_free(&o);
	/* unknown endpoint: nothing */
	assert_int_equal(readiness_load_endpoint(db, 99, 1000, &o, err, sizeof(err)), 0);
	assert_int_equal(o.naddrs, 0);
	readiness_observed_free(&o);
}

static void test_load_endpoint_drops_gone_addresses(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct readiness_observed o;
	assert_int_equal(readiness_load_endpoint(db, 1, 400000, &o, err, sizeof(err)), 0);
	assert_int_equal(o.naddrs, 2);
	assert_string_equal(o.addrs[0].address, "192.0.2.3");
	assert_string_equal(o.addrs[1].address, "192.0.2.4");
	readiness_observed_free(&o);
}

static void test_load_ca_pool(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct readiness_chain pool;
	assert_int_equal(readiness_load_ca_pool(db, &pool, err, sizeof(err)), 0);
	assert_int_equal(pool.ncerts, 2);
	for (size_t i = 0; i < pool.ncerts; i++)
		assert_true(pool.certs[i].is_ca);
	readiness_chain_free(&pool);
}

static void test_chain_from_pem_bad_input(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct readiness_chain c;
	static const char *const bad[] = {
		"",
		"hello",
		"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"-----BEGIN CERTIFICATE-----\nMIIB",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		assert_int_equal(
			readiness_chain_from_pem(bad[i], strlen(bad[i]), &c, err, sizeof(err)),
			-EINVAL);
		assert_true(err[0] != '\0');
		assert_int_equal(c.ncerts, 0);
	}
}

/* NSC overridePins from an inventory file through the store to a verdict:
 * address 192.0.2.3's validated chain ends at certificate 3, whose SPKI pin
 * the policy of "anchored" names as an override anchor, so that version is
 * not stranded although none of its pins is in the chain; "plain" is. */
static void test_check_db_override_anchor_from_inventory(void **state)
{
	(void)state;
	uint8_t spki3[32] = { 0 };
	char b64[48], doc[2048], err[ERRLEN];
	spki3[31] = 100 + 3;
	util_pin_b64(spki3, b64);
	snprintf(doc, sizeof(doc),
		 "{\"endpoints\":[{\"host\":\"api.example.com\"}],\"apps\":["
		 "{\"name\":\"anchored\",\"platform\":\"android\",\"versions\":[{\"version\":"
		 "\"1.0\",\"adoption\":[{\"at\":\"1970-01-01\",\"share\":1}],\"pin_policies\":"
		 "[{\"pattern\":\"api.example.com\",\"source\":\"nsc\",\"pins\":[{\"sha256\":"
		 "\"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=\"}],\"override_anchors\":"
		 "[\"sha256/%s\"]}]}]},"
		 "{\"name\":\"plain\",\"platform\":\"android\",\"versions\":[{\"version\":"
		 "\"1.0\",\"adoption\":[{\"at\":\"1970-01-01\",\"share\":1}],\"pin_policies\":"
		 "[{\"pattern\":\"api.example.com\",\"source\":\"nsc\",\"pins\":[{\"sha256\":"
		 "\"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=\"}]}]}]}]}",
		 b64);
	struct inventory inv;
	struct inventory_import_stats st;
	assert_int_equal(invfile_parse_text(doc, strlen(doc), &inv, err, sizeof(err)), 0);
	assert_int_equal(inventory_import(db, "cli:test", &inv, false, &st, err, sizeof(err)), 0);
	model_inventory_free(&inv);
	json_t *rep = NULL;
	enum severity worst;
	assert_int_equal(readiness_check_db(db, 300000, &rep, &worst, err, sizeof(err)), 0);
	json_t *ep = json_array_get(json_object_get(rep, "endpoints"), 0), *app;
	size_t i, seen = 0;
	json_array_foreach(json_object_get(ep, "apps"), i, app)
	{
		const char *name = json_string_value(json_object_get(app, "app"));
		double s = json_number_value(
			json_object_get(json_object_get(app, "now"), "stranded_share"));
		if (strcmp(name, "anchored") == 0)
			assert_true(s == 0.0);
		else
			assert_true(s == 1.0);
		seen++;
	}
	assert_int_equal(seen, 2);
	json_decref(rep);
}

/* The history's periods through readiness_history_db: endpoint 2 with one
 * app whose 1.0 (30%) pins leaf X's key until 1970-01-11 and 2.0 (60%) the
 * intermediate. Each row's chain is judged at its last_seen. */
static void test_history_db_per_period(void **state)
{
	(void)state;
	char sql[1536], b64x[48], b64i[48], err[ERRLEN];
	uint8_t spki[32] = { 0 };
	const time_t exp = 10 * 86400; /* 1970-01-11 00:00 UTC */
	spki[31] = 100 + 1;
	util_pin_b64(spki, b64x);
	spki[31] = 100 + 2;
	util_pin_b64(spki, b64i);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO endpoints (id, host, created_at, updated_at) VALUES (2, "
		 "'hist.example.org', 0, 0);"
		 "INSERT INTO apps (id, name, platform, created_at, updated_at) VALUES (50, "
		 "'hist', 'android', 0, 0);"
		 "INSERT INTO versions (id, app_id, version, created_at) VALUES (50, 50, '1.0', 0),"
		 " (51, 50, '2.0', 0);"
		 "INSERT INTO adoption (version_id, at, share) VALUES (50, '1970-01-01', 0.3),"
		 " (51, '1970-01-01', 0.6);"
		 "INSERT INTO pin_policies (id, version_id, pattern, enforce, expires) VALUES"
		 " (50, 50, 'hist.example.org', 1, '1970-01-11'),"
		 " (51, 51, 'hist.example.org', 1, NULL);"
		 "INSERT INTO pins (policy_id, sha256) VALUES (50, '%s'), (51, '%s');"
		 "INSERT INTO observations (id, endpoint_id, address, outcome, first_seen, "
		 "last_seen) VALUES (23, 2, '192.0.2.9', 'timeout', %lld, %lld);",
		 b64x, b64i, (long long)exp - 50, (long long)exp - 40);
	exec(sql);
	const struct {
		int id;
		const char *addr, *outcome;
		int presented, validated;
		time_t first, last;
	} rows[] = {
		{ 20, "192.0.2.9", "ok", 1, 2, 1000, 2000 },	/* chain X: accepted */
		{ 21, "192.0.2.9", "ok", 3, 4, 3000, exp - 1 }, /* Y while 1.0 enforces */
		{ 22, "192.0.2.9", "ok", 3, 4, exp - 20,
		  exp }, /* judged at last_seen: 1.0 expired */
		{ 24, "192.0.2.8", "untrusted", 3, 0, 3000, exp - 1 }, /* presented only */
		{ 25, "192.0.2.7", "ok", 3, 4, 3000, exp - 1 },	       /* same as 21: memoised */
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char v[16] = "NULL";
		if (rows[i].validated)
			snprintf(v, sizeof(v), "%d", rows[i].validated);
		snprintf(sql, sizeof(sql),
			 "INSERT INTO observations (id, endpoint_id, address, outcome, "
			 "presented_chain_id, validated_chain_id, first_seen, last_seen) VALUES "
			 "(%d, 2, '%s', '%s', %d, %s, %lld, %lld)",
			 rows[i].id, rows[i].addr, rows[i].outcome, rows[i].presented, v,
			 (long long)rows[i].first, (long long)rows[i].last);
		exec(sql);
	}
	/* want: null (no chain / not of this endpoint), else stranded share and source */
	const struct {
		int64_t id;
		bool null;
		double stranded;
		const char *source;
		int enforcing;
	} want[] = {
		{ 20, false, 0.0, "validated", 2 },
		{ 21, false, 0.3, "validated", 2 },
		{ 22, false, 0.0, "validated", 1 },
		{ 23, true, 0, NULL, 0 },
		{ 24, false, 0.3, "presented", 2 },
		{ 25, false, 0.3, "validated", 2 },
		{ 1, true, 0, NULL, 0 },   /* a row of endpoint 1 */
		{ 999, true, 0, NULL, 0 }, /* no such row */
	};
	int64_t ids[ARRAY_SIZE(want)];
	json_t *out[ARRAY_SIZE(want)];
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		ids[i] = want[i].id;
	assert_int_equal(readiness_history_db(db, 2, ids, ARRAY_SIZE(want), out, err, sizeof(err)),
			 0);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		if (want[i].null) {
			assert_true(json_is_null(out[i]));
			continue;
		}
		json_t *apps = json_object_get(out[i], "apps");
		assert_int_equal(json_array_size(apps), 1);
		json_t *a = json_array_get(apps, 0);
		assert_string_equal(json_string_value(json_object_get(a, "app")), "hist");
		double s = json_number_value(json_object_get(a, "stranded_share"));
		assert_true(s > want[i].stranded - 1e-9 && s < want[i].stranded + 1e-9);
		assert_int_equal(json_integer_value(json_object_get(a, "enforcing_versions")),
				 want[i].enforcing);
		assert_null(json_object_get(a, "address"));
		assert_true(json_is_boolean(json_object_get(out[i], "stranded")));
		assert_int_equal(json_is_true(json_object_get(out[i], "stranded")),
				 want[i].stranded > 0);
		assert_string_equal(json_string_value(json_object_get(out[i], "chain_source")),
				    want[i].source);
	}
	assert_ptr_equal(out[1], out[5]); /* one evaluation for the same chains and time */
	assert_string_equal(json_string_value(json_object_get(out[2], "evaluated_at")),
			    "1970-01-11T00:00:00Z");
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		json_decref(out[i]);

	/* an endpoint that is not inventoried: every row null */
	assert_int_equal(readiness_history_db(db, 77, ids, 2, out, err, sizeof(err)), 0);
	assert_true(json_is_null(out[0]) && json_is_null(out[1]));
	/* the bound of one page; an empty page */
	int64_t *many = calloc(READINESS_MAX_HISTORY + 1, sizeof(*many));
	json_t **mout = calloc(READINESS_MAX_HISTORY + 1, sizeof(*mout));
	assert_non_null(many);
	assert_non_null(mout);
	assert_int_equal(readiness_history_db(db, 2, many, READINESS_MAX_HISTORY + 1, mout, err,
					      sizeof(err)),
			 -EINVAL);
	assert_null(mout[0]);
	for (size_t i = 0; i < READINESS_MAX_HISTORY; i++)
		many[i] = 20 + (int64_t)(i % 6);
	assert_int_equal(
		readiness_history_db(db, 2, many, READINESS_MAX_HISTORY, mout, err, sizeof(err)),
		0);
	assert_ptr_equal(mout[1], mout[READINESS_MAX_HISTORY - 5]);
	for (size_t i = 0; i < READINESS_MAX_HISTORY; i++)
		json_decref(mout[i]);
	assert_int_equal(readiness_history_db(db, 2, many, 0, mout, err, sizeof(err)), 0);
	free(many);
	free(mout);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_endpoint_latest_and_previous),
		cmocka_unit_test(test_load_endpoint_as_of),
		cmocka_unit_test(test_load_endpoint_drops_gone_addresses),
		cmocka_unit_test(test_load_ca_pool),
		cmocka_unit_test(test_chain_from_pem_bad_input),
		cmocka_unit_test(test_check_db_override_anchor_from_inventory),
		cmocka_unit_test(test_history_db_per_period),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
