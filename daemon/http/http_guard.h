/* The HTTP server's door (internal to daemon/http, used by http.c):
 * connection counts per client address (IPv4 address, IPv6 /64) and in
 * total, the accept policy (refuse, or evict the connection whose request has
 * been arriving longest), the per-request deadline thread, and the Host
 * names the server answers to (DNS rebinding).
 *
 * libmicrohttpd calls http_guard_accept() (its accept policy callback) and
 * http_guard_notify() (MHD_OPTION_NOTIFY_CONNECTION) with the guard as
 * their closure; the request handler tells it when a request is complete
 * (http_guard_responding()). Every function is thread-safe.
 */
#ifndef PINWATCH_HTTP_GUARD_H
#define PINWATCH_HTTP_GUARD_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct config;

/** Connections of one address past per_ip_connections that get a 503; further ones are refused. */
#define HTTP_GUARD_PERIP_SLACK 16
/** Headroom of libmicrohttpd's own connection limit over max_connections (a backstop). */
#define HTTP_GUARD_CONN_SLACK 64
#define HTTP_GUARD_BUCKETS    1024

struct guard_peer;
struct guard_conn;

struct http_guard {
	pthread_mutex_t lock; /* everything below */
	struct guard_peer *perip[HTTP_GUARD_BUCKETS];
	struct guard_conn *head, *tail; /* live connections, oldest first */
	unsigned nconns;
	int max_connections, per_ip, timeout_s;
	uint64_t refused, evicted, reaped, refused_logged;
	int64_t refused_log_ms;
	pthread_cond_t cond;
	pthread_t reaper;
	bool reaper_running, reaper_stop;
	char listen_host[256]; /* host of [http] listen, lower case, or "" */
	char base_host[256];   /* host of [http] base_url, lower case, or "" */
};

/** Set up @g from @cfg's [http] limits, listen and base_url. */
void http_guard_init(struct http_guard *g, const struct config *cfg);

/** Start the deadline thread. 0 or a negative errno with a message. */
int http_guard_start(struct http_guard *g, char *err, size_t errlen);

/** Stop the thread (after libmicrohttpd stopped) and free everything. */
void http_guard_destroy(struct http_guard *g);

/** libmicrohttpd accept policy: MHD_NO closes the new connection at once. */
enum MHD_Result http_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);

/** libmicrohttpd connection notification: counts and tracks connections. */
void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode toe);

/** @conn was opened while its address held per_ip_connections already (answer 503). */
bool http_guard_over_limit(struct MHD_Connection *conn);

/**
 * The request on @conn is complete and being answered (@responding: no
 * deadline), or its response is done (the next request's deadline starts).
 */
void http_guard_responding(struct http_guard *g, struct MHD_Connection *conn, bool responding);

/**
 * Is @host (as http_authority_host() gives it) a name of this server:
 * localhost, 127.0.0.1, ::1, the hosts of [http] listen and base_url, or the
 * address @conn arrived on?
 */
bool http_guard_host_allowed(const struct http_guard *g, struct MHD_Connection *conn,
			     const char *host);

/** The Host header of @conn, if any, names this server; else false with a sentence in @why. */
bool http_guard_host_ok(const struct http_guard *g, struct MHD_Connection *conn, char *why,
			size_t whylen);

/** The host of absolute URL @url ("scheme://[userinfo@]host[:port]/..."), or "". */
void http_url_host(const char *url, char *out, size_t outlen);

/**
 * The origin of absolute URL @url, "scheme://host[:port]" lower-cased (no
 * userinfo, path, query or fragment; the port only when the URL names one),
 * into @out, or "" when @url is not an absolute URL (libcurl's URL API
 * parses it) or the origin does not fit.
 */
void http_url_origin(const char *url, char *out, size_t outlen);

#endif
