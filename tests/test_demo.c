/* The demo scenario: the generated PKI validates, and the inventory's pins
 * are those of the generated keys (checked by a second route: GnuTLS's
 * SHA-256 key id of each certificate). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "demo.h"
#include "util.h"

static time_t NOW;

#define assert_near(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static gnutls_x509_crt_t *load_chain(const char *pem, unsigned *n)
{
	gnutls_x509_crt_t *crts = NULL;
	gnutls_datum_t d = { (unsigned char *)pem, (unsigned)strlen(pem) };
	assert_int_equal(gnutls_x509_crt_list_import2(&crts, n, &d, GNUTLS_X509_FMT_PEM, 0), 0);
	return crts;
}

static void free_chain(gnutls_x509_crt_t *crts, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
}

static void pin_of(gnutls_x509_crt_t crt, char out[45])
{
	uint8_t id[32];
	size_t len = sizeof(id);
	assert_int_equal(gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, id, &len), 0);
	assert_int_equal(len, 32);
	util_pin_b64(id, out);
}

static void test_demo_chains_validate(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct demo *d = demo_new(NOW, err, sizeof(err));
	assert_non_null(d);

	gnutls_x509_trust_list_t tl;
	unsigned nroots;
	gnutls_x509_crt_t *roots = load_chain(d->roots_pem, &nroots);
	assert_int_equal(nroots, 2);
	assert_int_equal(gnutls_x509_trust_list_init(&tl, 0), 0);
	assert_int_equal(gnutls_x509_trust_list_add_cas(tl, roots, nroots, 0), (int)nroots);

	for (int i = 0; i < DEMO_NCHAINS; i++) {
		unsigned n, status = 0;
		gnutls_x509_crt_t *c = load_chain(d->creds[i].chain_pem, &n);
		assert_int_equal(n, 2);
		gnutls_typed_vdata_st vd = { GNUTLS_DT_DNS_HOSTNAME,
					     (unsigned char *)d->creds[i].sni, 0 };
		assert_int_equal(gnutls_x509_trust_list_verify_crt2(tl, c, n, &vd, 1, 0, &status, NULL),
				 0);
		if (status)
			fail_msg("chain %d (%s) does not validate: status 0x%x", i, d->creds[i].sni,
				 status);
		/* The key file belongs to the leaf. */
		gnutls_certificate_credentials_t cred;
		gnutls_datum_t cp = { (unsigned char *)d->creds[i].chain_pem,
				      (unsigned)strlen(d->creds[i].chain_pem) };
		gnutls_datum_t kp = { (unsigned char *)d->creds[i].key_pem,
				      (unsigned)strlen(d->creds[i].key_pem) };
		assert_int_equal(gnutls_certificate_allocate_credentials(&cred), 0);
		assert_true(gnutls_certificate_set_x509_key_mem2(cred, &cp, &kp, GNUTLS_X509_FMT_PEM,
								 NULL, 0) >= 0);
		gnutls_certificate_free_credentials(cred);
		free_chain(c, n);
	}
	gnutls_x509_trust_list_deinit(tl, 1); /* frees the roots too */
	gnutls_free(roots);
	demo_free(d);
}

static void test_demo_pins_match_keys(void **state)
{
	(void)state;
	char err[ERRLEN], p[45];
	struct demo *d = demo_new(NOW, err, sizeof(err));
	assert_non_null(d);
	unsigned n;
	gnutls_x509_crt_t *c;

	c = load_chain(d->creds[DEMO_PAY].chain_pem, &n);
	pin_of(c[0], p);
	assert_string_equal(p, d->pin_pay);
	pin_of(c[1], p);
	assert_string_equal(p, d->pin_issuing);
	free_chain(c, n);

	c = load_chain(d->creds[DEMO_PAY_ROTATED].chain_pem, &n);
	pin_of(c[0], p);
	assert_string_equal(p, d->pin_pay_backup);
	assert_string_not_equal(p, d->pin_pay);
	free_chain(c, n);

	c = load_chain(d->creds[DEMO_LOGIN].chain_pem, &n);
	pin_of(c[0], p);
	assert_string_equal(p, d->pin_login);
	/* login expires in 5 days. */
	assert_int_equal(gnutls_x509_crt_get_expiration_time(c[0]), NOW + 5 * 86400);
	free_chain(c, n);

	/* The two cdn edges serve different leaf keys under the same CA. */
	char pa[45], pb[45];
	c = load_chain(d->creds[DEMO_CDN_A].chain_pem, &n);
	pin_of(c[0], pa);
	free_chain(c, n);
	c = load_chain(d->creds[DEMO_CDN_B].chain_pem, &n);
	pin_of(c[0], pb);
	pin_of(c[1], p);
	assert_string_equal(p, d->pin_issuing);
	free_chain(c, n);
	assert_string_not_equal(pa, pb);

	unsigned nr;
	gnutls_x509_crt_t *r = load_chain(d->roots_pem, &nr);
	pin_of(r[1], p);
	assert_string_equal(p, d->pin_root2);
	free_chain(r, nr);
	demo_free(d);
}

/* Sum of the latest shares of @app's versions that hold @pin for @pattern. */
static double share_with_pin(json_t *app, const char *pattern, const char *pin, double *total)
{
	double with = 0;
	size_t i, j, k;
	json_t *v, *pol, *p;
	*total = 0;
	json_array_foreach(json_object_get(app, "versions"), i, v) {
		json_t *ad = json_object_get(v, "adoption");
		double share = json_array_size(ad)
				       ? json_real_value(json_object_get(
						 json_array_get(ad, json_array_size(ad) - 1), "share"))
				       : 0;
		*total += share;
		json_array_foreach(json_object_get(v, "pin_policies"), j, pol) {
			if (strcmp(json_string_value(json_object_get(pol, "pattern")), pattern))
				continue;
			json_array_foreach(json_object_get(pol, "pins"), k, p)
				if (!strcmp(json_string_value(json_object_get(p, "sha256")), pin))
					with += share;
		}
	}
	return with;
}

static void test_demo_inventory_scenario(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct demo *d = demo_new(NOW, err, sizeof(err));
	assert_non_null(d);
	struct demo_addr addrs[DEMO_NCHAINS] = {
		[DEMO_API] = { "127.0.0.1", 1001 },
		[DEMO_PAY] = { "127.0.0.1", 1002 },
		[DEMO_LOGIN] = { "127.0.0.1", 1003 },
		[DEMO_CDN_A] = { "localhost", 1004 },
	};
	json_t *inv = demo_inventory(d, addrs, 15);
	assert_non_null(inv);
	json_t *eps = json_object_get(inv, "endpoints");
	assert_int_equal(json_array_size(eps), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(eps, 1), "sni")),
			    "pay.shop.test");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(eps, 1), "port")), 1002);
	assert_string_equal(json_string_value(json_object_get(json_array_get(eps, 3), "host")),
			    "localhost");
	assert_string_equal(json_string_value(json_object_get(json_array_get(eps, 0), "interval")),
			    "15s");

	json_t *apps = json_object_get(inv, "apps");
	assert_int_equal(json_array_size(apps), 2);
	json_t *android = json_array_get(apps, 0), *ios = json_array_get(apps, 1);
	double total;

	/* Rotating pay to its backup key strands a quarter of Android users. */
	double with_backup = share_with_pin(android, "pay.shop.test", d->pin_pay_backup, &total);
	assert_true(total <= 1.0);
	assert_near(total - with_backup, 0.25);
	/* Everybody accepts pay's current key and the CA of api and cdn. */
	double with = share_with_pin(android, "pay.shop.test", d->pin_pay, &total);
	assert_near(with, total);
	with = share_with_pin(ios, "api.shop.test", d->pin_issuing, &total);
	assert_near(with, total);
	with = share_with_pin(android, "cdn.shop.test", d->pin_issuing, &total);
	assert_near(with, total);
	/* iOS 7.0.0 (12%) has no backup pin for login. */
	with_backup = share_with_pin(ios, "login.shop.test", d->pin_login_backup, &total);
	assert_near(total - with_backup, 0.12);
	/* One Android version has no adoption figure (unknown, not 0). */
	json_t *v44 = json_array_get(json_object_get(android, "versions"), 3);
	assert_string_equal(json_string_value(json_object_get(v44, "version")), "4.4.0");
	assert_int_equal(json_array_size(json_object_get(v44, "adoption")), 0);

	json_decref(inv);
	demo_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demo_chains_validate),
		cmocka_unit_test(test_demo_pins_match_keys),
		cmocka_unit_test(test_demo_inventory_scenario),
	};
	NOW = time(NULL);
	if (gnutls_global_init() < 0)
		return 1;
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	gnutls_global_deinit();
	return rc;
}
