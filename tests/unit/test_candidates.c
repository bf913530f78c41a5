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
#include "signals/candidates.h"
#include "base/config.h"
#include "store/db.h"
#include "signals/reports.h"
#include "sigcert.h"
#include "base/util.h"
#include "testdb.h"

#define NOW ((time_t)1795773600) /* 2026-11-27T10:00:00Z */
#define DAY 86400

static char dir[64];
static char path[128];
static char ca[128]; /* the trust anchors: both roots */

/* Today: root1 -> inter1 -> leaf1. Candidates: a new CA (root2 -> inter2,
 * whose key is the apps' backup pin) and a same-CA renewal (inter1 -> leaf3). */
static struct tcert root1, inter1, leaf1, root2, inter2, leaf2, leaf3, other_leaf;

static int group_setup(void **state)
{
	(void)state;
	const char *const names[] = { "example.com", "*.example.com", NULL };
	const char *const other[] = { "shop.other.net", NULL };
	if (gnutls_global_init() < 0)
		return -1;
	if (tcert_make(&root1, "Old Root", NULL, NULL, true, NOW - 900 * DAY, NOW + 900 * DAY,
		       NULL) ||
	    tcert_make(&inter1, "Old Issuing CA", NULL, &root1, true, NOW - 800 * DAY,
		       NOW + 800 * DAY, NULL) ||
	    tcert_make(&leaf1, "example.com", names, &inter1, false, NOW - 60 * DAY, NOW + 30 * DAY,
		       NULL) ||
	    tcert_make(&root2, "New Root", NULL, NULL, true, NOW - 900 * DAY, NOW + 900 * DAY,
		       NULL) ||
	    tcert_make(&inter2, "New Issuing CA", NULL, &root2, true, NOW - 800 * DAY,
		       NOW + 800 * DAY, NULL) ||
	    tcert_make(&leaf2, "example.com", names, &inter2, false, NOW + 3 * DAY, NOW + 93 * DAY,
		       NULL) ||
	    tcert_make(&leaf3, "example.com", names, &inter1, false, NOW + 3 * DAY, NOW + 93 * DAY,
		       NULL) ||
	    tcert_make(&other_leaf, "shop.other.net", other, &inter1, false, NOW, NOW + 90 * DAY,
		       NULL))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	struct tcert *all[] = { &root1,	 &inter1, &leaf1, &root2,
				&inter2, &leaf2,  &leaf3, &other_leaf };
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		tcert_free(all[i]);
	gnutls_global_deinit();
	return 0;
}

static int exec_fmt(struct db *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int exec_fmt(struct db *db, const char *fmt, ...)
{
	char sql[2048], err[ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	int rc = db_exec(db, sql, err, sizeof(err));
	if (rc)
		fprintf(stderr, "%s: %s\n", sql, err);
	return rc;
}

/* Inventory: endpoints api/www.example.com and shop.other.net; app shop-ios:
 *   3.9.0 (5%)  api.example.com pins an old key, expired 2026-01-01
 *   4.0.0 (no adoption figure) api.example.com pins inter1
 *   4.1.0 (30%) api.example.com pins inter1
 *   4.2.0 (60%) **.example.com pins inter1 + backup inter2 */
static int setup(void **state)
{
	char err[ERRLEN];
	if (testdb_mkdir("cand", dir, sizeof(dir), path, sizeof(path)))
		return -1;
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	FILE *f = fopen(ca, "w");
	if (!f || fprintf(f, "%s%s", root1.pem, root2.pem) < 0 || fclose(f))
		return -1;
	struct db *db = db_open(path, 0, err, sizeof(err));
	if (!db)
		return -1;
	if (exec_fmt(
		    db,
		    "INSERT INTO endpoints (id, host, port, created_at, updated_at) VALUES "
		    "(1, 'api.example.com', 443, 0, 0), (2, 'www.example.com', 443, 0, 0), "
		    "(3, 'shop.other.net', 443, 0, 0);"
		    "INSERT INTO apps (id, name, platform, bundle_id, created_at, updated_at) "
		    "VALUES "
		    "(1, 'shop-ios', 'ios', 'com.example.shop', 0, 0);"
		    "INSERT INTO versions (id, app_id, version, created_at) VALUES "
		    "(39, 1, '3.9.0', 0), (40, 1, '4.0.0', 0), (41, 1, '4.1.0', 0), (42, 1, "
		    "'4.2.0', 0);"
		    "INSERT INTO adoption (version_id, at, share) VALUES (39, '2026-11-01', 0.05), "
		    "(41, '2026-10-01', 0.50), (41, '2026-11-20', 0.30), (42, '2026-11-20', 0.60);"
		    "INSERT INTO pin_policies (id, version_id, pattern, enforce, expires) VALUES "
		    "(1, 39, 'api.example.com', 1, '2026-01-01'), (2, 40, 'api.example.com', 1, "
		    "NULL), "
		    "(3, 41, 'api.example.com', 1, NULL), (4, 42, '**.example.com', 1, NULL);"
		    "INSERT INTO pins (policy_id, sha256, role) VALUES "
		    "(1, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'current'), "
		    "(2, '%s', 'current'), (3, '%s', 'current'), (4, '%s', 'current'), "
		    "(4, '%s', 'backup');",
		    inter1.pin_b64, inter1.pin_b64, inter1.pin_b64, inter2.pin_b64))
		return -1;
	*state = db;
	return 0;
}

static int teardown(void **state)
{
	db_close(*state);
	unlink(ca);
	testdb_remove(path, dir);
	return 0;
}

static char *pem_chain(const struct tcert *a, const struct tcert *b)
{
	size_t n = strlen(a->pem) + (b ? strlen(b->pem) : 0) + 1;
	char *s = malloc(n);
	assert_non_null(s);
	snprintf(s, n, "%s%s", a->pem, b ? b->pem : "");
	return s;
}

static int64_t q(struct db *db, const char *sql)
{
	int64_t v = -1;
	assert_int_equal(db_query_int(db, sql, &v), 0);
	return v;
}

static json_t *endpoint_of(json_t *verdict, const char *host)
{
	size_t i;
	json_t *ep;
	json_t *eps = json_object_get(verdict, "endpoints");
	json_array_foreach(eps, i, ep)
	{
		if (!strcmp(json_string_value(json_object_get(ep, "host")), host))
			return ep;
	}
	return NULL;
}

static void test_candidates_new_ca_strands_one_alert(void **state)
{
	struct db *db = *state;
	char err[ERRLEN];
	int64_t id, id2;
	bool existed;
	char *pem = pem_chain(&leaf2, &inter2);
	assert_int_equal(candidates_add(db, "test", ca, (const uint8_t *)pem, strlen(pem),
					CANDIDATE_CT, NULL, NOW, &id, &existed, err, sizeof(err)),
			 0);
	assert_false(existed);
	json_t *c;
	assert_int_equal(candidates_json(db, id, &c, err, sizeof(err)), 0);
	assert_true(json_is_true(json_object_get(c, "would_strand")));
	assert_string_equal(json_string_value(json_object_get(c, "source")), "ct");
	json_t *v = json_object_get(c, "verdict");
	/* Evaluated at its notBefore (3 days from now), not before. */
	assert_string_equal(json_string_value(json_object_get(v, "at")), "2026-11-30");
	/* Covers api and www, not shop.other.net. */
	assert_int_equal(json_array_size(json_object_get(v, "endpoints")), 2);
	assert_null(endpoint_of(v, "shop.other.net"));
	json_t *api = endpoint_of(v, "api.example.com");
	json_t *www = endpoint_of(v, "www.example.com");
	assert_non_null(api);
	assert_non_null(www);
	/* api: 4.1.0 (latest figure 30%) stranded; 4.2.0 survives on its backup
	 * pin; 3.9.0's pins expired; 4.0.0 has no figure. */
	json_t *app = json_array_get(json_object_get(api, "apps"), 0);
	assert_float_equal(json_real_value(json_object_get(app, "stranded_share")), 0.30, 1e-9);
	assert_float_equal(json_real_value(json_object_get(app, "unknown_share")), 0.05, 1e-9);
	/* At risk: 4.0.0 (no figure: share null) and 4.1.0, in inventory order. */
	json_t *sv = json_object_get(app, "stranded_versions");
	assert_int_equal(json_array_size(sv), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(sv, 0), "version")),
			    "4.0.0");
	assert_true(json_is_null(json_object_get(json_array_get(sv, 0), "share")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(sv, 1), "version")),
			    "4.1.0");
	assert_float_equal(json_real_value(json_object_get(json_array_get(sv, 1), "share")), 0.30,
			   1e-9);
	assert_int_equal(json_integer_value(json_object_get(app, "app_id")), 1);
	app = json_array_get(json_object_get(www, "apps"), 0);
	assert_float_equal(json_real_value(json_object_get(app, "stranded_share")), 0, 1e-9);
	json_decref(c);

	struct reports_alert *a;
	size_t n;
	assert_int_equal(candidates_alert_conds(db, &a, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].kind, "candidate_would_strand");
	assert_int_equal(a[0].severity, SEVERITY_CRITICAL);
	assert_int_equal(a[0].endpoint_id, 1);
	assert_int_equal(a[0].app_id, 1);
	assert_non_null(strstr(a[0].summary, "30.0% of users on api.example.com"));
	char fp[128];
	snprintf(fp, sizeof(fp), "%s", a[0].fingerprint);
	reports_alerts_free(a, n);

	/* Through the alert engine: exactly one firing alert, also when evaluated again. */
	struct config cfg;
	config_defaults(&cfg);
	snprintf(cfg.probe_ca_file, sizeof(cfg.probe_ca_file), "%s", ca);
	struct alerts_result res;
	assert_int_equal(
		alerts_evaluate(db, &cfg, NOW, &reports_alerts_source, &res, err, sizeof(err)), 0);
	assert_int_equal(res.opened, 1);
	assert_int_equal(
		alerts_evaluate(db, &cfg, NOW + 60, &reports_alerts_source, &res, err, sizeof(err)),
		0);
	assert_int_equal(res.opened, 0);
	assert_int_equal(q(db,
			   "SELECT count(*) FROM alerts WHERE kind = 'candidate_would_strand' "
			   "AND status = 'firing' AND severity = 'critical' AND endpoint_id = 1"),
			 1);
	assert_int_equal(q(db, "SELECT count(*) FROM alerts"), 1);

	/* The same chain again (CT logs repeat, precert and cert) is not duplicated. */
	assert_int_equal(candidates_add(db, "test", ca, (const uint8_t *)pem, strlen(pem),
					CANDIDATE_CT, NULL, NOW + 60, &id2, &existed, err,
					sizeof(err)),
			 0);
	assert_true(existed);
	assert_int_equal(id2, id);
	/* A same-CA renewal strands nobody and adds no condition. */
	char *renew = pem_chain(&leaf3, &inter1);
	assert_int_equal(candidates_add(db, "test", ca, (const uint8_t *)renew, strlen(renew),
					CANDIDATE_MANUAL, NULL, NOW, &id2, &existed, err,
					sizeof(err)),
			 0);
	assert_int_equal(q(db, "SELECT count(*) FROM candidates"), 2);
	assert_int_equal(candidates_alert_conds(db, &a, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].fingerprint, fp);
	reports_alerts_free(a, n);

	/* After the apps move on (4.1.0 gets the backup pin), re-evaluation clears it. */
	assert_int_equal(exec_fmt(db,
				  "INSERT INTO pins VALUES (3, '%s', 'backup');"
				  "INSERT INTO pins VALUES (2, '%s', 'backup');",
				  inter2.pin_b64, inter2.pin_b64),
			 0);
	assert_int_equal(candidates_evaluate_all(db, ca, NOW, err, sizeof(err)), 0);
	assert_int_equal(candidates_alert_conds(db, &a, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	reports_alerts_free(a, n);
	assert_int_equal(alerts_evaluate(db, &cfg, NOW + 120, &reports_alerts_source, &res, err,
					 sizeof(err)),
			 0);
	assert_int_equal(res.resolved, 1);
	assert_int_equal(q(db, "SELECT count(*) FROM alerts WHERE status = 'firing'"), 0);

	/* Two new candidates audited; re-adding and re-evaluating are not changes. */
	assert_int_equal(q(db, "SELECT count(*) FROM audit_log WHERE object_type = 'candidate' AND "
			       "action = 'create' AND actor = 'test'"),
			 2);
	assert_int_equal(candidates_remove(db, "test", id, err, sizeof(err)), 0);
	assert_int_equal(candidates_remove(db, "test", id, err, sizeof(err)), -ENOENT);
	assert_int_equal(q(db, "SELECT count(*) FROM audit_log WHERE object_type = 'candidate' AND "
			       "action = 'delete'"),
			 1);
	assert_int_equal(q(db, "SELECT count(*) FROM candidates"), 1);
	free(pem);
	free(renew);
}

static void test_candidates_add_bad_input(void **state)
{
	struct db *db = *state;
	char err[ERRLEN];
	int64_t id;
	bool existed;
	assert_int_equal(candidates_add(db, "test", ca, (const uint8_t *)"hello", 5,
					CANDIDATE_MANUAL, NULL, NOW, &id, &existed, err,
					sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "chain:"));
	const char trunc[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
	assert_int_equal(candidates_add(db, "test", ca, (const uint8_t *)trunc, sizeof(trunc) - 1,
					CANDIDATE_MANUAL, NULL, NOW, &id, &existed, err,
					sizeof(err)),
			 -EINVAL);
	/* A --host that is not an inventoried endpoint (a typo) is refused. */
	char *pem = pem_chain(&leaf2, &inter2);
	assert_int_equal(candidates_add(db, "test", ca, (const uint8_t *)pem, strlen(pem),
					CANDIDATE_MANUAL, "ap.example.com", NOW, &id, &existed, err,
					sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not an inventoried endpoint"));
	assert_int_equal(candidates_add(db, "test", ca, (const uint8_t *)pem, strlen(pem),
					CANDIDATE_MANUAL, "bad host!", NOW, &id, &existed, err,
					sizeof(err)),
			 -EINVAL);
	assert_int_equal(q(db, "SELECT count(*) FROM candidates"), 0);
	/* --host the leaf does not cover: recorded, and it strands everyone there. */
	assert_int_equal(candidates_add(db, "test", ca, (const uint8_t *)pem, strlen(pem),
					CANDIDATE_MANUAL, "shop.other.net", NOW, &id, &existed, err,
					sizeof(err)),
			 0);
	json_t *wrong;
	assert_int_equal(candidates_json(db, id, &wrong, err, sizeof(err)), 0);
	assert_true(json_is_true(json_object_get(wrong, "would_strand")));
	json_t *wv = json_object_get(wrong, "verdict");
	assert_true(json_is_true(json_object_get(wv, "checks_failed")));
	assert_non_null(strstr(json_string_value(json_array_get(json_object_get(wv, "reasons"), 0)),
			       "does not cover shop.other.net"));
	json_decref(wrong);
	assert_int_equal(candidates_remove(db, "test", id, err, sizeof(err)), 0);
	/* --host restricts the evaluation to that endpoint. */
	assert_int_equal(candidates_add(db, "test", ca, (const uint8_t *)pem, strlen(pem),
					CANDIDATE_MANUAL, "WWW.example.com.", NOW, &id, &existed,
					err, sizeof(err)),
			 0);
	json_t *c;
	assert_int_equal(candidates_json(db, id, &c, err, sizeof(err)), 0);
	json_t *v = json_object_get(c, "verdict");
	assert_int_equal(json_array_size(json_object_get(v, "endpoints")), 1);
	assert_non_null(endpoint_of(v, "www.example.com"));
	assert_false(json_is_true(json_object_get(c, "would_strand")));
	json_decref(c);
	free(pem);
}

static void test_candidates_api_post(void **state)
{
	struct db *db = *state;
	char err[ERRLEN];
	json_t *resp = NULL;
	json_t *req = json_pack("{s:s,s:s}", "pem", other_leaf.pem, "source", "ct");
	char *body = json_dumps(req, 0);
	assert_int_equal(candidates_api_post(db, "token:hook", ca, body, strlen(body), NOW, &resp,
					     err, sizeof(err)),
			 201);
	assert_string_equal(json_string_value(json_object_get(resp, "source")), "ct");
	json_decref(resp);
	assert_int_equal(candidates_api_post(db, "token:hook", ca, body, strlen(body), NOW, &resp,
					     err, sizeof(err)),
			 200);
	json_decref(resp);
	free(body);
	json_decref(req);
	static const struct {
		const char *body, *needle;
	} bad[] = {
		{ "[]", "expected a JSON object" },
		{ "{\"pem\": 5}", "pem: expected a string" },
		{ "{\"pem\": \"x\", \"source\": \"ctx\"}", "source: expected" },
		{ "{\"pem\": \"x\", \"host\": 7}", "host: expected a string" },
		{ "{\"pem\": \"not a certificate\"}", "chain:" },
		{ "{\"pem\": ", "expected a JSON object" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		assert_int_equal(candidates_api_post(db, "token:hook", ca, bad[i].body,
						     strlen(bad[i].body), NOW, &resp, err,
						     sizeof(err)),
				 400);
		if (!strstr(err, bad[i].needle))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].needle);
		assert_null(resp);
	}
	json_t *all;
	assert_int_equal(candidates_json(db, 0, &all, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(all), 1);
	json_decref(all);
}

/* The candidate chain omits its root; a version pinning only that root
 * survives: clients complete the path with the root of their trust store.
 * With a store that lacks the root, nobody's client accepts the chain. */
static void test_candidates_root_pin_completed(void **state)
{
	struct db *db = *state;
	char err[ERRLEN], only_root1[160];
	int64_t id;
	bool existed;
	json_t *c;
	assert_int_equal(exec_fmt(db,
				  "DELETE FROM pins WHERE policy_id IN (2, 3);"
				  "INSERT INTO pins VALUES (3, '%s', 'current');",
				  root2.pin_b64),
			 0);
	char *pem = pem_chain(&leaf2, &inter2);
	assert_int_equal(candidates_add(db, "test", ca, (const uint8_t *)pem, strlen(pem),
					CANDIDATE_CT, "api.example.com", NOW, &id, &existed, err,
					sizeof(err)),
			 0);
	assert_int_equal(candidates_json(db, id, &c, err, sizeof(err)), 0);
	assert_float_equal(json_real_value(json_object_get(c, "max_stranded")), 0, 1e-9);
	json_t *ep = json_array_get(json_object_get(json_object_get(c, "verdict"), "endpoints"), 0);
	assert_true(json_is_true(json_object_get(json_object_get(ep, "checks"), "ok")));
	/* 4.0.0 now pins nothing (its pins were removed): not enforcing, so
	 * no unknown risk remains and nothing would strand. */
	assert_false(json_is_true(json_object_get(c, "would_strand")));
	json_decref(c);
	/* A trust store without root2: the chain builds to no anchor. */
	snprintf(only_root1, sizeof(only_root1), "%s/root1.pem", dir);
	FILE *f = fopen(only_root1, "w");
	assert_non_null(f);
	assert_true(fputs(root1.pem, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(candidates_evaluate(db, only_root1, id, NOW, err, sizeof(err)), 0);
	unlink(only_root1);
	assert_int_equal(candidates_json(db, id, &c, err, sizeof(err)), 0);
	assert_true(json_is_true(json_object_get(c, "would_strand")));
	assert_float_equal(json_real_value(json_object_get(c, "max_stranded")), 1, 1e-9);
	ep = json_array_get(json_object_get(json_object_get(c, "verdict"), "endpoints"), 0);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(json_object_get(ep, "checks"), "failed"), 0)),
			    "untrusted");
	json_decref(c);
	free(pem);
}

/* The alert follows the candidate's lifetime: re-evaluated by every alert
 * evaluation, it resolves once the certificate has expired. */
static void test_candidates_alert_resolves_when_expired(void **state)
{
	struct db *db = *state;
	char err[ERRLEN];
	int64_t id;
	bool existed;
	char *pem = pem_chain(&leaf2, &inter2);
	assert_int_equal(candidates_add(db, "test", ca, (const uint8_t *)pem, strlen(pem),
					CANDIDATE_CT, NULL, NOW, &id, &existed, err, sizeof(err)),
			 0);
	free(pem);
	struct config cfg;
	config_defaults(&cfg);
	snprintf(cfg.probe_ca_file, sizeof(cfg.probe_ca_file), "%s", ca);
	struct alerts_result res;
	assert_int_equal(
		alerts_evaluate(db, &cfg, NOW, &reports_alerts_source, &res, err, sizeof(err)), 0);
	assert_int_equal(res.opened, 1);
	/* leaf2 is valid until NOW + 93 days. */
	assert_int_equal(alerts_evaluate(db, &cfg, NOW + 50 * DAY, &reports_alerts_source, &res,
					 err, sizeof(err)),
			 0);
	assert_int_equal(res.resolved, 0);
	assert_int_equal(alerts_evaluate(db, &cfg, NOW + 94 * DAY, &reports_alerts_source, &res,
					 err, sizeof(err)),
			 0);
	assert_int_equal(res.resolved, 1);
	json_t *c;
	assert_int_equal(candidates_json(db, id, &c, err, sizeof(err)), 0);
	/* Deploying it now would strand everyone (it fails the validity check),
	 * but an expired certificate is no pending deployment: no alert. */
	assert_true(json_is_true(json_object_get(json_object_get(c, "verdict"), "expired")));
	assert_true(json_is_true(json_object_get(c, "would_strand")));
	json_decref(c);
}

/* At most CANDIDATES_MAX unexpired candidates; expired ones do not count. */
static void test_candidates_cap(void **state)
{
	struct db *db = *state;
	char err[ERRLEN];
	int64_t id;
	bool existed;
	assert_int_equal(
		exec_fmt(db,
			 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < "
			 "%d) "
			 "INSERT INTO candidates (source, chain_sha256, leaf_sha256, chain_pem, "
			 "chain_length, subject, issuer, not_before, not_after, dns_names, pins, "
			 "added_at) SELECT 'ct', randomblob(32), randomblob(32), 'x', 1, 'CN=x', "
			 "'CN=y', 0, %lld, '[]', '[]', 0 FROM n",
			 CANDIDATES_MAX, (long long)(NOW + DAY)),
		0);
	char *pem = pem_chain(&leaf3, &inter1);
	assert_int_equal(candidates_add(db, "test", ca, (const uint8_t *)pem, strlen(pem),
					CANDIDATE_CT, NULL, NOW, &id, &existed, err, sizeof(err)),
			 -ENOSPC);
	assert_non_null(strstr(err, "remove some first"));
	json_t *req = json_pack("{s:s}", "pem", pem), *resp = NULL;
	char *body = json_dumps(req, 0);
	assert_int_equal(candidates_api_post(db, "token:hook", ca, body, strlen(body), NOW, &resp,
					     err, sizeof(err)),
			 409);
	assert_null(resp);
	/* Unreadable rows do not stop the re-evaluation of the others. */
	assert_int_equal(candidates_evaluate_all(db, ca, NOW, err, sizeof(err)), 0);
	/* Once they have expired, there is room again. */
	assert_int_equal(candidates_api_post(db, "token:hook", ca, body, strlen(body),
					     NOW + 2 * DAY, &resp, err, sizeof(err)),
			 201);
	json_decref(resp);
	json_decref(req);
	free(body);
	free(pem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_candidates_new_ca_strands_one_alert, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_candidates_add_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_candidates_api_post, setup, teardown),
		cmocka_unit_test_setup_teardown(test_candidates_root_pin_completed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_candidates_alert_resolves_when_expired, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_candidates_cap, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
