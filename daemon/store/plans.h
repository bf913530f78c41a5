/* Rotation plans as stored: the chain or keys an endpoint will move to, when
 * (not before a date), why (a note), and who recorded or cancelled it. What a
 * plan has achieved is computed from observations (readiness/readiness_plan.h),
 * never stored here.
 */
#ifndef PINWATCH_PLANS_H
#define PINWATCH_PLANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "model/model.h"

struct db;

#define PLANS_MAX_KEYS	32	     /**< planned keys of one plan */
#define PLANS_MAX_NOTE	1024	     /**< bytes of a note */
#define PLANS_MAX_CHAIN (256 * 1024) /**< bytes of a planned chain (PEM) */
#define PLANS_MAX_OPEN	1000	     /**< plans neither cancelled nor deleted */

struct plan {
	int64_t id;
	char *host; /**< normalised */
	int port;
	char not_before[MODEL_DATE_LEN]; /**< "" when none */
	time_t not_before_at;		 /**< 00:00 UTC of not_before; 0 when none */
	char *note;			 /**< NULL when none */
	char *chain_pem;		 /**< NULL for a plan given as keys */
	uint8_t (*keys)[32];		 /**< planned SPKI pins; leaf first for a chain */
	size_t nkeys;
	time_t created_at;
	char *created_by;
	time_t cancelled_at; /**< 0 while open */
	char *cancelled_by;
};

void plan_free(struct plan *p);
void plans_free(struct plan *v, size_t n);

/**
 * Validate and record @p (host normalised in place; id and created_* set),
 * audited as "create" by @actor in the same transaction. @p->keys must hold
 * 1..PLANS_MAX_KEYS distinct keys. 0, -EINVAL (message names the field),
 * -ENOSPC (PLANS_MAX_OPEN open plans) or -EIO.
 */
int plans_add(struct db *db, const char *actor, struct plan *p, char *err, size_t errlen);

/** Cancel open plan @id, audited. 0, -ENOENT (no such open plan) or -EIO. */
int plans_cancel(struct db *db, const char *actor, int64_t id, char *err, size_t errlen);

/** Plan @id into @out (free with plan_free). 0, -ENOENT or -EIO. */
int plans_get(struct db *db, int64_t id, struct plan *out, char *err, size_t errlen);

/**
 * Every plan (@open_only: only those not cancelled), newest first, into a
 * new array (free with plans_free). 0 or -EIO/-ENOMEM.
 */
int plans_list(struct db *db, bool open_only, struct plan **out, size_t *n, char *err,
	       size_t errlen);

#endif
