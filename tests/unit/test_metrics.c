/* metrics: counters, histogram, label escaping, the outcome cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/db.h"
#include "http/metrics.h"
#include "base/util.h"

static struct db *db;
static char path[64];

static int setup(void **state)
{
	(void)state;
	char err[ERRLEN];
	snprintf(path, sizeof(path), "/tmp/pinwatch-metrics-%d.db", (int)getpid());
	unlink(path);
	db = db_open(path, 0, err, sizeof(err));
	return db ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	db_close(db);
	unlink(path);
	char wal[80];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", path);
	unlink(wal);
	return 0;
}

static char *render(void)
{
	char err[ERRLEN], *out = NULL;
	size_t len = 0;
	assert_int_equal(metrics_render(db, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(strlen(out), len);
	return out;
}

static void test_metrics_escape_label_table(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "new\nline", "new\\nline" },
		{ "", "" },
	};
	char buf[64];
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_string_equal(metrics_escape_label(cases[i].in, buf, sizeof(buf)),
				    cases[i].out);
	/* bounded: never writes past the buffer, always terminated */
	char small[6];
	metrics_escape_label("\"\"\"\"\"\"", small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
}

static void test_metrics_probe_observe_histogram(void **state)
{
	(void)state;
	metrics_reset();
	metrics_probe_observe("ok", 0.05);    /* boundary: le="0.05" */
	metrics_probe_observe("ok", 0.051);   /* next bucket */
	metrics_probe_observe("timeout", 31); /* only +Inf */
	metrics_probe_observe(NULL, -1);      /* unknown, clamped to 0 */
	char *out = render();
	assert_non_null(strstr(out, "pinwatch_probe_duration_seconds_bucket{le=\"0.05\"} 2\n"));
	assert_non_null(strstr(out, "pinwatch_probe_duration_seconds_bucket{le=\"0.1\"} 3\n"));
	assert_non_null(strstr(out, "pinwatch_probe_duration_seconds_bucket{le=\"30\"} 3\n"));
	assert_non_null(strstr(out, "pinwatch_probe_duration_seconds_bucket{le=\"+Inf\"} 4\n"));
	assert_non_null(strstr(out, "pinwatch_probe_duration_seconds_count 4\n"));
	assert_non_null(strstr(out, "pinwatch_probes_total{outcome=\"ok\"} 2\n"));
	assert_non_null(strstr(out, "pinwatch_probes_total{outcome=\"unknown\"} 1\n"));
	free(out);
}

static void test_metrics_outcome_cap(void **state)
{
	(void)state;
	char name[32];
	metrics_reset();
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "tls_alert:%d\"x", i);
		metrics_probe_observe(name, 0.2);
	}
	char *out = render();
	/* 32 distinct outcomes, escaped, then everything else as "other" */
	assert_non_null(strstr(out, "pinwatch_probes_total{outcome=\"tls_alert:0\\\"x\"} 1\n"));
	assert_non_null(strstr(out, "pinwatch_probes_total{outcome=\"other\"} 8\n"));
	assert_null(strstr(out, "tls_alert:35"));
	free(out);
}

static void test_metrics_sweep_and_db_gauges(void **state)
{
	(void)state;
	char err[ERRLEN], sql[256];
	metrics_reset();
	metrics_sweep_observe(12, 3.5);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO endpoints (host, created_at, updated_at, next_probe_at) VALUES "
		 "('a.test', 0, 0, %lld)",
		 (long long)util_now() - 100);
	assert_int_equal(db_exec(db, sql, err, sizeof(err)), 0);
	char *out = render();
	assert_non_null(strstr(out, "pinwatch_sweeps_total 1\n"));
	assert_non_null(strstr(out, "pinwatch_last_sweep_duration_seconds 3.500\n"));
	const char *lag = strstr(out, "\npinwatch_sweep_lag_seconds ");
	assert_non_null(lag);
	assert_true(atoll(lag + strlen("\npinwatch_sweep_lag_seconds ")) >= 100);
	assert_non_null(strstr(out, "pinwatch_webhook_queue_depth 0\n"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_escape_label_table),
		cmocka_unit_test(test_metrics_probe_observe_histogram),
		cmocka_unit_test(test_metrics_outcome_cap),
		cmocka_unit_test(test_metrics_sweep_and_db_gauges),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
