/* integration.probe: probes against loopback TLS farms built at test time
 * (daemon/demo/tlsfarm.c), and the pinwatch binary's probe/pin output.
 * argv[1] is the path of the pinwatch executable. */
#include <arpa/inet.h>
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
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "probe/probe.h"
#include "demo/tlsfarm.h"
#include "store/audit.h"
#include "store/db.h"
#include "store/inventory.h"
#include "store/observations.h"
#include "base/util.h"
#include "testslow.h"

static const char *pinwatch_bin;
static char dir[64], ca_root[128], ca_both[128];
static struct tlsfarm_pki *pki;
static struct tlsfarm *farm, *silent, *garbage, *closer, *slow, *farm6;
static struct probe_ctx *ctx_root, *ctx_both;
static uint8_t root_pin[32], inter_pin[32];

static struct tlsfarm *mkfarm(const char *addr, enum tlsfarm_mode mode, bool all)
{
	char err[ERRLEN];
	struct tlsfarm_opts o = { .address = addr, .mode = mode };
	struct tlsfarm *f = tlsfarm_new(pki, &o, err, sizeof(err));
	if (!f) {
		fprintf(stderr, "farm: %s\n", err);
		return NULL;
	}
	static const struct {
		const char *name;
		enum tlsfarm_flavor fl;
		enum tlsfarm_key key;
	} eps[] = {
		{ "a.test", TLSFARM_NORMAL, TLSFARM_KEY_ECDSA_P256 },
		{ "rsa.test", TLSFARM_NORMAL, TLSFARM_KEY_RSA2048 },
		{ "leaf.test", TLSFARM_LEAF_ONLY, TLSFARM_KEY_ECDSA_P256 },
		{ "expired.test", TLSFARM_EXPIRED, TLSFARM_KEY_ECDSA_P256 },
		{ "wrong.test", TLSFARM_WRONG_NAME, TLSFARM_KEY_ECDSA_P256 },
		{ "self.test", TLSFARM_SELF_SIGNED, TLSFARM_KEY_ECDSA_P256 },
		{ "many.test", TLSFARM_MANY_CERTS, TLSFARM_KEY_ECDSA_P256 },
		{ "huge.test", TLSFARM_HUGE_CHAIN, TLSFARM_KEY_ECDSA_P256 },
	};
	for (size_t i = 0; i < (all ? ARRAY_SIZE(eps) : 1); i++)
		if (tlsfarm_add(f, eps[i].name, eps[i].fl, eps[i].key, err, sizeof(err))) {
			fprintf(stderr, "farm: %s\n", err);
			tlsfarm_free(f);
			return NULL;
		}
	if (tlsfarm_start(f)) {
		tlsfarm_free(f);
		return NULL;
	}
	return f;
}

static int setup_all(void **state)
{
	(void)state;
	char err[ERRLEN];
	snprintf(dir, sizeof(dir), "/tmp/pinwatch-test-probe-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(ca_root, sizeof(ca_root), "%s/root.pem", dir);
	snprintf(ca_both, sizeof(ca_both), "%s/both.pem", dir);
	pki = tlsfarm_pki_new(err, sizeof(err));
	if (!pki || tlsfarm_pki_write_ca(pki, ca_root, false) ||
	    tlsfarm_pki_write_ca(pki, ca_both, true) || tlsfarm_pki_pin(pki, 0, root_pin) ||
	    tlsfarm_pki_pin(pki, 1, inter_pin))
		return -1;
	farm = mkfarm("127.0.0.1", TLSFARM_TLS, true);
	silent = mkfarm("127.0.0.1", TLSFARM_SILENT, false);
	garbage = mkfarm("127.0.0.1", TLSFARM_GARBAGE, false);
	closer = mkfarm("127.0.0.1", TLSFARM_CLOSE_MID, false);
	slow = mkfarm("127.0.0.1", TLSFARM_SLOW, false);
	farm6 = mkfarm("::1", TLSFARM_TLS, false);
	ctx_root = probe_ctx_new(ca_root, err, sizeof(err));
	ctx_both = probe_ctx_new(ca_both, err, sizeof(err));
	if (!farm || !silent || !garbage || !closer || !slow || !farm6 || !ctx_root || !ctx_both)
		return -1;
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	tlsfarm_free(farm);
	tlsfarm_free(silent);
	tlsfarm_free(garbage);
	tlsfarm_free(closer);
	tlsfarm_free(slow);
	tlsfarm_free(farm6);
	probe_ctx_free(ctx_root);
	probe_ctx_free(ctx_both);
	tlsfarm_pki_free(pki);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void do_probe(struct probe_ctx *ctx, const char *addr, uint16_t port, const char *sni,
		     int timeout_ms, struct probe_result *r)
{
	struct probe_addr a;
	size_t n = 0;
	char err[ERRLEN];
	assert_int_equal(probe_resolve(addr, port, &a, 1, &n, err, sizeof(err)), 0);
	assert_int_equal(probe_run_sync(ctx, (struct sockaddr *)&a.ss, a.len, sni, timeout_ms, r),
			 0);
}

static void assert_pins(const struct x509_chain *ch, uint8_t (*want)[32], size_t n)
{
	assert_int_equal(ch->n, n);
	for (size_t i = 0; i < n; i++)
		assert_memory_equal(ch->certs[i].spki_pin, want[i], 32);
}

static void test_probe_run_sync_ok_chain_pins_and_order(void **state)
{
	(void)state;
	static const char *const names[] = { "a.test", "rsa.test", "a.test", "rsa.test" };
	for (size_t k = 0; k < ARRAY_SIZE(names); k++) {
		struct probe_result r;
		uint8_t pins[4][32];
		assert_int_equal(tlsfarm_chain_pins(farm, names[k], pins, 4), 2);
		assert_memory_equal(pins[1], inter_pin, 32);
		do_probe(ctx_root, "127.0.0.1", tlsfarm_port(farm), names[k], 5000, &r);
		assert_string_equal(r.outcome, "ok");
		assert_true(r.handshake_ok && r.trusted && r.name_ok && !r.truncated);
		assert_string_equal(r.address, "127.0.0.1");
		assert_pins(&r.presented, pins, 2);
		memcpy(pins[2], root_pin, 32);
		assert_pins(&r.validated, pins, 3);
		assert_string_equal(r.validated.certs[2].subject,
				    "O=pinwatch test,CN=pinwatch test root");
		assert_string_equal(r.presented.certs[0].key_type, k % 2 ? "RSA" : "ECDSA P-256");
		assert_true(r.presented.certs[1].is_ca && !r.presented.certs[0].is_ca);
		assert_true(strlen(r.tls_version) > 0 && strlen(r.cipher) > 0);
		probe_result_clear(&r);
	}
}

static void test_probe_run_sync_leaf_only_completed_from_ca_file(void **state)
{
	(void)state;
	struct probe_result r;
	uint8_t pins[3][32];
	assert_int_equal(tlsfarm_chain_pins(farm, "leaf.test", pins, 1), 1);
	memcpy(pins[1], inter_pin, 32);
	memcpy(pins[2], root_pin, 32);
	do_probe(ctx_both, "127.0.0.1", tlsfarm_port(farm), "leaf.test", 5000, &r);
	assert_string_equal(r.outcome, "ok");
	assert_pins(&r.presented, pins, 1);
	assert_pins(&r.validated, pins, 3);
	probe_result_clear(&r);
	/* Without the intermediate the chain cannot be completed. */
	do_probe(ctx_root, "127.0.0.1", tlsfarm_port(farm), "leaf.test", 5000, &r);
	assert_string_equal(r.outcome, "untrusted");
	assert_false(r.trusted);
	assert_pins(&r.validated, pins, 1);
	probe_result_clear(&r);
}

static void test_probe_run_sync_verification_failures_keep_chain(void **state)
{
	(void)state;
	static const struct {
		const char *name, *outcome;
		size_t presented;
		bool trusted, name_ok;
	} cases[] = {
		{ "expired.test", "expired", 2, false, true },
		{ "wrong.test", "name_mismatch", 2, true, false },
		{ "self.test", "untrusted", 1, false, true },
	};
	/* Twice: the second pass is answered from the probe context's caches. */
	for (size_t i = 0; i < 2 * ARRAY_SIZE(cases); i++) {
		struct probe_result r;
		uint8_t pins[2][32];
		size_t c = i % ARRAY_SIZE(cases);
		assert_int_equal(tlsfarm_chain_pins(farm, cases[c].name, pins, 2),
				 (int)cases[c].presented);
		do_probe(ctx_root, "127.0.0.1", tlsfarm_port(farm), cases[c].name, 5000, &r);
		assert_string_equal(r.outcome, cases[c].outcome);
		assert_true(r.handshake_ok);
		assert_int_equal(r.trusted, cases[c].trusted);
		assert_int_equal(r.name_ok, cases[c].name_ok);
		assert_pins(&r.presented, pins, cases[c].presented);
		assert_true(r.validated.n >= 1);
		assert_non_null(r.presented.certs[0].subject);
		probe_result_clear(&r);
	}
}

static void test_probe_run_sync_chain_limits(void **state)
{
	(void)state;
	struct probe_result r;
	do_probe(ctx_root, "127.0.0.1", tlsfarm_port(farm), "many.test", 5000, &r);
	assert_string_equal(r.outcome, "ok");
	assert_true(r.truncated);
	assert_int_equal(r.presented.n, X509_MAX_CHAIN);
	assert_non_null(strstr(r.detail, "32 certificates"));
	probe_result_clear(&r);
	do_probe(ctx_root, "127.0.0.1", tlsfarm_port(farm), "huge.test", 5000, &r);
	assert_string_equal(r.outcome, "tls_error:chain_too_large");
	assert_false(r.handshake_ok);
	assert_int_equal(r.presented.n, 0);
	probe_result_clear(&r);
}

/* With deferral the handshake ends the probe and the chain waits; completing
 * it later (on another thread in the scheduler) gives what a probe without
 * deferral gives, for every verdict and for the chain limit. */
static void test_probe_deferred_chain_matches_direct(void **state)
{
	(void)state;
	static const char *const names[] = { "a.test",	  "rsa.test",  "expired.test", "wrong.test",
					     "self.test", "many.test", "leaf.test",    "a.test" };
	char err[ERRLEN];
	struct probe_ctx *dctx = probe_ctx_new(ca_both, err, sizeof(err));
	assert_non_null(dctx);
	probe_ctx_defer_chains(dctx, true);
	for (size_t k = 0; k < ARRAY_SIZE(names); k++) {
		struct probe_result d, r;
		do_probe(dctx, "127.0.0.1", tlsfarm_port(farm), names[k], 5000, &d);
		assert_non_null(d.pending);
		assert_string_equal(d.outcome, "");
		assert_int_equal(d.presented.n, 0);
		assert_true(strlen(d.tls_version) > 0);
		probe_result_complete(&d);
		assert_null(d.pending);
		probe_result_complete(&d); /* nothing pending: no-op */
		do_probe(ctx_both, "127.0.0.1", tlsfarm_port(farm), names[k], 5000, &r);
		assert_string_equal(d.outcome, r.outcome);
		assert_string_equal(d.detail, r.detail);
		assert_true(d.handshake_ok == r.handshake_ok && d.trusted == r.trusted &&
			    d.name_ok == r.name_ok && d.truncated == r.truncated);
		assert_int_equal(d.presented.n, r.presented.n);
		assert_int_equal(d.validated.n, r.validated.n);
		for (size_t i = 0; i < r.presented.n; i++)
			assert_memory_equal(d.presented.certs[i].sha256,
					    r.presented.certs[i].sha256, 32);
		for (size_t i = 0; i < r.validated.n; i++)
			assert_memory_equal(d.validated.certs[i].sha256,
					    r.validated.certs[i].sha256, 32);
		probe_result_clear(&d);
		probe_result_clear(&r);
	}
	/* A result cleared while pending frees its copy (checked by ASan). */
	struct probe_result d;
	do_probe(dctx, "127.0.0.1", tlsfarm_port(farm), "a.test", 5000, &d);
	assert_non_null(d.pending);
	probe_result_clear(&d);
	/* Failures before the handshake completes are never pending. */
	do_probe(dctx, "127.0.0.1", tlsfarm_port(garbage), "a.test", 5000, &d);
	assert_null(d.pending);
	assert_true(strncmp(d.outcome, "tls_error:", 10) == 0);
	probe_result_clear(&d);
	probe_ctx_free(dctx);
}

static void test_probe_run_sync_refused(void **state)
{
	(void)state;
	struct probe_result r;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd); /* nothing listens on that port now */
	do_probe(ctx_root, "127.0.0.1", ntohs(sa.sin_port), "a.test", 5000, &r);
	assert_string_equal(r.outcome, "refused");
	assert_false(r.handshake_ok);
	probe_result_clear(&r);
}

static void test_probe_run_sync_hostile_servers(void **state)
{
	(void)state;
	struct probe_result r;
	/* Silent and slow (one byte a second, which a per-read timeout would
	 * never end): the probe ends at its timeout. The bound allows 50% for
	 * scheduling delays on a loaded 2-core CI machine (10% flaked there). */
	struct tlsfarm *slowpokes[] = { silent, slow };
	for (size_t i = 0; i < ARRAY_SIZE(slowpokes); i++) {
		do_probe(ctx_root, "127.0.0.1", tlsfarm_port(slowpokes[i]), "a.test", 1000, &r);
		assert_string_equal(r.outcome, "timeout");
		assert_in_range(r.duration_ms, 1000, 1000 + test_ms(500));
		probe_result_clear(&r);
	}
	struct tlsfarm *broken[] = { garbage, closer };
	for (size_t i = 0; i < ARRAY_SIZE(broken); i++) {
		do_probe(ctx_root, "127.0.0.1", tlsfarm_port(broken[i]), "a.test", 5000, &r);
		assert_int_equal(strncmp(r.outcome, "tls_error:", 10), 0);
		assert_false(r.handshake_ok);
		assert_true(r.duration_ms < 5000);
		probe_result_clear(&r);
	}
}

static void test_probe_run_sync_ipv6(void **state)
{
	(void)state;
	struct probe_result r;
	do_probe(ctx_root, "::1", tlsfarm_port(farm6), "a.test", 5000, &r);
	assert_string_equal(r.outcome, "ok");
	assert_string_equal(r.address, "::1");
	assert_int_equal(r.validated.n, 3);
	probe_result_clear(&r);
}

static void test_probe_run_many_mixed(void **state)
{
	(void)state;
	enum { N = 40 };
	struct probe_addr addrs[N];
	struct probe_result res[N];
	size_t n;
	char err[ERRLEN];
	for (size_t i = 0; i < N; i++) {
		uint16_t port = i % 4 == 0 ? tlsfarm_port(silent) : tlsfarm_port(farm);
		assert_int_equal(
			probe_resolve("127.0.0.1", port, &addrs[i], 1, &n, err, sizeof(err)), 0);
	}
	int64_t t0 = util_mono_ms();
	assert_int_equal(probe_run_many(ctx_root, addrs, N, "a.test", 1500, res), 0);
	/* concurrent: one timeout, not 10 x 1.5 s */
	assert_true(util_mono_ms() - t0 < 1500 + test_ms(1500));
	for (size_t i = 0; i < N; i++) {
		assert_string_equal(res[i].outcome, i % 4 == 0 ? "timeout" : "ok");
		probe_result_clear(&res[i]);
	}
}

/* ---- the binary ---- */

static int run_bin(const char *args, char **out)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s %s 2>%s/stderr", pinwatch_bin, args, dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 1 << 20, len = 0;
	*out = calloc(1, cap + 1);
	assert_non_null(*out);
	size_t r;
	while ((r = fread(*out + len, 1, cap - len, p)) > 0)
		len += r;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void read_stderr(char *buf, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/stderr", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void test_cli_probe_json_pins(void **state)
{
	(void)state;
	char args[512], *out = NULL, b64[48];
	uint8_t pins[2][32];
	assert_int_equal(tlsfarm_chain_pins(farm, "a.test", pins, 2), 2);
	snprintf(args, sizeof(args), "probe --json --ca-file %s --address 127.0.0.1 a.test:%u",
		 ca_root, tlsfarm_port(farm));
	assert_int_equal(run_bin(args, &out), 0);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	assert_non_null(j);
	json_t *a0 = json_array_get(json_object_get(j, "addresses"), 0);
	assert_string_equal(json_string_value(json_object_get(a0, "outcome")), "ok");
	json_t *pres = json_object_get(a0, "presented_chain"),
	       *val = json_object_get(a0, "validated_chain");
	assert_int_equal(json_array_size(pres), 2);
	assert_int_equal(json_array_size(val), 3);
	for (size_t i = 0; i < 2; i++)
		assert_string_equal(
			json_string_value(json_object_get(json_array_get(pres, i), "pin")),
			util_pin_b64(pins[i], b64));
	assert_string_equal(json_string_value(json_object_get(json_array_get(val, 2), "pin")),
			    util_pin_b64(root_pin, b64));
	json_decref(j);
	free(out);

	/* Text form names the outcome and pins; a silent server exits 3. */
	snprintf(args, sizeof(args), "probe --hex --ca-file %s --address 127.0.0.1 a.test:%u",
		 ca_root, tlsfarm_port(farm));
	assert_int_equal(run_bin(args, &out), 0);
	assert_non_null(strstr(out, "127.0.0.1 port"));
	assert_non_null(strstr(out, util_pin_b64(pins[0], b64)));
	free(out);
	snprintf(args, sizeof(args), "probe --timeout 300 --address 127.0.0.1 a.test:%u",
		 tlsfarm_port(silent));
	assert_int_equal(run_bin(args, &out), 3);
	assert_non_null(strstr(out, ": timeout"));
	free(out);
	snprintf(args, sizeof(args), "probe --ca-file %s '[::1]:%u' --sni a.test", ca_root,
		 tlsfarm_port(farm6));
	assert_int_equal(run_bin(args, &out), 0);
	assert_non_null(strstr(out, "::1 port"));
	free(out);
	static const char *const bad[] = { "probe host:99999", "probe '[::1'",
					   "probe host:", "probe --timeout 5 host", "probe a b" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(run_bin(bad[i], &out), 2);
		assert_string_equal(out, "");
		free(out);
	}
}

/* The endpoint rows, their audit rows and observation count of @path. */
static void store_state(const char *path, struct endpoint **eps, size_t *nep, size_t *naudit,
			size_t *nobs)
{
	char err[ERRLEN];
	struct db *db = db_open(path, DB_NO_CHECK, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(inventory_endpoint_list(db, eps, nep, err, sizeof(err)), 0);
	struct audit_filter f = { .object_type = "endpoint" };
	json_t *rows = NULL;
	assert_int_equal(audit_list(db, &f, &rows, err, sizeof(err)), 0);
	*naudit = json_array_size(rows);
	for (size_t i = 0; i < *naudit; i++) {
		json_t *r = json_array_get(rows, i);
		assert_string_equal(json_string_value(json_object_get(r, "action")), "create");
		assert_non_null(strstr(json_string_value(json_object_get(r, "actor")), "cli:"));
	}
	json_decref(rows);
	*nobs = 0;
	for (size_t i = 0; i < *nep; i++) {
		struct obs_row *o = NULL;
		size_t n = 0;
		assert_int_equal(obs_latest(db, (*eps)[i].id, 0, &o, &n, err, sizeof(err)), 0);
		*nobs += n;
		obs_rows_free(o, n);
	}
	assert_int_equal(
		audit_verify(db, NULL, &(struct audit_verify_result){ 0 }, err, sizeof(err)), 0);
	db_close(db);
}

static void free_eps(struct endpoint *eps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		model_endpoint_free(&eps[i]);
	free(eps);
}

/* probe --store creates the endpoint through the inventory store: host and
 * SNI normalised, one audit row; probing it again records observations
 * only; a HOST the inventory refuses is refused before probing. */
static void test_cli_probe_store_normalised_and_audited(void **state)
{
	(void)state;
	static const struct {
		const char *target, *sni; /* sni NULL: none given */
		const char *want_host, *want_sni;
		size_t want_eps, want_audit;
	} cases[] = {
		{ "A.Test.", NULL, "a.test", NULL, 1, 1 },    /* upper case, trailing dot */
		{ "a.test", "A.TEST", "a.test", NULL, 1, 1 }, /* same endpoint: no audit row */
		{ "Alias.Test", "a.test", "alias.test", "a.test", 2, 2 }, /* SNI differs: kept */
	};
	char db[128], args[768], *out = NULL;
	snprintf(db, sizeof(db), "%s/store.db", dir);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char sni[64] = "";
		if (cases[i].sni)
			snprintf(sni, sizeof(sni), "--sni %s", cases[i].sni);
		snprintf(args, sizeof(args),
			 "probe --no-discover --store --db %s --ca-file %s --address 127.0.0.1 %s "
			 "'%s:%u'",
			 db, ca_root, sni, cases[i].target, tlsfarm_port(farm));
		int rc = run_bin(args, &out);
		free(out);
		/* a chain was received (the name may not match: exit 1) and stored */
		assert_true(rc == 0 || rc == 1);
		struct endpoint *eps = NULL;
		size_t nep = 0, naudit = 0, nobs = 0;
		store_state(db, &eps, &nep, &naudit, &nobs);
		assert_int_equal(nep, cases[i].want_eps);
		assert_int_equal(naudit, cases[i].want_audit);
		assert_int_equal(nobs, nep); /* one address each */
		const struct endpoint *e = NULL;
		for (size_t k = 0; k < nep; k++)
			if (strcmp(eps[k].host, cases[i].want_host) == 0)
				e = &eps[k];
		assert_non_null(e);
		assert_int_equal(e->port, tlsfarm_port(farm));
		if (cases[i].want_sni)
			assert_string_equal(e->sni, cases[i].want_sni);
		else
			assert_null(e->sni);
		assert_string_equal(e->environment, "production");
		assert_int_equal(e->interval_s, INVENTORY_DEFAULT_INTERVAL);
		assert_true(e->enabled);
		free_eps(eps, nep);
	}
	/* An IPv6 literal is no inventory host name: refused before probing,
	 * nothing written. */
	snprintf(args, sizeof(args), "probe --store --db %s --ca-file %s --sni a.test '[::1]:%u'",
		 db, ca_root, tlsfarm_port(farm6));
	assert_int_equal(run_bin(args, &out), 2);
	assert_string_equal(out, "");
	free(out);
	char errtext[2048];
	read_stderr(errtext, sizeof(errtext));
	assert_non_null(strstr(errtext, "host"));
	struct endpoint *eps = NULL;
	size_t nep = 0, naudit = 0, nobs = 0;
	store_state(db, &eps, &nep, &naudit, &nobs);
	assert_int_equal(nep, 2);
	assert_int_equal(naudit, 2);
	free_eps(eps, nep);
}

static void test_cli_pin_output_and_bad_files(void **state)
{
	(void)state;
	char path[128], args[512], *out = NULL, b64[48], errtext[2048];
	uint8_t pins[2][32];
	snprintf(path, sizeof(path), "%s/chain.pem", dir);
	assert_int_equal(tlsfarm_write_chain(farm, "a.test", path), 0);
	assert_int_equal(tlsfarm_chain_pins(farm, "a.test", pins, 2), 2);
	snprintf(args, sizeof(args), "pin --json %s %s/missing.pem", path, dir);
	assert_int_equal(run_bin(args, &out), 2);
	json_t *j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_array_size(j), 2);
	for (size_t i = 0; i < 2; i++) {
		char want[64];
		snprintf(want, sizeof(want), "sha256/%s", util_pin_b64(pins[i], b64));
		json_t *o = json_array_get(j, i);
		assert_string_equal(json_string_value(json_object_get(o, "pin")), want);
		assert_string_equal(json_string_value(json_object_get(o, "file")), path);
	}
	json_decref(j);
	free(out);
	read_stderr(errtext, sizeof(errtext));
	assert_non_null(strstr(errtext, "missing.pem"));
	/* Text: nothing on stdout for the bad file. */
	snprintf(args, sizeof(args), "pin --hex %s/missing.pem", dir);
	assert_int_equal(run_bin(args, &out), 2);
	assert_string_equal(out, "");
	free(out);
	snprintf(args, sizeof(args), "pin --hex %s", path);
	assert_int_equal(run_bin(args, &out), 0);
	char hx[65];
	assert_non_null(strstr(out, util_hex(pins[1], 32, hx)));
	free(out);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_run_sync_ok_chain_pins_and_order),
		cmocka_unit_test(test_probe_run_sync_leaf_only_completed_from_ca_file),
		cmocka_unit_test(test_probe_run_sync_verification_failures_keep_chain),
		cmocka_unit_test(test_probe_run_sync_chain_limits),
		cmocka_unit_test(test_probe_deferred_chain_matches_direct),
		cmocka_unit_test(test_probe_run_sync_refused),
		cmocka_unit_test(test_probe_run_sync_hostile_servers),
		cmocka_unit_test(test_probe_run_sync_ipv6),
		cmocka_unit_test(test_probe_run_many_mixed),
		cmocka_unit_test(test_cli_probe_json_pins),
		cmocka_unit_test(test_cli_probe_store_normalised_and_audited),
		cmocka_unit_test(test_cli_pin_output_and_bad_files),
	};
	if (argc < 2) {
		fprintf(stderr, "usage: test_probe PINWATCH_BINARY\n");
		return 2;
	}
	pinwatch_bin = argv[1];
	gnutls_global_init();
	int rc = cmocka_run_group_tests(tests, setup_all, teardown_all);
	gnutls_global_deinit();
	return rc;
}
