/* HTTP server: libmicrohttpd on [http] listen, limits, authentication, CSRF
 * checks, JSON bodies, and dispatch to the API routes (api.h) and the
 * embedded dashboard (web.h).
 *
 * Threads: libmicrohttpd's internal poll() thread pool; connection limits,
 * request deadlines and the Host check live in http_guard.h. Every request
 * borrows one SQLite connection from a small pool owned by the server (one
 * per thread at most); writes made by handlers use BEGIN IMMEDIATE on it.
 */
#ifndef PINWATCH_HTTP_H
#define PINWATCH_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct config;
struct http;

/**
 * Ask the scheduler to probe endpoint @endpoint_id as soon as possible.
 * Called from an HTTP thread; must be thread-safe and must not block long.
 * Returns 0, -ENOENT (unknown endpoint), -EBUSY (queue full) or another
 * negative errno with a message in @err.
 */
typedef int (*http_probe_now_fn)(void *ctx, int64_t endpoint_id, char *err, size_t errlen);

/**
 * Start serving. @cfg is copied; @db_path must name an existing, migrated
 * database (the daemon's writer opens it first). The listen address "host:port"
 * may use port 0 (tests; see http_port()). Returns NULL with @err set when the
 * address is bad, the TLS files cannot be read or the socket cannot be bound.
 */
struct http *http_new(const struct config *cfg, const char *db_path, char *err, size_t errlen);

/** Stop the server (waits for running handlers) and free it. NULL-safe. */
void http_free(struct http *h);

/** The TCP port actually bound. */
int http_port(const struct http *h);

/** Install the probe-now hook (before or after start; thread-safe). NULL disables the route (503).
 */
void http_set_probe_now(struct http *h, http_probe_now_fn fn, void *ctx);

/**
 * Scheduler heartbeat for /healthz: call once when the scheduler has started
 * and whenever convenient after (http_note_sweep() counts as one too). Until
 * the first call /healthz says the scheduler is not running; afterwards it is
 * alive while its heartbeat is under 60 s old or no enabled endpoint is more
 * than 300 s overdue (so a quiet estate with rare commits stays healthy).
 */
void http_note_scheduler_alive(struct http *h, time_t now);

/**
 * Results were committed (a sweep or a batch of probes finished) at
 * @finished_at: /healthz reports its age, it counts as a scheduler heartbeat,
 * and the readiness snapshot is rebuilt in the background if the results
 * changed anything (readers keep the previous one meanwhile). Thread-safe;
 * cheap enough for every committed batch.
 */
void http_note_sweep(struct http *h, time_t finished_at);

/**
 * The host part of a Host header or URL authority of @alen bytes ("name",
 * "name:port", "[v6]:port", "1.2.3.4:port"): lower case, without a final
 * dot, into @out (terminated). false when empty, malformed (brackets, bytes
 * <= space, '/', '@', DEL) or longer than @outlen - 1.
 */
bool http_authority_host(const char *a, size_t alen, char *out, size_t outlen);

#endif
