/* A planned rotation's progress through the seven steps of a pin rotation,
 * computed from the inventory and the observations (PURE: no SQLite, clock or
 * sockets; readiness_plan_db.c loads the inputs).
 *
 * The steps (docs/readiness.md "Rotation plans"):
 *  1 inventory  the host is an inventoried endpoint and its addresses are probed
 *  2 pins       every app that pins the host has a version pinning a planned key
 *  3 staging    a non-production endpoint already presents a planned key
 *  4 prepared   every address presents the same chain today, and a spare key
 *               (neither today's nor planned) is pinned for disaster recovery
 *  5 release    every app that pins the host has a version carrying both a key
 *               of today's chain and a planned key
 *  6 adoption   executing the plan now would leave every app ready (surviving
 *               share >= its adoption threshold); with a forecast date
 *  7 cleanup    the planned leaf key has been presented on every address for
 *               the confirmation period: the old keys can go in a later release
 *
 * An address "presents the plan" when the key of the leaf it presents is the
 * planned leaf key (a plan from a chain), or one of the planned keys (a plan
 * from keys).
 */
#ifndef PINWATCH_READINESS_PLAN_H
#define PINWATCH_READINESS_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "readiness/readiness.h"

#define READINESS_PLAN_STEPS 7

enum readiness_plan_status {
	PLAN_WAITING = 0, /**< not every app would survive the plan yet */
	PLAN_READY,	  /**< executing it now would leave every app ready */
	PLAN_ROLLING_OUT, /**< some address presents the planned leaf key */
	PLAN_COMPLETED,	  /**< every address has presented it for the confirmation period */
	PLAN_CANCELLED,
};

/** "waiting", "ready", "rolling_out", "completed", "cancelled". */
const char *readiness_plan_status_name(enum readiness_plan_status s);

struct readiness_plan_in {
	const char *host; /**< normalised */
	int port;
	/** The planned chain (completed towards its anchor) or bare keys (subject NULL). */
	const struct readiness_chain *planned;
	bool from_chain;   /**< planned->certs[0] is the planned leaf */
	time_t not_before; /**< 0: none */
	bool cancelled;
	int64_t confirm_s; /**< step 7: how long every address must present the plan */
};

struct readiness_plan_step {
	bool done;
	struct readiness_strv evidence; /**< sentences saying why done or not */
};

/** One app that pins the host, if the plan were executed at T. */
struct readiness_plan_app {
	const struct app *app;
	/** Stranded if the host presented the plan at T (points into the state's whatif):
	 * its stranded versions are those still relying on the old keys (step 7). */
	const struct readiness_scenario *executed;
	struct readiness_forecast
		forecast; /**< when the plan's surviving share reaches the threshold */
};

struct readiness_plan_state {
	enum readiness_plan_status status;
	bool inventoried;
	const struct endpoint *ep; /**< points into the inventory, or NULL */
	size_t naddrs;		   /**< addresses observed */
	size_t npresenting;	   /**< of them, presenting the planned leaf key */
	time_t presenting_since;   /**< when the last of them started to (0 unless all do) */
	bool overdue;		   /**< not_before has passed and the plan is still waiting */
	struct readiness_plan_step steps[READINESS_PLAN_STEPS];
	struct readiness_plan_app *apps; /**< apps with a covering policy, inventory order */
	size_t napps;
	struct readiness_whatif whatif; /**< the plan as a what-if at T */
};

/**
 * Evaluate plan @in at @at against the indexed inventory and @obs (parallel to
 * the inventory's endpoints; may be NULL). 0, -EINVAL or -ENOMEM; free @out with
 * readiness_plan_state_free() (also after a failure).
 */
int readiness_plan_eval(const struct readiness_index *idx, const struct readiness_observations *obs,
			const struct readiness_plan_in *in, const struct readiness_opts *o,
			struct readiness_plan_state *out);
void readiness_plan_state_free(struct readiness_plan_state *s);

/**
 * The state as JSON: status, inventoried, addresses, presenting, overdue,
 * steps[] ({step, name, done, evidence[]}), apps[] ({app, stranded_share,
 * unknown_share, surviving_share, ready, stranded_versions[], forecast}).
 * NULL on allocation failure.
 */
json_t *readiness_plan_state_json(const struct readiness_plan_state *s);

#endif
