#include "demo/demo.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "base/util.h"

#define DAY 86400

const char *const demo_names[DEMO_NENDPOINTS] = {
	[DEMO_API] = "api.shop.test",
	[DEMO_PAY] = "pay.shop.test",
	[DEMO_LOGIN] = "login.shop.test",
	[DEMO_CDN] = "cdn.shop.test",
};

/* A fresh P-256 key's pin: base64 SHA-256 of its DER SubjectPublicKeyInfo. */
static int spare_pin(char out[45])
{
	gnutls_privkey_t key = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t der = { NULL, 0 };
	uint8_t d[32];
	int rc;

	if ((rc = gnutls_privkey_init(&key)) < 0 || (rc = gnutls_pubkey_init(&pub)) < 0)
		goto out;
	if ((rc = gnutls_privkey_generate(key, GNUTLS_PK_ECDSA,
					  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) <
		    0 ||
	    (rc = gnutls_pubkey_import_privkey(pub, key, 0, 0)) < 0 ||
	    (rc = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &der)) < 0)
		goto out;
	if (util_sha256(der.data, der.size, d) < 0)
		rc = GNUTLS_E_INTERNAL_ERROR;
	else
		util_pin_b64(d, out);
out:
	gnutls_free(der.data);
	if (pub)
		gnutls_pubkey_deinit(pub);
	if (key)
		gnutls_privkey_deinit(key);
	return rc < 0 ? rc : 0;
}

int demo_spare_pins(struct demo_pins *p, char *err, size_t errlen)
{
	int rc;
	if ((rc = spare_pin(p->spare_ca)) < 0 || (rc = spare_pin(p->pay_backup)) < 0 ||
	    (rc = spare_pin(p->login_backup)) < 0)
		return util_err(err, errlen, -EIO, "generating spare keys: %s",
				gnutls_strerror(rc));
	return 0;
}

/* ---- inventory ---------------------------------------------------------- */

static json_t *pin(const char *b64, const char *role)
{
	return json_pack("{s:s, s:s}", "sha256", b64, "role", role);
}

static json_t *policy(const char *pattern, const char *expires, json_t *pins)
{
	json_t *p = json_pack("{s:s, s:b, s:b, s:o}", "pattern", pattern, "include_subdomains", 0,
			      "enforce", 1, "pins", pins);
	if (p && expires)
		json_object_set_new(p, "expires", json_string(expires));
	return p;
}

static const char *date_at(time_t now, int days, char buf[MODEL_DATE_LEN])
{
	return util_fmt_date(now + (time_t)days * DAY, buf, MODEL_DATE_LEN);
}

/* @n {"at", "share"} samples, @days[i] days from @now. */
static json_t *adoption(time_t now, const int *days, const double *shares, size_t n)
{
	json_t *a = json_array();
	char buf[MODEL_DATE_LEN];
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:f}", "at", date_at(now, days[i], buf),
						   "share", shares[i]));
	return a;
}

/*
 * Policies of one version. @pay_leaf_only: the version pins nothing but pay's
 * current leaf key (no CA pin, no backup). @login_leaf_only: likewise for login.
 */
static json_t *policies(const struct demo_pins *p, bool pay_leaf_only, bool login_leaf_only,
			const char *expires)
{
	json_t *ca = json_pack("[o, o]", pin(p->issuing, "current"), pin(p->spare_ca, "backup"));
	json_t *pay = pay_leaf_only
			      ? json_pack("[o]", pin(p->leaf[DEMO_PAY], "current"))
			      : json_pack("[o, o, o]", pin(p->leaf[DEMO_PAY], "current"),
					  pin(p->issuing, "current"), pin(p->pay_backup, "backup"));
	json_t *login = login_leaf_only ? json_pack("[o]", pin(p->leaf[DEMO_LOGIN], "current"))
					: json_pack("[o, o]", pin(p->leaf[DEMO_LOGIN], "current"),
						    pin(p->login_backup, "backup"));
	json_t *cdn = json_deep_copy(ca);
	return json_pack("[o, o, o, o]", policy(demo_names[DEMO_API], expires, ca),
			 policy(demo_names[DEMO_PAY], expires, pay),
			 policy(demo_names[DEMO_LOGIN], expires, login),
			 policy(demo_names[DEMO_CDN], expires, cdn));
}

static json_t *version(time_t now, const char *v, int released, json_t *adopt, json_t *pols)
{
	char buf[MODEL_DATE_LEN];
	return json_pack("{s:s, s:s, s:o, s:o}", "version", v, "released",
			 date_at(now, released, buf), "adoption", adopt, "pin_policies", pols);
}

json_t *demo_inventory(const struct demo_pins *p, const uint16_t ports[DEMO_NENDPOINTS],
		       int interval_s, time_t now)
{
	static const char *const owners[DEMO_NENDPOINTS] = { "backend", "payments", "identity",
							     "web" };
	static const char *const tags[DEMO_NENDPOINTS] = { "api", "payments", "auth", "cdn" };
	char interval[32], expires[MODEL_DATE_LEN];
	json_t *endpoints = json_array();

	snprintf(interval, sizeof(interval), "%ds", interval_s);
	for (int i = 0; endpoints && i < DEMO_NENDPOINTS; i++)
		json_array_append_new(endpoints,
				      json_pack("{s:s, s:i, s:s, s:s, s:s, s:[s], s:b, s:s, s:b}",
						"host", demo_names[i], "port", (int)ports[i], "sni",
						demo_names[i], "environment", "production", "owner",
						owners[i], "tags", tags[i], "third_party", 0,
						"interval", interval, "enabled", 1));
	date_at(now, 300, expires);

	/* shop-android: 4.1.0 (a quarter of the users) pins only pay's leaf key;
	 * 4.4.0 shipped three days ago and has no adoption figure yet. */
	static const int a41d[] = { -60, -30, -14, -1 }, a42d[] = { -60, -30, -14, -1 },
			 a43d[] = { -30, -14, -1 };
	static const double a41s[] = { 0.55, 0.41, 0.31, 0.25 },
			    a42s[] = { 0.30, 0.38, 0.37, 0.35 }, a43s[] = { 0.08, 0.22, 0.33 };
	json_t *android = json_pack(
		"{s:s, s:s, s:s, s:f, s:s, s:[o, o, o, o]}", "name", "shop-android", "platform",
		"android", "bundle_id", "com.example.shop", "adoption_threshold", 0.95,
		"failure_mode", "terminate", "versions",
		version(now, "4.1.0", -200, adoption(now, a41d, a41s, 4),
			policies(p, true, false, NULL)),
		version(now, "4.2.0", -90, adoption(now, a42d, a42s, 4),
			policies(p, false, false, NULL)),
		version(now, "4.3.0", -40, adoption(now, a43d, a43s, 3),
			policies(p, false, false, expires)),
		version(now, "4.4.0", -3, json_array(), policies(p, false, false, expires)));

	/* shop-ios: 7.0.0 pins only login's leaf key. */
	static const int i70d[] = { -60, -30, -14, -1 }, i71d[] = { -60, -30, -14, -1 },
			 i72d[] = { -14, -1 };
	static const double i70s[] = { 0.45, 0.28, 0.19, 0.12 },
			    i71s[] = { 0.50, 0.55, 0.52, 0.48 }, i72s[] = { 0.20, 0.37 };
	json_t *ios = json_pack("{s:s, s:s, s:s, s:f, s:s, s:[o, o, o]}", "name", "shop-ios",
				"platform", "ios", "bundle_id", "com.example.shop",
				"adoption_threshold", 0.90, "failure_mode", "message", "versions",
				version(now, "7.0.0", -150, adoption(now, i70d, i70s, 4),
					policies(p, false, true, NULL)),
				version(now, "7.1.0", -70, adoption(now, i71d, i71s, 4),
					policies(p, false, false, NULL)),
				version(now, "7.2.0", -21, adoption(now, i72d, i72s, 2),
					policies(p, false, false, expires)));

	return json_pack("{s:o, s:[o, o]}", "endpoints", endpoints, "apps", android, ios);
}
