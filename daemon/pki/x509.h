/* X.509 with GnuTLS: parse PEM/DER certificates, keys and CSRs, compute SPKI
 * pins, and complete a presented chain to a trust anchor.
 *
 * A pin is SHA-256 over the DER SubjectPublicKeyInfo (gnutls_pubkey_export
 * in DER), the HPKP / Android NSC / TrustKit / OkHttp "sha256/..." value.
 */
#ifndef PINWATCH_X509_H
#define PINWATCH_X509_H

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define X509_MAX_CHAIN	     32		       /**< certificates kept of a presented chain */
#define X509_MAX_CHAIN_BYTES (256 * 1024)      /**< bytes of DER kept of a presented chain */
#define X509_MAX_FILE	     (8 * 1024 * 1024) /**< largest PEM/DER file read */
#define X509_MAX_DN	     4096	       /**< longest subject/issuer string kept */

/**
 * A gnutls_datum_t over @len bytes at @p, for GnuTLS calls that only read
 * it (they take a const gnutls_datum_t *, whose data pointer has no const):
 * the one place that drops the const of read-only input.
 */
static inline gnutls_datum_t x509_datum(const void *p, size_t len)
{
	return (gnutls_datum_t){ .data = (unsigned char *)(uintptr_t)p, .size = (unsigned)len };
}

/** One parsed certificate. All fields owned by the struct (x509_cert_info_clear). */
struct x509_cert_info {
	uint8_t *der; /**< copy of the DER encoding */
	size_t der_len;
	uint8_t sha256[32];   /**< SHA-256 of the DER (fingerprint) */
	uint8_t spki_pin[32]; /**< SHA-256 of the DER SubjectPublicKeyInfo */
	char *subject;	      /**< RFC 4514 string, never NULL after a successful parse */
	char *issuer;	      /**< RFC 4514 string, never NULL after a successful parse */
	char serial[129];     /**< lower-case hex */
	time_t not_before;
	time_t not_after;
	char key_type[24]; /**< "RSA", "ECDSA P-256", "Ed25519", ... */
	unsigned key_bits;
	bool is_ca; /**< basicConstraints cA=TRUE */
};

/** An ordered list of certificates (leaf first). */
struct x509_chain {
	struct x509_cert_info *certs;
	size_t n;
	bool truncated; /**< input had more than the caller's cap */
};

/** What a key found in a file came from, for `pinwatch pin`. */
enum x509_key_source { X509_SRC_CERT, X509_SRC_PUBKEY, X509_SRC_CSR, X509_SRC_PRIVKEY };

/** One public key found in a file. */
struct x509_key {
	enum x509_key_source source;
	char label[512]; /**< certificate subject (RFC 4514), CSR subject, or "" */
	uint8_t pin[32];
	char key_type[24];
	unsigned key_bits;
};

/**
 * Parse one DER certificate into @out (zeroed first). 0 or -EINVAL with a
 * reason in @err. On failure @out holds nothing to free.
 */
int x509_cert_parse(const uint8_t *der, size_t len, struct x509_cert_info *out, char *err,
		    size_t errlen);

/** Fill @out from an imported GnuTLS certificate (as x509_cert_parse). */
int x509_cert_from_crt(gnutls_x509_crt_t crt, struct x509_cert_info *out, char *err, size_t errlen);

/** Deep copy @src into @dst. 0 or -ENOMEM. */
int x509_cert_copy(struct x509_cert_info *dst, const struct x509_cert_info *src);

/** Free what @c owns and zero it; NULL-safe. */
void x509_cert_info_clear(struct x509_cert_info *c);

/** Free the certificates of @ch and zero it; NULL-safe. */
void x509_chain_clear(struct x509_chain *ch);

/* ---- Chain fingerprints ---- */

/**
 * A chain's fingerprint: SHA-256 over the SHA-256 of each certificate's
 * DER, leaf first, with nothing between them. It is the key of a chain in
 * the store (chains.sha256), in pin-failure reports and in candidates, and
 * databases keep it: it must never change. Hashed incrementally:
 * x509_chain_fp_init(), one x509_chain_fp_add() or _add_der() per
 * certificate, then always x509_chain_fp_end(). A failure (of any step)
 * sticks, and _end() reports it.
 */
struct x509_chain_fp {
	gnutls_hash_hd_t h; /**< NULL when the init failed */
	int rc;		    /**< 0 or the first failure (-EIO) */
};

/** Start a fingerprint into @fp. */
void x509_chain_fp_init(struct x509_chain_fp *fp);
/** Add the next certificate by the SHA-256 of its DER. */
void x509_chain_fp_add(struct x509_chain_fp *fp, const uint8_t cert_sha256[32]);
/** Add the next certificate by its DER (hashed here). */
void x509_chain_fp_add_der(struct x509_chain_fp *fp, const void *der, size_t len);
/** The fingerprint into @out (zeroed on failure) and release @fp. 0 or -EIO. */
int x509_chain_fp_end(struct x509_chain_fp *fp, uint8_t out[32]);

/** The fingerprint of the first @n certificates of @ch (n <= ch->n), from
 *  their x509_cert_info.sha256. 0 or -EIO (@out zeroed). */
int x509_chain_fingerprint(const struct x509_chain *ch, size_t n, uint8_t out[32]);

/**
 * Parse every certificate of @data (PEM blocks "CERTIFICATE"/"X509 CERTIFICATE"/
 * "TRUSTED CERTIFICATE", other PEM blocks ignored; or one or more concatenated
 * DER certificates) into @out, keeping at most @max (more is -E2BIG). A file
 * with no certificate, a truncated or undecodable block is -EINVAL with a reason in @err.
 */
int x509_chain_parse(const uint8_t *data, size_t len, size_t max, struct x509_chain *out, char *err,
		     size_t errlen);

/** x509_chain_parse on the contents of @path; @err names the file. */
int x509_chain_load_file(const char *path, size_t max, struct x509_chain *out, char *err,
			 size_t errlen);

/**
 * Every public key in @data (PEM or DER): certificates, bundles, public keys
 * ("PUBLIC KEY"), CSRs (PKCS#10) and private keys (PKCS#1, PKCS#8, SEC1 EC,
 * Ed25519). PEM blocks of other types (e.g. "EC PARAMETERS") are skipped.
 * On success *keys is a malloc'ed array of *n >= 1 entries (caller frees).
 * Encrypted private keys, truncated/garbage input and files without a key
 * are -EINVAL with a reason in @err. At most 4096 keys.
 */
int x509_keys_parse(const uint8_t *data, size_t len, struct x509_key **keys, size_t *n, char *err,
		    size_t errlen);

/** x509_keys_parse on the contents of @path; @err names the file. */
int x509_keys_load_file(const char *path, struct x509_key **keys, size_t *n, char *err,
			size_t errlen);

/** "certificate", "public key", "CSR" or "private key". */
const char *x509_key_source_name(enum x509_key_source s);

/* ---- Trust and chain completion ---- */

struct x509_trust;

/**
 * Load trust anchors once: the system store when @ca_file is NULL or empty,
 * else the certificates of @ca_file. In a CA file, self-signed certificates
 * are anchors and the others are intermediates used to complete chains
 * (a file with no self-signed certificate: all of them are anchors).
 * Returns NULL with a message in @err. Thread-safe to use concurrently after creation.
 */
struct x509_trust *x509_trust_new(const char *ca_file, char *err, size_t errlen);
/** NULL-safe. */
void x509_trust_free(struct x509_trust *t);

/** The RFC 4514 subject (or, with @issuer, issuer) of @crt, at most @max
 *  bytes; "" when it cannot be read; NULL only when out of memory. */
char *x509_dn_string(gnutls_x509_crt_t crt, bool issuer, size_t max);

/** Result of validating a chain. */
struct x509_verdict {
	bool trusted;	 /**< chain verifies to an anchor (time included) */
	bool name_ok;	 /**< leaf matches @hostname */
	bool expired;	 /**< some certificate of the validated chain is expired or not yet valid */
	unsigned status; /**< gnutls_certificate_status_t bits */
	char reason[160]; /**< GnuTLS's description when !trusted */
};

/**
 * Complete @presented (leaf first, as imported crts, @n of them) to a trust
 * anchor of @t: issuers are searched in the anchors, then in the presented
 * certificates, then in the CA file's intermediates. The built chain (leaf
 * first, anchor last when one was found) goes to @validated and is verified
 * at the current time; @hostname (may be NULL: no name check) is matched
 * against the leaf. @presented_info (may be NULL) holds the already parsed
 * x509_cert_info of @presented, in the same order, to copy instead of
 * re-parsing. Returns 0 (the verdict says whether it is trusted) or a
 * negative errno on a parse/memory failure. @t is not const: its caches
 * (anchors, issuers, copy mode) are updated, thread-safely.
 */
int x509_validate(struct x509_trust *t, gnutls_x509_crt_t *presented, size_t n,
		  const struct x509_chain *presented_info, const char *hostname,
		  struct x509_chain *validated, struct x509_verdict *v, char *err, size_t errlen);

/**
 * The shortcut for the most common chain shape (leaf, intermediate, root
 * in the trust store): when x509_validate() has already verified a chain
 * through the intermediate whose DER SHA-256 is @issuer_sha256 (the
 * presented certificate after the leaf), with that intermediate issued
 * directly by an anchor and no name constraints on either, only @leaf is
 * checked against it (gnutls_x509_crt_verify(): signature, validity,
 * issuer constraints). Returns 1 with @validated (leaf, intermediate,
 * anchor; @leaf_info copied) and @v filled exactly as x509_validate()
 * would fill them for a trusted chain; 0 when the caller must run
 * x509_validate() (intermediate unknown or outside its validity, another
 * path would be built, or any check fails: failures always get the full
 * validation's reasons); a negative errno on memory failure.
 */
int x509_validate_fast(struct x509_trust *t, gnutls_x509_crt_t leaf,
		       const struct x509_cert_info *leaf_info, const uint8_t issuer_sha256[32],
		       const char *hostname, struct x509_chain *validated, struct x509_verdict *v,
		       char *err, size_t errlen);

/* ---- Certification paths (candidate chains) ---- */

#define X509_PATHS_MAX 8  /**< paths x509_paths_build() returns at most */
#define X509_PATH_MAX  10 /**< certificates per path at most, anchor included */

/** Where a certificate of a path came from (x509_path.src). */
#define X509_SRC_LEAF	(-1) /**< the leaf given */
#define X509_SRC_ANCHOR (-2) /**< an anchor of the trust store */

/** One certification path from a leaf. */
struct x509_path {
	struct x509_chain certs; /**< leaf first; the anchor last when it came from the store */
	int src[X509_PATH_MAX];	 /**< per certificate: index into the pool, or X509_SRC_* */
	bool trusted;		 /**< verifies to an anchor of the store (time not checked) */
	char reason[200];	 /**< why not, when !trusted */
};

/** The paths x509_paths_build() found: trusted ones first. */
struct x509_paths {
	struct x509_path *v;
	size_t n;
	bool truncated; /**< more paths (or longer ones) existed than kept */
};

/**
 * Every certification path a client could build from @leaf. At each step
 * the anchors of @t (may be NULL: no store) come first: a certificate that
 * is an anchor, or that an anchor's key signed, moves the path into the
 * store, where it goes on only through anchors that issued the last one,
 * up to a self-signed anchor (Android's TrustManagerImpl, OkHttp's chain
 * cleaner; every anchor of the issuer's name is tried, so a root re-keyed
 * under one name gives the right one). Otherwise every certificate of @pool (the candidate's other
 * certificates, observed CA certificates) whose subject and key identifiers
 * match the issuer (gnutls_x509_crt_check_issuer) and whose key verifies
 * the signature (gnutls_x509_crt_verify, time not checked) is tried in
 * turn, so cross-signed and re-keyed CAs of one name each give their own
 * path. A path is trusted when gnutls_x509_crt_list_verify() accepts it
 * against its anchor alone, time checks disabled (the caller checks
 * validity at its own time). At most X509_PATHS_MAX paths of X509_PATH_MAX
 * certificates. @t's copy of its anchors is loaded on first use (under its
 * lock). 0 or -ENOMEM; free with x509_paths_clear().
 */
int x509_paths_build(struct x509_trust *t, gnutls_x509_crt_t leaf, const gnutls_x509_crt_t *pool,
		     size_t npool, struct x509_paths *out, char *err, size_t errlen);
/** NULL-safe. */
void x509_paths_clear(struct x509_paths *p);

#endif
