/* unit.x509_fast: x509_validate_fast() (a leaf checked against an
 * intermediate validated before) must either decline or give exactly the
 * verdict and validated chain of the full x509_validate(). A table of
 * chains built at test time: good leaves, wrong names, expired and future
 * leaves, a forged leaf (right issuer name, wrong key), a leaf issued by
 * the root directly, an intermediate with name constraints, an unknown
 * intermediate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "sigcert.h"
#include "base/util.h"
#include "pki/x509.h"

#define DAY 86400

static char dir[64], ca_path[128];
static struct tcert root, inter, inter_nc, inter_other, forger;

/* A CA certificate under @issuer whose name constraints permit only
 * @permitted (a DNS name subtree). */
static int make_nc_ca(struct tcert *out, const char *cn, const struct tcert *issuer,
		      const char *permitted)
{
	time_t now = time(NULL);
	gnutls_x509_name_constraints_t nc;
	if (tcert_make(out, cn, NULL, issuer, true, now - DAY, now + 300 * DAY, NULL) != 0 ||
	    gnutls_x509_name_constraints_init(&nc) < 0)
		return -1;
	gnutls_datum_t name = { (unsigned char *)permitted, (unsigned)strlen(permitted) };
	int g = gnutls_x509_name_constraints_add_permitted(nc, GNUTLS_SAN_DNSNAME, &name);
	if (g >= 0)
		g = gnutls_x509_crt_set_name_constraints(out->crt, nc, 1);
	gnutls_x509_name_constraints_deinit(nc);
	if (g < 0 ||
	    gnutls_x509_crt_sign2(out->crt, issuer->crt, issuer->key, GNUTLS_DIG_SHA256, 0) < 0)
		return -1;
	out->der_len = sizeof(out->der);
	if (gnutls_x509_crt_export(out->crt, GNUTLS_X509_FMT_DER, out->der, &out->der_len) < 0)
		return -1;
	return util_sha256(out->der, out->der_len, out->sha256) ? -1 : 0;
}

static int setup_all(void **state)
{
	(void)state;
	time_t now = time(NULL);
	snprintf(dir, sizeof(dir), "/tmp/pinwatch-test-x509f-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(ca_path, sizeof(ca_path), "%s/root.pem", dir);
	if (tcert_make(&root, "fast root", NULL, NULL, true, now - DAY, now + 900 * DAY, NULL) ||
	    tcert_make(&inter, "fast inter", NULL, &root, true, now - DAY, now + 600 * DAY, NULL) ||
	    tcert_make(&inter_other, "other inter", NULL, &root, true, now - DAY, now + 600 * DAY,
		       NULL) ||
	    /* Same subject as @inter, another key, issued by the root too. */
	    tcert_make(&forger, "fast inter", NULL, &root, true, now - DAY, now + 600 * DAY,
		       NULL) ||
	    make_nc_ca(&inter_nc, "constrained inter", &root, "ok.test"))
		return -1;
	FILE *f = fopen(ca_path, "w");
	if (!f || fputs(root.pem, f) < 0 || fclose(f) != 0)
		return -1;
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	tcert_free(&root);
	tcert_free(&inter);
	tcert_free(&inter_nc);
	tcert_free(&inter_other);
	tcert_free(&forger);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Import the DER of @certs as crts and parse their infos. */
static void load_chain(const struct tcert *const *certs, size_t n, gnutls_x509_crt_t *crts,
		       struct x509_chain *info)
{
	char err[ERRLEN];
	info->certs = calloc(n, sizeof(*info->certs));
	assert_non_null(info->certs);
	info->n = n;
	for (size_t i = 0; i < n; i++) {
		gnutls_datum_t d = { (unsigned char *)certs[i]->der, (unsigned)certs[i]->der_len };
		assert_int_equal(gnutls_x509_crt_init(&crts[i]), 0);
		assert_int_equal(gnutls_x509_crt_import(crts[i], &d, GNUTLS_X509_FMT_DER), 0);
		assert_int_equal(x509_cert_from_crt(crts[i], &info->certs[i], err, sizeof(err)), 0);
	}
}

static void free_chain(gnutls_x509_crt_t *crts, struct x509_chain *info)
{
	for (size_t i = 0; i < info->n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	x509_chain_clear(info);
}

/* Full validation of [@leaf, @mid] with @t. */
static void full(struct x509_trust *t, const struct tcert *leaf, const struct tcert *mid,
		 const char *host, struct x509_chain *validated, struct x509_verdict *v)
{
	const struct tcert *certs[2] = { leaf, mid };
	gnutls_x509_crt_t crts[2];
	struct x509_chain info = { 0 };
	char err[ERRLEN];
	load_chain(certs, 2, crts, &info);
	assert_int_equal(x509_validate(t, crts, 2, &info, host, validated, v, err, sizeof(err)), 0);
	free_chain(crts, &info);
}

enum leaf_kind { GOOD, EXPIRED, FUTURE, FORGED, BY_ROOT };

static const struct fcase {
	const char *what;
	enum leaf_kind kind;
	const struct tcert *mid; /* presented after the leaf */
	const char *san, *host;
	int want_fast; /* 1: the shortcut answers, 0: it declines */
	bool trusted, name_ok, expired;
} cases[] = {
	{ "good leaf", GOOD, &inter, "a.test", "a.test", 1, true, true, false },
	{ "good leaf, other name asked", GOOD, &inter, "a.test", "b.test", 1, true, false, false },
	{ "good leaf, no name asked", GOOD, &inter, "a.test", NULL, 1, true, true, false },
	{ "expired leaf", EXPIRED, &inter, "a.test", "a.test", 0, false, true, true },
	{ "leaf not valid yet", FUTURE, &inter, "a.test", "a.test", 0, false, true, true },
	{ "forged leaf: issuer name right, key wrong", FORGED, &inter, "a.test", "a.test", 0, false,
	  true, false },
	{ "leaf issued by the root itself", BY_ROOT, &inter, "a.test", "a.test", 0, true, true,
	  false },
	{ "intermediate with name constraints, allowed name", GOOD, &inter_nc, "ok.test", "ok.test",
	  0, true, true, false },
	{ "intermediate with name constraints, other name", GOOD, &inter_nc, "bad.test", "bad.test",
	  0, false, true, false },
	{ "intermediate never validated", GOOD, &inter_other, "a.test", "a.test", 0, true, true,
	  false },
};

static void make_leaf(const struct fcase *c, struct tcert *leaf)
{
	time_t now = time(NULL);
	const char *dns[] = { c->san, NULL };
	const struct tcert *signer = c->kind == FORGED	  ? &forger
				     : c->kind == BY_ROOT ? &root
							  : c->mid;
	time_t nb = now - DAY, na = now + 90 * DAY;
	if (c->kind == EXPIRED) {
		nb = now - 30 * DAY;
		na = now - DAY;
	} else if (c->kind == FUTURE) {
		nb = now + DAY;
		na = now + 30 * DAY;
	}
	assert_int_equal(tcert_make(leaf, c->san, dns, signer, false, nb, na, NULL), 0);
}

static void test_fast_declines_or_agrees_with_full_validation(void **state)
{
	(void)state;
	char err[ERRLEN];
	for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
		const struct fcase *c = &cases[k];
		struct x509_trust *t = x509_trust_new(ca_path, err, sizeof(err));
		struct x509_trust *ref = x509_trust_new(ca_path, err, sizeof(err));
		assert_non_null(t);
		assert_non_null(ref);
		/* Prime @t: a good chain through every intermediate but the unknown one. */
		const struct tcert *mids[] = { &inter, &inter_nc };
		for (size_t i = 0; i < ARRAY_SIZE(mids); i++) {
			struct tcert primer;
			const char *dns[] = { "ok.test", NULL };
			time_t now = time(NULL);
			assert_int_equal(tcert_make(&primer, "ok.test", dns, mids[i], false,
						    now - DAY, now + 90 * DAY, NULL),
					 0);
			struct x509_chain pv = { 0 };
			struct x509_verdict pvv;
			full(t, &primer, mids[i], "ok.test", &pv, &pvv);
			assert_true(pvv.trusted);
			x509_chain_clear(&pv);
			tcert_free(&primer);
		}

		struct tcert leaf;
		make_leaf(c, &leaf);
		const struct tcert *certs[1] = { &leaf };
		gnutls_x509_crt_t crt[1];
		struct x509_chain linfo = { 0 };
		load_chain(certs, 1, crt, &linfo);
		struct x509_chain fv = { 0 }, rv = { 0 };
		struct x509_verdict fvd, rvd;
		int got = x509_validate_fast(t, crt[0], &linfo.certs[0], c->mid->sha256, c->host,
					     &fv, &fvd, err, sizeof(err));
		full(ref, &leaf, c->mid, c->host, &rv, &rvd);
		if (got != c->want_fast)
			fail_msg("%s: x509_validate_fast returned %d, want %d", c->what, got,
				 c->want_fast);
		/* The reference (full validation) matches the table. */
		if (rvd.trusted != c->trusted || rvd.name_ok != c->name_ok ||
		    rvd.expired != c->expired)
			fail_msg("%s: full validation trusted=%d name_ok=%d expired=%d", c->what,
				 rvd.trusted, rvd.name_ok, rvd.expired);
		if (got == 1) {
			assert_true(fvd.trusted == rvd.trusted && fvd.name_ok == rvd.name_ok &&
				    fvd.expired == rvd.expired && fvd.status == rvd.status);
			assert_string_equal(fvd.reason, rvd.reason);
			assert_int_equal(fv.n, rv.n);
			for (size_t i = 0; i < rv.n; i++) {
				assert_memory_equal(fv.certs[i].sha256, rv.certs[i].sha256, 32);
				assert_string_equal(fv.certs[i].subject, rv.certs[i].subject);
			}
		} else {
			assert_int_equal(fv.n, 0);
		}
		x509_chain_clear(&fv);
		x509_chain_clear(&rv);
		free_chain(crt, &linfo);
		tcert_free(&leaf);
		x509_trust_free(t);
		x509_trust_free(ref);
	}
}

/* The shortcut is keyed by the intermediate's DER hash: any other hash,
 * even of a certificate with the same subject, declines. */
static void test_fast_keyed_by_exact_intermediate(void **state)
{
	(void)state;
	char err[ERRLEN];
	time_t now = time(NULL);
	struct x509_trust *t = x509_trust_new(ca_path, err, sizeof(err));
	assert_non_null(t);
	struct tcert leaf;
	const char *dns[] = { "a.test", NULL };
	assert_int_equal(
		tcert_make(&leaf, "a.test", dns, &inter, false, now - DAY, now + DAY, NULL), 0);
	struct x509_chain v = { 0 };
	struct x509_verdict vd;
	full(t, &leaf, &inter, "a.test", &v, &vd);
	assert_true(vd.trusted);
	x509_chain_clear(&v);
	const struct tcert *certs[1] = { &leaf };
	gnutls_x509_crt_t crt[1];
	struct x509_chain linfo = { 0 };
	load_chain(certs, 1, crt, &linfo);
	assert_int_equal(x509_validate_fast(t, crt[0], &linfo.certs[0], forger.sha256, "a.test", &v,
					    &vd, err, sizeof(err)),
			 0);
	assert_int_equal(x509_validate_fast(t, crt[0], &linfo.certs[0], inter.sha256, "a.test", &v,
					    &vd, err, sizeof(err)),
			 1);
	assert_int_equal(v.n, 3);
	assert_memory_equal(v.certs[1].sha256, inter.sha256, 32);
	assert_memory_equal(v.certs[2].sha256, root.sha256, 32);
	x509_chain_clear(&v);
	free_chain(crt, &linfo);
	tcert_free(&leaf);
	x509_trust_free(t);
}

int main(void)
{
	gnutls_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_declines_or_agrees_with_full_validation),
		cmocka_unit_test(test_fast_keyed_by_exact_intermediate),
	};
	int rc = cmocka_run_group_tests(tests, setup_all, teardown_all);
	gnutls_global_deinit();
	return rc;
}
