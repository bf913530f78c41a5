/* The demo scenario's inventory: valid for the real importer, and with the
 * stranded shares the demo promises (a quarter of Android users on pay's key
 * rotation, 12% of iOS users on login's). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <unistd.h>

#include "demo/demo.h"
#include "importers/invfile.h"
#include "model/model.h"
#include "demo/tlsfarm.h"
#include "base/util.h"

#define assert_near(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void fake_pin(char out[45], uint8_t seed)
{
	uint8_t d[32];
	memset(d, seed, sizeof(d));
	util_pin_b64(d, out);
}

static struct demo_pins fake_pins(void)
{
	struct demo_pins p;
	fake_pin(p.issuing, 1);
	for (int i = 0; i < DEMO_NENDPOINTS; i++)
		fake_pin(p.leaf[i], (uint8_t)(10 + i));
	fake_pin(p.spare_ca, 20);
	fake_pin(p.pay_backup, 21);
	fake_pin(p.login_backup, 22);
	return p;
}

static void test_demo_spare_pins_distinct(void **state)
{
	(void)state;
	struct demo_pins p;
	char err[ERRLEN];
	uint8_t d[32];
	assert_int_equal(demo_spare_pins(&p, err, sizeof(err)), 0);
	assert_int_equal(util_parse_pin(p.spare_ca, d, err, sizeof(err)), 0);
	assert_int_equal(util_parse_pin(p.pay_backup, d, err, sizeof(err)), 0);
	assert_int_equal(util_parse_pin(p.login_backup, d, err, sizeof(err)), 0);
	assert_string_not_equal(p.spare_ca, p.pay_backup);
	assert_string_not_equal(p.pay_backup, p.login_backup);
}

/* Latest share of versions of @app whose policy for @host holds none of the
 * pins @keep (NULL-terminated): who a change that keeps only @keep strands. */
static double stranded(json_t *app, const char *host, const char *const *keep, double *total)
{
	double s = 0;
	size_t i, j, k;
	json_t *v, *pol, *p;
	*total = 0;
	json_array_foreach(json_object_get(app, "versions"), i, v)
	{
		json_t *ad = json_object_get(v, "adoption");
		double share = 0;
		if (json_array_size(ad))
			share = json_real_value(json_object_get(
				json_array_get(ad, json_array_size(ad) - 1), "share"));
		*total += share;
		json_array_foreach(json_object_get(v, "pin_policies"), j, pol)
		{
			if (strcmp(json_string_value(json_object_get(pol, "pattern")), host))
				continue;
			bool ok = false;
			json_array_foreach(json_object_get(pol, "pins"), k,
					   p) for (const char *const *x = keep; *x; x++) ok |=
				!strcmp(json_string_value(json_object_get(p, "sha256")), *x);
			if (!ok)
				s += share;
		}
	}
	return s;
}

static void test_demo_inventory_scenario(void **state)
{
	(void)state;
	struct demo_pins p = fake_pins();
	const uint16_t ports[DEMO_NENDPOINTS] = { 40001, 40001, 40001, 40002 };
	time_t now = time(NULL);
	json_t *inv = demo_inventory(&p, ports, 10, now);
	assert_non_null(inv);

	/* The real importer accepts it. */
	struct inventory parsed;
	char err[ERRLEN];
	memset(&parsed, 0, sizeof(parsed));
	if (invfile_parse(inv, &parsed, err, sizeof(err)) != 0)
		fail_msg("demo inventory rejected: %s", err);
	assert_int_equal(parsed.nendpoints, 4);
	assert_int_equal(parsed.napps, 2);
	int cdn = 0;
	for (size_t i = 0; i < parsed.nendpoints; i++) {
		assert_int_equal(parsed.endpoints[i].interval_s, 10);
		if (!strcmp(parsed.endpoints[i].host, "cdn.shop.test")) {
			assert_int_equal(parsed.endpoints[i].port, 40002);
			cdn++;
		}
	}
	assert_int_equal(cdn, 1);
	model_inventory_free(&parsed);

	json_t *apps = json_object_get(inv, "apps");
	json_t *android = json_array_get(apps, 0), *ios = json_array_get(apps, 1);
	double total, s;

	/* Today's chains strand nobody. */
	const char *const pay_now[] = { p.leaf[DEMO_PAY], p.issuing, NULL };
	assert_near(stranded(android, "pay.shop.test", pay_now, &total), 0);
	assert_true(total <= 1.0);
	const char *const login_now[] = { p.leaf[DEMO_LOGIN], p.issuing, NULL };
	assert_near(stranded(ios, "login.shop.test", login_now, &total), 0);
	const char *const cdn_b[] = { p.leaf[DEMO_CDN], p.issuing, NULL };
	assert_near(stranded(android, "cdn.shop.test", cdn_b, &total), 0);

	/* pay with a new key (same CA): 4.1.0, a quarter of Android users. */
	const char *const pay_rotated[] = { p.issuing, NULL };
	s = stranded(android, "pay.shop.test", pay_rotated, &total);
	assert_near(s, 0.25);
	assert_near(stranded(ios, "pay.shop.test", pay_rotated, &total), 0);
	/* login with a new key: iOS 7.0.0 (12%), short of the 90% threshold. */
	const char *const login_rotated[] = { p.issuing, p.login_backup, NULL };
	s = stranded(ios, "login.shop.test", login_rotated, &total);
	assert_near(s, 0.12);
	assert_true(total - s < 0.90);
	/* A CA change on api: everyone carries the spare CA key. */
	const char *const api_ca[] = { p.spare_ca, NULL };
	assert_near(stranded(android, "api.shop.test", api_ca, &total), 0);
	assert_near(stranded(ios, "api.shop.test", api_ca, &total), 0);

	/* 4.4.0 has no adoption figure (unknown, not 0). */
	json_t *v44 = json_array_get(json_object_get(android, "versions"), 3);
	assert_string_equal(json_string_value(json_object_get(v44, "version")), "4.4.0");
	assert_int_equal(json_array_size(json_object_get(v44, "adoption")), 0);
	json_decref(inv);
}

/* The farm flavor the demo's login endpoint uses: a leaf 5 days from expiry. */
static void test_demo_farm_expiring_flavor(void **state)
{
	(void)state;
	char err[ERRLEN], path[] = "/tmp/pinwatch-test-demo-XXXXXX";
	struct tlsfarm_pki *pki = tlsfarm_pki_new(err, sizeof(err));
	assert_non_null(pki);
	struct tlsfarm_opts o = { 0 };
	struct tlsfarm *f = tlsfarm_new(pki, &o, err, sizeof(err));
	assert_non_null(f);
	time_t before = time(NULL);
	assert_int_equal(tlsfarm_add(f, "login.shop.test", TLSFARM_EXPIRING, TLSFARM_KEY_ECDSA_P256,
				     err, sizeof(err)),
			 0);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(tlsfarm_write_chain(f, "login.shop.test", path), 0);
	char *pem;
	size_t len;
	assert_int_equal(util_read_file(path, 1 << 20, &pem, &len), 0);
	gnutls_x509_crt_t *crts;
	unsigned n;
	gnutls_datum_t d = { (unsigned char *)pem, (unsigned)len };
	assert_int_equal(gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM, 0), 0);
	assert_int_equal(n, 2);
	time_t na = gnutls_x509_crt_get_expiration_time(crts[0]);
	assert_true(na >= before + 5 * 86400 && na <= time(NULL) + 5 * 86400);
	assert_true(gnutls_x509_crt_get_activation_time(crts[0]) < before);
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	free(pem);
	unlink(path);
	tlsfarm_free(f);
	tlsfarm_pki_free(pki);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demo_spare_pins_distinct),
		cmocka_unit_test(test_demo_inventory_scenario),
		cmocka_unit_test(test_demo_farm_expiring_flavor),
	};
	if (gnutls_global_init() < 0)
		return 1;
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	gnutls_global_deinit();
	return rc;
}
