/* A loopback TLS server farm for tests, `pinwatch demo` and benchmarks.
 *
 * One farm listens on one address:port and serves many endpoints selected by
 * SNI, each with its own leaf and chain generated at run time with GnuTLS
 * under a shared root and intermediate (struct tlsfarm_pki). A farm runs in
 * its own threads (epoll, non-blocking GnuTLS sessions) inside the calling
 * process. The listener's mode makes it hostile (silent, garbage, closing
 * mid-handshake, one byte per second); an optional per-connection delay
 * simulates distance.
 */
#ifndef PINWATCH_TLSFARM_H
#define PINWATCH_TLSFARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** Root (RSA-2048, self-signed) and intermediate (RSA-2048) shared by farms. */
struct tlsfarm_pki;

/** Generate a root and an intermediate. NULL with a message in @err. */
struct tlsfarm_pki *tlsfarm_pki_new(char *err, size_t errlen);
/** NULL-safe; after every farm using it is freed. */
void tlsfarm_pki_free(struct tlsfarm_pki *pki);
/**
 * Write the root (and, with @with_intermediate, the intermediate after it) as
 * PEM to @path: a --ca-file for probes. 0 or negative errno.
 */
int tlsfarm_pki_write_ca(const struct tlsfarm_pki *pki, const char *path, bool with_intermediate);
/**
 * Re-issue the intermediate (same key and name, new serial) valid until
 * @not_after, as a CA renews it. Endpoints serve it from their next
 * tlsfarm_rotate()/tlsfarm_renew(); until then they serve the previous one.
 * Not while another thread adds or rotates endpoints. 0 or negative errno.
 */
int tlsfarm_pki_reissue_intermediate(struct tlsfarm_pki *pki, time_t not_after);
/** SPKI pin of the root (@which 0) or the intermediate (1), computed with
 * gnutls_x509_crt_get_key_id. */
int tlsfarm_pki_pin(const struct tlsfarm_pki *pki, int which, uint8_t pin[32]);

/** What an endpoint's certificate chain looks like. */
enum tlsfarm_flavor {
	TLSFARM_NORMAL,	     /**< leaf + intermediate */
	TLSFARM_LEAF_ONLY,   /**< leaf alone */
	TLSFARM_EXPIRED,     /**< expired leaf + intermediate */
	TLSFARM_WRONG_NAME,  /**< leaf for "wrong.invalid" + intermediate */
	TLSFARM_SELF_SIGNED, /**< self-signed leaf */
	TLSFARM_MANY_CERTS,  /**< leaf + intermediate + 38 small extra certificates (> 32) */
	TLSFARM_HUGE_CHAIN,  /**< leaf + intermediate + 40 certificates of ~8 KiB (> 256 KiB) */
	TLSFARM_EXPIRING,    /**< leaf + intermediate; the leaf expires 5 days from now */
};

/** TLSFARM_KEY_DUAL: an ECDSA P-256 leaf (the chain tlsfarm_chain_pins()
 *  describes) and an RSA-2048 leaf for the same name, both under the
 *  intermediate, in one credentials object: GnuTLS gives each client the
 *  certificate its signature algorithms allow (dual-certificate servers).
 *  The dual endpoints of a farm share one RSA key (generating one costs
 *  ~50 ms); tlsfarm_rotate() gives a new ECDSA key and two new leaves. */
enum tlsfarm_key { TLSFARM_KEY_ECDSA_P256, TLSFARM_KEY_RSA2048, TLSFARM_KEY_DUAL };

/** What the listener does with a connection. */
enum tlsfarm_mode {
	TLSFARM_TLS,	   /**< a TLS server */
	TLSFARM_SILENT,	   /**< accepts, reads, never answers */
	TLSFARM_GARBAGE,   /**< answers the ClientHello with non-TLS bytes */
	TLSFARM_CLOSE_MID, /**< answers with half a TLS record, then closes */
	TLSFARM_SLOW,	   /**< answers one byte per second */
};

struct tlsfarm_opts {
	const char *address; /**< numeric listen address; default "127.0.0.1" */
	uint16_t port;	     /**< 0: ephemeral */
	enum tlsfarm_mode mode;
	int delay_ms; /**< wait before answering each connection */
	int threads;  /**< server threads (SO_REUSEPORT); default 1 */
};

struct tlsfarm;

/** Bind and listen (not yet serving). @pki is borrowed. NULL with @err. */
struct tlsfarm *tlsfarm_new(struct tlsfarm_pki *pki, const struct tlsfarm_opts *opts, char *err,
			    size_t errlen);

/**
 * Add endpoint @name (SNI) with a fresh key and chain. Only before
 * tlsfarm_start. The first endpoint also answers clients without (or with an
 * unknown) SNI. 0 or negative errno with @err.
 */
int tlsfarm_add(struct tlsfarm *f, const char *name, enum tlsfarm_flavor flavor,
		enum tlsfarm_key key, char *err, size_t errlen);

/** Give @name a new key and leaf (same flavor); safe while serving. 0, -ENOENT, or error. */
int tlsfarm_rotate(struct tlsfarm *f, const char *name);

/**
 * Renew @name: a new key and leaf valid until @leaf_not_after (0: keep the
 * validity given by an earlier renewal, else the flavor's), chained to the
 * current intermediate; safe while serving. 0, -ENOENT, or error.
 */
int tlsfarm_renew(struct tlsfarm *f, const char *name, time_t leaf_not_after);

/** Start the server threads. 0 or negative errno. */
int tlsfarm_start(struct tlsfarm *f);

/** Change the per-connection delay (applies to new connections); safe while serving. */
void tlsfarm_set_delay(struct tlsfarm *f, int delay_ms);

/** The bound port. */
uint16_t tlsfarm_port(const struct tlsfarm *f);

/** Connections fully handshaken so far (all threads). */
uint64_t tlsfarm_handshakes(const struct tlsfarm *f);

/**
 * SPKI pins of the chain @name presents, in order, into @pins (room for @max),
 * computed with gnutls_x509_crt_get_key_id (a route independent of x509.c).
 * Returns the number of certificates, or negative errno.
 */
int tlsfarm_chain_pins(struct tlsfarm *f, const char *name, uint8_t (*pins)[32], size_t max);

/** SPKI pin of the RSA leaf of a TLSFARM_KEY_DUAL endpoint. 0, -ENOENT (no such
 *  endpoint or not dual) or negative errno. */
int tlsfarm_dual_rsa_pin(struct tlsfarm *f, const char *name, uint8_t pin[32]);

/** Write the chain @name presents as PEM to @path. 0 or negative errno. */
int tlsfarm_write_chain(struct tlsfarm *f, const char *name, const char *path);

/** Stop the threads, close every connection, free everything; NULL-safe. */
void tlsfarm_free(struct tlsfarm *f);

#endif
