/* The fast path: a leaf checked against an intermediate validated before. */
#include "pki/x509.h"
#include "pki/x509_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static bool has_name_constraints(gnutls_x509_crt_t c)
{
	size_t size = 0;
	unsigned critical = 0;
	int g = gnutls_x509_crt_get_extension_by_oid(c, "2.5.29.30", 0, NULL, &size, &critical);
	return g != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE;
}

/* Remember intermediate @inter (validated->certs[1]), issued by anchor
 * @anchor of the list (validated->certs[2]), after a chain through it
 * verified. Name constraints would make the leaf's check depend on the
 * whole path: such intermediates are not remembered. */
void x509_issuer_remember(struct x509_trust *t, gnutls_x509_crt_t inter, gnutls_x509_crt_t anchor,
			  const struct x509_chain *validated)
{
	if (validated->n != 3 || has_name_constraints(inter) || has_name_constraints(anchor))
		return;
	const struct x509_cert_info *ii = &validated->certs[1], *ai = &validated->certs[2];
	pthread_mutex_lock(&t->lock);
	struct issuer_entry *e = &t->issuers[0];
	for (size_t i = 0; i < ISSUER_CACHE; i++) {
		struct issuer_entry *c = &t->issuers[i];
		if (c->crt && !memcmp(c->sha256, ii->sha256, 32))
			goto out; /* known */
		if (c->stamp < e->stamp)
			e = c; /* empty slots have stamp 0 */
	}
	x509_issuer_entry_clear(e);
	gnutls_datum_t d = { ii->der, (unsigned)ii->der_len };
	if (gnutls_x509_crt_init(&e->crt) < 0) {
		e->crt = NULL;
		goto out;
	}
	if (gnutls_x509_crt_import(e->crt, &d, GNUTLS_X509_FMT_DER) < 0 ||
	    x509_cert_copy(&e->info[0], ii) != 0 || x509_cert_copy(&e->info[1], ai) != 0) {
		x509_issuer_entry_clear(e);
		goto out;
	}
	memcpy(e->sha256, ii->sha256, 32);
	e->valid_from = ii->not_before > ai->not_before ? ii->not_before : ai->not_before;
	e->valid_until = ii->not_after < ai->not_after ? ii->not_after : ai->not_after;
	e->stamp = ++t->issuer_tick;
out:
	pthread_mutex_unlock(&t->lock);
}

int x509_validate_fast(struct x509_trust *t, gnutls_x509_crt_t leaf,
		       const struct x509_cert_info *leaf_info, const uint8_t issuer_sha256[32],
		       const char *hostname, struct x509_chain *validated, struct x509_verdict *v,
		       char *err, size_t errlen)
{
	time_t now = time(NULL);
	struct issuer_entry *e = NULL;

	memset(v, 0, sizeof(*v));
	memset(validated, 0, sizeof(*validated));
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < ISSUER_CACHE && !e; i++)
		if (t->issuers[i].crt && !memcmp(t->issuers[i].sha256, issuer_sha256, 32))
			e = &t->issuers[i];
	/* Outside its window the verdict must come with x509_validate()'s reasons. */
	if (!e || now < e->valid_from || now > e->valid_until) {
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	e->stamp = ++t->issuer_tick;
	/* x509_validate() would pick the same path: no anchor issues the leaf
	 * directly, the leaf is not self-issued, and the intermediate (the
	 * first presented certificate after the leaf) is its issuer. The entry
	 * stays in place while the lock is held. */
	gnutls_x509_crt_t iss = NULL;
	bool copy = atomic_load(&t->copy_mode);
	int g = gnutls_x509_trust_list_get_issuer(t->tl, leaf, &iss, copy ? GNUTLS_TL_GET_COPY : 0);
	if (!copy && (g < 0 || !iss)) { /* as x509_validate() asks */
		iss = NULL;
		g = gnutls_x509_trust_list_get_issuer(t->tl, leaf, &iss, GNUTLS_TL_GET_COPY);
		copy = true;
	}
	if (g == 0 && iss && copy)
		gnutls_x509_crt_deinit(iss);
	unsigned status = 1;
	/* x509_self_issued() is costly when the names differ (GnuTLS then compares
	 * them as strings): equal strings are necessary for it to hold. */
	bool self = leaf_info->subject && leaf_info->issuer &&
		    !strcmp(leaf_info->subject, leaf_info->issuer) && x509_self_issued(leaf);
	if (!(g == 0 && iss) && !self && gnutls_x509_crt_check_issuer(leaf, e->crt) &&
	    gnutls_x509_crt_verify(leaf, &e->crt, 1, 0, &status) < 0)
		status = 1;
	if (status != 0) {
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	int rc = 0;
	validated->certs = calloc(3, sizeof(*validated->certs));
	if (!validated->certs || x509_cert_copy(&validated->certs[0], leaf_info) != 0 ||
	    x509_cert_copy(&validated->certs[1], &e->info[0]) != 0 ||
	    x509_cert_copy(&validated->certs[2], &e->info[1]) != 0) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		validated->n = 3;
		x509_chain_clear(validated);
	} else {
		validated->n = 3;
	}
	pthread_mutex_unlock(&t->lock);
	if (rc)
		return rc;
	v->trusted = true;
	v->name_ok = !hostname || gnutls_x509_crt_check_hostname2(leaf, hostname, 0) != 0;
	for (size_t i = 0; i < validated->n; i++)
		if (now > validated->certs[i].not_after || now < validated->certs[i].not_before)
			v->expired = true;
	return 1;
}
