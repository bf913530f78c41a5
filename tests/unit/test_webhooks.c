/* unit.webhooks: the webhook tables in the store (store/webhooks.h): which
 * webhooks receive alerts, and queueing a notification in the outbox. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* ---- delivery ------------------------------------------------------------ */

/* Outbox rows for the delivery cases: alert 7 is a warning, 8 critical, 9 info. */
static int setup_outbox(void **state)
{
	char err[ERRLEN];
	if (setup(state))
		return -1;
	struct testdb *t = *state;
	if (db_exec(t->db,
		    "UPDATE webhooks SET secret = 's3' WHERE id = 1;"
		    "INSERT INTO alerts (id, fingerprint, kind, severity, status, summary, "
		    "starts_at,"
		    " updated_at) VALUES (8, 'fp8', 'probe_failing', 'critical', 'firing', 's', 1, "
		    "1),"
		    " (9, 'fp9', 'probe_failing', 'info', 'firing', 's', 1, 1);"
		    "INSERT INTO webhook_outbox (id, webhook_id, alert_id, idempotency_key, body,"
		    " state, attempts, next_attempt_at, created_at) VALUES"
		    /* webhook 1: a warning, then two rows of a critical alert */
		    " (10, 1, 7, 'k10', 'b10', 'pending', 0, 100, 50),"
		    " (11, 1, 8, 'k11', 'b11', 'pending', 2, 100, 60),"
		    " (12, 1, 8, 'k12', 'b12', 'pending', 0, 100, 70),"
		    /* webhook 3: its head (info, oldest) waits until 200 */
		    " (20, 3, 9, 'k20', 'b20', 'pending', 1, 200, 55),"
		    " (21, 3, 9, 'k21', 'b21', 'pending', 0, 100, 65),"
		    /* webhook 2 is disabled; row 31 gave up */
		    " (30, 2, 8, 'k30', 'b30', 'pending', 0, 100, 40),"
		    " (31, 1, 8, 'k31', 'b31', 'given_up', 5, 100, 10)",
		    err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

/* The head row of each enabled webhook, when due: most severe first, never
 * overtaking an older row of the same alert, nothing behind a head not due. */
static void test_webhooks_outbox_due_heads(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	static const struct {
		time_t now;
		size_t max;
		size_t n;
		int64_t ids[2];
	} cases[] = {
		{ 99, 10, 0, { 0 } },	    /* nothing due yet */
		{ 100, 10, 1, { 11 } },	    /* due at 100 (boundary); 20 holds webhook 3 */
		{ 199, 10, 1, { 11 } },	    /* one second before webhook 3's head */
		{ 200, 10, 2, { 11, 20 } }, /* both heads, in outbox id order */
		{ 200, 1, 1, { 11 } },	    /* capped */
		{ 200, 0, 0, { 0 } },	    /* max 0: none */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct webhooks_due *d = NULL;
		size_t n = 99;
		assert_int_equal(webhooks_outbox_due(t->db, cases[i].now, cases[i].max, &d, &n, err,
						     sizeof(err)),
				 0);
		assert_int_equal(n, cases[i].n);
		if (n == 0)
			assert_null(d);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(d[k].id, cases[i].ids[k]);
		if (n) {
			assert_int_equal(d[0].webhook_id, 1);
			assert_int_equal(d[0].attempts, 2);
			assert_int_equal(d[0].next_attempt_at, 100);
			assert_int_equal(d[0].created_at, 60);
			assert_string_equal(d[0].key, "k11");
			assert_string_equal(d[0].body, "b11");
			assert_string_equal(d[0].url, "https://b.test/h");
			assert_string_equal(d[0].secret, "s3");
		}
		if (n > 1) {
			assert_int_equal(d[1].webhook_id, 3);
			assert_null(d[1].secret);
		}
		webhooks_due_free(d, n);
	}
	/* Once the critical alert's rows are gone, the warning is the head. */
	assert_int_equal(
		db_exec(t->db, "DELETE FROM webhook_outbox WHERE alert_id = 8", err, sizeof(err)),
		0);
	struct webhooks_due *d = NULL;
	size_t n = 0;
	assert_int_equal(webhooks_outbox_due(t->db, 100, 10, &d, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].id, 10);
	webhooks_due_free(d, n);
}

static void test_webhooks_outbox_due_read_error(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN] = "";
	struct webhooks_due *d = (struct webhooks_due *)1;
	size_t n = 7;
	assert_int_equal(
		db_exec(t->db, "ALTER TABLE webhooks RENAME TO webhooks_gone", err, sizeof(err)),
		0);
	assert_true(webhooks_outbox_due(t->db, 200, 10, &d, &n, err, sizeof(err)) < 0);
	assert_null(d);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err, "webhooks"));
}

static void test_webhooks_outbox_give_up_old(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	int n = -1;
	assert_int_equal(db_exec(t->db,
				 "UPDATE webhook_outbox SET last_error = 'HTTP 500' WHERE id = 10",
				 err, sizeof(err)),
			 0);
	/* give up after 50 s at 100: created at <= 50 (rows 10 and 30; 31 is given up) */
	static const struct {
		time_t now;
		int n;
		long long given_up;
	} cases[] = {
		{ 89, 0, 1 },  /* created at 40 is 49 s old: kept */
		{ 90, 1, 2 },  /* row 30 exactly 50 s old */
		{ 100, 1, 3 }, /* row 10 */
		{ 100, 0, 3 }, /* nothing left to give up */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(
			webhooks_outbox_give_up_old(t->db, cases[i].now, 50, &n, err, sizeof(err)),
			0);
		assert_int_equal(n, cases[i].n);
		assert_int_equal(testdb_int(t, "SELECT count(*) FROM webhook_outbox"
					       " WHERE state = 'given_up'"),
				 cases[i].given_up);
	}
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM webhook_outbox WHERE id = 30 AND"
				       " last_error = 'gave up after 50s: never delivered'"),
			 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM webhook_outbox WHERE id = 10 AND"
				       " last_error = 'gave up after 50s: HTTP 500'"),
			 1);
	assert_int_equal(webhooks_outbox_give_up_old(t->db, 1000, 50, NULL, err, sizeof(err)), 0);
}

static void test_webhooks_outbox_delivered_and_failed(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	assert_int_equal(webhooks_outbox_delivered(t->db, 10, err, sizeof(err)), 0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM webhook_outbox WHERE id = 10"), 0);
	assert_int_equal(webhooks_outbox_delivered(t->db, 999, err, sizeof(err)), 0);

	static const struct {
		struct webhooks_attempt a;
		const char *want; /* the row afterwards */
	} cases[] = {
		{ { .id = 11,
		    .attempts = 3,
		    .status = 503,
		    .error = "HTTP 503",
		    .next_attempt_at = 160 },
		  "SELECT count(*) FROM webhook_outbox WHERE id = 11 AND attempts = 3 AND"
		  " last_status = 503 AND last_error = 'HTTP 503' AND state = 'pending' AND"
		  " next_attempt_at = 160" },
		{ { .id = 12,
		    .attempts = 1,
		    .status = 0,
		    .error = "timeout",
		    .given_up = true,
		    .next_attempt_at = 100 },
		  "SELECT count(*) FROM webhook_outbox WHERE id = 12 AND attempts = 1 AND"
		  " last_status IS NULL AND last_error = 'timeout' AND state = 'given_up' AND"
		  " next_attempt_at = 100" },
		/* a row given up meanwhile is left alone */
		{ { .id = 31,
		    .attempts = 6,
		    .status = 500,
		    .error = "HTTP 500",
		    .next_attempt_at = 1 },
		  "SELECT count(*) FROM webhook_outbox WHERE id = 31 AND attempts = 5 AND"
		  " last_status IS NULL AND state = 'given_up' AND next_attempt_at = 100" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(webhooks_outbox_failed(t->db, &cases[i].a, err, sizeof(err)), 0);
		assert_int_equal(count(t, cases[i].want), 1);
	}
}

/* A busy database is an error the caller sees (-EBUSY), never a silent no-op. */
static void test_webhooks_outbox_writes_busy(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	sqlite3 *other = NULL;
	assert_int_equal(sqlite3_open(t->path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(db_exec(t->db, "PRAGMA busy_timeout = 0", err, sizeof(err)), 0);
	int n = 0;
	err[0] = '\0';
	assert_int_equal(webhooks_outbox_give_up_old(t->db, 100, 50, &n, err, sizeof(err)), -EBUSY);
	assert_true(err[0] != '\0');
	assert_int_equal(webhooks_outbox_delivered(t->db, 10, err, sizeof(err)), -EBUSY);
	struct webhooks_attempt a = { .id = 11, .attempts = 1, .error = "x" };
	assert_int_equal(webhooks_outbox_failed(t->db, &a, err, sizeof(err)), -EBUSY);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	assert_int_equal(webhooks_outbox_delivered(t->db, 10, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_webhooks_enabled_in_id_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_webhooks_enqueue_once_per_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_webhooks_enqueue_unknown_webhook_fails, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_webhooks_outbox_due_heads, setup_outbox,
						teardown),
		cmocka_unit_test_setup_teardown(test_webhooks_outbox_due_read_error, setup_outbox,
						teardown),
		cmocka_unit_test_setup_teardown(test_webhooks_outbox_give_up_old, setup_outbox,
						teardown),
		cmocka_unit_test_setup_teardown(test_webhooks_outbox_delivered_and_failed,
						setup_outbox, teardown),
		cmocka_unit_test_setup_teardown(test_webhooks_outbox_writes_busy, setup_outbox,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
