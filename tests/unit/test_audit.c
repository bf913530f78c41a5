#include <errno.h>
#include <gnutls/crypto.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/audit.h"
#include "testdb.h"

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

static int append(struct testdb *t, const char *action, const char *type, const char *id,
		  const char *before, const char *after)
{
	char err[ERRLEN];
	json_t *b = before ? json_loads(before, JSON_DECODE_ANY, NULL) : NULL;
	json_t *a = after ? json_loads(after, JSON_DECODE_ANY, NULL) : NULL;
	int rc = db_begin(t->db);
	if (!rc)
		rc = audit_append(t->db, "cli:test", action, type, id, b, a, err, sizeof(err));
	if (!rc)
		rc = db_commit(t->db);
	else
		db_rollback(t->db);
	json_decref(b);
	json_decref(a);
	return rc;
}

static void test_audit_canonical_matches_documented_example(void **state)
{
	(void)state;
	char *c = NULL;
	size_t n = 0;
	assert_int_equal(audit_canonical(1700000000, "cli:ann", "create", "app", "shop", NULL,
					 "{\"a\":1}", &c, &n),
			 0);
	const char *want = "10:1700000000,7:cli:ann,6:create,3:app,4:shop,~,7:{\"a\":1},";
	assert_int_equal(n, strlen(want));
	assert_string_equal(c, want);
	free(c);
}

static void test_audit_append_outside_transaction_refused(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	assert_int_equal(
		audit_append(t->db, "cli:x", "create", "app", "a", NULL, NULL, err, sizeof(err)),
		-EINVAL);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM audit_log"), 0);
}

/* The stored hash is SHA-256 over prev_hash and the canonical row, computed
 * here independently of audit.c's own hashing. */
static void test_audit_append_chains_hashes(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN], head[AUDIT_HASH_HEX];
	int64_t count;

	assert_int_equal(audit_head(t->db, head, &count, err, sizeof(err)), 0);
	assert_int_equal(count, 0);
	assert_string_equal(head,
			    "0000000000000000000000000000000000000000000000000000000000000000");
	assert_int_equal(
		append(t, "create", "app", "shop", NULL, "{\"name\":\"shop\",\"b\":[1,2]}"), 0);
	assert_int_equal(
		append(t, "update", "app", "shop", "{\"name\":\"shop\"}", "{\"name\":\"shop2\"}"),
		0);
	assert_int_equal(append(t, "delete", "endpoint", NULL, "{\"host\":\"x\"}", NULL), 0);

	sqlite3_stmt *s;
	assert_int_equal(
		sqlite3_prepare_v2(db_handle(t->db),
				   "SELECT at, actor, action, object_type, object_id, before, "
				   "after, prev_hash, hash FROM audit_log ORDER BY id",
				   -1, &s, NULL),
		SQLITE_OK);
	char prev[65] = "0000000000000000000000000000000000000000000000000000000000000000";
	int rows = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		char *canon = NULL;
		size_t clen = 0;
		assert_string_equal((const char *)sqlite3_column_text(s, 7), prev);
		assert_int_equal(audit_canonical(sqlite3_column_int64(s, 0),
						 (const char *)sqlite3_column_text(s, 1),
						 (const char *)sqlite3_column_text(s, 2),
						 (const char *)sqlite3_column_text(s, 3),
						 (const char *)sqlite3_column_text(s, 4),
						 (const char *)sqlite3_column_text(s, 5),
						 (const char *)sqlite3_column_text(s, 6), &canon,
						 &clen),
				 0);
		gnutls_hash_hd_t h;
		uint8_t d[32];
		char hex[65];
		assert_int_equal(gnutls_hash_init(&h, GNUTLS_DIG_SHA256), 0);
		assert_int_equal(gnutls_hash(h, prev, 64), 0);
		assert_int_equal(gnutls_hash(h, canon, clen), 0);
		gnutls_hash_deinit(h, d);
		util_hex(d, 32, hex);
		assert_string_equal((const char *)sqlite3_column_text(s, 8), hex);
		memcpy(prev, hex, 65);
		free(canon);
		rows++;
	}
	sqlite3_finalize(s);
	assert_int_equal(rows, 3);
	assert_int_equal(audit_head(t->db, head, &count, err, sizeof(err)), 0);
	assert_int_equal(count, 3);
	assert_string_equal(head, prev);
	/* before/after are stored as compact JSON with sorted keys */
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM audit_log WHERE id = 1 AND "
				       "after = '{\"b\":[1,2],\"name\":\"shop\"}'"),
			 1);
}

static void test_audit_verify_intact_and_head(void **state)
{
	struct testdb *t = *state;
	struct audit_verify_result r;
	char err[ERRLEN], head[AUDIT_HASH_HEX];
	assert_int_equal(audit_verify(t->db, NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r.rows, 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(append(t, "create", "app", "a", NULL, "{}"), 0);
	assert_int_equal(audit_head(t->db, head, NULL, err, sizeof(err)), 0);
	assert_int_equal(audit_verify(t->db, head, &r, err, sizeof(err)), 0);
	assert_int_equal(r.rows, 5);
	assert_string_equal(r.head, head);
	/* a head saved earlier stays valid when rows are appended after it */
	assert_int_equal(append(t, "create", "app", "b", NULL, "{}"), 0);
	assert_int_equal(audit_verify(t->db, head, &r, err, sizeof(err)), 0);
	assert_int_equal(r.rows, 6);
}

static void tamper(struct testdb *t, const char *sql)
{
	char err[ERRLEN];
	assert_int_equal(db_exec(t->db,
				 "DROP TRIGGER audit_log_no_update;"
				 "DROP TRIGGER audit_log_no_delete;",
				 err, sizeof(err)),
			 0);
	assert_int_equal(db_exec(t->db, sql, err, sizeof(err)), 0);
}

static void test_audit_verify_catches_tampering(void **state)
{
	struct testdb *t = *state;
	static const struct {
		const char *sql;
		int64_t bad_id;
	} cases[] = {
		{ "UPDATE audit_log SET actor = 'cli:mallory' WHERE id = 3", 3 },
		{ "UPDATE audit_log SET after = '{\"name\":\"evil\"}' WHERE id = 2", 2 },
		{ "UPDATE audit_log SET at = at + 1 WHERE id = 4", 4 },
		{ "UPDATE audit_log SET object_id = NULL WHERE id = 1", 1 },
		{ "DELETE FROM audit_log WHERE id = 2", 3 },
		/* text hidden after a NUL byte, or a value of another type */
		{ "UPDATE audit_log SET after = CAST(after || char(0) || 'hidden' AS TEXT) WHERE "
		  "id = 2",
		  2 },
		{ "UPDATE audit_log SET actor = CAST(actor AS BLOB) WHERE id = 5", 5 },
		{ "UPDATE audit_log SET object_id = 7 WHERE id = 3", 3 },
		{ "UPDATE audit_log SET hash = '" /* a recomputed-looking but wrong hash */
		  "1111111111111111111111111111111111111111111111111111111111111111' WHERE id = 4",
		  4 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct testdb *u = testdb_new();
		struct audit_verify_result r;
		char err[ERRLEN];
		assert_non_null(u);
		for (int k = 0; k < 5; k++)
			assert_int_equal(append(u, "create", "app", "a", NULL, "{\"name\":\"a\"}"),
					 0);
		assert_int_equal(audit_verify(u->db, NULL, &r, err, sizeof(err)), 0);
		tamper(u, cases[i].sql);
		assert_int_equal(audit_verify(u->db, NULL, &r, err, sizeof(err)), -EBADMSG);
		assert_int_equal(r.bad_id, cases[i].bad_id);
		assert_true(strlen(r.reason) > 0);
		testdb_free(u);
	}
	(void)t;
}

static void test_audit_verify_head_catches_tail_deletion(void **state)
{
	struct testdb *t = *state;
	struct audit_verify_result r;
	char err[ERRLEN], head[AUDIT_HASH_HEX];
	for (int k = 0; k < 4; k++)
		assert_int_equal(append(t, "create", "app", "a", NULL, "{}"), 0);
	assert_int_equal(audit_head(t->db, head, NULL, err, sizeof(err)), 0);
	tamper(t, "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)");
	/* without the saved head a shortened chain is still a valid chain ... */
	assert_int_equal(audit_verify(t->db, NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r.rows, 3);
	/* ... with it, the deletion is caught */
	assert_int_equal(audit_verify(t->db, head, &r, err, sizeof(err)), -EBADMSG);
	assert_true(r.head_missing);
	assert_int_equal(r.bad_id, 0);
}

static void test_audit_list_filters(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	json_t *rows = NULL;
	assert_int_equal(append(t, "create", "app", "shop", NULL, "{\"n\":1}"), 0);
	assert_int_equal(append(t, "create", "endpoint", "api.example.com:443", NULL, "{}"), 0);
	assert_int_equal(append(t, "update", "app", "shop", "{\"n\":1}", "{\"n\":2}"), 0);
	assert_int_equal(append(t, "create", "app", "wallet", NULL, "{}"), 0);

	static const struct {
		struct audit_filter f;
		size_t n;
		int64_t first_id;
	} cases[] = {
		{ { 0 }, 4, 1 },
		{ { .object_type = "app" }, 3, 1 },
		{ { .object_type = "app", .object_id = "shop" }, 2, 1 },
		{ { .object_type = "endpoint", .object_id = "api.example.com:443" }, 1, 2 },
		{ { .object_type = "version" }, 0, 0 },
		{ { .after_id = 2 }, 2, 3 },
		{ { .limit = 1, .after_id = 1 }, 1, 2 },
		{ { .since = 4102444800 /* 2100-01-01 */ }, 0, 0 },
		{ { .since = 946684800 /* 2000-01-01 */ }, 4, 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(audit_list(t->db, &cases[i].f, &rows, err, sizeof(err)), 0);
		assert_int_equal(json_array_size(rows), cases[i].n);
		if (cases[i].n)
			assert_int_equal(
				json_integer_value(json_object_get(json_array_get(rows, 0), "id")),
				cases[i].first_id);
		json_decref(rows);
	}
	assert_int_equal(audit_list(t->db, NULL, &rows, err, sizeof(err)), 0);
	json_t *r3 = json_array_get(rows, 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r3, "before"), "n")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r3, "after"), "n")), 2);
	assert_string_equal(json_string_value(json_object_get(r3, "actor")), "cli:test");
	assert_true(json_is_null(json_object_get(json_array_get(rows, 0), "before")));
	json_decref(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit_canonical_matches_documented_example),
		cmocka_unit_test_setup_teardown(test_audit_append_outside_transaction_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_append_chains_hashes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_verify_intact_and_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_verify_catches_tampering, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_audit_verify_head_catches_tail_deletion, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_audit_list_filters, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
