/* Certification paths: every path a client could build from a leaf. */
#include "pki/x509.h"
#include "pki/x509_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "base/util.h"

#define PATH_STEPS_MAX 4096 /* issuer look-ups per build: bounds a pool full of one name */

/* Whether @issuer's key signed @crt and its names and key identifiers match (time ignored). */
static bool x509_signed_by(gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer)
{
	unsigned status = 1;
	if (!gnutls_x509_crt_check_issuer(crt, issuer))
		return false;
	if (gnutls_x509_crt_verify(crt, &issuer, 1,
				   GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
					   GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
				   &status) < 0)
		return false;
	return status == 0;
}

void x509_paths_clear(struct x509_paths *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		x509_chain_clear(&p->v[i].certs);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

struct pathbuild {
	struct x509_trust *t;
	const gnutls_x509_crt_t *pool;
	size_t npool;
	gnutls_x509_crt_t *anchors; /* the list's in-memory anchors (owned by t) */
	size_t nanchors;
	gnutls_x509_crt_t path[X509_PATH_MAX];
	int src[X509_PATH_MAX];
	size_t n;
	int anchor_at; /* index of the path's first trust anchor, or -1 */
	unsigned steps;
	struct x509_paths *out;
	size_t outcap; /* elements allocated at out->v */
	char *err;
	size_t errlen;
	int rc;
};

#define ANCHORS_MAX 4096

/* Every anchor of the list held in memory (a CA file, the system bundle),
 * copied once per trust list: gnutls_x509_trust_list_get_issuer() answers
 * with one certificate of a name, and two anchors may share one (a re-keyed
 * root). */
static int anchors_load(struct pathbuild *b)
{
	struct x509_trust *t = b->t;
	int rc = 0;
	pthread_mutex_lock(&t->lock);
	if (!t->anchor_list_loaded) {
		gnutls_x509_trust_list_iter_t it = NULL;
		gnutls_x509_crt_t c;
		while (t->nanchor_list < ANCHORS_MAX &&
		       gnutls_x509_trust_list_iter_get_ca(t->tl, &it, &c) == 0) {
			if (ARRAY_RESERVE(t->anchor_list, t->anchor_list_cap, t->nanchor_list + 1,
					  ANCHORS_MAX)) {
				gnutls_x509_crt_deinit(c);
				rc = util_err(b->err, b->errlen, -ENOMEM, "out of memory");
				break;
			}
			t->anchor_list[t->nanchor_list++] = c;
		}
		if (it)
			gnutls_x509_trust_list_iter_deinit(it);
		if (rc) { /* start over next time */
			for (size_t i = 0; i < t->nanchor_list; i++)
				gnutls_x509_crt_deinit(t->anchor_list[i]);
			t->nanchor_list = 0;
		}
		t->anchor_list_loaded = rc == 0;
	}
	b->anchors = t->anchor_list;
	b->nanchors = t->anchor_list_loaded ? t->nanchor_list : 0;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static bool path_has(const struct pathbuild *b, gnutls_x509_crt_t c)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->path[i] == c || gnutls_x509_crt_equals(b->path[i], c))
			return true;
	return false;
}

static void status_text(unsigned status, char *buf, size_t len)
{
	gnutls_datum_t out = { NULL, 0 };
	if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) >= 0 &&
	    out.data)
		snprintf(buf, len, "%.*s", (int)out.size, out.data);
	else
		snprintf(buf, len, "verification failed (status 0x%x)", status);
	gnutls_free(out.data);
}

/* Record the current path. With an anchor on it (b->anchor_at >= 0) the
 * path up to that anchor is verified against it alone, time not checked
 * (anchors above it, which issued it, are trusted as they are); without,
 * it is untrusted (@why). */
static void path_emit(struct pathbuild *b, const char *why)
{
	size_t n = b->n;
	if (b->rc)
		return;
	if (b->out->n >= X509_PATHS_MAX) {
		b->out->truncated = true;
		return;
	}
	if (ARRAY_RESERVE(b->out->v, b->outcap, b->out->n + 1, X509_PATHS_MAX)) {
		b->rc = util_err(b->err, b->errlen, -ENOMEM, "out of memory");
		return;
	}
	struct x509_path *p = &b->out->v[b->out->n];
	memset(p, 0, sizeof(*p));
	p->certs.certs = calloc(n, sizeof(*p->certs.certs));
	if (!p->certs.certs) {
		b->rc = util_err(b->err, b->errlen, -ENOMEM, "out of memory");
		return;
	}
	b->out->n++;
	for (size_t i = 0; i < n; i++) {
		int rc = x509_cert_from_crt(b->path[i], &p->certs.certs[i], b->err, b->errlen);
		if (rc) {
			b->rc = rc;
			return;
		}
		p->certs.n++;
		p->src[i] = b->src[i];
	}
	if (b->anchor_at < 0) {
		snprintf(p->reason, sizeof(p->reason), "%s", why ? why : "no trust anchor");
		return;
	}
	/* Signatures, CA flags, path length and name constraints, key usage. */
	unsigned status = GNUTLS_CERT_INVALID;
	gnutls_x509_crt_t anchor = b->path[b->anchor_at];
	if (gnutls_x509_crt_list_verify(b->path, (unsigned)b->anchor_at + 1, &anchor, 1, NULL, 0,
					GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
						GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
					&status) < 0)
		status = GNUTLS_CERT_INVALID;
	p->trusted = status == 0;
	if (!p->trusted)
		status_text(status, p->reason, sizeof(p->reason));
}

static void path_push(struct pathbuild *b, gnutls_x509_crt_t c, int src)
{
	b->path[b->n] = c;
	b->src[b->n] = src;
	b->n++;
}

/* The last certificate of the path is a trust anchor. Like Android's
 * TrustManagerImpl and OkHttp's certificate chain cleaner, keep going
 * through the anchors that issued it until a self-signed one: pins on the
 * anchor's own issuer count. */
static void path_up_anchors(struct pathbuild *b)
{
	gnutls_x509_crt_t cur = b->path[b->n - 1];
	bool any = false;
	if (!x509_self_issued(cur) && b->n < X509_PATH_MAX) {
		for (size_t i = 0; i < b->nanchors && !b->rc; i++) {
			gnutls_x509_crt_t a = b->anchors[i];
			if (path_has(b, a) || !x509_signed_by(cur, a))
				continue;
			any = true;
			path_push(b, a, X509_SRC_ANCHOR);
			path_up_anchors(b);
			b->n--;
		}
	}
	if (!any)
		path_emit(b, NULL);
}

/* Anchors that issued @cur, or that @cur is: the path goes on through the
 * anchors only (clients try the trust store before any other issuer).
 * Returns whether any did. */
static bool path_anchors(struct pathbuild *b, gnutls_x509_crt_t cur)
{
	bool any = false;
	for (size_t i = 0; i < b->nanchors && !b->rc; i++) {
		if (gnutls_x509_crt_equals(b->anchors[i], cur)) {
			b->anchor_at = (int)b->n - 1;
			path_up_anchors(b);
			b->anchor_at = -1;
			return true;
		}
	}
	if (b->n >= X509_PATH_MAX)
		return false;
	for (size_t i = 0; i < b->nanchors && !b->rc; i++) {
		gnutls_x509_crt_t a = b->anchors[i];
		if (path_has(b, a) || !x509_signed_by(cur, a))
			continue;
		any = true;
		path_push(b, a, X509_SRC_ANCHOR);
		b->anchor_at = (int)b->n - 1;
		path_up_anchors(b);
		b->anchor_at = -1;
		b->n--;
	}
	if (any)
		return true;
	/* Anchors the list does not hold in memory (a PKCS#11 trust module). */
	gnutls_x509_crt_t iss = NULL;
	int g = gnutls_x509_trust_list_get_issuer(b->t->tl, cur, &iss, GNUTLS_TL_GET_COPY);
	if (g == 0 && iss) {
		if (gnutls_x509_crt_equals(iss, cur)) {
			b->anchor_at = (int)b->n - 1;
			path_emit(b, NULL);
			any = true;
		} else if (x509_signed_by(cur, iss)) {
			path_push(b, iss, X509_SRC_ANCHOR);
			b->anchor_at = (int)b->n - 1;
			path_emit(b, NULL);
			b->n--;
			any = true;
		}
		b->anchor_at = -1;
		gnutls_x509_crt_deinit(iss);
	}
	return any;
}

static void path_step(struct pathbuild *b)
{
	gnutls_x509_crt_t cur = b->path[b->n - 1];
	char why[200];
	if (b->rc || b->out->n >= X509_PATHS_MAX)
		return;
	if (++b->steps > PATH_STEPS_MAX) {
		b->out->truncated = true;
		return;
	}
	if (b->t && path_anchors(b, cur))
		return;
	if (x509_self_issued(cur)) {
		path_emit(b, "it ends at a self-signed certificate that is not a trust anchor");
		return;
	}
	if (b->n >= X509_PATH_MAX - 1) {
		b->out->truncated = true;
		path_emit(b, "the path is longer than pinwatch follows");
		return;
	}
	bool found = false;
	for (size_t i = 0; i < b->npool && !b->rc && b->out->n < X509_PATHS_MAX; i++) {
		gnutls_x509_crt_t c = b->pool[i];
		if (path_has(b, c) || !x509_signed_by(cur, c))
			continue;
		found = true;
		path_push(b, c, (int)i);
		path_step(b);
		b->n--;
	}
	if (!found) {
		char *dn = x509_dn_string(cur, true, 512);
		snprintf(why, sizeof(why),
			 "no certificate of issuer %s whose key signed it is known",
			 dn && *dn ? dn : "(unnamed)");
		free(dn);
		path_emit(b, why);
	}
}

static int path_trusted_first(const void *a, const void *b)
{
	const struct x509_path *x = a, *y = b;
	return (int)y->trusted - (int)x->trusted;
}

int x509_paths_build(struct x509_trust *t, gnutls_x509_crt_t leaf, const gnutls_x509_crt_t *pool,
		     size_t npool, struct x509_paths *out, char *err, size_t errlen)
{
	struct pathbuild b = {
		.t = t, .pool = pool, .npool = npool, .out = out, .err = err, .errlen = errlen
	};
	memset(out, 0, sizeof(*out));
	b.path[0] = leaf;
	b.src[0] = X509_SRC_LEAF;
	b.n = 1;
	b.anchor_at = -1;
	if (t)
		b.rc = anchors_load(&b);
	if (!b.rc)
		path_step(&b);
	if (b.rc) {
		x509_paths_clear(out);
		return b.rc;
	}
	/* Stable enough: the order within each group is the search order. */
	for (size_t i = 1; i < out->n; i++)
		for (size_t j = i; j > 0 && path_trusted_first(&out->v[j - 1], &out->v[j]) > 0;
		     j--) {
			struct x509_path tmp = out->v[j];
			out->v[j] = out->v[j - 1];
			out->v[j - 1] = tmp;
		}
	return 0;
}
