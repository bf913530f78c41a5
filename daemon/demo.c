#include "demo.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

#define DAY 86400

/* One key and, for most, its certificate. */
struct kc {
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
};

enum {
	K_ROOT1,
	K_ROOT2, /* a second root that only appears as a backup pin */
	K_ISSUING,
	K_API,
	K_PAY,
	K_PAY_BACKUP,
	K_LOGIN,
	K_LOGIN_BACKUP,
	K_CDN_A,
	K_CDN_B,
	K_COUNT
};

static void kc_free(struct kc *k)
{
	if (k->crt)
		gnutls_x509_crt_deinit(k->crt);
	if (k->key)
		gnutls_x509_privkey_deinit(k->key);
	k->crt = NULL;
	k->key = NULL;
}

static int gen_key(struct kc *k)
{
	int rc = gnutls_x509_privkey_init(&k->key);
	if (rc >= 0)
		rc = gnutls_x509_privkey_generate(k->key, GNUTLS_PK_ECDSA,
						  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	return rc;
}

/* Certificate for @k signed by @issuer (NULL: self-signed). */
static int gen_cert(struct kc *k, const struct kc *issuer, const char *cn, bool ca, time_t nb,
		    time_t na, unsigned serial)
{
	unsigned char ser[4] = { (unsigned char)(serial >> 24), (unsigned char)(serial >> 16),
				 (unsigned char)(serial >> 8), (unsigned char)serial };
	unsigned char kid[32];
	size_t kidlen = sizeof(kid);
	int rc;

	if ((rc = gnutls_x509_crt_init(&k->crt)) < 0)
		return rc;
	if ((rc = gnutls_x509_crt_set_version(k->crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(k->crt, ser, sizeof(ser))) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(k->crt, nb)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(k->crt, na)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(k->crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
						"pinwatch demo", 13)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(k->crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
						(unsigned)strlen(cn))) < 0 ||
	    (rc = gnutls_x509_crt_set_key(k->crt, k->key)) < 0 ||
	    (rc = gnutls_x509_crt_get_key_id(k->crt, 0, kid, &kidlen)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(k->crt, kid, kidlen)) < 0)
		return rc;
	if (ca) {
		if ((rc = gnutls_x509_crt_set_basic_constraints(k->crt, 1, -1)) < 0 ||
		    (rc = gnutls_x509_crt_set_key_usage(k->crt, GNUTLS_KEY_KEY_CERT_SIGN |
									 GNUTLS_KEY_CRL_SIGN)) < 0)
			return rc;
	} else {
		if ((rc = gnutls_x509_crt_set_basic_constraints(k->crt, 0, -1)) < 0 ||
		    (rc = gnutls_x509_crt_set_key_usage(k->crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
		    (rc = gnutls_x509_crt_set_key_purpose_oid(k->crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
		    (rc = gnutls_x509_crt_set_subject_alt_name(k->crt, GNUTLS_SAN_DNSNAME, cn,
							       (unsigned)strlen(cn), GNUTLS_FSAN_SET)) < 0)
			return rc;
	}
	if (issuer) {
		unsigned char akid[32];
		size_t akidlen = sizeof(akid);
		if ((rc = gnutls_x509_crt_get_subject_key_id(issuer->crt, akid, &akidlen, NULL)) < 0 ||
		    (rc = gnutls_x509_crt_set_authority_key_id(k->crt, akid, akidlen)) < 0)
			return rc;
	}
	const struct kc *signer = issuer ? issuer : k;
	return gnutls_x509_crt_sign2(k->crt, signer->crt, signer->key, GNUTLS_DIG_SHA256, 0);
}

/* Append the PEM of @crt (or of @key when @crt is NULL) to a malloc'd string. */
static int append_pem(char **s, gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
	gnutls_datum_t pem = { NULL, 0 };
	int rc = crt ? gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem)
		     : gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &pem);
	if (rc < 0)
		return rc;
	size_t old = *s ? strlen(*s) : 0;
	char *n = realloc(*s, old + pem.size + 1);
	if (!n) {
		gnutls_free(pem.data);
		return GNUTLS_E_MEMORY_ERROR;
	}
	memcpy(n + old, pem.data, pem.size);
	n[old + pem.size] = '\0';
	*s = n;
	gnutls_free(pem.data);
	return 0;
}

/* The pin of a key: base64 SHA-256 of its DER SubjectPublicKeyInfo. */
static int key_pin(gnutls_x509_privkey_t key, char out[45])
{
	gnutls_pubkey_t pub;
	gnutls_datum_t der = { NULL, 0 };
	uint8_t d[32];
	int rc = gnutls_pubkey_init(&pub);
	if (rc < 0)
		return rc;
	gnutls_privkey_t pk;
	if ((rc = gnutls_privkey_init(&pk)) < 0) {
		gnutls_pubkey_deinit(pub);
		return rc;
	}
	if ((rc = gnutls_privkey_import_x509(pk, key, 0)) >= 0 &&
	    (rc = gnutls_pubkey_import_privkey(pub, pk, 0, 0)) >= 0 &&
	    (rc = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &der)) >= 0) {
		if (util_sha256(der.data, der.size, d) < 0)
			rc = GNUTLS_E_INTERNAL_ERROR;
		else
			util_pin_b64(d, out);
	}
	gnutls_free(der.data);
	gnutls_privkey_deinit(pk);
	gnutls_pubkey_deinit(pub);
	return rc < 0 ? rc : 0;
}

static int make_cred(struct demo_cred *c, const char *sni, const struct kc *leaf,
		     const struct kc *issuing)
{
	int rc;
	snprintf(c->sni, sizeof(c->sni), "%s", sni);
	if ((rc = append_pem(&c->chain_pem, leaf->crt, NULL)) < 0 ||
	    (rc = append_pem(&c->chain_pem, issuing->crt, NULL)) < 0 ||
	    (rc = append_pem(&c->key_pem, NULL, leaf->key)) < 0)
		return rc;
	return 0;
}

struct demo *demo_new(time_t now, char *err, size_t errlen)
{
	struct kc k[K_COUNT];
	struct demo *d = calloc(1, sizeof(*d));
	int rc = 0;

	memset(k, 0, sizeof(k));
	if (!d) {
		util_err(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	d->now = now;
	for (int i = 0; i < K_COUNT && rc >= 0; i++)
		rc = gen_key(&k[i]);
	if (rc < 0)
		goto fail;
	/* Certificates: roots and the issuing CA long-lived; leaves short. */
	if ((rc = gen_cert(&k[K_ROOT1], NULL, "pinwatch demo root R1", true, now - 400 * DAY,
			   now + 3650 * DAY, 1)) < 0 ||
	    (rc = gen_cert(&k[K_ROOT2], NULL, "pinwatch demo root R2", true, now - 100 * DAY,
			   now + 3650 * DAY, 2)) < 0 ||
	    (rc = gen_cert(&k[K_ISSUING], &k[K_ROOT1], "pinwatch demo issuing CA 1", true,
			   now - 365 * DAY, now + 1825 * DAY, 3)) < 0 ||
	    (rc = gen_cert(&k[K_API], &k[K_ISSUING], "api.shop.test", false, now - 30 * DAY,
			   now + 60 * DAY, 10)) < 0 ||
	    (rc = gen_cert(&k[K_PAY], &k[K_ISSUING], "pay.shop.test", false, now - 40 * DAY,
			   now + 50 * DAY, 11)) < 0 ||
	    (rc = gen_cert(&k[K_PAY_BACKUP], &k[K_ISSUING], "pay.shop.test", false, now - DAY,
			   now + 89 * DAY, 12)) < 0 ||
	    (rc = gen_cert(&k[K_LOGIN], &k[K_ISSUING], "login.shop.test", false, now - 85 * DAY,
			   now + 5 * DAY, 13)) < 0 ||
	    (rc = gen_cert(&k[K_CDN_A], &k[K_ISSUING], "cdn.shop.test", false, now - 20 * DAY,
			   now + 70 * DAY, 14)) < 0 ||
	    (rc = gen_cert(&k[K_CDN_B], &k[K_ISSUING], "cdn.shop.test", false, now - 2 * DAY,
			   now + 88 * DAY, 15)) < 0)
		goto fail;
	if ((rc = make_cred(&d->creds[DEMO_API], "api.shop.test", &k[K_API], &k[K_ISSUING])) < 0 ||
	    (rc = make_cred(&d->creds[DEMO_PAY], "pay.shop.test", &k[K_PAY], &k[K_ISSUING])) < 0 ||
	    (rc = make_cred(&d->creds[DEMO_PAY_ROTATED], "pay.shop.test", &k[K_PAY_BACKUP],
			    &k[K_ISSUING])) < 0 ||
	    (rc = make_cred(&d->creds[DEMO_LOGIN], "login.shop.test", &k[K_LOGIN],
			    &k[K_ISSUING])) < 0 ||
	    (rc = make_cred(&d->creds[DEMO_CDN_A], "cdn.shop.test", &k[K_CDN_A], &k[K_ISSUING])) < 0 ||
	    (rc = make_cred(&d->creds[DEMO_CDN_B], "cdn.shop.test", &k[K_CDN_B], &k[K_ISSUING])) < 0 ||
	    (rc = append_pem(&d->roots_pem, k[K_ROOT1].crt, NULL)) < 0 ||
	    (rc = append_pem(&d->roots_pem, k[K_ROOT2].crt, NULL)) < 0)
		goto fail;
	if ((rc = key_pin(k[K_ISSUING].key, d->pin_issuing)) < 0 ||
	    (rc = key_pin(k[K_ROOT2].key, d->pin_root2)) < 0 ||
	    (rc = key_pin(k[K_PAY].key, d->pin_pay)) < 0 ||
	    (rc = key_pin(k[K_PAY_BACKUP].key, d->pin_pay_backup)) < 0 ||
	    (rc = key_pin(k[K_LOGIN].key, d->pin_login)) < 0 ||
	    (rc = key_pin(k[K_LOGIN_BACKUP].key, d->pin_login_backup)) < 0)
		goto fail;
	for (int i = 0; i < K_COUNT; i++)
		kc_free(&k[i]);
	return d;
fail:
	util_err(err, errlen, -EIO, "generating the demo PKI: %s", gnutls_strerror(rc));
	for (int i = 0; i < K_COUNT; i++)
		kc_free(&k[i]);
	demo_free(d);
	return NULL;
}

void demo_free(struct demo *d)
{
	if (!d)
		return;
	for (int i = 0; i < DEMO_NCHAINS; i++) {
		free(d->creds[i].chain_pem);
		free(d->creds[i].key_pem);
	}
	free(d->roots_pem);
	free(d);
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

static const char *date_at(const struct demo *d, int days, char buf[MODEL_DATE_LEN])
{
	return util_fmt_date(d->now + (time_t)days * DAY, buf, MODEL_DATE_LEN);
}

/* @n {"at", "share"} samples, @days[i] days from now. */
static json_t *adoption(const struct demo *d, const int *days, const double *shares, size_t n)
{
	json_t *a = json_array();
	char buf[MODEL_DATE_LEN];
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:f}", "at", date_at(d, days[i], buf),
						   "share", shares[i]));
	return a;
}

/* Policies of one version. @pay_backup: the version carries pay's backup pin.
 * @login_single: the version pins only login's current leaf key. */
static json_t *policies(const struct demo *d, bool pay_backup, bool login_single,
			const char *expires)
{
	json_t *ca_pins = json_pack("[o, o]", pin(d->pin_issuing, "current"),
				    pin(d->pin_root2, "backup"));
	json_t *pay = pay_backup ? json_pack("[o, o]", pin(d->pin_pay, "current"),
					     pin(d->pin_pay_backup, "backup"))
				 : json_pack("[o]", pin(d->pin_pay, "current"));
	json_t *login = login_single ? json_pack("[o]", pin(d->pin_login, "current"))
				     : json_pack("[o, o]", pin(d->pin_login, "current"),
						 pin(d->pin_login_backup, "backup"));
	return json_pack("[o, o, o, o]", policy("api.shop.test", expires, ca_pins),
			 policy("pay.shop.test", expires, pay),
			 policy("login.shop.test", expires, login),
			 policy("cdn.shop.test", expires, json_deep_copy(ca_pins)));
}

static json_t *version(const struct demo *d, const char *v, int released, json_t *adopt,
		       json_t *pols)
{
	char buf[MODEL_DATE_LEN];
	return json_pack("{s:s, s:s, s:o, s:o}", "version", v, "released",
			 date_at(d, released, buf), "adoption", adopt, "pin_policies", pols);
}

json_t *demo_inventory(const struct demo *d, const struct demo_addr addrs[DEMO_NCHAINS],
		       int interval_s)
{
	static const struct {
		int idx;
		const char *sni, *owner, *tag;
	} eps[] = {
		{ DEMO_API, "api.shop.test", "backend", "api" },
		{ DEMO_PAY, "pay.shop.test", "payments", "payments" },
		{ DEMO_LOGIN, "login.shop.test", "identity", "auth" },
		{ DEMO_CDN_A, "cdn.shop.test", "web", "cdn" },
	};
	char interval[32], expires[MODEL_DATE_LEN];
	json_t *endpoints = json_array();

	snprintf(interval, sizeof(interval), "%ds", interval_s);
	for (size_t i = 0; endpoints && i < ARRAY_SIZE(eps); i++)
		json_array_append_new(endpoints,
				      json_pack("{s:s, s:i, s:s, s:s, s:s, s:[s], s:b, s:s, s:b}",
						"host", addrs[eps[i].idx].host, "port",
						addrs[eps[i].idx].port, "sni", eps[i].sni,
						"environment", "production", "owner", eps[i].owner,
						"tags", eps[i].tag, "third_party", 0, "interval",
						interval, "enabled", 1));
	date_at(d, 300, expires);

	/* shop-android: 4.1.0 (a quarter of users) has no backup pin for pay. */
	static const int a41d[] = { -60, -30, -14, -1 }, a42d[] = { -60, -30, -14, -1 },
			 a43d[] = { -30, -14, -1 };
	static const double a41s[] = { 0.55, 0.41, 0.31, 0.25 }, a42s[] = { 0.30, 0.38, 0.37, 0.35 },
			    a43s[] = { 0.08, 0.22, 0.33 };
	json_t *android = json_pack(
		"{s:s, s:s, s:s, s:f, s:s, s:[o, o, o, o]}", "name", "shop-android", "platform",
		"android", "bundle_id", "com.example.shop", "adoption_threshold", 0.95,
		"failure_mode", "terminate", "versions",
		version(d, "4.1.0", -200, adoption(d, a41d, a41s, 4), policies(d, false, false, NULL)),
		version(d, "4.2.0", -90, adoption(d, a42d, a42s, 4), policies(d, true, false, NULL)),
		version(d, "4.3.0", -40, adoption(d, a43d, a43s, 3),
			policies(d, true, false, expires)),
		version(d, "4.4.0", -3, json_array(), policies(d, true, false, expires)));

	/* shop-ios: 7.0.0 pins only login's current leaf key. */
	static const int i70d[] = { -60, -30, -14, -1 }, i71d[] = { -60, -30, -14, -1 },
			 i72d[] = { -14, -1 };
	static const double i70s[] = { 0.45, 0.28, 0.19, 0.12 }, i71s[] = { 0.50, 0.55, 0.52, 0.48 },
			    i72s[] = { 0.20, 0.37 };
	json_t *ios = json_pack(
		"{s:s, s:s, s:s, s:f, s:s, s:[o, o, o]}", "name", "shop-ios", "platform", "ios",
		"bundle_id", "com.example.shop", "adoption_threshold", 0.90, "failure_mode",
		"message", "versions",
		version(d, "7.0.0", -150, adoption(d, i70d, i70s, 4), policies(d, true, true, NULL)),
		version(d, "7.1.0", -70, adoption(d, i71d, i71s, 4), policies(d, true, false, NULL)),
		version(d, "7.2.0", -21, adoption(d, i72d, i72s, 2),
			policies(d, true, false, expires)));

	return json_pack("{s:o, s:[o, o]}", "endpoints", endpoints, "apps", android, ios);
}
