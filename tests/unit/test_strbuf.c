/* unit.strbuf: the capped string buffer (base/strbuf.c): the cap at its
 * boundary, sticky errors, all-or-nothing adds, overflowing lengths, take. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/strbuf.h"
#include "base/util.h"

/* The -ENOMEM cases ask for impossible sizes: let ASan answer NULL, as libc does. */
const char *__asan_default_options(void) __attribute__((visibility("default")));
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static void test_strbuf_add_cap_boundaries(void **state)
{
	(void)state;
	static const struct {
		size_t max;   /* the cap */
		size_t first; /* bytes added first */
		size_t add;   /* bytes added next */
		int rc;	      /* what the second add returns */
		size_t len;   /* length afterwards */
	} cases[] = {
		{ 10, 0, 0, 0, 0 },	   /* zero length */
		{ 10, 0, 10, 0, 10 },	   /* exactly at the cap */
		{ 10, 0, 11, -E2BIG, 0 },  /* one past */
		{ 10, 9, 1, 0, 10 },	   /* reaching the cap in two steps */
		{ 10, 9, 2, -E2BIG, 9 },   /* one past in two steps: the first part stays */
		{ 10, 10, 0, 0, 10 },	   /* nothing more at the cap */
		{ 10, 10, 1, -E2BIG, 10 }, /* anything more at the cap */
		{ 0, 0, 0, 0, 0 },	   /* a zero cap holds the empty string */
		{ 0, 0, 1, -E2BIG, 0 },	   /* and nothing else */
		{ 63, 0, 63, 0, 63 },	   /* the first allocation, exactly */
		{ 64, 0, 64, 0, 64 },	   /* one past the first allocation */
		{ 1000, 0, 999, 0, 999 },  /* growth clipped to the cap */
		{ 1000, 500, 500, 0, 1000 },
		{ 1000, 500, 501, -E2BIG, 500 },
		{ 10, 5, SIZE_MAX, -E2BIG, 5 },		  /* len + add overflows */
		{ 10, 5, SIZE_MAX - 4, -E2BIG, 5 },	  /* overflows to exactly 0 */
		{ SIZE_MAX, 5, SIZE_MAX - 5, -E2BIG, 5 }, /* no room for the NUL */
	};
	static char data[2048];
	memset(data, 'x', sizeof(data));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf b;
		strbuf_init(&b, cases[i].max);
		assert_int_equal(strbuf_add(&b, data, cases[i].first), 0);
		/* huge lengths never reach memcpy: the cap refuses them first */
		int rc = strbuf_add(&b, data, cases[i].add);
		if (rc != cases[i].rc || strbuf_len(&b) != cases[i].len)
			fail_msg("case %zu: add %zu after %zu under cap %zu: rc %d len %zu, want "
				 "%d %zu",
				 i, cases[i].add, cases[i].first, cases[i].max, rc, strbuf_len(&b),
				 cases[i].rc, cases[i].len);
		assert_int_equal(strlen(strbuf_ptr(&b)), cases[i].len);
		assert_int_equal(strbuf_err(&b), cases[i].rc);
		strbuf_free(&b);
	}
}

static void test_strbuf_add_sticky(void **state)
{
	(void)state;
	struct strbuf b;
	strbuf_init(&b, 8);
	assert_int_equal(strbuf_addstr(&b, "abcd"), 0);
	assert_int_equal(strbuf_addstr(&b, "efghi"), -E2BIG);
	/* a later add that would fit fails too, and adds nothing */
	assert_int_equal(strbuf_addc(&b, 'e'), -E2BIG);
	assert_int_equal(strbuf_addstr(&b, ""), -E2BIG);
	assert_int_equal(strbuf_addf(&b, "%d", 1), -E2BIG);
	assert_string_equal(strbuf_ptr(&b), "abcd");
	assert_int_equal(strbuf_err(&b), -E2BIG);
	/* take reports the failure and frees the text */
	size_t len = 99;
	assert_null(strbuf_take(&b, &len));
	assert_int_equal(len, 0);
	assert_int_equal(strbuf_err(&b), 0);
	assert_int_equal(strbuf_addstr(&b, "ok"), 0);
	assert_string_equal(strbuf_ptr(&b), "ok");
	strbuf_free(&b);
}

static void test_strbuf_add_enomem(void **state)
{
	(void)state;
	struct strbuf b;
	strbuf_init(&b, SIZE_MAX);
	assert_int_equal(strbuf_addstr(&b, "keep"), 0);
	/* within the cap but not allocatable: the text stays, the error sticks */
	assert_int_equal(strbuf_add(&b, "x", SIZE_MAX / 2), -ENOMEM);
	assert_string_equal(strbuf_ptr(&b), "keep");
	assert_int_equal(strbuf_addc(&b, 'x'), -ENOMEM);
	assert_int_equal(strbuf_len(&b), 4);
	strbuf_free(&b);
}

static void test_strbuf_addf_cases(void **state)
{
	(void)state;
	static const struct {
		size_t max;
		const char *prefix;
		int arg;
		int rc;
		const char *want;
	} cases[] = {
		{ 100, "", 7, 0, "n=7;" },
		{ 4, "", 7, 0, "n=7;" },	  /* exactly at the cap */
		{ 3, "", 7, -E2BIG, "" },	  /* one past */
		{ 9, "ab", 12345, -E2BIG, "ab" }, /* the cut output is not left behind */
		{ 10, "ab", 12345, 0, "abn=12345;" },
		{ 200, "", -1, 0, "n=-1;" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf b;
		strbuf_init(&b, cases[i].max);
		assert_int_equal(strbuf_addstr(&b, cases[i].prefix), 0);
		int rc = strbuf_addf(&b, "n=%d;", cases[i].arg);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
		assert_string_equal(strbuf_ptr(&b), cases[i].want);
		strbuf_free(&b);
	}
	/* output longer than the free room of the current allocation: grows and formats again */
	struct strbuf b;
	strbuf_init(&b, 1 << 20);
	char big[300];
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	for (int k = 0; k < 10; k++)
		assert_int_equal(strbuf_addf(&b, "%s%d", big, k), 0);
	assert_int_equal(strbuf_len(&b), 10 * 300);
	assert_memory_equal(strbuf_ptr(&b) + 299, "0y", 2);
	assert_memory_equal(strbuf_ptr(&b) + 10 * 300 - 1, "9", 2);
	strbuf_free(&b);
}

static void test_strbuf_add_binary(void **state)
{
	(void)state;
	struct strbuf b;
	strbuf_init(&b, 16);
	assert_int_equal(strbuf_add(&b, "a\0b", 3), 0);
	assert_int_equal(strbuf_addc(&b, '\0'), 0);
	assert_int_equal(strbuf_len(&b), 4);
	assert_memory_equal(strbuf_ptr(&b), "a\0b\0", 5);
	size_t len;
	char *s = strbuf_take(&b, &len);
	assert_non_null(s);
	assert_int_equal(len, 4);
	assert_memory_equal(s, "a\0b\0", 5);
	free(s);
}

static void test_strbuf_take_empty(void **state)
{
	(void)state;
	struct strbuf b;
	strbuf_init(&b, 16);
	assert_string_equal(strbuf_ptr(&b), "");
	size_t len = 99;
	char *s = strbuf_take(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	/* zero-length adds allocate and leave an empty string */
	assert_int_equal(strbuf_add(&b, NULL, 0), 0);
	assert_int_equal(strbuf_addstr(&b, ""), 0);
	s = strbuf_take(&b, NULL);
	assert_string_equal(s, "");
	free(s);
	/* take leaves the buffer empty and usable, with the same cap */
	assert_int_equal(strbuf_addstr(&b, "0123456789abcdef"), 0);
	assert_int_equal(strbuf_addc(&b, 'g'), -E2BIG);
	strbuf_free(&b);
}

static void test_strbuf_truncate_and_reset(void **state)
{
	(void)state;
	struct strbuf b;
	strbuf_init(&b, 10);
	assert_int_equal(strbuf_addstr(&b, "0123456789"), 0);
	assert_int_equal(strbuf_addc(&b, 'x'), -E2BIG);
	strbuf_truncate(&b, 4);
	assert_int_equal(strbuf_err(&b), 0);
	assert_string_equal(strbuf_ptr(&b), "0123");
	assert_int_equal(strbuf_addstr(&b, "[..]"), 0);
	assert_string_equal(strbuf_ptr(&b), "0123[..]");
	strbuf_truncate(&b, 100); /* longer than the text: no change */
	assert_string_equal(strbuf_ptr(&b), "0123[..]");
	strbuf_reset(&b);
	assert_int_equal(strbuf_len(&b), 0);
	assert_string_equal(strbuf_ptr(&b), "");
	assert_int_equal(strbuf_addstr(&b, "again"), 0);
	assert_string_equal(strbuf_ptr(&b), "again");
	/* reused memory keeps the cap: formatted output past it is refused */
	assert_int_equal(strbuf_addf(&b, "%s", "12345"), 0);
	assert_int_equal(strbuf_addf(&b, "%d", 7), -E2BIG);
	assert_string_equal(strbuf_ptr(&b), "again12345");
	strbuf_free(&b);
	strbuf_free(&b); /* twice is harmless */
	strbuf_free(NULL);
	strbuf_truncate(&b, 0); /* on an empty, unallocated buffer */
	assert_string_equal(strbuf_ptr(&b), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strbuf_add_cap_boundaries),
		cmocka_unit_test(test_strbuf_add_sticky),
		cmocka_unit_test(test_strbuf_add_enomem),
		cmocka_unit_test(test_strbuf_addf_cases),
		cmocka_unit_test(test_strbuf_add_binary),
		cmocka_unit_test(test_strbuf_take_empty),
		cmocka_unit_test(test_strbuf_truncate_and_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
