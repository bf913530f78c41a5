#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http/api.h"
#include "http/http_guard.h"
#include "base/config.h"
#include "store/db.h"
#include "store/dbhealth.h"
#include "base/log.h"
#include "store/tokens.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "http/web.h"

#define HTTP_THREADS	  4
#define HTTP_TLS_FILE_MAX (1 << 20)

/* Served with every response. Scripts and styles come from our own files only:
 * no inline script, no inline style, no eval. */
#define CSP                                                                               \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct dbpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct db *idle[HTTP_THREADS * 2];
	size_t nidle;
	size_t nopen;
	char path[CONFIG_PATH_MAX];
};

struct http {
	struct MHD_Daemon *mhd;
	struct http_guard guard; /* connection limits, deadlines, Host names */
	struct config cfg;
	struct api_ctx ctx;
	struct dbpool pool;
	char *tls_cert;
	char *tls_key;
	char base_origin[512]; /* scheme://host[:port] of [http] base_url, or "" */
	int port;
	pthread_t warmer;
	bool warmer_running;
};

/* Per-request state kept by libmicrohttpd between calls of the handler. */
struct reqstate {
	const struct api_route *route;
	struct strbuf body; /* capped at [http] max_body */
	bool too_big;
	struct api_req req;
};

/* ---- database pool ---------------------------------------------------- */

static struct db *pool_get(struct dbpool *p, char *err, size_t errlen)
{
	struct db *db = NULL;
	pthread_mutex_lock(&p->lock);
	while (p->nidle == 0 && p->nopen >= ARRAY_SIZE(p->idle))
		pthread_cond_wait(&p->cond, &p->lock);
	if (p->nidle) {
		db = p->idle[--p->nidle];
		pthread_mutex_unlock(&p->lock);
		/* opened read-only while the database could not be written: reopen
		 * once it can (on failure the old one still serves reads) */
		if (dbhealth_refresh(&db, DB_NO_CREATE | DB_NO_CHECK, err, errlen) < 0)
			log_warn("http: reopening the database: %s", err);
		return db;
	}
	p->nopen++;
	pthread_mutex_unlock(&p->lock);
	db = db_open(p->path, DB_NO_CREATE | DB_NO_CHECK | DB_RO_FALLBACK, err, errlen);
	if (!db) {
		pthread_mutex_lock(&p->lock);
		p->nopen--;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
	return db;
}

static void pool_put(struct dbpool *p, struct db *db)
{
	if (!db)
		return;
	/* A handler that failed half-way must not leave a transaction open
	 * (db_rollback() does nothing outside one). */
	db_rollback(db);
	pthread_mutex_lock(&p->lock);
	p->idle[p->nidle++] = db;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void pool_close(struct dbpool *p)
{
	for (size_t i = 0; i < p->nidle; i++)
		db_close(p->idle[i]);
	p->nidle = p->nopen = 0;
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}

/* ---- responses -------------------------------------------------------- */

static void add_common_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

/* json_dump_callback() into a strbuf: 0, or -1 when the add fails. */
static int dump_to_strbuf(const char *buf, size_t size, void *data)
{
	return strbuf_add(data, buf, size) ? -1 : 0;
}

static enum MHD_Result send_req(struct MHD_Connection *conn, struct api_req *req, const char *allow)
{
	struct MHD_Response *resp;
	const char *ctype = req->ctype;
	if (req->json) {
		struct strbuf b;
		strbuf_init(&b, SIZE_MAX); /* no cap: the answer is built already */
		int rc = json_dump_callback(req->json, dump_to_strbuf, &b,
					    JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(req->json);
		req->json = NULL;
		if (rc || strbuf_err(&b)) {
			strbuf_free(&b);
			req->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
			strbuf_addstr(&b, "{\"error\":\"internal\",\"detail\":\"out of memory\"}");
		}
		/* a final newline makes curl output readable (left out if it cannot be added) */
		size_t n = strbuf_len(&b);
		if (strbuf_addc(&b, '\n'))
			strbuf_truncate(&b, n);
		char *s = strbuf_take(&b, &n);
		if (!s)
			return MHD_NO;
		resp = MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(s);
		ctype = "application/json";
	} else {
		resp = MHD_create_response_from_buffer(
			req->textlen, req->text ? req->text : (char *)"",
			req->text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
		if (!resp)
			free(req->text);
		req->text = NULL;
	}
	if (!resp)
		return MHD_NO;
	add_common_headers(resp);
	if (ctype)
		MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (allow)
		MHD_add_response_header(resp, "Allow", allow);
	if (req->close)
		MHD_add_response_header(resp, "Connection", "close");
	if (req->status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"pinwatch\"");
	enum MHD_Result r = MHD_queue_response(conn, (unsigned)req->status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result send_asset(struct MHD_Connection *conn, const struct web_asset *a)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(a->size, (void *)a->data, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	add_common_headers(resp);
	MHD_add_response_header(resp, "Content-Type", a->mime);
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	enum MHD_Result r = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return r;
}

/* ---- request checks --------------------------------------------------- */

static bool is_safe_method(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS");
}

/* Browsers send Origin (and Sec-Fetch-Site) with state-changing requests; a
 * request from another site is refused. Non-browser clients send neither. */
static bool csrf_ok(struct http *h, struct MHD_Connection *conn, char *why, size_t whylen)
{
	const char *site = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
	if (site && strcasecmp(site, "same-origin") != 0 && strcasecmp(site, "none") != 0) {
		util_err(why, whylen, 0, "Sec-Fetch-Site is '%.32s': cross-site writes are refused",
			 site);
		return false;
	}
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	if (!origin)
		return true;
	char o[512], host[256];
	http_url_origin(origin, o, sizeof(o));
	if (o[0] && h->base_origin[0] && strcmp(o, h->base_origin) == 0)
		return true;
	/* Origin equal to Host is not enough: a rebound DNS name is both. The
	 * origin must be this server under one of the names it answers to. */
	const char *scheme = h->tls_cert ? "https://" : "http://";
	http_url_host(o, host, sizeof(host));
	if (host[0] && !strncmp(o, scheme, strlen(scheme)) &&
	    http_guard_host_allowed(&h->guard, conn, host))
		return true;
	util_err(why, whylen, 0,
		 "Origin does not match this server: cross-site writes are refused");
	return false;
}

static bool is_json_type(const char *ct)
{
	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, "application/json", 16) != 0)
		return false;
	char c = ct[16];
	return c == 0 || c == ';' || c == ' ';
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	(void)kind;
	struct api_req *req = cls;
	if (req->nquery < API_MAX_QUERY) {
		req->qkey[req->nquery] = key;
		req->qval[req->nquery] = value ? value : "";
		req->nquery++;
	}
	return MHD_YES;
}

/* Authentication: returns 0, or an HTTP status with the error set in @req. */
static int authenticate(struct http *h, struct MHD_Connection *conn, struct api_req *req,
			enum api_access need)
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	req->role = TOKEN_NONE;
	snprintf(req->actor, sizeof(req->actor), "anonymous");
	if (auth) {
		if (strncasecmp(auth, "Bearer ", 7) != 0) {
			api_error(req, MHD_HTTP_UNAUTHORIZED, "unauthorized",
				  "Authorization must be 'Bearer <token>'");
			return req->status;
		}
		char err[ERRLEN], name[TOKEN_NAME_MAX + 1];
		struct db *db = pool_get(&h->pool, err, sizeof(err));
		if (!db) {
			api_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "database: %s",
				  err);
			return req->status;
		}
		const char *tok = auth + 7;
		while (*tok == ' ')
			tok++;
		req->role = tokens_verify(db, tok, name, sizeof(name));
		pool_put(&h->pool, db);
		if (req->role == TOKEN_NONE) {
			api_error(req, MHD_HTTP_UNAUTHORIZED, "unauthorized",
				  "unknown or revoked token");
			return req->status;
		}
		snprintf(req->actor, sizeof(req->actor), "token:%s", name);
	}
	bool ok;
	switch (need) {
	case API_PUBLIC:
		ok = true;
		break;
	case API_READ:
		ok = h->ctx.public_read || req->role >= TOKEN_READ;
		break;
	case API_WRITE:
		ok = req->role >= TOKEN_WRITE;
		break;
	default:
		ok = req->role >= TOKEN_ADMIN;
		break;
	}
	if (ok)
		return 0;
	static const char *const need_names[] = { "none", "read", "write", "admin" };
	if (req->role == TOKEN_NONE)
		api_error(req, MHD_HTTP_UNAUTHORIZED, "unauthorized", "this route needs a %s token",
			  need_names[need]);
	else
		api_error(req, MHD_HTTP_FORBIDDEN, "forbidden",
			  "this route needs a %s token; '%s' has role %s", need_names[need],
			  req->actor + 6, tokens_role_name(req->role));
	return req->status;
}

/* First call for a request: route, authenticate, check CSRF and body headers.
 * Returns 0 to go on reading the body, or a status with the error in @rs->req. */
static int precheck(struct http *h, struct MHD_Connection *conn, struct reqstate *rs,
		    const char *url, const char *method, char *allow, size_t allowlen)
{
	struct api_req *req = &rs->req;
	int status = 0;

	if (snprintf(req->path, sizeof(req->path), "%s", url) >= (int)sizeof(req->path)) {
		api_error(req, MHD_HTTP_URI_TOO_LONG, "uri_too_long", "path longer than %d bytes",
			  API_PATH_MAX - 1);
		return req->status;
	}
	req->method = !strcmp(method, "HEAD") ? "GET" : method;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, req->client,
				  sizeof(req->client));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
				  req->client, sizeof(req->client));
	}
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, req);
	rs->route = api_route_find(req, &status, allow, allowlen);
	if (!rs->route) {
		if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
			api_error(req, status, "method_not_allowed",
				  "%s is not allowed here; use %s", req->method, allow);
		else
			api_error(req, MHD_HTTP_NOT_FOUND, "not_found", "no such route");
		return req->status;
	}
	/* Public routes (pin-failure reports) carry no credentials to abuse, and
	 * report senders may send any Origin: no cross-site check for them. */
	if (!is_safe_method(method) && api_route_access(rs->route) != API_PUBLIC) {
		char why[160];
		if (!csrf_ok(h, conn, why, sizeof(why))) {
			api_error(req, MHD_HTTP_FORBIDDEN, "cross_site_request", "%s", why);
			return req->status;
		}
	}
	status = authenticate(h, conn, req, api_route_access(rs->route));
	if (status)
		return status;

	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
	const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
	long long n = 0;
	if (cl && util_parse_int(cl, 0, INT64_MAX, &n) == 0 && n > h->cfg.http_max_body) {
		api_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
			  "request body of %lld bytes exceeds the limit of %lld", n,
			  (long long)h->cfg.http_max_body);
		return req->status;
	}
	if (n > 0 || te) {
		if (!api_route_has_body(rs->route)) {
			api_error(req, MHD_HTTP_BAD_REQUEST, "unexpected_body",
				  "this route takes no body");
			return req->status;
		}
		const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
		if (!is_json_type(ct)) {
			api_error(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
				  "the body must be application/json");
			return req->status;
		}
	}
	return 0;
}

/* A body past [http] max_body (or one that cannot be held) is answered 413. */
static void append_body(struct reqstate *rs, const char *data, size_t n)
{
	if (rs->too_big)
		return;
	if (strbuf_add(&rs->body, data, n)) {
		rs->too_big = true;
		strbuf_free(&rs->body);
	}
}

static int run_route(struct http *h, struct reqstate *rs)
{
	struct api_req *req = &rs->req;
	json_t *body = NULL;
	if (rs->too_big) {
		api_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
			  "request body exceeds the limit of %lld bytes",
			  (long long)h->cfg.http_max_body);
		return req->status;
	}
	size_t len = strbuf_len(&rs->body);
	if (len > 0 && api_parse_body(req, strbuf_ptr(&rs->body), len, &body))
		return req->status;
	char err[ERRLEN];
	req->db = pool_get(&h->pool, err, sizeof(err));
	if (!req->db) {
		json_decref(body);
		api_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "database: %s", err);
		return req->status;
	}
	req->body = body;
	req->bodylen = len;
	api_dispatch(rs->route, req);
	req->body = NULL;
	pool_put(&h->pool, req->db);
	req->db = NULL;
	json_decref(body);
	return req->status;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http *h = cls;
	struct reqstate *rs = *con_cls;
	char allow[128] = "";
	(void)version;

	if (!rs && http_guard_over_limit(conn)) {
		struct api_req over = { .close = true };
		api_error(&over, MHD_HTTP_SERVICE_UNAVAILABLE, "too_many_connections",
			  "more than %d connections from your address; close some and retry",
			  h->cfg.http_per_ip_connections);
		http_guard_responding(&h->guard, conn, true);
		return send_req(conn, &over, NULL);
	}
	if (!rs) {
		char why[160];
		if (!http_guard_host_ok(&h->guard, conn, why, sizeof(why))) {
			struct api_req bad = { .close = true };
			api_error(&bad, MHD_HTTP_MISDIRECTED_REQUEST, "misdirected_request", "%s",
				  why);
			http_guard_responding(&h->guard, conn, true);
			return send_req(conn, &bad, NULL);
		}
		/* Dashboard assets need no database and no token. */
		if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) {
			const struct web_asset *a = web_find(url);
			if (a) {
				http_guard_responding(&h->guard, conn, true);
				return send_asset(conn, a);
			}
		}
		rs = calloc(1, sizeof(*rs));
		if (!rs)
			return MHD_NO;
		strbuf_init(&rs->body, (size_t)h->cfg.http_max_body);
		rs->req.ctx = &h->ctx;
		*con_cls = rs;
		if (precheck(h, conn, rs, url, method, allow, sizeof(allow))) {
			http_guard_responding(&h->guard, conn, true);
			return send_req(conn, &rs->req, allow[0] ? allow : NULL);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		append_body(rs, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	http_guard_responding(&h->guard, conn, true);
	run_route(h, rs);
	return send_req(conn, &rs->req, NULL);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	(void)toe;
	http_guard_responding(&h->guard, conn, false);
	struct reqstate *rs = *con_cls;
	if (!rs)
		return;
	json_decref(rs->req.json);
	free(rs->req.text);
	strbuf_free(&rs->body);
	free(rs);
	*con_cls = NULL;
}

/* libmicrohttpd logs one line per broken connection: a flood of them would
 * flood the journal. At most MHD_LOG_BURST lines per 10 s, then a count. */
#define MHD_LOG_BURST 20

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static int64_t window;
	static unsigned lines, dropped;
	(void)cls;
	int64_t now = util_mono_ms();
	unsigned was_dropped = 0;
	bool emit;
	pthread_mutex_lock(&lock);
	if (now - window >= 10000) {
		was_dropped = dropped;
		window = now;
		lines = dropped = 0;
	}
	emit = lines < MHD_LOG_BURST;
	if (emit)
		lines++;
	else
		dropped++;
	pthread_mutex_unlock(&lock);
	if (was_dropped)
		log_warn("http: %u more libmicrohttpd message(s) not logged in the last 10 s",
			 was_dropped);
	if (!emit)
		return;
	char msg[512], esc[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = 0;
	log_warn("http: %s", log_escape(msg, esc, sizeof(esc)));
}

/* ---- readiness warmer ------------------------------------------------- */

#define WARM_PERIOD_S 10

/* Keeps the readiness snapshot built ahead of readers: at start, after every
 * change the server hears of, and before it ages out. */
static void *warmer_main(void *arg)
{
	struct http *h = arg;
	struct api_ctx *c = &h->ctx;
	bool warned = false;
	for (;;) {
		pthread_mutex_lock(&c->lock);
		if (!c->warm_stop && !c->warm_kick) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += WARM_PERIOD_S;
			pthread_cond_timedwait(&c->warm_cond, &c->lock, &ts);
		}
		bool stop = c->warm_stop;
		c->warm_kick = false;
		pthread_mutex_unlock(&c->lock);
		if (stop)
			break;
		char err[ERRLEN];
		struct db *db = pool_get(&h->pool, err, sizeof(err));
		int rc = db ? api_snapshot_refresh(c, db, err, sizeof(err)) : -EIO;
		pool_put(&h->pool, db);
		if (rc && !warned)
			log_warn("http: readiness snapshot: %s", err);
		warned = rc != 0;
	}
	return NULL;
}

/* ---- setup ------------------------------------------------------------ */

struct http *http_new(const struct config *cfg, const char *db_path, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct http *h = calloc(1, sizeof(*h));
	if (!h) {
		util_err(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	h->cfg = *cfg;
	http_guard_init(&h->guard, cfg);
	pthread_mutex_init(&h->pool.lock, NULL);
	pthread_cond_init(&h->pool.cond, NULL);
	h->ctx.cfg = &h->cfg;
	if (api_ctx_init(&h->ctx, cfg->http_public_read)) {
		util_err(err, errlen, -ENOMEM, "out of memory");
		pool_close(&h->pool);
		http_guard_destroy(&h->guard);
		free(h);
		return NULL;
	}
	if (snprintf(h->pool.path, sizeof(h->pool.path), "%s", db_path) >=
	    (int)sizeof(h->pool.path)) {
		util_err(err, errlen, -ENAMETOOLONG, "database path too long");
		goto fail;
	}
	http_url_origin(cfg->http_base_url, h->base_origin, sizeof(h->base_origin));
	{
		char msg[ERRLEN];
		if (config_parse_listen(cfg->http_listen, &ss, &sslen, msg, sizeof(msg))) {
			util_err(err, errlen, -EINVAL, "[http] listen %s", msg);
			goto fail;
		}
	}

	/* Fail now, not on the first request, when the database is unusable. */
	struct db *db = pool_get(&h->pool, err, errlen);
	if (!db)
		goto fail;
	pool_put(&h->pool, db);

	/* poll(), not epoll: libmicrohttpd 0.9.75's edge-triggered epoll loses the
	 * end of stream that arrives with a request's last bytes (a short read
	 * clears "read ready" and no new edge comes), so a client that sends a
	 * partial request and closes stays in CLOSE-WAIT until the timeout.
	 * poll() is level-triggered and sees it at once; each thread polls at
	 * most a quarter of max_connections (+ HTTP_GUARD_CONN_SLACK) sockets. */
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6) {
		/* "[::]:port" listens on IPv4 too; a specific v6 address only on itself */
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)&ss)->sin6_addr;
		flags |= IN6_IS_ADDR_UNSPECIFIED(a6) ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
	}
	if (cfg->http_tls_cert[0]) {
		size_t n;
		int rc = util_read_file(cfg->http_tls_cert, HTTP_TLS_FILE_MAX, &h->tls_cert, &n);
		if (rc == 0)
			rc = config_check_secret_file(cfg->http_tls_key, err, errlen);
		else
			util_err(err, errlen, rc, "[http] tls_cert %s: %s", cfg->http_tls_cert,
				 strerror(-rc));
		if (rc == 0) {
			rc = util_read_file(cfg->http_tls_key, HTTP_TLS_FILE_MAX, &h->tls_key, &n);
			if (rc)
				util_err(err, errlen, rc, "[http] tls_key %s: %s",
					 cfg->http_tls_key, strerror(-rc));
		}
		if (rc)
			goto fail;
		flags |= MHD_USE_TLS;
	}
	struct MHD_OptionItem tls_opts[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key },
		{ MHD_OPTION_END, 0, NULL },
	};
	h->mhd = MHD_start_daemon(flags, 0, http_guard_accept, &h->guard, on_request, h,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_SOCK_ADDR,
				  (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
				  (unsigned)HTTP_THREADS,
				  /* http_guard_accept() refuses or evicts at max_connections; this
				   * is the backstop, never reached while it does */
				  MHD_OPTION_CONNECTION_LIMIT,
				  (unsigned)cfg->http_max_connections + HTTP_GUARD_CONN_SLACK,
				  MHD_OPTION_NOTIFY_CONNECTION, http_guard_notify, &h->guard,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->http_timeout_s,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_ARRAY,
				  h->tls_cert ? tls_opts : tls_opts + 2, MHD_OPTION_END);
	if (!h->mhd) {
		util_err(err, errlen, -EADDRINUSE,
			 "cannot listen on %s (address in use, bad address or bad TLS files)",
			 cfg->http_listen);
		goto fail;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	if (http_guard_start(&h->guard, err, errlen))
		goto fail;
	if (pthread_create(&h->warmer, NULL, warmer_main, h) == 0)
		h->warmer_running = true;
	else
		log_warn("http: no readiness warmer thread; readers build snapshots themselves");
	return h;
fail:
	http_free(h);
	return NULL;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	if (h->warmer_running) {
		pthread_mutex_lock(&h->ctx.lock);
		h->ctx.warm_stop = true;
		pthread_cond_signal(&h->ctx.warm_cond);
		pthread_mutex_unlock(&h->ctx.lock);
		pthread_join(h->warmer, NULL);
	}
	pool_close(&h->pool);
	api_ctx_destroy(&h->ctx);
	http_guard_destroy(&h->guard);
	if (h->tls_key) {
		explicit_bzero(h->tls_key, strlen(h->tls_key));
		free(h->tls_key);
	}
	free(h->tls_cert);
	free(h);
}

int http_port(const struct http *h)
{
	return h->port;
}

void http_set_probe_now(struct http *h, http_probe_now_fn fn, void *ctx)
{
	pthread_mutex_lock(&h->ctx.lock);
	h->ctx.probe_now = fn;
	h->ctx.probe_ctx = ctx;
	pthread_mutex_unlock(&h->ctx.lock);
}

void http_note_scheduler_alive(struct http *h, time_t now)
{
	pthread_mutex_lock(&h->ctx.lock);
	h->ctx.scheduler_seen = now;
	pthread_mutex_unlock(&h->ctx.lock);
}

void http_note_sweep(struct http *h, time_t finished_at)
{
	pthread_mutex_lock(&h->ctx.lock);
	h->ctx.last_sweep = finished_at;
	if (finished_at > h->ctx.scheduler_seen)
		h->ctx.scheduler_seen = finished_at;
	/* no new generation: readers keep the current snapshot while the warmer
	 * rebuilds it if the results changed anything */
	h->ctx.warm_kick = true;
	pthread_cond_signal(&h->ctx.warm_cond);
	pthread_mutex_unlock(&h->ctx.lock);
}
