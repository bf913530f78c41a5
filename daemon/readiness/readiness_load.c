/* Builds the readiness engine's inputs from the store (schema/001_init.sql:
 * observations, chains, chain_certs, certificates) and runs check / what-if. */
#include "readiness/readiness_load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "base/util.h"
#include "pki/x509.h"
#include "readiness/readiness_gate.h"

/* ---- Chains ----------------------------------------------------------- */

static const char SQL_CHAIN[] =
	"SELECT c.spki_sha256, c.sha256, c.subject, c.issuer, c.not_before, c.not_after, c.is_ca"
	" FROM chain_certs cc JOIN certificates c ON c.id = cc.cert_id"
	" WHERE cc.chain_id = ?1 ORDER BY cc.pos LIMIT 64";

static int dberr(struct db *db, char *err, size_t errlen, const char *what)
{
	return util_err(err, errlen, -EIO, "reading %s: %s", what, db_errmsg(db));
}

static int cert_from_row(sqlite3_stmt *s, int col, struct readiness_cert *c)
{
	memset(c, 0, sizeof(*c));
	if (sqlite3_column_bytes(s, col) != 32 || sqlite3_column_bytes(s, col + 1) != 32)
		return -EIO;
	memcpy(c->pin, sqlite3_column_blob(s, col), 32);
	memcpy(c->sha256, sqlite3_column_blob(s, col + 1), 32);
	const char *subj = (const char *)sqlite3_column_text(s, col + 2);
	const char *iss = (const char *)sqlite3_column_text(s, col + 3);
	c->subject = strdup(subj ? subj : "");
	c->issuer = strdup(iss ? iss : "");
	c->not_before = (time_t)sqlite3_column_int64(s, col + 4);
	c->not_after = (time_t)sqlite3_column_int64(s, col + 5);
	c->is_ca = sqlite3_column_int(s, col + 6) != 0;
	if (!c->subject || !c->issuer) {
		readiness_cert_free(c);
		return -ENOMEM;
	}
	return 0;
}

static int load_chain(struct db *db, int64_t chain_id, struct readiness_chain *out, char *err,
		      size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (chain_id <= 0)
		return 0;
	sqlite3_stmt *s = db_stmt(db, SQL_CHAIN);
	if (!s)
		return dberr(db, err, errlen, "chain");
	sqlite3_bind_int64(s, 1, chain_id);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (out->ncerts >= READINESS_MAX_CHAIN)
			break;
		struct readiness_cert *nc = realloc(out->certs, (out->ncerts + 1) * sizeof(*nc));
		if (!nc) {
			rc = -ENOMEM;
			goto fail;
		}
		out->certs = nc;
		if ((rc = cert_from_row(s, 0, &out->certs[out->ncerts])) != 0)
			goto fail;
		out->ncerts++;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		rc = dberr(db, err, errlen, "chain");
		goto fail;
	}
	sqlite3_reset(s);
	return 0;
fail:
	sqlite3_reset(s);
	readiness_chain_free(out);
	if (rc == -ENOMEM)
		return util_err(err, errlen, -ENOMEM, "out of memory loading chain %lld",
				(long long)chain_id);
	return rc < 0 ? rc
		      : util_err(err, errlen, -EIO, "bad certificate row in chain %lld",
				 (long long)chain_id);
}

int readiness_load_chain(struct db *db, int64_t chain_id, struct readiness_chain *out, char *err,
			 size_t errlen)
{
	return load_chain(db, chain_id, out, err, errlen);
}

/* ---- Observations ----------------------------------------------------- */

static const char SQL_LATEST[] =
	"SELECT o.id, o.address, o.outcome, o.presented_chain_id, o.validated_chain_id,"
	"       o.first_seen, o.last_seen"
	" FROM observations o"
	" WHERE o.endpoint_id = ?1 AND o.first_seen <= ?2 AND o.last_seen = ("
	"   SELECT MAX(o2.last_seen) FROM observations o2"
	"   WHERE o2.endpoint_id = o.endpoint_id AND o2.address = o.address AND o2.first_seen <= "
	"?2)"
	" ORDER BY o.last_seen DESC, o.address, o.id DESC";

static const char SQL_PREVIOUS[] =
	"SELECT presented_chain_id FROM observations"
	" WHERE endpoint_id = ?1 AND address = ?2 AND id <> ?3 AND last_seen <= ?4"
	"   AND presented_chain_id IS NOT ?5"
	" ORDER BY last_seen DESC, id DESC LIMIT 1";

static const char SQL_SEEN[] =
	"SELECT c.spki_sha256, MAX(o.last_seen) FROM observations o"
	" JOIN chain_certs cc ON cc.chain_id = o.presented_chain_id"
	" JOIN certificates c ON c.id = cc.cert_id"
	" WHERE o.endpoint_id = ?1 AND o.first_seen <= ?2 GROUP BY c.spki_sha256"
	" UNION ALL "
	"SELECT c.spki_sha256, MAX(o.last_seen) FROM observations o"
	" JOIN chain_certs cc ON cc.chain_id = o.validated_chain_id"
	" JOIN certificates c ON c.id = cc.cert_id"
	" WHERE o.endpoint_id = ?1 AND o.first_seen <= ?2 GROUP BY c.spki_sha256"
	" LIMIT 4096";

/* Discovery results (schema/010_dualcert.sql): per variant its latest row at @at. */
static const char SQL_VARIANTS[] =
	"SELECT variant, outcome, presented_chain_id, validated_chain_id, first_seen, last_seen"
	" FROM variant_observations WHERE endpoint_id = ?1 AND address = ?2 AND first_seen <= ?3"
	" ORDER BY variant, last_seen DESC, id DESC LIMIT 64";

static const char SQL_SINCE[] =
	"SELECT MIN(first_seen) FROM observations WHERE endpoint_id = ?1 AND first_seen <= ?2";

static int load_seen(struct db *db, int64_t id, time_t at, struct readiness_observed *out,
		     char *err, size_t errlen)
{
	sqlite3_stmt *s = db_stmt(db, SQL_SEEN);
	if (!s)
		return dberr(db, err, errlen, "pins seen");
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (int64_t)at);
	int rc;
	size_t cap = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 0) != 32)
			continue;
		const uint8_t *pin = sqlite3_column_blob(s, 0);
		time_t last = (time_t)sqlite3_column_int64(s, 1);
		size_t i;
		for (i = 0; i < out->nseen; i++)
			if (memcmp(out->seen[i].pin, pin, 32) == 0)
				break;
		if (i < out->nseen) {
			if (last > out->seen[i].last_seen)
				out->seen[i].last_seen = last;
			continue;
		}
		if (out->nseen == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct readiness_pin_seen *ns = realloc(out->seen, nc * sizeof(*ns));
			if (!ns) {
				sqlite3_reset(s);
				return util_err(err, errlen, -ENOMEM, "out of memory");
			}
			out->seen = ns;
			cap = nc;
		}
		memcpy(out->seen[out->nseen].pin, pin, 32);
		out->seen[out->nseen++].last_seen = last;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return dberr(db, err, errlen, "pins seen");
	s = db_stmt(db, SQL_SINCE);
	if (!s)
		return dberr(db, err, errlen, "observation history");
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (int64_t)at);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		out->history_since = (time_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return 0;
}

struct variant_row {
	char variant[8], outcome[128];
	int64_t presented, validated;
	time_t first_seen, last_seen;
};

/* The chains address @a presented to the discovery probes, as of @at. */
static int load_variants(struct db *db, int64_t endpoint_id, time_t at, struct readiness_address *a,
			 char *err, size_t errlen)
{
	struct variant_row rows[4];
	size_t n = 0;
	sqlite3_stmt *s = db_stmt(db, SQL_VARIANTS);
	if (!s)
		return dberr(db, err, errlen, "variant observations");
	sqlite3_bind_int64(s, 1, endpoint_id);
	sqlite3_bind_text(s, 2, a->address, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (int64_t)at);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < ARRAY_SIZE(rows)) {
		const char *v = (const char *)sqlite3_column_text(s, 0);
		const char *o = (const char *)sqlite3_column_text(s, 1);
		if (!v || (n && !strcmp(rows[n - 1].variant, v)))
			continue; /* the latest row of each variant came first */
		struct variant_row *r = &rows[n++];
		snprintf(r->variant, sizeof(r->variant), "%s", v);
		snprintf(r->outcome, sizeof(r->outcome), "%s", o ? o : "unknown");
		r->presented = sqlite3_column_int64(s, 2);
		r->validated = sqlite3_column_int64(s, 3);
		r->first_seen = (time_t)sqlite3_column_int64(s, 4);
		r->last_seen = (time_t)sqlite3_column_int64(s, 5);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return dberr(db, err, errlen, "variant observations");
	if (n == 0)
		return 0;
	a->variants = calloc(n, sizeof(*a->variants));
	if (!a->variants)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct readiness_variant *v = &a->variants[a->nvariants++];
		v->variant = strdup(rows[i].variant);
		v->outcome = strdup(rows[i].outcome);
		if (!v->variant || !v->outcome)
			return util_err(err, errlen, -ENOMEM, "out of memory");
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

struct latest_row {
	int64_t id, presented, validated;
	char *address, *outcome;
	time_t first_seen, last_seen;
};

static int row_addr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct latest_row *)a)->address,
		      ((const struct latest_row *)b)->address);
}

int readiness_load_endpoint(struct db *db, int64_t endpoint_id, time_t at,
			    struct readiness_observed *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct latest_row rows[READINESS_MAX_ADDRS_PER_ENDPOINT];
	size_t nrows = 0;
	int rc = 0;

	/* Collect the rows first: loading chains reuses other cached statements. */
	sqlite3_stmt *s = db_stmt(db, SQL_LATEST);
	if (!s)
		return dberr(db, err, errlen, "observations");
	sqlite3_bind_int64(s, 1, endpoint_id);
	sqlite3_bind_int64(s, 2, (int64_t)at);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && nrows < ARRAY_SIZE(rows)) {
		const char *addr = (const char *)sqlite3_column_text(s, 1);
		const char *outcome = (const char *)sqlite3_column_text(s, 2);
		if (!addr)
			continue;
		/* Most recent first, so the cap drops the edges DNS stopped returning
		 * long ago, not the current ones. */
		if (nrows && strcmp(rows[nrows - 1].address, addr) == 0)
			continue; /* same last_seen twice: the highest id came first */
		struct latest_row *r = &rows[nrows];
		r->id = sqlite3_column_int64(s, 0);
		r->presented = sqlite3_column_int64(s, 3);
		r->validated = sqlite3_column_int64(s, 4);
		r->first_seen = (time_t)sqlite3_column_int64(s, 5);
		r->last_seen = (time_t)sqlite3_column_int64(s, 6);
		r->address = strdup(addr);
		r->outcome = strdup(outcome ? outcome : "unknown");
		nrows++;
		if (!r->address || !r->outcome) {
			rc = -ENOMEM;
			break;
		}
	}
	sqlite3_reset(s);
	if (rc == -ENOMEM) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto done;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		rc = dberr(db, err, errlen, "observations");
		goto done;
	}
	rc = 0;
	qsort(rows, nrows, sizeof(rows[0]), row_addr_cmp); /* addresses in name order */
	time_t newest = 0;
	for (size_t i = 0; i < nrows; i++)
		if (seen_as_of(rows[i].last_seen, at) > newest)
			newest = seen_as_of(rows[i].last_seen, at);
	if (nrows) {
		out->addrs = calloc(nrows, sizeof(*out->addrs));
		if (!out->addrs) {
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
			goto done;
		}
	}
	for (size_t i = 0; i < nrows && !rc; i++) {
		struct latest_row *r = &rows[i];
		if (seen_as_of(r->last_seen, at) + READINESS_ADDR_GONE_S < newest)
			continue; /* an edge DNS no longer returns */
		struct readiness_address *a = &out->addrs[out->naddrs++];
		a->address = r->address;
		a->outcome = r->outcome;
		r->address = r->outcome = NULL;
		a->first_seen = r->first_seen;
		a->last_seen = r->last_seen;
		rc = load_chain(db, r->presented, &a->presented, err, errlen);
		if (!rc)
			rc = load_chain(db, r->validated, &a->validated, err, errlen);
		if (rc)
			break;
		sqlite3_stmt *p = db_stmt(db, SQL_PREVIOUS);
		if (!p) {
			rc = dberr(db, err, errlen, "previous observation");
			break;
		}
		sqlite3_bind_int64(p, 1, endpoint_id);
		sqlite3_bind_text(p, 2, a->address, -1, SQLITE_STATIC);
		sqlite3_bind_int64(p, 3, r->id);
		sqlite3_bind_int64(p, 4, (int64_t)at);
		if (r->presented > 0)
			sqlite3_bind_int64(p, 5, r->presented);
		else
			sqlite3_bind_null(p, 5);
		int64_t prev = 0;
		int step = sqlite3_step(p);
		if (step == SQLITE_ROW)
			prev = sqlite3_column_int64(p, 0);
		sqlite3_reset(p);
		if (step != SQLITE_ROW && step != SQLITE_DONE) {
			rc = dberr(db, err, errlen, "previous observation");
			break;
		}
		if (prev > 0)
			rc = load_chain(db, prev, &a->previous, err, errlen);
		if (!rc)
			rc = load_variants(db, endpoint_id, at, a, err, errlen);
	}
	if (!rc)
		rc = load_seen(db, endpoint_id, at, out, err, errlen);
done:
	for (size_t i = 0; i < nrows; i++) {
		free(rows[i].address);
		free(rows[i].outcome);
	}
	if (rc)
		readiness_observed_free(out);
	return rc;
}

static const char SQL_PERIOD[] =
	"SELECT presented_chain_id, validated_chain_id, address, outcome, first_seen, last_seen"
	" FROM observations WHERE id = ?1 AND endpoint_id = ?2";

int readiness_load_period(struct db *db, int64_t endpoint_id, int64_t obs_id,
			  struct readiness_period *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *s = db_stmt(db, SQL_PERIOD);
	if (!s)
		return dberr(db, err, errlen, "observation");
	sqlite3_bind_int64(s, 1, obs_id);
	sqlite3_bind_int64(s, 2, endpoint_id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *addr = (const char *)sqlite3_column_text(s, 2);
		const char *outcome = (const char *)sqlite3_column_text(s, 3);
		out->id = obs_id;
		out->presented_chain_id = sqlite3_column_int64(s, 0);
		out->validated_chain_id = sqlite3_column_int64(s, 1);
		snprintf(out->address, sizeof(out->address), "%s", addr ? addr : "");
		snprintf(out->outcome, sizeof(out->outcome), "%s", outcome ? outcome : "unknown");
		out->first_seen = (time_t)sqlite3_column_int64(s, 4);
		out->last_seen = (time_t)sqlite3_column_int64(s, 5);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return util_err(err, errlen, -ENOENT, "no observation %lld of endpoint %lld",
				(long long)obs_id, (long long)endpoint_id);
	return dberr(db, err, errlen, "observation");
}

int readiness_load_observations(struct db *db, const struct inventory *inv, time_t at,
				struct readiness_observations *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (inv->nendpoints == 0)
		return 0;
	out->eps = calloc(inv->nendpoints, sizeof(*out->eps));
	if (!out->eps)
		return util_err(err, errlen, -ENOMEM, "out of memory");
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
	static const char sql[] =
		"SELECT spki_sha256, sha256, subject, issuer, not_before, not_after, is_ca"
		" FROM certificates WHERE is_ca = 1 ORDER BY not_after DESC LIMIT 4096";
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return dberr(db, err, errlen, "CA certificates");
	int rc;
	size_t cap = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (out->ncerts == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct readiness_cert *n = realloc(out->certs, nc * sizeof(*n));
			if (!n) {
				rc = -ENOMEM;
				break;
			}
			out->certs = n;
			cap = nc;
		}
		if (cert_from_row(s, 0, &out->certs[out->ncerts]) == 0)
			out->ncerts++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		readiness_chain_free(out);
		return rc == -ENOMEM ? util_err(err, errlen, -ENOMEM, "out of memory")
				     : dberr(db, err, errlen, "CA certificates");
	}
	return 0;
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
	/* first_seen: a CA pinwatch had not seen by @at could not complete a
	 * chain at @at. */
	static const char sql[] =
		"SELECT der FROM certificates WHERE is_ca = 1 AND first_seen <= ?1"
		" ORDER BY not_after DESC, id LIMIT 4096";
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return util_err(err, errlen, -EIO, "reading CA certificates: %s", db_errmsg(db));
	sqlite3_bind_int64(s, 1, (int64_t)at);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		gnutls_datum_t d = { (unsigned char *)(uintptr_t)sqlite3_column_blob(s, 0),
				     (unsigned)sqlite3_column_bytes(s, 0) };
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			gnutls_x509_crt_t *nv = realloc(*out, nc * sizeof(*nv));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			*out = nv;
			cap = nc;
		}
		gnutls_x509_crt_t c;
		if (gnutls_x509_crt_init(&c) < 0) {
			rc = -ENOMEM;
			break;
		}
		if (!d.data || gnutls_x509_crt_import(c, &d, GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(c); /* a row we cannot read completes nothing */
			continue;
		}
		(*out)[(*n)++] = c;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		readiness_ca_crts_free(*out, *n);
		*out = NULL;
		*n = 0;
		return rc == -ENOMEM ? util_err(err, errlen, -ENOMEM, "out of memory")
				     : util_err(err, errlen, -EIO, "reading CA certificates: %s",
						db_errmsg(db));
	}
	return 0;
}
