/* The renewal gate (readiness_gate.h): certification paths built through
 * verified signatures (re-keyed CAs of one name, cross-signed CAs,
 * certificates on no path), and the checks every client makes before pins
 * (validity at T, host name, trust anchor). Certificates are generated at
 * test time (tests/lib/sigcert.c). */
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
#include "importers/invfile.h"
#include "pki/x509.h"
#include "readiness/readiness.h"
#include "readiness/readiness_gate.h"
#include "sigcert.h"

#define NOW ((time_t)1795773600) /* 2026-11-27T10:00:00Z */
#define DAY 86400

/* Re-keyed: two roots named "Same Root" (old key, new key), each with an
 * "Issuing CA" of its own key, each with a leaf for api.example.com.
 * Cross-signed: one "Cross CA" key certified by Root A and by Root B.
 * Other: a CA whose key an app pins, never on a path of these leaves.
 * Wild: a leaf for *.example.com. Short: an intermediate that expires
 * before its leaf. */
static struct tcert r_old, r_new, i_old, i_new, l_old, l_new;
static struct tcert root_a, root_b, x_a, x_b, l_x;
static struct tcert other, wild, i_short, l_short;
static char dir[64], ca_all[128], ca_unrelated[128];

static int write_pem(const char *path, const struct tcert *const *c, size_t n)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (fputs(c[i]->pem, f) < 0) {
			fclose(f);
			return -1;
		}
	return fclose(f) ? -1 : 0;
}

static int group_setup(void **state)
{
	(void)state;
	const char *const api[] = { "api.example.com", NULL };
	const char *const wildcard[] = { "*.example.com", NULL };
	time_t nb = NOW - 100 * DAY, na = NOW + 900 * DAY;
	if (gnutls_global_init() < 0)
		return -1;
	if (tcert_make(&r_old, "Same Root", NULL, NULL, true, nb, na, NULL) ||
	    tcert_make(&r_new, "Same Root", NULL, NULL, true, nb, na + DAY, NULL) ||
	    tcert_make(&i_old, "Issuing CA", NULL, &r_old, true, nb, na, NULL) ||
	    tcert_make(&i_new, "Issuing CA", NULL, &r_new, true, nb, na + DAY, NULL) ||
	    tcert_make(&l_old, "api.example.com", api, &i_old, false, NOW - DAY, NOW + 90 * DAY,
		       NULL) ||
	    tcert_make(&l_new, "api.example.com", api, &i_new, false, NOW - DAY, NOW + 90 * DAY,
		       NULL) ||
	    tcert_make(&root_a, "Root A", NULL, NULL, true, nb, na, NULL) ||
	    tcert_make(&root_b, "Root B", NULL, NULL, true, nb, na, NULL) ||
	    tcert_make(&x_a, "Cross CA", NULL, &root_a, true, nb, na, NULL) ||
	    tcert_make(&x_b, "Cross CA", NULL, &root_b, true, nb, na, &x_a) ||
	    tcert_make(&l_x, "api.example.com", api, &x_a, false, NOW - DAY, NOW + 90 * DAY,
		       NULL) ||
	    tcert_make(&other, "Other CA", NULL, NULL, true, nb, na, NULL) ||
	    tcert_make(&wild, "*.example.com", wildcard, &i_old, false, NOW - DAY, NOW + 90 * DAY,
		       NULL) ||
	    tcert_make(&i_short, "Short CA", NULL, &r_old, true, nb, NOW + 10 * DAY, NULL) ||
	    tcert_make(&l_short, "api.example.com", api, &i_short, false, NOW - DAY, NOW + 90 * DAY,
		       NULL))
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/pinwatch-test-gate-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(ca_all, sizeof(ca_all), "%s/all.pem", dir);
	snprintf(ca_unrelated, sizeof(ca_unrelated), "%s/unrelated.pem", dir);
	const struct tcert *all[] = { &r_old, &r_new, &root_a, &root_b, &other };
	const struct tcert *unrelated[] = { &other };
	if (write_pem(ca_all, all, ARRAY_SIZE(all)) ||
	    write_pem(ca_unrelated, unrelated, ARRAY_SIZE(unrelated)))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	struct tcert *all[] = { &r_old, &r_new, &i_old, &i_new, &l_old, &l_new,	  &root_a, &root_b,
				&x_a,	&x_b,	&l_x,	&other, &wild,	&i_short, &l_short };
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		tcert_free(all[i]);
	unlink(ca_all);
	unlink(ca_unrelated);
	rmdir(dir);
	gnutls_global_deinit();
	return 0;
}

/* The observed pool as GnuTLS certificates. */
struct pool {
	gnutls_x509_crt_t c[8];
	size_t n;
};

static void pool_set(struct pool *p, const struct tcert *const *certs, size_t n)
{
	p->n = 0;
	for (size_t i = 0; i < n; i++) {
		gnutls_datum_t d = { (unsigned char *)(uintptr_t)certs[i]->der,
				     (unsigned)certs[i]->der_len };
		assert_int_equal(gnutls_x509_crt_init(&p->c[i]), 0);
		assert_int_equal(gnutls_x509_crt_import(p->c[i], &d, GNUTLS_X509_FMT_DER), 0);
		p->n++;
	}
}

static void pool_free(struct pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		gnutls_x509_crt_deinit(p->c[i]);
	p->n = 0;
}

static char *pem_of(const struct tcert *a, const struct tcert *b, const struct tcert *c)
{
	size_t n = strlen(a->pem) + (b ? strlen(b->pem) : 0) + (c ? strlen(c->pem) : 0) + 1;
	char *s = malloc(n);
	assert_non_null(s);
	snprintf(s, n, "%s%s%s", a->pem, b ? b->pem : "", c ? c->pem : "");
	return s;
}

static void check(const char *ca, const struct pool *p, const char *pem, const char *host,
		  time_t at, struct readiness_gate *g)
{
	char err[ERRLEN];
	struct x509_trust *t = x509_trust_new(ca, err, sizeof(err));
	assert_non_null(t);
	int rc = readiness_gate_check(t, p ? p->c : NULL, p ? p->n : 0, pem, strlen(pem), host, at,
				      g, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	x509_trust_free(t);
}

static const struct readiness_cert *last(const struct readiness_chain *c)
{
	assert_true(c->ncerts > 0);
	return &c->certs[c->ncerts - 1];
}

/* A CA re-keyed under the same name: the old hierarchy's candidate is
 * completed with the old root only, the new one's with the new root only,
 * whatever order the observed pool (newest expiry first) has. */
static void test_readiness_gate_check_rekeyed_root(void **state)
{
	(void)state;
	struct pool p;
	struct readiness_gate g;
	const struct tcert *obs[] = { &i_new, &r_new, &i_old, &r_old };
	pool_set(&p, obs, ARRAY_SIZE(obs));
	/* with both roots as anchors, then with neither (the closest path) */
	static const bool trusted[] = { true, false };
	for (size_t s = 0; s < ARRAY_SIZE(trusted); s++) {
		const char *ca = trusted[s] ? ca_all : ca_unrelated;
		/* the leaf alone: the intermediate too comes from the pool */
		check(ca, &p, l_old.pem, "api.example.com", NOW, &g);
		assert_int_equal(g.ok, trusted[s]);
		assert_int_equal(g.npaths, 1);
		assert_int_equal(g.paths[0].ncerts, 3);
		assert_memory_equal(g.paths[0].certs[1].pin, i_old.spki, 32);
		assert_memory_equal(last(&g.paths[0])->pin, r_old.spki, 32);
		if (!trusted[s])
			assert_string_equal(g.failed[0], "untrusted");
		readiness_gate_free(&g);

		char *pem = pem_of(&l_new, &i_new, NULL);
		check(ca, &p, pem, "api.example.com", NOW, &g);
		assert_int_equal(g.ok, trusted[s]);
		assert_int_equal(g.npaths, 1);
		assert_memory_equal(last(&g.paths[0])->pin, r_new.spki, 32);
		assert_int_equal(g.nnot_on_path, 0);
		readiness_gate_free(&g);
		free(pem);
	}
	pool_free(&p);
}

static void inventory_pinning(struct inventory *inv, const char *pin_b64)
{
	char json[2048], err[ERRLEN];
	snprintf(
		json, sizeof(json),
		"{\"endpoints\": [{\"host\": \"api.example.com\", \"port\": 443}],"
		" \"apps\": [{\"name\": \"shop\", \"platform\": \"android\", \"versions\": ["
		"  {\"version\": \"1.0\", \"adoption\": [{\"at\": \"2026-11-01\", \"share\": 0.4}],"
		"   \"pin_policies\": [{\"pattern\": \"api.example.com\", \"enforce\": true,"
		"     \"pins\": [{\"sha256\": \"%s\", \"role\": \"current\"}]}]},"
		"  {\"version\": \"2.0\", \"adoption\": [{\"at\": \"2026-11-01\", \"share\": 0.6}]}"
		"]}]}",
		pin_b64);
	if (invfile_parse_text(json, strlen(json), inv, err, sizeof(err)))
		fail_msg("%s", err);
}

/* The what-if of a checked candidate for an app of two versions: 1.0 (40%)
 * pins @pin_b64, 2.0 (60%) pins nothing. Returns the stranded share. */
static double whatif(const struct readiness_gate *g, const char *pin_b64, bool *depends,
		     json_t **reasons)
{
	struct inventory inv = { 0 };
	struct readiness_whatif w;
	inventory_pinning(&inv, pin_b64);
	struct readiness_index *idx = readiness_index_new(&inv);
	assert_non_null(idx);
	assert_int_equal(
		readiness_gate_whatif(idx, "api.example.com", g, NULL, 0, NULL, NOW, &w, depends),
		0);
	assert_int_equal(w.napps, 1);
	double s = w.apps[0].candidate.stranded_share;
	if (reasons) {
		*reasons = json_array();
		for (size_t i = 0; i < w.apps[0].reasons.n; i++)
			json_array_append_new(*reasons, json_string(w.apps[0].reasons.v[i]));
	}
	readiness_whatif_free(&w);
	readiness_index_free(idx);
	model_inventory_free(&inv);
	return s;
}

static bool reasons_have(json_t *r, const char *needle)
{
	size_t i;
	json_t *s;
	json_array_foreach(r, i, s) if (strstr(json_string_value(s), needle)) return true;
	return false;
}

/* One intermediate key certified by Root A and by Root B, both sent: two
 * valid paths. A pin on Root A only holds on one of them: the verdict
 * depends on the path, and the gate counts the worst. When the server
 * sends only the Root A certificate and pinwatch observed the Root B one,
 * clients (Android, OkHttp) build the path through what was sent. */
static void test_readiness_gate_check_cross_signed(void **state)
{
	(void)state;
	struct pool p;
	struct readiness_gate g;
	bool depends;
	json_t *r;
	char *both = pem_of(&l_x, &x_a, &x_b);
	check(ca_all, NULL, both, "api.example.com", NOW, &g);
	assert_true(g.ok);
	assert_int_equal(g.npaths, 2);
	bool via_a = false, via_b = false;
	for (size_t i = 0; i < g.npaths; i++) {
		via_a |= !memcmp(last(&g.paths[i])->pin, root_a.spki, 32);
		via_b |= !memcmp(last(&g.paths[i])->pin, root_b.spki, 32);
	}
	assert_true(via_a && via_b);
	assert_int_equal(g.nnot_on_path, 0);
	/* Root A pinned: safe via A, 1.0 stranded via B. */
	assert_float_equal(whatif(&g, root_a.pin_b64, &depends, &r), 0.4, 1e-9);
	assert_true(depends);
	assert_true(reasons_have(r, "depends on the path"));
	json_decref(r);
	/* The shared intermediate key pinned: every path holds it. */
	assert_float_equal(whatif(&g, x_a.pin_b64, &depends, NULL), 0, 1e-9);
	assert_false(depends);
	readiness_gate_free(&g);
	free(both);

	const struct tcert *obs[] = { &x_b };
	pool_set(&p, obs, ARRAY_SIZE(obs));
	char *sent_a = pem_of(&l_x, &x_a, NULL);
	check(ca_all, &p, sent_a, "api.example.com", NOW, &g);
	assert_true(g.ok);
	assert_int_equal(g.npaths, 1);
	assert_memory_equal(last(&g.paths[0])->pin, root_a.spki, 32);
	assert_float_equal(whatif(&g, root_a.pin_b64, &depends, NULL), 0, 1e-9);
	assert_false(depends);
	readiness_gate_free(&g);
	/* The leaf alone: only the observed Root B certificate completes it. */
	check(ca_all, &p, l_x.pem, "api.example.com", NOW, &g);
	assert_true(g.ok);
	assert_int_equal(g.npaths, 1);
	assert_memory_equal(last(&g.paths[0])->pin, root_b.spki, 32);
	readiness_gate_free(&g);
	free(sent_a);
	pool_free(&p);
}

/* Defect 4: a certificate in the PEM that is on no path from the leaf does
 * not count, however much an app pins it. */
static void test_readiness_gate_check_extra_cert_not_on_path(void **state)
{
	(void)state;
	struct readiness_gate g;
	bool depends;
	char *pem = pem_of(&l_old, &i_old, &other);
	check(ca_all, NULL, pem, "api.example.com", NOW, &g);
	assert_true(g.ok);
	assert_int_equal(g.npaths, 1);
	assert_int_equal(g.nnot_on_path, 1);
	assert_non_null(strstr(g.not_on_path[0], "Other CA"));
	for (size_t i = 0; i < g.paths[0].ncerts; i++)
		assert_memory_not_equal(g.paths[0].certs[i].pin, other.spki, 32);
	assert_float_equal(whatif(&g, other.pin_b64, &depends, NULL), 0.4, 1e-9);
	/* the old root, which the client adds, does count */
	assert_float_equal(whatif(&g, r_old.pin_b64, &depends, NULL), 0, 1e-9);
	readiness_gate_free(&g);
	free(pem);
}

/* The checks, boundaries included: validity is inclusive at both ends. */
static void test_readiness_gate_check_table(void **state)
{
	(void)state;
	const time_t lnb = NOW - DAY, lna = NOW + 90 * DAY;
	const struct {
		const struct tcert *leaf, *inter;
		const char *host;
		time_t at;
		bool trust_all;
		const char *failed; /* NULL: ok */
	} cases[] = {
		{ &l_old, &i_old, "api.example.com", NOW, true, NULL },
		{ &l_old, &i_old, "api.example.com", lnb, true, NULL },
		{ &l_old, &i_old, "api.example.com", lnb - 1, true, "not_yet_valid" },
		{ &l_old, &i_old, "api.example.com", lna, true, NULL },
		{ &l_old, &i_old, "api.example.com", lna + 1, true, "expired" },
		{ &l_old, &i_old, "www.example.com", NOW, true, "hostname" },
		{ &l_old, &i_old, "api.example.com.evil.test", NOW, true, "hostname" },
		{ &wild, &i_old, "shop.example.com", NOW, true, NULL },
		{ &wild, &i_old, "a.shop.example.com", NOW, true, "hostname" },
		{ &wild, &i_old, "example.com", NOW, true, "hostname" },
		{ &l_old, &i_old, "api.example.com", NOW, false, "untrusted" },
		{ &l_short, &i_short, "api.example.com", NOW + 10 * DAY, true, NULL },
		{ &l_short, &i_short, "api.example.com", NOW + 10 * DAY + 1, true, "expired" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct readiness_gate g;
		char *pem = pem_of(cases[i].leaf, cases[i].inter, NULL);
		check(cases[i].trust_all ? ca_all : ca_unrelated, NULL, pem, cases[i].host,
		      cases[i].at, &g);
		assert_true(g.checked);
		if (!cases[i].failed) {
			if (!g.ok)
				fail_msg("case %zu: %s", i, g.failures[0]);
			assert_int_equal(g.nfailures, 0);
		} else {
			if (g.ok)
				fail_msg("case %zu: expected %s", i, cases[i].failed);
			assert_string_equal(g.failed[0], cases[i].failed);
			assert_non_null(g.failures[0]);
			/* every app with a policy for the host: everyone stranded */
			bool depends;
			json_t *r;
			assert_float_equal(whatif(&g, r_old.pin_b64, &depends, &r), 1, 1e-9);
			assert_true(reasons_have(r, "fails a check every TLS client makes"));
			json_decref(r);
		}
		readiness_gate_free(&g);
		free(pem);
	}
}

/* Bare pins cannot be checked: the gate says so and evaluates them as given. */
static void test_readiness_gate_whatif_pins_only(void **state)
{
	(void)state;
	struct inventory inv = { 0 };
	struct readiness_whatif w;
	bool depends = true;
	inventory_pinning(&inv, other.pin_b64);
	struct readiness_index *idx = readiness_index_new(&inv);
	assert_non_null(idx);
	const uint8_t(*pins)[32] = (const uint8_t(*)[32])other.spki;
	assert_int_equal(readiness_gate_whatif(idx, "api.example.com", NULL, pins, 1, NULL, NOW, &w,
					       &depends),
			 0);
	assert_false(depends);
	assert_float_equal(w.apps[0].candidate.stranded_share, 0, 1e-9);
	readiness_whatif_free(&w);
	assert_int_equal(
		readiness_gate_whatif(idx, "api.example.com", NULL, NULL, 0, NULL, NOW, &w, NULL),
		-EINVAL);
	json_t *j = readiness_gate_json(NULL, false);
	assert_false(json_is_true(json_object_get(j, "checked")));
	json_decref(j);
	readiness_index_free(idx);
	model_inventory_free(&inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readiness_gate_check_rekeyed_root),
		cmocka_unit_test(test_readiness_gate_check_cross_signed),
		cmocka_unit_test(test_readiness_gate_check_extra_cert_not_on_path),
		cmocka_unit_test(test_readiness_gate_check_table),
		cmocka_unit_test(test_readiness_gate_whatif_pins_only),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
