/* The probe context shared by every probe: priorities, credentials, the
 * trust store, and its caches of parsed certificates and verdicts. */
#include "probe/probe.h"
#include "probe/probe_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
bool probe_cert_cached(struct probe_ctx *ctx, const uint8_t h[32], struct x509_cert_info *out)
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
bool probe_chain_cached(struct probe_ctx *ctx, const uint8_t key[32], uint8_t (*hashes)[32],
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
		if (!probe_cert_cached(ctx, hashes[i], &r->presented.certs[i]))
			goto out;
		r->presented.n = i + 1;
	}
	for (size_t i = 0; i < cs->nvalidated; i++) {
		if (!probe_cert_cached(ctx, cs->validated[i], &r->validated.certs[i]))
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

void probe_chain_cache_put(struct probe_ctx *ctx, const uint8_t key[32],
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
