/* The scheduler's name resolution: resolver threads run getaddrinfo so
 * that DNS never blocks the event loop; names in $PINWATCH_HOSTS_FILE are
 * answered on the loop thread at once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "probe/hostsfile.h"
#include "probe/sched_int.h"

/* Resolve @e into its addresses, or its DNS failure (dns_rc, dns_err). */
static void resolve_one(struct scheduler *s, struct sep *e)
{
	size_t max = (size_t)s->o.max_addresses;
	char derr[200] = "";
	e->naddrs = 0;
	free(e->dns_err);
	e->dns_err = NULL;
	free(e->addrs);
	e->addrs = calloc(max, sizeof(*e->addrs));
	if (!e->addrs)
		e->dns_rc = util_err(derr, sizeof(derr), -ENOMEM, "out of memory");
	else if (s->o.resolve)
		e->dns_rc = s->o.resolve(s->o.resolve_ud, e->host, e->port, e->addrs, max,
					 &e->naddrs, derr, sizeof(derr));
	else
		e->dns_rc = probe_resolve(e->host, e->port, e->addrs, max, &e->naddrs, derr,
					  sizeof(derr));
	if (e->dns_rc != 0)
		e->dns_err = strdup(derr);
}

void *sched_resolver_main(void *arg)
{
	struct scheduler *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->rlock);
		while (!s->rq_head && !s->rstop)
			pthread_cond_wait(&s->rcond, &s->rlock);
		if (s->rstop) {
			pthread_mutex_unlock(&s->rlock);
			return NULL;
		}
		struct sep *e = s->rq_head;
		s->rq_head = e->qnext;
		if (!s->rq_head)
			s->rq_tail = NULL;
		pthread_mutex_unlock(&s->rlock);

		resolve_one(s, e);

		pthread_mutex_lock(&s->rlock);
		e->qnext = s->rdone_head;
		s->rdone_head = e;
		pthread_mutex_unlock(&s->rlock);
		sched_wake(s);
	}
}

void sched_resolve_queue(struct scheduler *s, struct sep *e)
{
	pthread_mutex_lock(&s->rlock);
	e->qnext = NULL;
	if (s->rq_tail)
		s->rq_tail->qnext = e;
	else
		s->rq_head = e;
	s->rq_tail = e;
	pthread_cond_signal(&s->rcond);
	pthread_mutex_unlock(&s->rlock);
}

struct sep *sched_resolve_take(struct scheduler *s)
{
	pthread_mutex_lock(&s->rlock);
	struct sep *list = s->rdone_head;
	s->rdone_head = NULL;
	pthread_mutex_unlock(&s->rlock);
	return list;
}

/* A name in $PINWATCH_HOSTS_FILE is looked up on the loop thread (a binary
 * search): no resolver thread hand-off for it. */
bool sched_resolve_inline(struct scheduler *s, struct sep *e)
{
	char derr[200] = "";
	if (s->o.resolve)
		return false;
	size_t max = (size_t)s->o.max_addresses;
	struct sockaddr_storage ss[16];
	socklen_t lens[16];
	size_t n = 0;
	int h = hostsfile_lookup(e->host, e->port, ss, lens, max < 16 ? max : 16, &n, derr,
				 sizeof(derr));
	if (h == 0)
		return false;
	free(e->addrs);
	free(e->dns_err);
	e->dns_err = NULL;
	e->naddrs = 0;
	e->addrs = calloc(n ? n : 1, sizeof(*e->addrs));
	if (h < 0 || !e->addrs) {
		e->dns_rc = h < 0 ? h : -ENOMEM;
		e->dns_err = strdup(h < 0 ? derr : "out of memory");
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		e->addrs[i].ss = ss[i];
		e->addrs[i].len = lens[i];
	}
	e->naddrs = n;
	e->dns_rc = 0;
	return true;
}
