/* unit.alertlog: the alerts table in the store (store/alertlog.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store/alertlog.h"
#include "testdb.h"

static int setup(void **state)
{
	struct testdb *t = testdb_new();
	char err[ERRLEN];
	if (!t || db_exec(t->db,
			  "INSERT INTO endpoints (id, host, port, created_at, updated_at)"
			  " VALUES (5, 'a.test', 443, 1, 1)",
			  err, sizeof(err)))
		return -1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	testdb_free(*state);
	return 0;
}

/* Open, update, mark sent and resolve: what alertlog_firing reads back. */
static void test_alertlog_episode_round_trip(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	int64_t id = 0, id2 = 0;
	assert_int_equal(alertlog_open(t->db, "fp-1", "probe_failing", 5, 0, "warning", "down",
				       "{\"a\":1}", 100, &id, err, sizeof(err)),
			 0);
	assert_int_equal(alertlog_open(t->db, "fp-2", "chain_changed", 0, 0, "info", "new chain",
				       NULL, 110, &id2, err, sizeof(err)),
			 0);
	assert_true(id > 0 && id2 > id);
	assert_int_equal(alertlog_update(t->db, id, "critical", "still down", "{\"a\":2}", 120, err,
					 sizeof(err)),
			 0);
	assert_int_equal(alertlog_sent(t->db, id, 130, err, sizeof(err)), 0);
	struct alertlog_row *rows = NULL;
	size_t n = 0;
	assert_int_equal(alertlog_firing(t->db, 100, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	struct alertlog_row *r = rows[0].id == id ? &rows[0] : &rows[1];
	assert_string_equal(r->fingerprint, "fp-1");
	assert_string_equal(r->kind, "probe_failing");
	assert_string_equal(r->severity, "critical");
	assert_int_equal(r->endpoint_id, 5);
	assert_int_equal(r->starts_at, 100);
	assert_int_equal(r->last_sent_at, 130);
	assert_string_equal(r->summary, "still down");
	assert_string_equal(r->details, "{\"a\":2}");
	r = rows[0].id == id ? &rows[1] : &rows[0];
	assert_int_equal(r->endpoint_id, 0);
	assert_int_equal(r->last_sent_at, 0);
	assert_null(r->details);
	alertlog_rows_free(rows, n);
	assert_int_equal(alertlog_resolve(t->db, id, 140, 140, err, sizeof(err)), 0);
	assert_int_equal(alertlog_firing(t->db, 100, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, id2);
	alertlog_rows_free(rows, n);
	assert_int_equal(testdb_int(t, "SELECT ends_at FROM alerts WHERE status = 'resolved'"),
			 140);
}

/* A silence covers its fingerprint, or every alert of its endpoint, until it ends. */
static void test_alertlog_silenced_table(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	assert_int_equal(
		db_exec(t->db,
			"INSERT INTO silences (fingerprint, endpoint_id, until, reason, created_by,"
			" created_at) VALUES ('fp-s', NULL, 200, 'r', 'a', 1),"
			" (NULL, 5, 300, 'r', 'a', 1)",
			err, sizeof(err)),
		0);
	static const struct {
		time_t now;
		const char *fp;
		int64_t ep;
		bool want;
	} cases[] = {
		{ 100, "fp-s", 0, true },   { 199, "fp-s", 0, true },  { 200, "fp-s", 0, false },
		{ 100, "other", 0, false }, { 299, "other", 5, true }, { 300, "other", 5, false },
		{ 100, "other", 6, false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool got = !cases[i].want;
		assert_int_equal(alertlog_silenced(t->db, cases[i].now, cases[i].fp, cases[i].ep,
						   &got, err, sizeof(err)),
				 0);
		if (got != cases[i].want)
			fail_msg("case %zu: silenced %d, want %d", i, got, cases[i].want);
	}
}

/* At most @max rows (the array grows 64, 128, ...): one more is -E2BIG. */
static void test_alertlog_firing_cap(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN], fp[32];
	for (int i = 0; i < 65; i++) {
		int64_t id;
		snprintf(fp, sizeof(fp), "fp-%d", i);
		assert_int_equal(alertlog_open(t->db, fp, "probe_failing", 0, 0, "warning", "s",
					       NULL, 1, &id, err, sizeof(err)),
				 0);
		struct alertlog_row *rows = (struct alertlog_row *)&rows;
		size_t n = 99;
		int rc = alertlog_firing(t->db, 64, &rows, &n, err, sizeof(err));
		if (i < 64) {
			assert_int_equal(rc, 0);
			assert_int_equal(n, (size_t)i + 1);
			alertlog_rows_free(rows, n);
		} else {
			assert_int_equal(rc, -E2BIG);
			assert_null(rows);
			assert_int_equal(n, 0);
			assert_string_equal(err, "too many firing alerts");
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_alertlog_episode_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alertlog_silenced_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alertlog_firing_cap, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
