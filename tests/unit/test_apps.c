#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/apps.h"
#include "store/audit.h"
#include "store/inventory.h"
#include "importers/invfile.h"
#include "testdb.h"

#define ACTOR "cli:test"

static long long audit_rows(struct testdb *t)
{
	return testdb_int(t, "SELECT count(*) FROM audit_log");
}

static void mkpin(struct pin *p, const char *label, enum pin_role role)
{
	assert_int_equal(util_sha256(label, strlen(label), p->sha256), 0);
	p->role = role;
}

static int setup(void **state)
{
	struct testdb *t = testdb_new();
	char err[ERRLEN];
	if (!t)
		return -1;
	struct app a = { .name = "shop",
			 .platform = PLATFORM_ANDROID,
			 .adoption_threshold = 0.95,
			 .failure_mode = FAIL_TERMINATE,
			 .bundle_id = "com.example.shop" };
	if (apps_create(t->db, ACTOR, &a, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		testdb_free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	testdb_free(*state);
	return 0;
}

static void test_apps_create_duplicate_and_bad(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	struct app a = { .name = "shop", .platform = PLATFORM_IOS, .adoption_threshold = 0.5 };
	assert_int_equal(apps_create(t->db, ACTOR, &a, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "already exists"));
	static const struct app bad[] = {
		{ .name = "", .platform = PLATFORM_IOS },
		{ .name = "x", .platform = (enum app_platform)7 },
		{ .name = "x", .platform = PLATFORM_IOS, .adoption_threshold = 1.5 },
		{ .name = "x", .platform = PLATFORM_IOS, .failure_mode = (enum failure_mode)9 },
		{ .name = "x\ny", .platform = PLATFORM_IOS },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct app b = bad[i];
		assert_int_equal(apps_create(t->db, ACTOR, &b, err, sizeof(err)), -EINVAL);
	}
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM apps"), 1);
	assert_int_equal(audit_rows(t), 1);
}

static void test_apps_set_version_policies_basic(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	struct pin pins[2];
	mkpin(&pins[0], "leaf", PIN_CURRENT);
	mkpin(&pins[1], "backup", PIN_BACKUP);
	struct pin_policy p[] = {
		{ .pattern = "API.example.com.",
		  .enforce = true,
		  .pins = pins,
		  .npins = 2,
		  .expires = "2027-06-01" },
		{ .pattern = "cdn.example.com", .enforce = false }, /* excluded subdomain */
	};

	assert_int_equal(apps_set_version_policies(t->db, ACTOR, "nope", "1.0", p, 2, "nsc", err,
						   sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "nope"));
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM versions"), 0);

	long long rows = audit_rows(t);
	assert_int_equal(apps_set_version_policies(t->db, ACTOR, "shop", "4.2.0", p, 2, "nsc", err,
						   sizeof(err)),
			 0);
	assert_int_equal(audit_rows(t), rows + 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM versions"), 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pin_policies WHERE source = 'nsc'"),
			 2);
	/* the pattern was normalised; the caller's string was not touched */
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pin_policies WHERE pattern = "
				       "'api.example.com' AND expires = '2027-06-01'"),
			 1);
	assert_string_equal(p[0].pattern, "API.example.com.");
	assert_int_equal(
		testdb_int(t, "SELECT count(*) FROM audit_log WHERE action = "
			      "'set_policies' AND object_id = 'shop/4.2.0' AND before IS NULL"),
		1);

	/* idempotent */
	assert_int_equal(apps_set_version_policies(t->db, ACTOR, "shop", "4.2.0", p, 2, "nsc", err,
						   sizeof(err)),
			 0);
	assert_int_equal(audit_rows(t), rows + 1);

	/* another source adds its own policies beside */
	struct pin_policy ok = {
		.pattern = "*.pay.example.com", .enforce = true, .pins = pins, .npins = 1
	};
	assert_int_equal(apps_set_version_policies(t->db, ACTOR, "shop", "4.2.0", &ok, 1, "okhttp",
						   err, sizeof(err)),
			 0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pin_policies"), 3);

	/* the same source again with fewer policies replaces only its own */
	assert_int_equal(apps_set_version_policies(t->db, ACTOR, "shop", "4.2.0", p, 1, "nsc", err,
						   sizeof(err)),
			 0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pin_policies WHERE source = 'nsc'"),
			 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pin_policies WHERE source = 'okhttp'"),
			 1);
	assert_int_equal(audit_rows(t), rows + 3);

	/* a policy of another source with the same key is taken over */
	assert_int_equal(apps_set_version_policies(t->db, ACTOR, "shop", "4.2.0", p, 1, "trustkit",
						   err, sizeof(err)),
			 0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pin_policies WHERE pattern = "
				       "'api.example.com' AND source = 'trustkit'"),
			 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pin_policies"), 2);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pins"), 3);
}

static void test_apps_set_version_policies_rejects(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	struct pin pins[1];
	mkpin(&pins[0], "leaf", PIN_CURRENT);
	struct pin dup[2];
	mkpin(&dup[0], "same", PIN_CURRENT);
	mkpin(&dup[1], "same", PIN_BACKUP);
	static const char *const good_bad_pattern[] = {
		"", "*.com", "a..b", "*.*.example.com", "exa mple.com", "***.example.com"
	};
	long long rows = audit_rows(t);
	for (size_t i = 0; i < ARRAY_SIZE(good_bad_pattern); i++) {
		struct pin_policy p = { .pattern = (char *)good_bad_pattern[i],
					.enforce = true,
					.pins = pins,
					.npins = 1 };
		assert_int_equal(apps_set_version_policies(t->db, ACTOR, "shop", "1.0", &p, 1,
							   "nsc", err, sizeof(err)),
				 -EINVAL);
	}
	struct pin_policy cases[] = {
		{ .pattern = "api.example.com", .enforce = true }, /* enforcing, no pin */
		{ .pattern = "api.example.com", .enforce = true, .pins = dup, .npins = 2 },
		{ .pattern = "*.example.com",
		  .include_subdomains = true,
		  .enforce = true,
		  .pins = pins,
		  .npins = 1 },
		{ .pattern = "api.example.com",
		  .enforce = true,
		  .pins = pins,
		  .npins = 1,
		  .expires = "2027-02-30" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(apps_set_version_policies(t->db, ACTOR, "shop", "1.0", &cases[i],
							   1, "nsc", err, sizeof(err)),
				 -EINVAL);
	struct pin_policy twice[] = {
		{ .pattern = "api.example.com", .enforce = true, .pins = pins, .npins = 1 },
		{ .pattern = "API.example.com", .enforce = false },
	};
	assert_int_equal(apps_set_version_policies(t->db, ACTOR, "shop", "1.0", twice, 2, "nsc",
						   err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(apps_set_version_policies(t->db, ACTOR, "shop", "1.0", twice, 1, "bogus",
						   err, sizeof(err)),
			 -EINVAL);
	/* nothing was written by any failed call, not even the version */
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM versions"), 0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pin_policies"), 0);
	assert_int_equal(audit_rows(t), rows);
}

static void make_versions(struct testdb *t, const char *const *names, size_t n)
{
	char err[ERRLEN];
	for (size_t i = 0; i < n; i++)
		assert_int_equal(apps_set_version_policies(t->db, ACTOR, "shop", names[i], NULL, 0,
							   "inventory", err, sizeof(err)),
				 0);
}

static void test_apps_add_adoption(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	static const char *const vs[] = { "4.1", "4.2" };
	make_versions(t, vs, 2);
	long long rows = audit_rows(t);

	struct adoption_row r[] = {
		{ "4.2", "2026-11-20", 0.6, 600000 },
		{ "4.1", "2026-11-20", 0.3, -1 },
		{ "4.2", "2026-10-01", 0.2, -1 },
	};
	assert_int_equal(apps_add_adoption(t->db, ACTOR, "shop", r, 3, err, sizeof(err)), 0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM adoption"), 3);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM adoption WHERE active_users IS NULL"),
			 2);
	assert_int_equal(audit_rows(t), rows + 2); /* one row per changed version */
	/* idempotent */
	assert_int_equal(apps_add_adoption(t->db, ACTOR, "shop", r, 3, err, sizeof(err)), 0);
	assert_int_equal(audit_rows(t), rows + 2);

	/* samples are loaded in ascending date order */
	struct app_version v;
	assert_int_equal(apps_version_get(t->db, "shop", "4.2", &v, err, sizeof(err)), 0);
	assert_int_equal(v.nadoption, 2);
	assert_string_equal(v.adoption[0].at, "2026-10-01");
	assert_string_equal(v.adoption[1].at, "2026-11-20");
	assert_int_equal(v.adoption[1].active_users, 600000);
	assert_true(model_latest_adoption(&v, v.adoption[1].at_time) == &v.adoption[1]);
	model_version_free(&v);

	/* replacing a sample */
	struct adoption_row upd = { "4.2", "2026-11-20", 0.65, -1 };
	assert_int_equal(apps_add_adoption(t->db, ACTOR, "shop", &upd, 1, err, sizeof(err)), 0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM adoption WHERE share = 0.65"), 1);
	assert_int_equal(audit_rows(t), rows + 3);
}

/* A CSV-sized history: 3 versions x 400 days, given in a shuffled order. */
static void test_apps_add_adoption_history(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	static const char *const vs[] = { "1.0", "1.1", "2.0" };
	make_versions(t, vs, 3);
	enum { DAYS = 400, N = 3 * DAYS };
	struct adoption_row *r = calloc(N, sizeof(*r));
	assert_non_null(r);
	for (size_t i = 0; i < N; i++) {
		size_t day = (i * 7919) % DAYS, v = i % 3; /* a permutation of (day, version) */
		r[i].version = vs[v];
		util_fmt_date(1735689600 + (time_t)day * 86400, r[i].at, sizeof(r[i].at));
		r[i].share = v == 2 ? 0.5 : 0.25;
		r[i].active_users = (int64_t)day;
	}
	long long rows = audit_rows(t);
	assert_int_equal(apps_add_adoption(t->db, ACTOR, "shop", r, N, err, sizeof(err)), 0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM adoption"), N);
	assert_int_equal(testdb_int(t, "SELECT count(DISTINCT at) FROM adoption"), DAYS);
	assert_int_equal(audit_rows(t), rows + 3);
	assert_int_equal(apps_add_adoption(t->db, ACTOR, "shop", r, N, err, sizeof(err)), 0);
	assert_int_equal(audit_rows(t), rows + 3);
	/* one day's share of 2.0 raised to 0.6 would make that day sum to 1.1 */
	struct adoption_row up = { "2.0", "", 0.6, -1 };
	memcpy(up.at, r[2].at, sizeof(up.at));
	assert_int_equal(apps_add_adoption(t->db, ACTOR, "shop", &up, 1, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "1.1000"));
	up.share = 0.4;
	assert_int_equal(apps_add_adoption(t->db, ACTOR, "shop", &up, 1, err, sizeof(err)), 0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM adoption WHERE share = 0.4"), 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM adoption"), N);
	struct app_version v;
	assert_int_equal(apps_version_get(t->db, "shop", "1.1", &v, err, sizeof(err)), 0);
	assert_int_equal(v.nadoption, DAYS);
	for (size_t i = 1; i < v.nadoption; i++)
		assert_true(strcmp(v.adoption[i - 1].at, v.adoption[i].at) < 0);
	model_version_free(&v);
	free(r);
}

static void test_apps_add_adoption_all_or_nothing(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	static const char *const vs[] = { "4.1", "4.2" };
	make_versions(t, vs, 2);
	long long rows = audit_rows(t);
	static const struct {
		struct adoption_row rows[3];
		size_t n;
		int rc;
		const char *msg;
	} cases[] = {
		{ { { "4.1", "2026-11-20", 0.1, -1 }, { "9.9", "2026-11-20", 0.1, -1 } },
		  2,
		  -ENOENT,
		  "no version '9.9'" },
		{ { { "4.1", "2026-11-20", 0.1, -1 }, { "4.1", "2026-11-20", 0.2, -1 } },
		  2,
		  -EINVAL,
		  "given twice" },
		{ { { "4.1", "2026-11-20", 1.5, -1 } }, 1, -EINVAL, "share" },
		{ { { "4.1", "2026-11-20", -0.1, -1 } }, 1, -EINVAL, "share" },
		{ { { "4.1", "2026-13-01", 0.1, -1 } }, 1, -EINVAL, "at" },
		{ { { "4.1", "2026-11-20", 0.1, -7 } }, 1, -EINVAL, "active_users" },
		{ { { "4.1", "2026-11-20", 0.6, -1 }, { "4.2", "2026-11-20", 0.5, -1 } },
		  2,
		  -EINVAL,
		  "above 1" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(apps_add_adoption(t->db, ACTOR, "shop", cases[i].rows, cases[i].n,
						   err, sizeof(err)),
				 cases[i].rc);
		assert_non_null(strstr(err, cases[i].msg));
	}
	struct adoption_row one = { "4.1", "2026-11-20", 0.1, -1 };
	assert_int_equal(apps_add_adoption(t->db, ACTOR, "nope", &one, 1, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM adoption"), 0);
	assert_int_equal(audit_rows(t), rows);

	/* the sum check counts stored samples too */
	struct adoption_row a = { "4.1", "2026-11-20", 0.7, -1 };
	struct adoption_row b = { "4.2", "2026-11-20", 0.4, -1 };
	assert_int_equal(apps_add_adoption(t->db, ACTOR, "shop", &a, 1, err, sizeof(err)), 0);
	assert_int_equal(apps_add_adoption(t->db, ACTOR, "shop", &b, 1, err, sizeof(err)), -EINVAL);
	b.share = 0.3;
	assert_int_equal(apps_add_adoption(t->db, ACTOR, "shop", &b, 1, err, sizeof(err)), 0);
}

static void test_apps_delete_cascades_and_audits(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	struct pin pins[1];
	mkpin(&pins[0], "leaf", PIN_CURRENT);
	struct pin_policy p = {
		.pattern = "api.example.com", .enforce = true, .pins = pins, .npins = 1
	};
	assert_int_equal(apps_set_version_policies(t->db, ACTOR, "shop", "1.0", &p, 1, "nsc", err,
						   sizeof(err)),
			 0);
	struct adoption_row r = { "1.0", "2026-11-20", 0.5, -1 };
	assert_int_equal(apps_add_adoption(t->db, ACTOR, "shop", &r, 1, err, sizeof(err)), 0);
	long long rows = audit_rows(t);
	assert_int_equal(apps_delete(t->db, ACTOR, "shop", err, sizeof(err)), 0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM apps"), 0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM versions"), 0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pin_policies"), 0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pins"), 0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM adoption"), 0);
	assert_int_equal(audit_rows(t), rows + 1);
	/* the audit row keeps the whole app, versions included */
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM audit_log WHERE action = 'delete' AND "
				       "object_type = 'app' AND after IS NULL AND "
				       "before LIKE '%\"version\":\"1.0\"%'"),
			 1);
	assert_int_equal(apps_delete(t->db, ACTOR, "shop", err, sizeof(err)), -ENOENT);
}

static void test_apps_foreign_keys_enforced(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	assert_int_not_equal(db_exec(t->db,
				     "INSERT INTO versions (app_id, version, created_at) "
				     "VALUES (999, '1.0', 0)",
				     err, sizeof(err)),
			     0);
	assert_int_not_equal(db_exec(t->db,
				     "INSERT INTO pins (policy_id, sha256) VALUES (999, "
				     "'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')",
				     err, sizeof(err)),
			     0);
}

static void test_apps_version_crud(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	struct pin pins[2];
	mkpin(&pins[0], "a", PIN_CURRENT);
	mkpin(&pins[1], "b", PIN_BACKUP);
	struct pin_policy pol = {
		.pattern = "api.example.com", .enforce = true, .pins = pins, .npins = 2
	};
	struct adoption_sample s = { .at = "2026-11-01", .share = 0.2, .active_users = -1 };
	struct app_version v = { .version = strdup("5.0"), .released = "2026-10-01" };
	v.policies = calloc(1, sizeof(*v.policies));
	v.npolicies = 1;
	v.policies[0] = pol;
	v.policies[0].pattern = strdup("api.example.com");
	v.policies[0].pins = malloc(sizeof(pins));
	memcpy(v.policies[0].pins, pins, sizeof(pins));
	v.adoption = malloc(sizeof(s));
	v.adoption[0] = s;
	v.nadoption = 1;

	assert_int_equal(apps_version_create(t->db, ACTOR, "nope", &v, err, sizeof(err)), -ENOENT);
	assert_int_equal(apps_version_create(t->db, ACTOR, "shop", &v, err, sizeof(err)), 0);
	assert_int_equal(apps_version_create(t->db, ACTOR, "shop", &v, err, sizeof(err)), -EEXIST);
	long long rows = audit_rows(t);
	bool changed = true;
	assert_int_equal(apps_version_replace(t->db, ACTOR, "shop", &v, &changed, err, sizeof(err)),
			 0);
	assert_false(changed);
	assert_int_equal(audit_rows(t), rows);

	/* policy put: new key, then same content (no change), then changed pins */
	struct pin_policy p2 = {
		.pattern = "auth.example.com", .enforce = true, .pins = pins, .npins = 1
	};
	assert_int_equal(
		apps_policy_put(t->db, ACTOR, "shop", "5.0", &p2, &changed, err, sizeof(err)), 0);
	assert_true(changed);
	assert_int_equal(
		apps_policy_put(t->db, ACTOR, "shop", "5.0", &p2, &changed, err, sizeof(err)), 0);
	assert_false(changed);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pin_policies WHERE source = 'api'"),
			 1);
	int64_t id_before =
		testdb_int(t, "SELECT id FROM pin_policies WHERE pattern = 'auth.example.com'");
	p2.npins = 2;
	assert_int_equal(
		apps_policy_put(t->db, ACTOR, "shop", "5.0", &p2, &changed, err, sizeof(err)), 0);
	assert_true(changed);
	/* updated in place: the policy keeps its id */
	assert_int_equal(
		testdb_int(t, "SELECT id FROM pin_policies WHERE pattern = 'auth.example.com'"),
		id_before);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pins p JOIN pin_policies q ON "
				       "p.policy_id = q.id WHERE q.pattern = 'auth.example.com'"),
			 2);
	assert_int_equal(apps_policy_delete(t->db, ACTOR, "shop", "5.0", "AUTH.example.com", false,
					    err, sizeof(err)),
			 0);
	assert_int_equal(apps_policy_delete(t->db, ACTOR, "shop", "5.0", "auth.example.com", false,
					    err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(
		apps_adoption_delete(t->db, ACTOR, "shop", "5.0", "2026-11-01", err, sizeof(err)),
		0);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM adoption"), 0);
	assert_int_equal(apps_version_delete(t->db, ACTOR, "shop", "5.0", err, sizeof(err)), 0);
	assert_int_equal(apps_version_delete(t->db, ACTOR, "shop", "5.0", err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM pin_policies"), 0);
	assert_int_equal(audit_rows(t), rows + 5);
	model_version_free(&v);
}

static void test_apps_update_and_list(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	struct app a = { .name = "shop",
			 .platform = PLATFORM_ANDROID,
			 .adoption_threshold = 0.95,
			 .failure_mode = FAIL_TERMINATE,
			 .bundle_id = "com.example.shop" };
	bool changed = true;
	long long rows = audit_rows(t);
	assert_int_equal(apps_update(t->db, ACTOR, &a, &changed, err, sizeof(err)), 0);
	assert_false(changed);
	a.adoption_threshold = 0.8;
	assert_int_equal(apps_update(t->db, ACTOR, &a, &changed, err, sizeof(err)), 0);
	assert_true(changed);
	assert_int_equal(audit_rows(t), rows + 1);
	a.name = "other";
	assert_int_equal(apps_update(t->db, ACTOR, &a, &changed, err, sizeof(err)), -ENOENT);
	struct app b = { .name = "alpha", .platform = PLATFORM_IOS, .adoption_threshold = 1 };
	assert_int_equal(apps_create(t->db, ACTOR, &b, err, sizeof(err)), 0);
	struct app *v;
	size_t n;
	assert_int_equal(apps_list(t->db, false, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "alpha");
	assert_string_equal(v[1].name, "shop");
	assert_true(v[1].adoption_threshold == 0.8);
	for (size_t i = 0; i < n; i++)
		model_app_free(&v[i]);
	free(v);
}

/* Outside callers can group several writes in one transaction of their own. */
static void test_apps_join_caller_transaction(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	static const char *const vs[] = { "1.0" };
	make_versions(t, vs, 1);
	long long rows = audit_rows(t);
	assert_int_equal(db_begin(t->db), 0);
	struct adoption_row r = { "1.0", "2026-11-20", 0.5, -1 };
	assert_int_equal(apps_add_adoption(t->db, ACTOR, "shop", &r, 1, err, sizeof(err)), 0);
	assert_int_equal(apps_delete(t->db, ACTOR, "shop", err, sizeof(err)), 0);
	db_rollback(t->db);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM apps"), 1);
	assert_int_equal(testdb_int(t, "SELECT count(*) FROM adoption"), 0);
	assert_int_equal(audit_rows(t), rows);
}

/* inventory_load gives the whole model in its documented order. */
static void test_apps_inventory_load_order(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	static const char *const vs[] = { "4.10", "4.9", "4.2.1", "10.0" };
	make_versions(t, vs, 4);
	struct pin pins[2];
	mkpin(&pins[0], "z", PIN_BACKUP);
	mkpin(&pins[1], "a", PIN_CURRENT);
	struct pin_policy p[] = {
		{ .pattern = "b.example.com", .enforce = true, .pins = pins, .npins = 2 },
		{ .pattern = "a.example.com", .include_subdomains = true, .enforce = false },
		{ .pattern = "a.example.com", .enforce = false },
	};
	assert_int_equal(apps_set_version_policies(t->db, ACTOR, "shop", "4.9", p, 3, "nsc", err,
						   sizeof(err)),
			 0);
	struct adoption_row r[] = { { "4.9", "2026-11-20", 0.3, -1 },
				    { "4.9", "2026-01-05", 0.1, -1 },
				    { "4.9", "2026-06-30", 0.2, 10 } };
	assert_int_equal(apps_add_adoption(t->db, ACTOR, "shop", r, 3, err, sizeof(err)), 0);
	struct app b = { .name = "aaa", .platform = PLATFORM_OTHER, .adoption_threshold = 0.5 };
	assert_int_equal(apps_create(t->db, ACTOR, &b, err, sizeof(err)), 0);

	struct inventory inv;
	assert_int_equal(inventory_load(t->db, &inv, err, sizeof(err)), 0);
	assert_int_equal(inv.napps, 2);
	assert_string_equal(inv.apps[0].name, "aaa");
	struct app *a = &inv.apps[1];
	assert_int_equal(a->nversions, 4);
	assert_string_equal(a->versions[0].version, "4.2.1");
	assert_string_equal(a->versions[1].version, "4.9");
	assert_string_equal(a->versions[2].version, "4.10");
	assert_string_equal(a->versions[3].version, "10.0");
	struct app_version *v = &a->versions[1];
	assert_int_equal(v->nadoption, 3);
	assert_string_equal(v->adoption[0].at, "2026-01-05");
	assert_string_equal(v->adoption[2].at, "2026-11-20");
	assert_true(v->adoption[2].at_time > v->adoption[1].at_time);
	assert_int_equal(v->adoption[1].active_users, 10);
	assert_int_equal(v->npolicies, 3);
	assert_string_equal(v->policies[0].pattern, "a.example.com");
	assert_false(v->policies[0].include_subdomains);
	assert_true(v->policies[1].include_subdomains);
	assert_string_equal(v->policies[2].pattern, "b.example.com");
	assert_string_equal(v->policies[2].source, "nsc");
	assert_true(v->policies[2].id > 0);
	assert_int_equal(v->policies[2].pins[0].role, PIN_CURRENT);
	assert_memory_equal(v->policies[2].pins[0].sha256, pins[1].sha256, 32);
	assert_int_equal(v->policies[2].pins[1].role, PIN_BACKUP);
	model_inventory_free(&inv);
}

/* The audit row of set_policies holds the version before and after. */
static void test_apps_set_version_policies_audit_content(void **state)
{
	struct testdb *t = *state;
	char err[ERRLEN];
	struct pin pins[1];
	mkpin(&pins[0], "k", PIN_CURRENT);
	struct pin_policy p = { .pattern = "api.example.com",
				.enforce = true,
				.pins = pins,
				.npins = 1,
				.expires = "2027-01-01" };
	assert_int_equal(apps_set_version_policies(t->db, ACTOR, "shop", "2.0", &p, 1, "trustkit",
						   err, sizeof(err)),
			 0);
	p.enforce = false;
	assert_int_equal(apps_set_version_policies(t->db, ACTOR, "shop", "2.0", &p, 1, "trustkit",
						   err, sizeof(err)),
			 0);
	json_t *rows;
	struct audit_filter f = { .object_type = "version", .object_id = "shop/2.0" };
	assert_int_equal(audit_list(t->db, &f, &rows, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(rows), 2);
	json_t *last = json_array_get(rows, 1);
	assert_string_equal(json_string_value(json_object_get(last, "action")), "set_policies");
	assert_string_equal(json_string_value(json_object_get(last, "actor")), ACTOR);
	json_t *bp =
		json_array_get(json_object_get(json_object_get(last, "before"), "pin_policies"), 0);
	json_t *ap =
		json_array_get(json_object_get(json_object_get(last, "after"), "pin_policies"), 0);
	assert_true(json_is_true(json_object_get(bp, "enforce")));
	assert_true(json_is_false(json_object_get(ap, "enforce")));
	assert_string_equal(json_string_value(json_object_get(ap, "source")), "trustkit");
	assert_string_equal(json_string_value(json_object_get(ap, "expires")), "2027-01-01");
	json_decref(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apps_create_duplicate_and_bad, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_apps_set_version_policies_basic, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_apps_set_version_policies_rejects, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_apps_add_adoption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apps_add_adoption_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apps_add_adoption_all_or_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_apps_delete_cascades_and_audits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_apps_foreign_keys_enforced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apps_version_crud, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apps_update_and_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apps_join_caller_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apps_inventory_load_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apps_set_version_policies_audit_content, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
