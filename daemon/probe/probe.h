/* Probe one endpoint address: connect, TLS handshake, collect the presented
 * chain, complete and verify it, classify the outcome.
 *
 * A probe is a non-blocking state machine: the caller polls probe_fd() for
 * probe_events() (or waits until probe_deadline_ms()) and calls probe_step()
 * until it returns true. One deadline covers connect and handshake. Many
 * probes share one struct probe_ctx (credentials, priorities, trust store
 * loaded once); a probe costs one socket and one GnuTLS session while in
 * flight. probe_run_sync() is the blocking wrapper for the CLI.
 */
#ifndef PINWATCH_PROBE_H
#define PINWATCH_PROBE_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "pki/x509.h"

#define PROBE_ADDR_LEN 64

/** Shared, read-only after creation; usable from several threads. */
struct probe_ctx;

/**
 * Create the shared context: trust anchors from @ca_file (NULL or "": the
 * system store), one certificate credentials object and the probe's
 * priorities (one key share, X25519 first, no session tickets).
 * NULL with a message in @err.
 */
struct probe_ctx *probe_ctx_new(const char *ca_file, char *err, size_t errlen);
/** NULL-safe. Every probe using it, and every result still pending
 * (probe_result_complete()), must be freed or completed first. */
void probe_ctx_free(struct probe_ctx *ctx);

/**
 * With @on, probes of @ctx stop at the end of the handshake: the presented
 * certificates are copied into the result (r->pending, outcome still "")
 * and the session and socket are released at once; examining the chain
 * (hashing, caches, validation) is left to probe_result_complete(), which
 * the caller runs on another thread, off the event loop. Off by default.
 */
void probe_ctx_defer_chains(struct probe_ctx *ctx, bool on);

struct probe_pending;

/**
 * What a probe offers (dual-certificate discovery): a server holding an
 * ECDSA and an RSA certificate (nginx, haproxy, CDNs) picks one by the
 * client's signature algorithms and key exchanges.
 * PROBE_VARIANT_DEFAULT: the probe's normal offer (GnuTLS defaults: RSA
 * signature algorithms listed before ECDSA); PROBE_VARIANT_ECDSA: only ECDSA
 * signature algorithms (and ECDHE-ECDSA suites for TLS 1.2);
 * PROBE_VARIANT_RSA: only RSA and RSA-PSS (ECDHE-RSA, DHE-RSA and RSA suites);
 * it first asks for the certificate alone (TLS 1.2, RSA key exchange,
 * stopped after the server's first flight, so that the server signs and
 * decrypts nothing) and falls back to the full RSA offer when refused.
 */
enum probe_variant { PROBE_VARIANT_DEFAULT = 0, PROBE_VARIANT_ECDSA, PROBE_VARIANT_RSA };
#define PROBE_NVARIANTS 3

/** "default", "ecdsa", "rsa". */
const char *probe_variant_name(enum probe_variant v);
/** The GnuTLS priority string a probe offering @v uses (benchmarks compare
 *  a minimal client at the same priorities). */
const char *probe_priority(enum probe_variant v);
/** Parse a variant name; 0 or -EINVAL. */
int probe_variant_parse(const char *s, enum probe_variant *out);

/** What one probe found. Chains are owned by the result (probe_result_clear). */
struct probe_result {
	char address[PROBE_ADDR_LEN]; /**< numeric address probed ("::1", "127.0.0.1") */
	uint16_t port;
	char outcome[128]; /**< ok, dns_error, refused, unreachable, timeout, tls_alert:<name>,
				tls_error:<reason>, untrusted, name_mismatch, expired */
	char detail[256];  /**< human explanation (GnuTLS message, verification status) */
	char tls_version[16];
	char cipher[48];
	bool handshake_ok; /**< a chain was received (chains below are meaningful) */
	bool trusted;
	bool name_ok;
	bool truncated;		     /**< stopped after X509_MAX_CHAIN certificates */
	struct x509_chain presented; /**< as sent, in order (at most X509_MAX_CHAIN) */
	struct x509_chain validated; /**< leaf to anchor (or as far as it could be built) */
	int64_t duration_ms;
	time_t at;		    /**< wall-clock start */
	enum probe_variant variant; /**< what the probe offered */
	/** the server's certificate key, as the variant whose offer allows it:
	 *  ECDSA, RSA, or DEFAULT (no handshake, or another kind of key) */
	enum probe_variant key_variant;
	struct probe_pending *pending; /**< handshake done, chain not examined yet (see
					  probe_ctx_defer_chains()); NULL otherwise */
};

/**
 * Examine the chain of a pending result (r->pending): fills outcome,
 * detail, the chains and the verdict exactly as a probe without deferral
 * does, and frees r->pending. No-op when nothing is pending. Thread-safe
 * (the context's caches are locked); the context must outlive the call.
 */
void probe_result_complete(struct probe_result *r);

/**
 * The store's key of the chain a pending result holds: SHA-256 over the
 * SHA-256 of each presented certificate, in order (observations.c chains).
 * 0, or -ENOENT when nothing is pending or the chain was cut at the limit.
 */
int probe_result_pending_digest(const struct probe_result *r, uint8_t digest[32]);

/**
 * Complete a pending result with a verdict the store kept for the same
 * chain, name and trust store (obs_reuse()): outcome ok, trusted, name
 * matching; the pending certificates are freed and the chains stay empty
 * (the caller records the stored chain ids). No-op when nothing is pending.
 */
void probe_result_reuse_ok(struct probe_result *r);

/**
 * An identity of the context's trust store: SHA-256 of the CA file's bytes,
 * or for the system store of its bundle's path, size and modification time.
 */
void probe_ctx_trust_id(const struct probe_ctx *ctx, uint8_t id[32]);

/** Free the chains of @r and zero it; NULL-safe. */
void probe_result_clear(struct probe_result *r);

struct probe;

/** probe_new() offering @variant (dual-certificate discovery). */
struct probe *probe_new_variant(struct probe_ctx *ctx, const struct sockaddr *sa, socklen_t salen,
				const char *sni, int timeout_ms, enum probe_variant variant);

/**
 * Changes when the probe moved to a new socket (the RSA discovery probe's
 * certificate-only attempt was refused and it asks again with the full
 * offer): an event loop must register probe_fd() anew.
 */
unsigned probe_generation(const struct probe *p);

/** The socket to wait on, or -1 when the probe is done. */
int probe_fd(const struct probe *p);
/** POLLIN or POLLOUT: what the probe waits for. */
short probe_events(const struct probe *p);
/** Monotonic deadline (util_mono_ms clock). */
int64_t probe_deadline_ms(const struct probe *p);
/** true when finished. */
bool probe_done(const struct probe *p);

/**
 * Advance after the fd became ready or the deadline passed (@now_ms on the
 * util_mono_ms clock). Returns true when the probe is finished.
 */
bool probe_step(struct probe *p, int64_t now_ms);

/** Abort an unfinished probe, classifying it `timeout` with @why as detail. */
void probe_cancel(struct probe *p, const char *why);

/**
 * The result of a finished probe. The caller may take ownership of its
 * chains (move them out and zero the fields); valid until probe_free.
 */
struct probe_result *probe_result(struct probe *p);

/** Close the socket, free the session and the result; NULL-safe. */
void probe_free(struct probe *p);

/** Blocking wrapper: probe and fill @out (caller clears it). 0, or -ENOMEM. */
int probe_run_sync(struct probe_ctx *ctx, const struct sockaddr *sa, socklen_t salen,
		   const char *sni, int timeout_ms, struct probe_result *out);

/** One resolved address. */
struct probe_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/**
 * Resolve @host (name or IP literal) for TCP port @port to at most @max
 * addresses (A and AAAA, resolver order, duplicates removed). Blocking.
 * 0 with *n >= 1, or -ENOENT / -EAGAIN with the resolver's message in @err.
 */
int probe_resolve(const char *host, uint16_t port, struct probe_addr *out, size_t max, size_t *n,
		  char *err, size_t errlen);

/**
 * Probe @n addresses concurrently (one poll loop, no threads) and fill
 * results[0..n-1] (caller clears each). 0 or -ENOMEM.
 */
int probe_run_many(struct probe_ctx *ctx, const struct probe_addr *addrs, size_t n, const char *sni,
		   int timeout_ms, struct probe_result *results);

/**
 * probe_run_many() offering @variant; results carry it in ->variant.
 */
int probe_run_many_variant(struct probe_ctx *ctx, const struct probe_addr *addrs, size_t n,
			   const char *sni, int timeout_ms, enum probe_variant variant,
			   struct probe_result *results);

/** JSON of one certificate: subject, issuer, serial, not_before, not_after, key_type,
 * key_bits, is_ca, sha256 (hex fingerprint), pin (base64), pin_hex. New reference. */
json_t *probe_cert_json(const struct x509_cert_info *c);

/** JSON of one result (address, port, variant, outcome, detail, tls_version, cipher, trusted,
 * name_ok, truncated, duration_ms, presented_chain[], validated_chain[]). New reference. */
json_t *probe_result_json(const struct probe_result *r);

/** Numeric form of @sa (without port) into @buf. Returns @buf. */
char *probe_addr_str(const struct sockaddr *sa, char *buf, size_t len);

#endif
