/* Shared by the store tests (cmocka): a read answers whole or fails. Include
 * after <cmocka.h> and <jansson.h>. */
#ifndef PINWATCH_WHOLEANSWER_H
#define PINWATCH_WHOLEANSWER_H

#include <errno.h>

#include "store/db.h"

/** One read as a call: its answer (list or object) into *out. */
typedef int (*wholeanswer_call)(json_t **out, char *err, size_t errlen);

static long wholeanswer_budget;

/* Fail after wholeanswer_budget progress callbacks (one every VM instruction). */
static inline int wholeanswer_interrupt(void *arg)
{
	(void)arg;
	return --wholeanswer_budget < 0;
}

/**
 * Run @call on @db interrupted after 0, 1, 2, ... VM instructions until it
 * completes: every interrupted run must fail (a negative errno, never
 * -ENOENT "no such object"; *out NULL; a message), the completed one must
 * answer @want (else the test fails naming @name). Returns how many runs
 * failed.
 */
static inline size_t wholeanswer_check(struct db *db, wholeanswer_call call, const json_t *want,
				       const char *name)
{
	char err[256];
	size_t fails = 0;
	for (long k = 0;; k += 1 + k / 64) {
		json_t *got = (json_t *)&got; /* must be reset */
		err[0] = '\0';
		wholeanswer_budget = k;
		sqlite3_progress_handler(db_handle(db), 1, wholeanswer_interrupt, NULL);
		int rc = call(&got, err, sizeof(err));
		sqlite3_progress_handler(db_handle(db), 0, NULL, NULL);
		if (rc == 0) {
			if (!json_equal(got, want))
				fail_msg("%s: a different answer after %ld steps", name, k);
			json_decref(got);
			return fails;
		}
		assert_null(got);
		assert_true(rc < 0);
		assert_int_not_equal(rc, -ENOENT);
		assert_true(err[0] != '\0');
		fails++;
	}
}

#endif
