/* Private to daemon/probe: the structures probe.c, probe_ctx.c and probe_run.c
 * share, and the context's caches. Callers use probe.h. */
#ifndef PINWATCH_PROBE_INT_H
#define PINWATCH_PROBE_INT_H

#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "pki/x509.h"
#include "probe/probe.h"

struct chain_slot;

struct probe_ctx {
	struct x509_trust *trust;
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio[PROBE_NVARIANTS]; /* by enum probe_variant */
	gnutls_priority_t prio_cert;		 /* PROBE_PRIORITY_RSA_CERT */
	pthread_mutex_t lock;			 /* the caches */
	uint32_t tick;				 /* use counter for LRU stamps */
	struct x509_cert_info *certs;		 /* CERT_SETS * CACHE_WAYS; der == NULL: empty */
	uint32_t *cert_stamps;
	struct chain_slot *chains; /* CHAIN_SETS * CACHE_WAYS */
	bool defer;		   /* probe_ctx_defer_chains() */
	uint8_t trust_id[32];	   /* probe_ctx_trust_id() */
};

enum probe_state { ST_CONNECT, ST_HANDSHAKE, ST_DONE };

struct probe {
	struct probe_ctx *ctx;
	enum probe_state state;
	int fd;
	short events;
	gnutls_session_t session;
	int64_t start_ms, deadline_ms;
	int timeout_ms;
	char sni[256];
	bool sni_is_name;
	bool cert_only;	     /* the RSA discovery's first, certificate-only attempt */
	unsigned generation; /* probe_generation() */
	struct sockaddr_storage sa;
	socklen_t salen;
	struct probe_result res;
};

/* ---- the context's caches (probe_ctx.c); each takes ctx->lock itself
 * unless it says "lock held" ---- */

/* Copy the cached certificate with DER hash @h into @out (lock held). */
bool probe_cert_cached(struct probe_ctx *ctx, const uint8_t h[32], struct x509_cert_info *out);
/* A cached verdict for (@hashes, @key): fill presented/validated and @v. */
bool probe_chain_cached(struct probe_ctx *ctx, const uint8_t key[32], uint8_t (*hashes)[32],
			size_t m, struct probe_result *r, struct x509_verdict *v);
/* Remember the certificates of @r and the verdict @v for @key. */
void probe_chain_cache_put(struct probe_ctx *ctx, const uint8_t key[32],
			   const struct probe_result *r, const struct x509_verdict *v);

#endif
