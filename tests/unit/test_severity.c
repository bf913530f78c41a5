/* unit.severity: the one severity of rules, verdicts and alerts
 * (base/severity.h): its names, parsing and order. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/severity.h"
#include "base/util.h"

/* The names every surface prints (JSON, CLI, webhooks, /metrics, the
 * database's CHECK constraints): they must not change. */
static void test_severity_name_table(void **state)
{
	(void)state;
	static const struct {
		int s;
		const char *name;
	} cases[] = {
		{ SEVERITY_OK, "ok" },
		{ SEVERITY_INFO, "info" },
		{ SEVERITY_WARNING, "warning" },
		{ SEVERITY_CRITICAL, "critical" },
		{ SEVERITY_COUNT, "unknown" },
		{ -1, "unknown" },
		{ 1000, "unknown" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_string_equal(severity_name((enum severity)cases[i].s), cases[i].name);
}

static void test_severity_parse_table(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		enum severity lowest;
		int rc;
		enum severity want; /* *out afterwards (unchanged on error) */
	} cases[] = {
		{ "ok", SEVERITY_OK, 0, SEVERITY_OK },
		{ "info", SEVERITY_OK, 0, SEVERITY_INFO },
		{ "warning", SEVERITY_OK, 0, SEVERITY_WARNING },
		{ "critical", SEVERITY_OK, 0, SEVERITY_CRITICAL },
		/* rules, alerts and thresholds: info at least */
		{ "ok", SEVERITY_INFO, -EINVAL, SEVERITY_CRITICAL },
		{ "info", SEVERITY_INFO, 0, SEVERITY_INFO },
		{ "critical", SEVERITY_INFO, 0, SEVERITY_CRITICAL },
		/* the boundary: exactly @lowest is accepted, one below is not */
		{ "warning", SEVERITY_WARNING, 0, SEVERITY_WARNING },
		{ "info", SEVERITY_WARNING, -EINVAL, SEVERITY_CRITICAL },
		{ "critical", SEVERITY_CRITICAL, 0, SEVERITY_CRITICAL },
		{ "warning", SEVERITY_CRITICAL, -EINVAL, SEVERITY_CRITICAL },
		/* not names */
		{ "none", SEVERITY_OK, -EINVAL, SEVERITY_CRITICAL },
		{ "unknown", SEVERITY_OK, -EINVAL, SEVERITY_CRITICAL },
		{ "Warning", SEVERITY_OK, -EINVAL, SEVERITY_CRITICAL },
		{ "warning ", SEVERITY_OK, -EINVAL, SEVERITY_CRITICAL },
		{ "", SEVERITY_OK, -EINVAL, SEVERITY_CRITICAL },
		{ NULL, SEVERITY_OK, -EINVAL, SEVERITY_CRITICAL },
		{ "ok", (enum severity)SEVERITY_COUNT, -EINVAL, SEVERITY_CRITICAL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum severity got = SEVERITY_CRITICAL;
		int rc = severity_parse(cases[i].s, cases[i].lowest, &got);
		if (rc != cases[i].rc || got != cases[i].want)
			fail_msg("case %zu (%s, lowest %d): %d/%d, want %d/%d", i,
				 cases[i].s ? cases[i].s : "NULL", (int)cases[i].lowest, rc,
				 (int)got, cases[i].rc, (int)cases[i].want);
	}
	/* every name parses back to itself */
	for (int s = SEVERITY_OK; s < SEVERITY_COUNT; s++) {
		enum severity got;
		assert_int_equal(severity_parse(severity_name((enum severity)s), SEVERITY_OK, &got),
				 0);
		assert_int_equal(got, s);
	}
}

static void test_severity_order(void **state)
{
	(void)state;
	assert_true(SEVERITY_OK < SEVERITY_INFO);
	assert_true(SEVERITY_INFO < SEVERITY_WARNING);
	assert_true(SEVERITY_WARNING < SEVERITY_CRITICAL);
	assert_int_equal(SEVERITY_CRITICAL + 1, SEVERITY_COUNT);
	static const struct {
		enum severity a, b, max;
	} cases[] = {
		{ SEVERITY_OK, SEVERITY_OK, SEVERITY_OK },
		{ SEVERITY_OK, SEVERITY_INFO, SEVERITY_INFO },
		{ SEVERITY_CRITICAL, SEVERITY_WARNING, SEVERITY_CRITICAL },
		{ SEVERITY_WARNING, SEVERITY_CRITICAL, SEVERITY_CRITICAL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(severity_max(cases[i].a, cases[i].b), cases[i].max);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_severity_name_table),
		cmocka_unit_test(test_severity_parse_table),
		cmocka_unit_test(test_severity_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
