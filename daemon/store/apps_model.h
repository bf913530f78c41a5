/* Internal to the apps store (apps.c): in-memory edits of versions. Not a
 * public module interface; other modules use apps.h. */
#ifndef PINWATCH_APPS_MODEL_H
#define PINWATCH_APPS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model/model.h"

/** Deep copies; 0 or -ENOMEM (dst left empty). */
int apps_copy_policy(const struct pin_policy *src, struct pin_policy *dst);
int apps_copy_version(const struct app_version *src, struct app_version *dst);
/** Index of the policy with that key / sample of that date, or -1. */
ssize_t apps_find_policy(const struct app_version *v, const char *pattern, bool incl);
ssize_t apps_find_sample(const struct app_version *v, const char *at);
/** Like apps_find_sample on a version whose samples are sorted by date: O(log n). */
ssize_t apps_find_sample_sorted(const struct app_version *v, const char *at);
/**
 * Merge @n samples (any order, distinct dates) into @v's samples (sorted by
 * date); a new sample replaces the stored one of its date. The result is
 * sorted. 0 or -ENOMEM.
 */
int apps_merge_samples(struct app_version *v, const struct adoption_sample *add, size_t n);
/** Remove element @i. */
void apps_del_policy(struct app_version *v, size_t i);
void apps_del_sample(struct app_version *v, size_t i);
/** Add a copy, replacing the element with the same key. 0 or -ENOMEM. */
int apps_put_policy(struct app_version *v, const struct pin_policy *p);
/** Same stored content (pins compared in order; both sorted). */
bool apps_policy_equal(const struct pin_policy *a, const struct pin_policy *b);

/* Store steps shared by apps.c and apps_bulk.c; all run inside a transaction. */
struct db;
/** Write @after (validated) over @before (NULL: new row @vid) and audit; no-op when equal. */
int apps_version_commit(struct db *db, const char *actor, const char *action, const char *app,
			int64_t vid, const struct app_version *before, struct app_version *after,
			bool *changed, char *err, size_t errlen);
/** INSERT the versions row of @v; -EEXIST when present. */
int apps_insert_version_row(struct db *db, int64_t app_id, const char *app,
			    const struct app_version *v, int64_t *vid, char *err, size_t errlen);
/** INSERT app @a (checked) and audit "create". */
int apps_app_insert(struct db *db, const char *actor, struct app *a, char *err, size_t errlen);
/** UPDATE app @a over @have when different, audit "update". */
int apps_app_update(struct db *db, const char *actor, const struct app *have, struct app *a,
		    bool *changed, char *err, size_t errlen);
/** DELETE version @have (stored) and audit "delete". */
int apps_version_remove(struct db *db, const char *actor, const char *app,
			const struct app_version *have, char *err, size_t errlen);

#endif
