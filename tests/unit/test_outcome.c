/* unit.outcome: the probe outcome name table (model/outcome.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "model/outcome.h"

/* Every class round-trips through its name; the names are the strings the
 * database has always held. */
static void test_probe_outcome_name_table(void **state)
{
	(void)state;
	static const char *const names[PROBE_NOUTCOMES] = {
		"ok",	     "dns_error", "refused",   "unreachable",	"timeout",
		"tls_alert", "tls_error", "untrusted", "name_mismatch", "expired",
	};
	for (int i = 0; i < PROBE_NOUTCOMES; i++) {
		enum probe_outcome o = (enum probe_outcome) - 1;
		assert_string_equal(probe_outcome_name((enum probe_outcome)i), names[i]);
		assert_int_equal(probe_outcome_parse(names[i], &o), 0);
		assert_int_equal(o, i);
	}
	assert_string_equal(probe_outcome_name((enum probe_outcome)PROBE_NOUTCOMES), "unknown");
	assert_string_equal(probe_outcome_name((enum probe_outcome) - 1), "unknown");
}

static void test_probe_outcome_parse_table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int rc;
		enum probe_outcome out;
	} cases[] = {
		{ "ok", 0, PROBE_OUTCOME_OK },
		{ "tls_alert:handshake_failure", 0, PROBE_OUTCOME_TLS_ALERT },
		{ "tls_alert:", 0, PROBE_OUTCOME_TLS_ALERT },
		{ "tls_error:out_of_memory", 0, PROBE_OUTCOME_TLS_ERROR },
		{ "tls_error:a:b", 0, PROBE_OUTCOME_TLS_ERROR },
		{ "expired", 0, PROBE_OUTCOME_EXPIRED },
		{ "ok:", -EINVAL, 0 },	     /* ok takes no reason */
		{ "timeout:x", -EINVAL, 0 }, /* nor does timeout */
		{ "OK", -EINVAL, 0 },	     /* names are lower case */
		{ "o", -EINVAL, 0 },	     /* a prefix is not a name */
		{ "okay", -EINVAL, 0 },
		{ "tls", -EINVAL, 0 },
		{ "tls_alertx", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ ":ok", -EINVAL, 0 },
		{ "unknown", -EINVAL, 0 },
		{ NULL, -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum probe_outcome o = (enum probe_outcome) - 1;
		int rc = probe_outcome_parse(cases[i].in, &o);
		if (rc != cases[i].rc || (rc == 0 && o != cases[i].out))
			fail_msg("case %zu (%s): rc %d, outcome %d", i,
				 cases[i].in ? cases[i].in : "NULL", rc, (int)o);
		assert_int_equal(probe_outcome_is(cases[i].in, cases[i].out), cases[i].rc == 0);
	}
	assert_false(probe_outcome_is("timeout", PROBE_OUTCOME_OK));
	assert_false(probe_outcome_is("okay", PROBE_OUTCOME_OK));
}

static void test_probe_outcome_format_table(void **state)
{
	(void)state;
	static const struct {
		enum probe_outcome o;
		const char *reason;
		size_t len;
		int rc;
		const char *out;
	} cases[] = {
		{ PROBE_OUTCOME_DNS_ERROR, NULL, 64, 0, "dns_error" },
		{ PROBE_OUTCOME_DNS_ERROR, "", 64, 0, "dns_error" },
		{ PROBE_OUTCOME_TLS_ERROR, "out_of_memory", 64, 0, "tls_error:out_of_memory" },
		{ PROBE_OUTCOME_TLS_ALERT, "x", 12, 0, "tls_alert:x" }, /* exactly fits */
		{ PROBE_OUTCOME_TLS_ALERT, "xy", 12, -ENOSPC, NULL },	/* one too long */
		{ PROBE_OUTCOME_OK, NULL, 3, 0, "ok" },
		{ PROBE_OUTCOME_OK, NULL, 2, -ENOSPC, NULL },
		{ PROBE_OUTCOME_OK, "fine", 64, -EINVAL, NULL }, /* ok takes no reason */
		{ (enum probe_outcome)PROBE_NOUTCOMES, NULL, 64, -EINVAL, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64] = "";
		int rc = probe_outcome_format(buf, cases[i].len, cases[i].o, cases[i].reason);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
		if (cases[i].out)
			assert_string_equal(buf, cases[i].out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_outcome_name_table),
		cmocka_unit_test(test_probe_outcome_parse_table),
		cmocka_unit_test(test_probe_outcome_format_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
