/* The trust store and the full chain validation (x509_validate). */
#include "pki/x509.h"
#include "pki/x509_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define MAX_BUILD 16 /* issuer steps when completing a chain */

/* ---- trust ---- */

void x509_issuer_entry_clear(struct issuer_entry *e)
{
	if (e->crt)
		gnutls_x509_crt_deinit(e->crt);
	x509_cert_info_clear(&e->info[0]);
	x509_cert_info_clear(&e->info[1]);
	memset(e, 0, sizeof(*e));
}

void x509_trust_free(struct x509_trust *t)
{
	if (!t)
		return;
	if (t->tl)
		gnutls_x509_trust_list_deinit(t->tl, 1);
	for (size_t i = 0; i < t->nextra; i++)
		gnutls_x509_crt_deinit(t->extra[i]);
	free(t->extra);
	for (size_t i = 0; i < t->nanchors; i++)
		x509_cert_info_clear(&t->anchors[i].info);
	for (size_t i = 0; i < ISSUER_CACHE; i++)
		x509_issuer_entry_clear(&t->issuers[i]);
	for (size_t i = 0; i < t->nanchor_list; i++)
		gnutls_x509_crt_deinit(t->anchor_list[i]);
	free(t->anchor_list);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

bool x509_self_issued(gnutls_x509_crt_t c)
{
	return gnutls_x509_crt_check_issuer(c, c) != 0;
}

static int trust_load_file(struct x509_trust *t, const char *path, char *err, size_t errlen)
{
	struct x509_chain ch;
	gnutls_x509_crt_t *crts = NULL;
	size_t nself = 0, nanch = 0;
	int rc = x509_chain_load_file(path, 100000, &ch, err, errlen);
	if (rc)
		return rc;
	crts = calloc(ch.n, sizeof(*crts));
	t->extra = calloc(ch.n, sizeof(*t->extra));
	if (!crts || !t->extra) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ch.n; i++) {
		gnutls_datum_t d = { ch.certs[i].der, (unsigned)ch.certs[i].der_len };
		if (gnutls_x509_crt_init(&crts[i]) < 0) {
			crts[i] = NULL;
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
			goto out;
		}
		if (gnutls_x509_crt_import(crts[i], &d, GNUTLS_X509_FMT_DER) < 0) {
			rc = util_err(err, errlen, -EINVAL, "%s: certificate %zu unusable", path,
				      i + 1);
			goto out;
		}
		nself += x509_self_issued(crts[i]);
	}
	gnutls_x509_crt_t *anch = calloc(ch.n, sizeof(*anch));
	if (!anch) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ch.n; i++) {
		if (nself == 0 || x509_self_issued(crts[i]))
			anch[nanch++] = crts[i];
		else
			t->extra[t->nextra++] = crts[i];
		crts[i] = NULL;
	}
	int g = gnutls_x509_trust_list_add_cas(t->tl, anch, (unsigned)nanch, 0);
	free(anch);
	if (g < 0)
		rc = util_err(err, errlen, -EINVAL, "%s: %s", path, gnutls_strerror(g));
out:
	if (crts)
		for (size_t i = 0; i < ch.n; i++)
			if (crts[i])
				gnutls_x509_crt_deinit(crts[i]);
	free(crts);
	x509_chain_clear(&ch);
	return rc;
}

struct x509_trust *x509_trust_new(const char *ca_file, char *err, size_t errlen)
{
	struct x509_trust *t = calloc(1, sizeof(*t));
	if (!t || gnutls_x509_trust_list_init(&t->tl, 0) < 0) {
		util_err(err, errlen, 0, "out of memory");
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	if (ca_file && *ca_file) {
		if (trust_load_file(t, ca_file, err, errlen) != 0)
			goto fail;
	} else {
		int g = gnutls_x509_trust_list_add_system_trust(t->tl, 0, 0);
		if (g < 0) {
			util_err(err, errlen, 0, "cannot load the system trust store: %s",
				 gnutls_strerror(g));
			goto fail;
		}
	}
	return t;
fail:
	x509_trust_free(t);
	return NULL;
}

/* The parsed form of anchor @crt (owned by the trust list), from the cache. */
static int anchor_info(struct x509_trust *t, gnutls_x509_crt_t crt, struct x509_cert_info *out,
		       char *err, size_t errlen)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nanchors && rc == -ENOENT; i++)
		if (t->anchors[i].crt == crt)
			rc = x509_cert_copy(out, &t->anchors[i].info);
	if (rc == -ENOENT) {
		rc = x509_cert_from_crt(crt, out, err, errlen);
		if (rc == 0 && t->nanchors < ANCHOR_CACHE &&
		    x509_cert_copy(&t->anchors[t->nanchors].info, out) == 0)
			t->anchors[t->nanchors++].crt = crt;
	} else if (rc) {
		util_err(err, errlen, rc, "out of memory");
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* A chain being completed from a leaf: the certificates and where each came from. */
struct built_chain {
	gnutls_x509_crt_t crt[MAX_BUILD + 1];
	/* index in the presented chain, -1 (a copy, or an intermediate of the
	 * CA file) or -2 (the list's own crt) */
	int from[MAX_BUILD + 1];
	bool owned[MAX_BUILD + 1]; /* a copy to free */
	size_t n;
};

/* The issuer of @cur among the anchors of @t: 1 found (added to @b, unless
 * @cur is that anchor itself), 0 none. */
static int build_from_anchors(struct x509_trust *t, gnutls_x509_crt_t cur, struct built_chain *b)
{
	gnutls_x509_crt_t iss = NULL;
	bool copy = atomic_load(&t->copy_mode);
	int g = gnutls_x509_trust_list_get_issuer(t->tl, cur, &iss, copy ? GNUTLS_TL_GET_COPY : 0);
	if (!copy && (g < 0 || !iss)) {
		iss = NULL;
		g = gnutls_x509_trust_list_get_issuer(t->tl, cur, &iss, GNUTLS_TL_GET_COPY);
		if (g == 0 && iss) {
			copy = true;
			atomic_store(&t->copy_mode, true);
		}
	}
	if (!(g == 0 && iss))
		return 0;
	if (gnutls_x509_crt_equals(iss, cur)) {
		if (copy)
			gnutls_x509_crt_deinit(iss);
	} else {
		b->owned[b->n] = copy;
		b->from[b->n] = copy ? -1 : -2; /* -2: the list's own crt */
		b->crt[b->n++] = iss;
	}
	return 1;
}

/* Complete @presented (@n of them, leaf first) into @b: issuers are searched
 * in the anchors, then in the presented certificates, then in the CA file's
 * intermediates. */
static void build_chain(struct x509_trust *t, gnutls_x509_crt_t *presented, size_t n,
			struct built_chain *b)
{
	bool used_p[X509_MAX_CHAIN] = { false }, used_e[64] = { false };

	b->from[b->n] = 0;
	b->crt[b->n++] = presented[0];
	used_p[0] = true;
	while (b->n < MAX_BUILD) {
		gnutls_x509_crt_t cur = b->crt[b->n - 1];
		if (build_from_anchors(t, cur, b) || x509_self_issued(cur))
			break;
		bool found = false;
		for (size_t i = 1; i < n && !found; i++) {
			if (!used_p[i] && gnutls_x509_crt_check_issuer(cur, presented[i])) {
				used_p[i] = true;
				b->from[b->n] = (int)i;
				b->crt[b->n++] = presented[i];
				found = true;
			}
		}
		for (size_t i = 0; i < t->nextra && i < ARRAY_SIZE(used_e) && !found; i++) {
			if (!used_e[i] && gnutls_x509_crt_check_issuer(cur, t->extra[i])) {
				used_e[i] = true;
				b->from[b->n] = -1;
				b->crt[b->n++] = t->extra[i];
				found = true;
			}
		}
		if (!found)
			break;
	}
}

/* Verify @b against the anchors of @t at the current time and match the leaf
 * against @hostname: fills @v but for `expired`. */
static void verify_built(const struct x509_trust *t, struct built_chain *b, const char *hostname,
			 struct x509_verdict *v)
{
	unsigned status = 0;
	int g = gnutls_x509_trust_list_verify_crt2(t->tl, b->crt, (unsigned)b->n, NULL, 0, 0,
						   &status, NULL);
	if (g < 0) {
		status = GNUTLS_CERT_INVALID;
		snprintf(v->reason, sizeof(v->reason), "%s", gnutls_strerror(g));
	}
	v->status = status;
	v->trusted = status == 0;
	if (!v->trusted && !v->reason[0]) {
		gnutls_datum_t out = { NULL, 0 };
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out,
								 0) >= 0 &&
		    out.data)
			snprintf(v->reason, sizeof(v->reason), "%.*s", (int)out.size, out.data);
		gnutls_free(out.data);
	}
	v->name_ok = !hostname || gnutls_x509_crt_check_hostname2(b->crt[0], hostname, 0) != 0;
}

/* The parsed certificates of @b into @validated (presented ones copied from
 * @presented_info when given, anchors from the cache); marks @v expired when
 * one is outside its validity now. 0 or a negative errno (@validated empty). */
static int validated_fill(struct x509_trust *t, const struct built_chain *b,
			  const struct x509_chain *presented_info, struct x509_chain *validated,
			  struct x509_verdict *v, char *err, size_t errlen)
{
	int rc = 0;
	validated->certs = calloc(b->n, sizeof(*validated->certs));
	if (!validated->certs)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	time_t now = time(NULL);
	for (size_t i = 0; i < b->n; i++) {
		int from = b->from[i];
		if (presented_info && from >= 0 && (size_t)from < presented_info->n) {
			rc = x509_cert_copy(&validated->certs[i], &presented_info->certs[from]);
			if (rc)
				util_err(err, errlen, rc, "out of memory");
		} else if (from == -2) {
			rc = anchor_info(t, b->crt[i], &validated->certs[i], err, errlen);
		} else {
			rc = x509_cert_from_crt(b->crt[i], &validated->certs[i], err, errlen);
		}
		if (rc) {
			x509_chain_clear(validated);
			return rc;
		}
		validated->n++;
		if (now > validated->certs[i].not_after || now < validated->certs[i].not_before)
			v->expired = true;
	}
	return 0;
}

int x509_validate(struct x509_trust *t, gnutls_x509_crt_t *presented, size_t n,
		  const struct x509_chain *presented_info, const char *hostname,
		  struct x509_chain *validated, struct x509_verdict *v, char *err, size_t errlen)
{
	struct built_chain b = { .n = 0 };

	memset(v, 0, sizeof(*v));
	memset(validated, 0, sizeof(*validated));
	if (n == 0)
		return util_err(err, errlen, -EINVAL, "empty chain");
	if (n > X509_MAX_CHAIN)
		n = X509_MAX_CHAIN;
	build_chain(t, presented, n, &b);
	verify_built(t, &b, hostname, v);
	int rc = validated_fill(t, &b, presented_info, validated, v, err, errlen);
	if (rc == 0) {
		if (v->status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED))
			v->expired = true;
		if (v->status == 0 && b.n == 3 && b.from[1] >= 1 && b.from[2] == -2)
			x509_issuer_remember(t, b.crt[1], b.crt[2], validated);
	}
	for (size_t i = 0; i < b.n; i++)
		if (b.owned[i])
			gnutls_x509_crt_deinit(b.crt[i]);
	return rc;
}
