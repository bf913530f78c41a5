/* bench_alerts: cost of alerts_apply() on a realistic estate.
 * N endpoints × 1 app, 2 webhooks; measures one apply that opens N alerts
 * (2N outbox rows), a steady-state apply (nothing changes: the per-sweep
 * cost), and one that resolves them all. Usage: bench_alerts [N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts/alerts.h"
#include "base/config.h"
#include "store/db.h"
#include "base/util.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000;
	char dir[] = "/tmp/pinwatch-bench-alerts-XXXXXX", path[128], err[ERRLEN], sql[256];
	struct config cfg;
	if (n < 1 || n > ALERT_MAX_CONDS || !mkdtemp(dir))
		return 2;
	snprintf(path, sizeof(path), "%s/b.db", dir);
	struct db *db = db_open(path, 0, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "%s\n", err);
		return 3;
	}
	config_defaults(&cfg);
	db_exec(db, "BEGIN", NULL, 0);
	for (long i = 1; i <= n; i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO endpoints (id, host, created_at, updated_at)"
			 " VALUES (%ld, 'h%ld.example.com', 0, 0)",
			 i, i);
		db_exec(db, sql, NULL, 0);
	}
	db_exec(db,
		"INSERT INTO apps (id, name, platform, created_at, updated_at) VALUES"
		" (1, 'shop', 'android', 0, 0);"
		"INSERT INTO webhooks (url, format, secret, created_at) VALUES"
		" ('http://127.0.0.1:1/a', 'generic', 's', 0), ('http://127.0.0.1:1/b', 'slack', "
		"'s', 0);"
		"COMMIT",
		NULL, 0);
	struct alert_cond *c = calloc((size_t)n, sizeof(*c));
	for (long i = 0; i < n; i++) {
		char host[64];
		snprintf(host, sizeof(host), "h%ld.example.com", i + 1);
		c[i].kind = ALERT_STRANDING_NOW;
		c[i].endpoint_id = i + 1;
		c[i].app_id = 1;
		c[i].severity = SEVERITY_CRITICAL;
		alerts_fingerprint(c[i].kind, host, 443, "shop", c[i].fingerprint,
				   sizeof(c[i].fingerprint));
		snprintf(c[i].summary, sizeof(c[i].summary), "12%% of shop stranded on %s:443",
			 host);
		c[i].details = json_pack("{s:f, s:[{s:s, s:f}], s:[s]}", "stranded_share", 0.12,
					 "versions", "version", "4.2.0", "share", 0.12, "reasons",
					 "4.2.0 pins only the old leaf key");
	}
	struct alerts_result r;
	const char *names[] = { "open (all new)", "steady (no change)", "resolve (all gone)" };
	for (int phase = 0; phase < 3; phase++) {
		int64_t t0 = util_mono_ms();
		int rc = alerts_apply(db, c, phase == 2 ? 0 : (size_t)n, ALERT_SCOPE_ALL,
				      1000 + phase, &cfg, &r, err, sizeof(err));
		int64_t ms = util_mono_ms() - t0;
		if (rc) {
			fprintf(stderr, "alerts_apply: %s\n", err);
			return 3;
		}
		printf("%-20s %ld conditions: %6lld ms  (%.1f us/condition), %d outbox rows\n",
		       names[phase], n, (long long)ms, ms * 1000.0 / (double)n, r.notifications);
	}
	for (long i = 0; i < n; i++)
		json_decref(c[i].details);
	free(c);
	db_close(db);
	snprintf(sql, sizeof(sql), "rm -rf '%s'", dir);
	return system(sql) == 0 ? 0 : 3;
}
