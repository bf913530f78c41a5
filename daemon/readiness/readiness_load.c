/* Builds the readiness engine's inputs from the store (schema/001_init.sql:
 * observations, chains, chain_certs, certificates) and runs check / what-if. */
#include "readiness/readiness_load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/readiness_src.h"
#include "base/util.h"
#include "pki/x509.h"
#include "readiness/readiness_gate.h"

/* ---- Chains ----------------------------------------------------------- */

static int nomem(char *err, size_t errlen)
{
	return util_err(err, errlen, -ENOMEM, "out of memory");
}

/* The store's certificates @src (@n, freed here) as the engine's chain @out. */
static int chain_take(struct rsrc_cert *src, size_t n, struct readiness_chain *out, char *err,
		      size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (n && !(out->certs = calloc(n, sizeof(*out->certs)))) {
		rsrc_certs_free(src, n);
		return nomem(err, errlen);
	}
	for (size_t i = 0; i < n; i++) {
		struct readiness_cert *c = &out->certs[out->ncerts++];
		memcpy(c->pin, src[i].pin, 32);
		memcpy(c->sha256, src[i].sha256, 32);
		c->subject = src[i].subject;
		c->issuer = src[i].issuer;
		src[i].subject = src[i].issuer = NULL;
		c->not_before = src[i].not_before;
		c->not_after = src[i].not_after;
		c->is_ca = src[i].is_ca;
	}
	rsrc_certs_free(src, n);
	return 0;
}

static int load_chain(struct db *db, int64_t chain_id, struct readiness_chain *out, char *err,
		      size_t errlen)
{
	struct rsrc_cert *certs;
	size_t n;
	memset(out, 0, sizeof(*out));
	int rc = rsrc_chain(db, chain_id, READINESS_MAX_CHAIN, &certs, &n, err, errlen);
	return rc ? rc : chain_take(certs, n, out, err, errlen);
}

int readiness_load_chain(struct db *db, int64_t chain_id, struct readiness_chain *out, char *err,
			 size_t errlen)
{
	return load_chain(db, chain_id, out, err, errlen);
}

/* ---- Observations ----------------------------------------------------- */

static int load_seen(struct db *db, int64_t id, time_t at, struct readiness_observed *out,
		     char *err, size_t errlen)
{
	struct rsrc_pin_seen *pins;
	size_t n;
	int rc = rsrc_pins_seen(db, id, at, &pins, &n, err, errlen);
	if (rc)
		return rc;
	if (n && !(out->seen = calloc(n, sizeof(*out->seen)))) {
		free(pins);
		return nomem(err, errlen);
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(out->seen[i].pin, pins[i].pin, 32);
		out->seen[i].last_seen = pins[i].last_seen;
	}
	out->nseen = n;
	free(pins);
	return rsrc_history_since(db, id, at, &out->history_since, err, errlen);
}

/* The chains address @a presented to the discovery probes, as of @at. */
static int load_variants(struct db *db, int64_t endpoint_id, time_t at, struct readiness_address *a,
			 char *err, size_t errlen)
{
	struct rsrc_variant rows[4];
	size_t n;
	int rc = rsrc_variants(db, endpoint_id, a->address, at, rows, ARRAY_SIZE(rows), &n, err,
			       errlen);
	if (rc || n == 0)
		return rc;
	a->variants = calloc(n, sizeof(*a->variants));
	if (!a->variants)
		return nomem(err, errlen);
	for (size_t i = 0; i < n; i++) {
		struct readiness_variant *v = &a->variants[a->nvariants++];
		v->variant = strdup(rows[i].variant);
		v->outcome = strdup(rows[i].outcome);
		if (!v->variant || !v->outcome)
			return nomem(err, errlen);
		v->first_seen = rows[i].first_seen;
		v->last_seen = rows[i].last_seen;
		if ((rc = load_chain(db, rows[i].presented, &v->presented, err, errlen)) != 0 ||
		    (rc = load_chain(db, rows[i].validated, &v->validated, err, errlen)) != 0)
			return rc;
	}
	return 0;
}

/* What was known at @at of a row last seen at @last: a row still open after
 * @at was last seen at @at. "Gone" is judged with this, so that a later
 * last_seen of another address does not hide an edge that served at @at. */
static time_t seen_as_of(time_t last, time_t at)
{
	return last < at ? last : at;
}

static int row_addr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rsrc_latest *)a)->address,
		      ((const struct rsrc_latest *)b)->address);
}

/* Address @a from its latest row @r (whose strings move to @a): its chains,
 * the chain before a drift, and the discovered variants. */
static int load_address(struct db *db, int64_t endpoint_id, time_t at, struct rsrc_latest *r,
			struct readiness_address *a, char *err, size_t errlen)
{
	a->address = r->address;
	a->outcome = r->outcome;
	r->address = r->outcome = NULL;
	a->first_seen = r->first_seen;
	a->last_seen = r->last_seen;
	int64_t prev = 0;
	int rc = load_chain(db, r->presented, &a->presented, err, errlen);
	if (!rc)
		rc = load_chain(db, r->validated, &a->validated, err, errlen);
	if (!rc)
		rc = rsrc_previous_chain(db, endpoint_id, a->address, r->id, at, r->presented,
					 &prev, err, errlen);
	if (!rc && prev > 0)
		rc = load_chain(db, prev, &a->previous, err, errlen);
	if (!rc)
		rc = load_variants(db, endpoint_id, at, a, err, errlen);
	return rc;
}

int readiness_load_endpoint(struct db *db, int64_t endpoint_id, time_t at,
			    struct readiness_observed *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct rsrc_latest *rows;
	size_t nrows;
	/* Collect the rows first: loading chains reuses other cached statements. */
	int rc = rsrc_latest(db, endpoint_id, at, READINESS_MAX_ADDRS_PER_ENDPOINT, &rows, &nrows,
			     err, errlen);
	if (rc)
		return rc;
	if (nrows) /* addresses in name order */
		qsort(rows, nrows, sizeof(rows[0]), row_addr_cmp);
	time_t newest = 0;
	for (size_t i = 0; i < nrows; i++)
		if (seen_as_of(rows[i].last_seen, at) > newest)
			newest = seen_as_of(rows[i].last_seen, at);
	if (nrows && !(out->addrs = calloc(nrows, sizeof(*out->addrs))))
		rc = nomem(err, errlen);
	for (size_t i = 0; i < nrows && !rc; i++) {
		if (seen_as_of(rows[i].last_seen, at) + READINESS_ADDR_GONE_S < newest)
			continue; /* an edge DNS no longer returns */
		rc = load_address(db, endpoint_id, at, &rows[i], &out->addrs[out->naddrs++], err,
				  errlen);
	}
	if (!rc)
		rc = load_seen(db, endpoint_id, at, out, err, errlen);
	rsrc_latest_free(rows, nrows);
	if (rc)
		readiness_observed_free(out);
	return rc;
}

int readiness_load_period(struct db *db, int64_t endpoint_id, int64_t obs_id,
			  struct readiness_period *out, char *err, size_t errlen)
{
	struct rsrc_period p;
	memset(out, 0, sizeof(*out));
	int rc = rsrc_period(db, endpoint_id, obs_id, &p, err, errlen);
	if (rc)
		return rc;
	out->id = obs_id;
	out->presented_chain_id = p.presented;
	out->validated_chain_id = p.validated;
	snprintf(out->address, sizeof(out->address), "%s", p.address);
	snprintf(out->outcome, sizeof(out->outcome), "%s", p.outcome);
	out->first_seen = p.first_seen;
	out->last_seen = p.last_seen;
	return 0;
}

int readiness_load_observations(struct db *db, const struct inventory *inv, time_t at,
				struct readiness_observations *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (inv->nendpoints == 0)
		return 0;
	out->eps = calloc(inv->nendpoints, sizeof(*out->eps));
	if (!out->eps)
		return nomem(err, errlen);
	out->neps = inv->nendpoints;
	for (size_t i = 0; i < inv->nendpoints; i++) {
		int rc = readiness_load_endpoint(db, inv->endpoints[i].id, at, &out->eps[i], err,
						 errlen);
		if (rc) {
			readiness_observations_free(out);
			return rc;
		}
	}
	return 0;
}

int readiness_load_ca_pool(struct db *db, struct readiness_chain *out, char *err, size_t errlen)
{
	struct rsrc_cert *certs;
	size_t n;
	memset(out, 0, sizeof(*out));
	int rc = rsrc_ca_certs(db, &certs, &n, err, errlen);
	return rc ? rc : chain_take(certs, n, out, err, errlen);
}

/* ---- PEM candidate chains --------------------------------------------- */

int readiness_chain_from_pem(const char *pem, size_t len, struct readiness_chain *out, char *err,
			     size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!pem || len == 0)
		return util_err(err, errlen, -EINVAL, "empty certificate chain");
	if (len > READINESS_MAX_PEM)
		return util_err(err, errlen, -EINVAL, "certificate chain larger than %d bytes",
				READINESS_MAX_PEM);
	struct x509_chain ch = { 0 };
	int rc = x509_chain_parse((const uint8_t *)pem, len, READINESS_MAX_CHAIN, &ch, err, errlen);
	if (rc == -E2BIG)
		return util_err(err, errlen, -EINVAL, "more than %d certificates in the chain",
				READINESS_MAX_CHAIN);
	if (rc)
		return rc; /* -EINVAL (with the reason) or -ENOMEM */
	out->certs = calloc(ch.n ? ch.n : 1, sizeof(*out->certs));
	if (!out->certs) {
		x509_chain_clear(&ch);
		return util_err(err, errlen, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < ch.n; i++) {
		const struct x509_cert_info *x = &ch.certs[i];
		struct readiness_cert *c = &out->certs[out->ncerts];
		memcpy(c->pin, x->spki_pin, 32);
		memcpy(c->sha256, x->sha256, 32);
		c->subject = strdup(x->subject);
		c->issuer = strdup(x->issuer);
		c->not_before = x->not_before;
		c->not_after = x->not_after;
		c->is_ca = x->is_ca;
		out->ncerts++;
		if (!c->subject || !c->issuer) {
			x509_chain_clear(&ch);
			readiness_chain_free(out);
			return util_err(err, errlen, -ENOMEM, "out of memory");
		}
	}
	x509_chain_clear(&ch);
	return 0;
}

/* ---- observed CA certificates ------------------------------------------ */

void readiness_ca_crts_free(gnutls_x509_crt_t *crts, size_t n)
{
	for (size_t i = 0; crts && i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	free(crts);
}

int readiness_load_ca_crts(struct db *db, time_t at, gnutls_x509_crt_t **out, size_t *n, char *err,
			   size_t errlen)
{
	struct rsrc_der *ders;
	size_t nders;
	*out = NULL;
	*n = 0;
	int rc = rsrc_ca_der(db, at, &ders, &nders, err, errlen);
	if (rc)
		return rc;
	if (nders && !(*out = calloc(nders, sizeof(**out))))
		rc = nomem(err, errlen);
	for (size_t i = 0; i < nders && !rc; i++) {
		gnutls_datum_t d = { ders[i].der, (unsigned)ders[i].len };
		gnutls_x509_crt_t c;
		if (gnutls_x509_crt_init(&c) < 0) {
			rc = nomem(err, errlen);
			break;
		}
		if (gnutls_x509_crt_import(c, &d, GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(c); /* a row we cannot read completes nothing */
			continue;
		}
		(*out)[(*n)++] = c;
	}
	rsrc_der_free(ders, nders);
	if (rc) {
		readiness_ca_crts_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}
