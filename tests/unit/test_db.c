#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
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

static bool in_tx(struct db *db)
{
	return sqlite3_get_autocommit(db_handle(db)) == 0;
}

/* db_tx_begin/end: open and commit, roll back on failure when owned; join an
 * open transaction and leave it (failed or not) to its owner; a failing
 * COMMIT is rolled back and reported. */
static void test_db_tx_table(void **state)
{
	(void)state;
	enum { ROW_OK, ROW_FAILS, ROW_BAD_FK };
	/* clang-format off */
	static const struct {
		const char *name;
		bool outer;        /* a transaction is open before db_tx_begin */
		int write;         /* what happens inside */
		bool outer_commit; /* how the outer owner ends it */
		bool owned;        /* db_tx_begin's verdict */
		int rc;            /* db_tx_end's answer */
		const char *err;   /* its message ("" none) */
		bool open_after;   /* a transaction is still open after db_tx_end */
		int64_t rows;      /* rows of t at the end */
	} cases[] = {
		{ "open, commit",              false, ROW_OK,     false, true,  0,       "",              false, 1 },
		{ "open, failure rolls back",  false, ROW_FAILS,  false, true,  -EINVAL, "",              false, 0 },
		{ "open, failing COMMIT",      false, ROW_BAD_FK, false, true,  -EEXIST, "commit failed", false, 0 },
		{ "join, owner commits",       true,  ROW_OK,     true,  false, 0,       "",              true,  1 },
		{ "join, owner rolls back",    true,  ROW_OK,     false, false, 0,       "",              true,  0 },
		{ "join, failure left to owner, who rolls back",
		                               true,  ROW_FAILS,  false, false, -EINVAL, "",              true,  0 },
		{ "join, failure left to owner, who commits",
		                               true,  ROW_FAILS,  true,  false, -EINVAL, "",              true,  1 },
		{ "join, no COMMIT of a bad row: the owner's fails",
		                               true,  ROW_BAD_FK, true,  false, 0,       "",              true,  0 },
	};
	/* clang-format on */
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERRLEN] = "";
		int64_t n = -1;
		bool owned = !cases[i].owned;
		struct db *db = db_open(path, 0, err, sizeof(err));
		assert_non_null(db);
		assert_int_equal(db_exec(db,
					 "DROP TABLE IF EXISTS c; DROP TABLE IF EXISTS t;"
					 "CREATE TABLE t (x INTEGER PRIMARY KEY);"
					 "CREATE TABLE c (x INTEGER REFERENCES t(x)"
					 " DEFERRABLE INITIALLY DEFERRED)",
					 err, sizeof(err)),
				 0);
		if (cases[i].outer)
			assert_int_equal(db_begin(db), 0);
		assert_int_equal(db_tx_begin(db, &owned, err, sizeof(err)), 0);
		if (owned != cases[i].owned)
			fail_msg("%s: owned %d", cases[i].name, owned);
		assert_true(in_tx(db));
		assert_int_equal(db_exec(db,
					 cases[i].write == ROW_BAD_FK ? "INSERT INTO c VALUES (7)"
								      : "INSERT INTO t VALUES (1)",
					 err, sizeof(err)),
				 0);
		int rc = db_tx_end(db, owned, cases[i].write == ROW_FAILS ? -EINVAL : 0, err,
				   sizeof(err));
		if (rc != cases[i].rc || strncmp(err, cases[i].err, strlen(cases[i].err)) ||
		    in_tx(db) != cases[i].open_after)
			fail_msg("%s: rc %d, err '%s', open %d", cases[i].name, rc, err, in_tx(db));
		if (cases[i].outer && cases[i].outer_commit) {
			/* the bad row fails the owner's COMMIT, which leaves it open */
			if ((db_commit(db) != 0) != (cases[i].write == ROW_BAD_FK))
				fail_msg("%s: the owner's COMMIT", cases[i].name);
			db_rollback(db);
		} else if (cases[i].outer) {
			db_rollback(db);
		}
		assert_false(in_tx(db));
		assert_int_equal(db_query_int(db, "SELECT count(*) FROM t", &n), 0);
		if (n != cases[i].rows)
			fail_msg("%s: %lld rows", cases[i].name, (long long)n);
		db_close(db);
	}
}

/* A transaction that cannot start (another connection writes): the error
 * and its message, nothing owned. */
static void test_db_tx_begin_fails(void **state)
{
	(void)state;
	char err[ERRLEN];
	bool owned = true;
	struct db *other = db_open(path, 0, err, sizeof(err));
	struct db *db = db_open(path, 0, err, sizeof(err));
	assert_non_null(other);
	assert_non_null(db);
	assert_int_equal(sqlite3_busy_timeout(db_handle(db), 0), SQLITE_OK);
	assert_int_equal(db_begin(other), 0);
	int rc = db_tx_begin(db, &owned, err, sizeof(err));
	assert_int_equal(rc, -EBUSY);
	assert_false(owned);
	assert_false(in_tx(db));
	assert_non_null(strstr(err, "cannot start a transaction: "));
	/* ending what never began does nothing but pass the error on */
	assert_int_equal(db_tx_end(db, owned, rc, err, sizeof(err)), rc);
	assert_false(in_tx(db));
	db_rollback(other);
	db_close(other);
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
		cmocka_unit_test_setup_teardown(test_db_tx_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_db_tx_begin_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_db_migration_017_keeps_alerts_and_outbox,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
