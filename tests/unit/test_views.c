/* unit.views: the store's read views (store/views.h) answer the whole list or
 * an error: a database that fails at any step of a list (interrupted through
 * a progress handler after every possible number of instructions) never
 * yields a shorter list. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "http_fixture.h"
#include "store/apps.h"
#include "store/views.h"
#include "testdb.h"
#include "wholeanswer.h"

static struct testdb *t;
static struct fixture_ids ids;

static int setup(void **state)
{
	(void)state;
	t = testdb_new();
	if (!t || fixture_seed(t->db, 12, &ids))
		return -1;
	/* a second app and audit rows, through the store */
	char err[ERRLEN], name[16];
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "second-%d", i);
		struct app a = { .name = name,
				 .platform = PLATFORM_IOS,
				 .adoption_threshold = 0.01 };
		if (apps_create(t->db, "test", &a, err, sizeof(err)))
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	testdb_free(t);
	return 0;
}

static int v_endpoints(json_t **out, char *err, size_t errlen)
{
	struct views_endpoint_filter f = { 0 };
	int64_t next;
	return views_endpoints(t->db, &f, 0, 1000, out, &next, err, errlen);
}
static int v_endpoints_page(json_t **out, char *err, size_t errlen)
{
	struct views_endpoint_filter f = { .environment = "production" };
	int64_t next;
	return views_endpoints(t->db, &f, 1, 3, out, &next, err, errlen);
}
static int v_endpoint(json_t **out, char *err, size_t errlen)
{
	return views_endpoint(t->db, ids.endpoint_api, out, err, errlen);
}
static int v_latest(json_t **out, char *err, size_t errlen)
{
	int64_t next;
	return views_observations_latest(t->db, ids.endpoint_api, 1000, out, &next, err, errlen);
}
static int v_history(json_t **out, char *err, size_t errlen)
{
	int64_t next;
	return views_observations_history(t->db, ids.endpoint_api, NULL, 0, 100, out, &next, err,
					  errlen);
}
static int v_apps(json_t **out, char *err, size_t errlen)
{
	int64_t next;
	return views_apps(t->db, NULL, 0, 100, out, &next, err, errlen);
}
static int v_app(json_t **out, char *err, size_t errlen)
{
	return views_app(t->db, ids.app, out, err, errlen);
}
static int v_audit(json_t **out, char *err, size_t errlen)
{
	struct views_audit_filter f = { 0 };
	int64_t next;
	return views_audit(t->db, &f, 0, 100, out, &next, err, errlen);
}
static int v_certificates(json_t **out, char *err, size_t errlen)
{
	int64_t next;
	return views_certificates(t->db, 1700000000, 0, 100, out, &next, err, errlen);
}

static const struct {
	const char *name;
	wholeanswer_call call;
	size_t min_items; /* list size (or object members) the seed guarantees */
} views[] = {
	{ "endpoints", v_endpoints, 14 },
	{ "endpoints page", v_endpoints_page, 3 },
	{ "endpoint", v_endpoint, 13 },
	{ "observations latest", v_latest, 1 },
	{ "observations history", v_history, 1 },
	{ "apps", v_apps, 4 },
	{ "app", v_app, 7 },
	{ "audit", v_audit, 3 },
	{ "certificates", v_certificates, 2 },
};

static size_t size_of(json_t *j)
{
	return json_is_array(j) ? json_array_size(j) : json_object_size(j);
}

static void test_views_answer_whole_or_error(void **state)
{
	(void)state;
	char err[ERRLEN];
	for (size_t i = 0; i < ARRAY_SIZE(views); i++) {
		json_t *want = NULL;
		assert_int_equal(views[i].call(&want, err, sizeof(err)), 0);
		assert_true(size_of(want) >= views[i].min_items);
		/* every interrupted run fails, none may answer less */
		assert_true(wholeanswer_check(t->db, views[i].call, want, views[i].name) > 1);
		json_decref(want);
	}
}

static void test_views_missing_objects(void **state)
{
	(void)state;
	char err[ERRLEN];
	json_t *o = (json_t *)&o;
	assert_int_equal(views_endpoint(t->db, 999999, &o, err, sizeof(err)), -ENOENT);
	assert_null(o);
	assert_string_equal(err, "no endpoint with id 999999");
	assert_int_equal(views_endpoint_exists(t->db, 999999, err, sizeof(err)), -ENOENT);
	assert_int_equal(views_endpoint_exists(t->db, ids.endpoint_api, err, sizeof(err)), 0);
	o = (json_t *)&o;
	assert_int_equal(views_app(t->db, 999999, &o, err, sizeof(err)), -ENOENT);
	assert_null(o);
	assert_string_equal(err, "no app with id 999999");
}

/* Keyset pages of views_endpoints() put together are the whole list. */
static void test_views_endpoints_pages(void **state)
{
	(void)state;
	char err[ERRLEN];
	struct views_endpoint_filter f = { 0 };
	json_t *all = NULL;
	int64_t next = -1;
	assert_int_equal(views_endpoints(t->db, &f, 0, 1000, &all, &next, err, sizeof(err)), 0);
	assert_int_equal(next, 0);
	size_t n = json_array_size(all);
	static const int64_t limits[] = { 1, 2, 3, 13, 14, 15 };
	for (size_t i = 0; i < ARRAY_SIZE(limits); i++) {
		json_t *joined = json_array();
		int64_t cursor = 0;
		size_t pages = 0;
		do {
			json_t *items = NULL;
			assert_int_equal(views_endpoints(t->db, &f, cursor, limits[i], &items,
							 &next, err, sizeof(err)),
					 0);
			assert_true(json_array_size(items) <= (size_t)limits[i]);
			json_array_extend(joined, items);
			json_decref(items);
			cursor = next;
			pages++;
		} while (next);
		assert_int_equal(pages, (n + (size_t)limits[i] - 1) / (size_t)limits[i]);
		assert_true(json_equal(joined, all));
		json_decref(joined);
	}
	json_decref(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_views_answer_whole_or_error),
		cmocka_unit_test(test_views_missing_objects),
		cmocka_unit_test(test_views_endpoints_pages),
	};
	gnutls_global_init();
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	gnutls_global_deinit();
	return rc;
}
