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

#include "alerts/alerts.h"
#include "base/config.h"
#include "store/db.h"
#include "model/model.h"
#include "readiness/readiness.h"
#include "base/util.h"
#include "testdb.h"

static char dir[64];
static char path[128];
static struct db *db;
static struct config cfg;

static int setup(void **state)
{
	(void)state;
	char err[ERRLEN];
	if (testdb_mkdir("alerts", dir, sizeof(dir), path, sizeof(path)))
		return -1;
	db = db_open(path, 0, err, sizeof(err));
	if (!db)
		return -1;
	config_defaults(&cfg);
	snprintf(cfg.http_base_url, sizeof(cfg.http_base_url), "https://pinwatch.example");
	if (db_exec(db,
		    "INSERT INTO endpoints (id, host, port, created_at, updated_at) VALUES"
		    " (1, 'api.example.com', 443, 0, 0), (2, 'cdn.example.com', 443, 0, 0);"
		    "INSERT INTO apps (id, name, platform, created_at, updated_at) VALUES"
		    " (1, 'shop-android', 'android', 0, 0);"
		    "INSERT INTO webhooks (id, url, format, secret, min_severity, created_at) "
		    "VALUES"
		    " (1, 'http://127.0.0.1:1/a', 'generic', 's', 'warning', 0),"
		    " (2, 'http://127.0.0.1:1/b', 'slack', 's', 'critical', 0),"
		    " (3, 'http://127.0.0.1:1/c', 'generic', 's', 'info', 0);"
		    "UPDATE webhooks SET enabled = 0 WHERE id = 3;",
		    err, sizeof(err)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	db_close(db);
	db = NULL;
	testdb_remove(path, dir);
	return 0;
}

static int64_t q(const char *sql)
{
	int64_t v = -1;
	assert_int_equal(db_query_int(db, sql, &v), 0);
	return v;
}

static void cond(struct alert_cond *c, enum alert_kind kind, int64_t ep, int64_t app,
		 enum alert_severity sev, double share)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->endpoint_id = ep;
	c->app_id = app;
	c->severity = sev;
	assert_int_equal(alerts_fingerprint(kind, ep == 1 ? "api.example.com" : "cdn.example.com",
					    443, app ? "shop-android" : NULL, c->fingerprint,
					    sizeof(c->fingerprint)),
			 0);
	snprintf(c->summary, sizeof(c->summary), "%.0f%% of shop-android would be stranded",
		 share * 100);
	c->details = json_pack("{s:f, s:[{s:s, s:f}], s:[s]}", "stranded_share", share, "versions",
			       "version", "4.2.0", "share", share, "reasons",
			       "4.2.0 pins only the old leaf <key>");
}

/* ---- pure helpers ------------------------------------------------------- */

static void test_alerts_decide_table(void **state)
{
	(void)state;
	static const struct {
		bool firing;
		enum alert_severity prev_sev;
		time_t last_sent;
		bool present;
		enum alert_severity sev;
		time_t now;
		enum alert_action want;
	} cases[] = {
		{ false, ALERT_SEV_NONE, 0, false, ALERT_SEV_NONE, 1000, ALERT_ACT_NONE },
		{ false, ALERT_SEV_NONE, 0, true, ALERT_WARNING, 1000, ALERT_ACT_OPEN },
		{ true, ALERT_WARNING, 900, false, ALERT_SEV_NONE, 1000, ALERT_ACT_RESOLVE },
		{ true, ALERT_WARNING, 900, true, ALERT_CRITICAL, 1000, ALERT_ACT_CHANGE },
		{ true, ALERT_CRITICAL, 900, true, ALERT_WARNING, 1000, ALERT_ACT_CHANGE },
		{ true, ALERT_WARNING, 900, true, ALERT_WARNING, 950, ALERT_ACT_UPDATE },
		/* repeat interval 100: boundary at exactly 100 s */
		{ true, ALERT_WARNING, 900, true, ALERT_WARNING, 999, ALERT_ACT_UPDATE },
		{ true, ALERT_WARNING, 900, true, ALERT_WARNING, 1000, ALERT_ACT_REPEAT },
		{ true, ALERT_WARNING, 900, true, ALERT_WARNING, 1001, ALERT_ACT_REPEAT },
		/* never sent (silenced so far): send now */
		{ true, ALERT_WARNING, 0, true, ALERT_WARNING, 1000, ALERT_ACT_REPEAT },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct alert_prev p = { cases[i].firing, cases[i].prev_sev, cases[i].last_sent };
		enum alert_action got =
			alerts_decide(&p, cases[i].present, cases[i].sev, cases[i].now, 100);
		if (got != cases[i].want)
			fail_msg("case %zu: got %d want %d", i, got, cases[i].want);
	}
}

static void test_alerts_rotation_severity_table(void **state)
{
	(void)state;
	static const int def[4] = { 30, 14, 7, 2 };
	static const int two[4] = { 20, 5, 0, 0 };
	static const int one[4] = { 10, 0, 0, 0 };
	static const int none[4] = { 0, 0, 0, 0 };
	static const struct {
		const int *th;
		int days;
		enum alert_severity want;
	} cases[] = {
		{ def, 400, ALERT_SEV_NONE }, { def, 31, ALERT_SEV_NONE },
		{ def, 30, ALERT_INFO },      { def, 15, ALERT_INFO },
		{ def, 14, ALERT_WARNING },   { def, 8, ALERT_WARNING },
		{ def, 7, ALERT_CRITICAL },   { def, 2, ALERT_CRITICAL },
		{ def, 0, ALERT_CRITICAL },   { def, -5, ALERT_CRITICAL },
		{ two, 21, ALERT_SEV_NONE },  { two, 20, ALERT_INFO },
		{ two, 6, ALERT_INFO },	      { two, 5, ALERT_CRITICAL },
		{ one, 11, ALERT_SEV_NONE },  { one, 10, ALERT_CRITICAL },
		{ none, 0, ALERT_SEV_NONE },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum alert_severity got = alerts_rotation_severity(cases[i].days, cases[i].th);
		if (got != cases[i].want)
			fail_msg("case %zu (%d days): got %d want %d", i, cases[i].days, got,
				 cases[i].want);
	}
}

static void test_alerts_probe_failing_severity_table(void **state)
{
	(void)state;
	static const struct {
		int64_t n;
		int th;
		enum alert_severity want;
	} cases[] = {
		{ 0, 3, ALERT_SEV_NONE }, { 2, 3, ALERT_SEV_NONE }, { 3, 3, ALERT_WARNING },
		{ 8, 3, ALERT_WARNING },  { 9, 3, ALERT_CRITICAL }, { 1, 1, ALERT_WARNING },
		{ 3, 1, ALERT_CRITICAL }, { 1, 0, ALERT_WARNING },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (alerts_probe_failing_severity(cases[i].n, cases[i].th) != cases[i].want)
			fail_msg("case %zu", i);
}

static void test_alerts_fingerprint_stable_and_distinct(void **state)
{
	(void)state;
	char a[64], b[64], c[64], d[64];
	assert_int_equal(alerts_fingerprint(ALERT_STRANDING_NOW, "api.example.com", 443, "shop", a,
					    sizeof(a)),
			 0);
	assert_int_equal(alerts_fingerprint(ALERT_STRANDING_NOW, "api.example.com", 443, "shop", b,
					    sizeof(b)),
			 0);
	assert_string_equal(a, b);
	assert_int_equal(strncmp(a, "stranding_now-", 14), 0);
	assert_int_equal(strlen(a), 14 + 16);
	assert_int_equal(alerts_fingerprint(ALERT_STRANDING_NOW, "api.example.com", 8443, "shop", c,
					    sizeof(c)),
			 0);
	assert_string_not_equal(a, c);
	assert_int_equal(alerts_fingerprint(ALERT_ROTATION_NOT_READY, "api.example.com", 443,
					    "shop", d, sizeof(d)),
			 0);
	assert_string_not_equal(a + 14, d + 19);
	assert_int_equal(
		alerts_fingerprint(ALERT_STRANDING_NOW, "api.example.com", 443, "shop", c, 10),
		-ENOSPC);
}

static void test_alerts_names_roundtrip(void **state)
{
	(void)state;
	for (int k = 0; k < ALERT_KIND_COUNT; k++) {
		enum alert_kind out;
		assert_int_equal(alerts_kind_parse(alerts_kind_name((enum alert_kind)k), &out), 0);
		assert_int_equal(out, k);
	}
	enum alert_kind ko;
	enum alert_severity so;
	assert_int_equal(alerts_kind_parse("nope", &ko), -EINVAL);
	assert_int_equal(alerts_severity_parse("warning", &so), 0);
	assert_int_equal(so, ALERT_WARNING);
	assert_int_equal(alerts_severity_parse("none", &so), -EINVAL);
	assert_string_equal(alerts_kind_name(ALERT_KIND_COUNT), "unknown");
}

/* ---- alerts_apply against a database ------------------------------------ */

static void test_alerts_apply_lifecycle(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct alerts_result r;
	struct alert_cond c;
	cond(&c, ALERT_STRANDING_NOW, 1, 1, ALERT_CRITICAL, 0.2);
	cfg.alerts_repeat_s = 3600;

	/* New: one firing row, one outbox row per matching enabled webhook (1 and 2). */
	assert_int_equal(alerts_apply(db, &c, 1, ALERT_SCOPE_ALL, 1000, &cfg, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.opened, 1);
	assert_int_equal(r.notifications, 2);
	assert_int_equal(
		q("SELECT count(*) FROM alerts WHERE status = 'firing' AND starts_at = 1000"
		  " AND last_sent_at = 1000"),
		1);
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox"), 2);
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox WHERE webhook_id = 1 AND"
			   " idempotency_key = (SELECT fingerprint || ':firing:1000' FROM alerts)"),
			 1);
	assert_int_equal(q("SELECT json_extract(body, '$.alerts[0].labels.endpoint') ="
			   " 'api.example.com:443' FROM webhook_outbox WHERE webhook_id = 1"),
			 1);

	/* Still true, within the repeat interval: nothing new. */
	assert_int_equal(alerts_apply(db, &c, 1, ALERT_SCOPE_ALL, 2000, &cfg, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.notifications, 0);
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox"), 2);

	/* Repeat interval elapsed: one reminder each, with a distinct key. */
	assert_int_equal(alerts_apply(db, &c, 1, ALERT_SCOPE_ALL, 4600, &cfg, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.repeated, 1);
	assert_int_equal(r.notifications, 2);
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox"), 4);
	assert_int_equal(q("SELECT count(*) FROM alerts"), 1);

	/* Severity drops to warning: a change; the critical-only slack hook, which
	 * heard of it as critical, hears of the downgrade too. */
	json_decref(c.details);
	cond(&c, ALERT_STRANDING_NOW, 1, 1, ALERT_WARNING, 0.05);
	assert_int_equal(alerts_apply(db, &c, 1, ALERT_SCOPE_ALL, 4700, &cfg, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.changed, 1);
	assert_int_equal(r.notifications, 2);
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE severity = 'warning'"), 1);
	/* A reminder at warning: only the warning hook. */
	assert_int_equal(alerts_apply(db, &c, 1, ALERT_SCOPE_ALL, 8300, &cfg, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.repeated, 1);
	assert_int_equal(r.notifications, 1);

	/* Gone: resolved with ends_at; the episode peaked at critical: both hooks. */
	assert_int_equal(
		alerts_apply(db, NULL, 0, ALERT_SCOPE_ALL, 9000, &cfg, &r, err, sizeof(err)), 0);
	assert_int_equal(r.resolved, 1);
	assert_int_equal(r.notifications, 2);
	assert_int_equal(
		q("SELECT count(*) FROM alerts WHERE status = 'resolved' AND ends_at = 9000"), 1);
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox WHERE idempotency_key LIKE"
			   " '%:resolved:1000' AND json_extract(body, '$.status') = 'resolved'"),
			 1);
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox WHERE webhook_id = 2 AND"
			   " json_extract(body, '$.text') LIKE '[RESOLVED]%'"),
			 1);

	/* Back again: a new episode, a new row. */
	assert_int_equal(alerts_apply(db, &c, 1, ALERT_SCOPE_ALL, 9500, &cfg, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.opened, 1);
	assert_int_equal(q("SELECT count(*) FROM alerts"), 2);
	json_decref(c.details);
}

static void test_alerts_apply_scope_and_duplicates(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct alerts_result r;
	struct alert_cond c[3];
	cond(&c[0], ALERT_STRANDING_NOW, 1, 1, ALERT_WARNING, 0.1);
	cond(&c[1], ALERT_PROBE_FAILING, 2, 0, ALERT_WARNING, 0);
	cond(&c[2], ALERT_STRANDING_NOW, 1, 1, ALERT_CRITICAL, 0.3); /* duplicate, more severe */
	assert_int_equal(alerts_apply(db, c, 3, ALERT_SCOPE_ALL, 100, &cfg, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.opened, 2);
	assert_int_equal(q("SELECT severity = 'critical' FROM alerts WHERE kind = 'stranding_now'"),
			 1);
	/* A partial evaluator (readiness kinds only) must not resolve probe_failing. */
	assert_int_equal(alerts_apply(db, c, 1, ALERT_SCOPE(ALERT_STRANDING_NOW), 200, &cfg, &r,
				      err, sizeof(err)),
			 0);
	assert_int_equal(r.resolved, 0);
	assert_int_equal(r.changed, 1);
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE status = 'firing'"), 2);
	assert_int_equal(alerts_apply(db, NULL, 0, ALERT_SCOPE(ALERT_PROBE_FAILING), 300, &cfg, &r,
				      err, sizeof(err)),
			 0);
	assert_int_equal(r.resolved, 1);
	assert_int_equal(q("SELECT status = 'resolved' FROM alerts WHERE kind = 'probe_failing'"),
			 1);
	for (int i = 0; i < 3; i++)
		json_decref(c[i].details);
}

static void test_alerts_apply_silences(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct alerts_result r;
	struct alert_cond c[2];
	int64_t sid;
	cond(&c[0], ALERT_STRANDING_NOW, 1, 1, ALERT_CRITICAL, 0.1);
	cond(&c[1], ALERT_STRANDING_NOW, 2, 1, ALERT_CRITICAL, 0.1);
	cfg.alerts_repeat_s = 100000;
	assert_int_equal(alerts_silence_add(db, "test", NULL, 1, 500, "maintenance", 10, &sid, err,
					    sizeof(err)),
			 0);
	assert_int_equal(alerts_silence_add(db, "test", c[1].fingerprint, 0, 300, "known", 10, &sid,
					    err, sizeof(err)),
			 0);
	assert_int_equal(alerts_apply(db, c, 2, ALERT_SCOPE_ALL, 100, &cfg, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.opened, 2);
	assert_int_equal(r.silenced, 2);
	assert_int_equal(r.notifications, 0);
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox"), 0);
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE last_sent_at IS NULL"), 2);
	/* The fingerprint silence ends first: that alert is sent then, once. */
	assert_int_equal(alerts_apply(db, c, 2, ALERT_SCOPE_ALL, 300, &cfg, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.notifications, 2);
	assert_int_equal(r.repeated, 1);
	/* The alert still silenced is not "reminded" at every evaluation: its
	 * row is left as it is and nothing counts (nothing is logged). */
	assert_int_equal(r.silenced, 0);
	assert_int_equal(alerts_apply(db, c, 2, ALERT_SCOPE_ALL, 301, &cfg, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.notifications, 0);
	assert_int_equal(r.repeated + r.changed + r.opened + r.resolved + r.silenced, 0);
	assert_int_equal(q("SELECT updated_at FROM alerts WHERE endpoint_id = 1"), 100);
	/* Unsilence the endpoint: the other one goes out. */
	assert_int_equal(alerts_silence_remove(db, "test", 1, 302, err, sizeof(err)), 0);
	assert_int_equal(alerts_silence_remove(db, "test", 1, 303, err, sizeof(err)), -ENOENT);
	assert_int_equal(alerts_apply(db, c, 2, ALERT_SCOPE_ALL, 303, &cfg, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.notifications, 2);
	/* Every silence change is in the audit log, and the chain verifies. */
	assert_int_equal(q("SELECT count(*) FROM audit_log WHERE object_type = 'silence'"
			   " AND action = 'create'"),
			 2);
	assert_int_equal(q("SELECT count(*) FROM audit_log WHERE object_type = 'silence'"
			   " AND action = 'update' AND object_id = '1'"),
			 1);
	assert_int_equal(
		q("SELECT json_extract(after, '$.reason') = 'maintenance' FROM audit_log"
		  " WHERE object_type = 'silence' AND object_id = '1' AND action = 'create'"),
		1);
	/* Bad silences are refused. */
	assert_int_equal(alerts_silence_add(db, "t", NULL, 0, 900, "x", 10, &sid, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(alerts_silence_add(db, "t", "fp", 0, 900, "", 10, &sid, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(alerts_silence_add(db, "t", "fp", 0, 5, "x", 10, &sid, err, sizeof(err)),
			 -EINVAL);
	for (int i = 0; i < 2; i++)
		json_decref(c[i].details);
}

static void test_alerts_apply_resolved_unsent_is_quiet(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct alerts_result r;
	struct alert_cond c;
	int64_t sid;
	cond(&c, ALERT_STRANDING_NOW, 1, 1, ALERT_CRITICAL, 0.1);
	assert_int_equal(alerts_silence_add(db, "test", c.fingerprint, 0, 1000, "quiet", 1, &sid,
					    err, sizeof(err)),
			 0);
	assert_int_equal(alerts_apply(db, &c, 1, ALERT_SCOPE_ALL, 10, &cfg, &r, err, sizeof(err)),
			 0);
	assert_int_equal(alerts_apply(db, NULL, 0, ALERT_SCOPE_ALL, 20, &cfg, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.resolved, 1);
	assert_int_equal(r.notifications, 0);
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox"), 0);
	json_decref(c.details);
}

static void test_alerts_apply_rejects_bad_input_atomically(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct alert_cond c[2];
	cond(&c[0], ALERT_STRANDING_NOW, 1, 1, ALERT_CRITICAL, 0.1);
	cond(&c[1], ALERT_STRANDING_NOW, 2, 1, ALERT_CRITICAL, 0.1);
	c[1].severity = ALERT_SEV_NONE;
	assert_int_equal(alerts_apply(db, c, 2, ALERT_SCOPE_ALL, 10, &cfg, NULL, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "severity"));
	c[1].severity = ALERT_WARNING;
	c[1].fingerprint[0] = 0;
	assert_int_equal(alerts_apply(db, c, 2, ALERT_SCOPE_ALL, 10, &cfg, NULL, err, sizeof(err)),
			 -EINVAL);
	/* An unknown endpoint id violates the foreign key: nothing is written. */
	json_decref(c[1].details);
	cond(&c[1], ALERT_STRANDING_NOW, 2, 1, ALERT_CRITICAL, 0.1);
	c[1].endpoint_id = 99;
	assert_int_not_equal(
		alerts_apply(db, c, 2, ALERT_SCOPE_ALL, 10, &cfg, NULL, err, sizeof(err)), 0);
	assert_int_equal(q("SELECT count(*) FROM alerts"), 0);
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox"), 0);
	for (int i = 0; i < 2; i++)
		json_decref(c[i].details);
}

static void test_alerts_list_json(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct alert_cond c;
	json_t *arr;
	cond(&c, ALERT_STRANDING_NOW, 1, 1, ALERT_CRITICAL, 0.1);
	assert_int_equal(alerts_apply(db, &c, 1, ALERT_SCOPE_ALL, 10, &cfg, NULL, err, sizeof(err)),
			 0);
	assert_int_equal(
		alerts_apply(db, NULL, 0, ALERT_SCOPE_ALL, 20, &cfg, NULL, err, sizeof(err)), 0);
	assert_int_equal(alerts_apply(db, &c, 1, ALERT_SCOPE_ALL, 30, &cfg, NULL, err, sizeof(err)),
			 0);
	assert_int_equal(alerts_list_json(db, false, 0, 40, &arr, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(arr), 1);
	json_t *a = json_array_get(arr, 0);
	assert_string_equal(json_string_value(json_object_get(a, "endpoint")),
			    "api.example.com:443");
	assert_string_equal(json_string_value(json_object_get(a, "app")), "shop-android");
	assert_string_equal(json_string_value(json_object_get(a, "status")), "firing");
	assert_true(json_is_false(json_object_get(a, "silenced")));
	json_decref(arr);
	assert_int_equal(alerts_list_json(db, true, 0, 40, &arr, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(arr), 2);
	int64_t counts[4];
	assert_int_equal(alerts_firing_counts(db, counts), 0);
	assert_int_equal(counts[ALERT_CRITICAL], 1);
	assert_int_equal(counts[ALERT_WARNING], 0);
	json_decref(arr);
	json_decref(c.details);
}

/* ---- condition sources ---------------------------------------------------- */

static void obs(int64_t ep, const char *addr, const char *outcome, int chain, int64_t count,
		int64_t first, int64_t last)
{
	char sql[512], err[ERRLEN];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO observations (endpoint_id, address, outcome, presented_chain_id,"
		 " first_seen, last_seen, probe_count) VALUES (%lld, '%s', '%s', %s, %lld, %lld, "
		 "%lld)",
		 (long long)ep, addr, outcome, chain ? "1" : "NULL", (long long)first,
		 (long long)last, (long long)count);
	if (db_exec(db, sql, err, sizeof(err)))
		fail_msg("%s", err);
}

static const struct alert_cond *find_kind(const struct alerts_condv *v, enum alert_kind k,
					  int64_t ep)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i].kind == k && v->v[i].endpoint_id == ep)
			return &v->v[i];
	return NULL;
}

static void test_alerts_conds_from_observations_table(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct alerts_condv v = { 0 };
	assert_int_equal(
		db_exec(db, "INSERT INTO chains (id, sha256, length) VALUES (1, zeroblob(32), 0)",
			err, sizeof(err)),
		0);
	cfg.alerts_probe_failures = 3;
	/* endpoint 1: ok for a while, then 2 timeouts (below the threshold) */
	obs(1, "192.0.2.1", "ok", 1, 10, 0, 1000);
	obs(1, "192.0.2.1", "timeout", 0, 2, 1300, 1600);
	/* an address no longer served: its old failure is ignored */
	obs(1, "192.0.2.9", "refused", 0, 50, 0, 100);
	/* endpoint 2: presents a chain that does not validate */
	obs(2, "198.51.100.7", "untrusted", 1, 1, 1600, 1600);
	assert_int_equal(alerts_conds_from_observations(db, &cfg, &v, err, sizeof(err)), 0);
	assert_int_equal(v.n, 1);
	assert_non_null(find_kind(&v, ALERT_VALIDATION_FAILED, 2));
	assert_int_equal(find_kind(&v, ALERT_VALIDATION_FAILED, 2)->severity, ALERT_WARNING);
	alerts_condv_free(&v);

	/* Two more failures in a row, split over two rows (the outcome changed). */
	obs(1, "192.0.2.1", "refused", 0, 1, 1900, 1900);
	assert_int_equal(
		db_exec(db, "UPDATE observations SET outcome = 'expired' WHERE endpoint_id = 2",
			err, sizeof(err)),
		0);
	assert_int_equal(alerts_conds_from_observations(db, &cfg, &v, err, sizeof(err)), 0);
	assert_int_equal(v.n, 2);
	const struct alert_cond *pf = find_kind(&v, ALERT_PROBE_FAILING, 1);
	assert_non_null(pf);
	assert_int_equal(pf->severity, ALERT_WARNING);
	assert_non_null(strstr(pf->summary, "3 consecutive"));
	assert_int_equal(json_array_size(json_object_get(pf->details, "addresses")), 1);
	assert_int_equal(find_kind(&v, ALERT_VALIDATION_FAILED, 2)->severity, ALERT_CRITICAL);
	alerts_condv_free(&v);

	/* 9 consecutive: critical. */
	assert_int_equal(db_exec(db,
				 "UPDATE observations SET probe_count = 8 WHERE outcome = 'refused'"
				 " AND address = '192.0.2.1'",
				 err, sizeof(err)),
			 0);
	assert_int_equal(alerts_conds_from_observations(db, &cfg, &v, err, sizeof(err)), 0);
	assert_int_equal(find_kind(&v, ALERT_PROBE_FAILING, 1)->severity, ALERT_CRITICAL);
	alerts_condv_free(&v);

	/* Through alerts_evaluate: two alerts open; ok again: probe_failing resolves. */
	struct alerts_result r;
	assert_int_equal(alerts_evaluate(db, &cfg, 2000, &r, err, sizeof(err)), 0);
	assert_int_equal(r.opened, 2);
	obs(1, "192.0.2.1", "ok", 1, 1, 2100, 2100);
	assert_int_equal(alerts_evaluate(db, &cfg, 2100, &r, err, sizeof(err)), 0);
	assert_int_equal(r.resolved, 1);
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE status = 'resolved' AND kind = "
			   "'probe_failing'"),
			 1);
	/* Disabled endpoints are not evaluated. */
	assert_int_equal(
		db_exec(db, "UPDATE endpoints SET enabled = 0 WHERE id = 2", err, sizeof(err)), 0);
	assert_int_equal(alerts_evaluate(db, &cfg, 2200, &r, err, sizeof(err)), 0);
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE status = 'firing'"), 0);
}

static void test_alerts_conds_from_pin_expiry_table(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct alerts_condv v = { 0 };
	time_t now;
	assert_int_equal(util_parse_date("2026-11-01", &now), 0);
	static const char pin[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	char sql[2048];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO versions (id, app_id, version, created_at) VALUES (1, 1, '4.0', 0),"
		 " (2, 1, '4.1', 0), (3, 1, '3.0', 0), (4, 1, '4.2', 0), (5, 1, '4.3', 0),"
		 " (6, 1, '4.4', 0);"
		 "INSERT INTO adoption (version_id, at, share) VALUES (3, '2026-10-01', 0.2),"
		 " (3, '2026-10-20', 0);"
		 "INSERT INTO pin_policies (id, version_id, pattern, enforce, expires) VALUES"
		 " (1, 1, 'api.example.com', 1, '2026-11-11'),"	  /* 10 days: warning */
		 " (2, 2, 'cdn.example.com', 1, '2026-11-21'),"	  /* 20 days: info */
		 " (3, 3, 'old.example.com', 1, '2026-11-05'),"	  /* unused version */
		 " (4, 4, 'far.example.com', 1, '2026-12-21'),"	  /* 50 days: none */
		 " (5, 5, 'off.example.com', 0, '2026-11-05'),"	  /* not enforced */
		 " (6, 5, 'gone.example.com', 1, '2026-10-05'),"  /* already expired */
		 " (7, 6, 'api.example.com', 1, '2026-11-25'),"	  /* same app and pattern */
		 " (8, 6, 'today.example.com', 1, '2026-11-01')," /* expires today: expired */
		 " (9, 6, 'edge.example.com', 1, '2026-12-01');"  /* 30 days: info */
		 "INSERT INTO pins (policy_id, sha256) VALUES (1, '%s'), (2, '%s'), (3, '%s'),"
		 " (4, '%s'), (5, '%s'), (6, '%s'), (7, '%s'), (8, '%s'), (9, '%s');",
		 pin, pin, pin, pin, pin, pin, pin, pin, pin);
	assert_int_equal(db_exec(db, sql, err, sizeof(err)), 0);
	assert_int_equal(alerts_conds_from_pin_expiry(db, &cfg, now, &v, err, sizeof(err)), 0);
	static const struct {
		const char *pattern, *versions, *expires;
		int64_t days;
		enum alert_severity sev;
	} want[] = {
		{ "api.example.com", "4.0, 4.4", "2026-11-11", 10, ALERT_WARNING },
		{ "cdn.example.com", "4.1", "2026-11-21", 20, ALERT_INFO },
		{ "edge.example.com", "4.4", "2026-12-01", 30, ALERT_INFO },
	};
	assert_int_equal(v.n, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const struct alert_cond *c = NULL;
		for (size_t k = 0; k < v.n && !c; k++)
			if (strcmp(json_string_value(json_object_get(v.v[k].details, "pattern")),
				   want[i].pattern) == 0)
				c = &v.v[k];
		if (!c)
			fail_msg("no condition for %s", want[i].pattern);
		assert_int_equal(c->kind, ALERT_PIN_SET_EXPIRING);
		assert_int_equal(c->severity, want[i].sev);
		assert_int_equal(c->app_id, 1);
		assert_int_equal(json_integer_value(json_object_get(c->details, "days_left")),
				 want[i].days);
		assert_string_equal(json_string_value(json_object_get(c->details, "versions")),
				    want[i].versions);
		assert_string_equal(json_string_value(json_object_get(c->details, "expires")),
				    want[i].expires);
		/* the fingerprint and summary of the former SQL source: open alerts
		 * continue and resolve */
		char fp[sizeof(c->fingerprint)], sum[sizeof(c->summary)];
		assert_int_equal(alerts_fingerprint(ALERT_PIN_SET_EXPIRING, want[i].pattern, 0,
						    "shop-android", fp, sizeof(fp)),
				 0);
		assert_string_equal(c->fingerprint, fp);
		snprintf(sum, sizeof(sum),
			 "shop-android: the pin set for %s of version(s) %s expires on %s (%lld "
			 "days)",
			 want[i].pattern, want[i].versions, want[i].expires,
			 (long long)want[i].days);
		assert_string_equal(c->summary, sum);
	}
	alerts_condv_free(&v);
}

static void test_alerts_conds_from_readiness_table(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct app_version ver = { .id = 1, .version = "4.2.0" };
	struct app app = { .id = 7, .name = "shop-android", .adoption_threshold = 0.95 };
	struct endpoint ep = { .id = 3, .host = "api.example.com", .port = 443, .enabled = true };
	struct endpoint off = { .id = 4, .host = "old.example.com", .port = 443, .enabled = false };
	struct readiness_version_share vs = { .version = &ver, .share = 0.31, .known = true };
	char *r1 = "4.2.0 pins only leaf X";
	struct readiness_app_verdict av = { .app = &app };
	av.now = (struct readiness_scenario){ .evaluated = true,
					      .stranded_share = 0.31,
					      .surviving_share = 0.69,
					      .stranded = &vs,
					      .nstranded = 1,
					      .address = "192.0.2.1" };
	av.key_rotation = (struct readiness_scenario){ .evaluated = true,
						       .stranded_share = 0.31,
						       .surviving_share = 0.69,
						       .ready = false,
						       .stranded = &vs,
						       .nstranded = 1 };
	av.same_key = (struct readiness_scenario){ .evaluated = true,
						   .ready = true,
						   .surviving_share = 1 };
	av.reasons = (struct readiness_strv){ .v = &r1, .n = 1, .cap = 1 };
	struct readiness_endpoint_verdict evs[2] = {
		{ .ep = &ep, .apps = &av, .napps = 1, .drift = true, .disagree = false },
		{ .ep = &off, .apps = &av, .napps = 1, .drift = true, .disagree = true },
	};
	static const struct {
		bool known;
		int64_t days;
		enum alert_severity rot; /* ALERT_SEV_NONE: no rotation_not_ready */
	} cases[] = {
		{ false, 5, ALERT_SEV_NONE }, { true, 60, ALERT_SEV_NONE },
		{ true, 30, ALERT_INFO },     { true, 14, ALERT_WARNING },
		{ true, 7, ALERT_CRITICAL },  { true, -3, ALERT_CRITICAL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct alerts_condv v = { 0 };
		evs[0].expiry = (struct readiness_expiry){ .known = cases[i].known,
							   .days_left = cases[i].days,
							   .not_after = 1800000000 };
		struct readiness_report rep = { .eps = evs, .neps = 2 };
		assert_int_equal(alerts_conds_from_readiness(&rep, &cfg, &v, err, sizeof(err)), 0);
		/* stranding_now + chain_changed always; the disabled endpoint never */
		size_t want = 2 + (cases[i].rot != ALERT_SEV_NONE);
		if (v.n != want)
			fail_msg("case %zu: %zu conditions, want %zu", i, v.n, want);
		const struct alert_cond *sn = find_kind(&v, ALERT_STRANDING_NOW, 3);
		assert_non_null(sn);
		assert_int_equal(sn->severity, ALERT_CRITICAL);
		assert_int_equal(sn->app_id, 7);
		assert_non_null(strstr(sn->summary, "31.0% of shop-android"));
		assert_string_equal(
			json_string_value(json_object_get(
				json_array_get(json_object_get(sn->details, "versions"), 0),
				"version")),
			"4.2.0");
		assert_int_equal(find_kind(&v, ALERT_CHAIN_CHANGED, 3)->severity, ALERT_INFO);
		assert_null(find_kind(&v, ALERT_EDGES_DISAGREE, 4));
		const struct alert_cond *rn = find_kind(&v, ALERT_ROTATION_NOT_READY, 3);
		if (cases[i].rot == ALERT_SEV_NONE) {
			assert_null(rn);
		} else {
			assert_non_null(rn);
			assert_int_equal(rn->severity, cases[i].rot);
			json_t *rs = json_object_get(rn->details, "reasons");
			assert_non_null(strstr(json_string_value(json_array_get(rs, 0)),
					       "keeps the current key is safe"));
			assert_int_equal(
				json_integer_value(json_object_get(rn->details, "expiry_days")),
				cases[i].days);
			assert_string_not_equal(rn->fingerprint, sn->fingerprint);
		}
		alerts_condv_free(&v);
	}
	/* A ready rotation and nothing stranded: no condition at all. */
	av.now.stranded_share = 0;
	av.key_rotation.ready = true;
	evs[0].drift = false;
	struct alerts_condv v = { 0 };
	struct readiness_report rep = { .eps = evs, .neps = 1 };
	assert_int_equal(alerts_conds_from_readiness(&rep, &cfg, &v, err, sizeof(err)), 0);
	assert_int_equal(v.n, 0);
	alerts_condv_free(&v);
}

/* A validated chain leaf, intermediate, root; certificates told apart by @tag. */
static void exp_chain(struct readiness_chain *ch, struct readiness_cert *c, time_t leaf,
		      time_t inter, time_t root, uint8_t tag)
{
	static char *names[3][2] = { { "CN=api.example.com", "CN=Test CA 1" },
				     { "CN=Test CA 1", "CN=Test Root" },
				     { "CN=Test Root", "CN=Test Root" } };
	time_t na[3] = { leaf, inter, root };
	memset(c, 0, 3 * sizeof(*c));
	for (int i = 0; i < 3; i++) {
		c[i].subject = names[i][0];
		c[i].issuer = names[i][1];
		c[i].not_after = na[i];
		c[i].sha256[0] = (uint8_t)(i + 1);
		c[i].sha256[1] = tag;
		c[i].is_ca = i > 0;
	}
	ch->certs = c;
	ch->ncerts = 3;
}

static void test_alerts_conds_expiry_table(void **state)
{
	(void)state;
	const time_t at = 1800000000, D = 86400;
	struct endpoint ep = { .id = 3, .host = "api.example.com", .port = 443, .enabled = true };
	static const struct {
		int64_t leaf1, inter1, root1; /* days from at; edge 192.0.2.1 */
		int64_t leaf2;		      /* edge 192.0.2.2 (its own copies); 0: same as 1 */
		bool disabled;
		enum alert_severity sev;
		const char *role;
		int64_t days;
		const char *stale; /* the edge named as still serving it, or NULL */
	} cases[] = {
		{ 5, 20, 900, 0, false, ALERT_CRITICAL, "leaf", 5, NULL },
		{ 90, 20, 900, 0, false, ALERT_INFO, "intermediate", 20, NULL },
		{ 90, 14, 900, 0, false, ALERT_WARNING, "intermediate", 14, NULL },
		{ 90, 400, 900, 0, false, ALERT_SEV_NONE, NULL, 0, NULL },
		/* an expired trust anchor is not judged */
		{ 90, 400, -10, 0, false, ALERT_SEV_NONE, NULL, 0, NULL },
		/* one edge renewed: the other is named */
		{ 90, 400, 900, 3, false, ALERT_CRITICAL, "leaf", 3, "192.0.2.2" },
		{ 2, 400, 900, 90, false, ALERT_CRITICAL, "leaf", 2, "192.0.2.1" },
		/* expired leaf still served */
		{ -1, 400, 900, 0, false, ALERT_CRITICAL, "leaf", -1, NULL },
		{ 5, 20, 900, 0, true, ALERT_SEV_NONE, NULL, 0, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct readiness_cert c1[3], c2[3];
		struct readiness_address a[2] = { { .address = "192.0.2.1", .outcome = "ok" },
						  { .address = "192.0.2.2", .outcome = "ok" } };
		exp_chain(&a[0].validated, c1, at + cases[i].leaf1 * D, at + cases[i].inter1 * D,
			  at + cases[i].root1 * D, 1);
		exp_chain(&a[1].validated, c2,
			  at + (cases[i].leaf2 ? cases[i].leaf2 : cases[i].leaf1) * D,
			  at + cases[i].inter1 * D, at + cases[i].root1 * D,
			  cases[i].leaf2 ? 2 : 1);
		struct readiness_observed ob = { .addrs = a, .naddrs = 2 };
		ep.enabled = !cases[i].disabled;
		struct readiness_endpoint_verdict ev = { .ep = &ep, .obs = &ob, .at = at };
		struct alerts_condv v = { 0 };
		assert_int_equal(alerts_conds_expiry(&ev, &cfg, &v, 0), 0);
		if (cases[i].sev == ALERT_SEV_NONE) {
			if (v.n)
				fail_msg("case %zu: unexpected '%s'", i, v.v[0].summary);
			alerts_condv_free(&v);
			continue;
		}
		assert_int_equal(v.n, 1);
		const struct alert_cond *c = &v.v[0];
		if (c->severity != cases[i].sev)
			fail_msg("case %zu: severity %d want %d (%s)", i, c->severity, cases[i].sev,
				 c->summary);
		assert_int_equal(c->kind, ALERT_CERTIFICATE_EXPIRING);
		assert_int_equal(c->endpoint_id, 3);
		assert_false(c->quiet);
		json_t *cert = json_object_get(c->details, "certificate");
		assert_string_equal(json_string_value(json_object_get(cert, "role")),
				    cases[i].role);
		assert_int_equal(json_integer_value(json_object_get(c->details, "days_left")),
				 cases[i].days);
		char want[64];
		snprintf(want, sizeof(want), "%s certificate CN=", cases[i].role);
		if (!strstr(c->summary, want))
			fail_msg("case %zu: '%s' lacks '%s'", i, c->summary, want);
		json_t *stale = json_object_get(c->details, "stale_addresses");
		if (cases[i].stale) {
			assert_int_equal(json_array_size(stale), 1);
			assert_string_equal(json_string_value(json_array_get(stale, 0)),
					    cases[i].stale);
			assert_non_null(strstr(c->summary, cases[i].stale));
			assert_non_null(strstr(c->summary, "still served by"));
		} else {
			assert_null(strstr(c->summary, "still served by"));
		}
		alerts_condv_free(&v);
	}
}

/* rotation_not_ready of the same endpoint is merged: quiet, linked, and told
 * in certificate_expiring's text (one page per certificate). */
static void test_alerts_conds_expiry_merges_rotation(void **state)
{
	(void)state;
	char err[ERRLEN];
	const time_t at = 1800000000, D = 86400;
	struct app_version ver = { .id = 1, .version = "4.2.0" };
	struct app app = { .id = 1, .name = "shop-android", .adoption_threshold = 0.95 };
	struct endpoint ep = { .id = 1, .host = "api.example.com", .port = 443, .enabled = true };
	struct readiness_version_share vs = { .version = &ver, .share = 0.31, .known = true };
	struct readiness_app_verdict av = { .app = &app };
	av.key_rotation = (struct readiness_scenario){ .evaluated = true,
						       .stranded_share = 0.31,
						       .surviving_share = 0.69,
						       .stranded = &vs,
						       .nstranded = 1 };
	struct readiness_cert c1[3];
	struct readiness_address a = { .address = "192.0.2.1", .outcome = "ok" };
	exp_chain(&a.validated, c1, at + 10 * D, at + 400 * D, at + 900 * D, 1);
	struct readiness_observed ob = { .addrs = &a, .naddrs = 1 };
	struct readiness_endpoint_verdict ev = {
		.ep = &ep, .obs = &ob, .at = at, .apps = &av, .napps = 1
	};
	ev.expiry = (struct readiness_expiry){
		.known = true, .days_left = 10, .not_after = at + 10 * D, .leaf = true
	};
	struct readiness_report rep = { .eps = &ev, .neps = 1 };
	struct alerts_condv v = { 0 };
	assert_int_equal(alerts_conds_from_readiness(&rep, &cfg, &v, err, sizeof(err)), 0);
	const struct alert_cond *rn = find_kind(&v, ALERT_ROTATION_NOT_READY, 1);
	const struct alert_cond *ce = find_kind(&v, ALERT_CERTIFICATE_EXPIRING, 1);
	assert_non_null(rn);
	assert_non_null(ce);
	assert_true(rn->quiet);
	assert_false(ce->quiet);
	assert_int_equal(ce->severity, ALERT_WARNING);
	assert_string_equal(json_string_value(json_object_get(rn->details, "paged_by")),
			    ce->fingerprint);
	json_t *linked = json_array_get(json_object_get(ce->details, "rotation_not_ready"), 0);
	assert_string_equal(json_string_value(json_object_get(linked, "fingerprint")),
			    rn->fingerprint);
	assert_string_equal(json_string_value(json_object_get(linked, "app")), "shop-android");
	assert_non_null(strstr(ce->summary, "rotation not ready for shop-android (31.0%"));

	/* Applied: one notification to each matching webhook, for certificate_expiring only. */
	struct alerts_result r;
	assert_int_equal(
		alerts_apply(db, v.v, v.n, ALERT_SCOPE_ALL, at, &cfg, &r, err, sizeof(err)), 0);
	assert_int_equal(r.opened, 2);
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox o JOIN alerts a ON a.id = "
			   "o.alert_id WHERE a.kind = 'rotation_not_ready'"),
			 0);
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox o JOIN alerts a ON a.id = "
			   "o.alert_id WHERE a.kind = 'certificate_expiring'"),
			 1); /* webhook 1 (warning); 2 wants critical, 3 is disabled */
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE kind = 'rotation_not_ready' AND"
			   " status = 'firing' AND last_sent_at IS NULL"),
			 1);
	alerts_condv_free(&v);

	/* Rotation ready: certificate_expiring alone, without the merged text. */
	av.key_rotation.ready = true;
	assert_int_equal(alerts_conds_from_readiness(&rep, &cfg, &v, err, sizeof(err)), 0);
	assert_null(find_kind(&v, ALERT_ROTATION_NOT_READY, 1));
	ce = find_kind(&v, ALERT_CERTIFICATE_EXPIRING, 1);
	assert_non_null(ce);
	assert_null(strstr(ce->summary, "rotation not ready"));
	alerts_condv_free(&v);
}

/* A reminder at each threshold: 7 and 2 days are both critical, yet crossing
 * 2 notifies again; within one threshold nothing is re-sent before the
 * repeat interval. */
static void test_alerts_apply_expiry_threshold_reminders(void **state)
{
	(void)state;
	char err[ERRLEN];
	const time_t D = 86400, t0 = 1800000000, na = t0 + 8 * D + 3600;
	struct endpoint ep = { .id = 1, .host = "api.example.com", .port = 443, .enabled = true };
	static const struct {
		int64_t day; /* evaluation at t0 + day days */
		int64_t days_left;
		enum alert_severity sev;
		int sent; /* outbox rows added (webhook 1: warning+, webhook 2: critical) */
	} steps[] = {
		{ 0, 8, ALERT_WARNING, 1 },  /* opens at warning */
		{ 0, 8, ALERT_WARNING, 0 },  /* same stage: nothing */
		{ 1, 7, ALERT_CRITICAL, 2 }, /* critical: both hooks */
		{ 2, 6, ALERT_CRITICAL, 0 }, /* still the 7-day stage */
		{ 6, 2, ALERT_CRITICAL, 2 }, /* the 2-day threshold: a reminder */
		{ 7, 1, ALERT_CRITICAL, 0 }, /* same stage, within the repeat interval */
	};
	cfg.alerts_repeat_s = 30 * D; /* only thresholds remind here */
	int64_t before = 0;
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		struct readiness_cert c1[3];
		struct readiness_address a = { .address = "192.0.2.1", .outcome = "ok" };
		exp_chain(&a.validated, c1, na, na + 400 * D, na + 900 * D, 1);
		struct readiness_observed ob = { .addrs = &a, .naddrs = 1 };
		time_t now = t0 + steps[i].day * D + (i == 1 ? 60 : 0);
		struct readiness_endpoint_verdict ev = { .ep = &ep, .obs = &ob, .at = now };
		struct alerts_condv v = { 0 };
		assert_int_equal(alerts_conds_expiry(&ev, &cfg, &v, 0), 0);
		assert_int_equal(v.n, 1);
		assert_int_equal(json_integer_value(json_object_get(v.v[0].details, "days_left")),
				 steps[i].days_left);
		assert_int_equal(v.v[0].severity, steps[i].sev);
		assert_int_equal(alerts_apply(db, v.v, v.n, ALERT_SCOPE(ALERT_CERTIFICATE_EXPIRING),
					      now, &cfg, NULL, err, sizeof(err)),
				 0);
		int64_t after = q("SELECT count(*) FROM webhook_outbox");
		if (after - before != steps[i].sent)
			fail_msg("step %zu: %lld notifications, want %d", i,
				 (long long)(after - before), steps[i].sent);
		before = after;
		alerts_condv_free(&v);
	}
	/* renewed: resolved, told to those who heard of it */
	struct alerts_result r;
	assert_int_equal(alerts_apply(db, NULL, 0, ALERT_SCOPE(ALERT_CERTIFICATE_EXPIRING),
				      t0 + 8 * D, &cfg, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.resolved, 1);
	assert_int_equal(q("SELECT count(*) FROM webhook_outbox") - before, 2);
}

static void test_alerts_evaluate_failed_source_keeps_its_alerts(void **state)
{
	(void)state;
	char err[ERRLEN], sql[512];
	struct alerts_result r;
	time_t now;
	assert_int_equal(util_parse_date("2026-11-01", &now), 0);
	cfg.alerts_probe_failures = 3;
	obs(1, "192.0.2.1", "timeout", 0, 5, now - 100, now - 10);
	assert_int_equal(alerts_evaluate(db, &cfg, now, &r, err, sizeof(err)), 0);
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE kind = 'probe_failing' AND"
			   " status = 'firing'"),
			 1);
	/* The observations (and with them readiness) become unreadable; a pin set
	 * starts expiring. */
	snprintf(sql, sizeof(sql),
		 "ALTER TABLE observations RENAME TO observations_gone;"
		 "INSERT INTO versions (id, app_id, version, created_at) VALUES (1, 1, '4.0', 0);"
		 "INSERT INTO pin_policies (id, version_id, pattern, enforce, expires) VALUES"
		 " (1, 1, 'api.example.com', 1, '2026-11-05');"
		 "INSERT INTO pins (policy_id, sha256) VALUES"
		 " (1, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');");
	assert_int_equal(db_exec(db, sql, err, sizeof(err)), 0);
	err[0] = 0;
	assert_int_not_equal(alerts_evaluate(db, &cfg, now + 60, &r, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "observations"));
	assert_int_equal(r.opened, 1); /* the other sources were applied */
	assert_int_equal(r.resolved, 0);
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE kind = 'probe_failing' AND"
			   " status = 'firing'"),
			 1);
	assert_int_equal(q("SELECT count(*) FROM alerts WHERE kind = 'pin_set_expiring' AND"
			   " status = 'firing'"),
			 1);
	assert_int_equal(db_exec(db, "ALTER TABLE observations_gone RENAME TO observations", err,
				 sizeof(err)),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alerts_decide_table),
		cmocka_unit_test(test_alerts_rotation_severity_table),
		cmocka_unit_test(test_alerts_probe_failing_severity_table),
		cmocka_unit_test(test_alerts_fingerprint_stable_and_distinct),
		cmocka_unit_test(test_alerts_names_roundtrip),
		cmocka_unit_test_setup_teardown(test_alerts_apply_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alerts_apply_scope_and_duplicates, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_alerts_apply_silences, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alerts_apply_resolved_unsent_is_quiet, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_alerts_apply_rejects_bad_input_atomically,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_alerts_list_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alerts_conds_from_observations_table, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_alerts_conds_from_pin_expiry_table, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_alerts_conds_from_readiness_table, setup,
						teardown),
		cmocka_unit_test(test_alerts_conds_expiry_table),
		cmocka_unit_test_setup_teardown(test_alerts_conds_expiry_merges_rotation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_alerts_apply_expiry_threshold_reminders, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_alerts_evaluate_failed_source_keeps_its_alerts,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
