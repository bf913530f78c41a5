/* A parameter that SQLite refuses to bind is an error the store reports, not
 * a silently NULL column (issue 17 item 6): with the connection's
 * SQLITE_LIMIT_LENGTH lowered, binding a longer text fails with
 * SQLITE_TOOBIG, and each store function below must fail with -E2BIG or
 * -EIO and a message, and write nothing. The same calls succeed once the
 * limit is back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/alertlog.h"
#include "store/apps.h"
#include "store/audit.h"
#include "store/webhooks.h"
#include "testdb.h"

#define LIMIT 200 /* bytes: above every short value, below the long one */

static int setup(void **state)
{
	*state = testdb_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	testdb_free(*state);
	return 0;
}

static char long_text[LIMIT + 100];

static void fill_long_text(void)
{
	memset(long_text, 'a', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
}

/* The store functions under test, each writing @text where a long value goes. */
static int call_audit_append(struct db *db, const char *text, char *err, size_t errlen)
{
	json_t *after = json_pack("{s:s}", "note", text);
	int rc = db_begin(db);
	if (!rc)
		rc = audit_append(db, "test", "create", "thing", "1", NULL, after, err, errlen);
	if (!rc)
		rc = db_commit(db);
	db_rollback(db);
	json_decref(after);
	return rc;
}

static int call_apps_create(struct db *db, const char *text, char *err, size_t errlen)
{
	char name[] = "app", bundle[LIMIT + 100]; /* a valid bundle ID is up to 256 bytes */
	snprintf(bundle, sizeof(bundle), "%.*s", 250, text);
	struct app a = { .name = name,
			 .platform = PLATFORM_ANDROID,
			 .bundle_id = bundle,
			 .adoption_threshold = 0.9,
			 .failure_mode = FAIL_TERMINATE };
	return apps_create(db, "test", &a, err, errlen);
}

static int call_alertlog_open(struct db *db, const char *text, char *err, size_t errlen)
{
	int64_t id = 0;
	return alertlog_open(db, "fp", "expiry", 0, 0, "warning", text, NULL, 1000, &id, err,
			     errlen);
}

static int call_webhooks_enqueue(struct db *db, const char *text, char *err, size_t errlen)
{
	return webhooks_enqueue(db, 1, 1, "key-1", text, 1000, err, errlen);
}

static const struct {
	const char *name;
	int (*call)(struct db *db, const char *text, char *err, size_t errlen);
	const char *count_sql; /* rows written */
	bool ok_after;	       /* succeeds with the limit back (needs no other rows) */
} cases[] = {
	{ "audit_append", call_audit_append, "SELECT count(*) FROM audit_log", true },
	{ "apps_create", call_apps_create, "SELECT count(*) FROM apps", true },
	{ "alertlog_open", call_alertlog_open, "SELECT count(*) FROM alerts", true },
	{ "webhooks_enqueue", call_webhooks_enqueue, "SELECT count(*) FROM webhook_outbox", false },
};

static void test_store_bind_too_long_is_an_error(void **state)
{
	struct testdb *t = *state;
	sqlite3 *h = db_handle(t->db);
	fill_long_text();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[ERRLEN] = "";
		long long before = testdb_int(t, cases[i].count_sql);
		assert_true(before >= 0);
		int old = sqlite3_limit(h, SQLITE_LIMIT_LENGTH, LIMIT);
		int rc = cases[i].call(t->db, long_text, err, sizeof(err));
		sqlite3_limit(h, SQLITE_LIMIT_LENGTH, old);
		if (rc != -E2BIG && rc != -EIO)
			fail_msg("%s: rc %d (%s), want -E2BIG or -EIO", cases[i].name, rc, err);
		assert_true(err[0] != '\0');
		assert_int_equal(testdb_int(t, cases[i].count_sql), before);
		if (cases[i].ok_after) {
			rc = cases[i].call(t->db, long_text, err, sizeof(err));
			if (rc)
				fail_msg("%s: without the limit: %s", cases[i].name, err);
			assert_int_equal(testdb_int(t, cases[i].count_sql), before + 1);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_bind_too_long_is_an_error, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
