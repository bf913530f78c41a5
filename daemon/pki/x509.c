/* X.509 certificate info: parse a DER certificate, its pins and names. */
#include "pki/x509.h"
#include "pki/x509_int.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static void key_type_name(int algo, unsigned bits, char *out, size_t len)
{
	switch (algo) {
	case GNUTLS_PK_RSA:
		snprintf(out, len, "RSA");
		break;
	case GNUTLS_PK_RSA_PSS:
		snprintf(out, len, "RSA-PSS");
		break;
	case GNUTLS_PK_DSA:
		snprintf(out, len, "DSA");
		break;
	case GNUTLS_PK_ECDSA:
		if (bits == 256 || bits == 384 || bits == 521)
			snprintf(out, len, "ECDSA P-%u", bits);
		else
			snprintf(out, len, "ECDSA");
		break;
	case GNUTLS_PK_EDDSA_ED25519:
		snprintf(out, len, "Ed25519");
		break;
	case GNUTLS_PK_EDDSA_ED448:
		snprintf(out, len, "Ed448");
		break;
	default: {
		const char *n = gnutls_pk_get_name((gnutls_pk_algorithm_t)algo);
		snprintf(out, len, "%s", n ? n : "unknown");
	}
	}
}

/* The SPKI pin of an imported public key. 0 or -EIO. */
int x509_pubkey_pin(gnutls_pubkey_t pub, uint8_t pin[32], char *key_type, size_t typelen,
		    unsigned *bits)
{
	gnutls_datum_t spki = { NULL, 0 };
	unsigned b = 0;
	int algo = gnutls_pubkey_get_pk_algorithm(pub, &b);
	if (algo < 0)
		return -EIO;
	if (gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki) < 0)
		return -EIO;
	int rc = util_sha256(spki.data, spki.size, pin);
	gnutls_free(spki.data);
	if (rc)
		return rc;
	if (algo == GNUTLS_PK_ECDSA) {
		/* Bits of a curve are not its name (P-521 reports 528): ask for the curve. */
		gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
		gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 };
		if (gnutls_pubkey_export_ecc_raw2(pub, &curve, &x, &y, 0) >= 0) {
			b = curve == GNUTLS_ECC_CURVE_SECP256R1	  ? 256
			    : curve == GNUTLS_ECC_CURVE_SECP384R1 ? 384
			    : curve == GNUTLS_ECC_CURVE_SECP521R1 ? 521
								  : b;
		}
		gnutls_free(x.data);
		gnutls_free(y.data);
	}
	if (key_type)
		key_type_name(algo, b, key_type, typelen);
	if (bits)
		*bits = b;
	return 0;
}

void x509_cert_info_clear(struct x509_cert_info *c)
{
	if (!c)
		return;
	free(c->der);
	free(c->subject);
	free(c->issuer);
	memset(c, 0, sizeof(*c));
}

void x509_chain_clear(struct x509_chain *ch)
{
	if (!ch)
		return;
	for (size_t i = 0; i < ch->n; i++)
		x509_cert_info_clear(&ch->certs[i]);
	free(ch->certs);
	memset(ch, 0, sizeof(*ch));
}

char *x509_dn_string(gnutls_x509_crt_t crt, bool issuer, size_t max)
{
	gnutls_datum_t d = { NULL, 0 };
	int rc = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &d, 0)
			: gnutls_x509_crt_get_dn3(crt, &d, 0);
	if (rc < 0 || !d.data)
		return strdup("");
	char *s = strndup((const char *)d.data, d.size > max ? max : d.size);
	gnutls_free(d.data);
	return s;
}

int x509_cert_from_crt(gnutls_x509_crt_t crt, struct x509_cert_info *out, char *err, size_t errlen)
{
	gnutls_datum_t der = { NULL, 0 };
	gnutls_pubkey_t pub = NULL;
	uint8_t serial[64];
	size_t slen = sizeof(serial);
	unsigned ca = 0;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) < 0) {
		util_err(err, errlen, 0, "cannot re-encode certificate");
		goto fail;
	}
	if (der.size == 0 || der.size > X509_MAX_CHAIN_BYTES) {
		util_err(err, errlen, 0, "certificate of %u bytes", der.size);
		goto fail;
	}
	out->der = malloc(der.size);
	if (!out->der) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	memcpy(out->der, der.data, der.size);
	out->der_len = der.size;
	if ((rc = util_sha256(der.data, der.size, out->sha256)) != 0)
		goto fail;
	if (gnutls_pubkey_init(&pub) < 0) {
		pub = NULL;
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	rc = -EINVAL;
	if (gnutls_pubkey_import_x509(pub, crt, 0) < 0) {
		util_err(err, errlen, 0, "certificate has an unsupported public key");
		goto fail;
	}
	if (x509_pubkey_pin(pub, out->spki_pin, out->key_type, sizeof(out->key_type),
			    &out->key_bits) != 0) {
		util_err(err, errlen, 0, "cannot export the certificate's public key");
		goto fail;
	}
	out->subject = x509_dn_string(crt, false, X509_MAX_DN);
	out->issuer = x509_dn_string(crt, true, X509_MAX_DN);
	if (!out->subject || !out->issuer) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	if (gnutls_x509_crt_get_serial(crt, serial, &slen) < 0 || slen == 0) {
		util_err(err, errlen, 0, "certificate has no readable serial number");
		goto fail;
	}
	util_hex(serial, slen, out->serial);
	out->not_before = gnutls_x509_crt_get_activation_time(crt);
	out->not_after = gnutls_x509_crt_get_expiration_time(crt);
	if (out->not_before == (time_t)-1 || out->not_after == (time_t)-1) {
		util_err(err, errlen, 0, "certificate has an unreadable validity period");
		goto fail;
	}
	out->is_ca = gnutls_x509_crt_get_basic_constraints(crt, NULL, &ca, NULL) >= 0 && ca;
	gnutls_pubkey_deinit(pub);
	gnutls_free(der.data);
	return 0;
fail:
	gnutls_pubkey_deinit(pub);
	gnutls_free(der.data);
	x509_cert_info_clear(out);
	return rc;
}

int x509_cert_parse(const uint8_t *der, size_t len, struct x509_cert_info *out, char *err,
		    size_t errlen)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d = x509_datum(der, len);
	int rc;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > X509_MAX_CHAIN_BYTES)
		return util_err(err, errlen, -EINVAL, "certificate of %zu bytes", len);
	if (gnutls_x509_crt_init(&crt) < 0)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	rc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER);
	if (rc < 0) {
		gnutls_x509_crt_deinit(crt);
		return util_err(err, errlen, -EINVAL, "not a DER certificate: %s",
				gnutls_strerror(rc));
	}
	rc = x509_cert_from_crt(crt, out, err, errlen);
	gnutls_x509_crt_deinit(crt);
	return rc;
}

int x509_cert_copy(struct x509_cert_info *dst, const struct x509_cert_info *src)
{
	*dst = *src;
	dst->der = malloc(src->der_len);
	dst->subject = strdup(src->subject ? src->subject : "");
	dst->issuer = strdup(src->issuer ? src->issuer : "");
	if (!dst->der || !dst->subject || !dst->issuer) {
		x509_cert_info_clear(dst);
		return -ENOMEM;
	}
	memcpy(dst->der, src->der, src->der_len);
	return 0;
}

void x509_chain_fp_init(struct x509_chain_fp *fp)
{
	fp->rc = gnutls_hash_init(&fp->h, GNUTLS_DIG_SHA256) < 0 ? -EIO : 0;
	if (fp->rc)
		fp->h = NULL;
}

void x509_chain_fp_add(struct x509_chain_fp *fp, const uint8_t cert_sha256[32])
{
	if (fp->rc == 0 && gnutls_hash(fp->h, cert_sha256, 32) < 0)
		fp->rc = -EIO;
}

void x509_chain_fp_add_der(struct x509_chain_fp *fp, const void *der, size_t len)
{
	uint8_t sha[32];
	if (fp->rc == 0 && (fp->rc = util_sha256(der, len, sha)) == 0)
		x509_chain_fp_add(fp, sha);
}

int x509_chain_fp_end(struct x509_chain_fp *fp, uint8_t out[32])
{
	if (fp->h)
		gnutls_hash_deinit(fp->h, out);
	fp->h = NULL;
	if (fp->rc)
		memset(out, 0, 32);
	return fp->rc;
}

int x509_chain_fingerprint(const struct x509_chain *ch, size_t n, uint8_t out[32])
{
	struct x509_chain_fp fp;
	x509_chain_fp_init(&fp);
	for (size_t i = 0; i < n && i < ch->n; i++)
		x509_chain_fp_add(&fp, ch->certs[i].sha256);
	return x509_chain_fp_end(&fp, out);
}
