/* What the readiness engine reads from the store: observations as of a time,
 * their chains, the pins an endpoint presented, and the CA certificates
 * pinwatch has observed (tables observations, variant_observations, chains,
 * chain_certs, certificates: schema/001_init.sql, schema/010_dualcert.sql).
 *
 * readiness/readiness_load.c turns these rows into the engine's input
 * structs. Every function reads the whole answer or fails: a busy or failing
 * database is an error (-EBUSY, -EIO, ... with a message in @err), never a
 * shorter result. On failure the outputs are empty (nothing to free).
 */
#ifndef PINWATCH_READINESS_SRC_H
#define PINWATCH_READINESS_SRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct db;

/** A stored certificate as the readiness engine reads it. */
struct rsrc_cert {
	uint8_t pin[32];    /**< SHA-256 of the DER SubjectPublicKeyInfo */
	uint8_t sha256[32]; /**< SHA-256 of the DER certificate */
	char *subject;	    /**< never NULL ("" when the column is NULL) */
	char *issuer;	    /**< never NULL */
	time_t not_before;
	time_t not_after;
	bool is_ca;
};

/** Free @n certificates and the array; NULL-safe. */
void rsrc_certs_free(struct rsrc_cert *certs, size_t n);

/**
 * The certificates of stored chain @chain_id, leaf first, at most @max
 * (nothing for @chain_id <= 0 or an unknown chain). A certificate row whose
 * hashes are not 32 bytes is an error (-EIO). 0 or negative errno.
 */
int rsrc_chain(struct db *db, int64_t chain_id, size_t max, struct rsrc_cert **certs, size_t *n,
	       char *err, size_t errlen);

/**
 * CA certificates pinwatch has observed (is_ca), latest not_after first, at
 * most 4096; rows whose hashes are not 32 bytes are left out.
 */
int rsrc_ca_certs(struct db *db, struct rsrc_cert **certs, size_t *n, char *err, size_t errlen);

/** A DER certificate (rsrc_ca_der()). */
struct rsrc_der {
	uint8_t *der;
	size_t len; /**< > 0 */
};

/** Free @n DER certificates and the array; NULL-safe. */
void rsrc_der_free(struct rsrc_der *ders, size_t n);

/**
 * The DER of every CA certificate pinwatch had first seen by @at, latest
 * not_after first (then by id), at most 4096; rows without DER are left out.
 */
int rsrc_ca_der(struct db *db, time_t at, struct rsrc_der **ders, size_t *n, char *err,
		size_t errlen);

/** The latest observation row of one address (rsrc_latest()). */
struct rsrc_latest {
	int64_t id;
	int64_t presented; /**< chain id; 0: none */
	int64_t validated; /**< chain id; 0: none */
	char *address;
	char *outcome; /**< "unknown" when the column is NULL */
	time_t first_seen;
	time_t last_seen;
};

/** Free @n rows and the array; NULL-safe. */
void rsrc_latest_free(struct rsrc_latest *rows, size_t n);

/**
 * Per address of endpoint @endpoint_id, the row with the latest last_seen
 * among rows first seen at or before @at (ties: the highest id); most
 * recently seen first (then by address), at most @max addresses, so that the
 * cap drops the addresses DNS stopped returning long ago.
 */
int rsrc_latest(struct db *db, int64_t endpoint_id, time_t at, size_t max,
		struct rsrc_latest **rows, size_t *n, char *err, size_t errlen);

/**
 * The presented chain of the latest row of (@endpoint_id, @address) other
 * than row @obs_id, last seen by @at, whose presented chain differs from
 * @presented (0: none): the chain before a drift. *@prev is 0 when none.
 */
int rsrc_previous_chain(struct db *db, int64_t endpoint_id, const char *address, int64_t obs_id,
			time_t at, int64_t presented, int64_t *prev, char *err, size_t errlen);

/** The latest discovery row of one variant of an address (rsrc_variants()). */
struct rsrc_variant {
	char variant[8];   /**< "ecdsa", "rsa" */
	char outcome[128]; /**< "unknown" when the column is NULL */
	int64_t presented; /**< chain id; 0: none */
	int64_t validated;
	time_t first_seen;
	time_t last_seen;
};

/**
 * Per variant of (@endpoint_id, @address), its latest row first seen at or
 * before @at (ties: the highest id), by variant name, at most @max into
 * @rows; the count in *@n.
 */
int rsrc_variants(struct db *db, int64_t endpoint_id, const char *address, time_t at,
		  struct rsrc_variant *rows, size_t max, size_t *n, char *err, size_t errlen);

/** An SPKI pin and the last time it was in a chain of an endpoint. */
struct rsrc_pin_seen {
	uint8_t pin[32];
	time_t last_seen;
};

/**
 * Every SPKI pin of a chain (presented or validated) of an observation of
 * @endpoint_id first seen by @at, once each, with the latest last_seen of
 * those observations; at most 4096 rows are read. Free *@pins with free().
 */
int rsrc_pins_seen(struct db *db, int64_t endpoint_id, time_t at, struct rsrc_pin_seen **pins,
		   size_t *n, char *err, size_t errlen);

/** The first_seen of the oldest observation of @endpoint_id first seen by @at; 0 when none. */
int rsrc_history_since(struct db *db, int64_t endpoint_id, time_t at, time_t *since, char *err,
		       size_t errlen);

/** One observation row by id (rsrc_period()). */
struct rsrc_period {
	int64_t presented; /**< chain id; 0: none */
	int64_t validated; /**< chain id; 0: not validated */
	char address[65];  /**< observations.address: at most 64 bytes ("" when NULL) */
	char outcome[129]; /**< at most 128 bytes ("unknown" when NULL) */
	time_t first_seen;
	time_t last_seen;
};

/**
 * Observation row @obs_id of endpoint @endpoint_id into @out. 0, -ENOENT
 * (no such row of that endpoint) or negative errno with a message.
 */
int rsrc_period(struct db *db, int64_t endpoint_id, int64_t obs_id, struct rsrc_period *out,
		char *err, size_t errlen);

#endif
