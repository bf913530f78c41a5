/* Every public key of a file (certificates, CSRs, public and private keys), for `pinwatch pin`. */
#include "pki/x509.h"
#include "pki/x509_int.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "base/util.h"

#define MAX_KEYS 4096

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

/* ---- keys ---- */

struct keyvec {
	struct x509_key *v;
	size_t n, cap;
};

static int keyvec_add(struct keyvec *kv, enum x509_key_source src, const char *label,
		      gnutls_pubkey_t pub, char *err, size_t errlen)
{
	if (kv->n >= MAX_KEYS)
		return util_err(err, errlen, -E2BIG, "more than %d keys", MAX_KEYS);
	if (ARRAY_RESERVE(kv->v, kv->cap, kv->n + 1, MAX_KEYS))
		return util_err(err, errlen, -ENOMEM, "out of memory");
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
	while ((rc = x509_pem_next(data, len, &pos, &b, err, errlen)) == 1) {
		int (*fn)(struct keyvec *, const gnutls_datum_t *, char *, size_t) = NULL;
		if (x509_is_cert_label(b.label))
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
			if (x509_pem_decode(&b, &der, err, errlen) == 0 &&
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
		if ((rc = x509_pem_decode(&b, &der, err, errlen)) != 0)
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
	while (pos < len && (n = x509_der_seq_len(data + pos, len - pos)) != 0) {
		gnutls_datum_t d = x509_datum(data + pos, n);
		if (key_from_cert(kv, &d, NULL, 0) != 0)
			break;
		pos += n;
	}
	if (pos == len && kv->n > 0)
		return 0;
	for (size_t i = 0; i < kv->n; i++)
		memset(&kv->v[i], 0, sizeof(kv->v[i]));
	kv->n = 0;
	if (x509_der_seq_len(data, len) != len)
		return util_err(err, errlen, -EINVAL,
				"neither PEM nor a complete DER structure (truncated or garbage)");
	gnutls_datum_t d = x509_datum(data, len);
	/* Each kind in turn while the data is not of it (-EINVAL); any other
	 * failure (out of memory) is the answer. */
	int rc = key_from_csr(kv, &d, NULL, 0);
	if (rc == -EINVAL)
		rc = key_from_pubkey(kv, &d, NULL, 0);
	if (rc == -EINVAL)
		rc = key_from_privkey(kv, &d, NULL, 0);
	if (rc != -EINVAL)
		return rc ? util_err(err, errlen, rc, "%s", strerror(-rc)) : 0;
	return util_err(
		err, errlen, -EINVAL,
		"DER data is not a certificate, CSR, public key or unencrypted private key");
}

int x509_keys_parse(const uint8_t *data, size_t len, struct x509_key **keys, size_t *n, char *err,
		    size_t errlen)
{
	struct keyvec kv = { NULL, 0, 0 };
	int rc;
	*keys = NULL;
	*n = 0;
	if (len == 0)
		return util_err(err, errlen, -EINVAL, "empty file");
	if (len > X509_MAX_FILE || len > UINT32_MAX)
		return util_err(err, errlen, -EFBIG, "file too large");
	if (x509_is_pem(data, len))
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
