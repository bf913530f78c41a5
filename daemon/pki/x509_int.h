/* Private to daemon/pki: what the x509*.c files share (PEM framing, the
 * trust store's structure and its issuer cache). Callers use x509.h. */
#ifndef PINWATCH_X509_INT_H
#define PINWATCH_X509_INT_H

#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki/x509.h"

/* ---- certificate info (x509.c) ---- */

/* The SPKI pin of an imported public key, its type name and bits. 0 or -EIO. */
int x509_pubkey_pin(gnutls_pubkey_t pub, uint8_t pin[32], char *key_type, size_t typelen,
		    unsigned *bits);

/* ---- PEM and DER framing (x509_pem.c) ---- */

struct pem_block {
	char label[64];
	gnutls_datum_t text; /* from "-----BEGIN" through the END line */
};

/* Next PEM block at or after *pos. 1 found, 0 none left, -EINVAL truncated/malformed. */
int x509_pem_next(const uint8_t *data, size_t len, size_t *pos, struct pem_block *b, char *err,
		  size_t errlen);
/* Whether @data holds a PEM "-----BEGIN " line. */
bool x509_is_pem(const uint8_t *data, size_t len);
/* Base64-decode block @b into @der (gnutls_free it). 0 or -EINVAL. */
int x509_pem_decode(const struct pem_block *b, gnutls_datum_t *der, char *err, size_t errlen);
/* Length of the DER TLV at @p (tag + length + content), or 0 if it is not a
 * complete SEQUENCE within @len bytes. */
size_t x509_der_seq_len(const uint8_t *p, size_t len);
/* Whether a PEM label names a certificate. */
bool x509_is_cert_label(const char *l);

/* ---- trust (x509_trust.c, x509_fast.c, x509_paths.c) ---- */

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
	size_t nanchor_list, anchor_list_cap;
	bool anchor_list_loaded;
};

/* Free what an issuer cache entry holds and zero it. */
void x509_issuer_entry_clear(struct issuer_entry *e);
/* Whether @c issued itself (names and key identifiers). */
bool x509_self_issued(gnutls_x509_crt_t c);
/* Remember intermediate @inter (validated->certs[1]), issued by anchor
 * @anchor of the list (validated->certs[2]), after a chain through it
 * verified (x509_fast.c). */
void x509_issuer_remember(struct x509_trust *t, gnutls_x509_crt_t inter, gnutls_x509_crt_t anchor,
			  const struct x509_chain *validated);

#endif
