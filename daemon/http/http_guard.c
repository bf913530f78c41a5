/* The HTTP server's door: per-address and total connection counts, the
 * accept policy, the request deadline, the Host names (http_guard.h). */
#include "http/http_guard.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "http/http.h"

/* Under pressure only a request that has been arriving this long may be evicted. */
#define EVICT_MIN_AGE_MS 1000
#define REAPER_TICK_MS	 200

struct guard_peer {
	struct guard_peer *next;
	uint8_t addr[17]; /* family byte + up to 16 address bytes */
	unsigned count;
};

/* One accepted connection (libmicrohttpd's socket context). */
struct guard_conn {
	struct guard_conn *prev, *next; /* every live connection, oldest first */
	struct guard_peer *node;
	int fd;
	int64_t req_start_ms; /* accept, or end of the previous response */
	bool responding;      /* the request is complete: answering it */
	bool reaped;	      /* shut down by the deadline or by eviction */
	bool over;	      /* opened while the address was at its limit */
};

void http_guard_init(struct http_guard *g, const struct config *cfg)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->max_connections = cfg->http_max_connections;
	g->per_ip = cfg->http_per_ip_connections;
	g->timeout_s = cfg->http_timeout_s;
	http_url_host(cfg->http_base_url, g->base_host, sizeof(g->base_host));
	/* "HOST:PORT" or "[V6]:PORT"; an empty host means every address */
	const char *lc = strrchr(cfg->http_listen, ':');
	if (!lc || !http_authority_host(cfg->http_listen, (size_t)(lc - cfg->http_listen),
					g->listen_host, sizeof(g->listen_host)))
		g->listen_host[0] = 0;
}

/* ---- per-address connection counts, deadlines, eviction --------------- */

/* IPv4 by address, IPv6 by /64 (one host or LAN usually owns a whole /64),
 * IPv4-mapped IPv6 as the IPv4 address it is. */
static bool addr_key(const struct sockaddr *sa, uint8_t key[17])
{
	memset(key, 0, 17);
	if (sa && sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa && sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			key[0] = 4;
			memcpy(key + 1, a6->s6_addr + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a6->s6_addr, 8);
		}
		return true;
	}
	return false;
}

static struct guard_peer **perip_bucket(struct http_guard *g, const uint8_t key[17])
{
	unsigned hsh = 2166136261u;
	for (int i = 0; i < 17; i++)
		hsh = (hsh ^ key[i]) * 16777619u;
	return &g->perip[hsh % HTTP_GUARD_BUCKETS];
}

static struct guard_peer *perip_find(struct http_guard *g, const uint8_t key[17])
{
	struct guard_peer *n = *perip_bucket(g, key);
	while (n && memcmp(n->addr, key, 17) != 0)
		n = n->next;
	return n;
}

/* Shut a connection's socket down: libmicrohttpd sees the end of the stream
 * on its next poll and closes the connection itself (it still owns the fd,
 * which stays open until after its CLOSED notification, where we forget it). */
static void conn_kill(struct guard_conn *t)
{
	t->reaped = true;
	if (t->fd >= 0)
		shutdown(t->fd, SHUT_RDWR);
}

static void log_refusals_locked(struct http_guard *g, int64_t now_ms)
{
	if (g->refused == g->refused_logged || now_ms - g->refused_log_ms < 10000)
		return;
	log_warn("http: %llu connection(s) refused at accept in the last %llds (over "
		 "max_connections %d or per_ip_connections %d + %d per address, IPv6 by /64); "
		 "%llu evicted, %llu past the request deadline so far",
		 (unsigned long long)(g->refused - g->refused_logged),
		 (long long)(g->refused_log_ms ? (now_ms - g->refused_log_ms) / 1000 : 0),
		 g->max_connections, g->per_ip, HTTP_GUARD_PERIP_SLACK,
		 (unsigned long long)g->evicted, (unsigned long long)g->reaped);
	g->refused_logged = g->refused;
	g->refused_log_ms = now_ms;
}

/* Accept policy, called right after accept(): refuse (close at once) a
 * connection over the per-address limit; at max_connections evict the
 * connection whose request has been arriving longest (a slow or stalled
 * client: a complete request is answered at once), else refuse. Either way a
 * flood is turned away instead of queueing in the kernel's backlog. */
enum MHD_Result http_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http_guard *g = cls;
	uint8_t key[17];
	enum MHD_Result ok = MHD_YES;
	(void)addrlen;
	int64_t now = util_mono_ms();
	pthread_mutex_lock(&g->lock);
	const struct guard_peer *n = addr_key(addr, key) ? perip_find(g, key) : NULL;
	if (n && n->count >= (unsigned)g->per_ip + HTTP_GUARD_PERIP_SLACK) {
		ok = MHD_NO;
	} else if (g->nconns >= (unsigned)g->max_connections) {
		struct guard_conn *victim = NULL;
		for (struct guard_conn *t = g->head; t; t = t->next) {
			if (t->responding || t->reaped || now - t->req_start_ms < EVICT_MIN_AGE_MS)
				continue;
			if (!victim || t->req_start_ms < victim->req_start_ms)
				victim = t;
		}
		if (victim) {
			conn_kill(victim);
			g->evicted++;
		} else {
			ok = MHD_NO;
		}
	}
	if (ok == MHD_NO) {
		g->refused++;
		log_refusals_locked(g, now);
	}
	pthread_mutex_unlock(&g->lock);
	return ok;
}

void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode toe)
{
	struct http_guard *g = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		const union MHD_ConnectionInfo *fi =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		uint8_t key[17];
		struct guard_conn *t = calloc(1, sizeof(*t));
		*socket_context = t;
		if (!t)
			return;
		t->fd = fi ? fi->connect_fd : -1;
		t->req_start_ms = util_mono_ms();
		bool keyed = ci && addr_key(ci->client_addr, key);
		pthread_mutex_lock(&g->lock);
		t->prev = g->tail;
		if (g->tail)
			g->tail->next = t;
		else
			g->head = t;
		g->tail = t;
		g->nconns++;
		struct guard_peer *n = keyed ? perip_find(g, key) : NULL;
		if (keyed && !n && (n = calloc(1, sizeof(*n)))) {
			struct guard_peer **b = perip_bucket(g, key);
			memcpy(n->addr, key, sizeof(key));
			n->next = *b;
			*b = n;
		}
		if (n) {
			n->count++;
			t->node = n;
			t->over = n->count > (unsigned)g->per_ip;
		}
		pthread_mutex_unlock(&g->lock);
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct guard_conn *t = *socket_context;
		*socket_context = NULL;
		if (!t)
			return;
		pthread_mutex_lock(&g->lock);
		if (t->prev)
			t->prev->next = t->next;
		else
			g->head = t->next;
		if (t->next)
			t->next->prev = t->prev;
		else
			g->tail = t->prev;
		g->nconns--;
		if (t->node && --t->node->count == 0) {
			struct guard_peer **pp = perip_bucket(g, t->node->addr);
			while (*pp && *pp != t->node)
				pp = &(*pp)->next;
			if (*pp) {
				*pp = t->node->next;
				free(t->node);
			}
		}
		pthread_mutex_unlock(&g->lock);
		free(t);
	}
}

static struct guard_conn *conn_track_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

bool http_guard_over_limit(struct MHD_Connection *conn)
{
	const struct guard_conn *t = conn_track_of(conn);
	return t && t->over;
}

/* The request on @conn is complete (@responding) or answered (!@responding:
 * the next request's deadline starts now). */
void http_guard_responding(struct http_guard *g, struct MHD_Connection *conn, bool responding)
{
	struct guard_conn *t = conn_track_of(conn);
	if (!t)
		return;
	pthread_mutex_lock(&g->lock);
	t->responding = responding;
	if (!responding)
		t->req_start_ms = util_mono_ms();
	pthread_mutex_unlock(&g->lock);
}

/* libmicrohttpd's [http] timeout is an idle timeout: a byte every few seconds
 * keeps a connection forever. This thread gives every request an absolute
 * deadline instead: headers and body must have arrived [http] timeout seconds
 * after the connection opened or the previous response ended. */
static void *reaper_main(void *arg)
{
	struct http_guard *g = arg;
	int64_t deadline = (int64_t)g->timeout_s * 1000;
	pthread_mutex_lock(&g->lock);
	while (!g->reaper_stop) {
		struct timespec ts;
		util_deadline_in(&ts, CLOCK_REALTIME, REAPER_TICK_MS);
		pthread_cond_timedwait(&g->cond, &g->lock, &ts);
		int64_t now = util_mono_ms();
		for (struct guard_conn *t = g->head; t; t = t->next) {
			if (!t->responding && !t->reaped && now - t->req_start_ms > deadline) {
				conn_kill(t);
				g->reaped++;
			}
		}
		log_refusals_locked(g, now);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

bool http_authority_host(const char *a, size_t alen, char *out, size_t outlen)
{
	const char *start = a, *end = a + alen;
	if (alen && a[0] == '[') {
		const char *rb = memchr(a, ']', alen);
		if (!rb)
			return false;
		start = a + 1;
		end = rb;
	} else {
		const char *c = memchr(a, ':', alen);
		if (c && !memchr(c + 1, ':', (size_t)(end - c - 1)))
			end = c;
	}
	size_t n = (size_t)(end - start);
	if (n && start[n - 1] == '.')
		n--;
	if (n == 0 || n >= outlen)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = start[i];
		if ((unsigned char)c <= ' ' || c == '/' || c == '@' || c == 0x7f)
			return false;
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[n] = 0;
	return true;
}

/* @url's scheme, host and port (NULL: none named) by libcurl's URL API;
 * false when it is not an absolute URL. Free with curl_free(). */
static bool url_parts(const char *url, char **scheme, char **host, char **port)
{
	*scheme = *host = *port = NULL;
	CURLU *u = curl_url();
	bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		  curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
		  curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK;
	if (ok && curl_url_get(u, CURLUPART_PORT, port, 0) != CURLUE_OK)
		*port = NULL;
	curl_url_cleanup(u);
	return ok;
}

void http_url_host(const char *url, char *out, size_t outlen)
{
	char *scheme, *host, *port;
	out[0] = 0;
	if (url_parts(url, &scheme, &host, &port) &&
	    !http_authority_host(host, strlen(host), out, outlen))
		out[0] = 0;
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
}

void http_url_origin(const char *url, char *out, size_t outlen)
{
	char *scheme, *host, *port;
	out[0] = 0;
	if (url_parts(url, &scheme, &host, &port)) {
		int n = snprintf(out, outlen, "%s://%s%s%s", scheme, host, port ? ":" : "",
				 port ? port : "");
		if (n < 0 || (size_t)n >= outlen)
			out[0] = 0;
		for (char *p = out; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
}

/* Is @host (as http_authority_host() gives it) a name this server answers to?
 * localhost, the host of [http] listen and of [http] base_url, the loopback
 * addresses, and the address the connection arrived on. A page whose DNS name
 * was rebound to this server carries its own name, which is none of these. */
bool http_guard_host_allowed(const struct http_guard *g, struct MHD_Connection *conn,
			     const char *host)
{
	if (!strcmp(host, "localhost") || !strcmp(host, "127.0.0.1") || !strcmp(host, "::1"))
		return true;
	if ((g->listen_host[0] && !strcmp(host, g->listen_host)) ||
	    (g->base_host[0] && !strcmp(host, g->base_host)))
		return true;
	unsigned char want[16];
	int fam = inet_pton(AF_INET, host, want) == 1	 ? AF_INET
		  : inet_pton(AF_INET6, host, want) == 1 ? AF_INET6
							 : 0;
	const union MHD_ConnectionInfo *fi =
		fam ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD) : NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (!fi || getsockname(fi->connect_fd, (struct sockaddr *)&ss, &sl) < 0)
		return false;
	if (ss.ss_family == AF_INET)
		return fam == AF_INET && !memcmp(&((struct sockaddr_in *)&ss)->sin_addr, want, 4);
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		if (fam == AF_INET6)
			return !memcmp(a6->s6_addr, want, 16);
		return IN6_IS_ADDR_V4MAPPED(a6) && !memcmp(a6->s6_addr + 12, want, 4);
	}
	return false;
}

/* Every request: the Host header, when there is one, names this server. A
 * request without Host (HTTP/1.0, or a raw client: libmicrohttpd 0.9.75 does
 * not insist) passes: no browser sends one, so no rebound page can. */
bool http_guard_host_ok(const struct http_guard *g, struct MHD_Connection *conn, char *why,
			size_t whylen)
{
	const char *hv = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
	char host[256];
	if (!hv)
		return true;
	if (http_authority_host(hv, strlen(hv), host, sizeof(host)) &&
	    http_guard_host_allowed(g, conn, host))
		return true;
	util_err(why, whylen, 0,
		 "Host '%.64s' is not a name of this server (localhost, the [http] listen "
		 "address or the [http] base_url host)",
		 hv);
	return false;
}

int http_guard_start(struct http_guard *g, char *err, size_t errlen)
{
	int rc = pthread_create(&g->reaper, NULL, reaper_main, g);
	if (rc)
		return util_err(err, errlen, -rc, "cannot start the HTTP deadline thread: %s",
				strerror(rc));
	g->reaper_running = true;
	return 0;
}

void http_guard_destroy(struct http_guard *g)
{
	if (g->reaper_running) {
		pthread_mutex_lock(&g->lock);
		g->reaper_stop = true;
		pthread_cond_signal(&g->cond);
		pthread_mutex_unlock(&g->lock);
		pthread_join(g->reaper, NULL);
		g->reaper_running = false;
	}
	for (size_t i = 0; i < HTTP_GUARD_BUCKETS; i++) {
		while (g->perip[i]) {
			struct guard_peer *n = g->perip[i];
			g->perip[i] = n->next;
			free(n);
		}
	}
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}
