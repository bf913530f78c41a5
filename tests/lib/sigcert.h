/* Test helper of the signals tests: certificates generated at test time
 * (ECDSA P-256, GnuTLS), and report-body templates filled with them. */
#ifndef PINWATCH_TEST_SIGCERT_H
#define PINWATCH_TEST_SIGCERT_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct db;

struct tcert {
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
	char pem[4096];
	uint8_t der[2048];
	size_t der_len;
	uint8_t sha256[32]; /* of the DER */
	uint8_t spki[32];   /* SPKI pin */
	char pin_b64[45];
};

/**
 * Make a certificate for @cn with SAN dNSNames @dns (NULL-terminated, may be
 * NULL), signed by @issuer (NULL: self-signed), CA when @ca, valid
 * [@nb, @na]. When @reuse_key is given its key is used (same SPKI). 0 or -1.
 */
int tcert_make(struct tcert *out, const char *cn, const char *const *dns,
	       const struct tcert *issuer, bool ca, time_t nb, time_t na,
	       const struct tcert *reuse_key);
void tcert_free(struct tcert *c);

/**
 * Read tests/data/reports/@name and replace each "@KEY@" by the value of the
 * matching pair in @kv (NULL-terminated key, value list). Values inserted
 * between JSON quotes should come from tcert_json_pem(). Caller frees.
 */
char *tmpl_fill(const char *name, const char *const *kv);

/** @pem as the inside of a JSON string as NSJSONSerialization writes it
 *  ("\n" and "\/" escapes) into @out. Returns @out. */
char *tcert_json_pem(const struct tcert *c, char *out, size_t outlen);

/** Insert an observation of @chain (@n certificates) presented by endpoint
 *  @endpoint_id over [@first, @last]. 0 or -1. */
int tobs_add(struct db *db, int64_t endpoint_id, const struct tcert *const *chain, size_t n,
	     time_t first, time_t last);

/** The inventory the report tests join to: endpoints 1 api.example.com:443
 *  and 2 other.example.com:443; apps 1 shop-ios (ios) and 2 shop-android
 *  (android), both com.example.shop, with versions 11 and 21 "4.2.0". 0 or -1. */
int tseed_shop(struct db *db);

#endif
