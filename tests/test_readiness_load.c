/* The readiness loader against a real database: latest row per address,
 * ties, "as of" filtering, previous chain (drift), pins seen, CA pool, PEM. */
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

#include "importers/invfile.h"
#include "store/db.h"
#include "store/inventory.h"
#include "readiness/readiness.h"
#include "readiness/readiness_load.h"
#include "base/util.h"

static char dir[64];
static char path[128];
static struct db *db;

static void exec(const char *sql)
{
	char err[ERRLEN];
	if (db_exec(db, sql, err, sizeof(err)) != 0)
		fail_msg("%s: %s", sql, err);
}

/* certificate k: sha256 = {k,..}, spki = {100+k,..}, CN=c<k> */
static void add_cert(int k, int issuer, int is_ca)
{
	char sql[768];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO certificates (id, sha256, der, subject, issuer, serial, not_before,"
		 " not_after, key_type, key_bits, spki_sha256, is_ca, first_seen) VALUES (%d,"
		 " x'00000000000000000000000000000000000000000000000000000000000000%02x', x'3000', "
		 "'CN=c%d', 'CN=c%d', '01', 0, %d, 'ECDSA', 256,"
		 " x'00000000000000000000000000000000000000000000000000000000000000%02x', %d, 0)",
		 k, k, k, issuer, 1000000 + k, 100 + k, is_ca);
	exec(sql);
}

static void add_chain(int id, const int *certs, int n)
{
	char sql[384];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO chains (id, sha256, length) VALUES (%d, "
		 "x'00000000000000000000000000000000000000000000000000000000000000%02x', %d)",
		 id, id, n);
	exec(sql);
	for (int i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO chain_certs VALUES (%d, %d, %d)", id, i,
			 certs[i]);
		exec(sql);
	}
}

static void add_obs(int id, const char *addr, const char *outcome, int presented, int validated,
		    int first, int last)
{
	char sql[512];
	char v[16] = "NULL";
	if (validated)
		snprintf(v, sizeof(v), "%d", validated);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO observations (id, endpoint_id, address, outcome, presented_chain_id,"
		 " validated_chain_id, first_seen, last_seen) VALUES (%d, 1, '%s', '%s', %d, %s, "
		 "%d, %d)",
		 id, addr, outcome, presented, v, first, last);
	exec(sql);
}

static int setup(void **state)
{
	(void)state;
	char err[ERRLEN];
	snprintf(dir, sizeof(dir), "/tmp/pinwatch-test-rdload-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	db = db_open(path, 0, err, sizeof(err));
	if (!db)
		return -1;
	exec("INSERT INTO endpoints (id, host, created_at, updated_at) VALUES (1, "
	     "'api.example.com', 0, 0)");
	add_cert(1, 2, 0); /* leaf X */
	add_cert(2, 3, 1); /* intermediate */
	add_cert(3, 3, 1); /* root */
	add_cert(4, 2, 0); /* leaf Y */
	add_chain(1, (int[]){ 1, 2 }, 2);
	add_chain(2, (int[]){ 1, 2, 3 }, 3);
	add_chain(3, (int[]){ 4, 2 }, 2);
	add_chain(4, (int[]){ 4, 2, 3 }, 3);
	/* address A: chain X, then chain Y */
	add_obs(1, "192.0.2.1", "ok", 1, 2, 100, 200);
	add_obs(2, "192.0.2.1", "ok", 3, 4, 300, 400);
	/* address B: chain X twice with the same last_seen: the higher id wins */
	add_obs(3, "192.0.2.2", "ok", 1, 2, 100, 400);
	add_obs(4, "192.0.2.2", "untrusted", 1, 0, 350, 400);
	/* address C appears much later: A and B are then gone (not seen for a day) */
	add_obs(5, "192.0.2.3", "ok", 3, 4, 200000, 300000);
	add_obs(6, "192.0.2.4", "ok", 3, 4, 200000, 300000 - 86400);	 /* exactly a day: kept */
	add_obs(7, "192.0.2.5", "ok", 3, 4, 200000, 300000 - 86400 - 1); /* gone */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char p[160];
	db_close(db);
	static const char *const sfx[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

static const struct readiness_address *addr(const struct readiness_observed *o, const char *a)
{
	for (size_t i = 0; i < o->naddrs; i++)
		if (strcmp(o->addrs[i].address, a) == 0)
			return &o->addrs[i];
	fail_msg("address %s missing", a);
	return NULL;
}

static time_t seen(const struct readiness_observed *o, int spki_last_byte)
{
	for (size_t i = 0; i < o->nseen; i++)
		if (o->seen[i].pin[31] == spki_last_byte)
			return o->seen[i].last_seen;
	return -1;
}

static void test_load_endpoint_latest_and_previous(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct readiness_observed o;
	assert_int_equal(readiness_load_endpoint(db, 1, 1000, &o, err, sizeof(err)), 0);
	assert_int_equal(o.naddrs, 2);
	const struct readiness_address *a = addr(&o, "192.0.2.1");
	assert_string_equal(a->outcome, "ok");
	assert_int_equal(a->presented.ncerts, 2);
	assert_int_equal(a->validated.ncerts, 3);
	assert_string_equal(a->presented.certs[0].subject, "CN=c4");
	assert_string_equal(a->validated.certs[2].subject, "CN=c3");
	assert_int_equal(a->validated.certs[2].pin[31], 103);
	assert_true(a->validated.certs[1].is_ca);
	assert_int_equal(a->first_seen, 300);
	assert_int_equal(a->previous.ncerts, 2); /* chain X before */
	assert_string_equal(a->previous.certs[0].subject, "CN=c1");
	const struct readiness_address *b = addr(&o, "192.0.2.2");
	assert_string_equal(b->outcome, "untrusted"); /* tie on last_seen: higher id */
	assert_int_equal(b->validated.ncerts, 0);
	assert_int_equal(b->presented.ncerts, 2);
	assert_int_equal(b->previous.ncerts, 0); /* same chain before: no drift */
	assert_int_equal(o.history_since, 100);
	assert_int_equal(seen(&o, 101), 400); /* leaf X, seen at B until 400 */
	assert_int_equal(seen(&o, 104), 400);
	assert_int_equal(seen(&o, 103), 400);
	readiness_observed_free(&o);
}

static void test_load_endpoint_as_of(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct readiness_observed o;
	assert_int_equal(readiness_load_endpoint(db, 1, 250, &o, err, sizeof(err)), 0);
	assert_int_equal(o.naddrs, 2);
	const struct readiness_address *a = addr(&o, "192.0.2.1");
	assert_string_equal(a->presented.certs[0].subject, "CN=c1");
	assert_int_equal(a->previous.ncerts, 0);
	assert_string_equal(addr(&o, "192.0.2.2")->outcome, "ok");
	assert_int_equal(seen(&o, 104), -1); /* leaf Y not seen yet */
	readiness_observed_free(&o);
	/* before anything: nothing */
	assert_int_equal(readiness_load_endpoint(db, 1, 50, &o, err, sizeof(err)), 0);
	assert_int_equal(o.naddrs, 0);
	assert_int_equal(o.history_since, 0);
	readiness_observed_free(&o);
	/* unknown endpoint: nothing */
	assert_int_equal(readiness_load_endpoint(db, 99, 1000, &o, err, sizeof(err)), 0);
	assert_int_equal(o.naddrs, 0);
	readiness_observed_free(&o);
}

static void test_load_endpoint_drops_gone_addresses(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct readiness_observed o;
	assert_int_equal(readiness_load_endpoint(db, 1, 400000, &o, err, sizeof(err)), 0);
	assert_int_equal(o.naddrs, 2);
	assert_string_equal(o.addrs[0].address, "192.0.2.3");
	assert_string_equal(o.addrs[1].address, "192.0.2.4");
	readiness_observed_free(&o);
}

static void test_load_ca_pool(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct readiness_chain pool;
	assert_int_equal(readiness_load_ca_pool(db, &pool, err, sizeof(err)), 0);
	assert_int_equal(pool.ncerts, 2);
	for (size_t i = 0; i < pool.ncerts; i++)
		assert_true(pool.certs[i].is_ca);
	readiness_chain_free(&pool);
}

static void test_chain_from_pem_bad_input(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct readiness_chain c;
	static const char *const bad[] = {
		"",
		"hello",
		"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"-----BEGIN CERTIFICATE-----\nMIIB",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		assert_int_equal(
			readiness_chain_from_pem(bad[i], strlen(bad[i]), &c, err, sizeof(err)),
			-EINVAL);
		assert_true(err[0] != '\0');
		assert_int_equal(c.ncerts, 0);
	}
}

/* NSC overridePins from an inventory file through the store to a verdict:
 * address 192.0.2.3's validated chain ends at certificate 3, whose SPKI pin
 * the policy of "anchored" names as an override anchor, so that version is
 * not stranded although none of its pins is in the chain; "plain" is. */
static void test_check_db_override_anchor_from_inventory(void **state)
{
	(void)state;
	uint8_t spki3[32] = { 0 };
	char b64[48], doc[2048], err[ERRLEN];
	spki3[31] = 100 + 3;
	util_pin_b64(spki3, b64);
	snprintf(doc, sizeof(doc),
		 "{\"endpoints\":[{\"host\":\"api.example.com\"}],\"apps\":["
		 "{\"name\":\"anchored\",\"platform\":\"android\",\"versions\":[{\"version\":"
		 "\"1.0\",\"adoption\":[{\"at\":\"1970-01-01\",\"share\":1}],\"pin_policies\":"
		 "[{\"pattern\":\"api.example.com\",\"source\":\"nsc\",\"pins\":[{\"sha256\":"
		 "\"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=\"}],\"override_anchors\":"
		 "[\"sha256/%s\"]}]}]},"
		 "{\"name\":\"plain\",\"platform\":\"android\",\"versions\":[{\"version\":"
		 "\"1.0\",\"adoption\":[{\"at\":\"1970-01-01\",\"share\":1}],\"pin_policies\":"
		 "[{\"pattern\":\"api.example.com\",\"source\":\"nsc\",\"pins\":[{\"sha256\":"
		 "\"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=\"}]}]}]}]}",
		 b64);
	struct inventory inv;
	struct inventory_import_stats st;
	assert_int_equal(invfile_parse_text(doc, strlen(doc), &inv, err, sizeof(err)), 0);
	assert_int_equal(inventory_import(db, "cli:test", &inv, false, &st, err, sizeof(err)), 0);
	model_inventory_free(&inv);
	json_t *rep = NULL;
	enum readiness_severity worst;
	assert_int_equal(readiness_check_db(db, 300000, &rep, &worst, err, sizeof(err)), 0);
	json_t *ep = json_array_get(json_object_get(rep, "endpoints"), 0), *app;
	size_t i, seen = 0;
	json_array_foreach(json_object_get(ep, "apps"), i, app)
	{
		const char *name = json_string_value(json_object_get(app, "app"));
		double s = json_number_value(
			json_object_get(json_object_get(app, "now"), "stranded_share"));
		if (strcmp(name, "anchored") == 0)
			assert_true(s == 0.0);
		else
			assert_true(s == 1.0);
		seen++;
	}
	assert_int_equal(seen, 2);
	json_decref(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_endpoint_latest_and_previous),
		cmocka_unit_test(test_load_endpoint_as_of),
		cmocka_unit_test(test_load_endpoint_drops_gone_addresses),
		cmocka_unit_test(test_load_ca_pool),
		cmocka_unit_test(test_chain_from_pem_bad_input),
		cmocka_unit_test(test_check_db_override_anchor_from_inventory),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
