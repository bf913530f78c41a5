#include "demo/tlsfarm.h"
#include "demo/tlsfarm_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"

#define SLOW_MAX_BYTES 600

/* ---- serving ---- */

static void conn_close(struct conn *c)
{
	struct fthread *th = c->th;
	if (c->s)
		gnutls_deinit(c->s);
	/* Deregister explicitly: close() alone leaves the registration alive while
	 * a forked child (popen in tests, spawned tools) still holds the file, and
	 * a later event would then carry this freed pointer. */
	(void)epoll_ctl(th->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		th->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

static void conn_want(struct conn *c, uint32_t ev)
{
	if (c->events == ev)
		return;
	struct epoll_event e = { .events = ev, .data.ptr = c };
	if (epoll_ctl(c->th->ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

static int post_hello(gnutls_session_t s)
{
	struct conn *c = gnutls_session_get_ptr(s);
	struct tlsfarm *f = c->th->f;
	char name[256];
	size_t len = sizeof(name);
	unsigned type = 0;
	struct endpoint *e = NULL;
	if (gnutls_server_name_get(s, name, &len, &type, 0) == 0 && type == GNUTLS_NAME_DNS)
		e = tlsfarm_ep_find(f, name);
	if (!e)
		e = f->eps[0];
	c->ep = e;
	pthread_mutex_lock(&f->lock);
	int g = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, e->cred);
	pthread_mutex_unlock(&f->lock);
	return g;
}

static void tls_begin(struct conn *c)
{
	struct tlsfarm *f = c->th->f;
	if (gnutls_init(&c->s, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL |
				       GNUTLS_NO_TICKETS) < 0) {
		c->s = NULL;
		conn_close(c);
		return;
	}
	gnutls_session_set_ptr(c->s, c);
	gnutls_priority_set(c->s, f->prio);
	pthread_mutex_lock(&f->lock);
	gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, f->eps[0]->cred);
	pthread_mutex_unlock(&f->lock);
	gnutls_handshake_set_post_client_hello_function(c->s, post_hello);
	gnutls_handshake_set_max_packet_length(c->s, 0); /* huge chains are the point */
	gnutls_transport_set_int(c->s, c->fd);
	c->st = C_TLS;
}

static void tls_step(struct conn *c)
{
	int g;
	do {
		g = gnutls_handshake(c->s);
	} while (g < 0 && g != GNUTLS_E_AGAIN && !gnutls_error_is_fatal(g));
	if (g == 0) {
		atomic_fetch_add(&c->th->f->handshakes, 1);
		conn_close(c);
	} else if (g == GNUTLS_E_AGAIN) {
		conn_want(c, gnutls_record_get_direction(c->s) ? EPOLLOUT : EPOLLIN);
	} else {
		conn_close(c);
	}
}

/* Read what the client sent; -1 on EOF/error (connection closed). */
static int drain(struct conn *c)
{
	char buf[4096];
	for (;;) {
		ssize_t r = read(c->fd, buf, sizeof(buf));
		if (r > 0) {
			c->got_hello = true;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		return -1;
	}
}

static void hostile_io(struct conn *c)
{
	static const char garbage[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
				      "\x00\xff\x13\x37 this is not TLS \x01\x02\x03";
	/* A handshake record header announcing 1000 bytes, then 9 of them. */
	static const uint8_t partial[] = { 0x16, 0x03, 0x03, 0x03, 0xe8, 0x02, 0x00,
					   0x03, 0xe4, 0x03, 0x03, 0xaa, 0xbb, 0xcc };
	if (drain(c) < 0) {
		conn_close(c);
		return;
	}
	if (!c->got_hello)
		return;
	switch (c->st) {
	case C_GARBAGE:
		if (write(c->fd, garbage, sizeof(garbage) - 1) < 0) {
			conn_close(c);
			return;
		}
		c->st = C_DRAIN;
		break;
	case C_CLOSE_MID:
		(void)!write(c->fd, partial, sizeof(partial));
		conn_close(c);
		break;
	case C_SLOW:
		if (!c->wake_ms)
			c->wake_ms = util_mono_ms() + 1000;
		break;
	default:
		break;
	}
}

static void slow_tick(struct conn *c, int64_t now)
{
	static const uint8_t rec[] = { 0x16, 0x03, 0x03, 0x40, 0x00 };
	uint8_t b = c->slow_sent < (int)sizeof(rec) ? rec[c->slow_sent] : 0x42;
	if (c->slow_sent >= SLOW_MAX_BYTES || write(c->fd, &b, 1) != 1) {
		conn_close(c);
		return;
	}
	c->slow_sent++;
	c->wake_ms = now + 1000;
}

static void conn_start(struct conn *c)
{
	switch (c->th->f->o.mode) {
	case TLSFARM_TLS:
		tls_begin(c);
		return;
	case TLSFARM_SILENT:
		c->st = C_SILENT;
		break;
	case TLSFARM_GARBAGE:
		c->st = C_GARBAGE;
		break;
	case TLSFARM_CLOSE_MID:
		c->st = C_CLOSE_MID;
		break;
	case TLSFARM_SLOW:
		c->st = C_SLOW;
		break;
	}
	hostile_io(c);
}

static void conn_io(struct conn *c)
{
	switch (c->st) {
	case C_DELAY:
		break; /* the client's bytes wait until the delay passes */
	case C_TLS:
		tls_step(c);
		break;
	default:
		hostile_io(c);
		break;
	}
}

static void accept_all(struct fthread *th)
{
	for (;;) {
		int fd = accept4(th->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->th = th;
		c->events = EPOLLIN;
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(th->ep, EPOLL_CTL_ADD, fd, &e) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = th->conns;
		if (th->conns)
			th->conns->prev = c;
		th->conns = c;
		int delay = atomic_load(&th->f->delay_ms);
		if (delay > 0) {
			c->st = C_DELAY;
			c->wake_ms = util_mono_ms() + delay;
		} else {
			conn_start(c);
		}
	}
}

static void *thread_main(void *arg)
{
	struct fthread *th = arg;
	struct epoll_event evs[256];
	while (!atomic_load(&th->f->stop)) {
		int64_t now = util_mono_ms(), next = now + 1000;
		for (struct conn *c = th->conns; c; c = c->next)
			if (c->wake_ms && c->wake_ms < next)
				next = c->wake_ms;
		int n = epoll_wait(th->ep, evs, 256, (int)(next > now ? next - now : 0));
		for (int i = 0; i < n; i++) {
			void *ptr = evs[i].data.ptr;
			if (ptr == &th->lfd)
				accept_all(th);
			else if (ptr == &th->evfd)
				break;
			else
				conn_io(ptr);
		}
		now = util_mono_ms();
		for (struct conn *c = th->conns, *nx; c; c = nx) {
			nx = c->next;
			if (!c->wake_ms || c->wake_ms > now)
				continue;
			if (c->st == C_DELAY) {
				c->wake_ms = 0;
				conn_start(c);
			} else if (c->st == C_SLOW) {
				slow_tick(c, now);
			}
		}
	}
	while (th->conns)
		conn_close(th->conns);
	return NULL;
}

static int listen_socket(struct tlsfarm *f, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, f->address, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(f->port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, f->address, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(f->port);
		sl = sizeof(*s6);
	} else {
		return util_err(err, errlen, -EINVAL, "%s: not a numeric address", f->address);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0)
		return util_err(err, errlen, -errno, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 4096) < 0) {
		int e = errno;
		close(fd);
		return util_err(err, errlen, -e, "listen on %s:%u: %s", f->address, f->port,
				strerror(e));
	}
	if (f->port == 0) {
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
			f->port = ntohs(ss.ss_family == AF_INET6 ? s6->sin6_port : s4->sin_port);
	}
	return fd;
}

struct tlsfarm *tlsfarm_new(struct tlsfarm_pki *pki, const struct tlsfarm_opts *opts, char *err,
			    size_t errlen)
{
	struct tlsfarm *f = calloc(1, sizeof(*f));
	if (!f) {
		util_err(err, errlen, 0, "out of memory");
		return NULL;
	}
	f->pki = pki;
	if (opts)
		f->o = *opts;
	snprintf(f->address, sizeof(f->address), "%s", f->o.address ? f->o.address : "127.0.0.1");
	f->port = f->o.port;
	f->nth = f->o.threads > 0 ? f->o.threads : 1;
	atomic_init(&f->delay_ms, f->o.delay_ms);
	pthread_mutex_init(&f->lock, NULL);
	if (gnutls_priority_init(&f->prio, "NORMAL", NULL) < 0) {
		util_err(err, errlen, 0, "priority init failed");
		goto fail;
	}
	f->th = calloc((size_t)f->nth, sizeof(*f->th));
	if (!f->th) {
		util_err(err, errlen, 0, "out of memory");
		goto fail;
	}
	for (int i = 0; i < f->nth; i++)
		f->th[i].ep = f->th[i].evfd = f->th[i].lfd = -1;
	for (int i = 0; i < f->nth; i++) {
		struct fthread *th = &f->th[i];
		th->f = f;
		th->lfd = listen_socket(f, err, errlen);
		if (th->lfd < 0)
			goto fail;
	}
	return f;
fail:
	tlsfarm_free(f);
	return NULL;
}

int tlsfarm_start(struct tlsfarm *f)
{
	if ((f->neps == 0 && f->o.mode == TLSFARM_TLS) || f->sorted)
		return -EINVAL;
	if (f->neps)
		qsort(f->eps, f->neps, sizeof(*f->eps), tlsfarm_ep_cmp);
	f->sorted = true;
	for (int i = 0; i < f->nth; i++) {
		struct fthread *th = &f->th[i];
		th->ep = epoll_create1(EPOLL_CLOEXEC);
		th->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (th->ep < 0 || th->evfd < 0)
			return -errno;
		struct epoll_event e1 = { .events = EPOLLIN, .data.ptr = &th->lfd };
		struct epoll_event e2 = { .events = EPOLLIN, .data.ptr = &th->evfd };
		if (epoll_ctl(th->ep, EPOLL_CTL_ADD, th->lfd, &e1) < 0 ||
		    epoll_ctl(th->ep, EPOLL_CTL_ADD, th->evfd, &e2) < 0)
			return -errno;
		int e = pthread_create(&th->tid, NULL, thread_main, th);
		if (e)
			return -e;
		th->started = true;
	}
	return 0;
}

void tlsfarm_set_delay(struct tlsfarm *f, int delay_ms)
{
	atomic_store(&f->delay_ms, delay_ms > 0 ? delay_ms : 0);
}

uint16_t tlsfarm_port(const struct tlsfarm *f)
{
	return f->port;
}

uint64_t tlsfarm_handshakes(const struct tlsfarm *f)
{
	return atomic_load(&f->handshakes);
}

void tlsfarm_free(struct tlsfarm *f)
{
	if (!f)
		return;
	atomic_store(&f->stop, true);
	for (int i = 0; f->th && i < f->nth; i++) {
		struct fthread *th = &f->th[i];
		if (th->started) {
			uint64_t one = 1;
			(void)!write(th->evfd, &one, sizeof(one));
			pthread_join(th->tid, NULL);
		}
		if (th->ep >= 0)
			close(th->ep);
		if (th->evfd >= 0)
			close(th->evfd);
		if (th->lfd >= 0)
			close(th->lfd);
	}
	free(f->th);
	for (size_t i = 0; i < f->neps; i++) {
		tlsfarm_endpoint_free_certs(f->eps[i]);
		tlsfarm_endpoint_free_long(f->eps[i]);
		gnutls_certificate_free_credentials(f->eps[i]->cred);
		free(f->eps[i]);
	}
	free(f->eps);
	for (size_t i = 0; i < f->nretired; i++)
		gnutls_certificate_free_credentials(f->retired[i]);
	free(f->retired);
	for (size_t i = 0; f->have_many && i < FILLERS_MANY; i++)
		gnutls_x509_crt_deinit(f->fill_many[i]);
	for (size_t i = 0; f->have_huge && i < FILLERS_HUGE; i++)
		gnutls_x509_crt_deinit(f->fill_huge[i]);
	if (f->fill_key)
		gnutls_x509_privkey_deinit(f->fill_key);
	if (f->dual_key)
		gnutls_x509_privkey_deinit(f->dual_key);
	if (f->prio)
		gnutls_priority_deinit(f->prio);
	pthread_mutex_destroy(&f->lock);
	free(f);
}
