/* JSON API under /api/v1, /healthz and /metrics: the route table and the
 * handlers. Independent of libmicrohttpd: http.c fills a struct api_req from
 * the connection, calls api_dispatch() and sends what the handler left in it,
 * so that tests and the fuzz harness can drive routes without sockets.
 */
#ifndef PINWATCH_API_H
#define PINWATCH_API_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "http/http.h"
#include "store/tokens.h"

struct api_snapshot;
struct reports_limits;
struct config;
struct db;

#define API_MAX_PARAMS 4
#define API_MAX_QUERY  16
#define API_PATH_MAX   1024

/** Who may call a route. */
enum api_access {
	API_PUBLIC = 0, /**< anyone (/healthz) */
	API_READ = 1,	/**< read token, or anyone when [http] public_read */
	API_WRITE = 2,	/**< write or admin token */
	API_ADMIN = 3,	/**< admin token */
};

/** Server-wide state shared by all handler threads; owned by struct http. */
struct api_ctx {
	pthread_mutex_t lock;
	const struct config *cfg; /**< the server's configuration (read-only) */
	bool public_read;
	time_t started_at;
	time_t scheduler_seen;		/**< last heartbeat (0: never) */
	time_t last_sweep;		/**< last finished sweep (0: never) */
	uint64_t generation;		/**< bumped on every change; keys the caches */
	struct reports_limits *reports; /**< per-source limits of POST /api/v1/reports (owned) */
	http_probe_now_fn probe_now;
	void *probe_ctx;
	pthread_mutex_t snap_build_lock; /**< one readiness snapshot builder at a time */
	struct api_snapshot *snapshot;	 /**< shared readiness snapshot (under lock; refcounted) */
	pthread_cond_t warm_cond;	 /**< wakes the snapshot warmer (with lock) */
	bool warm_kick;			 /**< something changed: rebuild soon */
	bool warm_stop;
	char *cache_status; /**< cached GET /api/v1/status body (under lock) */
	uint64_t cache_status_gen;
	time_t cache_status_at;
};

/** One request as a handler sees it, and the response it leaves behind. */
struct api_req {
	struct api_ctx *ctx;
	struct db *db;
	const char *method;	    /**< "GET", "POST", ... (HEAD is routed as GET) */
	char path[API_PATH_MAX];    /**< decoded path */
	char scratch[API_PATH_MAX]; /**< params point into it */
	const char *params[API_MAX_PARAMS];
	size_t nparams;
	const char *qkey[API_MAX_QUERY];
	const char *qval[API_MAX_QUERY];
	size_t nquery;
	json_t *body;	 /**< parsed JSON body or NULL (borrowed) */
	size_t bodylen;	 /**< its size in bytes as received */
	char client[64]; /**< peer address ("192.0.2.1", "2001:db8::1") or "" */
	enum token_role role;
	char actor[TOKEN_NAME_MAX + 16]; /**< "token:<name>" or "anonymous" */

	/* response, filled by the handler */
	int status;
	json_t *json; /**< owned reference, sent as application/json */
	char *text;   /**< malloc'ed, sent with @ctype (when json is NULL) */
	size_t textlen;
	const char *ctype;
	bool close; /**< ask the client to close the connection */
};

struct api_route;

/**
 * Find the route for @method and @req->path, storing path parameters in @req.
 * Returns the route, or NULL with *status 404 (no such path) or 405 (path
 * exists; @allow lists the methods, "GET, POST").
 */
const struct api_route *api_route_find(struct api_req *req, int *status, char *allow,
				       size_t allowlen);

/** The access level @r needs. */
enum api_access api_route_access(const struct api_route *r);
/** True when @r accepts a request body. */
bool api_route_has_body(const struct api_route *r);

/** Run @r's handler; afterwards @req holds the response (status and json or text). */
void api_dispatch(const struct api_route *r, struct api_req *req);

/** Set an error response {"error": @error, "detail": fmt...}. */
void api_error(struct api_req *req, int status, const char *error, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/** Value of query parameter @key or NULL. */
const char *api_query(const struct api_req *req, const char *key);

/**
 * Parse a request body (@len bytes, not necessarily NUL-terminated) as one
 * JSON value, rejecting duplicate object keys. On failure sets a 400 bad_json
 * response on @req naming line, column and byte offset, and returns -EINVAL.
 * On success *out is a new reference.
 */
int api_parse_body(struct api_req *req, const char *buf, size_t len, json_t **out);

/** Initialise (keeping ctx->cfg) and destroy @ctx. */
int api_ctx_init(struct api_ctx *ctx, bool public_read);
void api_ctx_destroy(struct api_ctx *ctx);
/**
 * Rebuild the readiness snapshot when it is stale or about to age out (the
 * server's warmer thread calls this with its own connection). 0 or -EIO.
 */
int api_snapshot_refresh(struct api_ctx *ctx, struct db *db, char *err, size_t errlen);

/** Bump the generation: caches computed before are dropped. */
void api_ctx_invalidate(struct api_ctx *ctx);

#endif
