/* bench_inventory: import / re-import / export of a large inventory.
 *
 * Usage: bench_inventory [ENDPOINTS [APPS [VERSIONS]]]   (default 5000 20 100)
 * Builds an inventory document in memory (every version with 5 adoption
 * samples and 5 pin policies of 2 pins), then measures, against a jansson
 * parse of the same text as the baseline: the validating parse, the first
 * import into an empty database, the re-import (nothing changes: the cost of
 * a no-op `pinwatch import` in CI), and load + canonical export.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "store/inventory.h"
#include "importers/invfile.h"
#include "model/json.h"
#include "base/util.h"

static double ms_since(int64_t t0)
{
	return (double)(util_mono_ms() - t0);
}

static json_t *build(int neps, int napps, int nvers)
{
	json_t *eps = json_array(), *apps = json_array();
	char host[128], b64[48];
	uint8_t d[32];
	for (int i = 0; i < neps; i++) {
		snprintf(host, sizeof(host), "h%d.svc%d.example.com", i, i % 50);
		json_array_append_new(eps, json_pack("{ss s[s]}", "host", host, "tags", "mobile"));
	}
	for (int a = 0; a < napps; a++) {
		json_t *vs = json_array();
		for (int v = 0; v < nvers; v++) {
			char ver[32];
			snprintf(ver, sizeof(ver), "%d.%d.0", v / 10, v % 10);
			json_t *ad = json_array(), *pp = json_array();
			for (int s = 0; s < 5; s++) {
				char at[16];
				snprintf(at, sizeof(at), "2026-11-%02d", s + 1);
				json_array_append_new(
					ad, json_pack("{ss sf}", "at", at, "share", 0.001));
			}
			for (int p = 0; p < 5; p++) {
				char seed[64];
				json_t *pins = json_array();
				snprintf(host, sizeof(host), "h%d.svc%d.example.com", p, p % 50);
				snprintf(seed, sizeof(seed), "%d/%d/%d", a, v, p);
				util_sha256(seed, strlen(seed), d);
				json_array_append_new(
					pins, json_pack("{ss}", "sha256", util_pin_b64(d, b64)));
				snprintf(seed, sizeof(seed), "backup/%d", p);
				util_sha256(seed, strlen(seed), d);
				json_array_append_new(pins, json_pack("{ss ss}", "sha256",
								      util_pin_b64(d, b64), "role",
								      "backup"));
				json_array_append_new(
					pp, json_pack("{ss so}", "pattern", host, "pins", pins));
			}
			json_array_append_new(vs, json_pack("{ss so so}", "version", ver,
							    "adoption", ad, "pin_policies", pp));
		}
		char name[32];
		snprintf(name, sizeof(name), "app%d", a);
		json_array_append_new(apps, json_pack("{ss ss so}", "name", name, "platform",
						      "android", "versions", vs));
	}
	return json_pack("{so so}", "endpoints", eps, "apps", apps);
}

int main(int argc, char **argv)
{
	int neps = argc > 1 ? atoi(argv[1]) : 5000;
	int napps = argc > 2 ? atoi(argv[2]) : 20;
	int nvers = argc > 3 ? atoi(argv[3]) : 100;
	char dir[] = "/tmp/pinwatch-bench-inv-XXXXXX", path[96], err[ERRLEN];
	struct inventory inv;
	struct inventory_import_stats st;

	if (neps < 1 || napps < 0 || nvers < 0 || !mkdtemp(dir))
		return 2;
	snprintf(path, sizeof(path), "%s/b.db", dir);
	json_t *doc = build(neps, napps, nvers);
	char *text = doc ? invfile_dumps(doc) : NULL;
	json_decref(doc);
	if (!text)
		return 3;
	size_t len = strlen(text);
	printf("document: %d endpoints, %d apps x %d versions (5 samples, 5 policies each), "
	       "%zu bytes\n",
	       neps, napps, nvers, len);

	int64_t t0 = util_mono_ms();
	json_t *j = json_loadb(text, len, 0, NULL);
	double base = ms_since(t0);
	json_decref(j);
	printf("jansson parse only (baseline): %8.0f ms\n", base);
	if (base < 1)
		base = 1;

	t0 = util_mono_ms();
	if (invfile_parse_text(text, len, &inv, err, sizeof(err))) {
		fprintf(stderr, "parse: %s\n", err);
		return 3;
	}
	double t = ms_since(t0);
	printf("validating parse:              %8.0f ms  (%.1fx the baseline)\n", t, t / base);
	json_t *canon_j = model_inventory_to_json(&inv);
	char *canon = canon_j ? invfile_dumps(canon_j) : NULL;
	json_decref(canon_j);

	struct db *db = db_open(path, DB_NO_CHECK, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "%s\n", err);
		return 3;
	}
	t0 = util_mono_ms();
	if (inventory_import(db, "bench", &inv, false, &st, err, sizeof(err))) {
		fprintf(stderr, "import: %s\n", err);
		return 3;
	}
	t = ms_since(t0);
	printf("first import:                  %8.0f ms  (%.1fx; %u objects, %u audit rows)\n", t,
	       t / base, st.created, st.audit_rows);

	t0 = util_mono_ms();
	if (inventory_import(db, "bench", &inv, true, &st, err, sizeof(err))) {
		fprintf(stderr, "re-import: %s\n", err);
		return 3;
	}
	t = ms_since(t0);
	printf("re-import, nothing changed:    %8.0f ms  (%.1fx; %u audit rows)\n", t, t / base,
	       st.audit_rows);
	model_inventory_free(&inv);

	t0 = util_mono_ms();
	if (inventory_load(db, &inv, err, sizeof(err))) {
		fprintf(stderr, "load: %s\n", err);
		return 3;
	}
	json_t *out = model_inventory_to_json(&inv);
	char *exported = out ? invfile_dumps(out) : NULL;
	t = ms_since(t0);
	printf("load + export:                 %8.0f ms  (%.1fx; equal to the parsed document's "
	       "canonical form: %s)\n",
	       t, t / base, exported && canon && strcmp(exported, canon) == 0 ? "yes" : "NO");
	free(exported);
	free(canon);
	json_decref(out);
	model_inventory_free(&inv);
	db_close(db);
	free(text);
	static const char *const sfx[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		char p[128];
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}
