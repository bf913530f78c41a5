/* Dual-certificate discovery against the loopback TLS farm: an endpoint with
 * an ECDSA and an RSA certificate (TLSFARM_KEY_DUAL) gives each variant of
 * the probe its own chain; the store keeps one run-length row per variant;
 * the loading edge hands both to the engine; the engine picks the chain per
 * platform (readiness_platform_chain), warns when the chains differ in their
 * pins and names the versions that accept only one of them. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <gnutls/gnutls.h>

#include "demo/tlsfarm.h"
#include "model/model.h"
#include "probe/probe.h"
#include "probe/scheduler.h"
#include "readiness/readiness.h"
#include "readiness/readiness_load.h"
#include "store/observations.h"
#include "testdb.h"

struct fx {
	struct tlsfarm_pki *pki;
	struct tlsfarm *farm;
	char ca[160];
	struct probe_ctx *ctx;
	struct probe_addr addr;
	uint8_t ec_pin[32], rsa_pin[32];
};

static int setup(void **state)
{
	char err[ERRLEN];
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->pki = tlsfarm_pki_new(err, sizeof(err));
	assert_non_null(f->pki);
	struct tlsfarm_opts fo = { .address = "127.0.0.1" };
	f->farm = tlsfarm_new(f->pki, &fo, err, sizeof(err));
	assert_non_null(f->farm);
	assert_int_equal(tlsfarm_add(f->farm, "dual.test", TLSFARM_NORMAL, TLSFARM_KEY_DUAL, err,
				     sizeof(err)),
			 0);
	assert_int_equal(tlsfarm_add(f->farm, "one.test", TLSFARM_NORMAL, TLSFARM_KEY_ECDSA_P256,
				     err, sizeof(err)),
			 0);
	assert_int_equal(tlsfarm_start(f->farm), 0);
	snprintf(f->ca, sizeof(f->ca), "/tmp/pinwatch-dualcert-ca-%d.pem", (int)getpid());
	assert_int_equal(tlsfarm_pki_write_ca(f->pki, f->ca, false), 0);
	f->ctx = probe_ctx_new(f->ca, err, sizeof(err));
	assert_non_null(f->ctx);
	size_t n = 0;
	assert_int_equal(probe_resolve("127.0.0.1", tlsfarm_port(f->farm), &f->addr, 1, &n, err,
				       sizeof(err)),
			 0);
	uint8_t pins[4][32];
	assert_true(tlsfarm_chain_pins(f->farm, "dual.test", pins, 4) >= 1);
	memcpy(f->ec_pin, pins[0], 32);
	assert_int_equal(tlsfarm_dual_rsa_pin(f->farm, "dual.test", f->rsa_pin), 0);
	assert_int_equal(tlsfarm_dual_rsa_pin(f->farm, "one.test", pins[0]), -ENOENT);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	probe_ctx_free(f->ctx);
	tlsfarm_free(f->farm);
	tlsfarm_pki_free(f->pki);
	unlink(f->ca);
	free(f);
	return 0;
}

static void probe_one(struct fx *f, const char *sni, enum probe_variant v, struct probe_result *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(probe_run_many_variant(f->ctx, &f->addr, 1, sni, 10000, v, r), 0);
	assert_int_equal(r->variant, v);
}

/* Each offer gets the certificate it allows; an ECDSA-only server gives the
 * RSA-only offer no chain. */
static void test_probe_variant_selects_certificate(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *sni;
		enum probe_variant v;
		int leaf; /* 1 ECDSA leaf, 2 RSA leaf, 0 no chain */
	} cases[] = {
		{ "dual.test", PROBE_VARIANT_ECDSA, 1 },
		{ "dual.test", PROBE_VARIANT_RSA, 2 },
		{ "one.test", PROBE_VARIANT_ECDSA, 1 },
		{ "one.test", PROBE_VARIANT_RSA, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct probe_result r;
		probe_one(f, cases[i].sni, cases[i].v, &r);
		if (cases[i].leaf == 0) {
			assert_false(r.handshake_ok);
			assert_int_equal(r.presented.n, 0);
		} else {
			assert_true(r.handshake_ok);
			assert_string_equal(r.outcome, "ok");
			assert_true(r.presented.n >= 1);
			if (!strcmp(cases[i].sni, "dual.test"))
				assert_memory_equal(r.presented.certs[0].spki_pin,
						    cases[i].leaf == 1 ? f->ec_pin : f->rsa_pin,
						    32);
			assert_string_equal(r.presented.certs[0].key_type,
					    cases[i].leaf == 1 ? "ECDSA P-256" : "RSA");
		}
		probe_result_clear(&r);
	}
	assert_string_equal(probe_variant_name(PROBE_VARIANT_DEFAULT), "default");
	enum probe_variant pv;
	assert_int_equal(probe_variant_parse("rsa", &pv), 0);
	assert_int_equal(pv, PROBE_VARIANT_RSA);
	assert_int_equal(probe_variant_parse("dsa", &pv), -EINVAL);
}

/* Discovery rows are run-length encoded per (address, variant) and stay out
 * of observations; the loading edge attaches them to the address. */
static void test_obs_record_variants_load(void **state)
{
	struct fx *f = *state;
	char err[ERRLEN];
	struct testdb *t = testdb_new();
	assert_non_null(t);
	assert_int_equal(db_exec(t->db,
				 "INSERT INTO endpoints (id, host, port, created_at, updated_at) "
				 "VALUES (1, 'dual.test', 443, 1, 1)",
				 err, sizeof(err)),
			 0);
	for (int round = 0; round < 2; round++)
		for (int v = 0; v < PROBE_NVARIANTS; v++) {
			struct probe_result r;
			bool opened = false;
			probe_one(f, "dual.test", (enum probe_variant)v, &r);
			r.at = 1000000 + round;
			assert_int_equal(obs_record(t->db, 1, &r, &opened, err, sizeof(err)), 0);
			assert_int_equal(opened, round == 0);
			probe_result_clear(&r);
		}
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM observations"), 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM variant_observations"), 2);
	assert_int_equal(testdb_int(t, "SELECT min(probe_count) FROM variant_observations"), 2);
	assert_int_equal(obs_endpoint_discovered(t->db, 1, 1000001, err, sizeof(err)), 0);
	assert_int_equal(testdb_int(t, "SELECT discovered_at FROM endpoints"), 1000001);

	struct readiness_observed o;
	assert_int_equal(readiness_load_endpoint(t->db, 1, 1000001, &o, err, sizeof(err)), 0);
	assert_int_equal(o.naddrs, 1);
	const struct readiness_address *a = &o.addrs[0];
	assert_int_equal(a->nvariants, 2);
	assert_string_equal(a->variants[0].variant, "ecdsa");
	assert_string_equal(a->variants[1].variant, "rsa");
	assert_memory_equal(a->variants[0].validated.certs[0].pin, f->ec_pin, 32);
	assert_memory_equal(a->variants[1].validated.certs[0].pin, f->rsa_pin, 32);
	/* Before the first discovery (--at): no variants. */
	readiness_observed_free(&o);
	assert_int_equal(readiness_load_endpoint(t->db, 1, 999999, &o, err, sizeof(err)), 0);
	assert_int_equal(o.naddrs, 0);
	readiness_observed_free(&o);
	testdb_free(t);
}

/* A fresh process reuses the stored verdict of an unchanged chain only while
 * chain, outcome, trust store, endpoint, time and validity all still hold. */
static void test_obs_reuse_table(void **state)
{
	struct fx *f = *state;
	char err[ERRLEN];
	struct testdb *t = testdb_new();
	assert_non_null(t);
	assert_int_equal(db_exec(t->db,
				 "INSERT INTO endpoints (id, host, port, created_at, updated_at) "
				 "VALUES (1, 'dual.test', 443, 1, 1)",
				 err, sizeof(err)),
			 0);
	struct probe_ctx *dctx = probe_ctx_new(f->ca, err, sizeof(err));
	assert_non_null(dctx);
	probe_ctx_defer_chains(dctx, true);
	uint8_t tid[32], other[32], dg[32];
	probe_ctx_trust_id(dctx, tid);
	memset(other, 0x42, 32);
	time_t now = util_now();
	assert_int_equal(obs_trust_begin(t->db, tid, now - 100, err, sizeof(err)), 0);

	struct probe_result r;
	memset(&r, 0, sizeof(r));
	assert_int_equal(probe_run_many(dctx, &f->addr, 1, "dual.test", 10000, &r), 0);
	assert_non_null(r.pending);
	assert_int_equal(probe_result_pending_digest(&r, dg), 0);
	int64_t pid = 0, vid = 0;
	assert_int_equal(obs_reuse(t->db, 1, &r, dg, tid, now, &pid, &vid, err, sizeof(err)), 0);
	probe_result_complete(&r);
	assert_string_equal(r.outcome, "ok");
	r.at = now - 50;
	assert_int_equal(obs_record(t->db, 1, &r, NULL, err, sizeof(err)), 0);
	probe_result_clear(&r);
	long long want_p = testdb_int(t, "SELECT presented_chain_id FROM observations");
	long long want_v = testdb_int(t, "SELECT validated_chain_id FROM observations");

	static const struct {
		const char *before, *after; /* SQL around the check */
		int trust;		    /* 0 tid, 1 other */
		time_t dt;		    /* added to now */
		int want;
	} cases[] = {
		{ NULL, NULL, 0, 0, 1 },
		{ NULL, NULL, 1, 0, 0 },		/* another trust store */
		{ NULL, NULL, 0, OBS_REUSE_S + 60, 0 }, /* confirmed too long ago */
		{ "UPDATE observations SET outcome = 'untrusted'",
		  "UPDATE observations SET outcome = 'ok'", 0, 0, 0 },
		{ "UPDATE endpoints SET updated_at = strftime('%s', 'now') + 100",
		  "UPDATE endpoints SET updated_at = 1", 0, 0, 0 }, /* edited since */
		{ "UPDATE certificates SET not_after = 1000",
		  "UPDATE certificates SET not_after = 4000000000", 0, 0, 0 }, /* expired */
		{ "UPDATE probe_trust SET since = strftime('%s', 'now') + 100",
		  "UPDATE probe_trust SET since = 1", 0, 0, 0 }, /* trust store changed */
		{ NULL, NULL, 0, 0, 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (cases[i].before)
			assert_int_equal(db_exec(t->db, cases[i].before, err, sizeof(err)), 0);
		memset(&r, 0, sizeof(r));
		assert_int_equal(probe_run_many(dctx, &f->addr, 1, "dual.test", 10000, &r), 0);
		assert_int_equal(probe_result_pending_digest(&r, dg), 0);
		pid = vid = 0;
		int got = obs_reuse(t->db, 1, &r, dg, cases[i].trust ? other : tid,
				    now + cases[i].dt, &pid, &vid, err, sizeof(err));
		if (got != cases[i].want)
			fail_msg("case %zu: %d, want %d", i, got, cases[i].want);
		if (got == 1) {
			assert_int_equal(pid, want_p);
			assert_int_equal(vid, want_v);
			probe_result_reuse_ok(&r);
			assert_null(r.pending);
			assert_true(r.handshake_ok && r.trusted && r.name_ok);
			assert_string_equal(r.outcome, "ok");
			r.at = now;
			bool opened = true;
			assert_int_equal(
				obs_record_ids(t->db, 1, &r, pid, vid, &opened, err, sizeof(err)),
				0);
			assert_false(opened); /* the same row, counted up */
		}
		probe_result_clear(&r);
		if (cases[i].after)
			assert_int_equal(db_exec(t->db, cases[i].after, err, sizeof(err)), 0);
	}
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM observations"), 1);
	assert_int_equal(testdb_int(t, "SELECT probe_count FROM observations"), 3);
	/* A new trust store moves `since`: nothing recorded before it stands. */
	assert_int_equal(obs_trust_begin(t->db, other, now, err, sizeof(err)), 0);
	assert_int_equal(testdb_int(t, "SELECT since FROM probe_trust"), (long long)now);
	assert_int_equal(obs_trust_begin(t->db, other, now + 5, err, sizeof(err)), 0);
	assert_int_equal(testdb_int(t, "SELECT since FROM probe_trust"), (long long)now);
	probe_ctx_free(dctx);
	testdb_free(t);
}

/* ---- the daemon: discovery at once after a chain change ---- */

static uint16_t run_port;

static int run_resolve(void *ud, const char *host, uint16_t port, struct probe_addr *out,
		       size_t max, size_t *n, char *err, size_t errlen)
{
	(void)ud;
	(void)host;
	(void)port;
	return probe_resolve("127.0.0.1", run_port, out, max, n, err, errlen);
}

struct runner {
	struct scheduler *s;
	volatile sig_atomic_t stop;
	int rc;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;
	char err[ERRLEN];
	r->rc = scheduler_run(r->s, &r->stop, NULL, NULL, NULL, err, sizeof(err));
	return NULL;
}

static long long wait_int(struct testdb *t, const char *sql, long long want)
{
	long long v = -1;
	for (int i = 0; i < 200 && (v = testdb_int(t, sql)) != want; i++)
		usleep(50000);
	return v;
}

static void test_scheduler_run_rediscovers_after_change(void **state)
{
	struct fx *f = *state;
	char err[ERRLEN];
	struct testdb *t = testdb_new();
	assert_non_null(t);
	run_port = tlsfarm_port(f->farm);
	assert_int_equal(
		db_exec(t->db,
			"INSERT INTO endpoints (id, host, port, interval_s, created_at, "
			"updated_at, next_probe_at) VALUES (1, 'dual.test', 443, 3600, 1, 1, "
			"0)",
			err, sizeof(err)),
		0);
	struct sched_opts o = { .timeout_ms = 5000,
				.ca_file = f->ca,
				.resolve = run_resolve,
				.discover_interval_s = 6 * 3600 };
	struct runner r = { .s = scheduler_new(t->path, &o, err, sizeof(err)) };
	assert_non_null(r.s);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, run_thread, &r), 0);
	/* First round: the normal probe, then discovery of the other kind. */
	assert_int_equal(wait_int(t, "SELECT count(DISTINCT variant) FROM variant_observations", 2),
			 2);
	assert_int_equal(wait_int(t, "SELECT count(*) FROM endpoints WHERE discovered_at > 0", 1),
			 1);
	/* New keys and leaves; the next normal probe sees the change and the
	 * scheduler discovers again at once, not in six hours. */
	assert_int_equal(tlsfarm_rotate(f->farm, "dual.test"), 0);
	assert_int_equal(scheduler_probe_now(r.s, 1), 0);
	assert_int_equal(
		wait_int(t, "SELECT count(*) FROM variant_observations WHERE variant = 'rsa'", 2),
		2);
	assert_int_equal(wait_int(t,
				  "SELECT count(*) FROM variant_observations WHERE variant = "
				  "'ecdsa'",
				  2),
			 2);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM observations"), 2);
	r.stop = 1;
	pthread_join(th, NULL);
	assert_int_equal(r.rc, 0);
	scheduler_free(r.s);
	/* The farm's new leaves are what discovery stored last. */
	uint8_t pins[4][32], rsa[32];
	assert_true(tlsfarm_chain_pins(f->farm, "dual.test", pins, 4) >= 1);
	assert_int_equal(tlsfarm_dual_rsa_pin(f->farm, "dual.test", rsa), 0);
	struct readiness_observed ob;
	assert_int_equal(readiness_load_endpoint(t->db, 1, util_now() + 1, &ob, err, sizeof(err)),
			 0);
	assert_int_equal(ob.naddrs, 1);
	assert_int_equal(ob.addrs[0].nvariants, 2);
	assert_memory_equal(ob.addrs[0].variants[0].presented.certs[0].pin, pins[0], 32);
	assert_memory_equal(ob.addrs[0].variants[1].presented.certs[0].pin, rsa, 32);
	readiness_observed_free(&ob);
	testdb_free(t);
}

/* ---- engine, on synthetic chains ---- */

static struct readiness_chain one_cert(uint8_t tag)
{
	struct readiness_chain c = { calloc(1, sizeof(struct readiness_cert)), 1 };
	assert_non_null(c.certs);
	memset(c.certs[0].pin, tag, 32);
	memset(c.certs[0].sha256, tag, 32);
	c.certs[0].subject = strdup("CN=api.test");
	c.certs[0].issuer = strdup("CN=ca");
	c.certs[0].not_after = 2000000000;
	return c;
}

static void test_readiness_platform_chain_table(void **state)
{
	(void)state;
	static const struct {
		bool ecdsa, rsa;
		enum app_platform p;
		uint8_t want; /* leaf pin tag; 0: NULL */
		const char *variant;
	} cases[] = {
		{ true, true, PLATFORM_ANDROID, 0xEC, "ecdsa" },
		{ true, true, PLATFORM_IOS, 0xEC, "ecdsa" },
		{ true, true, PLATFORM_OTHER, 0xDF, "default" },
		{ false, true, PLATFORM_ANDROID, 0xDF, "default" },
		{ false, false, PLATFORM_IOS, 0xDF, "default" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct readiness_address a = { 0 };
		a.address = strdup("192.0.2.1");
		a.validated = one_cert(0xDF);
		a.variants = calloc(2, sizeof(*a.variants));
		assert_non_null(a.variants);
		if (cases[i].ecdsa) {
			a.variants[a.nvariants].variant = strdup("ecdsa");
			a.variants[a.nvariants++].validated = one_cert(0xEC);
		}
		if (cases[i].rsa) {
			a.variants[a.nvariants].variant = strdup("rsa");
			a.variants[a.nvariants++].validated = one_cert(0x5A);
		}
		const char *var = NULL;
		const struct readiness_chain *c = readiness_platform_chain(&a, cases[i].p, &var);
		assert_non_null(c);
		assert_int_equal(c->certs[0].pin[0], cases[i].want);
		assert_string_equal(var, cases[i].variant);
		readiness_address_free(&a);
	}
}

/* One endpoint, one address; the default chain D, variants E (ecdsa) and R
 * (rsa). An Android app whose version pins @pin_tag. */
static void eval_case(uint8_t d_tag, uint8_t e_tag, uint8_t r_tag, uint8_t pin_tag,
		      bool want_differ, double want_stranded, size_t want_findings)
{
	struct pin pin = { .role = PIN_CURRENT };
	memset(pin.sha256, pin_tag, 32);
	struct pin_policy pol = {
		.pattern = "api.test", .enforce = true, .pins = &pin, .npins = 1
	};
	struct adoption_sample s = { .share = 1.0, .at_time = 1 };
	struct app_version ver = {
		.version = "1.0", .policies = &pol, .npolicies = 1, .adoption = &s, .nadoption = 1
	};
	struct app app = { .name = "droid",
			   .platform = PLATFORM_ANDROID,
			   .adoption_threshold = 0.9,
			   .versions = &ver,
			   .nversions = 1 };
	struct endpoint ep = { .host = "api.test", .port = 443, .environment = "production" };
	struct inventory inv = { .endpoints = &ep, .nendpoints = 1, .apps = &app, .napps = 1 };

	struct readiness_address a = { 0 };
	a.address = strdup("192.0.2.1");
	a.outcome = strdup("ok");
	a.validated = one_cert(d_tag);
	a.first_seen = 100;
	a.last_seen = 200;
	a.variants = calloc(2, sizeof(*a.variants));
	assert_non_null(a.variants);
	a.variants[0].variant = strdup("ecdsa");
	a.variants[0].validated = one_cert(e_tag);
	a.variants[1].variant = strdup("rsa");
	a.variants[1].validated = one_cert(r_tag);
	a.nvariants = 2;
	struct readiness_observed ob = { .addrs = &a, .naddrs = 1, .history_since = 100 };
	struct readiness_observations obs = { .eps = &ob, .neps = 1 };

	struct readiness_index *idx = readiness_index_new(&inv);
	assert_non_null(idx);
	struct readiness_opts o;
	readiness_opts_default(&o, 300);
	struct readiness_report rep;
	assert_int_equal(readiness_eval(idx, &obs, &o, &rep), 0);
	assert_int_equal(rep.eps[0].variants_differ, want_differ);
	if (want_differ)
		assert_true(rep.eps[0].severity >= READINESS_WARNING);
	assert_int_equal(rep.eps[0].napps, 1);
	assert_true(rep.eps[0].apps[0].now.stranded_share > want_stranded - 1e-9 &&
		    rep.eps[0].apps[0].now.stranded_share < want_stranded + 1e-9);
	size_t nf = 0;
	for (size_t i = 0; i < rep.findings.nfindings; i++)
		if (rep.findings.findings[i].id == LINT_CHAINS_DIFFER) {
			nf++;
			assert_int_equal(rep.findings.findings[i].severity, LINT_WARNING);
			assert_ptr_equal(rep.findings.findings[i].version_ref, &ver);
		}
	assert_int_equal(nf, want_findings);
	readiness_report_free(&rep);
	readiness_index_free(idx);
	readiness_address_free(&a);
}

static void test_readiness_eval_variants_table(void **state)
{
	(void)state;
	/* default RSA (0x5A) as nginx gives a GnuTLS default offer, ECDSA 0xEC */
	eval_case(0x5A, 0xEC, 0x5A, 0xEC, true, 0.0, 1);  /* android pins ECDSA: safe, finding */
	eval_case(0x5A, 0xEC, 0x5A, 0x5A, true, 1.0, 1);  /* android pins RSA only: stranded */
	eval_case(0x5A, 0x5A, 0x5A, 0x5A, false, 0.0, 0); /* one certificate: nothing */
	eval_case(0xEC, 0xEC, 0x77, 0x01, true, 1.0, 0);  /* pins neither: stranded, no finding */
}

int main(void)
{
	gnutls_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_variant_selects_certificate),
		cmocka_unit_test(test_obs_record_variants_load),
		cmocka_unit_test(test_obs_reuse_table),
		cmocka_unit_test(test_scheduler_run_rediscovers_after_change),
		cmocka_unit_test(test_readiness_platform_chain_table),
		cmocka_unit_test(test_readiness_eval_variants_table),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	gnutls_global_deinit();
	return rc;
}
