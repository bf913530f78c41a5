/* PEM and DER framing: certificate blocks of a file, a chain from a file. */
#include "pki/x509.h"
#include "pki/x509_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "base/util.h"

/* ---- PEM and DER framing ---- */

/* Next PEM block at or after *pos. 1 found, 0 none left, -EINVAL truncated/malformed. */
int x509_pem_next(const uint8_t *data, size_t len, size_t *pos, struct pem_block *b, char *err,
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
	b->text = x509_datum(p, (size_t)(stop - p));
	*pos = (size_t)(stop - data);
	return 1;
}

bool x509_is_pem(const uint8_t *data, size_t len)
{
	return memmem(data, len, "-----BEGIN ", 11) != NULL;
}

int x509_pem_decode(const struct pem_block *b, gnutls_datum_t *der, char *err, size_t errlen)
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
size_t x509_der_seq_len(const uint8_t *p, size_t len)
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

bool x509_is_cert_label(const char *l)
{
	return !strcmp(l, "CERTIFICATE") || !strcmp(l, "X509 CERTIFICATE") ||
	       !strcmp(l, "TRUSTED CERTIFICATE");
}

/* Parse @der onto @out, whose certs hold *@cap elements. */
static int chain_push(struct x509_chain *out, size_t *cap, size_t max, const uint8_t *der,
		      size_t len, char *err, size_t errlen)
{
	if (out->n >= max)
		return util_err(err, errlen, -E2BIG, "more than %zu certificates", max);
	if (ARRAY_RESERVE(out->certs, *cap, out->n + 1, max))
		return util_err(err, errlen, -ENOMEM, "out of memory");
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
	size_t cap = 0;
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return util_err(err, errlen, -EINVAL, "empty file");
	if (x509_is_pem(data, len)) {
		size_t pos = 0;
		struct pem_block b;
		while ((rc = x509_pem_next(data, len, &pos, &b, err, errlen)) == 1) {
			if (!x509_is_cert_label(b.label))
				continue;
			gnutls_datum_t der = { NULL, 0 };
			if ((rc = x509_pem_decode(&b, &der, err, errlen)) != 0)
				goto fail;
			rc = chain_push(out, &cap, max, der.data, der.size, err, errlen);
			gnutls_free(der.data);
			if (rc)
				goto fail;
		}
		if (rc < 0)
			goto fail;
	} else {
		size_t pos = 0;
		while (pos < len) {
			size_t n = x509_der_seq_len(data + pos, len - pos);
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
			if ((rc = chain_push(out, &cap, max, data + pos, n, err, errlen)) != 0)
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
