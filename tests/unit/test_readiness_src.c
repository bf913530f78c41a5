/* The store's readiness reads (store/readiness_src.h) against a real
 * database: latest row per address as of a time, caps, ties, the chain
 * before a drift, discovery variants, pins seen, CA certificates, one
 * period; and a busy or broken database is an error, never a shorter
 * answer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store/db.h"
#include "store/readiness_src.h"
#include "base/util.h"
#include "testdb.h"
#include "testobs.h"

static struct testdb *t;

static void exec(const char *sql)
{
	testobs_exec(t->db, sql);
}

/* Append @fmt to @buf, after a space unless @buf is empty. */
static void addf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void addf(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;
	if (len && len + 1 < size)
		buf[len++] = ' ';
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

static void expect_case(size_t i, const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		fail_msg("case %zu: got '%s', want '%s'", i, got, want);
}

static void add_variant(int id, const char *addr, const char *variant, int presented, int first,
			int last)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO variant_observations (id, endpoint_id, address, variant, outcome,"
		 " presented_chain_id, first_seen, last_seen) VALUES (%d, 1, '%s', '%s', 'ok', %d,"
		 " %d, %d)",
		 id, addr, variant, presented, first, last);
	exec(sql);
}

static int setup(void **state)
{
	(void)state;
	if (!(t = testdb_new()))
		return -1;
	exec("INSERT INTO endpoints (id, host, created_at, updated_at) VALUES (1, "
	     "'api.example.com', 0, 0), (2, 'other.example.com', 0, 0)");
	testobs_cert(t->db, 1, 2, 0); /* leaf X */
	testobs_cert(t->db, 2, 3, 1); /* intermediate */
	testobs_cert(t->db, 3, 3, 1); /* root */
	testobs_cert(t->db, 4, 2, 0); /* leaf Y */
	testobs_chain(t->db, 1, (int[]){ 1, 2 }, 2);
	testobs_chain(t->db, 2, (int[]){ 1, 2, 3 }, 3);
	testobs_chain(t->db, 3, (int[]){ 4, 2 }, 2);
	testobs_chain(t->db, 4, (int[]){ 4, 2, 3 }, 3);
	/* address A: chain X, then chain Y, then chain Y again after a failure */
	testobs_obs(t->db, 1, 1, "192.0.2.1", "ok", 1, 2, 100, 200);
	testobs_obs(t->db, 2, 1, "192.0.2.1", "ok", 3, 4, 300, 400);
	/* address B: chain X twice with the same last_seen: the higher id wins */
	testobs_obs(t->db, 3, 1, "192.0.2.2", "ok", 1, 2, 100, 400);
	testobs_obs(t->db, 4, 1, "192.0.2.2", "untrusted", 1, 0, 350, 400);
	/* address C: no chain */
	testobs_obs(t->db, 5, 1, "192.0.2.3", "timeout", 0, 0, 150, 390);
	/* another endpoint */
	testobs_obs(t->db, 6, 2, "192.0.2.9", "ok", 3, 4, 50, 60);
	/* discovery: A's ecdsa offer twice, rsa once */
	add_variant(1, "192.0.2.1", "ecdsa", 1, 100, 200);
	add_variant(2, "192.0.2.1", "ecdsa", 3, 300, 400);
	add_variant(3, "192.0.2.1", "rsa", 1, 120, 400);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	testdb_free(t);
	return 0;
}

static void test_rsrc_latest_table(void **state)
{
	(void)state;
	static const struct {
		int64_t ep;
		time_t at;
		size_t max;
		const char *want; /* "address:id ..." in the order returned */
	} cases[] = {
		{ 1, 1000, 64, "192.0.2.1:2 192.0.2.2:4 192.0.2.3:5" },
		{ 1, 1000, 2, "192.0.2.1:2 192.0.2.2:4" }, /* the cap keeps the most recent */
		{ 1, 1000, 0, "" },
		{ 1, 300, 64, "192.0.2.1:2 192.0.2.2:3 192.0.2.3:5" }, /* first_seen == at */
		{ 1, 299, 64, "192.0.2.2:3 192.0.2.3:5 192.0.2.1:1" },
		{ 1, 150, 64, "192.0.2.2:3 192.0.2.3:5 192.0.2.1:1" },
		{ 1, 149, 64, "192.0.2.2:3 192.0.2.1:1" },
		{ 1, 99, 64, "" },
		{ 2, 1000, 64, "192.0.2.9:6" },
		{ 99, 1000, 64, "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERRLEN], got[1024] = "";
		struct rsrc_latest *rows;
		size_t n;
		assert_int_equal(rsrc_latest(t->db, cases[i].ep, cases[i].at, cases[i].max, &rows,
					     &n, err, sizeof(err)),
				 0);
		for (size_t k = 0; k < n; k++)
			addf(got, sizeof(got), "%s:%lld", rows[k].address, (long long)rows[k].id);
		expect_case(i, got, cases[i].want);
		rsrc_latest_free(rows, n);
	}
}

static void test_rsrc_latest_fields(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct rsrc_latest *rows;
	size_t n;
	assert_int_equal(rsrc_latest(t->db, 1, 1000, 64, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(rows[1].outcome, "untrusted");
	assert_int_equal(rows[1].presented, 1);
	assert_int_equal(rows[1].validated, 0);
	assert_int_equal(rows[1].first_seen, 350);
	assert_int_equal(rows[1].last_seen, 400);
	assert_int_equal(rows[2].presented, 0);
	rsrc_latest_free(rows, n);
}

static void test_rsrc_previous_chain_table(void **state)
{
	(void)state;
	static const struct {
		const char *address;
		int64_t obs_id;
		time_t at;
		int64_t presented;
		int64_t want;
	} cases[] = {
		{ "192.0.2.1", 2, 1000, 3, 1 }, /* X before Y */
		{ "192.0.2.1", 2, 199, 3, 0 },	/* X's row was last seen after @at */
		{ "192.0.2.1", 2, 200, 3, 1 },	/* ... and exactly at @at */
		{ "192.0.2.1", 1, 1000, 1, 3 }, /* the other row, whatever its time */
		{ "192.0.2.2", 4, 1000, 1, 0 }, /* the same chain before: no drift */
		{ "192.0.2.3", 5, 1000, 0, 0 }, /* no chain: NULL is bound */
		{ "192.0.2.2", 4, 1000, 0, 1 }, /* no chain now: any earlier chain */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERRLEN];
		int64_t prev = -1;
		assert_int_equal(rsrc_previous_chain(t->db, 1, cases[i].address, cases[i].obs_id,
						     cases[i].at, cases[i].presented, &prev, err,
						     sizeof(err)),
				 0);
		if (prev != cases[i].want)
			fail_msg("case %zu: got %lld, want %lld", i, (long long)prev,
				 (long long)cases[i].want);
	}
}

static void test_rsrc_variants_table(void **state)
{
	(void)state;
	static const struct {
		const char *address;
		time_t at;
		size_t max;
		const char *want; /* "variant:presented ..." */
	} cases[] = {
		{ "192.0.2.1", 1000, 4, "ecdsa:3 rsa:1" },
		{ "192.0.2.1", 1000, 1, "ecdsa:3" },
		{ "192.0.2.1", 299, 4, "ecdsa:1 rsa:1" },
		{ "192.0.2.1", 119, 4, "ecdsa:1" },
		{ "192.0.2.1", 99, 4, "" },
		{ "192.0.2.2", 1000, 4, "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERRLEN], got[1024] = "";
		struct rsrc_variant rows[4];
		size_t n = 99;
		assert_int_equal(rsrc_variants(t->db, 1, cases[i].address, cases[i].at, rows,
					       cases[i].max, &n, err, sizeof(err)),
				 0);
		for (size_t k = 0; k < n; k++)
			addf(got, sizeof(got), "%s:%lld", rows[k].variant,
			     (long long)rows[k].presented);
		expect_case(i, got, cases[i].want);
	}
}

/* The last time the pin of certificate @k was seen, or -1. */
static time_t pin_last(const struct rsrc_pin_seen *p, size_t n, int k)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].pin[31] == 100 + k)
			return p[i].last_seen;
	return -1;
}

static void test_rsrc_pins_seen_table(void **state)
{
	(void)state;
	static const struct {
		time_t at;
		size_t n;
		time_t leaf_x, inter, root, leaf_y;
		time_t since;
	} cases[] = {
		/* leaf X: presented at A until 200, at B until 400 (merged: the later) */
		{ 1000, 4, 400, 400, 400, 400, 100 },
		{ 299, 3, 400, 400, 400, -1, 100 }, /* rows first seen by @at only */
		{ 100, 3, 400, 400, 400, -1, 100 },
		{ 99, 0, -1, -1, -1, -1, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERRLEN];
		struct rsrc_pin_seen *p;
		size_t n;
		time_t since = -1;
		assert_int_equal(rsrc_pins_seen(t->db, 1, cases[i].at, &p, &n, err, sizeof(err)),
				 0);
		assert_int_equal(n, cases[i].n);
		assert_int_equal(pin_last(p, n, 1), cases[i].leaf_x);
		assert_int_equal(pin_last(p, n, 2), cases[i].inter);
		assert_int_equal(pin_last(p, n, 3), cases[i].root);
		assert_int_equal(pin_last(p, n, 4), cases[i].leaf_y);
		free(p);
		assert_int_equal(
			rsrc_history_since(t->db, 1, cases[i].at, &since, err, sizeof(err)), 0);
		assert_int_equal(since, cases[i].since);
	}
}

static void test_rsrc_chain_table(void **state)
{
	(void)state;
	static const struct {
		int64_t id;
		size_t max;
		const char *want; /* subjects */
	} cases[] = {
		{ 2, 32, "CN=c1 CN=c2 CN=c3" },
		{ 2, 3, "CN=c1 CN=c2 CN=c3" },
		{ 2, 2, "CN=c1 CN=c2" },
		{ 4, 32, "CN=c4 CN=c2 CN=c3" },
		{ 0, 32, "" },
		{ -1, 32, "" },
		{ 99, 32, "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERRLEN], got[1024] = "";
		struct rsrc_cert *c;
		size_t n;
		assert_int_equal(
			rsrc_chain(t->db, cases[i].id, cases[i].max, &c, &n, err, sizeof(err)), 0);
		for (size_t k = 0; k < n; k++)
			addf(got, sizeof(got), "%s", c[k].subject);
		expect_case(i, got, cases[i].want);
		if (n) {
			assert_int_equal(c[0].sha256[31], (uint8_t)atoi(c[0].subject + 4));
			assert_int_equal(c[0].pin[31], 100 + atoi(c[0].subject + 4));
			assert_false(c[0].is_ca);
			assert_true(c[n - 1].is_ca);
			assert_int_equal(c[0].not_after, 1000000 + atoi(c[0].subject + 4));
		}
		rsrc_certs_free(c, n);
	}
}

static void test_rsrc_ca(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct rsrc_cert *c;
	size_t n;
	assert_int_equal(rsrc_ca_certs(t->db, &c, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(c[0].subject, "CN=c3"); /* latest not_after first */
	assert_string_equal(c[1].subject, "CN=c2");
	rsrc_certs_free(c, n);
	static const struct {
		time_t at;
		const char *want; /* second DER byte of each */
	} cases[] = {
		{ 1000, "3 2" }, { 30, "3 2" }, { 29, "2" }, { 20, "2" }, { 19, "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char got[32] = "";
		struct rsrc_der *d;
		assert_int_equal(rsrc_ca_der(t->db, cases[i].at, &d, &n, err, sizeof(err)), 0);
		for (size_t k = 0; k < n; k++) {
			assert_int_equal(d[k].len, 2);
			size_t len = strlen(got);
			snprintf(got + len, sizeof(got) - len, "%s%d", k ? " " : "", d[k].der[1]);
		}
		expect_case(i, got, cases[i].want);
		rsrc_der_free(d, n);
	}
}

static void test_rsrc_period(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct rsrc_period p;
	assert_int_equal(rsrc_period(t->db, 1, 4, &p, err, sizeof(err)), 0);
	assert_string_equal(p.address, "192.0.2.2");
	assert_string_equal(p.outcome, "untrusted");
	assert_int_equal(p.presented, 1);
	assert_int_equal(p.validated, 0);
	assert_int_equal(p.first_seen, 350);
	assert_int_equal(p.last_seen, 400);
	assert_int_equal(rsrc_period(t->db, 2, 4, &p, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no observation 4 of endpoint 2");
	assert_int_equal(rsrc_period(t->db, 1, 99, &p, err, sizeof(err)), -ENOENT);
}

/* A certificate row whose hash is not 32 bytes breaks its chain (an error,
 * not a shorter chain) and is no CA certificate. */
static void test_rsrc_bad_certificate_row(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct rsrc_cert *c;
	size_t n;
	exec("PRAGMA ignore_check_constraints = 1");
	exec("INSERT INTO certificates (id, sha256, der, subject, issuer, serial, not_before,"
	     " not_after, key_type, key_bits, spki_sha256, is_ca, first_seen) VALUES (9, x'09',"
	     " x'3009', 'CN=bad', 'CN=bad', '01', 0, 5, 'ECDSA', 256, x'09', 1, 0)");
	exec("PRAGMA ignore_check_constraints = 0");
	testobs_chain(t->db, 9, (int[]){ 1, 9 }, 2);
	assert_int_equal(rsrc_chain(t->db, 9, 32, &c, &n, err, sizeof(err)), -EIO);
	assert_null(c);
	assert_int_equal(n, 0);
	assert_string_equal(err, "bad certificate row in chain 9");
	assert_int_equal(rsrc_chain(t->db, 9, 1, &c, &n, err, sizeof(err)), 0); /* not reached */
	assert_int_equal(n, 1);
	rsrc_certs_free(c, n);
	assert_int_equal(rsrc_ca_certs(t->db, &c, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	rsrc_certs_free(c, n);
}

/* Every read of a locked database fails with -EBUSY and leaves nothing. A
 * rollback journal lets another connection lock readers out (WAL does not). */
static void test_rsrc_busy_is_an_error(void **state)
{
	(void)state;
	exec("PRAGMA journal_mode = DELETE");
	sqlite3 *other;
	assert_int_equal(sqlite3_open(t->path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db_handle(t->db), 0);
	char err[ERRLEN];
	struct rsrc_latest *rows = (void *)1;
	struct rsrc_cert *c = (void *)1;
	struct rsrc_der *d = (void *)1;
	struct rsrc_pin_seen *p = (void *)1;
	struct rsrc_variant v[4];
	struct rsrc_period per;
	size_t n = 7;
	int64_t prev = 7;
	time_t since = 7;
	assert_int_equal(rsrc_latest(t->db, 1, 1000, 64, &rows, &n, err, sizeof(err)), -EBUSY);
	assert_null(rows);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err, "reading observations: "));
	assert_int_equal(rsrc_chain(t->db, 2, 32, &c, &n, err, sizeof(err)), -EBUSY);
	assert_null(c);
	assert_int_equal(rsrc_ca_certs(t->db, &c, &n, err, sizeof(err)), -EBUSY);
	assert_null(c);
	assert_int_equal(rsrc_ca_der(t->db, 1000, &d, &n, err, sizeof(err)), -EBUSY);
	assert_null(d);
	assert_int_equal(rsrc_pins_seen(t->db, 1, 1000, &p, &n, err, sizeof(err)), -EBUSY);
	assert_null(p);
	assert_int_equal(
		rsrc_previous_chain(t->db, 1, "192.0.2.1", 2, 1000, 3, &prev, err, sizeof(err)),
		-EBUSY);
	assert_int_equal(prev, 0);
	assert_int_equal(
		rsrc_variants(t->db, 1, "192.0.2.1", 1000, v, ARRAY_SIZE(v), &n, err, sizeof(err)),
		-EBUSY);
	assert_int_equal(n, 0);
	assert_int_equal(rsrc_history_since(t->db, 1, 1000, &since, err, sizeof(err)), -EBUSY);
	assert_int_equal(since, 0);
	assert_int_equal(rsrc_period(t->db, 1, 4, &per, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "reading observation: "));
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	sqlite3_busy_timeout(db_handle(t->db), 5000);
	exec("PRAGMA journal_mode = WAL");
	assert_int_equal(rsrc_latest(t->db, 1, 1000, 64, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	rsrc_latest_free(rows, n);
}

/* Interrupts the statement at the @limit-th progress callback. */
static int interrupt_after(void *arg)
{
	int *left = arg;
	return --*left <= 0;
}

/* A statement that fails after some rows (interrupted at every possible
 * point in turn) is an error with nothing returned, never a shorter list. */
static void test_rsrc_failure_mid_rows(void **state)
{
	(void)state;
	char err[ERRLEN];
	int failed = 0;
	for (int limit = 1;; limit++) {
		int left = limit;
		struct rsrc_latest *rows;
		struct rsrc_pin_seen *p;
		size_t n, np;
		sqlite3_progress_handler(db_handle(t->db), 1, interrupt_after, &left);
		int rc = rsrc_latest(t->db, 1, 1000, 64, &rows, &n, err, sizeof(err));
		left = limit;
		int rcp = rsrc_pins_seen(t->db, 1, 1000, &p, &np, err, sizeof(err));
		sqlite3_progress_handler(db_handle(t->db), 0, NULL, NULL);
		if (rc) {
			assert_int_equal(rc, -EIO);
			assert_null(rows);
			assert_int_equal(n, 0);
			failed++;
		} else {
			assert_int_equal(n, 3);
			rsrc_latest_free(rows, n);
		}
		if (rcp) {
			assert_int_equal(rcp, -EIO);
			assert_null(p);
			assert_int_equal(np, 0);
		} else {
			assert_int_equal(np, 4);
			free(p);
		}
		if (!rc && !rcp)
			break;
		assert_true(limit < 100000);
	}
	assert_true(failed > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsrc_latest_table),
		cmocka_unit_test(test_rsrc_latest_fields),
		cmocka_unit_test(test_rsrc_previous_chain_table),
		cmocka_unit_test(test_rsrc_variants_table),
		cmocka_unit_test(test_rsrc_pins_seen_table),
		cmocka_unit_test(test_rsrc_chain_table),
		cmocka_unit_test(test_rsrc_ca),
		cmocka_unit_test(test_rsrc_period),
		cmocka_unit_test(test_rsrc_bad_certificate_row),
		cmocka_unit_test(test_rsrc_busy_is_an_error),
		cmocka_unit_test(test_rsrc_failure_mid_rows),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
