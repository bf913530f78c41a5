#include "store/observations.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "base/array.h"
#include "base/util.h"

#define HISTORY_MAX 10000

static const char Q_CERT_SEL[] = "SELECT id FROM certificates WHERE sha256 = ?";
static const char Q_CERT_INS[] =
	"INSERT INTO certificates (sha256, der, subject, issuer, serial, not_before, not_after, "
	"key_type, key_bits, spki_sha256, is_ca, first_seen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)";
static const char Q_CHAIN_SEL[] = "SELECT id FROM chains WHERE sha256 = ?";
static const char Q_CHAIN_INS[] = "INSERT INTO chains (sha256, length) VALUES (?, ?)";
static const char Q_CC_INS[] = "INSERT INTO chain_certs (chain_id, pos, cert_id) VALUES (?, ?, ?)";
static const char Q_OBS_LAST[] =
	"SELECT id, outcome, presented_chain_id, validated_chain_id FROM observations "
	"WHERE endpoint_id = ? AND address = ? ORDER BY last_seen DESC, id DESC LIMIT 1";
static const char Q_OBS_INS[] =
	"INSERT INTO observations (endpoint_id, address, outcome, presented_chain_id, "
	"validated_chain_id, tls_version, cipher, trusted, name_ok, detail, first_seen, last_seen, "
	"probe_count, duration_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1,?)";
static const char Q_OBS_UPD[] =
	"UPDATE observations SET last_seen = max(last_seen, ?), probe_count = probe_count + 1, "
	"tls_version = ?, cipher = ?, detail = ?, duration_ms = ? WHERE id = ?";
static const char Q_VAR_LAST[] =
	"SELECT id, outcome, presented_chain_id, validated_chain_id FROM variant_observations "
	"WHERE endpoint_id = ? AND address = ? AND variant = ? ORDER BY last_seen DESC, id DESC "
	"LIMIT 1";
static const char Q_VAR_INS[] =
	"INSERT INTO variant_observations (endpoint_id, address, variant, outcome, "
	"presented_chain_id, validated_chain_id, tls_version, cipher, detail, first_seen, "
	"last_seen, probe_count) VALUES (?,?,?,?,?,?,?,?,?,?,?,1)";
static const char Q_VAR_UPD[] =
	"UPDATE variant_observations SET last_seen = max(last_seen, ?), probe_count = probe_count "
	"+ 1, tls_version = ?, cipher = ?, detail = ? WHERE id = ?";
static const char Q_TRUST_SEL[] = "SELECT sha256 FROM probe_trust WHERE id = 1";
static const char Q_TRUST_SET[] =
	"INSERT INTO probe_trust (id, sha256, since) VALUES (1, ?1, ?2) "
	"ON CONFLICT (id) DO UPDATE SET sha256 = excluded.sha256, since = excluded.since";
/* The latest row of (endpoint, address[, variant]) when it holds the chain
 * with digest ?3, outcome ok, was confirmed within the hour (?4 = now - 1 h)
 * under the current trust store and after the endpoint's last edit, and every
 * certificate of its validated chain is valid at ?5 (now). */
#define REUSE_TAIL                                                                               \
	" AND x.outcome = 'ok' AND x.validated_chain_id IS NOT NULL AND x.last_seen >= ?4"       \
	" AND x.last_seen >= (SELECT since FROM probe_trust WHERE id = 1 AND sha256 = ?6)"       \
	" AND x.last_seen >= (SELECT updated_at FROM endpoints WHERE id = ?1)"                   \
	" AND NOT EXISTS (SELECT 1 FROM chain_certs cc JOIN certificates k ON k.id = cc.cert_id" \
	"   WHERE cc.chain_id = x.validated_chain_id AND (k.not_after < ?5 OR k.not_before > ?5))"
static const char Q_REUSE[] =
	"SELECT x.presented_chain_id, x.validated_chain_id FROM observations x"
	" JOIN chains c ON c.id = x.presented_chain_id WHERE x.id = (SELECT id FROM observations"
	"   WHERE endpoint_id = ?1 AND address = ?2 ORDER BY last_seen DESC, id DESC LIMIT 1)"
	" AND c.sha256 = ?3" REUSE_TAIL;
static const char Q_REUSE_VAR[] =
	"SELECT x.presented_chain_id, x.validated_chain_id FROM variant_observations x"
	" JOIN chains c ON c.id = x.presented_chain_id WHERE x.id = (SELECT id FROM "
	"variant_observations WHERE endpoint_id = ?1 AND address = ?2 AND variant = ?7"
	"   ORDER BY last_seen DESC, id DESC LIMIT 1)"
	" AND c.sha256 = ?3" REUSE_TAIL;
static const char Q_EP_DISCOVERED[] = "UPDATE endpoints SET discovered_at = ? WHERE id = ?";
static const char Q_EP_PROBED[] =
	"UPDATE endpoints SET last_probe_at = ?, next_probe_at = ? WHERE id = ?";
static const char Q_SWEEP_INS[] = "INSERT INTO sweeps (started_at) VALUES (?)";
static const char Q_SWEEP_END[] =
	"UPDATE sweeps SET finished_at = ?, probes = ?, failures = ? WHERE id = ?";
static const char Q_CHAIN_LOAD[] =
	"SELECT c.der, c.sha256, c.spki_sha256, c.subject, c.issuer, c.serial, c.not_before, "
	"c.not_after, c.key_type, c.key_bits, c.is_ca FROM chain_certs cc "
	"JOIN certificates c ON c.id = cc.cert_id WHERE cc.chain_id = ? ORDER BY cc.pos";
#define OBS_COLS                                                                         \
	"o.id, o.endpoint_id, o.address, o.outcome, o.detail, o.tls_version, o.cipher, " \
	"o.trusted, "                                                                    \
	"o.name_ok, o.first_seen, o.last_seen, o.probe_count, o.duration_ms, "           \
	"o.presented_chain_id, o.validated_chain_id"
static const char Q_LATEST[] =
	"SELECT " OBS_COLS " FROM observations o WHERE o.endpoint_id = ?1 AND o.last_seen >= ?2 "
	"AND o.id = (SELECT i.id FROM observations i WHERE i.endpoint_id = o.endpoint_id "
	"AND i.address = o.address ORDER BY i.last_seen DESC, i.id DESC LIMIT 1) ORDER BY "
	"o.address";
static const char Q_HISTORY[] =
	"SELECT " OBS_COLS " FROM observations o WHERE o.endpoint_id = ?1 "
	"AND (?2 IS NULL OR o.address = ?2) ORDER BY o.address, o.first_seen, o.id LIMIT ?3";

/* variant_observations.variant of a discovery result (the store may not call
 * into probe/: the names are spelled out here, as the schema's CHECK has them). */
static const char *variant_column(enum probe_variant v)
{
	return v == PROBE_VARIANT_ECDSA ? "ecdsa" : v == PROBE_VARIANT_RSA ? "rsa" : "default";
}

static int sql_fail(struct db *db, char *err, size_t errlen, const char *what)
{
	return util_err(err, errlen, -EIO, "%s: %s", what, db_errmsg(db));
}

/* The id of the row that @sql finds by a 32-byte hash: 1 with *@id, 0 when
 * there is none, or -EIO naming the table @what. */
static int id_by_hash(struct db *db, const char *sql, const uint8_t hash[32], int64_t *id,
		      const char *what, char *err, size_t errlen)
{
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return sql_fail(db, err, errlen, what);
	struct db_binder b = db_binder(s);
	db_bind_blob(&b, hash, 32);
	int rc = db_bound_step(&b);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sql_fail(db, err, errlen, what);
}

static int cert_id(struct db *db, const struct x509_cert_info *c, time_t now, int64_t *id,
		   char *err, size_t errlen)
{
	int rc = id_by_hash(db, Q_CERT_SEL, c->sha256, id, "certificates", err, errlen);
	if (rc)
		return rc < 0 ? rc : 0;
	sqlite3_stmt *s = db_stmt(db, Q_CERT_INS);
	if (!s)
		return sql_fail(db, err, errlen, "certificates");
	struct db_binder b = db_binder(s);
	db_bind_blob(&b, c->sha256, 32);
	db_bind_blob(&b, c->der, c->der_len);
	db_bind_text(&b, c->subject ? c->subject : "");
	db_bind_text(&b, c->issuer ? c->issuer : "");
	db_bind_text(&b, c->serial);
	db_bind_int64(&b, (int64_t)c->not_before);
	db_bind_int64(&b, (int64_t)c->not_after);
	db_bind_text(&b, c->key_type);
	db_bind_int64(&b, c->key_bits);
	db_bind_blob(&b, c->spki_pin, 32);
	db_bind_int64(&b, c->is_ca);
	db_bind_int64(&b, (int64_t)now);
	rc = db_bound_step(&b);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return sql_fail(db, err, errlen, "inserting certificate");
	*id = sqlite3_last_insert_rowid(db_handle(db));
	return 0;
}

/* The id of chain @ch, stored (with its certificates) if new. */
static int chain_id(struct db *db, const struct x509_chain *ch, time_t now, int64_t *id, char *err,
		    size_t errlen)
{
	uint8_t digest[32];
	size_t n = ch->n > 64 ? 64 : ch->n;
	if (x509_chain_fingerprint(ch, n, digest))
		return util_err(err, errlen, -EIO, "hashing a chain failed");
	int rc = id_by_hash(db, Q_CHAIN_SEL, digest, id, "chains", err, errlen);
	if (rc)
		return rc < 0 ? rc : 0;
	int64_t cids[64];
	for (size_t i = 0; i < n; i++)
		if ((rc = cert_id(db, &ch->certs[i], now, &cids[i], err, errlen)) != 0)
			return rc;
	sqlite3_stmt *s = db_stmt(db, Q_CHAIN_INS);
	if (!s)
		return sql_fail(db, err, errlen, "chains");
	struct db_binder b = db_binder(s);
	db_bind_blob(&b, digest, 32);
	db_bind_int64(&b, (int64_t)n);
	rc = db_bound_step(&b);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return sql_fail(db, err, errlen, "inserting chain");
	*id = sqlite3_last_insert_rowid(db_handle(db));
	for (size_t i = 0; i < n; i++) {
		if (!(s = db_stmt(db, Q_CC_INS)))
			return sql_fail(db, err, errlen, "chain_certs");
		b = db_binder(s);
		db_bind_int64(&b, *id);
		db_bind_int64(&b, (int64_t)i);
		db_bind_int64(&b, cids[i]);
		rc = db_bound_step(&b);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return sql_fail(db, err, errlen, "inserting chain_certs");
	}
	return 0;
}

static void bind_id_or_null(struct db_binder *b, int64_t id)
{
	if (id)
		db_bind_int64(b, id);
	else
		db_bind_null(b);
}

/* Step the bound "latest row" query @b (id, outcome, presented, validated
 * chain) and put in *@last the id of that row when it is still open for
 * this result: same outcome and chains, so the probe only extends it; else 0. */
static int open_row(struct db *db, const struct db_binder *b, const struct probe_result *r,
		    int64_t pid, int64_t vid, int64_t *last, const char *table, char *err,
		    size_t errlen)
{
	sqlite3_stmt *s = b->st;
	*last = 0;
	int rc = db_bound_step(b);
	if (rc == SQLITE_ROW) {
		const char *o = (const char *)sqlite3_column_text(s, 1);
		if (o && !strcmp(o, r->outcome) && sqlite3_column_int64(s, 2) == pid &&
		    sqlite3_column_int64(s, 3) == vid)
			*last = sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sql_fail(db, err, errlen, table);
	return 0;
}

/* The row of a discovery probe (variant_observations), run-length encoded
 * like observations. */
static int record_variant(struct db *db, int64_t endpoint_id, const struct probe_result *r,
			  const char *addr, time_t now, int64_t pid, int64_t vid, bool *opened,
			  char *err, size_t errlen)
{
	const char *variant = variant_column(r->variant);
	sqlite3_stmt *s = db_stmt(db, Q_VAR_LAST);
	if (!s)
		return sql_fail(db, err, errlen, "variant_observations");
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, endpoint_id);
	db_bind_text(&b, addr);
	db_bind_text(&b, variant);
	int64_t last;
	int rc = open_row(db, &b, r, pid, vid, &last, "variant_observations", err, errlen);
	if (rc)
		return rc;
	if (last) {
		if (!(s = db_stmt(db, Q_VAR_UPD)))
			return sql_fail(db, err, errlen, "variant_observations");
		b = db_binder(s);
		db_bind_int64(&b, (int64_t)now);
		db_bind_text(&b, r->tls_version);
		db_bind_text(&b, r->cipher);
		db_bind_text(&b, r->detail);
		db_bind_int64(&b, last);
	} else {
		if (!(s = db_stmt(db, Q_VAR_INS)))
			return sql_fail(db, err, errlen, "variant_observations");
		b = db_binder(s);
		db_bind_int64(&b, endpoint_id);
		db_bind_text(&b, addr);
		db_bind_text(&b, variant);
		db_bind_text(&b, r->outcome[0] ? r->outcome : "unknown");
		bind_id_or_null(&b, pid);
		bind_id_or_null(&b, vid);
		db_bind_text(&b, r->handshake_ok ? r->tls_version : NULL);
		db_bind_text(&b, r->handshake_ok ? r->cipher : NULL);
		db_bind_text(&b, r->detail);
		db_bind_int64(&b, (int64_t)now);
		db_bind_int64(&b, (int64_t)now);
	}
	rc = db_bound_step(&b);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return sql_fail(db, err, errlen, "writing variant observation");
	if (opened)
		*opened = last == 0;
	return 0;
}

int obs_record(struct db *db, int64_t endpoint_id, const struct probe_result *r, bool *opened,
	       char *err, size_t errlen)
{
	int64_t pid = 0, vid = 0;
	time_t now = r->at ? r->at : util_now();
	int rc;

	if (r->handshake_ok && r->presented.n > 0) {
		if ((rc = chain_id(db, &r->presented, now, &pid, err, errlen)) != 0)
			return rc;
		if (r->validated.n > 0 &&
		    (rc = chain_id(db, &r->validated, now, &vid, err, errlen)) != 0)
			return rc;
	}
	return obs_record_ids(db, endpoint_id, r, pid, vid, opened, err, errlen);
}

int obs_record_ids(struct db *db, int64_t endpoint_id, const struct probe_result *r, int64_t pid,
		   int64_t vid, bool *opened, char *err, size_t errlen)
{
	time_t now = r->at ? r->at : util_now();
	const char *addr = r->address[0] ? r->address : OBS_NO_ADDRESS;
	int rc;
	if (opened)
		*opened = false;
	if (r->variant != PROBE_VARIANT_DEFAULT)
		return record_variant(db, endpoint_id, r, addr, now, pid, vid, opened, err, errlen);
	sqlite3_stmt *s = db_stmt(db, Q_OBS_LAST);
	if (!s)
		return sql_fail(db, err, errlen, "observations");
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, endpoint_id);
	db_bind_text(&b, addr);
	int64_t last;
	if ((rc = open_row(db, &b, r, pid, vid, &last, "observations", err, errlen)))
		return rc;
	if (last) {
		if (!(s = db_stmt(db, Q_OBS_UPD)))
			return sql_fail(db, err, errlen, "observations");
		b = db_binder(s);
		db_bind_int64(&b, (int64_t)now);
		db_bind_text(&b, r->tls_version);
		db_bind_text(&b, r->cipher);
		db_bind_text(&b, r->detail);
		db_bind_int64(&b, r->duration_ms);
		db_bind_int64(&b, last);
	} else {
		if (!(s = db_stmt(db, Q_OBS_INS)))
			return sql_fail(db, err, errlen, "observations");
		b = db_binder(s);
		db_bind_int64(&b, endpoint_id);
		db_bind_text(&b, addr);
		db_bind_text(&b, r->outcome[0] ? r->outcome : "unknown");
		bind_id_or_null(&b, pid);
		bind_id_or_null(&b, vid);
		if (r->handshake_ok) {
			db_bind_text(&b, r->tls_version);
			db_bind_text(&b, r->cipher);
			db_bind_int64(&b, r->trusted);
			db_bind_int64(&b, r->name_ok);
		} else {
			for (int i = 0; i < 4; i++)
				db_bind_null(&b);
		}
		db_bind_text(&b, r->detail);
		db_bind_int64(&b, (int64_t)now);
		db_bind_int64(&b, (int64_t)now);
		db_bind_int64(&b, r->duration_ms);
	}
	rc = db_bound_step(&b);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return sql_fail(db, err, errlen, "writing observation");
	if (opened)
		*opened = last == 0;
	return 0;
}

int obs_endpoint_probed(struct db *db, int64_t endpoint_id, time_t last_probe_at,
			time_t next_probe_at, char *err, size_t errlen)
{
	sqlite3_stmt *s = db_stmt(db, Q_EP_PROBED);
	if (!s)
		return sql_fail(db, err, errlen, "endpoints");
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, (int64_t)last_probe_at);
	db_bind_int64(&b, (int64_t)next_probe_at);
	db_bind_int64(&b, endpoint_id);
	int rc = db_bound_step(&b);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : sql_fail(db, err, errlen, "updating endpoint");
}

int obs_trust_begin(struct db *db, const uint8_t trust_id[32], time_t now, char *err, size_t errlen)
{
	sqlite3_stmt *s = db_stmt(db, Q_TRUST_SEL);
	if (!s)
		return sql_fail(db, err, errlen, "probe_trust");
	int rc = sqlite3_step(s);
	bool same = rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 32 &&
		    memcmp(sqlite3_column_blob(s, 0), trust_id, 32) == 0;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sql_fail(db, err, errlen, "probe_trust");
	if (same)
		return 0;
	if (!(s = db_stmt(db, Q_TRUST_SET)))
		return sql_fail(db, err, errlen, "probe_trust");
	struct db_binder b = db_binder(s);
	db_bind_blob(&b, trust_id, 32);
	db_bind_int64(&b, (int64_t)now);
	rc = db_bound_step(&b);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : sql_fail(db, err, errlen, "probe_trust");
}

int obs_reuse(struct db *db, int64_t endpoint_id, const struct probe_result *r,
	      const uint8_t digest[32], const uint8_t trust_id[32], time_t now, int64_t *pid,
	      int64_t *vid, char *err, size_t errlen)
{
	bool var = r->variant != PROBE_VARIANT_DEFAULT;
	sqlite3_stmt *s = db_stmt(db, var ? Q_REUSE_VAR : Q_REUSE);
	if (!s)
		return sql_fail(db, err, errlen, "reusing a verdict");
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, endpoint_id);
	db_bind_text(&b, r->address[0] ? r->address : OBS_NO_ADDRESS);
	db_bind_blob(&b, digest, 32);
	db_bind_int64(&b, (int64_t)(now - OBS_REUSE_S));
	db_bind_int64(&b, (int64_t)now);
	db_bind_blob(&b, trust_id, 32);
	if (var)
		db_bind_text(&b, variant_column(r->variant));
	int rc = db_bound_step(&b);
	if (rc == SQLITE_ROW) {
		*pid = sqlite3_column_int64(s, 0);
		*vid = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sql_fail(db, err, errlen, "reusing a verdict");
}

int obs_endpoint_discovered(struct db *db, int64_t endpoint_id, time_t at, char *err, size_t errlen)
{
	sqlite3_stmt *s = db_stmt(db, Q_EP_DISCOVERED);
	if (!s)
		return sql_fail(db, err, errlen, "endpoints");
	struct db_binder b = db_binder(s);
	if (at)
		db_bind_int64(&b, (int64_t)at);
	else
		db_bind_null(&b);
	db_bind_int64(&b, endpoint_id);
	int rc = db_bound_step(&b);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : sql_fail(db, err, errlen, "updating endpoint");
}

int obs_sweep_begin(struct db *db, time_t started_at, int64_t *id, char *err, size_t errlen)
{
	sqlite3_stmt *s = db_stmt(db, Q_SWEEP_INS);
	if (!s)
		return sql_fail(db, err, errlen, "sweeps");
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, (int64_t)started_at);
	int rc = db_bound_step(&b);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return sql_fail(db, err, errlen, "sweeps");
	*id = sqlite3_last_insert_rowid(db_handle(db));
	return 0;
}

int obs_sweep_end(struct db *db, int64_t id, time_t finished_at, int64_t probes, int64_t failures,
		  char *err, size_t errlen)
{
	sqlite3_stmt *s = db_stmt(db, Q_SWEEP_END);
	if (!s)
		return sql_fail(db, err, errlen, "sweeps");
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, (int64_t)finished_at);
	db_bind_int64(&b, probes);
	db_bind_int64(&b, failures);
	db_bind_int64(&b, id);
	int rc = db_bound_step(&b);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : sql_fail(db, err, errlen, "sweeps");
}

/* ---- reading ---- */

static void col_text(sqlite3_stmt *s, int i, char *out, size_t len)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	snprintf(out, len, "%s", t ? (const char *)t : "");
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return strdup(t ? (const char *)t : "");
}

int obs_chain_load(struct db *db, int64_t chain_id, struct x509_chain *out, char *err,
		   size_t errlen)
{
	memset(out, 0, sizeof(*out));
	/* Not from the statement cache: callers may hold a cached statement open. */
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db_handle(db), Q_CHAIN_LOAD, -1, &s, NULL) != SQLITE_OK)
		return sql_fail(db, err, errlen, "loading chain");
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, chain_id);
	int rc;
	size_t cap = 0;
	while ((rc = db_bound_step(&b)) == SQLITE_ROW) {
		if (out->n >= 64)
			break;
		if (ARRAY_RESERVE(out->certs, cap, out->n + 1, 64)) {
			rc = SQLITE_NOMEM;
			break;
		}
		struct x509_cert_info *c = &out->certs[out->n];
		memset(c, 0, sizeof(*c));
		int dl = sqlite3_column_bytes(s, 0);
		const void *der = sqlite3_column_blob(s, 0);
		const void *h = sqlite3_column_blob(s, 1), *p = sqlite3_column_blob(s, 2);
		if (!der || dl <= 0 || !h || !p || sqlite3_column_bytes(s, 1) != 32 ||
		    sqlite3_column_bytes(s, 2) != 32) {
			rc = SQLITE_CORRUPT;
			break;
		}
		c->der = malloc((size_t)dl);
		c->subject = col_dup(s, 3);
		c->issuer = col_dup(s, 4);
		if (!c->der || !c->subject || !c->issuer) {
			x509_cert_info_clear(c);
			rc = SQLITE_NOMEM;
			break;
		}
		memcpy(c->der, der, (size_t)dl);
		c->der_len = (size_t)dl;
		memcpy(c->sha256, h, 32);
		memcpy(c->spki_pin, p, 32);
		col_text(s, 5, c->serial, sizeof(c->serial));
		c->not_before = (time_t)sqlite3_column_int64(s, 6);
		c->not_after = (time_t)sqlite3_column_int64(s, 7);
		col_text(s, 8, c->key_type, sizeof(c->key_type));
		c->key_bits = (unsigned)sqlite3_column_int(s, 9);
		c->is_ca = sqlite3_column_int(s, 10) != 0;
		out->n++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		x509_chain_clear(out);
		return util_err(err, errlen, rc == SQLITE_NOMEM ? -ENOMEM : -EIO,
				"loading chain %lld failed", (long long)chain_id);
	}
	return out->n ? 0 : -ENOENT;
}

void obs_rows_free(struct obs_row *rows, size_t n)
{
	if (!rows)
		return;
	for (size_t i = 0; i < n; i++) {
		x509_chain_clear(&rows[i].presented);
		x509_chain_clear(&rows[i].validated);
	}
	free(rows);
}

static int load_rows(struct db *db, sqlite3_stmt *s, size_t limit, struct obs_row **rows, size_t *n,
		     char *err, size_t errlen)
{
	struct obs_row *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc;
	*rows = NULL;
	*n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && cnt < limit) {
		if (ARRAY_RESERVE(v, cap, cnt + 1, limit)) {
			obs_rows_free(v, cnt);
			return util_err(err, errlen, -ENOMEM, "out of memory");
		}
		struct obs_row *o = &v[cnt];
		memset(o, 0, sizeof(*o));
		o->id = sqlite3_column_int64(s, 0);
		o->endpoint_id = sqlite3_column_int64(s, 1);
		col_text(s, 2, o->address, sizeof(o->address));
		col_text(s, 3, o->outcome, sizeof(o->outcome));
		col_text(s, 4, o->detail, sizeof(o->detail));
		col_text(s, 5, o->tls_version, sizeof(o->tls_version));
		col_text(s, 6, o->cipher, sizeof(o->cipher));
		o->trusted =
			sqlite3_column_type(s, 7) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 7);
		o->name_ok =
			sqlite3_column_type(s, 8) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 8);
		o->first_seen = (time_t)sqlite3_column_int64(s, 9);
		o->last_seen = (time_t)sqlite3_column_int64(s, 10);
		o->probe_count = sqlite3_column_int64(s, 11);
		o->duration_ms = sqlite3_column_int64(s, 12);
		o->presented_chain_id = sqlite3_column_int64(s, 13);
		o->validated_chain_id = sqlite3_column_int64(s, 14);
		cnt++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		obs_rows_free(v, cnt);
		return sql_fail(db, err, errlen, "reading observations");
	}
	for (size_t i = 0; i < cnt; i++) {
		struct obs_row *o = &v[i];
		if ((o->presented_chain_id &&
		     (rc = obs_chain_load(db, o->presented_chain_id, &o->presented, err, errlen)) <
			     0 &&
		     rc != -ENOENT) ||
		    (o->validated_chain_id &&
		     (rc = obs_chain_load(db, o->validated_chain_id, &o->validated, err, errlen)) <
			     0 &&
		     rc != -ENOENT)) {
			obs_rows_free(v, cnt);
			return rc;
		}
	}
	*rows = v;
	*n = cnt;
	return 0;
}

int obs_latest(struct db *db, int64_t endpoint_id, time_t since, struct obs_row **rows, size_t *n,
	       char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db_handle(db), Q_LATEST, -1, &s, NULL) != SQLITE_OK)
		return sql_fail(db, err, errlen, "reading observations");
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, endpoint_id);
	db_bind_int64(&b, (int64_t)since);
	int rc = db_bound(&b) == SQLITE_OK ? load_rows(db, s, HISTORY_MAX, rows, n, err, errlen)
					   : sql_fail(db, err, errlen, "reading observations");
	sqlite3_finalize(s);
	return rc;
}

int obs_history(struct db *db, int64_t endpoint_id, const char *address, size_t limit,
		struct obs_row **rows, size_t *n, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	if (limit == 0 || limit > HISTORY_MAX)
		limit = HISTORY_MAX;
	if (sqlite3_prepare_v2(db_handle(db), Q_HISTORY, -1, &s, NULL) != SQLITE_OK)
		return sql_fail(db, err, errlen, "reading observations");
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, endpoint_id);
	db_bind_text(&b, address);
	db_bind_int64(&b, (int64_t)limit);
	int rc = db_bound(&b) == SQLITE_OK ? load_rows(db, s, limit, rows, n, err, errlen)
					   : sql_fail(db, err, errlen, "reading observations");
	sqlite3_finalize(s);
	return rc;
}
