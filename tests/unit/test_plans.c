/* The plans store: validation, round trip, cancel, audit rows. */
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

#include "base/util.h"
#include "store/db.h"
#include "store/plans.h"
#include "testdb.h"

static char dir[64], path[128];

static int setup(void **state)
{
	if (testdb_mkdir("plans", dir, sizeof(dir), path, sizeof(path)))
		return -1;
	char err[ERRLEN];
	*state = db_open(path, 0, err, sizeof(err));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	db_close(*state);
	testdb_remove(path, dir);
	return 0;
}

static void fill(struct plan *p, const char *host, size_t nkeys)
{
	memset(p, 0, sizeof(*p));
	p->host = strdup(host);
	p->port = 443;
	p->keys = calloc(nkeys ? nkeys : 1, 32);
	for (size_t i = 0; i < nkeys; i++)
		p->keys[i][0] = (uint8_t)(i + 1);
	p->nkeys = nkeys;
}

static void test_plans_add_get_list_cancel(void **state)
{
	struct db *db = *state;
	char err[ERRLEN];
	struct plan p, got, *v;
	size_t n;
	int64_t rows;
	fill(&p, "API.Example.COM.", 2);
	snprintf(p.not_before, sizeof(p.not_before), "2027-01-15");
	p.note = strdup("CHG-1");
	assert_int_equal(plans_add(db, "cli:test", &p, err, sizeof(err)), 0);
	assert_true(p.id > 0);
	assert_int_equal(plans_get(db, p.id, &got, err, sizeof(err)), 0);
	assert_string_equal(got.host, "api.example.com");
	assert_string_equal(got.not_before, "2027-01-15");
	assert_string_equal(got.note, "CHG-1");
	assert_string_equal(got.created_by, "cli:test");
	assert_int_equal(got.nkeys, 2);
	assert_memory_equal(got.keys, p.keys, 64);
	assert_int_equal(got.cancelled_at, 0);
	plan_free(&got);
	assert_int_equal(plans_list(db, true, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	plans_free(v, n);
	assert_int_equal(plans_cancel(db, "cli:test", p.id, err, sizeof(err)), 0);
	assert_int_equal(plans_cancel(db, "cli:test", p.id, err, sizeof(err)), -ENOENT);
	assert_int_equal(plans_cancel(db, "cli:test", 999, err, sizeof(err)), -ENOENT);
	assert_int_equal(plans_list(db, true, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	plans_free(v, n);
	assert_int_equal(plans_list(db, false, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_true(v[0].cancelled_at > 0);
	plans_free(v, n);
	assert_int_equal(db_query_int(db,
				      "SELECT count(*) FROM audit_log WHERE object_type = 'plan' "
				      "AND action IN ('create', 'cancel')",
				      &rows),
			 0);
	assert_int_equal(rows, 2);
	assert_int_equal(plans_get(db, 999, &got, err, sizeof(err)), -ENOENT);
	plan_free(&p);
}

static void test_plans_add_rejects_bad_input(void **state)
{
	struct db *db = *state;
	char err[ERRLEN];
	struct plan p;
	int64_t rows;
	static const struct {
		const char *host, *not_before, *note;
		int port;
		size_t nkeys;
		bool dup;
		const char *field;
	} bad[] = {
		{ "bad host!", "", NULL, 443, 1, false, "host" },
		{ "api.example.com", "", NULL, 0, 1, false, "port" },
		{ "api.example.com", "", NULL, 65536, 1, false, "port" },
		{ "api.example.com", "2027-02-30", NULL, 443, 1, false, "not_before" },
		{ "api.example.com", "", "line\nbreak", 443, 1, false, "note" },
		{ "api.example.com", "", NULL, 443, 0, false, "keys" },
		{ "api.example.com", "", NULL, 443, PLANS_MAX_KEYS + 1, false, "keys" },
		{ "api.example.com", "", NULL, 443, 2, true, "keys[1]" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		fill(&p, bad[i].host, bad[i].nkeys);
		p.port = bad[i].port;
		snprintf(p.not_before, sizeof(p.not_before), "%s", bad[i].not_before);
		if (bad[i].note)
			p.note = strdup(bad[i].note);
		if (bad[i].dup)
			memcpy(p.keys[1], p.keys[0], 32);
		assert_int_equal(plans_add(db, "cli:test", &p, err, sizeof(err)), -EINVAL);
		if (strncmp(err, bad[i].field, strlen(bad[i].field)))
			fail_msg("case %zu: error '%s' does not name %s", i, err, bad[i].field);
		plan_free(&p);
	}
	assert_int_equal(db_query_int(db, "SELECT count(*) FROM plans", &rows), 0);
	assert_int_equal(rows, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plans_add_get_list_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plans_add_rejects_bad_input, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
