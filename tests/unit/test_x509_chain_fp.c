/* unit.x509_chain_fp: chain fingerprints (x509_chain_fp_*, x509_chain_fingerprint)
 * are the values databases already hold. Pinned values were computed the old
 * way (every certificate's DER SHA-256 copied into one buffer, hashed at
 * once); every route to a fingerprint (digests, DER, parsed chains, the
 * store's chains table, reports, candidates) gives them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/util.h"
#include "pki/x509.h"
#include "signals/candidates.h"
#include "signals/reports.h"
#include "store/db.h"
#include "store/observations.h"
#include "fakecert.h"
#include "sigcert.h"
#include "testdb.h"

/* A known chain: stand-ins for the DER of a leaf, its intermediate and a
 * root (a fingerprint never parses them), and the fingerprints of its first
 * 0, 1, 2 and 3 certificates: SHA-256 over the concatenated SHA-256 of each
 * (Python: sha256(b"".join(sha256(t).digest() for t in tags[:n]))). */
static const char *const tags[] = { "pinwatch test leaf", "pinwatch test intermediate",
				    "pinwatch test root" };
static const char *const pinned[] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"cfbb0b9a6841264736f5f383ae6dafe212f4b41bfac942ab649e09e6fb62b9b1",
	"c02c78d7a631df6654ed2903eb0a15737d012f5b8bf8068d0ee59312b74680fe",
	"f4b27f657794a6e78cb4cb60fd573d54e167be50de03c4c4fa31e4ae2476b570",
};

#define MAX_TEST_CHAIN 64 /* the store's longest chain */

static char dir[64], path[128];
static struct db *db;

/* The old way: the digests copied into one buffer and hashed at once. */
static void old_fingerprint(const uint8_t (*sha)[32], size_t n, uint8_t out[32])
{
	uint8_t buf[MAX_TEST_CHAIN * 32];
	assert_true(n <= MAX_TEST_CHAIN);
	for (size_t i = 0; i < n; i++)
		memcpy(buf + 32 * i, sha[i], 32);
	assert_int_equal(util_sha256(buf, 32 * n, out), 0);
}

static void assert_hex(const uint8_t d[32], const char *want)
{
	char hex[65];
	util_hex(d, 32, hex);
	assert_string_equal(hex, want);
}

static void fake_chain(struct x509_chain *ch, const char *const *t, size_t n)
{
	memset(ch, 0, sizeof(*ch));
	ch->certs = calloc(n ? n : 1, sizeof(*ch->certs));
	assert_non_null(ch->certs);
	for (size_t i = 0; i < n; i++)
		fakecert_make(&ch->certs[i], t[i]);
	ch->n = n;
}

static void test_x509_chain_fp_pinned(void **state)
{
	(void)state;
	uint8_t sha[3][32], got[32];
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(util_sha256(tags[i], strlen(tags[i]), sha[i]), 0);
	struct x509_chain ch;
	fake_chain(&ch, tags, 3);
	for (size_t n = 0; n <= 3; n++) {
		old_fingerprint(sha, n, got);
		assert_hex(got, pinned[n]);

		struct x509_chain_fp fp;
		x509_chain_fp_init(&fp);
		for (size_t i = 0; i < n; i++)
			x509_chain_fp_add(&fp, sha[i]);
		assert_int_equal(x509_chain_fp_end(&fp, got), 0);
		assert_hex(got, pinned[n]);

		x509_chain_fp_init(&fp);
		for (size_t i = 0; i < n; i++)
			x509_chain_fp_add_der(&fp, tags[i], strlen(tags[i]));
		assert_int_equal(x509_chain_fp_end(&fp, got), 0);
		assert_hex(got, pinned[n]);

		assert_int_equal(x509_chain_fingerprint(&ch, n, got), 0);
		assert_hex(got, pinned[n]);
	}
	/* More than the chain holds: the whole chain. */
	assert_int_equal(x509_chain_fingerprint(&ch, 10, got), 0);
	assert_hex(got, pinned[3]);
	x509_chain_clear(&ch);
}

/* Reports key their chain by the served certificates, else the validated ones. */
static void test_x509_chain_fp_reports(void **state)
{
	(void)state;
	struct report_cert certs[3];
	uint8_t got[32];
	memset(certs, 0, sizeof(certs));
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(util_sha256(tags[i], strlen(tags[i]), certs[i].sha256), 0);
	static const struct {
		size_t nserved, nvalidated;
		size_t want; /* index into pinned[] */
	} cases[] = {
		{ 0, 0, 0 }, { 3, 0, 3 }, { 0, 2, 2 }, { 1, 3, 1 }, { 2, 3, 2 }, { 0, 1, 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct report r;
		memset(&r, 0, sizeof(r));
		r.served = certs;
		r.nserved = cases[i].nserved;
		r.validated = certs;
		r.nvalidated = cases[i].nvalidated;
		reports_chain_fingerprint(&r, got);
		assert_hex(got, pinned[cases[i].want]);
	}
}

/* Chains of every length the store keeps, boundaries included: the same
 * fingerprint as the old way, and order matters. */
static void test_x509_chain_fp_lengths(void **state)
{
	(void)state;
	static const size_t lengths[] = { 0, 1, 2, 16, 31, 32, 33, 63, 64 };
	static uint8_t sha[MAX_TEST_CHAIN][32];
	for (size_t i = 0; i < MAX_TEST_CHAIN; i++) {
		char t[32];
		snprintf(t, sizeof(t), "certificate %zu", i);
		assert_int_equal(util_sha256(t, strlen(t), sha[i]), 0);
	}
	for (size_t k = 0; k < ARRAY_SIZE(lengths); k++) {
		size_t n = lengths[k];
		struct x509_chain ch = { .certs = calloc(n ? n : 1, sizeof(*ch.certs)), .n = n };
		assert_non_null(ch.certs);
		for (size_t i = 0; i < n; i++)
			memcpy(ch.certs[i].sha256, sha[i], 32);
		uint8_t want[32], got[32];
		old_fingerprint(sha, n, want);
		assert_int_equal(x509_chain_fingerprint(&ch, n, got), 0);
		assert_memory_equal(got, want, 32);
		if (n >= 2) {
			memcpy(ch.certs[0].sha256, sha[1], 32);
			memcpy(ch.certs[1].sha256, sha[0], 32);
			assert_int_equal(x509_chain_fingerprint(&ch, n, got), 0);
			assert_memory_not_equal(got, want, 32);
		}
		free(ch.certs);
	}
}

/* The store keys the known chain (presented: all three; validated: leaf
 * and intermediate) by the pinned fingerprints. */
static void test_x509_chain_fp_store(void **state)
{
	(void)state;
	char err[ERRLEN];
	int64_t ep = 0;
	assert_int_equal(db_exec(db,
				 "INSERT INTO endpoints (host, port, created_at, updated_at) "
				 "VALUES ('api.example.test', 443, 1, 1)",
				 err, sizeof(err)),
			 0);
	assert_int_equal(db_query_int(db, "SELECT id FROM endpoints", &ep), 0);
	struct probe_result r;
	memset(&r, 0, sizeof(r));
	snprintf(r.address, sizeof(r.address), "192.0.2.1");
	snprintf(r.outcome, sizeof(r.outcome), "ok");
	r.at = 1700000000;
	r.handshake_ok = r.trusted = r.name_ok = true;
	fake_chain(&r.presented, tags, 3);
	fake_chain(&r.validated, tags, 2);
	assert_int_equal(db_begin(db), 0);
	if (obs_record(db, ep, &r, NULL, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(db_commit(db), 0);
	probe_result_clear(&r);
	int64_t n = 0;
	assert_int_equal(
		db_query_int(db,
			     "SELECT count(*) FROM chains WHERE "
			     "(lower(hex(sha256)) = "
			     "'f4b27f657794a6e78cb4cb60fd573d54e167be50de03c4c4fa31e4ae2476b570' "
			     "AND length = 3) OR (lower(hex(sha256)) = "
			     "'c02c78d7a631df6654ed2903eb0a15737d012f5b8bf8068d0ee59312b74680fe' "
			     "AND length = 2)",
			     &n),
		0);
	assert_int_equal(n, 2);
}

/* Candidates: a generated chain's key is its fingerprint, its leaf's the
 * leaf's DER SHA-256. */
static void test_x509_chain_fp_candidates(void **state)
{
	(void)state;
	const time_t now = 1795773600;
	const char *const names[] = { "example.com", NULL };
	struct tcert root, inter, leaf;
	assert_int_equal(tcert_make(&root, "FP Root", NULL, NULL, true, now - 900 * 86400,
				    now + 900 * 86400, NULL),
			 0);
	assert_int_equal(tcert_make(&inter, "FP Issuing CA", NULL, &root, true, now - 800 * 86400,
				    now + 800 * 86400, NULL),
			 0);
	assert_int_equal(tcert_make(&leaf, "example.com", names, &inter, false, now - 86400,
				    now + 90 * 86400, NULL),
			 0);
	char ca[128], pem[3 * 4096], err[ERRLEN];
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	FILE *f = fopen(ca, "w");
	assert_non_null(f);
	assert_true(fputs(root.pem, f) >= 0);
	assert_int_equal(fclose(f), 0);
	snprintf(pem, sizeof(pem), "%s%s", leaf.pem, inter.pem);

	int64_t id = 0;
	bool existed = true;
	assert_int_equal(candidates_add(db, "test", ca, (const uint8_t *)pem, strlen(pem),
					CANDIDATE_CT, NULL, now, &id, &existed, err, sizeof(err)),
			 0);
	assert_false(existed);
	uint8_t sha[2][32], want[32];
	memcpy(sha[0], leaf.sha256, 32);
	memcpy(sha[1], inter.sha256, 32);
	old_fingerprint(sha, 2, want);
	char hex[65], leafhex[65], sql[256];
	util_hex(want, 32, hex);
	util_hex(leaf.sha256, 32, leafhex);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM candidates WHERE lower(hex(chain_sha256)) = '%s' AND "
		 "lower(hex(leaf_sha256)) = '%s'",
		 hex, leafhex);
	int64_t n = 0;
	assert_int_equal(db_query_int(db, sql, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(unlink(ca), 0);
	tcert_free(&leaf);
	tcert_free(&inter);
	tcert_free(&root);
}

static int setup_all(void **state)
{
	(void)state;
	char err[ERRLEN];
	if (gnutls_global_init() < 0 ||
	    testdb_mkdir("chainfp", dir, sizeof(dir), path, sizeof(path)))
		return -1;
	db = db_open(path, 0, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "db_open: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	db_close(db);
	testdb_remove(path, dir);
	gnutls_global_deinit();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x509_chain_fp_pinned),
		cmocka_unit_test(test_x509_chain_fp_reports),
		cmocka_unit_test(test_x509_chain_fp_lengths),
		cmocka_unit_test(test_x509_chain_fp_store),
		cmocka_unit_test(test_x509_chain_fp_candidates),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
