/* What the readiness engine reads from the store (readiness_src.h). */
#include "store/readiness_src.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "base/util.h"
#include "store/db.h"

/* A database failure with SQLite result @src: its errno (-EBUSY when busy or
 * locked), never -ENOENT/-EEXIST/-EINVAL, which mean something else to
 * callers. The message is taken before the statement is reset. */
static int fail(struct db *db, int src, const char *what, char *err, size_t errlen)
{
	int rc = db_errno(src);
	if (rc == 0 || rc == -ENOENT || rc == -EEXIST || rc == -EINVAL)
		rc = -EIO;
	return util_err(err, errlen, rc, "reading %s: %s", what, db_errmsg(db));
}

/* A statement that could not be prepared (b->st NULL) or bound. */
static int unbound(struct db *db, const struct db_binder *b, const char *what, char *err,
		   size_t errlen)
{
	if (!b->st)
		return fail(db, sqlite3_errcode(db_handle(db)), what, err, errlen);
	int rc = fail(db, db_bound(b), what, err, errlen);
	sqlite3_reset(b->st);
	return rc;
}

/* The end of a statement's rows: @rc when reading them failed already (the
 * statement is only reset), else the verdict on @step, the last
 * sqlite3_step() result: SQLITE_DONE (or SQLITE_ROW when the caller stopped
 * at a cap) is success. */
static int finish(struct db *db, sqlite3_stmt *s, int rc, int step, const char *what, char *err,
		  size_t errlen)
{
	if (!rc && step != SQLITE_DONE && step != SQLITE_ROW)
		rc = fail(db, step, what, err, errlen);
	sqlite3_reset(s);
	return rc;
}

static int nomem(char *err, size_t errlen)
{
	return util_err(err, errlen, -ENOMEM, "out of memory");
}

static char *col_dup(sqlite3_stmt *s, int col, const char *dflt)
{
	const char *t = (const char *)sqlite3_column_text(s, col);
	return strdup(t ? t : dflt);
}

/* ---- Certificates ------------------------------------------------------ */

/* Columns spki_sha256, sha256, subject, issuer, not_before, not_after, is_ca
 * from @col on. -EIO for hashes that are not 32 bytes, -ENOMEM. */
static int cert_from_row(sqlite3_stmt *s, int col, struct rsrc_cert *c)
{
	memset(c, 0, sizeof(*c));
	if (sqlite3_column_bytes(s, col) != 32 || sqlite3_column_bytes(s, col + 1) != 32)
		return -EIO;
	memcpy(c->pin, sqlite3_column_blob(s, col), 32);
	memcpy(c->sha256, sqlite3_column_blob(s, col + 1), 32);
	c->subject = col_dup(s, col + 2, "");
	c->issuer = col_dup(s, col + 3, "");
	c->not_before = (time_t)sqlite3_column_int64(s, col + 4);
	c->not_after = (time_t)sqlite3_column_int64(s, col + 5);
	c->is_ca = sqlite3_column_int(s, col + 6) != 0;
	if (!c->subject || !c->issuer) {
		free(c->subject);
		free(c->issuer);
		return -ENOMEM;
	}
	return 0;
}

void rsrc_certs_free(struct rsrc_cert *certs, size_t n)
{
	for (size_t i = 0; certs && i < n; i++) {
		free(certs[i].subject);
		free(certs[i].issuer);
	}
	free(certs);
}

static const char SQL_CHAIN[] =
	"SELECT c.spki_sha256, c.sha256, c.subject, c.issuer, c.not_before, c.not_after, c.is_ca"
	" FROM chain_certs cc JOIN certificates c ON c.id = cc.cert_id"
	" WHERE cc.chain_id = ?1 ORDER BY cc.pos LIMIT 64";

int rsrc_chain(struct db *db, int64_t chain_id, size_t max, struct rsrc_cert **certs, size_t *n,
	       char *err, size_t errlen)
{
	*certs = NULL;
	*n = 0;
	if (chain_id <= 0)
		return 0;
	struct db_binder b = db_binder(db_stmt(db, SQL_CHAIN));
	db_bind_int64(&b, chain_id);
	if (db_bound(&b) != SQLITE_OK)
		return unbound(db, &b, "chain", err, errlen);
	size_t cap = 0;
	int step, rc = 0;
	while ((step = sqlite3_step(b.st)) == SQLITE_ROW && *n < max) {
		if (ARRAY_RESERVE(*certs, cap, *n + 1, ARRAY_MAX_ITEMS)) {
			rc = util_err(err, errlen, -ENOMEM, "out of memory loading chain %lld",
				      (long long)chain_id);
			break;
		}
		int r = cert_from_row(b.st, 0, &(*certs)[*n]);
		if (r) {
			rc = r == -ENOMEM
				     ? util_err(err, errlen, r, "out of memory loading chain %lld",
						(long long)chain_id)
				     : util_err(err, errlen, r, "bad certificate row in chain %lld",
						(long long)chain_id);
			break;
		}
		(*n)++;
	}
	rc = finish(db, b.st, rc, step, "chain", err, errlen);
	if (rc) {
		rsrc_certs_free(*certs, *n);
		*certs = NULL;
		*n = 0;
	}
	return rc;
}

static const char SQL_CA_CERTS[] =
	"SELECT spki_sha256, sha256, subject, issuer, not_before, not_after, is_ca"
	" FROM certificates WHERE is_ca = 1 ORDER BY not_after DESC LIMIT 4096";

int rsrc_ca_certs(struct db *db, struct rsrc_cert **certs, size_t *n, char *err, size_t errlen)
{
	*certs = NULL;
	*n = 0;
	struct db_binder b = db_binder(db_stmt(db, SQL_CA_CERTS));
	if (db_bound(&b) != SQLITE_OK)
		return unbound(db, &b, "CA certificates", err, errlen);
	size_t cap = 0;
	int step, rc = 0;
	while ((step = sqlite3_step(b.st)) == SQLITE_ROW) {
		if (ARRAY_RESERVE(*certs, cap, *n + 1, ARRAY_MAX_ITEMS)) {
			rc = nomem(err, errlen);
			break;
		}
		int r = cert_from_row(b.st, 0, &(*certs)[*n]);
		if (r == -ENOMEM) {
			rc = nomem(err, errlen);
			break;
		}
		if (r == 0)
			(*n)++; /* a row with bad hashes is no CA anyone can match */
	}
	rc = finish(db, b.st, rc, step, "CA certificates", err, errlen);
	if (rc) {
		rsrc_certs_free(*certs, *n);
		*certs = NULL;
		*n = 0;
	}
	return rc;
}

void rsrc_der_free(struct rsrc_der *ders, size_t n)
{
	for (size_t i = 0; ders && i < n; i++)
		free(ders[i].der);
	free(ders);
}

/* first_seen: a CA pinwatch had not seen by @at could not complete a chain at @at. */
static const char SQL_CA_DER[] = "SELECT der FROM certificates WHERE is_ca = 1 AND first_seen <= ?1"
				 " ORDER BY not_after DESC, id LIMIT 4096";

int rsrc_ca_der(struct db *db, time_t at, struct rsrc_der **ders, size_t *n, char *err,
		size_t errlen)
{
	*ders = NULL;
	*n = 0;
	struct db_binder b = db_binder(db_stmt(db, SQL_CA_DER));
	db_bind_int64(&b, (int64_t)at);
	if (db_bound(&b) != SQLITE_OK)
		return unbound(db, &b, "CA certificates", err, errlen);
	size_t cap = 0;
	int step, rc = 0;
	while ((step = sqlite3_step(b.st)) == SQLITE_ROW) {
		const void *der = sqlite3_column_blob(b.st, 0);
		int len = sqlite3_column_bytes(b.st, 0);
		if (!der || len <= 0)
			continue; /* a row we cannot read completes nothing */
		if (ARRAY_RESERVE(*ders, cap, *n + 1, ARRAY_MAX_ITEMS)) {
			rc = nomem(err, errlen);
			break;
		}
		struct rsrc_der *d = &(*ders)[*n];
		if (!(d->der = malloc((size_t)len))) {
			rc = nomem(err, errlen);
			break;
		}
		memcpy(d->der, der, (size_t)len);
		d->len = (size_t)len;
		(*n)++;
	}
	rc = finish(db, b.st, rc, step, "CA certificates", err, errlen);
	if (rc) {
		rsrc_der_free(*ders, *n);
		*ders = NULL;
		*n = 0;
	}
	return rc;
}

/* ---- Observations ------------------------------------------------------ */

void rsrc_latest_free(struct rsrc_latest *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].address);
		free(rows[i].outcome);
	}
	free(rows);
}

static const char SQL_LATEST[] =
	"SELECT o.id, o.address, o.outcome, o.presented_chain_id, o.validated_chain_id,"
	"       o.first_seen, o.last_seen"
	" FROM observations o"
	" WHERE o.endpoint_id = ?1 AND o.first_seen <= ?2 AND o.last_seen = ("
	"   SELECT MAX(o2.last_seen) FROM observations o2"
	"   WHERE o2.endpoint_id = o.endpoint_id AND o2.address = o.address AND o2.first_seen <= "
	"?2)"
	" ORDER BY o.last_seen DESC, o.address, o.id DESC";

int rsrc_latest(struct db *db, int64_t endpoint_id, time_t at, size_t max,
		struct rsrc_latest **rows, size_t *n, char *err, size_t errlen)
{
	*rows = NULL;
	*n = 0;
	struct db_binder b = db_binder(db_stmt(db, SQL_LATEST));
	db_bind_int64(&b, endpoint_id);
	db_bind_int64(&b, (int64_t)at);
	if (db_bound(&b) != SQLITE_OK)
		return unbound(db, &b, "observations", err, errlen);
	size_t cap = 0;
	int step, rc = 0;
	while ((step = sqlite3_step(b.st)) == SQLITE_ROW && *n < max) {
		const char *addr = (const char *)sqlite3_column_text(b.st, 1);
		if (!addr)
			continue;
		if (*n && strcmp((*rows)[*n - 1].address, addr) == 0)
			continue; /* same last_seen twice: the highest id came first */
		if (ARRAY_RESERVE(*rows, cap, *n + 1, ARRAY_MAX_ITEMS)) {
			rc = nomem(err, errlen);
			break;
		}
		struct rsrc_latest *r = &(*rows)[(*n)++];
		r->id = sqlite3_column_int64(b.st, 0);
		r->presented = sqlite3_column_int64(b.st, 3);
		r->validated = sqlite3_column_int64(b.st, 4);
		r->first_seen = (time_t)sqlite3_column_int64(b.st, 5);
		r->last_seen = (time_t)sqlite3_column_int64(b.st, 6);
		r->address = strdup(addr);
		r->outcome = col_dup(b.st, 2, "unknown");
		if (!r->address || !r->outcome) {
			rc = nomem(err, errlen);
			break;
		}
	}
	rc = finish(db, b.st, rc, step, "observations", err, errlen);
	if (rc) {
		rsrc_latest_free(*rows, *n);
		*rows = NULL;
		*n = 0;
	}
	return rc;
}

static const char SQL_PREVIOUS[] =
	"SELECT presented_chain_id FROM observations"
	" WHERE endpoint_id = ?1 AND address = ?2 AND id <> ?3 AND last_seen <= ?4"
	"   AND presented_chain_id IS NOT ?5"
	" ORDER BY last_seen DESC, id DESC LIMIT 1";

int rsrc_previous_chain(struct db *db, int64_t endpoint_id, const char *address, int64_t obs_id,
			time_t at, int64_t presented, int64_t *prev, char *err, size_t errlen)
{
	*prev = 0;
	struct db_binder b = db_binder(db_stmt(db, SQL_PREVIOUS));
	db_bind_int64(&b, endpoint_id);
	db_bind_text(&b, address);
	db_bind_int64(&b, obs_id);
	db_bind_int64(&b, (int64_t)at);
	if (presented > 0)
		db_bind_int64(&b, presented);
	else
		db_bind_null(&b);
	if (db_bound(&b) != SQLITE_OK)
		return unbound(db, &b, "previous observation", err, errlen);
	int step = sqlite3_step(b.st);
	if (step == SQLITE_ROW)
		*prev = sqlite3_column_int64(b.st, 0);
	return finish(db, b.st, 0, step, "previous observation", err, errlen);
}

/* Discovery results (schema/010_dualcert.sql): per variant its latest row at ?3. */
static const char SQL_VARIANTS[] =
	"SELECT variant, outcome, presented_chain_id, validated_chain_id, first_seen, last_seen"
	" FROM variant_observations WHERE endpoint_id = ?1 AND address = ?2 AND first_seen <= ?3"
	" ORDER BY variant, last_seen DESC, id DESC LIMIT 64";

int rsrc_variants(struct db *db, int64_t endpoint_id, const char *address, time_t at,
		  struct rsrc_variant *rows, size_t max, size_t *n, char *err, size_t errlen)
{
	*n = 0;
	struct db_binder b = db_binder(db_stmt(db, SQL_VARIANTS));
	db_bind_int64(&b, endpoint_id);
	db_bind_text(&b, address);
	db_bind_int64(&b, (int64_t)at);
	if (db_bound(&b) != SQLITE_OK)
		return unbound(db, &b, "variant observations", err, errlen);
	int step;
	while ((step = sqlite3_step(b.st)) == SQLITE_ROW && *n < max) {
		const char *v = (const char *)sqlite3_column_text(b.st, 0);
		const char *o = (const char *)sqlite3_column_text(b.st, 1);
		if (!v || (*n && !strcmp(rows[*n - 1].variant, v)))
			continue; /* the latest row of each variant came first */
		struct rsrc_variant *r = &rows[(*n)++];
		snprintf(r->variant, sizeof(r->variant), "%s", v);
		snprintf(r->outcome, sizeof(r->outcome), "%s", o ? o : "unknown");
		r->presented = sqlite3_column_int64(b.st, 2);
		r->validated = sqlite3_column_int64(b.st, 3);
		r->first_seen = (time_t)sqlite3_column_int64(b.st, 4);
		r->last_seen = (time_t)sqlite3_column_int64(b.st, 5);
	}
	int rc = finish(db, b.st, 0, step, "variant observations", err, errlen);
	if (rc)
		*n = 0;
	return rc;
}

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

/* Pin @pin last seen at @last into @v: a pin already there keeps the later time. */
static int pin_seen_add(struct rsrc_pin_seen **v, size_t *n, size_t *cap, const uint8_t *pin,
			time_t last)
{
	for (size_t i = 0; i < *n; i++) {
		if (memcmp((*v)[i].pin, pin, 32) == 0) {
			if (last > (*v)[i].last_seen)
				(*v)[i].last_seen = last;
			return 0;
		}
	}
	if (ARRAY_RESERVE(*v, *cap, *n + 1, ARRAY_MAX_ITEMS))
		return -ENOMEM;
	memcpy((*v)[*n].pin, pin, 32);
	(*v)[(*n)++].last_seen = last;
	return 0;
}

int rsrc_pins_seen(struct db *db, int64_t endpoint_id, time_t at, struct rsrc_pin_seen **pins,
		   size_t *n, char *err, size_t errlen)
{
	*pins = NULL;
	*n = 0;
	struct db_binder b = db_binder(db_stmt(db, SQL_SEEN));
	db_bind_int64(&b, endpoint_id);
	db_bind_int64(&b, (int64_t)at);
	if (db_bound(&b) != SQLITE_OK)
		return unbound(db, &b, "pins seen", err, errlen);
	size_t cap = 0;
	int step, rc = 0;
	while ((step = sqlite3_step(b.st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(b.st, 0) != 32)
			continue;
		if (pin_seen_add(pins, n, &cap, sqlite3_column_blob(b.st, 0),
				 (time_t)sqlite3_column_int64(b.st, 1))) {
			rc = nomem(err, errlen);
			break;
		}
	}
	rc = finish(db, b.st, rc, step, "pins seen", err, errlen);
	if (rc) {
		free(*pins);
		*pins = NULL;
		*n = 0;
	}
	return rc;
}

static const char SQL_SINCE[] =
	"SELECT MIN(first_seen) FROM observations WHERE endpoint_id = ?1 AND first_seen <= ?2";

int rsrc_history_since(struct db *db, int64_t endpoint_id, time_t at, time_t *since, char *err,
		       size_t errlen)
{
	*since = 0;
	struct db_binder b = db_binder(db_stmt(db, SQL_SINCE));
	db_bind_int64(&b, endpoint_id);
	db_bind_int64(&b, (int64_t)at);
	if (db_bound(&b) != SQLITE_OK)
		return unbound(db, &b, "observation history", err, errlen);
	int step = sqlite3_step(b.st);
	if (step == SQLITE_ROW && sqlite3_column_type(b.st, 0) != SQLITE_NULL)
		*since = (time_t)sqlite3_column_int64(b.st, 0);
	return finish(db, b.st, 0, step, "observation history", err, errlen);
}

static const char SQL_PERIOD[] =
	"SELECT presented_chain_id, validated_chain_id, address, outcome, first_seen, last_seen"
	" FROM observations WHERE id = ?1 AND endpoint_id = ?2";

int rsrc_period(struct db *db, int64_t endpoint_id, int64_t obs_id, struct rsrc_period *out,
		char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct db_binder b = db_binder(db_stmt(db, SQL_PERIOD));
	db_bind_int64(&b, obs_id);
	db_bind_int64(&b, endpoint_id);
	if (db_bound(&b) != SQLITE_OK)
		return unbound(db, &b, "observation", err, errlen);
	int step = sqlite3_step(b.st);
	if (step == SQLITE_ROW) {
		const char *addr = (const char *)sqlite3_column_text(b.st, 2);
		const char *outcome = (const char *)sqlite3_column_text(b.st, 3);
		out->presented = sqlite3_column_int64(b.st, 0);
		out->validated = sqlite3_column_int64(b.st, 1);
		snprintf(out->address, sizeof(out->address), "%s", addr ? addr : "");
		snprintf(out->outcome, sizeof(out->outcome), "%s", outcome ? outcome : "unknown");
		out->first_seen = (time_t)sqlite3_column_int64(b.st, 4);
		out->last_seen = (time_t)sqlite3_column_int64(b.st, 5);
	}
	int rc = finish(db, b.st, 0, step, "observation", err, errlen);
	if (rc || step == SQLITE_ROW)
		return rc;
	return util_err(err, errlen, -ENOENT, "no observation %lld of endpoint %lld",
			(long long)obs_id, (long long)endpoint_id);
}
