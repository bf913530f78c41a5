/* config_validate() on the files a config names, and config_check_cli()
 * (`pinwatch serve --check-config`). Certificates are generated at test time. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "cli/cli.h"
#include "base/config.h"
#include "cli/config_check.h"
#include "base/util.h"

static char dir[64];
static char conf_path[128], cert_path[128], key_path[128], key2_path[128], db_path[128];

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void write_key(gnutls_x509_privkey_t key, const char *path)
{
	gnutls_datum_t pem;
	assert_int_equal(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &pem), 0);
	write_file(path, pem.data, pem.size, 0600);
	gnutls_free(pem.data);
}

/* A self-signed P-256 certificate for localhost and its key, plus a second key. */
static int setup(void **state)
{
	(void)state;
	gnutls_x509_privkey_t key, key2;
	gnutls_x509_crt_t crt;
	gnutls_datum_t pem;
	time_t now = time(NULL);

	snprintf(dir, sizeof(dir), "/tmp/pinwatch-test-cc-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(conf_path, sizeof(conf_path), "%s/pinwatch.conf", dir);
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
	snprintf(key2_path, sizeof(key2_path), "%s/key2.pem", dir);
	snprintf(db_path, sizeof(db_path), "%s/pinwatch.db", dir);

	if (gnutls_x509_privkey_init(&key) || gnutls_x509_privkey_init(&key2) ||
	    gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) ||
	    gnutls_x509_privkey_generate(key2, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) ||
	    gnutls_x509_crt_init(&crt))
		return -1;
	unsigned char serial[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	if (gnutls_x509_crt_set_version(crt, 3) ||
	    gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)) ||
	    gnutls_x509_crt_set_activation_time(crt, now - 3600) ||
	    gnutls_x509_crt_set_expiration_time(crt, now + 86400) ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "localhost", 9) ||
	    gnutls_x509_crt_set_key(crt, key) ||
	    gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) ||
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem))
		return -1;
	write_file(cert_path, pem.data, pem.size, 0644);
	gnutls_free(pem.data);
	write_key(key, key_path);
	write_key(key2, key2_path);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	gnutls_x509_privkey_deinit(key2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	const char *files[] = { conf_path, cert_path, key_path, key2_path, db_path };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		unlink(files[i]);
	char garbage[160];
	snprintf(garbage, sizeof(garbage), "%s/garbage.pem", dir);
	unlink(garbage);
	rmdir(dir);
	return 0;
}

/* Load @text as a config file and validate it; returns the rc, message in @err. */
static int validate_text(const char *text, char *err, size_t errlen)
{
	struct config c;
	config_defaults(&c);
	write_file(conf_path, text, strlen(text), 0640);
	int rc = config_load(&c, conf_path, err, errlen);
	assert_int_equal(rc, 0);
	return config_validate(&c, err, errlen);
}

static void test_config_parse_listen_table(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int ok;
		int family;
	} cases[] = {
		{ "127.0.0.1:8080", 1, AF_INET },
		{ "0.0.0.0:1", 1, AF_INET },
		{ "[::1]:8080", 1, AF_INET6 },
		{ "[::]:65535", 1, AF_INET6 },
		{ "127.0.0.1:0", 1, AF_INET },
		{ "localhost:8080", 1, AF_INET },
		{ ":8080", 1, 0 },
		{ "127.0.0.1:65536", 0, 0 },
		{ "127.0.0.1", 0, 0 },
		{ "::1:8080", 0, 0 },
		{ "[::1]8080", 0, 0 },
		{ "[::1:8080", 0, 0 },
		{ "[]:80", 0, 0 },
		{ "[127.0.0.1]:80", 0, 0 },
		{ "127.0.0.1:80x", 0, 0 },
		{ "127.0.0.1:", 0, 0 },
		{ "no-such-host.invalid:80", 0, 0 },
		{ "", 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sockaddr_storage ss;
		socklen_t len = 0;
		char err[ERRLEN] = "";
		int rc = config_parse_listen(cases[i].s, &ss, &len, err, sizeof(err));
		if ((rc == 0) != cases[i].ok)
			fail_msg("'%s': rc %d (%s)", cases[i].s, rc, err);
		if (cases[i].ok) {
			if (cases[i].family)
				assert_int_equal(ss.ss_family, cases[i].family);
			assert_true(len > 0);
		} else {
			assert_non_null(strstr(err, cases[i].s));
		}
	}
}

static void expect_error(const char *text, const char *want)
{
	char err[ERRLEN] = "";
	int rc = validate_text(text, err, sizeof(err));
	if (rc == 0 || !strstr(err, want))
		fail_msg("config:\n%s\nrc %d, got '%s', want '%s'", text, rc, err, want);
}

static void test_config_validate_names_file_and_line(void **state)
{
	(void)state;
	char want[512], text[512];

	snprintf(want, sizeof(want), "%s:3: [http] listen: '127.0.0.1:80:80'", conf_path);
	expect_error("[http]\n\nlisten = 127.0.0.1:80:80\n", want);
	snprintf(want, sizeof(want), "%s:2: [http] base_url: 'ftp://x.example/'", conf_path);
	expect_error("[http]\nbase_url = ftp://x.example/\n", want);
	expect_error("[http]\nbase_url = not a url\n", "[http] base_url: 'not a url' is not a URL");
	snprintf(want, sizeof(want), "%s:3: [http] per_ip_connections: 100 exceeds", conf_path);
	expect_error("[http]\nmax_connections = 10\nper_ip_connections = 100\n", want);

	/* Defaults carry no file:line. */
	char err[ERRLEN];
	assert_int_equal(validate_text("[log]\nlevel = debug\n", err, sizeof(err)), 0);

	snprintf(text, sizeof(text), "[http]\ntls_cert = %s\n", cert_path);
	snprintf(want, sizeof(want),
		 "%s:2: [http] tls_cert: tls_cert and tls_key must be given together", conf_path);
	expect_error(text, want);
}

static void test_config_validate_tls_files(void **state)
{
	(void)state;
	char text[512], want[512], err[ERRLEN];

	snprintf(text, sizeof(text), "[http]\ntls_cert = %s\ntls_key = %s\nlisten = [::1]:8443\n",
		 cert_path, key_path);
	assert_int_equal(validate_text(text, err, sizeof(err)), 0);

	/* A key readable by the group is refused, naming the line of tls_key. */
	assert_int_equal(chmod(key_path, 0640), 0);
	snprintf(want, sizeof(want), "%s:3: [http] tls_key: %s: secrets file is accessible",
		 conf_path, key_path);
	expect_error(text, want);
	assert_int_equal(chmod(key_path, 0600), 0);

	/* A key that does not belong to the certificate. */
	snprintf(text, sizeof(text), "[http]\ntls_cert = %s\ntls_key = %s\n", cert_path, key2_path);
	snprintf(want, sizeof(want), "%s:2: [http] tls_cert: %s with %s:", conf_path, cert_path,
		 key2_path);
	expect_error(text, want);

	/* A missing certificate. */
	snprintf(text, sizeof(text), "[http]\ntls_cert = %s/none.pem\ntls_key = %s\n", dir,
		 key_path);
	expect_error(text, "none.pem: No such file or directory");
}

static void test_config_validate_ca_file(void **state)
{
	(void)state;
	char text[512], err[ERRLEN], garbage[160];

	snprintf(text, sizeof(text), "[probe]\nca_file = %s\n", cert_path);
	assert_int_equal(validate_text(text, err, sizeof(err)), 0);

	snprintf(text, sizeof(text), "[probe]\nca_file = %s/none.pem\n", dir);
	expect_error(text, "[probe] ca_file:");

	snprintf(garbage, sizeof(garbage), "%s/garbage.pem", dir);
	write_file(garbage, "hello\n", 6, 0644);
	snprintf(text, sizeof(text), "# comment\n[probe]\nca_file = %s\n", garbage);
	char want[512];
	snprintf(want, sizeof(want), "%s:3: [probe] ca_file: %s:", conf_path, garbage);
	expect_error(text, want);

	snprintf(text, sizeof(text), "[probe]\nca_file = %s\n", dir);
	expect_error(text, "not a regular file");
}

static int check_cli(const char *config, const char *db)
{
	struct cli_global g;
	memset(&g, 0, sizeof(g));
	g.config_path = config;
	g.db_path = db;
	return config_check_cli(&g);
}

static void test_config_check_cli_exit_codes(void **state)
{
	(void)state;
	char text[512], other[160];

	unsetenv("PINWATCH_DB");
	snprintf(text, sizeof(text), "[storage]\npath = %s\n[http]\nlisten = 127.0.0.1:9\n",
		 db_path);
	write_file(conf_path, text, strlen(text), 0640);
	assert_int_equal(check_cli(conf_path, NULL), EXIT_OK);

	/* The database directory must exist... */
	snprintf(text, sizeof(text), "[storage]\npath = %s/missing/pinwatch.db\n", dir);
	write_file(conf_path, text, strlen(text), 0640);
	assert_int_equal(check_cli(conf_path, NULL), EXIT_USAGE);
	/* ...unless --db or $PINWATCH_DB points elsewhere. */
	assert_int_equal(check_cli(conf_path, db_path), EXIT_OK);
	setenv("PINWATCH_DB", db_path, 1);
	assert_int_equal(check_cli(conf_path, NULL), EXIT_OK);
	unsetenv("PINWATCH_DB");
	/* A directory where the database file should be. */
	assert_int_equal(check_cli(conf_path, dir), EXIT_USAGE);

	/* Parse errors, range errors and validation errors are all exit 2. */
	write_file(conf_path, "[probe]\nbogus = 1\n", 18, 0640);
	assert_int_equal(check_cli(conf_path, db_path), EXIT_USAGE);
	write_file(conf_path, "[probe]\nconcurrency = 0\n", 24, 0640);
	assert_int_equal(check_cli(conf_path, db_path), EXIT_USAGE);
	write_file(conf_path, "[http]\nlisten = nowhere\n", 24, 0640);
	assert_int_equal(check_cli(conf_path, db_path), EXIT_USAGE);
	/* [alerts] expiry_days: either order is fine, a mixed one is not. */
	static const char asc[] = "[alerts]\nexpiry_days = 2,7,14,30\n";
	static const char mixed[] = "[alerts]\nexpiry_days = 14,30,7\n";
	static const char many[] = "[alerts]\nexpiry_days = 60,30,14,7,2\n";
	write_file(conf_path, asc, strlen(asc), 0640);
	assert_int_equal(check_cli(conf_path, db_path), EXIT_OK);
	write_file(conf_path, mixed, strlen(mixed), 0640);
	assert_int_equal(check_cli(conf_path, db_path), EXIT_USAGE);
	write_file(conf_path, many, strlen(many), 0640);
	assert_int_equal(check_cli(conf_path, db_path), EXIT_USAGE);
	snprintf(other, sizeof(other), "%s/absent.conf", dir);
	assert_int_equal(check_cli(other, db_path), EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_parse_listen_table),
		cmocka_unit_test(test_config_validate_names_file_and_line),
		cmocka_unit_test(test_config_validate_tls_files),
		cmocka_unit_test(test_config_validate_ca_file),
		cmocka_unit_test(test_config_check_cli_exit_codes),
	};
	if (gnutls_global_init() < 0)
		return 1;
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	gnutls_global_deinit();
	return rc;
}
