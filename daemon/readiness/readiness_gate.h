/* The renewal gate's edge: what every TLS client checks before pins.
 *
 * Before an app compares pins, its TLS stack builds a certification path
 * from the leaf to a trust anchor, checks each certificate's validity
 * period and that the leaf covers the host name. A candidate chain failing
 * any of these strands every user of every app that talks to the host,
 * pinned or not. Pins are then compared against the path the client built,
 * not against whatever else the PEM file holds.
 *
 * I/O edge (GnuTLS; the pure engine stays in readiness.c/readiness_eval.c):
 * readiness_gate_check() builds the paths (pki/x509.h x509_paths_build:
 * issuers chosen by name and key identifiers, confirmed by signature, among
 * the candidate's certificates, the observed CA certificates and the trust
 * store) and runs the checks; readiness_gate_whatif() evaluates each path
 * with readiness_whatif_eval() and keeps the worst per app.
 */
#ifndef PINWATCH_READINESS_GATE_H
#define PINWATCH_READINESS_GATE_H

#include <gnutls/x509.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "readiness/readiness.h"

struct x509_trust;

/** Failures kept at most (one sentence each). */
#define READINESS_GATE_MAX_FAILURES 8

/** The checks of one candidate chain for one host at one time. */
struct readiness_gate {
	bool checked; /**< a chain was checked (bare pins cannot be) */
	bool ok;      /**< valid at T, covers the host, builds to a trust anchor */
	/** The failed checks: "expired", "not_yet_valid", "hostname", "untrusted" (static). */
	const char *failed[READINESS_GATE_MAX_FAILURES];
	char *failures[READINESS_GATE_MAX_FAILURES]; /**< one sentence per failed check */
	size_t nfailures;
	/** The paths a client may build (trusted and valid at T), leaf first, anchor
	 *  last; when none is, the path that came closest (for the report). */
	struct readiness_chain *paths;
	size_t npaths;
	bool truncated;	    /**< more paths existed than were kept */
	char **not_on_path; /**< subjects of the candidate's certificates on no path */
	size_t nnot_on_path;
};

/**
 * Check the candidate chain @pem (@len bytes, PEM or DER, leaf first) for
 * @host (normalised) at @at: every certificate of a path valid at @at
 * (not_before <= @at <= not_after), the leaf covering @host
 * (gnutls_x509_crt_check_hostname2, RFC 6125 wildcards), and a path to an
 * anchor of @trust. Issuers come from the candidate's other certificates
 * and @observed (@nobserved CA certificates pinwatch observed by @at; may be
 * NULL). Fills @out (free with readiness_gate_free) also when a check
 * fails. 0, -EINVAL (unreadable chain; message) or -ENOMEM.
 */
int readiness_gate_check(struct x509_trust *trust, const gnutls_x509_crt_t *observed,
			 size_t nobserved, const char *pem, size_t len, const char *host, time_t at,
			 struct readiness_gate *out, char *err, size_t errlen);
void readiness_gate_free(struct readiness_gate *g);

/**
 * What-if of a checked candidate: each path of @g (plus the bare @pins, of
 * which there may be @npins) is evaluated with readiness_whatif_eval() and
 * each app keeps its worst path (largest stranded, then unknown share), with
 * a reason naming the paths when the verdict depends on the path. @g may be
 * NULL or unchecked (pins only). When @g failed, every app that has a policy
 * for @host has stranded_share 1 and every version stranded, with a reason
 * naming the failure. *@path_dependent (may be NULL) says whether paths
 * disagreed. 0, -EINVAL (no candidate at all) or -ENOMEM.
 */
int readiness_gate_whatif(const struct readiness_index *idx, const char *host,
			  const struct readiness_gate *g, const uint8_t (*pins)[32], size_t npins,
			  const struct readiness_observed *current, time_t at,
			  struct readiness_whatif *out, bool *path_dependent);

/**
 * The gate's part of the what-if JSON: {"checked", "ok", "failed": [...],
 * "failures": [...], "paths": N, "path_dependent", "not_on_path": [...]}.
 * @g may be NULL (pins only). NULL when out of memory.
 */
json_t *readiness_gate_json(const struct readiness_gate *g, bool path_dependent);

/**
 * Complete the chain @pem (@len bytes, leaf first) with @observed CA
 * certificates along the first path x509_paths_build() finds without a
 * trust store: issuers confirmed by signature, never by name alone. For
 * rotation plans. 0, -EINVAL (unreadable chain) or -ENOMEM.
 */
int readiness_chain_complete_verified(const char *pem, size_t len,
				      const gnutls_x509_crt_t *observed, size_t nobserved,
				      struct readiness_chain *out, char *err, size_t errlen);

/**
 * Load the DER of every CA certificate pinwatch first observed at or before
 * @at (newest expiry first, at most 4096) as GnuTLS certificates into *@out
 * (*@n of them; free with readiness_ca_crts_free). 0 or negative errno.
 * (Defined in readiness_load.c, with the other store reads.)
 */
struct db;
int readiness_load_ca_crts(struct db *db, time_t at, gnutls_x509_crt_t **out, size_t *n, char *err,
			   size_t errlen);
void readiness_ca_crts_free(gnutls_x509_crt_t *crts, size_t n);

#endif
