/* unit.alertstate: what the alerts engine reads from other nouns' tables
 * (store/alertstate.h): the failing addresses of enabled endpoints. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store/alertstate.h"
#include "testdb.h"

static int setup(void **state)
{
	char err[ERRLEN];
	struct testdb *t = testdb_new();
	if (!t ||
	    db_exec(t->db,
		    "INSERT INTO chains (id, sha256, length) VALUES (1, zeroblob(32), 1);"
		    "INSERT INTO endpoints (id, host, port, interval_s, enabled, created_at,"
		    " updated_at) VALUES (1, 'a.test', 443, 300, 1, 0, 0),"
		    " (2, 'b.test', 8443, 300, 0, 0, 0), (3, 'c.test', 8443, 60, 1, 0, 0);"
		    "INSERT INTO observations (endpoint_id, address, outcome, presented_chain_id,"
		    " detail, first_seen, last_seen, probe_count) VALUES"
		    /* .1: ok, then failing twice since: 3 + 2 consecutive */
		    " (1, '10.0.0.1', 'ok', 1, NULL, 0, 100, 9),"
		    " (1, '10.0.0.1', 'timeout', NULL, NULL, 110, 200, 3),"
		    " (1, '10.0.0.1', 'refused', NULL, 'port closed', 210, 300, 2),"
		    /* .2: failed, ok again */
		    " (1, '10.0.0.2', 'timeout', NULL, NULL, 0, 100, 4),"
		    " (1, '10.0.0.2', 'ok', 1, NULL, 110, 300, 1),"
		    /* .3: a chain that does not validate, never ok */
		    " (1, '10.0.0.3', 'expired', 1, 'certificate expired', 0, 290, 7),"
		    /* .4: seen one interval before the latest probe (kept); .5: one second
		     * earlier (left DNS) */
		    " (1, '10.0.0.4', 'timeout', NULL, NULL, 0, 0, 1),"
		    " (1, '10.0.0.5', 'timeout', NULL, NULL, -1, -1, 1),"
		    /* a disabled endpoint */
		    " (2, '10.0.1.1', 'timeout', NULL, NULL, 0, 300, 5),"
		    " (3, '10.0.2.1', 'handshake', NULL, NULL, 50, 60, 2)",
		    err, sizeof(err)))
		return -1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	testdb_free(*state);
	return 0;
}

/* What the callback saw, flattened: "host:port address outcome chain consecutive detail". */
struct seen {
	char lines[16][160];
	size_t n, calls;
	int64_t ids[4];
	size_t naddrs[4];
	int fail_at; /* return -ENOSPC on this call (1-based; 0: never) */
};

static int collect(const struct alertstate_endpoint *ep, void *arg)
{
	struct seen *s = arg;
	if (s->calls < 4) {
		s->ids[s->calls] = ep->id;
		s->naddrs[s->calls] = ep->naddrs;
	}
	s->calls++;
	for (size_t i = 0; i < ep->naddrs && s->n < 16 && ep->naddrs < 16; i++) {
		const struct alertstate_addr *a = &ep->addrs[i];
		int w = snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%.40s:%d %s %s %d %lld %s",
				 ep->host, ep->port, a->address, a->outcome, a->has_chain,
				 (long long)a->consecutive, a->detail ? a->detail : "-");
		assert_true(w > 0 && (size_t)w < sizeof(s->lines[0]));
	}
	return s->fail_at && s->calls == (size_t)s->fail_at ? -ENOSPC : 0;
}

static void test_alertstate_failing_rows(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	struct seen s = { 0 };
	static const char *const want[] = {
		"a.test:443 10.0.0.1 refused 0 5 port closed",
		"a.test:443 10.0.0.3 expired 1 7 certificate expired",
		"a.test:443 10.0.0.4 timeout 0 1 -",
		"c.test:8443 10.0.2.1 handshake 0 2 -",
	};
	assert_int_equal(alertstate_failing(t->db, collect, &s, err, sizeof(err)), 0);
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.ids[0], 1);
	assert_int_equal(s.ids[1], 3);
	assert_int_equal(s.n, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_string_equal(s.lines[i], want[i]);
}

static void test_alertstate_failing_callback_stops(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN] = "";
	for (int at = 1; at <= 2; at++) {
		struct seen s = { .fail_at = at };
		assert_int_equal(alertstate_failing(t->db, collect, &s, err, sizeof(err)), -ENOSPC);
		assert_int_equal(s.calls, (size_t)at);
	}
}

static void test_alertstate_failing_caps_addresses(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	assert_int_equal(
		db_exec(t->db,
			"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < "
			"300)"
			" INSERT INTO observations (endpoint_id, address, outcome, first_seen,"
			" last_seen) SELECT 3, printf('10.9.%d.%d', i / 256, i % 256), 'timeout',"
			" 60, 60 FROM n",
			err, sizeof(err)),
		0);
	struct seen s = { 0 };
	assert_int_equal(alertstate_failing(t->db, collect, &s, err, sizeof(err)), 0);
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.naddrs[0], 3);
	assert_int_equal(s.naddrs[1], ALERTSTATE_MAX_ADDRS);
}

static void test_alertstate_failing_read_error(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN] = "";
	struct seen s = { 0 };
	assert_int_equal(
		db_exec(t->db, "ALTER TABLE observations RENAME TO gone", err, sizeof(err)), 0);
	assert_true(alertstate_failing(t->db, collect, &s, err, sizeof(err)) < 0);
	assert_int_equal(s.calls, 0);
	assert_non_null(strstr(err, "reading observations"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_alertstate_failing_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alertstate_failing_callback_stops, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_alertstate_failing_caps_addresses, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_alertstate_failing_read_error, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
