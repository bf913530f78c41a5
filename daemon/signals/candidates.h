/* Candidate certificates: chains seen before deployment (Certificate
 * Transparency via the Cert Spotter hook, or a manual upload), each
 * evaluated with what-if against every inventoried endpoint whose name the
 * leaf covers, raising candidate_would_strand when deploying it would
 * strand users.
 */
#ifndef PINWATCH_CANDIDATES_H
#define PINWATCH_CANDIDATES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "model/model.h"

struct db;
struct reports_alert;

#define CANDIDATES_MAX_CHAIN 16
#define CANDIDATES_MAX_FILE  (256 * 1024)
#define CANDIDATES_MAX	     10000 /**< unexpired candidates recorded at most */

enum candidate_source { CANDIDATE_CT = 0, CANDIDATE_MANUAL = 1 };

int candidates_parse_source(const char *s, enum candidate_source *out);

/**
 * Parse a candidate chain as candidates_add() would (PEM or DER, at most
 * CANDIDATES_MAX_CHAIN certificates, fingerprints, pins, SANs) and discard
 * it. Pure; for validation and the fuzz harness. 0 or -EINVAL with a reason.
 */
int candidates_chain_check(const uint8_t *data, size_t len, char *err, size_t errlen);

/**
 * Record the chain in @data (PEM, or DER; leaf first; at most
 * CANDIDATES_MAX_CHAIN certificates) from @source for @host (NULL: every
 * inventoried endpoint the leaf covers; given: it must be an inventoried
 * endpoint, and a leaf that does not cover it fails the name check), then
 * evaluate it (candidates_evaluate). The same chain again is not
 * duplicated (*existed set, re-evaluated). A new candidate is audited
 * ("create", by @actor) in the same transaction. Stores the id in *id. 0,
 * -EINVAL (bad input, a host that is not inventoried; message names the
 * problem), -ENOSPC (CANDIDATES_MAX unexpired candidates already recorded)
 * or -EIO.
 */
int candidates_add(struct db *db, const char *actor, const char *ca_file, const uint8_t *data,
		   size_t len, enum candidate_source source, const char *host, time_t now,
		   int64_t *id, bool *existed, char *err, size_t errlen);

/**
 * Evaluate candidate @id at max(@now, its notBefore) against the current
 * inventory and store the verdict: first the checks every TLS client makes
 * (readiness_gate.h: validity, the endpoint's name, a path to an anchor of
 * @ca_file or, when NULL/"", the system store), a failure stranding every
 * user of every app with a policy for the endpoint; then the pins against
 * each path a client can build. 0, -ENOENT or -EIO.
 */
int candidates_evaluate(struct db *db, const char *ca_file, int64_t id, time_t now, char *err,
			size_t errlen);

/** Re-evaluate every candidate (after inventory changes). 0 or the first error. */
int candidates_evaluate_all(struct db *db, const char *ca_file, time_t now, char *err,
			    size_t errlen);

/** Delete candidate @id, audited ("delete", by @actor). 0, -ENOENT or -EIO. */
int candidates_remove(struct db *db, const char *actor, int64_t id, char *err, size_t errlen);

/**
 * Candidates as JSON (newest first): id, source, host, subject, issuer,
 * not_before, not_after, dns_names, pins, leaf_sha256, added_at,
 * evaluated_at, would_strand, max_stranded, verdict. @id > 0: that one as an
 * object. Caller owns *out. 0, -ENOENT or -EIO.
 */
int candidates_json(struct db *db, int64_t id, json_t **out, char *err, size_t errlen);

/**
 * Conditions true now: one candidate_would_strand per unexpired candidate
 * whose verdict strands users (critical when a known share is stranded, warning
 * when only versions without adoption figures are). Caller frees with
 * reports_alerts_free().
 */
int candidates_alert_conds(struct db *db, struct reports_alert **out, size_t *n, char *err,
			   size_t errlen);

/**
 * Handler of POST /api/v1/candidates: body {"pem": "...", "source":
 * "ct"|"manual" (default manual), "host": "..." (optional)}. Returns 201
 * (new) or 200 (known chain) with the candidate in *resp, 400 with a message
 * in @err, 409 (CANDIDATES_MAX reached), or a negative errno on a failure
 * (-EBUSY: the database is busy; message in @err). Caller owns *resp.
 */
int candidates_api_post(struct db *db, const char *actor, const char *ca_file, const char *body,
			size_t len, time_t now, json_t **resp, char *err, size_t errlen);

/** candidates_api_post() on an already parsed body @root (borrowed). */
int candidates_api_post_value(struct db *db, const char *actor, const char *ca_file, json_t *root,
			      time_t now, json_t **resp, char *err, size_t errlen);

#endif
