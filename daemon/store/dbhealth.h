/* Whether the daemon's database can be written, process-wide.
 *
 * `pinwatch serve` keeps serving reads when its database is read-only (the
 * file system was read-only at start, or was made read-only under it): the
 * scheduler's writer thread notices, drops probe results it cannot store
 * (counted), and tries again every DBHEALTH_RETRY_S seconds; HTTP write
 * routes answer 503; /healthz says "degraded"; the alert evaluator and
 * webhook worker pause. When a write works again every component goes back
 * to normal (read-only connections are reopened read-write). The state
 * changes are logged once each, so a read-only period is two log lines.
 * Outside serve nothing sets it and the database counts as writable.
 */
#ifndef PINWATCH_DBHEALTH_H
#define PINWATCH_DBHEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct db;

/** Seconds between two attempts to write again while read-only. */
#define DBHEALTH_RETRY_S 10

/** Reset to writable and remember @path for messages (serve, at start). */
void dbhealth_init(const char *path);

/** False while the database is known to be read-only. Cheap, thread-safe. */
bool dbhealth_writable(void);

/**
 * The database cannot be written (@why: "the file system is read-only", ...).
 * Logs one error on the transition from writable; later calls only refresh
 * the reason. Thread-safe.
 */
void dbhealth_set_readonly(const char *why);

/** A write worked again: logs once on the transition, with the dropped count. */
void dbhealth_set_writable(void);

/** @n probe results could not be stored because the database is read-only. */
void dbhealth_dropped(int64_t n);

/**
 * While read-only: a sentence for API errors and /healthz ("database
 * /var/lib/pinwatch/pinwatch.db is read-only since 2026-...: the file
 * system is read-only"); returns false (and "" in @out) when writable.
 */
bool dbhealth_describe(char *out, size_t outlen);

/** Probe results dropped since dbhealth_init(). */
int64_t dbhealth_dropped_total(void);

/**
 * Reopen *@db (opened with DB_RO_FALLBACK among @flags) when it is a
 * read-only fallback connection and db_should_reopen() says so. Returns 1
 * when *@db was replaced, 0 when unchanged, or a negative errno (message in
 * @err) with *@db left as it was.
 */
int dbhealth_refresh(struct db **db, unsigned flags, char *err, size_t errlen);

#endif
