/* The farm's certificates: the shared root and intermediate, and each
 * endpoint's key, chain and credentials. */
#include "demo/tlsfarm.h"
#include "demo/tlsfarm_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "base/util.h"

/* ---- certificate generation ---- */

static int gen_key(gnutls_x509_privkey_t *k, enum tlsfarm_key kt)
{
	if (gnutls_x509_privkey_init(k) < 0)
		return -ENOMEM;
	int g = kt == TLSFARM_KEY_RSA2048
			? gnutls_x509_privkey_generate(*k, GNUTLS_PK_RSA, 2048, 0)
			: gnutls_x509_privkey_generate(
				  *k, GNUTLS_PK_ECDSA,
				  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (g < 0) {
		gnutls_x509_privkey_deinit(*k);
		*k = NULL;
		return -EIO;
	}
	return 0;
}

/* Sign a certificate for @key named @cn (and DNS SAN @dns when given),
 * issued by @issuer/@ikey, or self-signed when @issuer is NULL. */
static int make_cert(gnutls_x509_crt_t *out, gnutls_x509_privkey_t key, const char *cn,
		     const char *dns, bool ca, gnutls_x509_crt_t issuer, gnutls_x509_privkey_t ikey,
		     time_t nb, time_t na, unsigned serial, size_t pad)
{
	gnutls_x509_crt_t c = NULL;
	uint8_t ser[8], kid[64];
	size_t kl = sizeof(kid);
	int g, rc = -EIO;

	if (gnutls_x509_crt_init(&c) < 0)
		return -ENOMEM;
	for (int i = 0; i < 8; i++)
		ser[i] = (uint8_t)((uint64_t)serial >> (8 * (7 - i)));
	ser[0] = 0x01; /* positive, non-zero */
	if ((g = gnutls_x509_crt_set_version(c, 3)) < 0 ||
	    (g = gnutls_x509_crt_set_serial(c, ser, sizeof(ser))) < 0 ||
	    (g = gnutls_x509_crt_set_activation_time(c, nb)) < 0 ||
	    (g = gnutls_x509_crt_set_expiration_time(c, na)) < 0 ||
	    (g = gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn))) <
		    0 ||
	    (g = gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
					       "pinwatch test", 13)) < 0 ||
	    (g = gnutls_x509_crt_set_key(c, key)) < 0 ||
	    (g = gnutls_x509_crt_set_basic_constraints(c, ca, -1)) < 0 ||
	    (g = gnutls_x509_crt_set_key_usage(
		     c, ca ? GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN
			   : GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT)) < 0)
		goto fail;
	if (dns && (g = gnutls_x509_crt_set_subject_alt_name(c, GNUTLS_SAN_DNSNAME, dns,
							     strlen(dns), GNUTLS_FSAN_SET)) < 0)
		goto fail;
	if (!ca && (g = gnutls_x509_crt_set_key_purpose_oid(c, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0)
		goto fail;
	if ((g = gnutls_x509_crt_get_key_id(c, 0, kid, &kl)) < 0 ||
	    (g = gnutls_x509_crt_set_subject_key_id(c, kid, kl)) < 0)
		goto fail;
	if (pad) {
		uint8_t *buf = calloc(1, pad + 8);
		if (!buf) {
			rc = -ENOMEM;
			goto fail;
		}
		/* OCTET STRING of zeros under a private OID: size only. */
		buf[0] = 0x04;
		buf[1] = 0x82;
		buf[2] = (uint8_t)(pad >> 8);
		buf[3] = (uint8_t)pad;
		g = gnutls_x509_crt_set_extension_by_oid(c, "1.3.6.1.4.1.55555.1", buf, pad + 4, 0);
		free(buf);
		if (g < 0)
			goto fail;
	}
	if ((g = gnutls_x509_crt_sign2(c, issuer ? issuer : c, issuer ? ikey : key,
				       GNUTLS_DIG_SHA256, 0)) < 0)
		goto fail;
	/* A freshly built crt keeps stale cached fields (raw issuer DN):
	 * re-import it so that GnuTLS sees what the DER says. */
	gnutls_datum_t der = { NULL, 0 };
	gnutls_x509_crt_t fresh = NULL;
	if (gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_DER, &der) < 0)
		goto fail;
	if (gnutls_x509_crt_init(&fresh) < 0) {
		gnutls_free(der.data);
		rc = -ENOMEM;
		goto fail;
	}
	if (gnutls_x509_crt_import(fresh, &der, GNUTLS_X509_FMT_DER) < 0) {
		gnutls_free(der.data);
		gnutls_x509_crt_deinit(fresh);
		goto fail;
	}
	gnutls_free(der.data);
	gnutls_x509_crt_deinit(c);
	*out = fresh;
	return 0;
fail:
	gnutls_x509_crt_deinit(c);
	return rc;
}

struct tlsfarm_pki *tlsfarm_pki_new(char *err, size_t errlen)
{
	struct tlsfarm_pki *p = calloc(1, sizeof(*p));
	time_t now = time(NULL);
	if (!p) {
		util_err(err, errlen, 0, "out of memory");
		return NULL;
	}
	atomic_init(&p->serial, (unsigned)now);
	if (gen_key(&p->root_key, TLSFARM_KEY_RSA2048) ||
	    gen_key(&p->int_key, TLSFARM_KEY_RSA2048) ||
	    make_cert(&p->root, p->root_key, "pinwatch test root", NULL, true, NULL, NULL,
		      now - 86400, now + 3650 * 86400, atomic_fetch_add(&p->serial, 1), 0) ||
	    make_cert(&p->inter, p->int_key, "pinwatch test intermediate", NULL, true, p->root,
		      p->root_key, now - 86400, now + 1825 * 86400, atomic_fetch_add(&p->serial, 1),
		      0)) {
		util_err(err, errlen, 0, "generating the test root/intermediate failed");
		tlsfarm_pki_free(p);
		return NULL;
	}
	return p;
}

void tlsfarm_pki_free(struct tlsfarm_pki *p)
{
	if (!p)
		return;
	if (p->root)
		gnutls_x509_crt_deinit(p->root);
	if (p->inter)
		gnutls_x509_crt_deinit(p->inter);
	for (size_t i = 0; i < p->nreissued; i++)
		gnutls_x509_crt_deinit(p->reissued[i]);
	if (p->root_key)
		gnutls_x509_privkey_deinit(p->root_key);
	if (p->int_key)
		gnutls_x509_privkey_deinit(p->int_key);
	free(p);
}

int tlsfarm_pki_reissue_intermediate(struct tlsfarm_pki *p, time_t not_after)
{
	gnutls_x509_crt_t c = NULL;
	time_t now = time(NULL);
	if (p->nreissued == MAX_REISSUED)
		return -ENOSPC;
	int rc = make_cert(&c, p->int_key, "pinwatch test intermediate", NULL, true, p->root,
			   p->root_key, now - 86400, not_after, atomic_fetch_add(&p->serial, 1), 0);
	if (rc)
		return rc;
	p->reissued[p->nreissued++] = p->inter;
	p->inter = c;
	return 0;
}

static int write_pem(FILE *fp, gnutls_x509_crt_t c)
{
	gnutls_datum_t d = { NULL, 0 };
	if (gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_PEM, &d) < 0)
		return -EIO;
	size_t w = fwrite(d.data, 1, d.size, fp);
	gnutls_free(d.data);
	return w == d.size ? 0 : -EIO;
}

int tlsfarm_pki_write_ca(const struct tlsfarm_pki *pki, const char *path, bool with_intermediate)
{
	FILE *fp = fopen(path, "w");
	if (!fp)
		return -errno;
	int rc = write_pem(fp, pki->root);
	if (!rc && with_intermediate)
		rc = write_pem(fp, pki->inter);
	if (fclose(fp) != 0 && !rc)
		rc = -EIO;
	return rc;
}

static int crt_pin(gnutls_x509_crt_t c, uint8_t pin[32])
{
	size_t n = 32;
	return gnutls_x509_crt_get_key_id(c, GNUTLS_KEYID_USE_SHA256, pin, &n) < 0 || n != 32 ? -EIO
											      : 0;
}

int tlsfarm_pki_pin(const struct tlsfarm_pki *pki, int which, uint8_t pin[32])
{
	return crt_pin(which ? pki->inter : pki->root, pin);
}

/* ---- endpoints ---- */

static int fillers(struct tlsfarm *f, bool huge)
{
	gnutls_x509_crt_t *v = huge ? f->fill_huge : f->fill_many;
	size_t n = huge ? FILLERS_HUGE : FILLERS_MANY;
	bool *have = huge ? &f->have_huge : &f->have_many;
	time_t now = time(NULL);
	if (*have)
		return 0;
	if (!f->fill_key && gen_key(&f->fill_key, TLSFARM_KEY_ECDSA_P256))
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		char cn[64];
		snprintf(cn, sizeof(cn), "filler %zu", i);
		if (make_cert(&v[i], f->fill_key, cn, NULL, true, f->pki->inter, f->pki->int_key,
			      now - 86400, now + 86400 * 365, atomic_fetch_add(&f->pki->serial, 1),
			      huge ? FILLER_PAD : 0)) {
			for (size_t k = 0; k < i; k++)
				gnutls_x509_crt_deinit(v[k]);
			return -EIO;
		}
	}
	*have = true;
	return 0;
}

void tlsfarm_endpoint_free_certs(struct endpoint *e)
{
	if (e->nchain)
		gnutls_x509_crt_deinit(e->chain[0]);
	e->nchain = 0;
	if (e->key)
		gnutls_x509_privkey_deinit(e->key);
	e->key = NULL;
	if (e->leaf2)
		gnutls_x509_crt_deinit(e->leaf2);
	if (e->key2)
		gnutls_x509_privkey_deinit(e->key2);
	e->leaf2 = NULL;
	e->key2 = NULL;
}

static int retrieve(gnutls_session_t s, const gnutls_datum_t *req_ca, int nreq,
		    const gnutls_pk_algorithm_t *algos, int nalgos, gnutls_pcert_st **pcert,
		    unsigned *npcert, gnutls_privkey_t *key)
{
	(void)req_ca;
	(void)nreq;
	(void)algos;
	(void)nalgos;
	struct conn *c = gnutls_session_get_ptr(s);
	if (!c || !c->ep || !c->ep->pcerts)
		return -1;
	*pcert = c->ep->pcerts;
	*npcert = c->ep->npcerts;
	*key = c->ep->privkey;
	return 0;
}

static int long_chain_cred(struct endpoint *e, gnutls_x509_crt_t *chain, size_t n,
			   gnutls_x509_privkey_t key, gnutls_certificate_credentials_t *out)
{
	e->pcerts = calloc(n, sizeof(*e->pcerts));
	if (!e->pcerts)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (gnutls_pcert_import_x509(&e->pcerts[i], chain[i], 0) < 0)
			return -EIO;
		e->npcerts++;
	}
	if (gnutls_privkey_init(&e->privkey) < 0)
		return -ENOMEM;
	if (gnutls_privkey_import_x509(e->privkey, key, GNUTLS_PRIVKEY_IMPORT_COPY) < 0)
		return -EIO;
	if (gnutls_certificate_allocate_credentials(out) < 0)
		return -ENOMEM;
	gnutls_certificate_set_retrieve_function2(*out, retrieve);
	return 0;
}

void tlsfarm_endpoint_free_long(struct endpoint *e)
{
	for (unsigned i = 0; i < e->npcerts; i++)
		gnutls_pcert_deinit(&e->pcerts[i]);
	free(e->pcerts);
	e->pcerts = NULL;
	e->npcerts = 0;
	if (e->privkey)
		gnutls_privkey_deinit(e->privkey);
	e->privkey = NULL;
}

static bool long_chain(const struct endpoint *e)
{
	return e->flavor == TLSFARM_MANY_CERTS || e->flavor == TLSFARM_HUGE_CHAIN;
}

/* The validity of @e's next leaf, from @now. */
static void leaf_validity(const struct endpoint *e, time_t now, time_t *nb, time_t *na)
{
	*nb = now - 86400;
	*na = now + 90 * 86400;
	if (e->flavor == TLSFARM_EXPIRED) {
		*nb = now - 400 * 86400;
		*na = now - 86400;
	}
	if (e->flavor == TLSFARM_EXPIRING) {
		*nb = now - 85 * 86400;
		*na = now + 5 * 86400;
	}
	if (e->leaf_not_after) {
		*na = e->leaf_not_after;
		*nb = *na - 90 * 86400 < now - 86400 ? *na - 90 * 86400 : now - 86400;
	}
}

/* A leaf for @key named @dns, valid @nb to @na, issued by the intermediate
 * (with @self, self-signed). */
static int leaf_cert(struct tlsfarm_pki *p, gnutls_x509_crt_t *leaf, gnutls_x509_privkey_t key,
		     const char *dns, bool self, time_t nb, time_t na)
{
	return make_cert(leaf, key, dns, dns, false, self ? NULL : p->inter,
			 self ? NULL : p->int_key, nb, na, atomic_fetch_add(&p->serial, 1), 0);
}

/* The RSA leaf of a dual endpoint. RSA-2048 key generation costs ~50 ms:
 * dual endpoints share one RSA key (each its own copy and its own leaf
 * certificate). 0, or negative errno with *@leaf2 and *@key2 NULL. */
static int dual_leaf(struct tlsfarm *f, const char *dns, bool self, time_t nb, time_t na,
		     gnutls_x509_crt_t *leaf2, gnutls_x509_privkey_t *key2)
{
	int rc;
	if (!f->dual_key && (rc = gen_key(&f->dual_key, TLSFARM_KEY_RSA2048)) != 0)
		return rc;
	if (gnutls_x509_privkey_init(key2) < 0) {
		*key2 = NULL;
		rc = -ENOMEM;
	} else if (gnutls_x509_privkey_cpy(*key2, f->dual_key) < 0)
		rc = -EIO;
	else
		rc = leaf_cert(f->pki, leaf2, *key2, dns, self, nb, na);
	if (rc) {
		if (*key2)
			gnutls_x509_privkey_deinit(*key2);
		*key2 = NULL;
	}
	return rc;
}

/* The chain @e serves, @leaf first: the intermediate unless the leaf is
 * alone or self-signed, then the fillers of an over-long chain. The number
 * of certificates, or negative errno. */
static int endpoint_chain(struct tlsfarm *f, const struct endpoint *e, gnutls_x509_crt_t leaf,
			  gnutls_x509_crt_t chain[MAX_CHAIN])
{
	size_t n = 0;
	chain[n++] = leaf;
	if (e->flavor != TLSFARM_LEAF_ONLY && e->flavor != TLSFARM_SELF_SIGNED)
		chain[n++] = f->pki->inter;
	if (long_chain(e)) {
		bool huge = e->flavor == TLSFARM_HUGE_CHAIN;
		int rc = fillers(f, huge);
		if (rc)
			return rc;
		for (size_t i = 0; i < (huge ? FILLERS_HUGE : FILLERS_MANY); i++)
			chain[n++] = huge ? f->fill_huge[i] : f->fill_many[i];
	}
	return (int)n;
}

/* Credentials serving @chain (@n certificates) with @key and, for a dual
 * endpoint (@leaf2 not NULL), the same chain with @leaf2 and @key2.
 * Over-long chains are served by a retrieve callback. 0 or negative errno. */
static int endpoint_cred(struct endpoint *e, gnutls_x509_crt_t *chain, size_t n,
			 gnutls_x509_privkey_t key, gnutls_x509_crt_t leaf2,
			 gnutls_x509_privkey_t key2, gnutls_certificate_credentials_t *out)
{
	gnutls_certificate_credentials_t c = NULL;
	if (long_chain(e)) {
		if (e->pcerts)
			return -ENOTSUP; /* no rotation of over-long chains */
		int rc = long_chain_cred(e, chain, n, key, &c);
		if (rc) {
			tlsfarm_endpoint_free_long(e);
			if (c)
				gnutls_certificate_free_credentials(c);
			return rc;
		}
		*out = c;
		return 0;
	}
	/* A dual endpoint's RSA chain: the same but for the leaf. */
	gnutls_x509_crt_t chain2[MAX_CHAIN];
	memcpy(chain2, chain, n * sizeof(chain[0]));
	chain2[0] = leaf2;
	if (gnutls_certificate_allocate_credentials(&c) < 0)
		return -ENOMEM;
	if (gnutls_certificate_set_x509_key(c, chain, (int)n, key) < 0 ||
	    (leaf2 && gnutls_certificate_set_x509_key(c, chain2, (int)n, key2) < 0)) {
		gnutls_certificate_free_credentials(c);
		return -EIO;
	}
	*out = c;
	return 0;
}

/* (Re)build key, leaf, chain and credentials of @e. */
static int endpoint_build(struct tlsfarm *f, struct endpoint *e,
			  gnutls_certificate_credentials_t *cred)
{
	const char *dns = e->flavor == TLSFARM_WRONG_NAME ? "wrong.invalid" : e->name;
	bool dual = e->keytype == TLSFARM_KEY_DUAL, self = e->flavor == TLSFARM_SELF_SIGNED;
	gnutls_x509_crt_t leaf = NULL, leaf2 = NULL, chain[MAX_CHAIN];
	gnutls_x509_privkey_t key = NULL, key2 = NULL;
	gnutls_certificate_credentials_t c = NULL;
	time_t nb, na;
	int rc, n;

	leaf_validity(e, time(NULL), &nb, &na);
	if ((rc = gen_key(&key, dual ? TLSFARM_KEY_ECDSA_P256 : e->keytype)) != 0)
		return rc;
	if ((rc = leaf_cert(f->pki, &leaf, key, dns, self, nb, na)) != 0) {
		gnutls_x509_privkey_deinit(key);
		return rc;
	}
	if (dual && (rc = dual_leaf(f, dns, self, nb, na, &leaf2, &key2)) != 0)
		goto fail;
	if ((n = endpoint_chain(f, e, leaf, chain)) < 0) {
		rc = n;
		goto fail;
	}
	if ((rc = endpoint_cred(e, chain, (size_t)n, key, leaf2, key2, &c)) != 0)
		goto fail;
	pthread_mutex_lock(&f->lock);
	tlsfarm_endpoint_free_certs(e);
	memcpy(e->chain, chain, (size_t)n * sizeof(chain[0]));
	e->nchain = (size_t)n;
	e->key = key;
	e->leaf2 = leaf2;
	e->key2 = key2;
	*cred = c;
	pthread_mutex_unlock(&f->lock);
	return 0;
fail:
	gnutls_x509_crt_deinit(leaf);
	gnutls_x509_privkey_deinit(key);
	if (leaf2)
		gnutls_x509_crt_deinit(leaf2);
	if (key2)
		gnutls_x509_privkey_deinit(key2);
	return rc;
}

int tlsfarm_ep_cmp(const void *a, const void *b)
{
	return strcmp((*(struct endpoint *const *)a)->name, (*(struct endpoint *const *)b)->name);
}

struct endpoint *tlsfarm_ep_find(struct tlsfarm *f, const char *name)
{
	if (f->sorted) {
		struct endpoint key, *kp = &key;
		snprintf(key.name, sizeof(key.name), "%s", name);
		struct endpoint **r =
			bsearch(&kp, f->eps, f->neps, sizeof(*f->eps), tlsfarm_ep_cmp);
		return r ? *r : NULL;
	}
	for (size_t i = 0; i < f->neps; i++)
		if (!strcmp(f->eps[i]->name, name))
			return f->eps[i];
	return NULL;
}

int tlsfarm_add(struct tlsfarm *f, const char *name, enum tlsfarm_flavor flavor,
		enum tlsfarm_key key, char *err, size_t errlen)
{
	if (f->sorted)
		return util_err(err, errlen, -EBUSY, "farm already started");
	if (!name || !*name || strlen(name) >= sizeof(f->eps[0]->name))
		return util_err(err, errlen, -EINVAL, "bad endpoint name");
	if (tlsfarm_ep_find(f, name))
		return util_err(err, errlen, -EEXIST, "%s: already in the farm", name);
	if (ARRAY_RESERVE(f->eps, f->cap, f->neps + 1, ARRAY_MAX_ITEMS))
		return util_err(err, errlen, -ENOMEM, "out of memory");
	struct endpoint *e = calloc(1, sizeof(*e));
	if (!e)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->flavor = flavor;
	e->keytype = key;
	int rc = endpoint_build(f, e, &e->cred);
	if (rc) {
		free(e);
		return util_err(err, errlen, rc, "%s: generating its certificate failed", name);
	}
	f->eps[f->neps++] = e;
	return 0;
}

int tlsfarm_rotate(struct tlsfarm *f, const char *name)
{
	struct endpoint *e = tlsfarm_ep_find(f, name);
	gnutls_certificate_credentials_t c = NULL;
	if (!e)
		return -ENOENT;
	int rc = endpoint_build(f, e, &c);
	if (rc)
		return rc;
	pthread_mutex_lock(&f->lock);
	/* Sessions in flight may still use the old credentials: retire them. */
	if (!ARRAY_RESERVE(f->retired, f->retired_cap, f->nretired + 1, ARRAY_MAX_ITEMS)) {
		f->retired[f->nretired++] = e->cred;
		e->cred = c;
	} else {
		gnutls_certificate_free_credentials(c);
		rc = -ENOMEM;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int tlsfarm_renew(struct tlsfarm *f, const char *name, time_t leaf_not_after)
{
	struct endpoint *e = tlsfarm_ep_find(f, name);
	if (!e)
		return -ENOENT;
	if (leaf_not_after)
		e->leaf_not_after = leaf_not_after;
	return tlsfarm_rotate(f, name);
}

int tlsfarm_chain_pins(struct tlsfarm *f, const char *name, uint8_t (*pins)[32], size_t max)
{
	struct endpoint *e = tlsfarm_ep_find(f, name);
	int rc = 0;
	if (!e)
		return -ENOENT;
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < e->nchain && i < max && !rc; i++)
		rc = crt_pin(e->chain[i], pins[i]);
	int n = (int)e->nchain;
	pthread_mutex_unlock(&f->lock);
	return rc ? rc : n;
}

int tlsfarm_dual_rsa_pin(struct tlsfarm *f, const char *name, uint8_t pin[32])
{
	struct endpoint *e = tlsfarm_ep_find(f, name);
	if (!e)
		return -ENOENT;
	pthread_mutex_lock(&f->lock);
	int rc = e->leaf2 ? crt_pin(e->leaf2, pin) : -ENOENT;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int tlsfarm_write_chain(struct tlsfarm *f, const char *name, const char *path)
{
	struct endpoint *e = tlsfarm_ep_find(f, name);
	if (!e)
		return -ENOENT;
	FILE *fp = fopen(path, "w");
	if (!fp)
		return -errno;
	int rc = 0;
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < e->nchain && !rc; i++)
		rc = write_pem(fp, e->chain[i]);
	pthread_mutex_unlock(&f->lock);
	if (fclose(fp) != 0 && !rc)
		rc = -EIO;
	return rc;
}
