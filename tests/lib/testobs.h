/* Rows of the observation tables (schema/001_init.sql, schema/010_dualcert.sql)
 * for tests of the store's readers and the readiness loader. Include after
 * <cmocka.h>: a row that cannot be written fails the test. */
#ifndef PINWATCH_TESTOBS_H
#define PINWATCH_TESTOBS_H

#include <stdio.h>

#include "store/db.h"
#include "base/util.h"

static inline void testobs_exec(struct db *db, const char *sql)
{
	char err[ERRLEN];
	if (db_exec(db, sql, err, sizeof(err)) != 0)
		fail_msg("%s: %s", sql, err);
}

/* Certificate @k issued by @issuer: sha256 {0,..,k}, spki {0,..,100+k},
 * CN=c<k>, valid until 1000000+k, DER x'30 k', first seen at 10*k. */
static inline void testobs_cert(struct db *db, int k, int issuer, int is_ca)
{
	char sql[768];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO certificates (id, sha256, der, subject, issuer, serial, not_before,"
		 " not_after, key_type, key_bits, spki_sha256, is_ca, first_seen) VALUES (%d,"
		 " x'00000000000000000000000000000000000000000000000000000000000000%02x', "
		 "x'30%02x', "
		 "'CN=c%d', 'CN=c%d', '01', 0, %d, 'ECDSA', 256,"
		 " x'00000000000000000000000000000000000000000000000000000000000000%02x', %d, %d)",
		 k, k, k, k, issuer, 1000000 + k, 100 + k, is_ca, 10 * k);
	testobs_exec(db, sql);
}

/* Chain @id of the @n certificates @certs, leaf first. */
static inline void testobs_chain(struct db *db, int id, const int *certs, int n)
{
	char sql[384];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO chains (id, sha256, length) VALUES (%d, "
		 "x'00000000000000000000000000000000000000000000000000000000000000%02x', %d)",
		 id, id, n);
	testobs_exec(db, sql);
	for (int i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO chain_certs VALUES (%d, %d, %d)", id, i,
			 certs[i]);
		testobs_exec(db, sql);
	}
}

/* Observation row @id of endpoint @ep; chain ids 0 are stored as NULL. */
static inline void testobs_obs(struct db *db, int id, int ep, const char *addr, const char *outcome,
			       int presented, int validated, int first, int last)
{
	char sql[512], p[16] = "NULL", v[16] = "NULL";
	if (presented)
		snprintf(p, sizeof(p), "%d", presented);
	if (validated)
		snprintf(v, sizeof(v), "%d", validated);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO observations (id, endpoint_id, address, outcome, presented_chain_id,"
		 " validated_chain_id, first_seen, last_seen) VALUES (%d, %d, '%s', '%s', %s, %s, "
		 "%d, %d)",
		 id, ep, addr, outcome, p, v, first, last);
	testobs_exec(db, sql);
}

#endif
