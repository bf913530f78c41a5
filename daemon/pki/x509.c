#include "pki/x509.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <gnutls/abstract.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define MAX_KEYS  4096
#define MAX_BUILD 16 /* issuer steps when completing a chain */

const char *x509_key_source_name(enum x509_key_source s)
{
	switch (s) {
	case X509_SRC_CERT:
		return "certificate";
	case X509_SRC_PUBKEY:
		return "public key";
	case X509_SRC_CSR:
		return "CSR";
	case X509_SRC_PRIVKEY:
		return "private key";
	}
	return "?";
}

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
static int x509_pubkey_pin(gnutls_pubkey_t pub, uint8_t pin[32], char *key_type, size_t typelen,
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
	rc = -EINVAL;
	if (gnutls_pubkey_init(&pub) < 0 || gnutls_pubkey_import_x509(pub, crt, 0) < 0) {
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
	gnutls_datum_t d = { (unsigned char *)der, (unsigned)len };
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

/* ---- PEM and DER framing ---- */

struct pem_block {
	char label[64];
	gnutls_datum_t text; /* from "-----BEGIN" through the END line */
};

/* Next PEM block at or after *pos. 1 found, 0 none left, -EINVAL truncated/malformed. */
static int pem_next(const uint8_t *data, size_t len, size_t *pos, struct pem_block *b, char *err,
		    size_t errlen)
{
	static const char begin[] = "-----BEGIN ";
	const uint8_t *p = memmem(data + *pos, len - *pos, begin, sizeof(begin) - 1);
	if (!p)
		return 0;
	const uint8_t *lab = p + sizeof(begin) - 1, *end = data + len;
	const uint8_t *dash = memmem(lab, (size_t)(end - lab), "-----", 5);
	if (!dash || dash - lab == 0 || dash - lab >= (ptrdiff_t)sizeof(b->label) ||
	    memchr(lab, '\n', (size_t)(dash - lab)))
		return util_err(err, errlen, -EINVAL, "malformed PEM header at byte %zu",
				(size_t)(p - data));
	size_t ll = (size_t)(dash - lab);
	memcpy(b->label, lab, ll);
	b->label[ll] = '\0';
	char endmark[96];
	snprintf(endmark, sizeof(endmark), "-----END %s-----", b->label);
	const uint8_t *e = memmem(dash + 5, (size_t)(end - dash - 5), endmark, strlen(endmark));
	if (!e)
		return util_err(err, errlen, -EINVAL, "truncated PEM block '%s' (no END line)",
				b->label);
	const uint8_t *stop = e + strlen(endmark);
	b->text.data = (unsigned char *)p;
	b->text.size = (unsigned)(stop - p);
	*pos = (size_t)(stop - data);
	return 1;
}

static bool is_pem(const uint8_t *data, size_t len)
{
	return memmem(data, len, "-----BEGIN ", 11) != NULL;
}

static int pem_decode(const struct pem_block *b, gnutls_datum_t *der, char *err, size_t errlen)
{
	int rc = gnutls_pem_base64_decode2(b->label, &b->text, der);
	if (rc < 0 || der->size == 0) {
		gnutls_free(der->data);
		der->data = NULL;
		return util_err(err, errlen, -EINVAL, "PEM block '%s' does not decode: %s",
				b->label, rc < 0 ? gnutls_strerror(rc) : "empty");
	}
	return 0;
}

/* Length of the DER TLV at @p (tag + length + content), or 0 if it is not a
 * complete SEQUENCE within @len bytes. */
static size_t der_seq_len(const uint8_t *p, size_t len)
{
	if (len < 2 || p[0] != 0x30)
		return 0;
	size_t hdr = 2, body;
	if (p[1] < 0x80) {
		body = p[1];
	} else {
		unsigned nb = p[1] & 0x7f;
		if (nb == 0 || nb > 4 || len < 2 + nb)
			return 0;
		body = 0;
		for (unsigned i = 0; i < nb; i++)
			body = body << 8 | p[2 + i];
		hdr += nb;
	}
	if (body > len - hdr)
		return 0;
	return hdr + body;
}

static bool is_cert_label(const char *l)
{
	return !strcmp(l, "CERTIFICATE") || !strcmp(l, "X509 CERTIFICATE") ||
	       !strcmp(l, "TRUSTED CERTIFICATE");
}

static int chain_push(struct x509_chain *out, size_t max, const uint8_t *der, size_t len, char *err,
		      size_t errlen)
{
	if (out->n >= max)
		return util_err(err, errlen, -E2BIG, "more than %zu certificates", max);
	if (out->n % 16 == 0) {
		struct x509_cert_info *nc = realloc(out->certs, (out->n + 16) * sizeof(*nc));
		if (!nc)
			return util_err(err, errlen, -ENOMEM, "out of memory");
		out->certs = nc;
	}
	char why[ERRLEN];
	int rc = x509_cert_parse(der, len, &out->certs[out->n], why, sizeof(why));
	if (rc)
		return util_err(err, errlen, rc, "certificate %zu: %s", out->n + 1, why);
	out->n++;
	return 0;
}

int x509_chain_parse(const uint8_t *data, size_t len, size_t max, struct x509_chain *out, char *err,
		     size_t errlen)
{
	int rc = 0;
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return util_err(err, errlen, -EINVAL, "empty file");
	if (is_pem(data, len)) {
		size_t pos = 0;
		struct pem_block b;
		while ((rc = pem_next(data, len, &pos, &b, err, errlen)) == 1) {
			if (!is_cert_label(b.label))
				continue;
			gnutls_datum_t der = { NULL, 0 };
			if ((rc = pem_decode(&b, &der, err, errlen)) != 0)
				goto fail;
			rc = chain_push(out, max, der.data, der.size, err, errlen);
			gnutls_free(der.data);
			if (rc)
				goto fail;
		}
		if (rc < 0)
			goto fail;
	} else {
		size_t pos = 0;
		while (pos < len) {
			size_t n = der_seq_len(data + pos, len - pos);
			if (n == 0) {
				if (pos)
					rc = util_err(
						err, errlen, -EINVAL,
						"truncated or trailing bytes after certificate %zu",
						out->n);
				else
					rc = util_err(err, errlen, -EINVAL,
						      "neither PEM nor a complete DER certificate");
				goto fail;
			}
			if ((rc = chain_push(out, max, data + pos, n, err, errlen)) != 0)
				goto fail;
			pos += n;
		}
	}
	if (out->n == 0) {
		rc = util_err(err, errlen, -EINVAL, "no certificate found");
		goto fail;
	}
	return 0;
fail:
	x509_chain_clear(out);
	return rc;
}

int x509_chain_load_file(const char *path, size_t max, struct x509_chain *out, char *err,
			 size_t errlen)
{
	char *buf = NULL, why[ERRLEN];
	size_t len = 0;
	int rc = util_read_file(path, X509_MAX_FILE, &buf, &len);
	memset(out, 0, sizeof(*out));
	if (rc)
		return util_err(err, errlen, rc, "%s: %s", path,
				rc == -EFBIG ? "file too large" : strerror(-rc));
	rc = x509_chain_parse((const uint8_t *)buf, len, max, out, why, sizeof(why));
	free(buf);
	if (rc)
		util_err(err, errlen, rc, "%s: %s", path, why);
	return rc;
}

/* ---- keys ---- */

struct keyvec {
	struct x509_key *v;
	size_t n;
};

static int keyvec_add(struct keyvec *kv, enum x509_key_source src, const char *label,
		      gnutls_pubkey_t pub, char *err, size_t errlen)
{
	if (kv->n >= MAX_KEYS)
		return util_err(err, errlen, -E2BIG, "more than %d keys", MAX_KEYS);
	if (kv->n % 16 == 0) {
		struct x509_key *nv = realloc(kv->v, (kv->n + 16) * sizeof(*nv));
		if (!nv)
			return util_err(err, errlen, -ENOMEM, "out of memory");
		kv->v = nv;
	}
	struct x509_key *k = &kv->v[kv->n];
	memset(k, 0, sizeof(*k));
	k->source = src;
	snprintf(k->label, sizeof(k->label), "%s", label ? label : "");
	if (x509_pubkey_pin(pub, k->pin, k->key_type, sizeof(k->key_type), &k->key_bits) != 0)
		return util_err(err, errlen, -EINVAL, "cannot export the public key");
	kv->n++;
	return 0;
}

static int key_from_cert(struct keyvec *kv, const gnutls_datum_t *der, char *err, size_t errlen)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_pubkey_t pub = NULL;
	int rc = -EINVAL;
	if (gnutls_x509_crt_init(&crt) < 0 || gnutls_pubkey_init(&pub) < 0) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	int g = gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER);
	if (g < 0) {
		util_err(err, errlen, 0, "bad certificate: %s", gnutls_strerror(g));
		goto out;
	}
	if ((g = gnutls_pubkey_import_x509(pub, crt, 0)) < 0) {
		util_err(err, errlen, 0, "certificate key: %s", gnutls_strerror(g));
		goto out;
	}
	char *subj = x509_dn_string(crt, false, X509_MAX_DN);
	rc = keyvec_add(kv, X509_SRC_CERT, subj, pub, err, errlen);
	free(subj);
out:
	gnutls_pubkey_deinit(pub);
	gnutls_x509_crt_deinit(crt);
	return rc;
}

static int key_from_csr(struct keyvec *kv, const gnutls_datum_t *der, char *err, size_t errlen)
{
	gnutls_x509_crq_t crq = NULL;
	gnutls_pubkey_t pub = NULL;
	int rc = -EINVAL;
	if (gnutls_x509_crq_init(&crq) < 0 || gnutls_pubkey_init(&pub) < 0) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	int g = gnutls_x509_crq_import(crq, der, GNUTLS_X509_FMT_DER);
	if (g < 0) {
		util_err(err, errlen, 0, "bad CSR: %s", gnutls_strerror(g));
		goto out;
	}
	if ((g = gnutls_pubkey_import_x509_crq(pub, crq, 0)) < 0) {
		util_err(err, errlen, 0, "CSR key: %s", gnutls_strerror(g));
		goto out;
	}
	char label[512] = "";
	size_t ll = sizeof(label);
	gnutls_datum_t dn = { NULL, 0 };
	if (gnutls_x509_crq_get_dn3(crq, &dn, 0) >= 0 && dn.data) {
		ll = dn.size < sizeof(label) ? dn.size : sizeof(label) - 1;
		memcpy(label, dn.data, ll);
		label[ll] = '\0';
	}
	gnutls_free(dn.data);
	rc = keyvec_add(kv, X509_SRC_CSR, label, pub, err, errlen);
out:
	gnutls_pubkey_deinit(pub);
	gnutls_x509_crq_deinit(crq);
	return rc;
}

static int key_from_pubkey(struct keyvec *kv, const gnutls_datum_t *der, char *err, size_t errlen)
{
	gnutls_pubkey_t pub = NULL;
	int rc = -EINVAL;
	if (gnutls_pubkey_init(&pub) < 0)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	int g = gnutls_pubkey_import(pub, der, GNUTLS_X509_FMT_DER);
	if (g < 0)
		util_err(err, errlen, 0, "bad public key: %s", gnutls_strerror(g));
	else
		rc = keyvec_add(kv, X509_SRC_PUBKEY, "", pub, err, errlen);
	gnutls_pubkey_deinit(pub);
	return rc;
}

static int key_from_privkey(struct keyvec *kv, const gnutls_datum_t *der, char *err, size_t errlen)
{
	gnutls_privkey_t priv = NULL;
	gnutls_pubkey_t pub = NULL;
	int rc = -EINVAL;
	if (gnutls_privkey_init(&priv) < 0 || gnutls_pubkey_init(&pub) < 0) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	int g = gnutls_privkey_import_x509_raw(priv, der, GNUTLS_X509_FMT_DER, NULL, 0);
	if (g < 0) {
		util_err(err, errlen, 0, "bad private key: %s", gnutls_strerror(g));
		goto out;
	}
	if ((g = gnutls_pubkey_import_privkey(pub, priv, 0, 0)) < 0) {
		util_err(err, errlen, 0, "private key: %s", gnutls_strerror(g));
		goto out;
	}
	rc = keyvec_add(kv, X509_SRC_PRIVKEY, "", pub, err, errlen);
out:
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(priv);
	return rc;
}

static int keys_from_pem(struct keyvec *kv, const uint8_t *data, size_t len, char *err,
			 size_t errlen)
{
	size_t pos = 0;
	struct pem_block b;
	int rc;
	while ((rc = pem_next(data, len, &pos, &b, err, errlen)) == 1) {
		int (*fn)(struct keyvec *, const gnutls_datum_t *, char *, size_t) = NULL;
		if (is_cert_label(b.label))
			fn = key_from_cert;
		else if (!strcmp(b.label, "CERTIFICATE REQUEST") ||
			 !strcmp(b.label, "NEW CERTIFICATE REQUEST"))
			fn = key_from_csr;
		else if (!strcmp(b.label, "PUBLIC KEY"))
			fn = key_from_pubkey;
		else if (!strcmp(b.label, "PRIVATE KEY") || !strcmp(b.label, "RSA PRIVATE KEY") ||
			 !strcmp(b.label, "EC PRIVATE KEY"))
			fn = key_from_privkey;
		else if (!strcmp(b.label, "ENCRYPTED PRIVATE KEY")) {
			/* Only PKCS#8 "encrypted" with no password (certtool --null-password). */
			gnutls_datum_t der = { NULL, 0 };
			if (pem_decode(&b, &der, err, errlen) == 0 &&
			    key_from_privkey(kv, &der, NULL, 0) == 0) {
				gnutls_free(der.data);
				continue;
			}
			gnutls_free(der.data);
			return util_err(err, errlen, -EINVAL,
					"encrypted private key (decrypt it first, or pin its "
					"certificate or CSR)");
		} else if (!strcmp(b.label, "RSA PUBLIC KEY"))
			return util_err(err, errlen, -EINVAL,
					"PKCS#1 'RSA PUBLIC KEY' is not supported; convert it to "
					"'PUBLIC KEY' (SubjectPublicKeyInfo)");
		if (!fn)
			continue;
		gnutls_datum_t der = { NULL, 0 };
		if ((rc = pem_decode(&b, &der, err, errlen)) != 0)
			return rc;
		char why[ERRLEN];
		rc = fn(kv, &der, why, sizeof(why));
		gnutls_free(der.data);
		if (rc)
			return util_err(err, errlen, rc, "PEM block %zu ('%s'): %s", kv->n + 1,
					b.label, why);
	}
	return rc;
}

static int keys_from_der(struct keyvec *kv, const uint8_t *data, size_t len, char *err,
			 size_t errlen)
{
	/* A DER bundle: certificates back to back. */
	size_t pos = 0, n;
	while (pos < len && (n = der_seq_len(data + pos, len - pos)) != 0) {
		gnutls_datum_t d = { (unsigned char *)data + pos, (unsigned)n };
		if (key_from_cert(kv, &d, NULL, 0) != 0)
			break;
		pos += n;
	}
	if (pos == len && kv->n > 0)
		return 0;
	for (size_t i = 0; i < kv->n; i++)
		memset(&kv->v[i], 0, sizeof(kv->v[i]));
	kv->n = 0;
	if (der_seq_len(data, len) != len)
		return util_err(err, errlen, -EINVAL,
				"neither PEM nor a complete DER structure (truncated or garbage)");
	gnutls_datum_t d = { (unsigned char *)data, (unsigned)len };
	if (key_from_csr(kv, &d, NULL, 0) == 0 || key_from_pubkey(kv, &d, NULL, 0) == 0 ||
	    key_from_privkey(kv, &d, NULL, 0) == 0)
		return 0;
	return util_err(
		err, errlen, -EINVAL,
		"DER data is not a certificate, CSR, public key or unencrypted private key");
}

int x509_keys_parse(const uint8_t *data, size_t len, struct x509_key **keys, size_t *n, char *err,
		    size_t errlen)
{
	struct keyvec kv = { NULL, 0 };
	int rc;
	*keys = NULL;
	*n = 0;
	if (len == 0)
		return util_err(err, errlen, -EINVAL, "empty file");
	if (len > X509_MAX_FILE || len > UINT32_MAX)
		return util_err(err, errlen, -EFBIG, "file too large");
	if (is_pem(data, len))
		rc = keys_from_pem(&kv, data, len, err, errlen);
	else
		rc = keys_from_der(&kv, data, len, err, errlen);
	if (rc == 0 && kv.n == 0)
		rc = util_err(err, errlen, -EINVAL,
			      "no certificate, public key, CSR or private key found");
	if (rc) {
		free(kv.v);
		return rc;
	}
	*keys = kv.v;
	*n = kv.n;
	return 0;
}

int x509_keys_load_file(const char *path, struct x509_key **keys, size_t *n, char *err,
			size_t errlen)
{
	char *buf = NULL, why[ERRLEN];
	size_t len = 0;
	*keys = NULL;
	*n = 0;
	int rc = util_read_file(path, X509_MAX_FILE, &buf, &len);
	if (rc)
		return util_err(err, errlen, rc, "%s: %s", path,
				rc == -EFBIG ? "file too large" : strerror(-rc));
	rc = x509_keys_parse((const uint8_t *)buf, len, keys, n, why, sizeof(why));
	free(buf);
	if (rc)
		util_err(err, errlen, rc, "%s: %s", path, why);
	return rc;
}

/* ---- trust ---- */

#define ANCHOR_CACHE 32
#define ISSUER_CACHE 64

/* An intermediate that x509_validate() found issued directly by an anchor
 * of the list, and whose chain to that anchor verified (see
 * x509_validate_fast()). */
struct issuer_entry {
	uint8_t sha256[32];
	gnutls_x509_crt_t crt;		/* NULL: empty slot */
	struct x509_cert_info info[2];	/* the intermediate, the anchor */
	time_t valid_from, valid_until; /* both certificates valid in between */
	uint64_t stamp;			/* last use, for replacement */
};

struct x509_trust {
	gnutls_x509_trust_list_t tl;
	gnutls_x509_crt_t *extra; /* intermediates of the CA file */
	size_t nextra;
	/* Anchors are looked up without copying them (file-based trust lists
	 * hand out their own crt) unless the list only answers with copies
	 * (PKCS#11 modules): then copy_mode sticks. Parsed anchors are cached
	 * by crt pointer, valid as long as the list lives. */
	atomic_bool copy_mode;
	pthread_mutex_t lock;
	struct {
		gnutls_x509_crt_t crt;
		struct x509_cert_info info;
	} anchors[ANCHOR_CACHE];
	size_t nanchors;
	struct issuer_entry issuers[ISSUER_CACHE];
	uint64_t issuer_tick;
	/* Copies of the list's in-memory anchors for path building, loaded
	 * once (under lock) and unchanged afterwards. */
	gnutls_x509_crt_t *anchor_list;
	size_t nanchor_list;
	bool anchor_list_loaded;
};

static void issuer_entry_clear(struct issuer_entry *e)
{
	if (e->crt)
		gnutls_x509_crt_deinit(e->crt);
	x509_cert_info_clear(&e->info[0]);
	x509_cert_info_clear(&e->info[1]);
	memset(e, 0, sizeof(*e));
}

void x509_trust_free(struct x509_trust *t)
{
	if (!t)
		return;
	if (t->tl)
		gnutls_x509_trust_list_deinit(t->tl, 1);
	for (size_t i = 0; i < t->nextra; i++)
		gnutls_x509_crt_deinit(t->extra[i]);
	free(t->extra);
	for (size_t i = 0; i < t->nanchors; i++)
		x509_cert_info_clear(&t->anchors[i].info);
	for (size_t i = 0; i < ISSUER_CACHE; i++)
		issuer_entry_clear(&t->issuers[i]);
	for (size_t i = 0; i < t->nanchor_list; i++)
		gnutls_x509_crt_deinit(t->anchor_list[i]);
	free(t->anchor_list);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static bool self_issued(gnutls_x509_crt_t c)
{
	return gnutls_x509_crt_check_issuer(c, c) != 0;
}

static int trust_load_file(struct x509_trust *t, const char *path, char *err, size_t errlen)
{
	struct x509_chain ch;
	gnutls_x509_crt_t *crts = NULL;
	size_t nself = 0, nanch = 0;
	int rc = x509_chain_load_file(path, 100000, &ch, err, errlen);
	if (rc)
		return rc;
	crts = calloc(ch.n, sizeof(*crts));
	t->extra = calloc(ch.n, sizeof(*t->extra));
	if (!crts || !t->extra) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ch.n; i++) {
		gnutls_datum_t d = { ch.certs[i].der, (unsigned)ch.certs[i].der_len };
		if (gnutls_x509_crt_init(&crts[i]) < 0 ||
		    gnutls_x509_crt_import(crts[i], &d, GNUTLS_X509_FMT_DER) < 0) {
			rc = util_err(err, errlen, -EINVAL, "%s: certificate %zu unusable", path,
				      i + 1);
			goto out;
		}
		nself += self_issued(crts[i]);
	}
	gnutls_x509_crt_t *anch = calloc(ch.n, sizeof(*anch));
	if (!anch) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ch.n; i++) {
		if (nself == 0 || self_issued(crts[i]))
			anch[nanch++] = crts[i];
		else
			t->extra[t->nextra++] = crts[i];
		crts[i] = NULL;
	}
	int g = gnutls_x509_trust_list_add_cas(t->tl, anch, (unsigned)nanch, 0);
	free(anch);
	if (g < 0)
		rc = util_err(err, errlen, -EINVAL, "%s: %s", path, gnutls_strerror(g));
out:
	if (crts)
		for (size_t i = 0; i < ch.n; i++)
			if (crts[i])
				gnutls_x509_crt_deinit(crts[i]);
	free(crts);
	x509_chain_clear(&ch);
	return rc;
}

struct x509_trust *x509_trust_new(const char *ca_file, char *err, size_t errlen)
{
	struct x509_trust *t = calloc(1, sizeof(*t));
	if (!t || gnutls_x509_trust_list_init(&t->tl, 0) < 0) {
		util_err(err, errlen, 0, "out of memory");
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	if (ca_file && *ca_file) {
		if (trust_load_file(t, ca_file, err, errlen) != 0)
			goto fail;
	} else {
		int g = gnutls_x509_trust_list_add_system_trust(t->tl, 0, 0);
		if (g < 0) {
			util_err(err, errlen, 0, "cannot load the system trust store: %s",
				 gnutls_strerror(g));
			goto fail;
		}
	}
	return t;
fail:
	x509_trust_free(t);
	return NULL;
}

/* The parsed form of anchor @crt (owned by the trust list), from the cache. */
static int anchor_info(struct x509_trust *t, gnutls_x509_crt_t crt, struct x509_cert_info *out,
		       char *err, size_t errlen)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nanchors && rc == -ENOENT; i++)
		if (t->anchors[i].crt == crt)
			rc = x509_cert_copy(out, &t->anchors[i].info);
	if (rc == -ENOENT) {
		rc = x509_cert_from_crt(crt, out, err, errlen);
		if (rc == 0 && t->nanchors < ANCHOR_CACHE &&
		    x509_cert_copy(&t->anchors[t->nanchors].info, out) == 0)
			t->anchors[t->nanchors++].crt = crt;
	} else if (rc) {
		util_err(err, errlen, rc, "out of memory");
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static bool has_name_constraints(gnutls_x509_crt_t c)
{
	size_t size = 0;
	unsigned critical = 0;
	int g = gnutls_x509_crt_get_extension_by_oid(c, "2.5.29.30", 0, NULL, &size, &critical);
	return g != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE;
}

/* Remember intermediate @inter (validated->certs[1]), issued by anchor
 * @anchor of the list (validated->certs[2]), after a chain through it
 * verified. Name constraints would make the leaf's check depend on the
 * whole path: such intermediates are not remembered. */
static void issuer_remember(struct x509_trust *t, gnutls_x509_crt_t inter, gnutls_x509_crt_t anchor,
			    const struct x509_chain *validated)
{
	if (validated->n != 3 || has_name_constraints(inter) || has_name_constraints(anchor))
		return;
	const struct x509_cert_info *ii = &validated->certs[1], *ai = &validated->certs[2];
	pthread_mutex_lock(&t->lock);
	struct issuer_entry *e = &t->issuers[0];
	for (size_t i = 0; i < ISSUER_CACHE; i++) {
		struct issuer_entry *c = &t->issuers[i];
		if (c->crt && !memcmp(c->sha256, ii->sha256, 32))
			goto out; /* known */
		if (c->stamp < e->stamp)
			e = c; /* empty slots have stamp 0 */
	}
	issuer_entry_clear(e);
	gnutls_datum_t d = { ii->der, (unsigned)ii->der_len };
	if (gnutls_x509_crt_init(&e->crt) < 0) {
		e->crt = NULL;
		goto out;
	}
	if (gnutls_x509_crt_import(e->crt, &d, GNUTLS_X509_FMT_DER) < 0 ||
	    x509_cert_copy(&e->info[0], ii) != 0 || x509_cert_copy(&e->info[1], ai) != 0) {
		issuer_entry_clear(e);
		goto out;
	}
	memcpy(e->sha256, ii->sha256, 32);
	e->valid_from = ii->not_before > ai->not_before ? ii->not_before : ai->not_before;
	e->valid_until = ii->not_after < ai->not_after ? ii->not_after : ai->not_after;
	e->stamp = ++t->issuer_tick;
out:
	pthread_mutex_unlock(&t->lock);
}

int x509_validate_fast(struct x509_trust *t, gnutls_x509_crt_t leaf,
		       const struct x509_cert_info *leaf_info, const uint8_t issuer_sha256[32],
		       const char *hostname, struct x509_chain *validated, struct x509_verdict *v,
		       char *err, size_t errlen)
{
	time_t now = time(NULL);
	struct issuer_entry *e = NULL;

	memset(v, 0, sizeof(*v));
	memset(validated, 0, sizeof(*validated));
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < ISSUER_CACHE && !e; i++)
		if (t->issuers[i].crt && !memcmp(t->issuers[i].sha256, issuer_sha256, 32))
			e = &t->issuers[i];
	/* Outside its window the verdict must come with x509_validate()'s reasons. */
	if (!e || now < e->valid_from || now > e->valid_until) {
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	e->stamp = ++t->issuer_tick;
	/* x509_validate() would pick the same path: no anchor issues the leaf
	 * directly, the leaf is not self-issued, and the intermediate (the
	 * first presented certificate after the leaf) is its issuer. The entry
	 * stays in place while the lock is held. */
	gnutls_x509_crt_t iss = NULL;
	bool copy = atomic_load(&t->copy_mode);
	int g = gnutls_x509_trust_list_get_issuer(t->tl, leaf, &iss, copy ? GNUTLS_TL_GET_COPY : 0);
	if (!copy && (g < 0 || !iss)) { /* as x509_validate() asks */
		iss = NULL;
		g = gnutls_x509_trust_list_get_issuer(t->tl, leaf, &iss, GNUTLS_TL_GET_COPY);
		copy = true;
	}
	if (g == 0 && iss && copy)
		gnutls_x509_crt_deinit(iss);
	unsigned status = 1;
	/* self_issued() is costly when the names differ (GnuTLS then compares
	 * them as strings): equal strings are necessary for it to hold. */
	bool self = leaf_info->subject && leaf_info->issuer &&
		    !strcmp(leaf_info->subject, leaf_info->issuer) && self_issued(leaf);
	if (!(g == 0 && iss) && !self && gnutls_x509_crt_check_issuer(leaf, e->crt) &&
	    gnutls_x509_crt_verify(leaf, &e->crt, 1, 0, &status) < 0)
		status = 1;
	if (status != 0) {
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	int rc = 0;
	validated->certs = calloc(3, sizeof(*validated->certs));
	if (!validated->certs || x509_cert_copy(&validated->certs[0], leaf_info) != 0 ||
	    x509_cert_copy(&validated->certs[1], &e->info[0]) != 0 ||
	    x509_cert_copy(&validated->certs[2], &e->info[1]) != 0) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		validated->n = 3;
		x509_chain_clear(validated);
	} else {
		validated->n = 3;
	}
	pthread_mutex_unlock(&t->lock);
	if (rc)
		return rc;
	v->trusted = true;
	v->name_ok = !hostname || gnutls_x509_crt_check_hostname2(leaf, hostname, 0) != 0;
	for (size_t i = 0; i < validated->n; i++)
		if (now > validated->certs[i].not_after || now < validated->certs[i].not_before)
			v->expired = true;
	return 1;
}

int x509_validate(const struct x509_trust *t, gnutls_x509_crt_t *presented, size_t n,
		  const struct x509_chain *presented_info, const char *hostname,
		  struct x509_chain *validated, struct x509_verdict *v, char *err, size_t errlen)
{
	gnutls_x509_crt_t built[MAX_BUILD + 1];
	int from[MAX_BUILD + 1]; /* index in @presented, or -1 */
	bool owned[MAX_BUILD + 1] = { false };
	bool used_p[X509_MAX_CHAIN] = { false }, used_e[64] = { false };
	size_t nb = 0;
	int rc = 0;

	memset(v, 0, sizeof(*v));
	memset(validated, 0, sizeof(*validated));
	if (n == 0)
		return util_err(err, errlen, -EINVAL, "empty chain");
	if (n > X509_MAX_CHAIN)
		n = X509_MAX_CHAIN;
	from[nb] = 0;
	built[nb++] = presented[0];
	used_p[0] = true;
	while (nb < MAX_BUILD) {
		gnutls_x509_crt_t cur = built[nb - 1], iss = NULL;
		bool copy = atomic_load(&((struct x509_trust *)t)->copy_mode);
		int g = gnutls_x509_trust_list_get_issuer(t->tl, cur, &iss,
							  copy ? GNUTLS_TL_GET_COPY : 0);
		if (!copy && (g < 0 || !iss)) {
			iss = NULL;
			g = gnutls_x509_trust_list_get_issuer(t->tl, cur, &iss, GNUTLS_TL_GET_COPY);
			if (g == 0 && iss) {
				copy = true;
				atomic_store(&((struct x509_trust *)t)->copy_mode, true);
			}
		}
		if (g == 0 && iss) {
			if (gnutls_x509_crt_equals(iss, cur)) {
				if (copy)
					gnutls_x509_crt_deinit(iss);
			} else {
				owned[nb] = copy;
				from[nb] = copy ? -1 : -2; /* -2: the list's own crt */
				built[nb++] = iss;
			}
			break;
		}
		if (self_issued(cur))
			break;
		bool found = false;
		for (size_t i = 1; i < n && !found; i++) {
			if (!used_p[i] && gnutls_x509_crt_check_issuer(cur, presented[i])) {
				used_p[i] = true;
				from[nb] = (int)i;
				built[nb++] = presented[i];
				found = true;
			}
		}
		for (size_t i = 0; i < t->nextra && i < ARRAY_SIZE(used_e) && !found; i++) {
			if (!used_e[i] && gnutls_x509_crt_check_issuer(cur, t->extra[i])) {
				used_e[i] = true;
				from[nb] = -1;
				built[nb++] = t->extra[i];
				found = true;
			}
		}
		if (!found)
			break;
	}

	unsigned status = 0;
	int g = gnutls_x509_trust_list_verify_crt2(t->tl, built, (unsigned)nb, NULL, 0, 0, &status,
						   NULL);
	if (g < 0) {
		status = GNUTLS_CERT_INVALID;
		snprintf(v->reason, sizeof(v->reason), "%s", gnutls_strerror(g));
	}
	v->status = status;
	v->trusted = status == 0;
	if (!v->trusted && !v->reason[0]) {
		gnutls_datum_t out = { NULL, 0 };
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out,
								 0) >= 0 &&
		    out.data)
			snprintf(v->reason, sizeof(v->reason), "%.*s", (int)out.size, out.data);
		gnutls_free(out.data);
	}
	v->name_ok = !hostname || gnutls_x509_crt_check_hostname2(built[0], hostname, 0) != 0;

	validated->certs = calloc(nb, sizeof(*validated->certs));
	if (!validated->certs) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	time_t now = time(NULL);
	for (size_t i = 0; i < nb; i++) {
		if (presented_info && from[i] >= 0 && (size_t)from[i] < presented_info->n) {
			rc = x509_cert_copy(&validated->certs[i], &presented_info->certs[from[i]]);
			if (rc)
				util_err(err, errlen, rc, "out of memory");
		} else if (from[i] == -2) {
			rc = anchor_info((struct x509_trust *)t, built[i], &validated->certs[i],
					 err, errlen);
		} else {
			rc = x509_cert_from_crt(built[i], &validated->certs[i], err, errlen);
		}
		if (rc) {
			x509_chain_clear(validated);
			goto out;
		}
		validated->n++;
		if (now > validated->certs[i].not_after || now < validated->certs[i].not_before)
			v->expired = true;
	}
	if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED))
		v->expired = true;
	if (status == 0 && nb == 3 && from[1] >= 1 && from[2] == -2)
		issuer_remember((struct x509_trust *)t, built[1], built[2], validated);
out:
	for (size_t i = 0; i < nb; i++)
		if (owned[i])
			gnutls_x509_crt_deinit(built[i]);
	return rc;
}

/* ---- certification paths ---- */

#define PATH_STEPS_MAX 4096 /* issuer look-ups per build: bounds a pool full of one name */

/* Whether @issuer's key signed @crt and its names and key identifiers match (time ignored). */
static bool x509_signed_by(gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer)
{
	unsigned status = 1;
	if (!gnutls_x509_crt_check_issuer(crt, issuer))
		return false;
	if (gnutls_x509_crt_verify(crt, &issuer, 1,
				   GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
					   GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
				   &status) < 0)
		return false;
	return status == 0;
}

void x509_paths_clear(struct x509_paths *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		x509_chain_clear(&p->v[i].certs);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

struct pathbuild {
	const struct x509_trust *t;
	const gnutls_x509_crt_t *pool;
	size_t npool;
	gnutls_x509_crt_t *anchors; /* the list's in-memory anchors (owned by t) */
	size_t nanchors;
	gnutls_x509_crt_t path[X509_PATH_MAX];
	int src[X509_PATH_MAX];
	size_t n;
	int anchor_at; /* index of the path's first trust anchor, or -1 */
	unsigned steps;
	struct x509_paths *out;
	char *err;
	size_t errlen;
	int rc;
};

#define ANCHORS_MAX 4096

/* Every anchor of the list held in memory (a CA file, the system bundle),
 * copied once per trust list: gnutls_x509_trust_list_get_issuer() answers
 * with one certificate of a name, and two anchors may share one (a re-keyed
 * root). */
static int anchors_load(struct pathbuild *b)
{
	struct x509_trust *t = (struct x509_trust *)b->t;
	int rc = 0;
	pthread_mutex_lock(&t->lock);
	if (!t->anchor_list_loaded) {
		gnutls_x509_trust_list_iter_t it = NULL;
		gnutls_x509_crt_t c;
		while (t->nanchor_list < ANCHORS_MAX &&
		       gnutls_x509_trust_list_iter_get_ca(t->tl, &it, &c) == 0) {
			if (t->nanchor_list % 64 == 0) {
				gnutls_x509_crt_t *nv = realloc(
					t->anchor_list, (t->nanchor_list + 64) * sizeof(*nv));
				if (!nv) {
					gnutls_x509_crt_deinit(c);
					rc = util_err(b->err, b->errlen, -ENOMEM, "out of memory");
					break;
				}
				t->anchor_list = nv;
			}
			t->anchor_list[t->nanchor_list++] = c;
		}
		if (it)
			gnutls_x509_trust_list_iter_deinit(it);
		if (rc) { /* start over next time */
			for (size_t i = 0; i < t->nanchor_list; i++)
				gnutls_x509_crt_deinit(t->anchor_list[i]);
			t->nanchor_list = 0;
		}
		t->anchor_list_loaded = rc == 0;
	}
	b->anchors = t->anchor_list;
	b->nanchors = t->anchor_list_loaded ? t->nanchor_list : 0;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static bool path_has(const struct pathbuild *b, gnutls_x509_crt_t c)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->path[i] == c || gnutls_x509_crt_equals(b->path[i], c))
			return true;
	return false;
}

static void status_text(unsigned status, char *buf, size_t len)
{
	gnutls_datum_t out = { NULL, 0 };
	if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) >= 0 &&
	    out.data)
		snprintf(buf, len, "%.*s", (int)out.size, out.data);
	else
		snprintf(buf, len, "verification failed (status 0x%x)", status);
	gnutls_free(out.data);
}

/* Record the current path. With an anchor on it (b->anchor_at >= 0) the
 * path up to that anchor is verified against it alone, time not checked
 * (anchors above it, which issued it, are trusted as they are); without,
 * it is untrusted (@why). */
static void path_emit(struct pathbuild *b, const char *why)
{
	size_t n = b->n;
	if (b->rc)
		return;
	if (b->out->n >= X509_PATHS_MAX) {
		b->out->truncated = true;
		return;
	}
	struct x509_path *np = realloc(b->out->v, (b->out->n + 1) * sizeof(*np));
	if (!np) {
		b->rc = util_err(b->err, b->errlen, -ENOMEM, "out of memory");
		return;
	}
	b->out->v = np;
	struct x509_path *p = &np[b->out->n];
	memset(p, 0, sizeof(*p));
	p->certs.certs = calloc(n, sizeof(*p->certs.certs));
	if (!p->certs.certs) {
		b->rc = util_err(b->err, b->errlen, -ENOMEM, "out of memory");
		return;
	}
	b->out->n++;
	for (size_t i = 0; i < n; i++) {
		int rc = x509_cert_from_crt(b->path[i], &p->certs.certs[i], b->err, b->errlen);
		if (rc) {
			b->rc = rc;
			return;
		}
		p->certs.n++;
		p->src[i] = b->src[i];
	}
	if (b->anchor_at < 0) {
		snprintf(p->reason, sizeof(p->reason), "%s", why ? why : "no trust anchor");
		return;
	}
	/* Signatures, CA flags, path length and name constraints, key usage. */
	unsigned status = GNUTLS_CERT_INVALID;
	gnutls_x509_crt_t anchor = b->path[b->anchor_at];
	if (gnutls_x509_crt_list_verify(b->path, (unsigned)b->anchor_at + 1, &anchor, 1, NULL, 0,
					GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
						GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
					&status) < 0)
		status = GNUTLS_CERT_INVALID;
	p->trusted = status == 0;
	if (!p->trusted)
		status_text(status, p->reason, sizeof(p->reason));
}

static void path_push(struct pathbuild *b, gnutls_x509_crt_t c, int src)
{
	b->path[b->n] = c;
	b->src[b->n] = src;
	b->n++;
}

/* The last certificate of the path is a trust anchor. Like Android's
 * TrustManagerImpl and OkHttp's certificate chain cleaner, keep going
 * through the anchors that issued it until a self-signed one: pins on the
 * anchor's own issuer count. */
static void path_up_anchors(struct pathbuild *b)
{
	gnutls_x509_crt_t cur = b->path[b->n - 1];
	bool any = false;
	if (!self_issued(cur) && b->n < X509_PATH_MAX) {
		for (size_t i = 0; i < b->nanchors && !b->rc; i++) {
			gnutls_x509_crt_t a = b->anchors[i];
			if (path_has(b, a) || !x509_signed_by(cur, a))
				continue;
			any = true;
			path_push(b, a, X509_SRC_ANCHOR);
			path_up_anchors(b);
			b->n--;
		}
	}
	if (!any)
		path_emit(b, NULL);
}

/* Anchors that issued @cur, or that @cur is: the path goes on through the
 * anchors only (clients try the trust store before any other issuer).
 * Returns whether any did. */
static bool path_anchors(struct pathbuild *b, gnutls_x509_crt_t cur)
{
	bool any = false;
	for (size_t i = 0; i < b->nanchors && !b->rc; i++) {
		if (gnutls_x509_crt_equals(b->anchors[i], cur)) {
			b->anchor_at = (int)b->n - 1;
			path_up_anchors(b);
			b->anchor_at = -1;
			return true;
		}
	}
	if (b->n >= X509_PATH_MAX)
		return false;
	for (size_t i = 0; i < b->nanchors && !b->rc; i++) {
		gnutls_x509_crt_t a = b->anchors[i];
		if (path_has(b, a) || !x509_signed_by(cur, a))
			continue;
		any = true;
		path_push(b, a, X509_SRC_ANCHOR);
		b->anchor_at = (int)b->n - 1;
		path_up_anchors(b);
		b->anchor_at = -1;
		b->n--;
	}
	if (any)
		return true;
	/* Anchors the list does not hold in memory (a PKCS#11 trust module). */
	gnutls_x509_crt_t iss = NULL;
	int g = gnutls_x509_trust_list_get_issuer(b->t->tl, cur, &iss, GNUTLS_TL_GET_COPY);
	if (g == 0 && iss) {
		if (gnutls_x509_crt_equals(iss, cur)) {
			b->anchor_at = (int)b->n - 1;
			path_emit(b, NULL);
			any = true;
		} else if (x509_signed_by(cur, iss)) {
			path_push(b, iss, X509_SRC_ANCHOR);
			b->anchor_at = (int)b->n - 1;
			path_emit(b, NULL);
			b->n--;
			any = true;
		}
		b->anchor_at = -1;
		gnutls_x509_crt_deinit(iss);
	}
	return any;
}

static void path_step(struct pathbuild *b)
{
	gnutls_x509_crt_t cur = b->path[b->n - 1];
	char why[200];
	if (b->rc || b->out->n >= X509_PATHS_MAX)
		return;
	if (++b->steps > PATH_STEPS_MAX) {
		b->out->truncated = true;
		return;
	}
	if (b->t && path_anchors(b, cur))
		return;
	if (self_issued(cur)) {
		path_emit(b, "it ends at a self-signed certificate that is not a trust anchor");
		return;
	}
	if (b->n >= X509_PATH_MAX - 1) {
		b->out->truncated = true;
		path_emit(b, "the path is longer than pinwatch follows");
		return;
	}
	bool found = false;
	for (size_t i = 0; i < b->npool && !b->rc && b->out->n < X509_PATHS_MAX; i++) {
		gnutls_x509_crt_t c = b->pool[i];
		if (path_has(b, c) || !x509_signed_by(cur, c))
			continue;
		found = true;
		path_push(b, c, (int)i);
		path_step(b);
		b->n--;
	}
	if (!found) {
		char *dn = x509_dn_string(cur, true, 512);
		snprintf(why, sizeof(why),
			 "no certificate of issuer %s whose key signed it is known",
			 dn && *dn ? dn : "(unnamed)");
		free(dn);
		path_emit(b, why);
	}
}

static int path_trusted_first(const void *a, const void *b)
{
	const struct x509_path *x = a, *y = b;
	return (int)y->trusted - (int)x->trusted;
}

int x509_paths_build(const struct x509_trust *t, gnutls_x509_crt_t leaf,
		     const gnutls_x509_crt_t *pool, size_t npool, struct x509_paths *out, char *err,
		     size_t errlen)
{
	struct pathbuild b = {
		.t = t, .pool = pool, .npool = npool, .out = out, .err = err, .errlen = errlen
	};
	memset(out, 0, sizeof(*out));
	b.path[0] = leaf;
	b.src[0] = X509_SRC_LEAF;
	b.n = 1;
	b.anchor_at = -1;
	if (t)
		b.rc = anchors_load(&b);
	if (!b.rc)
		path_step(&b);
	if (b.rc) {
		x509_paths_clear(out);
		return b.rc;
	}
	/* Stable enough: the order within each group is the search order. */
	for (size_t i = 1; i < out->n; i++)
		for (size_t j = i; j > 0 && path_trusted_first(&out->v[j - 1], &out->v[j]) > 0;
		     j--) {
			struct x509_path tmp = out->v[j];
			out->v[j] = out->v[j - 1];
			out->v[j - 1] = tmp;
		}
	return 0;
}
