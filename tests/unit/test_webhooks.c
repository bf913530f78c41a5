/* unit.webhooks: the webhook tables in the store (store/webhooks.h): which
 * webhooks receive alerts, and queueing a notification in the outbox. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store/webhooks.h"
#include "testdb.h"

static int setup(void **state)
{
	char err[ERRLEN];
	struct testdb *t = testdb_new();
	if (!t || db_exec(t->db,
			  "INSERT INTO webhooks (id, url, format, min_severity, enabled, "
			  "created_at) VALUES"
			  " (3, 'https://a.test/h', 'slack', 'critical', 1, 1),"
			  " (1, 'https://b.test/h', 'generic', 'info', 1, 1),"
			  " (2, 'https://c.test/h', 'generic', 'warning', 0, 1);"
			  "INSERT INTO alerts (id, fingerprint, kind, severity, status, summary, "
			  "starts_at,"
			  " updated_at) VALUES (7, 'fp', 'probe_failing', 'warning', 'firing', "
			  "'s', 1, 1)",
			  err, sizeof(err)))
		return -1;
	*state = t;
	return 0;
}

/* One integer from @sql (not a literal, so not through db_stmt's cache). */
static long long count(struct testdb *t, const char *sql)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db_handle(t->db), sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db_handle(t->db)));
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	long long v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int teardown(void **state)
{
	testdb_free(*state);
	return 0;
}

static void test_webhooks_enabled_in_id_order(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	struct webhooks_target *v = NULL;
	size_t n = 0;
	assert_int_equal(webhooks_enabled(t->db, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2); /* #2 is disabled */
	assert_int_equal(v[0].id, 1);
	assert_string_equal(v[0].format, "generic");
	assert_string_equal(v[0].min_severity, "info");
	assert_int_equal(v[1].id, 3);
	assert_string_equal(v[1].format, "slack");
	assert_string_equal(v[1].min_severity, "critical");
	free(v);
	/* none enabled: an empty answer */
	assert_int_equal(db_exec(t->db, "UPDATE webhooks SET enabled = 0", err, sizeof(err)), 0);
	assert_int_equal(webhooks_enabled(t->db, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_null(v);
}

/* One row per (webhook, key): queueing the same key again makes the row
 * pending with the new body and no attempts. */
static void test_webhooks_enqueue_once_per_key(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	static const struct {
		int64_t hook;
		const char *key, *body;
		long long rows, attempts;
	} steps[] = {
		{ 1, "fp:firing:1", "{\"a\":1}", 1, 0 },
		{ 1, "fp:firing:1", "{\"a\":2}", 1, 0 }, /* requeued, not duplicated */
		{ 3, "fp:firing:1", "{\"a\":3}", 2, 0 }, /* another webhook */
		{ 1, "fp:resolved:1", "{\"a\":4}", 3, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		/* a delivery that gave up, to be reset by the requeue */
		assert_int_equal(
			db_exec(t->db,
				"UPDATE webhook_outbox SET state = 'given_up', attempts = 9,"
				" last_status = 500, last_error = 'x'",
				err, sizeof(err)),
			0);
		assert_int_equal(webhooks_enqueue(t->db, steps[i].hook, 7, steps[i].key,
						  steps[i].body, 1000 + (time_t)i, err,
						  sizeof(err)),
				 0);
		assert_int_equal(testdb_int(t, "SELECT count(*) FROM webhook_outbox"),
				 steps[i].rows);
		char sql[512];
		int len = snprintf(
			sql, sizeof(sql),
			"SELECT count(*) FROM webhook_outbox WHERE webhook_id = %lld AND "
			"idempotency_key = '%s' AND body = '%s' AND state = 'pending' AND attempts "
			"= 0 AND next_attempt_at = %lld AND created_at = %lld AND alert_id = 7 AND "
			"last_status IS NULL AND last_error IS NULL",
			(long long)steps[i].hook, steps[i].key, steps[i].body, 1000 + (long long)i,
			1000 + (long long)i);
		assert_true(len > 0 && (size_t)len < sizeof(sql));
		assert_int_equal(count(t, sql), 1);
	}
}

static void test_webhooks_enqueue_unknown_webhook_fails(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN] = "";
	long long before = testdb_int(t, "SELECT count(*) FROM webhook_outbox");
	assert_int_equal(webhooks_enqueue(t->db, 99, 7, "k", "{}", 1, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "queueing notification"));
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM webhook_outbox"), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_webhooks_enabled_in_id_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_webhooks_enqueue_once_per_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_webhooks_enqueue_unknown_webhook_fails, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
