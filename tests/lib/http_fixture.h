/* Test and benchmark fixture: seeds a database with endpoints, apps, real
 * certificates (generated now with GnuTLS) and observations, straight through
 * SQL so that HTTP tests do not depend on the store modules. */
#ifndef PINWATCH_HTTP_FIXTURE_H
#define PINWATCH_HTTP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

struct db;

/** The subject of the leaf that a browser must show as text. */
#define FIXTURE_XSS_CN "<img src=x onerror=alert(1)>"

struct fixture_ids {
	int64_t endpoint_api;  /**< api.example.test:443, observed, one stranding version */
	int64_t endpoint_xss;  /**< xss.example.test:443, leaf CN is FIXTURE_XSS_CN */
	int64_t app;	       /**< shop-android */
	char pin_leaf[48];     /**< base64 pin of the api leaf key */
	char pin_ca[48];       /**< base64 pin of the CA key */
	char pin_old_leaf[48]; /**< base64 pin of the leaf ::1 served before today's */
};

/**
 * Seed @db: the two endpoints above, @extra further synthetic endpoints
 * (bulk.N.example.test, alternating environments and tags) each with one
 * observation, and one app whose version 4.1.0 (share 0.2) pins the key of
 * the leaf api's ::1 served until two hours ago (not served now: stranded)
 * while 4.2.0 (0.8) pins the CA and that old key as a backup. History of
 * api: 127.0.0.1 handshake_failed then ok with today's chain; ::1 the old
 * chain (with a 20 s handshake failure and a one-probe timeout in it), an
 * hour without a row, then today's chain (a chain change). 0 or negative
 * errno.
 */
int fixture_seed(struct db *db, size_t extra, struct fixture_ids *ids);

/** Write a fresh self-signed certificate and key (PEM) for a TLS server on 127.0.0.1. 0 or -EIO. */
int fixture_tls_files(const char *cert_path, const char *key_path);

#endif
