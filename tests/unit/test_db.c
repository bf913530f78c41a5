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
#include <sqlite3.h>

#include "store/db.h"
#include "base/util.h"
#include "testdb.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	if (testdb_mkdir("db", dir, sizeof(dir), path, sizeof(path)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	testdb_remove(path, dir);
	return 0;
}

static void test_db_open_applies_schema_and_pragmas(void **state)
{
	(void)state;
	char err[ERRLEN];
	int64_t v;
	struct db *db = db_open(path, 0, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_query_int(db, "PRAGMA user_version", &v), 0);
	assert_int_equal(v, db_schema_version());
	assert_int_equal(db_query_int(db, "PRAGMA foreign_keys", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(db_query_int(db, "PRAGMA synchronous", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(
		db_query_int(db,
			     "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN "
			     "('endpoints','apps','versions','adoption','pin_policies','pins',"
			     "'certificates','chains','observations','audit_log','tokens',"
			     "'alerts','webhook_outbox')",
			     &v),
		0);
	assert_int_equal(v, 13);
	db_close(db);
	/* Reopen: migrations are not applied twice. */
	db = db_open(path, 0, err, sizeof(err));
	assert_non_null(db);
	db_close(db);
	db = db_open(path, DB_READONLY, err, sizeof(err));
	assert_non_null(db);
	db_close(db);
}

static void test_db_constraints_enforced(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct db *db = db_open(path, 0, err, sizeof(err));
	assert_non_null(db);
	static const struct {
		const char *sql;
		int ok;
	} cases[] = {
		{ "INSERT INTO apps(name, platform, created_at, updated_at) VALUES ('a', "
		  "'android', 0, 0)",
		  1 },
		{ "INSERT INTO apps(name, platform, created_at, updated_at) VALUES ('b', "
		  "'symbian', 0, 0)",
		  0 },
		{ "INSERT INTO apps(name, platform, adoption_threshold, created_at, updated_at) "
		  "VALUES ('c', 'ios', 1.5, 0, 0)",
		  0 },
		{ "INSERT INTO apps(name, platform, failure_mode, created_at, updated_at) VALUES "
		  "('d', 'ios', 'explode', 0, 0)",
		  0 },
		{ "INSERT INTO versions(app_id, version, created_at) VALUES (999, '1.0', 0)", 0 },
		{ "INSERT INTO versions(app_id, version, released, created_at) VALUES (1, '1.0', "
		  "'2026-02-30', 0)",
		  0 },
		{ "INSERT INTO versions(app_id, version, released, created_at) VALUES (1, '1.0', "
		  "'2026-02-28', 0)",
		  1 },
		{ "INSERT INTO adoption(version_id, at, share) VALUES (1, '2026-03-01', 1.01)", 0 },
		{ "INSERT INTO adoption(version_id, at, share) VALUES (1, '2026-03-01', 0.5)", 1 },
		{ "INSERT INTO endpoints(host, port, created_at, updated_at) VALUES "
		  "('API.example.com', 443, 0, 0)",
		  0 },
		{ "INSERT INTO endpoints(host, port, created_at, updated_at) VALUES "
		  "('api.example.com', 70000, 0, 0)",
		  0 },
		{ "INSERT INTO endpoints(host, port, created_at, updated_at) VALUES "
		  "('api.example.com', 443, 0, 0)",
		  1 },
		{ "INSERT INTO endpoints(host, port, created_at, updated_at) VALUES "
		  "('api.example.com', 443, 0, 0)",
		  0 },
		{ "INSERT INTO webhooks(url, created_at) VALUES ('ftp://x', 0)", 0 },
		{ "INSERT INTO audit_log(at, actor, action, object_type, prev_hash, hash) VALUES "
		  "(0, 'a', 'b', 'c', "
		  "'0000000000000000000000000000000000000000000000000000000000000000', "
		  "'1111111111111111111111111111111111111111111111111111111111111111')",
		  1 },
		{ "UPDATE audit_log SET actor = 'evil'", 0 },
		{ "DELETE FROM audit_log", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc = db_exec(db, cases[i].sql, err, sizeof(err));
		if ((rc == 0) != cases[i].ok)
			fail_msg("case %zu (%s): rc %d %s", i, cases[i].sql, rc, rc ? err : "");
	}
	/* Deleting an app cascades to versions and adoption. */
	int64_t v;
	assert_int_equal(db_exec(db, "DELETE FROM apps WHERE name = 'a'", err, sizeof(err)), 0);
	assert_int_equal(db_query_int(db, "SELECT count(*) FROM adoption", &v), 0);
	assert_int_equal(v, 0);
	db_close(db);
}

static void test_db_newer_schema_refused(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct db *db = db_open(path, 0, err, sizeof(err));
	assert_non_null(db);
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", db_schema_version() + 1);
	assert_int_equal(db_exec(db, sql, err, sizeof(err)), 0);
	db_close(db);
	db = db_open(path, 0, err, sizeof(err));
	assert_null(db);
	assert_non_null(strstr(err, "is newer than this pinwatch supports"));
}

static void test_db_garbage_file_refused(void **state)
{
	(void)state;
	char err[ERRLEN];
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 512; i++)
		fputs("this is not a database ", f);
	fclose(f);
	struct db *db = db_open(path, 0, err, sizeof(err));
	assert_null(db);
	assert_non_null(strstr(err, path));
}

static void test_db_stmt_cache_reuses(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct db *db = db_open(path, 0, err, sizeof(err));
	assert_non_null(db);
	static const char q[] = "SELECT ?1 + 1";
	sqlite3_stmt *a = db_stmt(db, q);
	assert_non_null(a);
	sqlite3_bind_int(a, 1, 41);
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(a, 0), 42);
	sqlite3_stmt *b = db_stmt(db, q);
	assert_ptr_equal(a, b);
	assert_int_equal(sqlite3_step(b), SQLITE_ROW);
	/* Bindings were cleared: NULL + 1 is NULL. */
	assert_int_equal(sqlite3_column_type(b, 0), SQLITE_NULL);
	db_close(db);
}

/* Migration 017 rebuilds alerts to accept new kinds: rows, ids and the outbox
 * links survive; the shape check still refuses garbage. */
static void test_db_migration_017_keeps_alerts_and_outbox(void **state)
{
	(void)state;
	char err[ERRLEN];
	int64_t v;
	sqlite3 *raw;
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "PRAGMA foreign_keys=ON", NULL, NULL, NULL), SQLITE_OK);
	for (const struct db_migration *m = db_migrations; m->version && m->version < 17; m++)
		assert_int_equal(sqlite3_exec(raw, m->sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(
			raw,
			"INSERT INTO alerts (id, fingerprint, kind, severity, status, summary, "
			" starts_at, updated_at) VALUES (7, 'fp-7', 'stranding_now', 'critical', "
			" 'firing', 's', 1, 1), (9, 'fp-9', 'chain_changed', 'info', 'resolved', "
			" 's', 1, 2);"
			"INSERT INTO webhooks (id, url, created_at) VALUES (1, "
			"'http://127.0.0.1/', 1);"
			"INSERT INTO webhook_outbox (id, webhook_id, alert_id, idempotency_key, "
			"body,"
			" next_attempt_at, created_at) VALUES (3, 1, 7, 'k3', '{}', 1, 1),"
			" (4, 1, NULL, 'k4', '{}', 1, 1), (5, 1, 9, 'k5', '{}', 1, 1);"
			"PRAGMA user_version = 16;",
			NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(raw);

	struct db *db = db_open(path, 0, err, sizeof(err));
	if (!db)
		fail_msg("%s", err);
	assert_int_equal(db_query_int(db, "SELECT count(*) FROM alerts", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(db_query_int(db, "SELECT alert_id FROM webhook_outbox WHERE id = 3", &v),
			 0);
	assert_int_equal(v, 7);
	assert_int_equal(db_query_int(db, "SELECT alert_id FROM webhook_outbox WHERE id = 5", &v),
			 0);
	assert_int_equal(v, 9);
	assert_int_equal(
		db_query_int(db, "SELECT count(*) FROM webhook_outbox WHERE alert_id IS NULL", &v),
		0);
	assert_int_equal(v, 1);
	assert_int_equal(db_query_int(db,
				      "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
				      " AND name IN ('alerts_firing', 'alerts_status')",
				      &v),
			 0);
	assert_int_equal(v, 2);
	assert_int_equal(
		db_exec(db,
			"INSERT INTO alerts (fingerprint, kind, severity, status, summary, "
			"starts_at, updated_at) VALUES ('fp-n', 'rotation_completed', 'info', "
			"'firing', 's', 1, 1)",
			err, sizeof(err)),
		0);
	assert_int_not_equal(db_exec(db,
				     "INSERT INTO alerts (fingerprint, kind, severity, status, "
				     "summary, starts_at, updated_at) VALUES ('fp-x', 'Bad Kind!', "
				     "'info', 'firing', 's', 1, 1)",
				     err, sizeof(err)),
			     0);
	/* The firing-episode uniqueness still holds. */
	assert_int_not_equal(
		db_exec(db,
			"INSERT INTO alerts (fingerprint, kind, severity, status, "
			"summary, starts_at, updated_at) VALUES ('fp-7', 'stranding_now', "
			"'info', 'firing', 's', 1, 1)",
			err, sizeof(err)),
		0);
	db_close(db);
}

/* The binder binds in order, NULL text as SQL NULL, and keeps the first error:
 * binds after it do nothing and db_bound() still reports it. */
static void test_db_binder_sticky(void **state)
{
	(void)state;
	char err[256];
	struct db *db = db_open(path, 0, err, sizeof(err));
	assert_non_null(db);
	sqlite3_stmt *st = db_stmt(db, "SELECT ?1, ?2, ?3, ?4, typeof(?5)");
	assert_non_null(st);
	struct db_binder b = db_binder(st);
	db_bind_int64(&b, 42);
	db_bind_text(&b, "x");
	db_bind_blob(&b, "ab", 2);
	db_bind_double(&b, 1.5);
	db_bind_text(&b, NULL);
	assert_int_equal(db_bound(&b), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 42);
	assert_string_equal((const char *)sqlite3_column_text(st, 1), "x");
	assert_int_equal(sqlite3_column_bytes(st, 2), 2);
	assert_true(sqlite3_column_double(st, 3) == 1.5);
	assert_string_equal((const char *)sqlite3_column_text(st, 4), "null");
	sqlite3_reset(st);

	sqlite3_stmt *one = db_stmt(db, "SELECT ?1");
	b = db_binder(one);
	db_bind_int64(&b, 1);
	db_bind_int64(&b, 2); /* no ?2: SQLITE_RANGE */
	db_bind_null(&b);
	assert_int_equal(db_bound(&b), SQLITE_RANGE);
	assert_int_equal(b.next, 4);

	b = db_binder(NULL);
	db_bind_int64(&b, 1);
	assert_int_equal(db_bound(&b), SQLITE_MISUSE);
	db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_db_open_applies_schema_and_pragmas, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_db_constraints_enforced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_db_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_db_garbage_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_db_stmt_cache_reuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_db_binder_sticky, setup, teardown),
		cmocka_unit_test_setup_teardown(test_db_migration_017_keeps_alerts_and_outbox,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
