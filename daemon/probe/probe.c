#include "probe/probe.h"
#include "probe/probe_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <pthread.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

#define CERT_ONLY_DONE GNUTLS_E_USER_ERROR /* the hook stopped the handshake */

/* A completed handshake's certificates, waiting for probe_result_complete(). */
struct probe_pending {
	struct probe_ctx *ctx;
	char sni[256];
	size_t n;
	bool truncated; /* more than X509_MAX_CHAIN certificates / X509_MAX_CHAIN_BYTES */
	gnutls_datum_t certs[X509_MAX_CHAIN];
	uint8_t *buf; /* the certificates' bytes, one allocation */
};

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
	bool cached = probe_cert_cached(ctx, hashes[k], &r->presented.certs[k]);
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
	if (!probe_chain_cached(ctx, key, hashes, m, r, &v)) {
		if (parse_and_validate(ctx, r, name, peers, hashes, m, &v, err, sizeof(err)) != 0) {
			set_outcome(r, "tls_error:bad_certificate", "%s", err);
			return;
		}
		probe_chain_cache_put(ctx, key, r, &v);
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
	struct x509_chain_fp fp;
	x509_chain_fp_init(&fp);
	for (size_t i = 0; i < pd->n; i++)
		x509_chain_fp_add_der(&fp, pd->certs[i].data, pd->certs[i].size);
	return x509_chain_fp_end(&fp, digest);
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
