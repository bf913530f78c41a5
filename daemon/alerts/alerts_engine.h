/* The alert engine as a daemon component: an evaluator thread with its own
 * database connection that runs alerts_evaluate() when poked (after each
 * committed sweep batch, after inventory changes) and at least every
 * minute (time-based conditions, changes made by other processes), plus the
 * webhook delivery worker. Probing never waits for either thread.
 */
#ifndef PINWATCH_ALERTS_ENGINE_H
#define PINWATCH_ALERTS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct alerts_engine;
struct alerts_source;

/** Least time between two evaluations (pokes in between are coalesced). */
#define ALERTS_ENGINE_MIN_SPACING_MS 5000
/** Longest time without an evaluation. */
#define ALERTS_ENGINE_PERIOD_MS 60000

/**
 * Start the evaluator and the webhook worker on @db_path (which must exist;
 * migrations already applied). @cfg is copied. Each evaluation is
 * alerts_evaluate() with @extra (NULL: none; borrowed, it must outlive the
 * engine). The first evaluation runs at once. NULL with a message in @err on
 * failure.
 */
struct alerts_engine *alerts_engine_new(const struct config *cfg, const char *db_path,
					const struct alerts_source *extra, char *err,
					size_t errlen);

/** Ask for an evaluation soon. Thread-safe, cheap, NULL-safe; never blocks on I/O. */
void alerts_engine_poke(struct alerts_engine *e);

/**
 * The engine this process runs (the latest alerts_engine_new() not yet
 * freed), or NULL: lets other modules (HTTP inventory writes) poke it with
 * alerts_engine_poke(alerts_engine_current()) without holding a pointer.
 */
struct alerts_engine *alerts_engine_current(void);

/** Use @cfg from the next evaluation on (the webhook worker is restarted). NULL-safe. */
void alerts_engine_reload(struct alerts_engine *e, const struct config *cfg);

/** Evaluations completed so far (tests, metrics). */
uint64_t alerts_engine_runs(struct alerts_engine *e);

/** Stop both threads (bounded: about a second plus one running evaluation) and free. NULL-safe. */
void alerts_engine_free(struct alerts_engine *e);

#endif
