/* Observation store: what each endpoint address presented, run-length encoded.
 *
 * Certificates are stored once (by SHA-256 of the DER), chains once (by
 * SHA-256 over the ordered certificate hashes), and one observation row per
 * (endpoint, address) stays open while outcome, presented chain and validated
 * chain stay the same: a repeated probe only moves last_seen, probe_count and
 * the latest details. Tables: certificates, chains, chain_certs,
 * observations, sweeps (schema/001_init.sql).
 *
 * Writers call obs_record() inside a transaction they own (db_begin/commit),
 * so that a batch of results costs one commit. Readers use their own
 * connection.
 */
#ifndef PINWATCH_OBSERVATIONS_H
#define PINWATCH_OBSERVATIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "probe/probe.h"

struct db;

/** Address recorded when the name did not resolve (no address to speak of). */
#define OBS_NO_ADDRESS "-"

/**
 * Record one probe result of endpoint @endpoint_id (inside the caller's
 * transaction). Chains are stored when @r->handshake_ok. Opens a new
 * observation row when (outcome, presented chain, validated chain) differs
 * from the latest row of (endpoint, address), else updates that row.
 * Results of discovery probes (@r->variant ecdsa or rsa) go to
 * variant_observations (schema/010_dualcert.sql), keyed by (endpoint,
 * address, variant), with the same run-length encoding.
 * @opened (may be NULL) is set to true when a new row was opened.
 * 0 or negative errno with a message in @err.
 */
int obs_record(struct db *db, int64_t endpoint_id, const struct probe_result *r, bool *opened,
	       char *err, size_t errlen);

/** obs_record() with the chains already stored: @pid / @vid are their chain
 *  ids (0: none), as obs_reuse() gives them. */
int obs_record_ids(struct db *db, int64_t endpoint_id, const struct probe_result *r, int64_t pid,
		   int64_t vid, bool *opened, char *err, size_t errlen);

/** How long a stored verdict may stand in for validating again (obs_reuse()). */
#define OBS_REUSE_S 3600

/**
 * Record the identity of the trust store this process validates with
 * (probe_ctx_trust_id()); a different one than stored invalidates every
 * stored verdict from @now on. Inside the caller's transaction.
 */
int obs_trust_begin(struct db *db, const uint8_t trust_id[32], time_t now, char *err,
		    size_t errlen);

/**
 * A stored verdict for result @r (address, variant) of endpoint
 * @endpoint_id whose presented chain has the store digest @digest
 * (probe_result_pending_digest()): 1 with the chain ids in @pid / @vid when
 * the latest row of that address has this very chain with outcome ok, was
 * confirmed within OBS_REUSE_S before @now under trust store @trust_id and
 * after the endpoint's last edit, and every certificate of its validated
 * chain is valid at @now; 0 when not; negative errno on failure.
 */
int obs_reuse(struct db *db, int64_t endpoint_id, const struct probe_result *r,
	      const uint8_t digest[32], const uint8_t trust_id[32], time_t now, int64_t *pid,
	      int64_t *vid, char *err, size_t errlen);

/** Set endpoints.last_probe_at / next_probe_at (inside the caller's transaction). */
int obs_endpoint_probed(struct db *db, int64_t endpoint_id, time_t last_probe_at,
			time_t next_probe_at, char *err, size_t errlen);

/** Set endpoints.discovered_at (0: NULL, discovery due at the next probe); inside the
 * caller's transaction. */
int obs_endpoint_discovered(struct db *db, int64_t endpoint_id, time_t at, char *err,
			    size_t errlen);

/** Open a sweeps row; its id in @id. */
int obs_sweep_begin(struct db *db, time_t started_at, int64_t *id, char *err, size_t errlen);
/** Close a sweeps row with its totals. */
int obs_sweep_end(struct db *db, int64_t id, time_t finished_at, int64_t probes, int64_t failures,
		  char *err, size_t errlen);

/** One observation row with its chains loaded from the store. */
struct obs_row {
	int64_t id;
	int64_t endpoint_id;
	char address[PROBE_ADDR_LEN];
	char outcome[128];
	char detail[256];
	char tls_version[16];
	char cipher[48];
	int trusted; /**< 1, 0, or -1 when unknown (no handshake) */
	int name_ok; /**< 1, 0, or -1 */
	time_t first_seen;
	time_t last_seen;
	int64_t probe_count;
	int64_t duration_ms;
	int64_t presented_chain_id; /**< 0 when none */
	int64_t validated_chain_id; /**< 0 when none */
	struct x509_chain
		presented; /**< certificates with every x509_cert_info field, DER included */
	struct x509_chain validated;
};

/**
 * The latest observation of every address of endpoint @endpoint_id whose
 * last_seen >= @since (0: every address ever seen), ordered by address, with
 * both chains loaded. This is "what each edge presents now" for the
 * readiness engine and the API: pass the endpoint's last_probe_at minus a
 * margin as @since to drop addresses that left DNS.
 * On success *rows is an array of *n rows (possibly 0) to free with obs_rows_free.
 * 0 or negative errno with a message in @err.
 */
int obs_latest(struct db *db, int64_t endpoint_id, time_t since, struct obs_row **rows, size_t *n,
	       char *err, size_t errlen);

/**
 * The timeline of endpoint @endpoint_id: every observation row (optionally of
 * one @address; NULL for all), ordered by address then first_seen, at most
 * @limit rows (0: 10000), chains loaded.
 */
int obs_history(struct db *db, int64_t endpoint_id, const char *address, size_t limit,
		struct obs_row **rows, size_t *n, char *err, size_t errlen);

/** Load chain @chain_id (leaf first) into @out. 0, -ENOENT or negative errno. */
int obs_chain_load(struct db *db, int64_t chain_id, struct x509_chain *out, char *err,
		   size_t errlen);

/** Free @n rows and their chains; NULL-safe. */
void obs_rows_free(struct obs_row *rows, size_t n);

#endif
