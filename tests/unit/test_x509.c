/* unit.x509: pins of every key type and container, PEM and DER, against
 * values computed independently by certtool (gnutls-bin) at test time. */
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

#include "base/util.h"
#include "pki/x509.h"

static char dir[64];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* First line of a command's output. */
static void capture(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void capture(char *out, size_t len, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	out[0] = '\0';
	if (!fgets(out, (int)len, p))
		out[0] = '\0';
	pclose(p);
	out[strcspn(out, "\r\n")] = '\0';
}

static const struct keytype {
	const char *name; /* file stem */
	const char *gen;  /* certtool --generate-privkey arguments */
	const char *type; /* expected key_type */
	unsigned bits;
} keytypes[] = {
	{ "rsa", "--key-type rsa --bits 2048", "RSA", 2048 },
	{ "p256", "--key-type ecdsa --curve secp256r1", "ECDSA P-256", 256 },
	{ "p384", "--key-type ecdsa --curve secp384r1", "ECDSA P-384", 384 },
	{ "p521", "--key-type ecdsa --curve secp521r1", "ECDSA P-521", 521 },
	{ "ed25519", "--key-type ed25519", "Ed25519", 256 },
};

static int setup_all(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pinwatch-test-x509-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (run("printf 'cn = \"pin test %%s\"\\nserial = 7\\nexpiration_days = 30\\n' x > %s/tmpl",
		dir))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(keytypes); i++) {
		const char *n = keytypes[i].name;
		if (run("cd %s && certtool --generate-privkey %s --outfile %s.key >/dev/null 2>&1 "
			"&& "
			"openssl pkey -in %s.key -out %s.p8 2>/dev/null && "
			"openssl pkey -in %s.key -outform DER -out %s.key.der 2>/dev/null && "
			"openssl pkey -in %s.key -pubout -out %s.pub 2>/dev/null && "
			"openssl pkey -in %s.key -pubout -outform DER -out %s.pub.der 2>/dev/null "
			"&& "
			"certtool --generate-self-signed --load-privkey %s.key --template tmpl "
			"--outfile %s.crt >/dev/null 2>&1 && "
			"openssl x509 -in %s.crt -outform DER -out %s.crt.der 2>/dev/null && "
			"certtool --generate-request --load-privkey %s.key --template tmpl "
			"--outfile %s.csr >/dev/null 2>&1 && "
			"openssl req -in %s.csr -outform DER -out %s.csr.der 2>/dev/null",
			dir, keytypes[i].gen, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n))
			return -1;
	}
	return run("cd %s && cat rsa.crt p256.crt p384.crt p521.crt ed25519.crt > bundle.pem && "
		   "cat rsa.crt.der p256.crt.der > bundle.der && : > empty && "
		   "head -c 300 p256.crt > trunc.pem && head -c 200 rsa.crt.der > trunc.der && "
		   "head -c 2000 /dev/urandom > garbage && "
		   "printf -- '-----BEGIN CERTIFICATE-----\\n!!!!\\n-----END CERTIFICATE-----\\n' "
		   "> badb64.pem && "
		   "openssl ecparam -name prime256v1 -genkey -out ecparam.pem 2>/dev/null",
		   dir);
}

static int teardown_all(void **state)
{
	(void)state;
	return run("rm -rf %s", dir);
}

/* The SPKI SHA-256 of @stem's key, by certtool. */
static void expected_pin(const char *stem, uint8_t pin[32])
{
	char hex[128];
	capture(hex, sizeof(hex),
		"certtool --key-id --hash sha256 --load-privkey %s/%s.key 2>/dev/null | tail -n 1",
		dir, stem);
	assert_int_equal(strlen(hex), 64);
	assert_int_equal(util_unhex(hex, pin, 32), 0);
}

static void check_one(const char *file, enum x509_key_source src, const struct keytype *kt,
		      const uint8_t want[32])
{
	char path[256], err[ERRLEN];
	struct x509_key *keys = NULL;
	size_t n = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int rc = x509_keys_load_file(path, &keys, &n, err, sizeof(err));
	if (rc)
		fail_msg("%s: %s", file, err);
	assert_int_equal(n, 1);
	assert_int_equal(keys[0].source, src);
	assert_memory_equal(keys[0].pin, want, 32);
	assert_string_equal(keys[0].key_type, kt->type);
	assert_int_equal(keys[0].key_bits, kt->bits);
	free(keys);
}

static void test_x509_keys_load_file_every_type_and_container(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(keytypes); i++) {
		const struct keytype *kt = &keytypes[i];
		uint8_t want[32];
		char f[64];
		expected_pin(kt->name, want);
		static const struct {
			const char *sfx;
			enum x509_key_source src;
		} forms[] = {
			{ "key", X509_SRC_PRIVKEY },	 { "p8", X509_SRC_PRIVKEY },
			{ "key.der", X509_SRC_PRIVKEY }, { "pub", X509_SRC_PUBKEY },
			{ "pub.der", X509_SRC_PUBKEY },	 { "crt", X509_SRC_CERT },
			{ "crt.der", X509_SRC_CERT },	 { "csr", X509_SRC_CSR },
			{ "csr.der", X509_SRC_CSR },
		};
		for (size_t k = 0; k < ARRAY_SIZE(forms); k++) {
			snprintf(f, sizeof(f), "%s.%s", kt->name, forms[k].sfx);
			check_one(f, forms[k].src, kt, want);
		}
	}
}

static void test_x509_keys_load_file_bundles(void **state)
{
	(void)state;
	char path[256], err[ERRLEN];
	struct x509_key *keys = NULL;
	size_t n = 0;
	snprintf(path, sizeof(path), "%s/bundle.pem", dir);
	assert_int_equal(x509_keys_load_file(path, &keys, &n, err, sizeof(err)), 0);
	assert_int_equal(n, ARRAY_SIZE(keytypes));
	for (size_t i = 0; i < n; i++) {
		uint8_t want[32];
		expected_pin(keytypes[i].name, want);
		assert_memory_equal(keys[i].pin, want, 32);
		assert_int_equal(keys[i].source, X509_SRC_CERT);
		assert_non_null(strstr(keys[i].label, "CN=pin test x"));
	}
	free(keys);
	snprintf(path, sizeof(path), "%s/bundle.der", dir);
	assert_int_equal(x509_keys_load_file(path, &keys, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	free(keys);
	/* "EC PARAMETERS" before the key is skipped, the key is found. */
	snprintf(path, sizeof(path), "%s/ecparam.pem", dir);
	assert_int_equal(x509_keys_load_file(path, &keys, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(keys[0].key_type, "ECDSA P-256");
	free(keys);
}

static void test_x509_keys_load_file_bad_files(void **state)
{
	(void)state;
	static const char *const bad[] = { "missing",	"empty",   "trunc.pem",
					   "trunc.der", "garbage", "badb64.pem" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char path[256], err[ERRLEN] = "";
		struct x509_key *keys = (struct x509_key *)1;
		size_t n = 99;
		snprintf(path, sizeof(path), "%s/%s", dir, bad[i]);
		assert_true(x509_keys_load_file(path, &keys, &n, err, sizeof(err)) < 0);
		assert_null(keys);
		assert_int_equal(n, 0);
		assert_non_null(strstr(err, path)); /* the message names the file */
	}
}

static void test_x509_chain_load_file_fields(void **state)
{
	(void)state;
	char path[256], err[ERRLEN];
	struct x509_chain ch;
	snprintf(path, sizeof(path), "%s/bundle.pem", dir);
	assert_int_equal(x509_chain_load_file(path, 32, &ch, err, sizeof(err)), 0);
	assert_int_equal(ch.n, ARRAY_SIZE(keytypes));
	for (size_t i = 0; i < ch.n; i++) {
		const struct x509_cert_info *c = &ch.certs[i];
		uint8_t want[32], fp[32];
		expected_pin(keytypes[i].name, want);
		assert_memory_equal(c->spki_pin, want, 32);
		assert_int_equal(util_sha256(c->der, c->der_len, fp), 0);
		assert_memory_equal(c->sha256, fp, 32);
		assert_string_equal(c->subject, "CN=pin test x");
		assert_string_equal(c->issuer, "CN=pin test x");
		assert_string_equal(c->serial, "07");
		assert_string_equal(c->key_type, keytypes[i].type);
		assert_true(c->not_after - c->not_before >= 29 * 86400);
	}
	/* A cap smaller than the file is an error, not a silent cut. */
	struct x509_chain small;
	assert_int_equal(x509_chain_load_file(path, 2, &small, err, sizeof(err)), -E2BIG);
	x509_chain_clear(&ch);
	snprintf(path, sizeof(path), "%s/bundle.der", dir);
	assert_int_equal(x509_chain_load_file(path, 32, &ch, err, sizeof(err)), 0);
	assert_int_equal(ch.n, 2);
	x509_chain_clear(&ch);
	snprintf(path, sizeof(path), "%s/trunc.der", dir);
	assert_true(x509_chain_load_file(path, 32, &ch, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "trunc.der"));
	snprintf(path, sizeof(path), "%s/p256.key", dir);
	assert_true(x509_chain_load_file(path, 32, &ch, err, sizeof(err)) < 0);
}

static void test_x509_keys_parse_pem_noise(void **state)
{
	(void)state;
	static const char *const inputs[] = {
		"-----BEGIN ",
		"-----BEGIN CERTIFICATE-----",
		"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"-----BEGIN PUBLIC KEY-----\n\n-----END PUBLIC KEY-----",
		"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----",
		"\x30\x82\xff\xff",
		"\x30\x03\x02\x01\x01",
	};
	for (size_t i = 0; i < ARRAY_SIZE(inputs); i++) {
		struct x509_key *keys = NULL;
		size_t n = 0;
		char err[ERRLEN] = "";
		assert_true(x509_keys_parse((const uint8_t *)inputs[i], strlen(inputs[i]), &keys,
					    &n, err, sizeof(err)) < 0);
		assert_true(err[0] != '\0');
		assert_null(keys);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x509_keys_load_file_every_type_and_container),
		cmocka_unit_test(test_x509_keys_load_file_bundles),
		cmocka_unit_test(test_x509_keys_load_file_bad_files),
		cmocka_unit_test(test_x509_chain_load_file_fields),
		cmocka_unit_test(test_x509_keys_parse_pem_noise),
	};
	gnutls_global_init();
	int rc = cmocka_run_group_tests(tests, setup_all, teardown_all);
	gnutls_global_deinit();
	return rc;
}
