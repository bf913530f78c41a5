#include "http_fixture.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/db.h"
#include "base/util.h"

struct gen {
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	uint8_t der[4096];
	size_t derlen;
	uint8_t spki[32];
	uint8_t sha[32];
	char subject[512];
	char issuer[512];
};

static int make_cert(struct gen *g, const char *cn, struct gen *issuer, int is_ca, time_t nb,
		     time_t na)
{
	uint8_t serial[8] = { 1 };
	if (gnutls_x509_privkey_init(&g->key) || gnutls_x509_crt_init(&g->crt))
		return -EIO;
	if (gnutls_x509_privkey_generate(g->key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0))
		return -EIO;
	gnutls_rnd(GNUTLS_RND_NONCE, serial + 1, sizeof(serial) - 1);
	gnutls_x509_crt_set_version(g->crt, 3);
	gnutls_x509_crt_set_serial(g->crt, serial, sizeof(serial));
	gnutls_x509_crt_set_activation_time(g->crt, nb);
	gnutls_x509_crt_set_expiration_time(g->crt, na);
	if (gnutls_x509_crt_set_dn_by_oid(g->crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn)))
		return -EIO;
	gnutls_x509_crt_set_key(g->crt, g->key);
	gnutls_x509_crt_set_basic_constraints(g->crt, is_ca, -1);
	if (!is_ca)
		gnutls_x509_crt_set_subject_alt_name(g->crt, GNUTLS_SAN_IPADDRESS,
						     "\x7f\x00\x00\x01", 4, GNUTLS_FSAN_SET);
	if (gnutls_x509_crt_sign2(g->crt, issuer ? issuer->crt : g->crt,
				  issuer ? issuer->key : g->key, GNUTLS_DIG_SHA256, 0))
		return -EIO;
	g->derlen = sizeof(g->der);
	if (gnutls_x509_crt_export(g->crt, GNUTLS_X509_FMT_DER, g->der, &g->derlen))
		return -EIO;
	gnutls_pubkey_t pub;
	uint8_t spki[1024];
	size_t spkilen = sizeof(spki);
	if (gnutls_pubkey_init(&pub))
		return -EIO;
	int rc = gnutls_pubkey_import_x509(pub, g->crt, 0) ||
		 gnutls_pubkey_export(pub, GNUTLS_X509_FMT_DER, spki, &spkilen);
	gnutls_pubkey_deinit(pub);
	if (rc || util_sha256(spki, spkilen, g->spki) || util_sha256(g->der, g->derlen, g->sha))
		return -EIO;
	size_t n = sizeof(g->subject);
	if (gnutls_x509_crt_get_dn(g->crt, g->subject, &n))
		return -EIO;
	n = sizeof(g->issuer);
	if (gnutls_x509_crt_get_issuer_dn(g->crt, g->issuer, &n))
		return -EIO;
	return 0;
}

static void free_cert(struct gen *g)
{
	if (g->crt)
		gnutls_x509_crt_deinit(g->crt);
	if (g->key)
		gnutls_x509_privkey_deinit(g->key);
	g->crt = NULL;
	g->key = NULL;
}

static int exec_ok(struct db *db, const char *sql)
{
	char err[ERRLEN];
	int rc = db_exec(db, sql, err, sizeof(err));
	if (rc)
		fprintf(stderr, "fixture: %s: %s\n", sql, err);
	return rc;
}

static int64_t insert_cert(struct db *db, const struct gen *g, int is_ca, time_t nb, time_t na)
{
	sqlite3_stmt *st = db_stmt(db, "INSERT INTO certificates (sha256, der, subject, issuer, "
				       "serial, not_before, not_after, "
				       "key_type, key_bits, spki_sha256, is_ca, first_seen) VALUES "
				       "(?, ?, ?, ?, ?, ?, ?, 'ECDSA', 256, ?, ?, ?)");
	if (!st)
		return -EIO;
	char serial[32];
	snprintf(serial, sizeof(serial), "%02x%02x%02x", g->sha[0], g->sha[1], g->sha[2]);
	sqlite3_bind_blob(st, 1, g->sha, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, g->der, (int)g->derlen, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, g->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, g->issuer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, serial, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, nb);
	sqlite3_bind_int64(st, 7, na);
	sqlite3_bind_blob(st, 8, g->spki, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, is_ca);
	sqlite3_bind_int64(st, 10, nb);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? sqlite3_last_insert_rowid(db_handle(db)) : -EIO;
}

static int64_t insert_chain(struct db *db, int64_t leaf, int64_t ca, const struct gen *l,
			    const struct gen *c)
{
	uint8_t cat[64], h[32];
	memcpy(cat, l->sha, 32);
	memcpy(cat + 32, c->sha, 32);
	util_sha256(cat, sizeof(cat), h);
	sqlite3_stmt *st = db_stmt(db, "INSERT INTO chains (sha256, length) VALUES (?, 2)");
	if (!st)
		return -EIO;
	sqlite3_bind_blob(st, 1, h, 32, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return -EIO;
	}
	sqlite3_reset(st);
	int64_t id = sqlite3_last_insert_rowid(db_handle(db));
	st = db_stmt(db, "INSERT INTO chain_certs (chain_id, pos, cert_id) VALUES (?, ?, ?)");
	for (int pos = 0; st && pos < 2; pos++) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int(st, 2, pos);
		sqlite3_bind_int64(st, 3, pos ? ca : leaf);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return -EIO;
	}
	return st ? id : -EIO;
}

static int64_t insert_endpoint(struct db *db, const char *host, const char *env, const char *owner,
			       const char *tag, time_t now)
{
	sqlite3_stmt *st =
		db_stmt(db, "INSERT INTO endpoints (host, port, environment, owner, created_at, "
			    "updated_at, next_probe_at) VALUES (?, 443, ?, ?, ?, ?, ?)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, env, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, now + 300);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	int64_t id = sqlite3_last_insert_rowid(db_handle(db));
	st = db_stmt(db, "INSERT INTO endpoint_tags (endpoint_id, tag) VALUES (?, ?)");
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? id : -EIO;
}

static int insert_obs(struct db *db, int64_t ep, const char *addr, const char *outcome,
		      int64_t chain, time_t first, time_t last)
{
	sqlite3_stmt *st = db_stmt(
		db,
		"INSERT INTO observations (endpoint_id, address, outcome, presented_chain_id, "
		"validated_chain_id, tls_version, cipher, trusted, name_ok, first_seen, last_seen, "
		"probe_count, duration_ms) VALUES (?, ?, ?, ?, ?, 'TLS1.3', 'AES-128-GCM', 1, 1, "
		"?, ?, 3, 42)");
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, ep);
	sqlite3_bind_text(st, 2, addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, outcome, -1, SQLITE_STATIC);
	if (chain > 0) {
		sqlite3_bind_int64(st, 4, chain);
		sqlite3_bind_int64(st, 5, chain);
	} else { /* no handshake: no chain */
		sqlite3_bind_null(st, 4);
		sqlite3_bind_null(st, 5);
	}
	sqlite3_bind_int64(st, 6, first);
	sqlite3_bind_int64(st, 7, last);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* 4.1.0 pins the key of the leaf served before (@old): stranded since the change. */
static int insert_app(struct db *db, struct fixture_ids *ids, const struct gen *ca,
		      const struct gen *old, time_t now)
{
	char b64_ca[48], b64_other[48], sql[2048];
	util_pin_b64(ca->spki, b64_ca);
	util_pin_b64(old->spki, b64_other);
	snprintf(ids->pin_ca, sizeof(ids->pin_ca), "%s", b64_ca);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO apps (name, platform, bundle_id, adoption_threshold, created_at, "
		 "updated_at) "
		 "VALUES ('shop-android', 'android', 'com.example.shop', 0.95, %lld, %lld);"
		 "INSERT INTO versions (app_id, version, released, created_at) VALUES "
		 "(last_insert_rowid(), '4.1.0', '2026-03-01', %lld);"
		 "INSERT INTO adoption (version_id, at, share) VALUES (last_insert_rowid(), "
		 "'2026-10-01', 0.35),"
		 "((SELECT max(id) FROM versions), '2026-11-01', 0.2);"
		 "INSERT INTO pin_policies (version_id, pattern, enforce) VALUES ((SELECT max(id) "
		 "FROM versions), 'api.example.test', 1);"
		 "INSERT INTO pins (policy_id, sha256, role) VALUES (last_insert_rowid(), '%s', "
		 "'current');"
		 "INSERT INTO versions (app_id, version, released, created_at) VALUES "
		 "((SELECT max(id) FROM apps), '4.2.0', '2026-09-01', %lld);"
		 "INSERT INTO adoption (version_id, at, share) VALUES (last_insert_rowid(), "
		 "'2026-10-01', 0.4),"
		 "((SELECT max(id) FROM versions), '2026-11-01', 0.8);"
		 "INSERT INTO pin_policies (version_id, pattern, enforce) VALUES ((SELECT max(id) "
		 "FROM versions), '**.example.test', 1);"
		 "INSERT INTO pins (policy_id, sha256, role) VALUES (last_insert_rowid(), '%s', "
		 "'current'),"
		 "((SELECT max(id) FROM pin_policies), '%s', 'backup');",
		 (long long)now, (long long)now, (long long)now, b64_other, (long long)now, b64_ca,
		 b64_other);
	int rc = exec_ok(db, sql);
	if (rc == 0)
		rc = db_query_int(db, "SELECT max(id) FROM apps", &ids->app);
	return rc;
}

int fixture_seed(struct db *db, size_t extra, struct fixture_ids *ids)
{
	struct gen ca = { 0 }, leaf = { 0 }, xss = { 0 }, old = { 0 };
	time_t now = util_now();
	time_t nb = now - 30 * 86400, na = now + 20 * 86400;
	int rc = -EIO;
	memset(ids, 0, sizeof(*ids));
	if (make_cert(&ca, "Fixture Test CA", NULL, 1, nb, now + 3650L * 86400) ||
	    make_cert(&leaf, "api.example.test", &ca, 0, nb, na) ||
	    make_cert(&xss, FIXTURE_XSS_CN, &ca, 0, nb, now + 5 * 86400) ||
	    make_cert(&old, "api.example.test", &ca, 0, nb - 30 * 86400, na))
		goto out;
	util_pin_b64(leaf.spki, ids->pin_leaf);
	if (db_begin(db))
		goto out;
	int64_t ca_id = insert_cert(db, &ca, 1, nb, now + 3650L * 86400);
	int64_t leaf_id = insert_cert(db, &leaf, 0, nb, na);
	int64_t xss_id = insert_cert(db, &xss, 0, nb, now + 5 * 86400);
	int64_t old_id = insert_cert(db, &old, 0, nb - 30 * 86400, na);
	if (ca_id < 0 || leaf_id < 0 || xss_id < 0 || old_id < 0)
		goto fail;
	int64_t chain = insert_chain(db, leaf_id, ca_id, &leaf, &ca);
	int64_t xchain = insert_chain(db, xss_id, ca_id, &xss, &ca);
	int64_t ochain = insert_chain(db, old_id, ca_id, &old, &ca);
	if (chain < 0 || xchain < 0 || ochain < 0)
		goto fail;
	util_pin_b64(old.spki, ids->pin_old_leaf);
	ids->endpoint_api =
		insert_endpoint(db, "api.example.test", "production", "payments", "api", now);
	ids->endpoint_xss = insert_endpoint(db, "xss.example.test", "staging", "web", "edge", now);
	if (ids->endpoint_api < 0 || ids->endpoint_xss < 0)
		goto fail;
	/* ::1 served the old leaf (5 min probes; a handshake failed once, 20 s
	 * before a probe-now; one probe timed out), was not returned for an
	 * hour, then came back with today's chain: a chain change after a real
	 * gap. Inserted first, so that the latest row of each address has the
	 * highest id. */
	if (insert_obs(db, ids->endpoint_api, "::1", "ok", ochain, now - 6 * 3600,
		       now - 5 * 3600 - 300) ||
	    insert_obs(db, ids->endpoint_api, "::1", "handshake_failed", ochain, now - 5 * 3600,
		       now - 5 * 3600) ||
	    insert_obs(db, ids->endpoint_api, "::1", "ok", ochain, now - 5 * 3600 + 20,
		       now - 3 * 3600) ||
	    insert_obs(db, ids->endpoint_api, "::1", "timeout", 0, now - 3 * 3600 + 300,
		       now - 3 * 3600 + 300) ||
	    insert_obs(db, ids->endpoint_api, "::1", "ok", ochain, now - 3 * 3600 + 600,
		       now - 2 * 3600) ||
	    insert_obs(db, ids->endpoint_api, "127.0.0.1", "handshake_failed", chain, now - 7200,
		       now - 3600) ||
	    insert_obs(db, ids->endpoint_api, "127.0.0.1", "ok", chain, now - 3600, now) ||
	    insert_obs(db, ids->endpoint_api, "::1", "ok", chain, now - 3600, now) ||
	    insert_obs(db, ids->endpoint_xss, "127.0.0.2", "ok", xchain, now - 600, now))
		goto fail;
	for (size_t i = 0; i < extra; i++) {
		char host[64];
		snprintf(host, sizeof(host), "bulk%zu.example.test", i);
		int64_t id = insert_endpoint(db, host, i % 2 ? "staging" : "production", "bulk",
					     i % 3 ? "bulk" : "api", now);
		if (id < 0 || insert_obs(db, id, "127.0.0.1", "ok", chain, now - 60, now))
			goto fail;
	}
	if (insert_app(db, ids, &ca, &old, now))
		goto fail;
	if (db_commit(db))
		goto fail;
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "fixture: %s\n", db_errmsg(db));
	db_rollback(db);
out:
	free_cert(&ca);
	free_cert(&leaf);
	free_cert(&xss);
	free_cert(&old);
	return rc;
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	int ok = fwrite(data, 1, len, f) == len;
	if (fclose(f) != 0)
		ok = 0;
	if (chmod(path, mode))
		ok = 0;
	return ok ? 0 : -EIO;
}

int fixture_tls_files(const char *cert_path, const char *key_path)
{
	struct gen g = { 0 };
	time_t now = util_now();
	int rc = -EIO;
	char buf[8192];
	size_t n;
	if (make_cert(&g, "127.0.0.1", NULL, 0, now - 3600, now + 86400))
		goto out;
	n = sizeof(buf);
	if (gnutls_x509_crt_export(g.crt, GNUTLS_X509_FMT_PEM, buf, &n) ||
	    write_file(cert_path, buf, n, 0644))
		goto out;
	n = sizeof(buf);
	if (gnutls_x509_privkey_export(g.key, GNUTLS_X509_FMT_PEM, buf, &n) ||
	    write_file(key_path, buf, n, 0600))
		goto out;
	rc = 0;
out:
	free_cert(&g);
	return rc;
}
