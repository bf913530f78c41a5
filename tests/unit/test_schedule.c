/* unit.schedule: the scheduler's store (store/schedule.h): the endpoints it
 * reads, the batches its writer commits (one transaction, rolled back
 * whole), the trust store row, sweeps rows and the read-only write test. */
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

#include "store/db.h"
#include "store/schedule.h"
#include "base/util.h"
#include "testdb.h"

static char dir[64], path[128];
static struct db *db;

static void exec(const char *sql)
{
	char err[ERRLEN];
	if (db_exec(db, sql, err, sizeof(err)) != 0)
		fail_msg("%s: %s", sql, err);
}

static int64_t count(const char *sql)
{
	int64_t v = -1;
	if (db_query_int(db, sql, &v) != 0)
		fail_msg("%s: %s", sql, db_errmsg(db));
	return v;
}

static int setup(void **state)
{
	(void)state;
	char err[ERRLEN];
	if (testdb_mkdir("sched", dir, sizeof(dir), path, sizeof(path)))
		return -1;
	return (db = db_open(path, 0, err, sizeof(err))) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	db_close(db);
	testdb_remove(path, dir);
	return 0;
}

/* Each test starts from three endpoints: 1 a.test (sni, probe times,
 * discovered), 2 b.test (nothing stored yet), 3 c.test disabled. */
static int fresh(void **state)
{
	(void)state;
	exec("DELETE FROM sweeps; DELETE FROM probe_trust; DELETE FROM variant_observations;"
	     "DELETE FROM observations; DELETE FROM endpoints;"
	     "INSERT INTO endpoints (id, host, port, sni, interval_s, created_at, updated_at,"
	     " last_probe_at, next_probe_at, discovered_at)"
	     " VALUES (1, 'a.test', 8443, 'sni.a.test', 60, 1, 1, 1000, 1060, 900);"
	     "INSERT INTO endpoints (id, host, port, interval_s, created_at, updated_at)"
	     " VALUES (2, 'b.test', 443, 10, 1, 1);"
	     "INSERT INTO endpoints (id, host, port, enabled, created_at, updated_at)"
	     " VALUES (3, 'c.test', 443, 0, 1, 1);");
	return 0;
}

struct walk {
	struct schedule_endpoint e[4];
	char host[4][64], sni[4][64];
	size_t n, stop_at;
};

static int collect(void *ud, const struct schedule_endpoint *e, char *err, size_t errlen)
{
	struct walk *w = ud;
	if (w->n == w->stop_at)
		return util_err(err, errlen, -ENOMEM, "stopped at %zu", w->n);
	assert_true(w->n < 4);
	w->e[w->n] = *e;
	snprintf(w->host[w->n], sizeof(w->host[0]), "%s", e->host);
	snprintf(w->sni[w->n], sizeof(w->sni[0]), "%s", e->sni);
	w->n++;
	return 0;
}

static void test_schedule_endpoints_enabled_in_id_order(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct walk w = { .stop_at = 99 };
	assert_int_equal(schedule_endpoints(db, collect, &w, err, sizeof(err)), 0);
	assert_int_equal(w.n, 2); /* c.test is disabled */
	assert_int_equal(w.e[0].id, 1);
	assert_string_equal(w.host[0], "a.test");
	assert_string_equal(w.sni[0], "sni.a.test");
	assert_int_equal(w.e[0].port, 8443);
	assert_int_equal(w.e[0].interval_s, 60);
	assert_true(w.e[0].has_last_probe && w.e[0].last_probe_at == 1000);
	assert_true(w.e[0].has_next_probe && w.e[0].next_probe_at == 1060);
	assert_true(w.e[0].has_discovered && w.e[0].discovered_at == 900);
	assert_int_equal(w.e[1].id, 2);
	assert_string_equal(w.sni[1], "b.test"); /* no SNI: the host */
	assert_int_equal(w.e[1].interval_s, 10);
	assert_false(w.e[1].has_last_probe);
	assert_false(w.e[1].has_next_probe);
	assert_false(w.e[1].has_discovered);
}

static void test_schedule_endpoints_callback_stops(void **state)
{
	(void)state;
	char err[ERRLEN] = "";
	struct walk w = { .stop_at = 1 };
	assert_int_equal(schedule_endpoints(db, collect, &w, err, sizeof(err)), -ENOMEM);
	assert_string_equal(err, "stopped at 1");
	assert_int_equal(w.n, 1);
	/* The statement was reset: a writer can take the database. */
	exec("UPDATE endpoints SET interval_s = 20 WHERE id = 2");
	w = (struct walk){ .stop_at = 99 };
	assert_int_equal(schedule_endpoints(db, collect, &w, err, sizeof(err)), 0);
	assert_int_equal(w.e[1].interval_s, 20);
	/* An empty inventory is no error. */
	exec("DELETE FROM endpoints");
	w = (struct walk){ .stop_at = 0 };
	assert_int_equal(schedule_endpoints(db, collect, &w, err, sizeof(err)), 0);
}

static void result(struct probe_result *r, const char *addr, const char *outcome, time_t at)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->address, sizeof(r->address), "%s", addr);
	snprintf(r->outcome, sizeof(r->outcome), "%s", outcome);
	r->at = at;
}

static void test_schedule_commit_results_and_times(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct probe_result a, b, gone;
	result(&a, "192.0.2.1", "timeout", 2000);
	result(&b, "192.0.2.2", "refused", 2000);
	result(&gone, "192.0.2.9", "timeout", 2000);
	struct schedule_write w[] = {
		{ .endpoint_id = 1, .r = &a, .rediscover = true },
		{ .endpoint_id = 1, .r = &b },
		{ .endpoint_id = 99, .r = &gone }, /* deleted meanwhile: skipped */
		{ .endpoint_id = 1, .last_probe_at = 2000, .next_probe_at = 2060 },
		{ .endpoint_id = 2,
		  .last_probe_at = 2000,
		  .next_probe_at = 2010,
		  .discovered_at = 2000 },
	};
	struct schedule_status st;
	assert_int_equal(schedule_commit(db, w, 5, &st, err, sizeof(err)), 0);
	assert_int_equal(st.opened, 2);
	assert_false(st.readonly);
	assert_true(w[0].rediscovered); /* a new row: discovery due again */
	assert_false(w[1].rediscovered);
	assert_int_equal(count("SELECT count(*) FROM observations"), 2);
	assert_int_equal(count("SELECT discovered_at IS NULL FROM endpoints WHERE id = 1"), 1);
	assert_int_equal(count("SELECT next_probe_at FROM endpoints WHERE id = 1"), 2060);
	assert_int_equal(count("SELECT discovered_at FROM endpoints WHERE id = 2"), 2000);
	assert_int_equal(count("SELECT discovered_at IS NULL FROM endpoints WHERE id = 3"), 1);

	/* The same results again extend the rows: nothing opened, nothing rediscovered. */
	exec("UPDATE endpoints SET discovered_at = 900 WHERE id = 1");
	a.at = b.at = 2060;
	assert_int_equal(schedule_commit(db, w, 2, &st, err, sizeof(err)), 0);
	assert_int_equal(st.opened, 0);
	assert_false(w[0].rediscovered);
	assert_int_equal(count("SELECT discovered_at FROM endpoints WHERE id = 1"), 900);
	assert_int_equal(count("SELECT sum(probe_count) FROM observations"), 4);

	/* An empty batch is one empty transaction. */
	assert_int_equal(schedule_commit(db, w, 0, &st, err, sizeof(err)), 0);
	assert_int_equal(st.opened, 0);
}

/* A discovering round records the normal result for its key's variant too;
 * discovery results themselves are not counted as opened observation rows. */
static void test_schedule_commit_variants(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct probe_result n, d;
	result(&n, "192.0.2.1", "timeout", 2000);
	result(&d, "192.0.2.1", "timeout", 2000);
	d.variant = PROBE_VARIANT_RSA;
	struct schedule_write w[] = {
		{ .endpoint_id = 2, .r = &n, .also_as = PROBE_VARIANT_ECDSA },
		{ .endpoint_id = 2, .r = &d, .rediscover = true },
	};
	struct schedule_status st;
	assert_int_equal(schedule_commit(db, w, 2, &st, err, sizeof(err)), 0);
	assert_int_equal(st.opened, 1);
	assert_int_equal(count("SELECT count(*) FROM observations"), 1);
	assert_int_equal(count("SELECT count(*) FROM variant_observations"), 2);
	assert_int_equal(count("SELECT count(*) FROM variant_observations WHERE variant IN "
			       "('ecdsa', 'rsa')"),
			 2);
	assert_true(w[1].rediscovered); /* a new variant row with rediscover set */
}

/* One failing write rolls the whole batch back and says why. */
static void test_schedule_commit_rolls_back(void **state)
{
	(void)state;
	char err[ERRLEN] = "";
	exec("CREATE TEMP TRIGGER refuse BEFORE INSERT ON observations"
	     " WHEN NEW.address = '192.0.2.66' BEGIN SELECT RAISE(ABORT, 'refused by test'); END");
	struct probe_result a, bad;
	result(&a, "192.0.2.1", "ok", 2000);
	result(&bad, "192.0.2.66", "ok", 2000);
	struct schedule_write w[] = {
		{ .endpoint_id = 1, .last_probe_at = 2000, .next_probe_at = 2060 },
		{ .endpoint_id = 1, .r = &a },
		{ .endpoint_id = 1, .r = &bad },
	};
	struct schedule_status st;
	int rc = schedule_commit(db, w, 3, &st, err, sizeof(err));
	exec("DROP TRIGGER refuse");
	assert_int_equal(rc, -EIO);
	assert_non_null(strstr(err, "refused by test"));
	assert_false(st.readonly);
	assert_int_equal(st.opened, 0);
	assert_int_equal(count("SELECT count(*) FROM observations"), 0);
	assert_int_equal(count("SELECT next_probe_at FROM endpoints WHERE id = 1"), 1060);
	/* and the connection is usable again */
	assert_int_equal(schedule_commit(db, w, 2, &st, err, sizeof(err)), 0);
	assert_int_equal(st.opened, 1);
}

/* On a read-only connection every write fails, flagged as read-only. */
static void test_schedule_readonly(void **state)
{
	(void)state;
	char err[ERRLEN] = "";
	struct db *ro = db_open(path, DB_READONLY, err, sizeof(err));
	assert_non_null(ro);
	struct probe_result a;
	result(&a, "192.0.2.1", "ok", 2000);
	struct schedule_write w[] = { { .endpoint_id = 1, .r = &a } };
	struct schedule_status st;
	assert_true(schedule_commit(ro, w, 1, &st, err, sizeof(err)) < 0);
	assert_true(st.readonly);
	assert_true(schedule_try_write(ro) < 0);
	uint8_t tid[32] = { 1 };
	assert_true(schedule_trust(ro, tid, 2000, err, sizeof(err)) < 0);
	int64_t id = 0;
	assert_true(schedule_sweep_begin(ro, 2000, &id, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "recording the sweep: "));
	db_close(ro);
	/* The writer connection can. */
	assert_int_equal(schedule_try_write(db), 0);
	assert_int_equal(count("PRAGMA user_version"), db_schema_version());
}

static void test_schedule_trust_and_sweeps(void **state)
{
	(void)state;
	char err[ERRLEN];
	uint8_t t1[32] = { 1 }, t2[32] = { 2 };
	assert_int_equal(schedule_trust(db, t1, 1000, err, sizeof(err)), 0);
	assert_int_equal(schedule_trust(db, t1, 2000, err, sizeof(err)), 0); /* same: kept */
	assert_int_equal(count("SELECT since FROM probe_trust"), 1000);
	assert_int_equal(schedule_trust(db, t2, 3000, err, sizeof(err)), 0); /* new store */
	assert_int_equal(count("SELECT since FROM probe_trust"), 3000);

	int64_t id = 0;
	assert_int_equal(schedule_sweep_begin(db, 5000, &id, err, sizeof(err)), 0);
	assert_true(id > 0);
	assert_int_equal(count("SELECT count(*) FROM sweeps WHERE finished_at IS NULL"), 1);
	assert_int_equal(schedule_sweep_end(db, id, 5010, 7, 3, err, sizeof(err)), 0);
	assert_int_equal(count("SELECT finished_at * 100 + probes * 10 + failures FROM sweeps"),
			 501073);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_schedule_endpoints_enabled_in_id_order, fresh),
		cmocka_unit_test_setup(test_schedule_endpoints_callback_stops, fresh),
		cmocka_unit_test_setup(test_schedule_commit_results_and_times, fresh),
		cmocka_unit_test_setup(test_schedule_commit_variants, fresh),
		cmocka_unit_test_setup(test_schedule_commit_rolls_back, fresh),
		cmocka_unit_test_setup(test_schedule_readonly, fresh),
		cmocka_unit_test_setup(test_schedule_trust_and_sweeps, fresh),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
