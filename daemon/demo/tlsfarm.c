#include "demo/tlsfarm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"

#define FILLERS_MANY   38
#define FILLERS_HUGE   40
#define FILLER_PAD     8192
#define MAX_CHAIN      (2 + FILLERS_HUGE)
#define SLOW_MAX_BYTES 600

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
	size_t nretired;
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
	int g;

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
			g = GNUTLS_E_MEMORY_ERROR;
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
	if (gnutls_x509_crt_init(&fresh) < 0 ||
	    gnutls_x509_crt_import(fresh, &der, GNUTLS_X509_FMT_DER) < 0) {
		gnutls_free(der.data);
		if (fresh)
			gnutls_x509_crt_deinit(fresh);
		goto fail;
	}
	gnutls_free(der.data);
	gnutls_x509_crt_deinit(c);
	*out = fresh;
	return 0;
fail:
	gnutls_x509_crt_deinit(c);
	return -EIO;
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

static void endpoint_free_certs(struct endpoint *e)
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
	if (gnutls_privkey_init(&e->privkey) < 0 ||
	    gnutls_privkey_import_x509(e->privkey, key, GNUTLS_PRIVKEY_IMPORT_COPY) < 0 ||
	    gnutls_certificate_allocate_credentials(out) < 0)
		return -EIO;
	gnutls_certificate_set_retrieve_function2(*out, retrieve);
	return 0;
}

static void endpoint_free_long(struct endpoint *e)
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

/* (Re)build key, leaf, chain and credentials of @e. */
static int endpoint_build(struct tlsfarm *f, struct endpoint *e,
			  gnutls_certificate_credentials_t *cred)
{
	struct tlsfarm_pki *p = f->pki;
	time_t now = time(NULL);
	time_t nb = now - 86400, na = now + 90 * 86400;
	const char *dns = e->name;
	gnutls_x509_crt_t leaf = NULL;
	gnutls_x509_privkey_t key = NULL;
	int rc;

	if (e->flavor == TLSFARM_EXPIRED) {
		nb = now - 400 * 86400;
		na = now - 86400;
	}
	if (e->flavor == TLSFARM_EXPIRING) {
		nb = now - 85 * 86400;
		na = now + 5 * 86400;
	}
	if (e->leaf_not_after) {
		na = e->leaf_not_after;
		nb = na - 90 * 86400 < now - 86400 ? na - 90 * 86400 : now - 86400;
	}
	if (e->flavor == TLSFARM_WRONG_NAME)
		dns = "wrong.invalid";
	bool dual = e->keytype == TLSFARM_KEY_DUAL;
	gnutls_x509_crt_t leaf2 = NULL;
	gnutls_x509_privkey_t key2 = NULL;
	if ((rc = gen_key(&key, dual ? TLSFARM_KEY_ECDSA_P256 : e->keytype)) != 0)
		return rc;
	bool self = e->flavor == TLSFARM_SELF_SIGNED;
	rc = make_cert(&leaf, key, dns, dns, false, self ? NULL : p->inter,
		       self ? NULL : p->int_key, nb, na, atomic_fetch_add(&p->serial, 1), 0);
	if (rc) {
		gnutls_x509_privkey_deinit(key);
		return rc;
	}
	/* RSA-2048 key generation costs ~50 ms: dual endpoints share one RSA
	 * key (each its own copy and its own leaf certificate). */
	if (dual && !f->dual_key && (rc = gen_key(&f->dual_key, TLSFARM_KEY_RSA2048)) != 0) {
		gnutls_x509_crt_deinit(leaf);
		gnutls_x509_privkey_deinit(key);
		return rc;
	}
	if (dual && (gnutls_x509_privkey_init(&key2) < 0 ||
		     gnutls_x509_privkey_cpy(key2, f->dual_key) < 0)) {
		if (key2)
			gnutls_x509_privkey_deinit(key2);
		key2 = NULL;
		rc = -ENOMEM;
	}
	if (dual &&
	    (rc != 0 || (rc = make_cert(&leaf2, key2, dns, dns, false, self ? NULL : p->inter,
					self ? NULL : p->int_key, nb, na,
					atomic_fetch_add(&p->serial, 1), 0)) != 0)) {
		if (key2)
			gnutls_x509_privkey_deinit(key2);
		gnutls_x509_crt_deinit(leaf);
		gnutls_x509_privkey_deinit(key);
		return rc;
	}
	gnutls_x509_crt_t chain[MAX_CHAIN];
	size_t n = 0;
	chain[n++] = leaf;
	if (e->flavor != TLSFARM_LEAF_ONLY && !self)
		chain[n++] = p->inter;
	if (e->flavor == TLSFARM_MANY_CERTS || e->flavor == TLSFARM_HUGE_CHAIN) {
		bool huge = e->flavor == TLSFARM_HUGE_CHAIN;
		if ((rc = fillers(f, huge)) != 0)
			goto fail;
		for (size_t i = 0; i < (huge ? FILLERS_HUGE : FILLERS_MANY); i++)
			chain[n++] = huge ? f->fill_huge[i] : f->fill_many[i];
	}
	gnutls_certificate_credentials_t c = NULL;
	if (e->flavor == TLSFARM_MANY_CERTS || e->flavor == TLSFARM_HUGE_CHAIN) {
		if (e->pcerts) {
			rc = -ENOTSUP; /* no rotation of over-long chains */
			goto fail;
		}
		if ((rc = long_chain_cred(e, chain, n, key, &c)) != 0) {
			endpoint_free_long(e);
			if (c)
				gnutls_certificate_free_credentials(c);
			goto fail;
		}
	} else {
		/* A dual endpoint's RSA chain: the same but for the leaf. */
		gnutls_x509_crt_t chain2[MAX_CHAIN];
		memcpy(chain2, chain, n * sizeof(chain[0]));
		chain2[0] = leaf2;
		if (gnutls_certificate_allocate_credentials(&c) < 0 ||
		    gnutls_certificate_set_x509_key(c, chain, (int)n, key) < 0 ||
		    (dual && gnutls_certificate_set_x509_key(c, chain2, (int)n, key2) < 0)) {
			if (c)
				gnutls_certificate_free_credentials(c);
			rc = -EIO;
			goto fail;
		}
	}
	pthread_mutex_lock(&f->lock);
	endpoint_free_certs(e);
	memcpy(e->chain, chain, n * sizeof(chain[0]));
	e->nchain = n;
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

static int ep_cmp(const void *a, const void *b)
{
	return strcmp((*(struct endpoint *const *)a)->name, (*(struct endpoint *const *)b)->name);
}

static struct endpoint *ep_find(struct tlsfarm *f, const char *name)
{
	if (f->sorted) {
		struct endpoint key, *kp = &key;
		snprintf(key.name, sizeof(key.name), "%s", name);
		struct endpoint **r = bsearch(&kp, f->eps, f->neps, sizeof(*f->eps), ep_cmp);
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
	if (ep_find(f, name))
		return util_err(err, errlen, -EEXIST, "%s: already in the farm", name);
	if (f->neps == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 16;
		struct endpoint **nv = realloc(f->eps, nc * sizeof(*nv));
		if (!nv)
			return util_err(err, errlen, -ENOMEM, "out of memory");
		f->eps = nv;
		f->cap = nc;
	}
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
	struct endpoint *e = ep_find(f, name);
	gnutls_certificate_credentials_t c = NULL;
	if (!e)
		return -ENOENT;
	int rc = endpoint_build(f, e, &c);
	if (rc)
		return rc;
	pthread_mutex_lock(&f->lock);
	/* Sessions in flight may still use the old credentials: retire them. */
	gnutls_certificate_credentials_t *nr = realloc(f->retired, (f->nretired + 1) * sizeof(*nr));
	if (nr) {
		f->retired = nr;
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
	struct endpoint *e = ep_find(f, name);
	if (!e)
		return -ENOENT;
	if (leaf_not_after)
		e->leaf_not_after = leaf_not_after;
	return tlsfarm_rotate(f, name);
}

int tlsfarm_chain_pins(struct tlsfarm *f, const char *name, uint8_t (*pins)[32], size_t max)
{
	struct endpoint *e = ep_find(f, name);
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
	struct endpoint *e = ep_find(f, name);
	if (!e)
		return -ENOENT;
	pthread_mutex_lock(&f->lock);
	int rc = e->leaf2 ? crt_pin(e->leaf2, pin) : -ENOENT;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int tlsfarm_write_chain(struct tlsfarm *f, const char *name, const char *path)
{
	struct endpoint *e = ep_find(f, name);
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

/* ---- serving ---- */

static void conn_close(struct conn *c)
{
	struct fthread *th = c->th;
	if (c->s)
		gnutls_deinit(c->s);
	/* Deregister explicitly: close() alone leaves the registration alive while
	 * a forked child (popen in tests, spawned tools) still holds the file, and
	 * a later event would then carry this freed pointer. */
	(void)epoll_ctl(th->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		th->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

static void conn_want(struct conn *c, uint32_t ev)
{
	if (c->events == ev)
		return;
	struct epoll_event e = { .events = ev, .data.ptr = c };
	if (epoll_ctl(c->th->ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

static int post_hello(gnutls_session_t s)
{
	struct conn *c = gnutls_session_get_ptr(s);
	struct tlsfarm *f = c->th->f;
	char name[256];
	size_t len = sizeof(name);
	unsigned type = 0;
	struct endpoint *e = NULL;
	if (gnutls_server_name_get(s, name, &len, &type, 0) == 0 && type == GNUTLS_NAME_DNS)
		e = ep_find(f, name);
	if (!e)
		e = f->eps[0];
	c->ep = e;
	pthread_mutex_lock(&f->lock);
	int g = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, e->cred);
	pthread_mutex_unlock(&f->lock);
	return g;
}

static void tls_begin(struct conn *c)
{
	struct tlsfarm *f = c->th->f;
	if (gnutls_init(&c->s, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL |
				       GNUTLS_NO_TICKETS) < 0) {
		c->s = NULL;
		conn_close(c);
		return;
	}
	gnutls_session_set_ptr(c->s, c);
	gnutls_priority_set(c->s, f->prio);
	pthread_mutex_lock(&f->lock);
	gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, f->eps[0]->cred);
	pthread_mutex_unlock(&f->lock);
	gnutls_handshake_set_post_client_hello_function(c->s, post_hello);
	gnutls_handshake_set_max_packet_length(c->s, 0); /* huge chains are the point */
	gnutls_transport_set_int(c->s, c->fd);
	c->st = C_TLS;
}

static void tls_step(struct conn *c)
{
	int g;
	do {
		g = gnutls_handshake(c->s);
	} while (g < 0 && g != GNUTLS_E_AGAIN && !gnutls_error_is_fatal(g));
	if (g == 0) {
		atomic_fetch_add(&c->th->f->handshakes, 1);
		conn_close(c);
	} else if (g == GNUTLS_E_AGAIN) {
		conn_want(c, gnutls_record_get_direction(c->s) ? EPOLLOUT : EPOLLIN);
	} else {
		conn_close(c);
	}
}

/* Read what the client sent; -1 on EOF/error (connection closed). */
static int drain(struct conn *c)
{
	char buf[4096];
	for (;;) {
		ssize_t r = read(c->fd, buf, sizeof(buf));
		if (r > 0) {
			c->got_hello = true;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		return -1;
	}
}

static void hostile_io(struct conn *c)
{
	static const char garbage[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
				      "\x00\xff\x13\x37 this is not TLS \x01\x02\x03";
	/* A handshake record header announcing 1000 bytes, then 9 of them. */
	static const uint8_t partial[] = { 0x16, 0x03, 0x03, 0x03, 0xe8, 0x02, 0x00,
					   0x03, 0xe4, 0x03, 0x03, 0xaa, 0xbb, 0xcc };
	if (drain(c) < 0) {
		conn_close(c);
		return;
	}
	if (!c->got_hello)
		return;
	switch (c->st) {
	case C_GARBAGE:
		if (write(c->fd, garbage, sizeof(garbage) - 1) < 0) {
			conn_close(c);
			return;
		}
		c->st = C_DRAIN;
		break;
	case C_CLOSE_MID:
		(void)!write(c->fd, partial, sizeof(partial));
		conn_close(c);
		break;
	case C_SLOW:
		if (!c->wake_ms)
			c->wake_ms = util_mono_ms() + 1000;
		break;
	default:
		break;
	}
}

static void slow_tick(struct conn *c, int64_t now)
{
	static const uint8_t rec[] = { 0x16, 0x03, 0x03, 0x40, 0x00 };
	uint8_t b = c->slow_sent < (int)sizeof(rec) ? rec[c->slow_sent] : 0x42;
	if (c->slow_sent >= SLOW_MAX_BYTES || write(c->fd, &b, 1) != 1) {
		conn_close(c);
		return;
	}
	c->slow_sent++;
	c->wake_ms = now + 1000;
}

static void conn_start(struct conn *c)
{
	switch (c->th->f->o.mode) {
	case TLSFARM_TLS:
		tls_begin(c);
		return;
	case TLSFARM_SILENT:
		c->st = C_SILENT;
		break;
	case TLSFARM_GARBAGE:
		c->st = C_GARBAGE;
		break;
	case TLSFARM_CLOSE_MID:
		c->st = C_CLOSE_MID;
		break;
	case TLSFARM_SLOW:
		c->st = C_SLOW;
		break;
	}
	hostile_io(c);
}

static void conn_io(struct conn *c)
{
	switch (c->st) {
	case C_DELAY:
		break; /* the client's bytes wait until the delay passes */
	case C_TLS:
		tls_step(c);
		break;
	default:
		hostile_io(c);
		break;
	}
}

static void accept_all(struct fthread *th)
{
	for (;;) {
		int fd = accept4(th->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->th = th;
		c->events = EPOLLIN;
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(th->ep, EPOLL_CTL_ADD, fd, &e) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = th->conns;
		if (th->conns)
			th->conns->prev = c;
		th->conns = c;
		int delay = atomic_load(&th->f->delay_ms);
		if (delay > 0) {
			c->st = C_DELAY;
			c->wake_ms = util_mono_ms() + delay;
		} else {
			conn_start(c);
		}
	}
}

static void *thread_main(void *arg)
{
	struct fthread *th = arg;
	struct epoll_event evs[256];
	while (!atomic_load(&th->f->stop)) {
		int64_t now = util_mono_ms(), next = now + 1000;
		for (struct conn *c = th->conns; c; c = c->next)
			if (c->wake_ms && c->wake_ms < next)
				next = c->wake_ms;
		int n = epoll_wait(th->ep, evs, 256, (int)(next > now ? next - now : 0));
		for (int i = 0; i < n; i++) {
			void *ptr = evs[i].data.ptr;
			if (ptr == &th->lfd)
				accept_all(th);
			else if (ptr == &th->evfd)
				break;
			else
				conn_io(ptr);
		}
		now = util_mono_ms();
		for (struct conn *c = th->conns, *nx; c; c = nx) {
			nx = c->next;
			if (!c->wake_ms || c->wake_ms > now)
				continue;
			if (c->st == C_DELAY) {
				c->wake_ms = 0;
				conn_start(c);
			} else if (c->st == C_SLOW) {
				slow_tick(c, now);
			}
		}
	}
	while (th->conns)
		conn_close(th->conns);
	return NULL;
}

static int listen_socket(struct tlsfarm *f, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, f->address, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(f->port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, f->address, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(f->port);
		sl = sizeof(*s6);
	} else {
		return util_err(err, errlen, -EINVAL, "%s: not a numeric address", f->address);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0)
		return util_err(err, errlen, -errno, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 4096) < 0) {
		int e = errno;
		close(fd);
		return util_err(err, errlen, -e, "listen on %s:%u: %s", f->address, f->port,
				strerror(e));
	}
	if (f->port == 0) {
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
			f->port = ntohs(ss.ss_family == AF_INET6 ? s6->sin6_port : s4->sin_port);
	}
	return fd;
}

struct tlsfarm *tlsfarm_new(struct tlsfarm_pki *pki, const struct tlsfarm_opts *opts, char *err,
			    size_t errlen)
{
	struct tlsfarm *f = calloc(1, sizeof(*f));
	if (!f) {
		util_err(err, errlen, 0, "out of memory");
		return NULL;
	}
	f->pki = pki;
	if (opts)
		f->o = *opts;
	snprintf(f->address, sizeof(f->address), "%s", f->o.address ? f->o.address : "127.0.0.1");
	f->port = f->o.port;
	f->nth = f->o.threads > 0 ? f->o.threads : 1;
	atomic_init(&f->delay_ms, f->o.delay_ms);
	pthread_mutex_init(&f->lock, NULL);
	if (gnutls_priority_init(&f->prio, "NORMAL", NULL) < 0) {
		util_err(err, errlen, 0, "priority init failed");
		goto fail;
	}
	f->th = calloc((size_t)f->nth, sizeof(*f->th));
	if (!f->th) {
		util_err(err, errlen, 0, "out of memory");
		goto fail;
	}
	for (int i = 0; i < f->nth; i++)
		f->th[i].ep = f->th[i].evfd = f->th[i].lfd = -1;
	for (int i = 0; i < f->nth; i++) {
		struct fthread *th = &f->th[i];
		th->f = f;
		th->lfd = listen_socket(f, err, errlen);
		if (th->lfd < 0)
			goto fail;
	}
	return f;
fail:
	tlsfarm_free(f);
	return NULL;
}

int tlsfarm_start(struct tlsfarm *f)
{
	if ((f->neps == 0 && f->o.mode == TLSFARM_TLS) || f->sorted)
		return -EINVAL;
	if (f->neps)
		qsort(f->eps, f->neps, sizeof(*f->eps), ep_cmp);
	f->sorted = true;
	for (int i = 0; i < f->nth; i++) {
		struct fthread *th = &f->th[i];
		th->ep = epoll_create1(EPOLL_CLOEXEC);
		th->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (th->ep < 0 || th->evfd < 0)
			return -errno;
		struct epoll_event e1 = { .events = EPOLLIN, .data.ptr = &th->lfd };
		struct epoll_event e2 = { .events = EPOLLIN, .data.ptr = &th->evfd };
		if (epoll_ctl(th->ep, EPOLL_CTL_ADD, th->lfd, &e1) < 0 ||
		    epoll_ctl(th->ep, EPOLL_CTL_ADD, th->evfd, &e2) < 0)
			return -errno;
		if (pthread_create(&th->tid, NULL, thread_main, th) != 0)
			return -EAGAIN;
		th->started = true;
	}
	return 0;
}

void tlsfarm_set_delay(struct tlsfarm *f, int delay_ms)
{
	atomic_store(&f->delay_ms, delay_ms > 0 ? delay_ms : 0);
}

uint16_t tlsfarm_port(const struct tlsfarm *f)
{
	return f->port;
}

uint64_t tlsfarm_handshakes(const struct tlsfarm *f)
{
	return atomic_load(&((struct tlsfarm *)f)->handshakes);
}

void tlsfarm_free(struct tlsfarm *f)
{
	if (!f)
		return;
	atomic_store(&f->stop, true);
	for (int i = 0; f->th && i < f->nth; i++) {
		struct fthread *th = &f->th[i];
		if (th->started) {
			uint64_t one = 1;
			(void)!write(th->evfd, &one, sizeof(one));
			pthread_join(th->tid, NULL);
		}
		if (th->ep >= 0)
			close(th->ep);
		if (th->evfd >= 0)
			close(th->evfd);
		if (th->lfd >= 0)
			close(th->lfd);
	}
	free(f->th);
	for (size_t i = 0; i < f->neps; i++) {
		endpoint_free_certs(f->eps[i]);
		endpoint_free_long(f->eps[i]);
		gnutls_certificate_free_credentials(f->eps[i]->cred);
		free(f->eps[i]);
	}
	free(f->eps);
	for (size_t i = 0; i < f->nretired; i++)
		gnutls_certificate_free_credentials(f->retired[i]);
	free(f->retired);
	for (size_t i = 0; f->have_many && i < FILLERS_MANY; i++)
		gnutls_x509_crt_deinit(f->fill_many[i]);
	for (size_t i = 0; f->have_huge && i < FILLERS_HUGE; i++)
		gnutls_x509_crt_deinit(f->fill_huge[i]);
	if (f->fill_key)
		gnutls_x509_privkey_deinit(f->fill_key);
	if (f->dual_key)
		gnutls_x509_privkey_deinit(f->dual_key);
	if (f->prio)
		gnutls_priority_deinit(f->prio);
	pthread_mutex_destroy(&f->lock);
	free(f);
}
