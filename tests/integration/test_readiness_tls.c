/* End to end with real TLS on loopback: a tlsfarm server, the real probe
 * (validation against a CA file holding only the root), observations stored
 * by the observation store (obs_record, as the scheduler does), an imported
 * inventory, and the readiness engine through readiness_check_db /
 * readiness_endpoint_db / readiness_whatif_db. A leaf rotation
 * on the live server moves the stranded share from 0 to the share of the
 * versions that pin only the old leaf key; a root pin survives although the
 * server never sends the root. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/db.h"
#include "store/inventory.h"
#include "importers/invfile.h"
#include "store/observations.h"
#include "probe/probe.h"
#include "readiness/readiness_load.h"
#include "demo/tlsfarm.h"
#include "base/util.h"

#define HOST "api.e2e.test"

static char dir[64], dbpath[128], capath[128], pempath[128];

/* Store one probe result with the observation store (observations.h), as
 * the scheduler does, at time @at. */
static void store_observation(struct db *db, struct probe_result *r, time_t at)
{
	char err[ERRLEN];
	int64_t id = 0;
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(db_handle(db),
					    "SELECT id FROM endpoints WHERE host = ?", -1, &s,
					    NULL),
			 SQLITE_OK);
	sqlite3_bind_text(s, 1, HOST, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	id = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	r->at = at;
	bool opened = false;
	assert_int_equal(db_begin(db), 0);
	if (obs_record(db, id, r, &opened, err, sizeof(err)) != 0)
		fail_msg("obs_record: %s", err);
	assert_int_equal(db_commit(db), 0);
	assert_true(opened);
}

static void probe_once(struct probe_ctx *ctx, uint16_t port, struct probe_result *out)
{
	struct sockaddr_in sin = { 0 };
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(
		probe_run_sync(ctx, (struct sockaddr *)&sin, sizeof(sin), HOST, 10000, out), 0);
	if (strcmp(out->outcome, "ok") != 0)
		fail_msg("probe outcome %s (%s)", out->outcome, out->detail);
	assert_int_equal(out->presented.n, 2); /* the server sends leaf + intermediate */
	assert_int_equal(out->validated.n, 3); /* completed to the root of the CA file */
}

static json_t *app_of(json_t *rep, const char *name)
{
	json_t *ep = json_array_get(json_object_get(rep, "endpoints"), 0), *a;
	size_t i;
	json_array_foreach(json_object_get(ep, "apps"), i,
			   a) if (strcmp(json_string_value(json_object_get(a, "app")), name) ==
				  0) return a;
	fail_msg("app %s missing", name);
	return NULL;
}

static double share(json_t *app, const char *scenario)
{
	return json_number_value(json_object_get(json_object_get(app, scenario), "stranded_share"));
}

static void test_rotation_on_a_live_server(void **state)
{
	(void)state;
	char err[ERRLEN];
	snprintf(dir, sizeof(dir), "/tmp/pinwatch-test-rdtls-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(dbpath, sizeof(dbpath), "%s/t.db", dir);
	snprintf(capath, sizeof(capath), "%s/ca.pem", dir);
	snprintf(pempath, sizeof(pempath), "%s/cand.pem", dir);

	struct tlsfarm_pki *pki = tlsfarm_pki_new(err, sizeof(err));
	assert_non_null(pki);
	struct tlsfarm_opts fo = { 0 };
	struct tlsfarm *farm = tlsfarm_new(pki, &fo, err, sizeof(err));
	assert_non_null(farm);
	assert_int_equal(
		tlsfarm_add(farm, HOST, TLSFARM_NORMAL, TLSFARM_KEY_ECDSA_P256, err, sizeof(err)),
		0);
	assert_int_equal(tlsfarm_start(farm), 0);
	assert_int_equal(tlsfarm_pki_write_ca(pki, capath, false), 0); /* root only */
	uint8_t pins[4][32], root[32];
	assert_int_equal(tlsfarm_chain_pins(farm, HOST, pins, 4), 2);
	assert_int_equal(tlsfarm_pki_pin(pki, 0, root), 0);
	char leaf_b64[48], inter_b64[48], root_b64[48];
	util_pin_b64(pins[0], leaf_b64);
	util_pin_b64(pins[1], inter_b64);
	util_pin_b64(root, root_b64);

	struct db *db = db_open(dbpath, 0, err, sizeof(err));
	assert_non_null(db);
	char doc[4096];
	snprintf(doc, sizeof(doc),
		 "{\"endpoints\": [{\"host\": \"" HOST "\", \"port\": 443}],"
		 " \"apps\": ["
		 "  {\"name\": \"shop-android\", \"platform\": \"android\", "
		 "\"adoption_threshold\": 0.9,"
		 "   \"versions\": ["
		 "    {\"version\": \"4.1.0\", \"adoption\": [{\"at\": \"2026-11-01\", \"share\": "
		 "0.155}],"
		 "     \"pin_policies\": [{\"pattern\": \"" HOST
		 "\", \"pins\": [{\"sha256\": \"%s\"}]}]},"
		 "    {\"version\": \"4.2.0\", \"adoption\": [{\"at\": \"2026-11-01\", \"share\": "
		 "0.075}],"
		 "     \"pin_policies\": [{\"pattern\": \"" HOST
		 "\", \"pins\": [{\"sha256\": \"%s\"}]}]},"
		 "    {\"version\": \"4.3.0\", \"adoption\": [{\"at\": \"2026-11-01\", \"share\": "
		 "0.77}],"
		 "     \"pin_policies\": [{\"pattern\": \"" HOST
		 "\", \"pins\": [{\"sha256\": \"%s\"},"
		 "       {\"sha256\": \"%s\"}]}]}]},"
		 "  {\"name\": \"shop-ios\", \"platform\": \"ios\", \"adoption_threshold\": 0.95,"
		 "   \"versions\": ["
		 "    {\"version\": \"2.0\", \"adoption\": [{\"at\": \"2026-11-01\", \"share\": "
		 "1.0}],"
		 "     \"pin_policies\": [{\"pattern\": \"**.e2e.test\", \"pins\": [{\"sha256\": "
		 "\"%s\"}]}]}]}"
		 "]}",
		 leaf_b64, leaf_b64, leaf_b64, root_b64, inter_b64);
	struct inventory inv;
	if (invfile_parse_text(doc, strlen(doc), &inv, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	if (inventory_import(db, "test", &inv, false, NULL, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	model_inventory_free(&inv);

	struct probe_ctx *ctx = probe_ctx_new(capath, err, sizeof(err));
	assert_non_null(ctx);
	struct probe_result r1 = { 0 }, r2 = { 0 };
	probe_once(ctx, tlsfarm_port(farm), &r1);
	time_t now = util_now();
	store_observation(db, &r1, now - 3600);

	json_t *rep = NULL;
	enum readiness_severity worst;
	assert_int_equal(readiness_check_db(db, now, &rep, &worst, err, sizeof(err)), 0);
	json_t *android = app_of(rep, "shop-android"), *ios = app_of(rep, "shop-ios");
	assert_true(share(android, "now") == 0);
	assert_true(share(ios, "now") == 0);
	assert_true(fabs(share(android, "key_rotation") - 0.23) < 1e-9);
	assert_true(worst != READINESS_CRITICAL);
	json_decref(rep);

	/* Rotate the live server's leaf key and probe again. */
	assert_int_equal(tlsfarm_rotate(farm, HOST), 0);
	probe_once(ctx, tlsfarm_port(farm), &r2);
	assert_memory_not_equal(r1.presented.certs[0].spki_pin, r2.presented.certs[0].spki_pin, 32);
	assert_memory_equal(r1.presented.certs[1].sha256, r2.presented.certs[1].sha256, 32);
	store_observation(db, &r2, now - 60);

	assert_int_equal(readiness_check_db(db, now, &rep, &worst, err, sizeof(err)), 0);
	android = app_of(rep, "shop-android");
	ios = app_of(rep, "shop-ios");
	if (fabs(share(android, "now") - 0.23) > 1e-9)
		fail_msg("stranded now %.6f, want 0.23", share(android, "now"));
	assert_true(share(ios, "now") == 0);
	assert_int_equal(worst, READINESS_CRITICAL);
	json_decref(rep);

	/* One endpoint alone, and an endpoint that is not inventoried. */
	json_t *one = NULL;
	assert_int_equal(readiness_endpoint_db(db, HOST, 443, now, &one, err, sizeof(err)), 0);
	assert_string_equal(json_string_value(json_object_get(one, "severity")), "critical");
	json_decref(one);
	assert_int_equal(
		readiness_endpoint_db(db, "nope.e2e.test", 443, now, &one, err, sizeof(err)),
		-ENOENT);

	/* What-if: the chain the server presents now, as a PEM the pipeline would upload. */
	assert_int_equal(tlsfarm_write_chain(farm, HOST, pempath), 0);
	char *pem = NULL;
	size_t pemlen = 0;
	assert_int_equal(util_read_file(pempath, READINESS_MAX_PEM, &pem, &pemlen), 0);
	/* the gate checks the chain against the probe's trust anchors */
	struct readiness_whatif_req req = {
		.host = HOST, .pem = pem, .pemlen = pemlen, .at = now, .ca_file = capath
	};
	json_t *w = NULL;
	bool risk = false;
	assert_int_equal(readiness_whatif_db(db, &req, &w, &risk, err, sizeof(err)), 0);
	assert_true(risk);
	assert_true(fabs(json_number_value(json_object_get(w, "max_stranded_share")) - 0.23) <
		    1e-9);
	json_decref(w);
	req.max_stranded = 0.25;
	assert_int_equal(readiness_whatif_db(db, &req, &w, &risk, err, sizeof(err)), 0);
	assert_false(risk);
	json_decref(w);
	free(pem);

	probe_result_clear(&r1);
	probe_result_clear(&r2);
	probe_ctx_free(ctx);
	db_close(db);
	tlsfarm_free(farm);
	tlsfarm_pki_free(pki);
	char p[160];
	static const char *const files[] = { "t.db", "t.db-wal", "t.db-shm", "ca.pem", "cand.pem" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotation_on_a_live_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
