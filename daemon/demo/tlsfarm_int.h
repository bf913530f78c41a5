/* Private to daemon/demo: the structures of a TLS farm that its certificate
 * generation (tlsfarm_certs.c) and its server loop (tlsfarm.c) share.
 * Callers use tlsfarm.h. */
#ifndef PINWATCH_TLSFARM_INT_H
#define PINWATCH_TLSFARM_INT_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "demo/tlsfarm.h"

#define FILLERS_MANY 38
#define FILLERS_HUGE 40
#define FILLER_PAD   8192
#define MAX_CHAIN    (2 + FILLERS_HUGE)

#define MAX_REISSUED 16

struct tlsfarm_pki {
	gnutls_x509_privkey_t root_key, int_key;
	gnutls_x509_crt_t root, inter;
	atomic_uint serial;
	/* Earlier intermediates: chains of endpoints not yet renewed borrow them. */
	gnutls_x509_crt_t reissued[MAX_REISSUED];
	size_t nreissued;
};

struct endpoint {
	char name[256];
	enum tlsfarm_flavor flavor;
	enum tlsfarm_key keytype;
	time_t leaf_not_after; /* 0: as the flavor says */
	gnutls_x509_crt_t chain[MAX_CHAIN];
	size_t nchain; /* chain[0] owned; the rest borrowed from pki/farm fillers */
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t leaf2; /* TLSFARM_KEY_DUAL: the RSA leaf (key: the ECDSA one) */
	gnutls_x509_privkey_t key2;
	gnutls_certificate_credentials_t cred;
	/* Over-long chains: GnuTLS refuses to load them as a key pair (not a
	 * sorted chain), so they are served by a retrieve callback. */
	gnutls_pcert_st *pcerts;
	unsigned npcerts;
	gnutls_privkey_t privkey;
};

enum cstate { C_DELAY, C_TLS, C_SILENT, C_GARBAGE, C_DRAIN, C_CLOSE_MID, C_SLOW };

struct fthread;

struct conn {
	int fd;
	enum cstate st;
	gnutls_session_t s;
	int64_t wake_ms; /* 0: no timer */
	int slow_sent;
	bool got_hello;
	struct endpoint *ep;
	uint32_t events;
	struct conn *prev, *next;
	struct fthread *th;
};

struct fthread {
	struct tlsfarm *f;
	pthread_t tid;
	bool started;
	int ep, lfd, evfd;
	struct conn *conns;
};

struct tlsfarm {
	struct tlsfarm_pki *pki;
	struct tlsfarm_opts o;
	char address[64];
	uint16_t port;
	struct endpoint **eps;
	size_t neps, cap;
	bool sorted;	      /* set by tlsfarm_start: no more endpoints */
	pthread_mutex_t lock; /* endpoint creds during rotation */
	gnutls_certificate_credentials_t *retired;
	size_t nretired, retired_cap;
	gnutls_x509_crt_t fill_many[FILLERS_MANY], fill_huge[FILLERS_HUGE];
	bool have_many, have_huge;
	gnutls_x509_privkey_t fill_key;
	gnutls_x509_privkey_t dual_key; /* the RSA key of every TLSFARM_KEY_DUAL leaf */
	gnutls_priority_t prio;
	struct fthread *th;
	int nth;
	atomic_bool stop;
	atomic_int delay_ms;
	atomic_uint_fast64_t handshakes;
};

/* Find endpoint @name (binary search once the farm is started). */
struct endpoint *tlsfarm_ep_find(struct tlsfarm *f, const char *name);
/* qsort order of endpoints: by name. */
int tlsfarm_ep_cmp(const void *a, const void *b);
/* Free the key and leaves of @e (the borrowed intermediates stay). */
void tlsfarm_endpoint_free_certs(struct endpoint *e);
/* Free what serving an over-long chain of @e needs. */
void tlsfarm_endpoint_free_long(struct endpoint *e);

#endif
