#include "probe/probe.h"
#include "probe/hostsfile.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <netdb.h>
#include <pthread.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

/* The probe needs a key exchange, the server's certificates and nothing
 * else: X25519 first so that one key share (GNUTLS_KEY_SHARE_TOP) nearly
 * always suffices, no session tickets, no resumption. Versions and ciphers
 * stay wide so that old servers are still described. */
#define PROBE_PRIORITY                                                                        \
	"NORMAL:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1:" \
	"+GROUP-FFDHE2048:+GROUP-FFDHE3072:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"            \
	"+CHACHA20-POLY1305:+AES-256-CCM:+AES-128-CCM:+AES-256-CBC:+AES-128-CBC:%NO_TICKETS"

/* Dual-certificate discovery: the same offer with only ECDSA, or only RSA,
 * signature algorithms, and for TLS 1.2 only the key exchanges that use such
 * a certificate. A server with both certificates (nginx, haproxy, CDNs)
 * picks the one the client's signature_algorithms allow (TLS 1.3) or its
 * cipher suites (TLS 1.2). */
#define PROBE_PRIORITY_ECDSA                                                                   \
	PROBE_PRIORITY ":-SIGN-ALL:+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SECP384R1-SHA384:" \
		       "+SIGN-ECDSA-SECP521R1-SHA512:+SIGN-ECDSA-SHA256:+SIGN-ECDSA-SHA384:"   \
		       "+SIGN-ECDSA-SHA512:-KX-ALL:+ECDHE-ECDSA"
#define PROBE_PRIORITY_RSA                                                               \
	PROBE_PRIORITY ":-SIGN-ALL:+SIGN-RSA-PSS-RSAE-SHA256:+SIGN-RSA-PSS-RSAE-SHA384:" \
		       "+SIGN-RSA-PSS-RSAE-SHA512:+SIGN-RSA-SHA256:+SIGN-RSA-SHA384:"    \
		       "+SIGN-RSA-SHA512:-KX-ALL:+ECDHE-RSA:+DHE-RSA:+RSA"

/* The RSA discovery probe first asks for the certificate alone: TLS 1.2
 * with RSA key exchange only, stopped once the server's first flight
 * (ServerHello, Certificate, ServerHelloDone) is in. With that key exchange
 * the server signs nothing and decrypts nothing before the client's key
 * exchange, which never comes: an RSA-2048 private-key operation saved on
 * the server per discovery. A server that refuses the offer (TLS 1.3 only,
 * no RSA key exchange) is asked again with PROBE_PRIORITY_RSA. */
#define PROBE_PRIORITY_RSA_CERT                                                           \
	PROBE_PRIORITY ":-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA:-SIGN-ALL:+SIGN-RSA-SHA256:" \
		       "+SIGN-RSA-SHA384:+SIGN-RSA-SHA512:+SIGN-RSA-PSS-RSAE-SHA256:"     \
		       "+SIGN-RSA-PSS-RSAE-SHA384:+SIGN-RSA-PSS-RSAE-SHA512"
#define CERT_ONLY_DONE GNUTLS_E_USER_ERROR /* the hook stopped the handshake */

/* Parsing and validating a chain costs more than the handshake's own
 * crypto, and an estate presents the same chains sweep after sweep: parsed
 * certificates are cached by DER SHA-256 and validation verdicts by (chain,
 * name), each verdict until the first certificate of its chain expires (or
 * becomes valid) and at most CACHE_TTL_S. Both tables are bounded and
 * CACHE_WAYS-way set-associative with least-recently-used replacement, so
 * that two chains whose hashes share a set do not evict each other on
 * every sweep (a direct-mapped table re-validated ~20% of an estate of
 * 1,000 chains on every sweep). Chain slots are small (the validated
 * hashes and the reason live on the heap) so that many fit. */
#define CACHE_WAYS	    4
#define CERT_SETS	    2048 /* 8,192 parsed certificates */
#define CHAIN_SETS	    4096 /* 16,384 verdicts */
#define CACHE_TTL_S	    3600
#define CACHE_VALIDATED_MAX 16

struct chain_slot {
	uint8_t key[32];
	time_t valid_until;
	uint32_t stamp; /* last use; 0: empty */
	uint8_t nvalidated;
	bool trusted, name_ok, expired;
	uint8_t (*validated)[32]; /* nvalidated hashes */
	char *reason;		  /* NULL when empty */
};

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

/* A completed handshake's certificates, waiting for probe_result_complete(). */
struct probe_pending {
	struct probe_ctx *ctx;
	char sni[256];
	size_t n;
	bool truncated; /* more than X509_MAX_CHAIN certificates / X509_MAX_CHAIN_BYTES */
	gnutls_datum_t certs[X509_MAX_CHAIN];
	uint8_t *buf; /* the certificates' bytes, one allocation */
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

/* probe_ctx_trust_id(): the CA file's bytes, or the system bundle's stat. */
static void trust_identity(const char *ca_file, uint8_t id[32])
{
	char *text = NULL, buf[128];
	size_t len = 0;
	if (ca_file && *ca_file && util_read_file(ca_file, 64 << 20, &text, &len) == 0) {
		util_sha256(text, len, id);
		free(text);
		return;
	}
	struct stat st = { 0 };
	static const char bundle[] = "/etc/ssl/certs/ca-certificates.crt";
	int n = ca_file && *ca_file
			? snprintf(buf, sizeof(buf), "unreadable:%s", ca_file)
			: (stat(bundle, &st) == 0
				   ? snprintf(buf, sizeof(buf), "system:%s:%lld:%lld", bundle,
					      (long long)st.st_size, (long long)st.st_mtime)
				   : snprintf(buf, sizeof(buf), "system"));
	util_sha256(buf, n > 0 && (size_t)n < sizeof(buf) ? (size_t)n : strlen(buf), id);
}

void probe_ctx_trust_id(const struct probe_ctx *ctx, uint8_t id[32])
{
	memcpy(id, ctx->trust_id, 32);
}

struct probe_ctx *probe_ctx_new(const char *ca_file, char *err, size_t errlen)
{
	struct probe_ctx *ctx = calloc(1, sizeof(*ctx));
	const char *pos = NULL;
	if (!ctx) {
		util_err(err, errlen, 0, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&ctx->lock, NULL);
	/* calloc'ed pages stay untouched (no RSS) until slots are used. */
	ctx->certs = calloc(CERT_SETS * CACHE_WAYS, sizeof(*ctx->certs));
	ctx->cert_stamps = calloc(CERT_SETS * CACHE_WAYS, sizeof(*ctx->cert_stamps));
	ctx->chains = calloc(CHAIN_SETS * CACHE_WAYS, sizeof(*ctx->chains));
	if (!ctx->certs || !ctx->cert_stamps || !ctx->chains) {
		util_err(err, errlen, 0, "out of memory");
		goto fail;
	}
	ctx->trust = x509_trust_new(ca_file, err, errlen);
	if (!ctx->trust)
		goto fail;
	trust_identity(ca_file, ctx->trust_id);
	if (gnutls_certificate_allocate_credentials(&ctx->cred) < 0) {
		util_err(err, errlen, 0, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i <= PROBE_NVARIANTS; i++) {
		gnutls_priority_t *pr = i < PROBE_NVARIANTS ? &ctx->prio[i] : &ctx->prio_cert;
		int g = gnutls_priority_init2(pr,
					      i < PROBE_NVARIANTS
						      ? probe_priority((enum probe_variant)i)
						      : PROBE_PRIORITY_RSA_CERT,
					      &pos, 0);
		if (g < 0) {
			*pr = NULL;
			util_err(err, errlen, 0, "probe priorities: %s at '%s'", gnutls_strerror(g),
				 pos ? pos : "");
			goto fail;
		}
	}
	return ctx;
fail:
	probe_ctx_free(ctx);
	return NULL;
}

static void chain_slot_clear(struct chain_slot *cs)
{
	free(cs->validated);
	free(cs->reason);
	memset(cs, 0, sizeof(*cs));
}

void probe_ctx_free(struct probe_ctx *ctx)
{
	if (!ctx)
		return;
	for (size_t i = 0; i < PROBE_NVARIANTS; i++)
		if (ctx->prio[i])
			gnutls_priority_deinit(ctx->prio[i]);
	if (ctx->prio_cert)
		gnutls_priority_deinit(ctx->prio_cert);
	if (ctx->cred)
		gnutls_certificate_free_credentials(ctx->cred);
	x509_trust_free(ctx->trust);
	for (size_t i = 0; ctx->certs && i < CERT_SETS * CACHE_WAYS; i++)
		x509_cert_info_clear(&ctx->certs[i]);
	for (size_t i = 0; ctx->chains && i < CHAIN_SETS * CACHE_WAYS; i++)
		chain_slot_clear(&ctx->chains[i]);
	free(ctx->certs);
	free(ctx->cert_stamps);
	free(ctx->chains);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

const char *probe_priority(enum probe_variant v)
{
	switch (v) {
	case PROBE_VARIANT_ECDSA:
		return PROBE_PRIORITY_ECDSA;
	case PROBE_VARIANT_RSA:
		return PROBE_PRIORITY_RSA;
	default:
		return PROBE_PRIORITY;
	}
}

const char *probe_variant_name(enum probe_variant v)
{
	switch (v) {
	case PROBE_VARIANT_ECDSA:
		return "ecdsa";
	case PROBE_VARIANT_RSA:
		return "rsa";
	default:
		return "default";
	}
}

int probe_variant_parse(const char *s, enum probe_variant *out)
{
	for (int v = 0; v < PROBE_NVARIANTS; v++)
		if (s && !strcmp(s, probe_variant_name((enum probe_variant)v))) {
			*out = (enum probe_variant)v;
			return 0;
		}
	return -EINVAL;
}

void probe_ctx_defer_chains(struct probe_ctx *ctx, bool on)
{
	ctx->defer = on;
}

static void pending_free(struct probe_pending *pd)
{
	if (pd) {
		free(pd->buf);
		free(pd);
	}
}

void probe_result_clear(struct probe_result *r)
{
	if (!r)
		return;
	pending_free(r->pending);
	x509_chain_clear(&r->presented);
	x509_chain_clear(&r->validated);
	memset(r, 0, sizeof(*r));
}

char *probe_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a = sa->sa_family == AF_INET6
				? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
				: (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	if (!inet_ntop(sa->sa_family, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static void vset_outcome(struct probe_result *r, const char *outcome, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void vset_outcome(struct probe_result *r, const char *outcome, const char *fmt, va_list ap)
{
	snprintf(r->outcome, sizeof(r->outcome), "%s", outcome);
	if (fmt)
		vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
}

static void set_outcome(struct probe_result *r, const char *outcome, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_outcome(struct probe_result *r, const char *outcome, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset_outcome(r, outcome, fmt, ap);
	va_end(ap);
}

/* The probe is over (its outcome set, or pending): release session and socket. */
static void finish_keep(struct probe *p)
{
	p->res.duration_ms = util_mono_ms() - p->start_ms;
	if (p->session) {
		gnutls_deinit(p->session);
		p->session = NULL;
	}
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	p->state = ST_DONE;
}

static void finish(struct probe *p, const char *outcome, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void finish(struct probe *p, const char *outcome, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset_outcome(&p->res, outcome, fmt, ap);
	va_end(ap);
	finish_keep(p);
}

static void finish_errno(struct probe *p, int e, const char *stage)
{
	switch (e) {
	case ECONNREFUSED:
		finish(p, "refused", "%s: %s", stage, strerror(e));
		break;
	case ETIMEDOUT:
		finish(p, "timeout", "%s: %s", stage, strerror(e));
		break;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case EADDRNOTAVAIL:
	case EAFNOSUPPORT:
	case ENETDOWN:
	case EHOSTDOWN:
		finish(p, "unreachable", "%s: %s", stage, strerror(e));
		break;
	default:
		finish(p, "unreachable", "%s: %s", stage, strerror(e));
		break;
	}
}

/* "GNUTLS_E_UNEXPECTED_PACKET_LENGTH" -> "unexpected_packet_length" */
static void error_token(int g, char *out, size_t len)
{
	const char *n = gnutls_strerror_name(g);
	if (!n)
		n = "unknown";
	if (!strncmp(n, "GNUTLS_E_", 9))
		n += 9;
	size_t i = 0;
	for (; n[i] && i + 1 < len; i++)
		out[i] = (char)tolower((unsigned char)n[i]);
	out[i] = '\0';
}

static void finish_tls_error(struct probe *p, int g)
{
	char tok[96], oc[128];
	switch (g) {
	case GNUTLS_E_FATAL_ALERT_RECEIVED: {
		gnutls_alert_description_t a = gnutls_alert_get(p->session);
		const char *name = gnutls_alert_get_strname(a);
		snprintf(oc, sizeof(oc), "tls_alert:%s", name ? name : "unknown");
		finish(p, oc, "server sent fatal alert: %s", gnutls_alert_get_name(a));
		return;
	}
	case GNUTLS_E_TIMEDOUT:
		finish(p, "timeout", "handshake: %s", gnutls_strerror(g));
		return;
	case GNUTLS_E_HANDSHAKE_TOO_LARGE:
		finish(p, "tls_error:chain_too_large",
		       "server sent more than %d KiB of handshake data; probe stopped",
		       X509_MAX_CHAIN_BYTES / 1024);
		return;
	case GNUTLS_E_PUSH_ERROR:
	case GNUTLS_E_PULL_ERROR: {
		int e = errno;
		if (e == ECONNRESET || e == EPIPE) {
			finish(p, "tls_error:connection_reset", "handshake: %s", strerror(e));
			return;
		}
		break;
	}
	default:
		break;
	}
	error_token(g, tok, sizeof(tok));
	snprintf(oc, sizeof(oc), "tls_error:%s", tok);
	finish(p, oc, "handshake: %s", gnutls_strerror(g));
}

/* The first slot of the set of hash @h in a table of @sets sets. */
static size_t set_of(const uint8_t h[32], size_t sets)
{
	uint32_t v;
	memcpy(&v, h, sizeof(v));
	return (v & (uint32_t)(sets - 1)) * CACHE_WAYS;
}

static uint32_t next_stamp(struct probe_ctx *ctx)
{
	if (++ctx->tick == 0) /* wrapped: every slot becomes equally old */
		ctx->tick = 1;
	return ctx->tick;
}

/* Index of the cached certificate with DER hash @h, or -1 (lock held). */
static ssize_t cert_find(struct probe_ctx *ctx, const uint8_t h[32])
{
	size_t base = set_of(h, CERT_SETS);
	for (size_t w = 0; w < CACHE_WAYS; w++) {
		struct x509_cert_info *c = &ctx->certs[base + w];
		if (c->der && !memcmp(c->sha256, h, 32)) {
			ctx->cert_stamps[base + w] = next_stamp(ctx);
			return (ssize_t)(base + w);
		}
	}
	return -1;
}

/* Copy the cached certificate with DER hash @h into @out (lock held). */
static bool cert_cached(struct probe_ctx *ctx, const uint8_t h[32], struct x509_cert_info *out)
{
	ssize_t i = cert_find(ctx, h);
	return i >= 0 && x509_cert_copy(out, &ctx->certs[i]) == 0;
}

static void cert_cache_put(struct probe_ctx *ctx, const struct x509_cert_info *info)
{
	if (cert_find(ctx, info->sha256) >= 0)
		return;
	size_t base = set_of(info->sha256, CERT_SETS), victim = base;
	for (size_t w = 0; w < CACHE_WAYS; w++)
		if (ctx->cert_stamps[base + w] < ctx->cert_stamps[victim])
			victim = base + w; /* empty slots have stamp 0 */
	struct x509_cert_info *c = &ctx->certs[victim];
	x509_cert_info_clear(c);
	if (x509_cert_copy(c, info) != 0) {
		memset(c, 0, sizeof(*c));
		ctx->cert_stamps[victim] = 0;
		return;
	}
	ctx->cert_stamps[victim] = next_stamp(ctx);
}

/* The live chain slot for @key, or NULL (lock held). */
static struct chain_slot *chain_find(struct probe_ctx *ctx, const uint8_t key[32])
{
	struct chain_slot *set = &ctx->chains[set_of(key, CHAIN_SETS)];
	for (size_t w = 0; w < CACHE_WAYS; w++)
		if (set[w].stamp && !memcmp(set[w].key, key, 32)) {
			set[w].stamp = next_stamp(ctx);
			return &set[w];
		}
	return NULL;
}

/* A cached verdict for (@hashes, @key): fill presented/validated and @v. */
static bool chain_cached(struct probe_ctx *ctx, const uint8_t key[32], uint8_t (*hashes)[32],
			 size_t m, struct probe_result *r, struct x509_verdict *v)
{
	bool hit = false;
	pthread_mutex_lock(&ctx->lock);
	struct chain_slot *cs = chain_find(ctx, key);
	if (!cs || util_now() >= cs->valid_until)
		goto out;
	r->validated.certs = calloc(cs->nvalidated, sizeof(struct x509_cert_info));
	if (!r->validated.certs)
		goto out;
	for (size_t i = 0; i < m; i++) {
		if (!cert_cached(ctx, hashes[i], &r->presented.certs[i]))
			goto out;
		r->presented.n = i + 1;
	}
	for (size_t i = 0; i < cs->nvalidated; i++) {
		if (!cert_cached(ctx, cs->validated[i], &r->validated.certs[i]))
			goto out;
		r->validated.n = i + 1;
	}
	memset(v, 0, sizeof(*v));
	v->trusted = cs->trusted;
	v->name_ok = cs->name_ok;
	v->expired = cs->expired;
	snprintf(v->reason, sizeof(v->reason), "%s", cs->reason ? cs->reason : "");
	hit = true;
out:
	pthread_mutex_unlock(&ctx->lock);
	if (!hit) {
		for (size_t i = 0; i < r->presented.n; i++)
			x509_cert_info_clear(&r->presented.certs[i]);
		r->presented.n = 0;
		x509_chain_clear(&r->validated);
	}
	return hit;
}

static void chain_cache_put(struct probe_ctx *ctx, const uint8_t key[32],
			    const struct probe_result *r, const struct x509_verdict *v)
{
	if (r->validated.n > CACHE_VALIDATED_MAX)
		return;
	time_t now = util_now(), until = now + CACHE_TTL_S;
	for (size_t i = 0; i < r->validated.n; i++) {
		const struct x509_cert_info *c = &r->validated.certs[i];
		if (c->not_after < until)
			until = c->not_after;
		if (c->not_before > now && c->not_before < until)
			until = c->not_before;
	}
	pthread_mutex_lock(&ctx->lock);
	for (size_t i = 0; i < r->presented.n; i++)
		cert_cache_put(ctx, &r->presented.certs[i]);
	for (size_t i = 0; i < r->validated.n; i++)
		cert_cache_put(ctx, &r->validated.certs[i]);
	struct chain_slot *cs = chain_find(ctx, key);
	if (!cs) {
		struct chain_slot *set = &ctx->chains[set_of(key, CHAIN_SETS)];
		cs = &set[0];
		for (size_t w = 1; w < CACHE_WAYS; w++)
			if (set[w].stamp < cs->stamp)
				cs = &set[w]; /* empty slots have stamp 0 */
	}
	chain_slot_clear(cs);
	if (until > now) {
		cs->validated = r->validated.n ? malloc(r->validated.n * 32) : NULL;
		cs->reason = v->reason[0] ? strdup(v->reason) : NULL;
		if ((r->validated.n && !cs->validated) || (v->reason[0] && !cs->reason)) {
			chain_slot_clear(cs); /* out of memory: not cached */
		} else {
			memcpy(cs->key, key, 32);
			cs->valid_until = until;
			for (size_t i = 0; i < r->validated.n; i++)
				memcpy(cs->validated[i], r->validated.certs[i].sha256, 32);
			cs->nvalidated = (uint8_t)r->validated.n;
			cs->trusted = v->trusted;
			cs->name_ok = v->name_ok;
			cs->expired = v->expired;
			cs->stamp = next_stamp(ctx);
		}
	}
	pthread_mutex_unlock(&ctx->lock);
}

/* Import presented certificate @peer into *@crt (NULL on failure). */
static int import_crt(gnutls_x509_crt_t *crt, const gnutls_datum_t *peer, char *err, size_t errlen)
{
	if (gnutls_x509_crt_init(crt) < 0) {
		*crt = NULL;
		return util_err(err, errlen, -ENOMEM, "out of memory");
	}
	int g = gnutls_x509_crt_import(*crt, peer, GNUTLS_X509_FMT_DER);
	return g < 0 ? util_err(err, errlen, -EINVAL, "%s", gnutls_strerror(g)) : 0;
}

/* Fill r->presented.certs[@k] from the cache or by parsing; the crt is
 * imported into @crts[k] when @need_crt or when it had to be parsed. */
static int presented_at(struct probe_ctx *ctx, struct probe_result *r, const gnutls_datum_t *peers,
			uint8_t (*hashes)[32], size_t k, gnutls_x509_crt_t *crts, bool need_crt,
			char *err, size_t errlen)
{
	pthread_mutex_lock(&ctx->lock);
	bool cached = cert_cached(ctx, hashes[k], &r->presented.certs[k]);
	pthread_mutex_unlock(&ctx->lock);
	if (cached && !need_crt)
		return 0;
	int rc = import_crt(&crts[k], &peers[k], err, errlen);
	if (rc)
		return rc;
	if (!cached && x509_cert_from_crt(crts[k], &r->presented.certs[k], err, errlen) != 0)
		return -EINVAL;
	return 0;
}

/* Parse and validate the presented chain with GnuTLS (cache miss). A leaf
 * under an intermediate validated before is checked against it alone
 * (x509_validate_fast()); anything else gets the full validation. */
static int parse_and_validate(struct probe_ctx *ctx, struct probe_result *r, const char *name,
			      const gnutls_datum_t *peers, uint8_t (*hashes)[32], size_t m,
			      struct x509_verdict *v, char *err, size_t errlen)
{
	gnutls_x509_crt_t crts[X509_MAX_CHAIN] = { NULL };
	int rc = 0, fast = 0;
	size_t k = 0;
	for (; k < m && rc == 0; k++) {
		rc = presented_at(ctx, r, peers, hashes, k, crts, k == 0, err, errlen);
		if (rc == 0)
			r->presented.n = k + 1;
	}
	if (rc == 0 && m >= 2)
		fast = x509_validate_fast(ctx->trust, crts[0], &r->presented.certs[0], hashes[1],
					  name, &r->validated, v, err, errlen);
	if (fast < 0)
		rc = fast;
	for (k = 1; rc == 0 && fast == 0 && k < m; k++)
		if (!crts[k])
			rc = import_crt(&crts[k], &peers[k], err, errlen);
	if (rc == 0 && fast == 0)
		rc = x509_validate(ctx->trust, crts, m, &r->presented, name, &r->validated, v, err,
				   errlen);
	for (k = 0; k < m; k++)
		if (crts[k])
			gnutls_x509_crt_deinit(crts[k]);
	return rc;
}

/* How many of the @n presented certificates a probe keeps: at most
 * X509_MAX_CHAIN of them and X509_MAX_CHAIN_BYTES in all. */
static size_t chain_keep(const gnutls_datum_t *peers, size_t n, size_t *bytes)
{
	size_t m = 0;
	*bytes = 0;
	while (m < n && m < X509_MAX_CHAIN && *bytes + peers[m].size <= X509_MAX_CHAIN_BYTES)
		*bytes += peers[m++].size;
	return m;
}

/* Examine the @n presented certificates @peers of a completed handshake
 * with @sni: hash, complete and verify them (caches first), and set the
 * outcome of @r. */
static void examine(struct probe_ctx *ctx, const char *sni, const gnutls_datum_t *peers, size_t n,
		    bool truncated, struct probe_result *r)
{
	size_t bytes, m = chain_keep(peers, n, &bytes);
	char err[ERRLEN];
	struct x509_verdict v;

	if (m < n || truncated) {
		r->truncated = true;
		r->presented.truncated = true;
	}
	r->presented.certs = calloc(m ? m : 1, sizeof(struct x509_cert_info));
	if (!r->presented.certs) {
		set_outcome(r, "tls_error:out_of_memory", "out of memory");
		return;
	}
	uint8_t hashes[X509_MAX_CHAIN][32];
	for (size_t i = 0; i < m; i++)
		if (util_sha256(peers[i].data, peers[i].size, hashes[i]) != 0) {
			set_outcome(r, "tls_error:hash", "hashing a certificate failed");
			return;
		}
	/* Cache key: the certificates' hashes, then the name checked. */
	const char *name = sni && sni[0] ? sni : NULL;
	uint8_t key[32];
	gnutls_hash_hd_t hh;
	if (gnutls_hash_init(&hh, GNUTLS_DIG_SHA256) < 0) {
		set_outcome(r, "tls_error:hash", "hashing failed");
		return;
	}
	gnutls_hash(hh, hashes, 32 * m);
	gnutls_hash(hh, "", 1);
	if (name)
		gnutls_hash(hh, name, strlen(name));
	gnutls_hash_deinit(hh, key);
	if (!chain_cached(ctx, key, hashes, m, r, &v)) {
		if (parse_and_validate(ctx, r, name, peers, hashes, m, &v, err, sizeof(err)) != 0) {
			set_outcome(r, "tls_error:bad_certificate", "%s", err);
			return;
		}
		chain_cache_put(ctx, key, r, &v);
	}
	r->handshake_ok = true;
	r->trusted = v.trusted;
	r->name_ok = v.name_ok;
	const char *trunc =
		r->truncated ? "; stopped after the chain limit (32 certificates / 256 KiB)" : "";
	if (v.expired)
		set_outcome(r, "expired", "%s%s",
			    v.reason[0] ? v.reason : "a certificate is outside its validity period",
			    trunc);
	else if (!v.trusted)
		set_outcome(r, "untrusted", "%s%s", v.reason, trunc);
	else if (!v.name_ok)
		set_outcome(r, "name_mismatch", "certificate does not match %s%s", name ? name : "",
			    trunc);
	else
		set_outcome(r, "ok", "%s", r->truncated ? trunc + 2 : "");
}

/* Copy what examine() needs out of the session, so that it can be freed now. */
static struct probe_pending *pending_new(struct probe *p, const gnutls_datum_t *peers, size_t n)
{
	size_t bytes, m = chain_keep(peers, n, &bytes);
	struct probe_pending *pd = calloc(1, sizeof(*pd));
	if (!pd || !(pd->buf = malloc(bytes ? bytes : 1))) {
		free(pd);
		return NULL;
	}
	pd->ctx = p->ctx;
	snprintf(pd->sni, sizeof(pd->sni), "%s", p->sni);
	pd->truncated = m < n;
	for (size_t i = 0, off = 0; i < m; off += peers[i++].size) {
		memcpy(pd->buf + off, peers[i].data, peers[i].size);
		pd->certs[i].data = pd->buf + off;
		pd->certs[i].size = peers[i].size;
	}
	pd->n = m;
	return pd;
}

int probe_result_pending_digest(const struct probe_result *r, uint8_t digest[32])
{
	const struct probe_pending *pd = r->pending;
	if (!pd || pd->truncated || pd->n == 0)
		return -ENOENT;
	uint8_t hashes[X509_MAX_CHAIN * 32];
	for (size_t i = 0; i < pd->n; i++)
		if (util_sha256(pd->certs[i].data, pd->certs[i].size, hashes + 32 * i) != 0)
			return -EIO;
	return util_sha256(hashes, 32 * pd->n, digest) == 0 ? 0 : -EIO;
}

void probe_result_reuse_ok(struct probe_result *r)
{
	if (!r->pending)
		return;
	pending_free(r->pending);
	r->pending = NULL;
	r->handshake_ok = true;
	r->trusted = true;
	r->name_ok = true;
	set_outcome(r, "ok", "%s", "");
}

void probe_result_complete(struct probe_result *r)
{
	struct probe_pending *pd = r->pending;
	if (!pd)
		return;
	r->pending = NULL;
	examine(pd->ctx, pd->sni, pd->certs, pd->n, pd->truncated, r);
	pending_free(pd);
}

/* The kind of the server's certificate key, from what it signed with (TLS 1.3,
 * TLS 1.2 ECDHE) or the key exchange (TLS 1.2 static RSA); no parsing. */
static enum probe_variant key_variant_of(gnutls_session_t s)
{
	gnutls_sign_algorithm_t sig = gnutls_sign_algorithm_get(s);
	gnutls_pk_algorithm_t pk =
		sig != GNUTLS_SIGN_UNKNOWN ? gnutls_sign_get_pk_algorithm(sig) : GNUTLS_PK_UNKNOWN;
	if (pk == GNUTLS_PK_UNKNOWN) {
		gnutls_kx_algorithm_t kx = gnutls_kx_get(s);
		if (kx == GNUTLS_KX_ECDHE_ECDSA)
			pk = GNUTLS_PK_ECDSA;
		else if (kx == GNUTLS_KX_RSA || kx == GNUTLS_KX_ECDHE_RSA ||
			 kx == GNUTLS_KX_DHE_RSA)
			pk = GNUTLS_PK_RSA;
	}
	if (pk == GNUTLS_PK_ECDSA)
		return PROBE_VARIANT_ECDSA;
	if (pk == GNUTLS_PK_RSA || pk == GNUTLS_PK_RSA_PSS)
		return PROBE_VARIANT_RSA;
	return PROBE_VARIANT_DEFAULT;
}

/* After the handshake: record the presented chain, then examine it here or
 * leave it to probe_result_complete(). */
static void collect(struct probe *p)
{
	unsigned n = 0;
	const gnutls_datum_t *peers = gnutls_certificate_get_peers(p->session, &n);

	snprintf(p->res.tls_version, sizeof(p->res.tls_version), "%s",
		 gnutls_protocol_get_name(gnutls_protocol_get_version(p->session)) ?: "");
	/* A certificate-only attempt stops before any cipher is in use. */
	snprintf(p->res.cipher, sizeof(p->res.cipher), "%s",
		 p->cert_only ? "" : gnutls_cipher_get_name(gnutls_cipher_get(p->session)) ?: "");
	p->res.key_variant = key_variant_of(p->session);
	if (!peers || n == 0) {
		finish(p, "tls_error:no_certificate", "server sent no certificate");
		return;
	}
	if (p->ctx->defer) {
		if (!(p->res.pending = pending_new(p, peers, n))) {
			finish(p, "tls_error:out_of_memory", "out of memory");
			return;
		}
		p->res.outcome[0] = '\0';
		finish_keep(p);
		return;
	}
	examine(p->ctx, p->sni, peers, n, false, &p->res);
	finish_keep(p);
}

/* Certificate-only attempt: the server's first flight is in; stop before
 * the client's key exchange. */
static int cert_only_hook(gnutls_session_t session, unsigned htype, unsigned when,
			  unsigned incoming, const gnutls_datum_t *msg)
{
	(void)session;
	(void)msg;
	return htype == GNUTLS_HANDSHAKE_SERVER_HELLO_DONE && when == GNUTLS_HOOK_POST && incoming
		       ? CERT_ONLY_DONE
		       : 0;
}

static void start_connect(struct probe *p);

/* The certificate-only attempt failed at the TLS level: ask again with the
 * full RSA offer on a new connection (same deadline, probe_generation()). */
static void retry_full(struct probe *p)
{
	if (p->session) {
		gnutls_deinit(p->session);
		p->session = NULL;
	}
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	p->cert_only = false;
	p->generation++;
	start_connect(p);
}

static void start_handshake(struct probe *p)
{
	unsigned flags = GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL | GNUTLS_NO_TICKETS |
			 GNUTLS_KEY_SHARE_TOP;
	int g = gnutls_init(&p->session, flags);
	if (g < 0) {
		p->session = NULL;
		finish(p, "tls_error:init", "%s", gnutls_strerror(g));
		return;
	}
	gnutls_priority_t pr = p->cert_only ? p->ctx->prio_cert : p->ctx->prio[p->res.variant];
	if (p->cert_only)
		gnutls_handshake_set_hook_function(p->session, GNUTLS_HANDSHAKE_SERVER_HELLO_DONE,
						   GNUTLS_HOOK_POST, cert_only_hook);
	if ((g = gnutls_priority_set(p->session, pr)) < 0 ||
	    (g = gnutls_credentials_set(p->session, GNUTLS_CRD_CERTIFICATE, p->ctx->cred)) < 0 ||
	    (p->sni_is_name && (g = gnutls_server_name_set(p->session, GNUTLS_NAME_DNS, p->sni,
							   strlen(p->sni))) < 0)) {
		finish(p, "tls_error:init", "%s", gnutls_strerror(g));
		return;
	}
	gnutls_handshake_set_max_packet_length(p->session, X509_MAX_CHAIN_BYTES);
	gnutls_handshake_set_timeout(p->session, (unsigned)p->timeout_ms);
	gnutls_transport_set_int(p->session, p->fd);
	p->state = ST_HANDSHAKE;
}

static void do_handshake(struct probe *p)
{
	for (;;) {
		int g = gnutls_handshake(p->session);
		if (g == 0 || (p->cert_only && g == CERT_ONLY_DONE)) {
			collect(p);
			return;
		}
		if (p->cert_only && gnutls_error_is_fatal(g) && g != GNUTLS_E_TIMEDOUT &&
		    g != GNUTLS_E_AGAIN && g != GNUTLS_E_INTERRUPTED) {
			retry_full(p);
			return;
		}
		if (g == GNUTLS_E_AGAIN || g == GNUTLS_E_INTERRUPTED) {
			p->events = gnutls_record_get_direction(p->session) ? POLLOUT : POLLIN;
			return;
		}
		if (!gnutls_error_is_fatal(g))
			continue; /* warning alert: go on */
		finish_tls_error(p, g);
		return;
	}
}

/*
 * Start probing @sa with server name @sni (NULL or an IP literal: no SNI,
 * the name check uses @sni if given) within @timeout_ms for connect and
 * handshake. Never blocks. Returns NULL only when out of memory; an immediate
 * failure (refused, no route) gives a probe that is already done.
 */
static struct probe *probe_new(struct probe_ctx *ctx, const struct sockaddr *sa, socklen_t salen,
			       const char *sni, int timeout_ms)
{
	return probe_new_variant(ctx, sa, salen, sni, timeout_ms, PROBE_VARIANT_DEFAULT);
}

struct probe *probe_new_variant(struct probe_ctx *ctx, const struct sockaddr *sa, socklen_t salen,
				const char *sni, int timeout_ms, enum probe_variant variant)
{
	struct probe *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->ctx = ctx;
	p->res.variant = (unsigned)variant < PROBE_NVARIANTS ? variant : PROBE_VARIANT_DEFAULT;
	p->fd = -1;
	p->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	p->start_ms = util_mono_ms();
	p->deadline_ms = p->start_ms + p->timeout_ms;
	p->res.at = util_now();
	probe_addr_str(sa, p->res.address, sizeof(p->res.address));
	p->res.port = ntohs(sa->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_port
						      : ((const struct sockaddr_in *)sa)->sin_port);
	if (sni && *sni) {
		unsigned char tmp[sizeof(struct in6_addr)];
		snprintf(p->sni, sizeof(p->sni), "%s", sni);
		p->sni_is_name =
			inet_pton(AF_INET, sni, tmp) != 1 && inet_pton(AF_INET6, sni, tmp) != 1;
	}
	p->cert_only = p->res.variant == PROBE_VARIANT_RSA;
	if (salen > sizeof(p->sa)) {
		finish(p, "unreachable", "connect: %s", strerror(EAFNOSUPPORT));
		return p;
	}
	memcpy(&p->sa, sa, salen);
	p->salen = salen;
	start_connect(p);
	return p;
}

static void start_connect(struct probe *p)
{
	const struct sockaddr *sa = (const struct sockaddr *)&p->sa;
	p->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (p->fd < 0) {
		finish_errno(p, errno, "socket");
		return;
	}
	if (connect(p->fd, sa, p->salen) == 0) {
		start_handshake(p);
		if (p->state == ST_HANDSHAKE)
			do_handshake(p);
		return;
	}
	if (errno != EINPROGRESS) {
		finish_errno(p, errno, "connect");
		return;
	}
	p->state = ST_CONNECT;
	p->events = POLLOUT;
}

unsigned probe_generation(const struct probe *p)
{
	return p->generation;
}

int probe_fd(const struct probe *p)
{
	return p->state == ST_DONE ? -1 : p->fd;
}

short probe_events(const struct probe *p)
{
	return p->events;
}

int64_t probe_deadline_ms(const struct probe *p)
{
	return p->deadline_ms;
}

bool probe_done(const struct probe *p)
{
	return p->state == ST_DONE;
}

void probe_cancel(struct probe *p, const char *why)
{
	if (p->state != ST_DONE)
		finish(p, "timeout", "%s", why);
}

bool probe_step(struct probe *p, int64_t now_ms)
{
	if (p->state == ST_DONE)
		return true;
	if (p->state == ST_CONNECT) {
		int e = 0;
		socklen_t el = sizeof(e);
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			e = errno;
		if (e != 0) {
			finish_errno(p, e, "connect");
			return true;
		}
		struct pollfd pf = { .fd = p->fd, .events = POLLOUT };
		if (poll(&pf, 1, 0) == 1 && (pf.revents & POLLOUT)) {
			start_handshake(p);
		} else if (now_ms >= p->deadline_ms) {
			finish(p, "timeout", "connect: no answer within %d ms", p->timeout_ms);
			return true;
		} else {
			return false;
		}
		if (p->state == ST_DONE)
			return true;
	}
	do_handshake(p);
	if (p->state != ST_DONE && now_ms >= p->deadline_ms)
		finish(p, "timeout", "handshake: not complete within %d ms", p->timeout_ms);
	return p->state == ST_DONE;
}

struct probe_result *probe_result(struct probe *p)
{
	return &p->res;
}

void probe_free(struct probe *p)
{
	if (!p)
		return;
	if (p->session)
		gnutls_deinit(p->session);
	if (p->fd >= 0)
		close(p->fd);
	probe_result_clear(&p->res);
	free(p);
}

int probe_run_sync(struct probe_ctx *ctx, const struct sockaddr *sa, socklen_t salen,
		   const char *sni, int timeout_ms, struct probe_result *out)
{
	struct probe *p = probe_new(ctx, sa, salen, sni, timeout_ms);
	if (!p)
		return -ENOMEM;
	while (!probe_done(p)) {
		int64_t now = util_mono_ms();
		int64_t wait = probe_deadline_ms(p) - now;
		struct pollfd pf = { .fd = probe_fd(p), .events = probe_events(p) };
		int r = poll(&pf, 1, wait > 0 ? (int)wait : 0);
		if (r < 0 && errno != EINTR) {
			probe_cancel(p, "poll failed");
			break;
		}
		probe_step(p, util_mono_ms());
	}
	*out = p->res;
	memset(&p->res, 0, sizeof(p->res));
	probe_free(p);
	return 0;
}

int probe_resolve(const char *host, uint16_t port, struct probe_addr *out, size_t max, size_t *n,
		  char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP };
	struct addrinfo *res = NULL;
	char ps[8];
	*n = 0;
	/* $PINWATCH_HOSTS_FILE overrides come before DNS (hostsfile.h). */
	struct sockaddr_storage hss[16];
	socklen_t hlen[16];
	size_t hn = 0;
	int h = hostsfile_lookup(host, port, hss, hlen, max < 16 ? max : 16, &hn, err, errlen);
	if (h != 0) {
		for (size_t i = 0; h > 0 && i < hn; i++) {
			out[i].ss = hss[i];
			out[i].len = hlen[i];
		}
		*n = h > 0 ? hn : 0;
		return h < 0 ? h : 0;
	}
	snprintf(ps, sizeof(ps), "%u", port);
	int rc = getaddrinfo(host, ps, &hints, &res);
	if (rc != 0)
		return util_err(err, errlen, rc == EAI_AGAIN ? -EAGAIN : -ENOENT, "%s: %s", host,
				gai_strerror(rc));
	for (struct addrinfo *ai = res; ai && *n < max; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(out[0].ss))
			continue;
		bool dup = false;
		for (size_t i = 0; i < *n && !dup; i++)
			dup = out[i].len == ai->ai_addrlen &&
			      !memcmp(&out[i].ss, ai->ai_addr, ai->ai_addrlen);
		if (dup)
			continue;
		memcpy(&out[*n].ss, ai->ai_addr, ai->ai_addrlen);
		out[*n].len = ai->ai_addrlen;
		(*n)++;
	}
	freeaddrinfo(res);
	if (*n == 0)
		return util_err(err, errlen, -ENOENT, "%s: no IPv4 or IPv6 address", host);
	return 0;
}

int probe_run_many(struct probe_ctx *ctx, const struct probe_addr *addrs, size_t n, const char *sni,
		   int timeout_ms, struct probe_result *results)
{
	return probe_run_many_variant(ctx, addrs, n, sni, timeout_ms, PROBE_VARIANT_DEFAULT,
				      results);
}

int probe_run_many_variant(struct probe_ctx *ctx, const struct probe_addr *addrs, size_t n,
			   const char *sni, int timeout_ms, enum probe_variant variant,
			   struct probe_result *results)
{
	struct probe **ps = calloc(n ? n : 1, sizeof(*ps));
	struct pollfd *pf = calloc(n ? n : 1, sizeof(*pf));
	int rc = 0;
	if (!ps || !pf) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ps[i] = probe_new_variant(ctx, (const struct sockaddr *)&addrs[i].ss, addrs[i].len,
					  sni, timeout_ms, variant);
		if (!ps[i]) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (;;) {
		size_t live = 0;
		int64_t now = util_mono_ms(), first = INT64_MAX;
		for (size_t i = 0; i < n; i++) {
			pf[i].fd = probe_fd(ps[i]);
			pf[i].events = probe_events(ps[i]);
			pf[i].revents = 0;
			if (pf[i].fd >= 0) {
				live++;
				if (probe_deadline_ms(ps[i]) < first)
					first = probe_deadline_ms(ps[i]);
			}
		}
		if (!live)
			break;
		int r = poll(pf, (nfds_t)n, first > now ? (int)(first - now) : 0);
		if (r < 0 && errno != EINTR) {
			rc = -errno;
			goto out;
		}
		now = util_mono_ms();
		for (size_t i = 0; i < n; i++)
			if (pf[i].fd >= 0 && (pf[i].revents || now >= probe_deadline_ms(ps[i])))
				probe_step(ps[i], now);
	}
	for (size_t i = 0; i < n; i++) {
		results[i] = ps[i]->res;
		memset(&ps[i]->res, 0, sizeof(ps[i]->res));
	}
out:
	for (size_t i = 0; ps && i < n; i++)
		probe_free(ps[i]);
	free(ps);
	free(pf);
	return rc;
}

json_t *probe_cert_json(const struct x509_cert_info *c)
{
	char nb[32], na[32], fp[65], b64[48], hx[65];
	return json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:s, s:s, s:s}", "subject",
		c->subject ? c->subject : "", "issuer", c->issuer ? c->issuer : "", "serial",
		c->serial, "not_before", util_fmt_time(c->not_before, nb, sizeof(nb)), "not_after",
		util_fmt_time(c->not_after, na, sizeof(na)), "key_type", c->key_type, "key_bits",
		(json_int_t)c->key_bits, "is_ca", c->is_ca, "sha256", util_hex(c->sha256, 32, fp),
		"pin", util_pin_b64(c->spki_pin, b64), "pin_hex", util_hex(c->spki_pin, 32, hx));
}

static json_t *chain_json(const struct x509_chain *ch)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < ch->n; i++) {
		json_t *o = probe_cert_json(&ch->certs[i]);
		if (!o || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *probe_result_json(const struct probe_result *r)
{
	char at[32];
	json_t *o =
		json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:b, s:I, s:s}", "address", r->address,
			  "port", (json_int_t)r->port, "variant", probe_variant_name(r->variant),
			  "outcome", r->outcome, "detail", r->detail, "at",
			  util_fmt_time(r->at, at, sizeof(at)), "truncated", r->truncated,
			  "duration_ms", (json_int_t)r->duration_ms, "tls_version", r->tls_version);
	if (!o)
		return NULL;
	if (r->handshake_ok) {
		json_t *p = chain_json(&r->presented), *v = chain_json(&r->validated);
		if (!p || !v) {
			json_decref(p);
			json_decref(v);
			json_decref(o);
			return NULL;
		}
		if (json_object_set_new(o, "cipher", json_string(r->cipher)) ||
		    json_object_set_new(o, "trusted", json_boolean(r->trusted)) ||
		    json_object_set_new(o, "name_ok", json_boolean(r->name_ok)) ||
		    json_object_set_new(o, "presented_chain", p) ||
		    json_object_set_new(o, "validated_chain", v)) {
			json_decref(o);
			return NULL;
		}
	} else {
		json_object_set_new(o, "presented_chain", json_array());
		json_object_set_new(o, "validated_chain", json_array());
	}
	return o;
}
