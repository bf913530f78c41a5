/* bench_importers: throughput of the importers against the bare library
 * parse of the same bytes (baseline, same process), and lint on a large
 * synthetic inventory.
 *
 * usage: bench_importers [DOMAINS] [CSV_ROWS] [ENDPOINTS]
 */
#include <jansson.h>
#include <libxml/parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importers/importers.h"
#include "readiness/lint.h"
#include "base/util.h"

#define PIN_A "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M="
#define PIN_B "jQJTbIh0grw0/1TkHSumWb+Fs0Ggogr621gT3PvPKG0="

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
}

static double per_sec(size_t n, int64_t ms)
{
	return ms > 0 ? (double)n * 1000.0 / (double)ms : 0;
}

int main(int argc, char **argv)
{
	size_t domains = argc > 1 ? strtoul(argv[1], NULL, 10) : 3000;
	size_t rows = argc > 2 ? strtoul(argv[2], NULL, 10) : 200000;
	size_t neps = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000;
	const int reps = 10;
	char err[ERRLEN];
	struct import_policies r;
	int64_t t0;

	/* NSC */
	struct buf x = { 0 };
	put(&x, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<network-security-config>\n");
	for (size_t i = 0; i < domains; i++)
		put(&x,
		    "<domain-config><domain includeSubdomains=\"true\">d%zu.example.com</domain>"
		    "<pin-set expiration=\"2027-06-01\"><pin digest=\"SHA-256\">" PIN_A "</pin>"
		    "<pin digest=\"SHA-256\">" PIN_B "</pin></pin-set></domain-config>\n",
		    i);
	put(&x, "</network-security-config>\n");
	t0 = util_mono_ms();
	for (int i = 0; i < reps; i++)
		xmlFreeDoc(xmlReadMemory(x.p, (int)x.len, "b", NULL, XML_PARSE_NONET));
	int64_t base = util_mono_ms() - t0;
	t0 = util_mono_ms();
	for (int i = 0; i < reps; i++) {
		if (importers_parse_nsc(x.p, x.len, "b", &r, err, sizeof(err)) != 0) {
			fprintf(stderr, "nsc: %s\n", err);
			return 1;
		}
		importers_policies_free(&r);
	}
	int64_t imp = util_mono_ms() - t0;
	printf("NSC %zu domains, %zu bytes: xmlReadMemory %.1f ms, importers_parse_nsc %.1f ms "
	       "(%.2fx the baseline), %.0f domains/s\n",
	       domains, x.len, (double)base / reps, (double)imp / reps,
	       base ? (double)imp / (double)base : 0, per_sec(domains * reps, imp));

	/* TrustKit JSON */
	struct buf j = { 0 };
	put(&j, "{\"TSKConfiguration\": {\"TSKPinnedDomains\": {");
	for (size_t i = 0; i < domains; i++)
		put(&j,
		    "%s\"d%zu.example.com\": {\"TSKIncludeSubdomains\": true, "
		    "\"TSKExpirationDate\": \"2027-06-01\", \"TSKPublicKeyHashes\": [\"" PIN_A
		    "\", \"" PIN_B "\"]}",
		    i ? ", " : "", i);
	put(&j, "}}}");
	t0 = util_mono_ms();
	for (int i = 0; i < reps; i++)
		json_decref(json_loadb(j.p, j.len, 0, NULL));
	base = util_mono_ms() - t0;
	t0 = util_mono_ms();
	for (int i = 0; i < reps; i++) {
		if (importers_parse_trustkit(j.p, j.len, "b", &r, err, sizeof(err)) != 0) {
			fprintf(stderr, "trustkit: %s\n", err);
			return 1;
		}
		importers_policies_free(&r);
	}
	imp = util_mono_ms() - t0;
	printf("TrustKit JSON %zu domains, %zu bytes: json_loadb %.1f ms, importers_parse_trustkit "
	       "%.1f ms (%.2fx the baseline)\n",
	       domains, j.len, (double)base / reps, (double)imp / reps,
	       base ? (double)imp / (double)base : 0);

	/* TrustKit as Swift source: the same configuration, read by the source
	 * scanner; baseline json_loadb of the JSON form (same process) */
	struct buf sw = { 0 };
	put(&sw, "import TrustKit\n\n// pinning\nlet trustKitConfig = [\n"
		 "    kTSKSwizzleNetworkDelegates: false,\n    kTSKPinnedDomains: [\n");
	for (size_t i = 0; i < domains; i++)
		put(&sw,
		    "        \"d%zu.example.com\": [\n            kTSKIncludeSubdomains: true,\n"
		    "            kTSKExpirationDate: \"2027-06-01\",\n"
		    "            kTSKPublicKeyHashes: [\"" PIN_A "\", \"" PIN_B
		    "\"],\n        ],\n",
		    i);
	put(&sw, "    ]] as [String : Any]\n");
	t0 = util_mono_ms();
	for (int i = 0; i < reps; i++) {
		if (importers_parse_trustkit(sw.p, sw.len, "b", &r, err, sizeof(err)) != 0) {
			fprintf(stderr, "trustkit swift: %s\n", err);
			return 1;
		}
		importers_policies_free(&r);
	}
	int64_t src = util_mono_ms() - t0;
	printf("TrustKit Swift source %zu domains, %zu bytes: importers_parse_trustkit %.1f ms "
	       "(%.2fx json_loadb of the JSON form)\n",
	       domains, sw.len, (double)src / reps, base ? (double)src / (double)base : 0);
	free(sw.p);

	/* CSV */
	struct buf c = { 0 };
	put(&c, "version,active_users,date\n");
	for (size_t i = 0; i < rows; i++)
		put(&c, "%zu.%zu.0,%zu,2026-%02zu-%02zu\n", i / 1000, i % 1000, 1000 + i % 977,
		    1 + (i / 28) % 12, 1 + i % 28);
	struct adoption_csv a;
	t0 = util_mono_ms();
	if (importers_parse_adoption_csv(c.p, c.len, "b", &a, err, sizeof(err)) != 0) {
		fprintf(stderr, "csv: %s\n", err);
		return 1;
	}
	imp = util_mono_ms() - t0;
	importers_adoption_free(&a);
	printf("adoption CSV %zu rows, %zu bytes: %lld ms, %.0f rows/s\n", rows, c.len,
	       (long long)imp, per_sec(rows, imp));

	/* OkHttp: the same DOMAINS policies as Kotlin source (a constant per host,
	 * one add() per host, comments) against the line form (baseline). */
	struct buf kl = { 0 }, kt = { 0 };
	put(&kt, "package com.example.bench\n\nimport okhttp3.CertificatePinner\n\n"
		 "object Pins {\n    private const val LEAF = \"sha256/" PIN_A "\"\n"
		 "    private const val BACKUP = \"sha256/" PIN_B "\" // offline key\n");
	for (size_t i = 0; i < domains; i++) {
		put(&kt, "    const val H%zu = \"d%zu.example.com\"\n", i, i);
		put(&kl, "d%zu.example.com sha256/" PIN_A " sha256/" PIN_B "\n", i);
	}
	put(&kt, "    val pinner = CertificatePinner.Builder()\n");
	for (size_t i = 0; i < domains; i++)
		put(&kt, "        .add(H%zu, LEAF, BACKUP) /* d%zu */\n", i, i);
	put(&kt, "        .build()\n}\n");
	t0 = util_mono_ms();
	for (int i = 0; i < reps; i++) {
		if (importers_parse_okhttp(kl.p, kl.len, "b", &r, err, sizeof(err)) != 0) {
			fprintf(stderr, "okhttp lines: %s\n", err);
			return 1;
		}
		importers_policies_free(&r);
	}
	base = util_mono_ms() - t0;
	t0 = util_mono_ms();
	for (int i = 0; i < reps; i++) {
		if (importers_parse_okhttp(kt.p, kt.len, "b", &r, err, sizeof(err)) != 0 ||
		    r.npolicies != domains) {
			fprintf(stderr, "okhttp kotlin: %s\n", err);
			return 1;
		}
		importers_policies_free(&r);
	}
	imp = util_mono_ms() - t0;
	printf("OkHttp %zu hosts: line form %zu bytes %.1f ms, Kotlin source %zu bytes %.1f ms "
	       "(%.2fx the line form)\n",
	       domains, kl.len, (double)base / reps, kt.len, (double)imp / reps,
	       base ? (double)imp / (double)base : 0);

	/* Play Console statistics export (13 columns, UTF-16LE) against the plain
	 * 3-column form of the same rows (baseline) */
	size_t prow = rows / 4;
	struct buf pu = { 0 }, pp = { 0 };
	put(&pu, "Date,Package Name,App Version Code,Daily Device Installs,Daily Device "
		 "Uninstalls,Daily Device Upgrades,Total User Installs,Daily User Installs,Daily "
		 "User Uninstalls,Active Device Installs,Install events,Update events,Uninstall "
		 "events\n");
	put(&pp, "version,active_users,date\n");
	for (size_t i = 0; i < prow; i++) {
		size_t code = 40000 + i % 1000, d = 1 + (i / 1000) % 28, m = 1 + (i / 28000) % 12;
		put(&pu, "2026-%02zu-%02zu,com.example.shop,%zu,3,1,20,%zu,3,1,%zu,3,20,1\n", m, d,
		    code, 5000 + i % 977, 1000 + i % 977);
		put(&pp, "%zu,%zu,2026-%02zu-%02zu\n", code, 1000 + i % 977, m, d);
	}
	size_t u16len = 2 + pu.len * 2;
	uint8_t *u16 = malloc(u16len);
	if (!u16)
		return 1;
	u16[0] = 0xff, u16[1] = 0xfe;
	for (size_t i = 0; i < pu.len; i++)
		u16[2 + 2 * i] = (uint8_t)pu.p[i], u16[3 + 2 * i] = 0;
	/* best of 5 each: one run of a few ms is at the mercy of the machine's load */
	int64_t best_base = -1, best_imp = -1;
	for (int k = 0; k < 5; k++) {
		t0 = util_mono_ms();
		if (importers_parse_adoption_csv(pp.p, pp.len, "b", &a, err, sizeof(err)) != 0) {
			fprintf(stderr, "plain csv: %s\n", err);
			return 1;
		}
		base = util_mono_ms() - t0;
		importers_adoption_free(&a);
		t0 = util_mono_ms();
		if (importers_parse_adoption_csv((const char *)u16, u16len, "b", &a, err,
						 sizeof(err)) != 0) {
			fprintf(stderr, "play csv: %s\n", err);
			return 1;
		}
		imp = util_mono_ms() - t0;
		importers_adoption_free(&a);
		if (best_base < 0 || base < best_base)
			best_base = base;
		if (best_imp < 0 || imp < best_imp)
			best_imp = imp;
	}
	base = best_base;
	imp = best_imp;
	printf("Play Console export %zu rows, %zu bytes UTF-16LE: %lld ms, %.0f rows/s (plain "
	       "3-column form of the same rows, %zu bytes: %lld ms; best of 5 each)\n",
	       prow, u16len, (long long)imp, per_sec(prow, imp), pp.len, (long long)base);
	free(u16);
	free(pu.p);
	free(pp.p);
	free(kl.p);
	free(kt.p);

	/* lint: NEPS endpoints, 3 apps x 10 versions x 10 policies */
	struct inventory inv = { 0 };
	inv.endpoints = calloc(neps, sizeof(*inv.endpoints));
	inv.nendpoints = neps;
	for (size_t i = 0; i < neps; i++) {
		char h[64];
		snprintf(h, sizeof(h), "svc%zu.example.com", i);
		inv.endpoints[i].host = strdup(h);
		inv.endpoints[i].port = 443;
		inv.endpoints[i].environment = strdup("production");
		inv.endpoints[i].enabled = true;
	}
	inv.napps = 3;
	inv.apps = calloc(3, sizeof(*inv.apps));
	size_t npol = 0;
	for (size_t ai = 0; ai < 3; ai++) {
		struct app *ap = &inv.apps[ai];
		char n[32];
		snprintf(n, sizeof(n), "app%zu", ai);
		ap->name = strdup(n);
		ap->nversions = 10;
		ap->versions = calloc(10, sizeof(*ap->versions));
		for (size_t vi = 0; vi < 10; vi++) {
			struct app_version *v = &ap->versions[vi];
			snprintf(n, sizeof(n), "4.%zu.0", vi);
			v->version = strdup(n);
			v->nadoption = 1;
			v->adoption = calloc(1, sizeof(*v->adoption));
			v->adoption[0].share = 0.09;
			v->npolicies = 10;
			v->policies = calloc(10, sizeof(*v->policies));
			for (size_t pi = 0; pi < 10; pi++) {
				struct pin_policy *p = &v->policies[pi];
				char pat[64];
				snprintf(pat, sizeof(pat), "svc%zu.example.com",
					 (ai * 10 + pi) * 3);
				p->pattern = strdup(pat);
				p->enforce = true;
				p->npins = 2;
				p->pins = calloc(2, sizeof(*p->pins));
				p->pins[1].role = PIN_BACKUP;
				npol++;
			}
		}
	}
	struct lint_report lr = { 0 };
	t0 = util_mono_ms();
	for (int i = 0; i < reps; i++) {
		lint_report_free(&lr);
		if (lint_run(&inv, 1795737600, &lr) != 0)
			return 1;
	}
	imp = util_mono_ms() - t0;
	printf("lint: %zu endpoints, %zu policies: %.1f ms per run, %zu findings\n", neps, npol,
	       (double)imp / reps, lr.nfindings);
	lint_report_free(&lr);
	model_inventory_free(&inv);
	free(x.p);
	free(j.p);
	free(c.p);
	return 0;
}
