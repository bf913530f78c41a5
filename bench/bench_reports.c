/* bench_reports: throughput of pin-failure report handling.
 *
 * Measures, in one process: jansson parsing alone (baseline), the strict
 * report parser (jansson + certificate decoding), full ingestion into a
 * temporary database (one transaction with fsync per report, the
 * production setting), and rejection of a flood by the per-source limiter.
 * usage: bench_reports [N]   (default 2000 ingested reports)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "signals/reports.h"
#include "sigcert.h"
#include "base/util.h"

static double rate(int n, int64_t ms)
{
	return ms > 0 ? n * 1000.0 / (double)ms : 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	char err[ERRLEN], dir[] = "/tmp/pinwatch-bench-XXXXXX", path[128];
	struct tcert root, inter, leaf;
	const char *const dns[] = { "api.example.com", NULL };
	time_t now = util_now();
	if (n < 10 || gnutls_global_init() < 0 || !mkdtemp(dir))
		return 3;
	if (tcert_make(&root, "Bench Root", NULL, NULL, true, now - 86400, now + 86400 * 900,
		       NULL) ||
	    tcert_make(&inter, "Bench CA", NULL, &root, true, now - 86400, now + 86400 * 900,
		       NULL) ||
	    tcert_make(&leaf, "api.example.com", dns, &inter, false, now - 86400, now + 86400 * 90,
		       NULL))
		return 3;
	char p0[8192], p1[8192], p2[8192];
	const char *kv[] = { "C0",   tcert_json_pem(&leaf, p0, sizeof(p0)),
			     "C1",   tcert_json_pem(&inter, p1, sizeof(p1)),
			     "C2",   tcert_json_pem(&root, p2, sizeof(p2)),
			     "PIN1", root.pin_b64,
			     "PIN2", inter.pin_b64,
			     NULL };
	char *body = tmpl_fill("trustkit-android.json", kv);
	if (!body)
		return 3;
	size_t len = strlen(body);
	int iters = n * 5;

	int64_t t0 = util_mono_ms();
	for (int i = 0; i < iters; i++) {
		json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
		json_decref(j);
	}
	int64_t t_json = util_mono_ms() - t0;

	t0 = util_mono_ms();
	for (int i = 0; i < iters; i++) {
		struct report r;
		if (reports_parse(body, len, &r, err, sizeof(err)))
			return 3;
		reports_clear(&r);
	}
	int64_t t_parse = util_mono_ms() - t0;

	snprintf(path, sizeof(path), "%s/b.db", dir);
	struct db *db = db_open(path, 0, err, sizeof(err));
	if (!db || db_exec(db,
			   "INSERT INTO endpoints (host, port, created_at, updated_at) VALUES "
			   "('api.example.com', 443, 0, 0)",
			   err, sizeof(err)))
		return 3;
	struct reports_limits *lim = reports_limits_new(65536, 1e9, 1e9, 4096, n / 2);
	t0 = util_mono_ms();
	for (int i = 0; i < n; i++)
		if (reports_ingest(db, body, len, "192.0.2.1", now + i, lim, err, sizeof(err)) !=
		    202)
			return 3;
	int64_t t_ingest = util_mono_ms() - t0;
	struct reports_stats st;
	reports_limits_stats(lim, &st);
	reports_limits_free(lim);

	lim = reports_limits_new(65536, 1, 20, 4096, 1000);
	t0 = util_mono_ms();
	int limited = 0;
	for (int i = 0; i < iters * 10; i++)
		limited += reports_ingest(db, body, len, "198.51.100.9", now, lim, err,
					  sizeof(err)) == 429;
	int64_t t_flood = util_mono_ms() - t0;
	reports_limits_free(lim);

	printf("body: TrustKit Android report, %zu bytes, 3 ECDSA certificates\n", len);
	printf("jansson parse only (baseline): %8.0f /s\n", rate(iters, t_json));
	printf("strict report parse:           %8.0f /s  (%.2fx the baseline's time)\n",
	       rate(iters, t_parse), t_json ? (double)t_parse / (double)t_json : 0);
	printf("ingest (fsync per report):     %8.0f /s  (%d reports, quota %d, %llu evicted)\n",
	       rate(n, t_ingest), n, n / 2, (unsigned long long)st.evicted);
	printf("flood from one source:         %8.0f /s rejected (%d of %d rate-limited)\n",
	       rate(iters * 10, t_flood), limited, iters * 10);
	db_close(db);
	char f[160];
	const char *const sfx[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(f, sizeof(f), "%s%s", path, sfx[i]);
		unlink(f);
	}
	rmdir(dir);
	tcert_free(&root);
	tcert_free(&inter);
	tcert_free(&leaf);
	gnutls_global_deinit();
	return 0;
}
