/* unit.observations: run-length encoding, chains stored once, read API. */
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
#include <gnutls/gnutls.h>

#include "store/db.h"
#include "store/observations.h"
#include "base/util.h"
#include "fakecert.h"
#include "testdb.h"

static char dir[64], path[128];
static struct db *db;
static int64_t ep;

static int setup(void **state)
{
	(void)state;
	char err[ERRLEN];
	if (testdb_mkdir("obs", dir, sizeof(dir), path, sizeof(path)))
		return -1;
	db = db_open(path, 0, err, sizeof(err));
	if (!db || db_exec(db,
			   "INSERT INTO endpoints (host, port, created_at, updated_at) "
			   "VALUES ('api.example.test', 443, 1, 1)",
			   err, sizeof(err)))
		return -1;
	return db_query_int(db, "SELECT id FROM endpoints", &ep);
}

static int teardown(void **state)
{
	(void)state;
	db_close(db);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void result(struct probe_result *r, const char *addr, const char *outcome, time_t at,
		   const char *const *chain, size_t n)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->address, sizeof(r->address), "%s", addr);
	snprintf(r->outcome, sizeof(r->outcome), "%s", outcome);
	r->at = at;
	if (n) {
		r->handshake_ok = true;
		r->trusted = r->name_ok = true;
		r->presented.certs = calloc(n, sizeof(struct x509_cert_info));
		r->validated.certs = calloc(n + 1, sizeof(struct x509_cert_info));
		for (size_t i = 0; i < n; i++) {
			fakecert_make(&r->presented.certs[i], chain[i]);
			fakecert_make(&r->validated.certs[i], chain[i]);
		}
		fakecert_make(&r->validated.certs[n], "CN=root");
		r->presented.n = n;
		r->validated.n = n + 1;
	}
}

static void record(const char *addr, const char *outcome, time_t at, const char *const *chain,
		   size_t n, bool want_opened)
{
	struct probe_result r;
	char err[ERRLEN];
	bool opened;
	result(&r, addr, outcome, at, chain, n);
	assert_int_equal(db_begin(db), 0);
	if (obs_record(db, ep, &r, &opened, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(opened, want_opened);
	probe_result_clear(&r);
}

static int64_t count(const char *sql)
{
	int64_t v = -1;
	assert_int_equal(db_query_int(db, sql, &v), 0);
	return v;
}

static void test_obs_record_run_length(void **state)
{
	(void)state;
	static const char *const a[] = { "CN=leaf A", "CN=inter" };
	static const char *const b[] = { "CN=leaf B", "CN=inter" };
	record("192.0.2.1", "ok", 100, a, 2, true);
	record("192.0.2.1", "ok", 200, a, 2, false);	    /* unchanged */
	record("192.0.2.1", "timeout", 300, NULL, 0, true); /* outcome changes */
	record("192.0.2.1", "timeout", 350, NULL, 0, false);
	record("192.0.2.1", "ok", 400, a, 2, true); /* back: a new period */
	record("192.0.2.1", "ok", 500, b, 2, true); /* chain changes */
	record("192.0.2.2", "ok", 500, a, 2, true); /* another address */
	record("-", "dns_error", 600, NULL, 0, true);
	assert_int_equal(count("SELECT count(*) FROM observations"), 6);
	/* leaf A, leaf B, inter, root: each once; chains: A, B (presented), A, B (validated). */
	assert_int_equal(count("SELECT count(*) FROM certificates"), 4);
	assert_int_equal(count("SELECT count(*) FROM chains"), 4);
	assert_int_equal(count("SELECT count(*) FROM chain_certs"), 2 + 2 + 3 + 3);
	assert_int_equal(count("SELECT probe_count FROM observations WHERE first_seen = 100"), 2);
	assert_int_equal(count("SELECT last_seen FROM observations WHERE first_seen = 100"), 200);
	assert_int_equal(count("SELECT count(*) FROM observations WHERE outcome = 'timeout' AND "
			       "presented_chain_id IS NULL AND trusted IS NULL"),
			 1);
}

static void test_obs_latest_and_history(void **state)
{
	(void)state;
	struct obs_row *rows;
	size_t n;
	char err[ERRLEN];
	assert_int_equal(obs_latest(db, ep, 0, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3); /* "-", 192.0.2.1, 192.0.2.2 */
	assert_string_equal(rows[0].address, "-");
	assert_string_equal(rows[0].outcome, "dns_error");
	assert_int_equal(rows[0].presented.n, 0);
	assert_int_equal(rows[0].trusted, -1);
	assert_string_equal(rows[1].address, "192.0.2.1");
	assert_int_equal(rows[1].presented.n, 2);
	assert_string_equal(rows[1].presented.certs[0].subject, "CN=leaf B");
	assert_int_equal(rows[1].validated.n, 3);
	assert_string_equal(rows[1].validated.certs[2].subject, "CN=root");
	assert_int_equal(rows[1].validated.certs[2].der_len, strlen("CN=root"));
	assert_memory_equal(rows[1].validated.certs[2].der, "CN=root", strlen("CN=root"));
	assert_int_equal(rows[1].trusted, 1);
	obs_rows_free(rows, n);
	/* since: only addresses seen at or after 550. */
	assert_int_equal(obs_latest(db, ep, 550, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].address, "-");
	obs_rows_free(rows, n);
	/* History of one address, in order, and a limit. */
	assert_int_equal(obs_history(db, ep, "192.0.2.1", 0, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	static const char *const want[] = { "ok", "timeout", "ok", "ok" };
	for (size_t i = 0; i < n; i++)
		assert_string_equal(rows[i].outcome, want[i]);
	assert_true(rows[0].presented_chain_id == rows[2].presented_chain_id);
	assert_true(rows[2].presented_chain_id != rows[3].presented_chain_id);
	obs_rows_free(rows, n);
	assert_int_equal(obs_history(db, ep, NULL, 2, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	obs_rows_free(rows, n);
	/* An unknown endpoint has no rows; an unknown chain is -ENOENT. */
	assert_int_equal(obs_latest(db, ep + 100, 0, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	obs_rows_free(rows, n);
	struct x509_chain ch;
	assert_int_equal(obs_chain_load(db, 9999, &ch, err, sizeof(err)), -ENOENT);
}

static void test_obs_sweeps_and_endpoint_times(void **state)
{
	(void)state;
	char err[ERRLEN];
	int64_t id;
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(obs_sweep_begin(db, 1000, &id, err, sizeof(err)), 0);
	assert_int_equal(obs_sweep_end(db, id, 1010, 5, 2, err, sizeof(err)), 0);
	assert_int_equal(obs_endpoint_probed(db, ep, 1010, 1310, err, sizeof(err)), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(count("SELECT probes * 10 + failures FROM sweeps"), 52);
	assert_int_equal(count("SELECT next_probe_at - last_probe_at FROM endpoints"), 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_obs_record_run_length),
		cmocka_unit_test(test_obs_latest_and_history),
		cmocka_unit_test(test_obs_sweeps_and_endpoint_times),
	};
	gnutls_global_init();
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	gnutls_global_deinit();
	return rc;
}
