/* The I/O side of the readiness engine: builds its input structs from the
 * store and runs check / what-if for the CLI and the HTTP API. */
#ifndef PINWATCH_READINESS_LOAD_H
#define PINWATCH_READINESS_LOAD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "model/model.h"
#include "readiness/readiness.h"

struct db;

/** Hard caps on what a load or a PEM upload may bring in. */
#define READINESS_MAX_ADDRS_PER_ENDPOINT 64
#define READINESS_MAX_CHAIN		 32
#define READINESS_MAX_PEM		 (1024 * 1024)
#define READINESS_MAX_CAND_PINS		 64
/** An address not seen within this long of the endpoint's latest observation is gone
 * (DNS no longer returns it) and no longer counts. */
#define READINESS_ADDR_GONE_S (24 * 3600)

/**
 * Observations of every endpoint of @inv (loaded by inventory_load) as of
 * @at: per (endpoint, address) the row with the latest last_seen among rows
 * first seen at or before @at is "now" (ties: the highest id); the latest
 * earlier row with a different presented chain is "previous" (drift); the
 * SPKI pins of all chains of the endpoint with their last time seen, and the
 * first observation time. Addresses whose latest row was last seen more than
 * READINESS_ADDR_GONE_S before the endpoint's most recent one are left out.
 * @out is parallel to inv->endpoints; free with
 * readiness_observations_free. 0 or negative errno with a message.
 */
int readiness_load_observations(struct db *db, const struct inventory *inv, time_t at,
				struct readiness_observations *out, char *err, size_t errlen);

/** Observations of the endpoint with database id @endpoint_id alone (zeroed when none). */
int readiness_load_endpoint(struct db *db, int64_t endpoint_id, time_t at,
			    struct readiness_observed *out, char *err, size_t errlen);

/** One observation row (a period of the endpoint's history) by id. */
struct readiness_period {
	int64_t id;
	int64_t presented_chain_id; /**< 0: no chain */
	int64_t validated_chain_id; /**< 0: not validated */
	char address[65];	    /**< observations.address: at most 64 bytes */
	char outcome[129];	    /**< at most 128 bytes */
	time_t first_seen;
	time_t last_seen;
};

/**
 * Observation row @obs_id of endpoint @endpoint_id into @out. 0, -ENOENT
 * (no such row of that endpoint) or negative errno with a message.
 */
int readiness_load_period(struct db *db, int64_t endpoint_id, int64_t obs_id,
			  struct readiness_period *out, char *err, size_t errlen);

/** The certificates of stored chain @chain_id, leaf first (empty for id <= 0; at most
 *  READINESS_MAX_CHAIN). Free with readiness_chain_free. 0 or negative errno. */
int readiness_load_chain(struct db *db, int64_t chain_id, struct readiness_chain *out, char *err,
			 size_t errlen);

/**
 * Parse PEM text holding one or more certificates (leaf first) into @out
 * (subject/issuer as RFC 4514 strings, SPKI pin, DER SHA-256, validity, CA
 * flag). At most READINESS_MAX_CHAIN certificates. 0, or -EINVAL with a
 * message for empty/garbage/truncated input.
 */
int readiness_chain_from_pem(const char *pem, size_t len, struct readiness_chain *out, char *err,
			     size_t errlen);

/** CA certificates pinwatch has observed, as the engine's structs (the gate
 *  completes candidate chains from their DER: readiness_load_ca_crts). Caller frees. */
int readiness_load_ca_pool(struct db *db, struct readiness_chain *out, char *err, size_t errlen);

/** Everything one evaluation needs and produces; the report points into the rest. */
struct readiness_state {
	struct inventory inv;
	struct readiness_observations obs;
	struct readiness_index *idx;
	struct readiness_report rep;
};

/**
 * Load the inventory and the observations as of @at and evaluate every
 * endpoint (for alerts and the API: walk st->rep). Free with
 * readiness_state_free (also after a failure: harmless). 0 or negative errno.
 */
int readiness_state_eval(struct db *db, time_t at, struct readiness_state *st, char *err,
			 size_t errlen);
void readiness_state_free(struct readiness_state *st);

/**
 * The readiness JSON of one endpoint (readiness_endpoint_json) by host and
 * port, evaluated at @at. 0, -ENOENT (not inventoried) or negative errno.
 */
int readiness_endpoint_db(struct db *db, const char *host, int port, time_t at, json_t **out,
			  char *err, size_t errlen);

/**
 * `pinwatch check` as a library call (also GET /api/v1/readiness): loads the
 * inventory and observations, evaluates at @at, returns the report JSON
 * (readiness_report_json) in @out and the worst severity in @worst.
 * 0 or negative errno with a message.
 */
int readiness_check_db(struct db *db, time_t at, json_t **out, enum severity *worst, char *err,
		       size_t errlen);

/** A what-if request: @pins (bare candidate pins) and/or @pem (a candidate chain). */
struct readiness_whatif_req {
	const char *host; /**< normalised here */
	int port;	  /**< 0: the inventoried endpoint's port (443 with any_host) */
	const uint8_t (*pins)[32];
	size_t npins;
	const char *pem; /**< NULL or PEM text of @pemlen bytes */
	size_t pemlen;
	time_t at;
	double max_stranded; /**< the gate: risk when any app's stranded share exceeds it */
	const char *ca_file; /**< trust anchors of the chain check; NULL/"": system store */
	bool any_host;	     /**< accept a host that is not an inventoried endpoint */
};

/**
 * `pinwatch whatif` as a library call (also POST /api/v1/whatif). A
 * candidate chain is first checked as every TLS client checks it
 * (readiness_gate.h: valid at @at, covers the host, builds to an anchor of
 * @ca_file or the system store); a failure strands every user of every app
 * with a policy for the host and is a risk whatever max_stranded says.
 * Pins are evaluated against each path a client can build (issuers among
 * the candidate, the CA certificates observed by @at and the store,
 * confirmed by signature), keeping the worst per app; bare pins add to
 * every path. The host must be an inventoried endpoint (at @port, or of
 * exactly one port when @port is 0) unless @any_host. @out gets
 * readiness_whatif_json plus "checks" (readiness_gate_json); @risk whether
 * a check failed or some app's stranded share exceeds max_stranded. 0,
 * -EINVAL (bad request, not inventoried; message) or another negative errno
 * (runtime).
 */
int readiness_whatif_db(struct db *db, const struct readiness_whatif_req *req, json_t **out,
			bool *risk, char *err, size_t errlen);

/** At most this many observation rows per readiness_history_db() call (a history page). */
#define READINESS_MAX_HISTORY 1000

/**
 * Readiness of observation periods, for GET /api/v1/endpoints/{id}/history:
 * for each of the @n observation rows @ids of endpoint @endpoint_id, the
 * chain its probe evaluated (validated, else presented; the normal probe's,
 * not dual-certificate discovery) evaluated by the engine at the row's
 * last_seen as the "now" scenario is: per app with an enforcing policy for
 * the host at that time, its readiness_scenario_json() and "app". @out[i]
 * gets a new reference: {evaluated_at, chain_source, stranded,
 * max_stranded_share, apps[]}, or JSON null for a row without a chain (or
 * not of that endpoint). The inventory and its index are loaded once per
 * call, each stored chain once, and each distinct (chains, time) is
 * evaluated once. 0 (every @out[i] set), -EINVAL (@n above
 * READINESS_MAX_HISTORY) or negative errno with a message (@out all NULL).
 */
int readiness_history_db(struct db *db, int64_t endpoint_id, const int64_t *ids, size_t n,
			 json_t **out, char *err, size_t errlen);

#endif
