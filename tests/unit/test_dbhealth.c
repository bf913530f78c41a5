/* dbhealth: the writability state and its log lines; db.c's read-only
 * helpers on a writable file system (the read-only file system itself is
 * integration_readonly.py: it needs a mount). */
#include <errno.h>
#include <fcntl.h>
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
#include "store/dbhealth.h"
#include "base/util.h"
#include "testdb.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	if (testdb_mkdir("dbhealth", dir, sizeof(dir), path, sizeof(path)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	testdb_remove(path, dir);
	return 0;
}

/* Run the transitions with stderr sent to a file; return what was logged. */
static char *logged(void (*fn)(void))
{
	char p[160];
	snprintf(p, sizeof(p), "%s.log", path);
	fflush(stderr);
	int saved = dup(2);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char *text = NULL;
	size_t n = 0;
	assert_int_equal(util_read_file(p, 1 << 20, &text, &n), 0);
	return text;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void flap(void)
{
	dbhealth_init("/srv/pw.db");
	dbhealth_set_readonly("the file system is read-only");
	dbhealth_dropped(3);
	dbhealth_set_readonly("a write failed: read-only file system");
	dbhealth_dropped(2);
	dbhealth_set_readonly("a write failed: read-only file system");
	dbhealth_set_writable();
	dbhealth_set_writable();
	dbhealth_set_readonly("again");
	dbhealth_dropped(4);
	dbhealth_set_writable();
}

static void test_dbhealth_logs_each_transition_once(void **state)
{
	(void)state;
	char *text = logged(flap);
	/* two read-only periods: two errors and two recoveries, no more */
	assert_int_equal(count(text, "database /srv/pw.db is read-only ("), 2);
	assert_int_equal(count(text, "is writable again"), 2);
	assert_non_null(strstr(text, "(the file system is read-only): serving reads"));
	assert_non_null(strstr(text, "5 probe result(s) gathered while it was read-only"));
	assert_non_null(strstr(text, "4 probe result(s) gathered while it was read-only"));
	assert_int_equal(dbhealth_dropped_total(), 9);
	free(text);
}

static void test_dbhealth_describe(void **state)
{
	(void)state;
	char why[512];
	dbhealth_init("/srv/pw.db");
	assert_true(dbhealth_writable());
	assert_false(dbhealth_describe(why, sizeof(why)));
	assert_string_equal(why, "");
	dbhealth_set_readonly("first");
	dbhealth_set_readonly("second"); /* the latest reason is reported */
	assert_false(dbhealth_writable());
	assert_true(dbhealth_describe(why, sizeof(why)));
	assert_non_null(strstr(why, "database /srv/pw.db is read-only since 2"));
	assert_non_null(strstr(why, "(second)"));
	/* truncated, still terminated */
	assert_true(dbhealth_describe(why, 10));
	assert_int_equal(strlen(why), 9);
	dbhealth_set_writable();
	assert_true(dbhealth_writable());
	assert_false(dbhealth_describe(why, sizeof(why)));
}

static void test_db_readonly_helpers_on_a_writable_fs(void **state)
{
	(void)state;
	char err[ERRLEN];
	/* DB_RO_FALLBACK where the file can be written: an ordinary connection */
	struct db *rw = db_open(path, DB_RO_FALLBACK, err, sizeof(err));
	assert_non_null(rw);
	assert_false(db_readonly(rw));
	assert_string_equal(db_readonly_why(rw), "");
	assert_false(db_fs_readonly(rw));
	assert_false(db_should_reopen(rw, true));
	assert_int_equal(db_exec(rw,
				 "INSERT INTO tokens (name, role, hash, created_at) "
				 "VALUES ('t', 'read', zeroblob(32), 1)",
				 err, sizeof(err)),
			 0);

	/* a DB_READONLY connection is read-only by choice: never reopened */
	struct db *ro = db_open(path, DB_READONLY, err, sizeof(err));
	assert_non_null(ro);
	assert_true(db_readonly(ro));
	assert_string_equal(db_readonly_why(ro), "");
	assert_false(db_should_reopen(ro, true));
	int64_t v = 0;
	assert_int_equal(db_query_int(ro, "SELECT count(*) FROM tokens", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(db_exec(ro, "DELETE FROM tokens", err, sizeof(err)), -EROFS);
	assert_true(db_failed_readonly(ro));
	/* a constraint failure is not a read-only failure */
	assert_int_equal(db_exec(rw,
				 "INSERT INTO tokens (name, role, hash, created_at) "
				 "VALUES ('t', 'read', zeroblob(32), 1)",
				 err, sizeof(err)),
			 -EEXIST);
	assert_false(db_failed_readonly(rw));

	/* dbhealth_refresh leaves connections that need nothing alone */
	dbhealth_init(path);
	struct db *before = rw;
	assert_int_equal(dbhealth_refresh(&rw, DB_NO_CREATE, err, sizeof(err)), 0);
	assert_ptr_equal(rw, before);
	assert_false(db_should_reopen(NULL, true));
	db_close(ro);
	db_close(rw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dbhealth_logs_each_transition_once, setup,
						teardown),
		cmocka_unit_test(test_dbhealth_describe),
		cmocka_unit_test_setup_teardown(test_db_readonly_helpers_on_a_writable_fs, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
