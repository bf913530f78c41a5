#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/config.h"
#include "base/util.h"

static char path[64];

static int write_conf(const char *text)
{
	snprintf(path, sizeof(path), "/tmp/pinwatch-test-conf-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void test_config_load_valid(void **state)
{
	(void)state;
	struct config c;
	char err[ERRLEN];
	config_defaults(&c);
	assert_int_equal(
		write_conf("[storage]\npath = /tmp/x.db\n[http]\nlisten = [::1]:9090\n"
			   "public_read = true\nmax_body = 2M\n[probe]\nconcurrency = 1024\n"
			   "interval = 10m\n[alerts]\nexpiry_days = 21,7\n"),
		0);
	assert_int_equal(config_load(&c, path, err, sizeof(err)), 0);
	assert_string_equal(c.storage_path, "/tmp/x.db");
	assert_string_equal(c.http_listen, "[::1]:9090");
	assert_true(c.http_public_read);
	assert_int_equal(c.http_max_body, 2 << 20);
	assert_int_equal(c.probe_concurrency, 1024);
	assert_int_equal(c.probe_interval_s, 600);
	assert_int_equal(c.alerts_expiry_days[0], 21);
	assert_int_equal(c.alerts_expiry_days[1], 7);
	assert_int_equal(c.alerts_expiry_days[2], 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	unlink(path);
}

static void test_config_errors_name_file_and_line(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *expect; /* substring after "path:" */
	} cases[] = {
		{ "[probe]\nconcurrency = 0\n",
		  ":2: [probe] concurrency: expected an integer in [1, 4096]" },
		{ "[probe]\nconcurrency = 5000\n", ":2: [probe] concurrency" },
		{ "[probe]\n\nbogus = 1\n", ":3: unknown key 'bogus' in section [probe]" },
		{ "[nosuch]\nkey = 1\n", ":2: unknown key 'key' in section [nosuch]" },
		{ "[http]\npublic_read = maybe\n",
		  ":2: [http] public_read: expected true or false" },
		{ "[probe]\ninterval = 5x\n", ":2: [probe] interval: expected a duration" },
		{ "[alerts]\nexpiry_days = 14,30,7\n",
		  ":2: [alerts] expiry_days: '14,30,7' is in neither descending" },
		{ "[alerts]\n#c\nexpiry_days = 30,14,7,2,1\n",
		  ":3: [alerts] expiry_days: at most 4 day counts" },
		{ "[alerts]\nexpiry_days = 30,0\n",
		  ":2: [alerts] expiry_days: '0' is not a day count in [1, 3650]" },
		{ "[alerts]\nexpiry_days = 30,-2\n",
		  ":2: [alerts] expiry_days: '-2' is not a day" },
		{ "[alerts]\nexpiry_days = 3651\n",
		  ":2: [alerts] expiry_days: '3651' is not a day" },
		{ "[alerts]\nexpiry_days = 14,14\n",
		  ":2: [alerts] expiry_days: 14 days is given twice" },
		{ "[alerts]\nexpiry_days = ,\n", ":2: [alerts] expiry_days: expected 1 to 4" },
		{ "[log]\nlevel = loud\n", ":2: [log] level" },
		{ "no section line\n", ":1: syntax error" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct config c;
		char err[ERRLEN] = "";
		config_defaults(&c);
		assert_int_equal(write_conf(cases[i].text), 0);
		assert_int_not_equal(config_load(&c, path, err, sizeof(err)), 0);
		if (!strstr(err, cases[i].expect) || strncmp(err, path, strlen(path)) != 0)
			fail_msg("case %zu: got '%s', want '%s%s'", i, err, path, cases[i].expect);
		unlink(path);
	}
}

/* [probe] discover_interval: 0 (off) or 1m .. 30d; 6h by default. */
static void test_config_discover_interval_table(void **state)
{
	(void)state;
	static const struct {
		const char *value;
		int ok;
		int64_t want;
	} cases[] = {
		{ "0", 1, 0 },	    { "0s", 1, 0 },
		{ "0x", 0, 0 },	    { "1m", 1, 60 },
		{ "59s", 0, 0 },    { "60", 1, 60 },
		{ "6h", 1, 21600 }, { "30d", 1, 30LL * 86400 },
		{ "31d", 0, 0 },    { "2592001", 0, 0 },
		{ "-1m", 0, 0 },    { "soon", 0, 0 },
		{ "", 0, 0 },
	};
	struct config c;
	config_defaults(&c);
	assert_int_equal(c.probe_discover_interval_s, 6 * 3600);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char text[128], err[ERRLEN] = "";
		snprintf(text, sizeof(text), "[probe]\ndiscover_interval = %s\n", cases[i].value);
		config_defaults(&c);
		assert_int_equal(write_conf(text), 0);
		int rc = config_load(&c, path, err, sizeof(err));
		if ((rc == 0) != cases[i].ok)
			fail_msg("case %zu ('%s'): rc %d, %s", i, cases[i].value, rc, err);
		if (cases[i].ok)
			assert_int_equal(c.probe_discover_interval_s, cases[i].want);
		else
			assert_non_null(
				strstr(err, ":2: [probe] discover_interval: expected 0 (off)"));
		unlink(path);
	}
}

static void test_config_missing_file(void **state)
{
	(void)state;
	struct config c;
	char err[ERRLEN];
	config_defaults(&c);
	assert_int_equal(config_load(&c, "/nonexistent/pinwatch.conf", err, sizeof(err)), -ENOENT);
}

static void test_config_secret_file_mode(void **state)
{
	(void)state;
	char err[ERRLEN];
	assert_int_equal(write_conf("secret"), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(config_check_secret_file(path, err, sizeof(err)), 0);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(config_check_secret_file(path, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "accessible by group or others"));
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(config_check_secret_file(path, err, sizeof(err)), -EACCES);
	unlink(path);
}

static void test_config_tls_pair_required(void **state)
{
	(void)state;
	struct config c;
	char err[ERRLEN];
	config_defaults(&c);
	snprintf(c.http_tls_cert, sizeof(c.http_tls_cert), "/tmp/cert.pem");
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_load_valid),
		cmocka_unit_test(test_config_errors_name_file_and_line),
		cmocka_unit_test(test_config_discover_interval_table),
		cmocka_unit_test(test_config_missing_file),
		cmocka_unit_test(test_config_secret_file_mode),
		cmocka_unit_test(test_config_tls_pair_required),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
