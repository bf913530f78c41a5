/* unit.array: the checked growth of hand-grown arrays (base/array.c): the
 * cap at its boundary, size_t overflow, failure leaves the array alone. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/array.h"
#include "base/util.h"

/* The -ENOMEM case asks for an impossible size: let ASan answer NULL, as libc does. */
const char *__asan_default_options(void) __attribute__((visibility("default")));
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static void test_array_reserve_table(void **state)
{
	(void)state;
	static const struct {
		size_t cap;  /* capacity before (allocated for real) */
		size_t need; /* elements asked for */
		size_t elem; /* element size */
		size_t max;  /* the cap */
		int rc;
		size_t want; /* capacity after */
	} cases[] = {
		{ 0, 0, 4, 100, 0, 0 },				 /* zero: nothing to do */
		{ 0, 1, 4, 100, 0, 8 },				 /* first growth: 8 */
		{ 0, 9, 4, 100, 0, 16 },			 /* doubling until it holds need */
		{ 8, 8, 4, 100, 0, 8 },				 /* room already */
		{ 8, 9, 4, 100, 0, 16 },			 /* doubles */
		{ 8, 40, 4, 100, 0, 64 },			 /* doubles more than once */
		{ 64, 65, 4, 100, 0, 100 },			 /* clipped to the cap */
		{ 0, 100, 4, 100, 0, 100 },			 /* exactly at the cap */
		{ 0, 101, 4, 100, -E2BIG, 0 },			 /* one past */
		{ 100, 101, 4, 100, -E2BIG, 100 },		 /* one past a full array */
		{ 0, 1, 4, 1, 0, 1 },				 /* a cap below the first growth */
		{ 0, 1, 4, 0, -E2BIG, 0 },			 /* a zero cap */
		{ 0, 2, SIZE_MAX / 2 + 1, SIZE_MAX, -E2BIG, 0 }, /* need * elem overflows */
		{ 0, SIZE_MAX, 2, SIZE_MAX, -E2BIG, 0 },	 /* likewise */
		{ 0, SIZE_MAX / 8 + 1, 8, SIZE_MAX, -E2BIG, 0 }, /* overflows to exactly 0 */
		{ 4, 5, 3, 7, 0, 7 },				 /* odd sizes */
		{ 0, 1, 0, 100, -E2BIG, 0 },			 /* a zero element size is a bug */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t cap = cases[i].cap;
		void *v = cap ? malloc(cap * cases[i].elem) : NULL;
		if (cap)
			assert_non_null(v);
		void *before = v;
		int rc = array_reserve(&v, &cap, cases[i].need, cases[i].elem, cases[i].max);
		if (rc != cases[i].rc || cap != cases[i].want)
			fail_msg("case %zu: cap %zu need %zu elem %zu max %zu: rc %d cap %zu, want "
				 "%d %zu",
				 i, cases[i].cap, cases[i].need, cases[i].elem, cases[i].max, rc,
				 cap, cases[i].rc, cases[i].want);
		if (rc)
			assert_ptr_equal(v, before);
		if (cap)
			memset(v, 0xa5, cap * cases[i].elem); /* ASan: all of it is ours */
		free(v);
	}
}

static void test_array_reserve_enomem(void **state)
{
	(void)state;
	int *v = malloc(8 * sizeof(*v));
	assert_non_null(v);
	size_t cap = 8;
	v[7] = 42;
	/* within the cap and without overflow, but not allocatable */
	assert_int_equal(ARRAY_RESERVE(v, cap, SIZE_MAX / 16, SIZE_MAX), -ENOMEM);
	assert_int_equal(cap, 8);
	assert_int_equal(v[7], 42);
	free(v);
}

struct item {
	char name[24];
	int64_t n;
};

static void test_array_reserve_macro_push(void **state)
{
	(void)state;
	struct item *v = NULL;
	size_t n = 0, cap = 0;
	for (int k = 0; k < 1000; k++) {
		assert_int_equal(ARRAY_RESERVE(v, cap, n + 1, 1000), 0);
		assert_true(cap >= n + 1 && cap <= 1000);
		snprintf(v[n].name, sizeof(v[n].name), "item%d", k);
		v[n++].n = k;
	}
	assert_int_equal(cap, 1000);
	/* full: the next push is refused and the items stay */
	assert_int_equal(ARRAY_RESERVE(v, cap, n + 1, 1000), -E2BIG);
	assert_int_equal(cap, 1000);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(v[k].n, (int64_t)k);
	assert_string_equal(v[999].name, "item999");
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_array_reserve_table),
		cmocka_unit_test(test_array_reserve_enomem),
		cmocka_unit_test(test_array_reserve_macro_push),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
