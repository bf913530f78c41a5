/* The loading edge of rotation plans: plans from the store evaluated against
 * the inventory and observations as of a time (readiness_plan.h is the pure
 * evaluation). */
#ifndef PINWATCH_READINESS_PLAN_DB_H
#define PINWATCH_READINESS_PLAN_DB_H

#include <gnutls/x509.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "readiness/readiness.h"
#include "readiness/readiness_plan.h"

struct config;
struct db;
struct plan;

#define PLANS_DEFAULT_CONFIRM_DAYS 14

/** Seconds of [plans] confirm_days in @cfg (NULL or unset: the default, 14 days). */
int64_t readiness_plan_confirm_s(const struct config *cfg);

/** Observed CA certificates for completing planned chains (readiness_load_ca_crts). */
struct readiness_ca_pool {
	gnutls_x509_crt_t *crts;
	size_t n;
};

/**
 * Evaluate plan @p at @at against @idx/@obs (as readiness_state_eval loads
 * them) into @out. 0 or a negative errno with a message.
 */
int readiness_plan_state_of(const struct plan *p, const struct readiness_index *idx,
			    const struct readiness_observations *obs,
			    const struct readiness_ca_pool *pool, time_t at, int64_t confirm_s,
			    struct readiness_plan_state *out, char *err, size_t errlen);

/**
 * Plans with their evaluated state as JSON: @id > 0 that plan as an object,
 * else every plan (only open ones with @open_only) as an array, newest
 * first. Caller owns *out. 0, -ENOENT or -EIO.
 */
int readiness_plans_json(struct db *db, int64_t id, bool open_only, time_t at, int64_t confirm_s,
			 json_t **out, char *err, size_t errlen);

#endif
