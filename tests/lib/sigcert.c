#include "sigcert.h"

#include <gnutls/abstract.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "base/util.h"

#ifndef TEST_DATA_DIR
#error TEST_DATA_DIR must be defined
#endif

int tcert_make(struct tcert *out, const char *cn, const char *const *dns,
	       const struct tcert *issuer, bool ca, time_t nb, time_t na,
	       const struct tcert *reuse_key)
{
	static unsigned serial_counter = 1;
	memset(out, 0, sizeof(*out));
	if (gnutls_x509_privkey_init(&out->key) < 0 || gnutls_x509_crt_init(&out->crt) < 0)
		return -1;
	if (reuse_key) {
		if (gnutls_x509_privkey_cpy(out->key, reuse_key->key) < 0)
			return -1;
	} else if (gnutls_x509_privkey_generate(out->key, GNUTLS_PK_ECDSA,
						GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
						0) < 0) {
		return -1;
	}
	unsigned serial = serial_counter++;
	unsigned char sb[4] = { 0x01, (unsigned char)(serial >> 16), (unsigned char)(serial >> 8),
				(unsigned char)serial };
	if (gnutls_x509_crt_set_version(out->crt, 3) < 0 ||
	    gnutls_x509_crt_set_serial(out->crt, sb, sizeof(sb)) < 0 ||
	    gnutls_x509_crt_set_activation_time(out->crt, nb) < 0 ||
	    gnutls_x509_crt_set_expiration_time(out->crt, na) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(out->crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
					  (unsigned)strlen(cn)) < 0 ||
	    gnutls_x509_crt_set_key(out->crt, out->key) < 0 ||
	    gnutls_x509_crt_set_basic_constraints(out->crt, ca ? 1 : 0, -1) < 0)
		return -1;
	for (size_t i = 0; dns && dns[i]; i++)
		if (gnutls_x509_crt_set_subject_alt_name(out->crt, GNUTLS_SAN_DNSNAME, dns[i],
							 (unsigned)strlen(dns[i]),
							 GNUTLS_FSAN_APPEND) < 0)
			return -1;
	if (issuer) {
		if (gnutls_x509_crt_sign2(out->crt, issuer->crt, issuer->key, GNUTLS_DIG_SHA256,
					  0) < 0)
			return -1;
	} else if (gnutls_x509_crt_sign2(out->crt, out->crt, out->key, GNUTLS_DIG_SHA256, 0) < 0) {
		return -1;
	}
	size_t len = sizeof(out->pem);
	if (gnutls_x509_crt_export(out->crt, GNUTLS_X509_FMT_PEM, out->pem, &len) < 0)
		return -1;
	out->der_len = sizeof(out->der);
	if (gnutls_x509_crt_export(out->crt, GNUTLS_X509_FMT_DER, out->der, &out->der_len) < 0)
		return -1;
	if (util_sha256(out->der, out->der_len, out->sha256))
		return -1;
	gnutls_pubkey_t pub;
	unsigned char spki[1024];
	size_t slen = sizeof(spki);
	if (gnutls_pubkey_init(&pub) < 0)
		return -1;
	int rc = gnutls_pubkey_import_x509(pub, out->crt, 0);
	if (rc >= 0)
		rc = gnutls_pubkey_export(pub, GNUTLS_X509_FMT_DER, spki, &slen);
	gnutls_pubkey_deinit(pub);
	if (rc < 0 || util_sha256(spki, slen, out->spki))
		return -1;
	util_pin_b64(out->spki, out->pin_b64);
	return 0;
}

void tcert_free(struct tcert *c)
{
	if (c->crt)
		gnutls_x509_crt_deinit(c->crt);
	if (c->key)
		gnutls_x509_privkey_deinit(c->key);
	memset(c, 0, sizeof(*c));
}

char *tcert_json_pem(const struct tcert *c, char *out, size_t outlen)
{
	size_t o = 0;
	for (const char *p = c->pem; *p && o + 3 < outlen; p++) {
		if (*p == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (*p == '/') {
			out[o++] = '\\';
			out[o++] = '/';
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return out;
}

char *tmpl_fill(const char *name, const char *const *kv)
{
	char path[512];
	char *text = NULL;
	size_t len;
	snprintf(path, sizeof(path), "%s/reports/%s", TEST_DATA_DIR, name);
	if (util_read_file(path, 1 << 20, &text, &len))
		return NULL;
	size_t cap = len + 1;
	for (size_t i = 0; kv && kv[i]; i += 2)
		cap += strlen(kv[i + 1]) * 8;
	char *out = malloc(cap);
	if (!out) {
		free(text);
		return NULL;
	}
	size_t o = 0;
	for (const char *p = text; *p;) {
		bool done = false;
		if (*p == '@') {
			for (size_t i = 0; kv && kv[i]; i += 2) {
				size_t kl = strlen(kv[i]);
				if (!strncmp(p + 1, kv[i], kl) && p[1 + kl] == '@') {
					size_t vl = strlen(kv[i + 1]);
					memcpy(out + o, kv[i + 1], vl);
					o += vl;
					p += kl + 2;
					done = true;
					break;
				}
			}
		}
		if (!done)
			out[o++] = *p++;
	}
	out[o] = '\0';
	free(text);
	return out;
}

static int64_t cert_row(struct db *db, const struct tcert *c, time_t now)
{
	sqlite3 *h = db_handle(db);
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(h,
			       "INSERT INTO certificates (sha256, der, subject, issuer, serial, "
			       "not_before, not_after, key_type, key_bits, spki_sha256, is_ca, "
			       "first_seen) VALUES (?1, ?2, 'CN=test', 'CN=test', '01', 0, 1, "
			       "'ECDSA P-256', 256, ?3, 0, ?4) ON CONFLICT (sha256) DO UPDATE SET "
			       "first_seen = first_seen RETURNING id",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_blob(s, 1, c->sha256, 32, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, c->der, (int)c->der_len, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, c->spki, 32, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, now);
	int64_t id = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_finalize(s);
	return id;
}

int tobs_add(struct db *db, int64_t endpoint_id, const struct tcert *const *chain, size_t n,
	     time_t first, time_t last)
{
	sqlite3 *h = db_handle(db);
	uint8_t buf[32 * 16], fp[32];
	char sql[512];
	for (size_t i = 0; i < n; i++)
		memcpy(buf + 32 * i, chain[i]->sha256, 32);
	util_sha256(buf, 32 * n, fp);
	char hex[65];
	util_hex(fp, 32, hex);
	snprintf(sql, sizeof(sql),
		 "INSERT OR IGNORE INTO chains (sha256, length) VALUES (x'%s', %zu)", hex, n);
	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	int64_t chain_id;
	snprintf(sql, sizeof(sql), "SELECT id FROM chains WHERE sha256 = x'%s'", hex);
	if (db_query_int(db, sql, &chain_id))
		return -1;
	for (size_t i = 0; i < n; i++) {
		int64_t cid = cert_row(db, chain[i], first);
		if (cid < 0)
			return -1;
		snprintf(sql, sizeof(sql),
			 "INSERT OR IGNORE INTO chain_certs VALUES (%lld, %zu, %lld)",
			 (long long)chain_id, i, (long long)cid);
		if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
			return -1;
	}
	snprintf(sql, sizeof(sql),
		 "INSERT INTO observations (endpoint_id, address, outcome, presented_chain_id, "
		 "first_seen, last_seen) VALUES (%lld, '127.0.0.1', 'ok', %lld, %lld, %lld)",
		 (long long)endpoint_id, (long long)chain_id, (long long)first, (long long)last);
	return sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int tseed_shop(struct db *db)
{
	char err[256];
	return db_exec(db,
		       "INSERT INTO endpoints (id, host, port, created_at, updated_at) VALUES "
		       "(1, 'api.example.com', 443, 0, 0), (2, 'other.example.com', 443, 0, 0);"
		       "INSERT INTO apps (id, name, platform, bundle_id, created_at, updated_at) "
		       "VALUES "
		       "(1, 'shop-ios', 'ios', 'com.example.shop', 0, 0),"
		       "(2, 'shop-android', 'android', 'com.example.shop', 0, 0);"
		       "INSERT INTO versions (id, app_id, version, created_at) VALUES "
		       "(11, 1, '4.2.0', 0), (21, 2, '4.2.0', 0);",
		       err, sizeof(err))
		       ? -1
		       : 0;
}
