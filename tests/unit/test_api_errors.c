/* How the API answers an error code: api_failure() (a failure that is not
 * the request's fault) and api_store_error() (a store/module code). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "http/api_internal.h"

struct case_ {
	int rc;
	int status;
	const char *error;
	const char *detail;
};

static void answer(void (*fn)(struct api_req *, int, const char *), const struct case_ *c)
{
	struct api_req req;
	memset(&req, 0, sizeof(req));
	fn(&req, c->rc, "why");
	assert_int_equal(req.status, c->status);
	assert_non_null(req.json);
	assert_string_equal(json_string_value(json_object_get(req.json, "error")), c->error);
	assert_string_equal(json_string_value(json_object_get(req.json, "detail")), c->detail);
	json_decref(req.json);
}

static void test_api_failure_table(void **state)
{
	(void)state;
	static const struct case_ cases[] = {
		{ -EBUSY, 503, "busy", "why" },
		{ -ENOSPC, 503, "unavailable", "the database cannot be written: why" },
		{ -EROFS, 503, "unavailable", "the database cannot be written: why" },
		{ -EIO, 500, "database", "why" },
		{ -ENOMEM, 500, "database", "why" },
		/* request-shaped codes are still failures here */
		{ -EINVAL, 500, "database", "why" },
		{ -ENOENT, 500, "database", "why" },
		{ -EEXIST, 500, "database", "why" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		answer(api_failure, &cases[i]);
}

static void test_api_store_error_table(void **state)
{
	(void)state;
	static const struct case_ cases[] = {
		{ -EINVAL, 400, "invalid", "why" },
		{ -ENOENT, 404, "not_found", "why" },
		{ -EEXIST, 409, "conflict", "why" },
		{ -EBUSY, 503, "busy", "why" },
		{ -ENOSPC, 503, "unavailable", "the database cannot be written: why" },
		{ -EROFS, 503, "unavailable", "the database cannot be written: why" },
		{ -EIO, 500, "database", "why" },
		{ -ENOMEM, 500, "database", "why" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		answer(api_store_error, &cases[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_failure_table),
		cmocka_unit_test(test_api_store_error_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
