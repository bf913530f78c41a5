/* The scheduler's event loop: which endpoints are due, the passes of
 * scheduler_run, and up to `concurrency` probes driven by epoll. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/array.h"
#include "base/log.h"
#include "base/util.h"
#include "model/outcome.h"
#include "probe/sched_int.h"
#include "store/observations.h"

void sched_wake(struct scheduler *s)
{
	uint64_t one = 1;
	(void)!write(s->evfd, &one, sizeof(one));
}

bool sched_busy(const struct scheduler *s)
{
	return s->running > 0 || s->resolving > 0;
}

/* ---- endpoints ---- */

static time_t jittered(struct scheduler *s, time_t now, int64_t interval)
{
	int64_t j = interval * s->o.jitter_pct / 100;
	int64_t off = j > 0 ? (int64_t)(rand_r(&s->rnd) % (unsigned)(2 * j + 1)) - j : 0;
	int64_t next = now + interval + off;
	return (time_t)(next > now ? next : now + 1);
}

static struct sep *find_ep(struct scheduler *s, int64_t id)
{
	for (size_t i = 0; i < s->neps; i++)
		if (s->eps[i]->id == id)
			return s->eps[i];
	return NULL;
}

void sched_ep_free(struct sep *e)
{
	free(e->got);
	free(e->vjobs);
	free(e->addrs);
	free(e->host);
	free(e->sni);
	free(e->dns_err);
	free(e);
}

/* Under scheduler_run a sweep is a pass: it opens with every enabled
 * endpoint as a member (when the run starts, when the previous pass closes,
 * or when the first endpoint appears) and closes once each member still
 * enabled has completed a probe that started after the pass opened.
 * Endpoints added meanwhile join the next pass. Its duration is therefore
 * paced by the probe intervals (about the longest one), not by probing speed. */
void sched_pass_begin(struct scheduler *s)
{
	s->pass_no++;
	s->pass_left = s->pass_done = 0;
	s->pass_t0 = util_mono_ms();
	s->pass_probes = 0;
	for (size_t i = 0; i < s->neps; i++) {
		struct sep *e = s->eps[i];
		e->in_pass = !e->removed;
		s->pass_left += e->in_pass;
	}
}

/* A member of the pass was probed (@probed) or left the inventory; true if it was a member. */
static bool pass_leave(struct scheduler *s, struct sep *e, bool probed)
{
	if (!s->pass_mode || !e->in_pass)
		return false;
	e->in_pass = false;
	s->pass_done += probed;
	s->pass_left--;
	return true;
}

/* Close the pass once no member is left and open the next one. */
static void pass_check(struct scheduler *s)
{
	if (!s->pass_mode || s->pass_left > 0)
		return;
	struct witem *it = s->pass_done > 0 ? calloc(1, sizeof(*it)) : NULL;
	if (it) {
		/* Counted by the writer after the pass's results are committed. */
		it->kind = W_PASS_END;
		it->pass_secs = (double)(util_mono_ms() - s->pass_t0) / 1000.0;
		it->pass_probes = s->pass_probes;
		log_debug("sweep pass %llu: %zu endpoints, %lld probes in %.1f s",
			  (unsigned long long)s->pass_no, s->pass_done, (long long)it->pass_probes,
			  it->pass_secs);
		sched_writer_push(s, it);
	}
	sched_pass_begin(s);
}

/* A new endpoint (@row) resumes from next_probe_at, else last_probe_at +
 * interval, else at a random second of the first minute. */
static struct sep *ep_add(struct scheduler *s, const struct schedule_endpoint *row, time_t now)
{
	struct sep *n = calloc(1, sizeof(*n));
	if (!n || ARRAY_RESERVE(s->eps, s->epscap, s->neps + 1, ARRAY_MAX_ITEMS)) {
		free(n);
		return NULL;
	}
	s->eps[s->neps++] = n;
	n->id = row->id;
	if (row->has_next_probe)
		n->next_due = row->next_probe_at;
	else if (row->has_last_probe)
		n->next_due = (time_t)(row->last_probe_at + row->interval_s);
	else
		n->next_due = now + (time_t)(rand_r(&s->rnd) % 60);
	if (row->has_discovered)
		n->discover_due = (time_t)(row->discovered_at + s->o.discover_interval_s);
	return n;
}

/* Replace *@field by a copy of @v unless equal; false when out of memory. */
static bool set_name(char **field, const char *v)
{
	if (*field && strcmp(*field, v) == 0)
		return true;
	free(*field);
	*field = strdup(v);
	return *field != NULL;
}

struct load_ctx {
	struct scheduler *s;
	time_t now;
};

/* schedule_endpoints(): one enabled endpoint. */
static int load_one(void *ud, const struct schedule_endpoint *row, char *err, size_t errlen)
{
	struct load_ctx *c = ud;
	struct scheduler *s = c->s;
	struct sep *e = find_ep(s, row->id);
	if (!e) {
		if (!(e = ep_add(s, row, c->now)))
			return util_err(err, errlen, -ENOMEM, "out of memory");
	} else if (!row->has_discovered && e->st == E_IDLE) {
		e->discover_due = 0; /* reset (a chain change): discover at once */
	}
	e->removed = false;
	/* A busy endpoint's names are in use by a resolver or probe: the
	 * change applies at the next reload. */
	if (e->st != E_IDLE && e->host && e->sni)
		return 0;
	bool host_ok = set_name(&e->host, row->host);
	if (!set_name(&e->sni, row->sni) || !host_ok)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	e->port = row->port;
	e->interval_s = row->interval_s < 10 ? 10 : row->interval_s;
	return 0;
}

int sched_load_endpoints(struct scheduler *s, char *err, size_t errlen)
{
	struct load_ctx c = { .s = s, .now = util_now() };
	for (size_t i = 0; i < s->neps; i++)
		s->eps[i]->removed = true;
	int rc = schedule_endpoints(s->rdb, load_one, &c, err, errlen);
	if (rc)
		return rc;
	/* Free removed endpoints that are idle (busy ones go when they finish). */
	size_t w = 0;
	for (size_t i = 0; i < s->neps; i++) {
		if (s->eps[i]->removed && s->eps[i]->st == E_IDLE) {
			pass_leave(s, s->eps[i], false);
			sched_ep_free(s->eps[i]);
		} else
			s->eps[w++] = s->eps[i];
	}
	s->neps = w;
	/* Removed members may close the pass; an empty inventory's first
	 * endpoints open one. */
	pass_check(s);
	return 0;
}

static void due_push(struct scheduler *s, struct sep *e)
{
	e->st = E_QUEUED;
	e->started_pass = s->pass_no;
	e->qnext = NULL;
	if (s->due_tail)
		s->due_tail->qnext = e;
	else
		s->due_head = e;
	s->due_tail = e;
}

static void ready_push(struct scheduler *s, struct sep *e)
{
	e->qnext = NULL;
	if (s->ready_tail)
		s->ready_tail->qnext = e;
	else
		s->ready_head = e;
	s->ready_tail = e;
}

int64_t sched_scan_due(struct scheduler *s, time_t now)
{
	int64_t next = RELOAD_EVERY_MS;
	for (size_t i = 0; i < s->neps; i++) {
		struct sep *e = s->eps[i];
		if (e->st != E_IDLE || e->removed || !e->host || !e->sni ||
		    (s->sweep_mode && e->swept))
			continue;
		if (s->sweep_mode || e->probe_now || e->next_due <= now) {
			e->probe_now = false;
			due_push(s, e);
		} else if ((e->next_due - now) * 1000 < next) {
			next = (e->next_due - now) * 1000;
		}
	}
	return next;
}

/* Probes of the current phase of a round: every address once; then, when
 * discovering, the discovery probes round_done() chose. */
static size_t ep_jobs(const struct sep *e)
{
	return e->phase2 ? e->nvjobs : e->naddrs;
}

/* Whether the round starting now discovers (sweeps: as sched_opts.sweep_discover says). */
static bool discovery_due(const struct scheduler *s, const struct sep *e, time_t now)
{
	if (s->o.discover_interval_s <= 0 && !(s->sweep_mode && s->o.sweep_discover > 0))
		return false;
	if (s->sweep_mode && s->o.sweep_discover != 0)
		return s->o.sweep_discover > 0;
	return e->discover_due <= now;
}

static void endpoint_done(struct scheduler *s, struct sep *e)
{
	time_t now = util_now();
	bool discovered = e->discovering;
	e->st = E_IDLE;
	e->discovering = false;
	e->phase2 = false;
	free(e->got);
	free(e->vjobs);
	e->got = NULL;
	e->vjobs = NULL;
	e->nvjobs = 0;
	if (discovered)
		e->discover_due =
			now + (s->o.discover_interval_s > 0 ? s->o.discover_interval_s : 6 * 3600);
	free(e->addrs);
	e->addrs = NULL;
	free(e->dns_err);
	e->dns_err = NULL;
	e->naddrs = e->next_addr = 0;
	e->next_due = jittered(s, now, e->interval_s);
	pthread_mutex_lock(&s->tlock);
	s->total.endpoints++;
	pthread_mutex_unlock(&s->tlock);
	struct witem *it = calloc(1, sizeof(*it));
	if (it) {
		it->kind = W_PROBED;
		it->endpoint_id = e->id;
		it->last = now;
		it->next = e->next_due;
		it->discovered = discovered ? now : 0;
		sched_writer_push(s, it);
	}
	if (s->sweep_mode) {
		e->swept = true;
		if (s->sweep_left)
			s->sweep_left--;
	}
	if (e->started_pass == s->pass_no && pass_leave(s, e, true))
		pass_check(s);
}

/* Hand a result to the writer. A completed handshake's chain is examined
 * there (probe_result_complete()), off the event loop, and counted then. */
static void push_result(struct scheduler *s, struct sep *e, struct probe_result *r)
{
	if (r->variant == PROBE_VARIANT_DEFAULT)
		s->pass_probes++;
	if (!r->pending)
		sched_probe_counted(s, r);
	struct witem *it = calloc(1, sizeof(*it));
	if (!it) {
		probe_result_clear(r);
		return;
	}
	it->kind = W_RESULT;
	it->endpoint_id = e->id;
	it->discovering = e->discovering;
	it->r = *r;
	memset(r, 0, sizeof(*r));
	sched_writer_push(s, it);
}

/* A result without a probe (DNS failure, out of memory): outcome @o with @reason. */
static void set_failure(struct probe_result *r, enum probe_outcome o, const char *reason)
{
	if (probe_outcome_format(r->outcome, sizeof(r->outcome), o, reason) != 0)
		r->outcome[0] = '\0'; /* stored as "unknown" */
	r->at = util_now();
}

/* ---- probes ---- */

static void slot_unlink(struct scheduler *s, struct slot *sl)
{
	if (sl->prev)
		sl->prev->next = sl->next;
	else
		s->fl_head = sl->next;
	if (sl->next)
		sl->next->prev = sl->prev;
	else
		s->fl_tail = sl->prev;
	sl->prev = sl->next = NULL;
}

/* Every probe of the current phase finished. A discovering round then
 * probes each address offering only the algorithms of the key its normal
 * probe did NOT get: a server that answered an offer listing both kinds
 * with an ECDSA (RSA) certificate answers an ECDSA-only (RSA-only) offer
 * with the same one, which the writer records for that variant from the
 * normal result (one handshake fewer per address). */
static void round_done(struct scheduler *s, struct sep *e)
{
	if (!e->discovering || e->phase2 || !e->got) {
		endpoint_done(s, e);
		return;
	}
	e->vjobs = calloc(e->naddrs * 2 + 1, sizeof(*e->vjobs));
	for (size_t i = 0; e->vjobs && i < e->naddrs && i < 16384; i++) {
		uint8_t g = e->got[i];
		if (g == GOT_NOTHING)
			continue;
		if (g != PROBE_VARIANT_ECDSA)
			e->vjobs[e->nvjobs++] = (uint16_t)(i << 2 | PROBE_VARIANT_ECDSA);
		if (g != PROBE_VARIANT_RSA)
			e->vjobs[e->nvjobs++] = (uint16_t)(i << 2 | PROBE_VARIANT_RSA);
	}
	if (e->nvjobs == 0) {
		endpoint_done(s, e);
		return;
	}
	e->phase2 = true;
	e->next_addr = 0;
	ready_push(s, e);
}

/* Slot @sl is free again; its endpoint's round may be over. */
static void slot_release(struct scheduler *s, struct slot *sl, struct sep *e)
{
	slot_unlink(s, sl);
	sl->next = s->free_slots;
	s->free_slots = sl;
	s->running--;
	if (--e->pending == 0 && e->next_addr >= ep_jobs(e))
		round_done(s, e);
}

static void probe_finished(struct scheduler *s, struct slot *sl)
{
	struct sep *e = sl->ep;
	struct probe_result *r = probe_result(sl->p);
	if (e->discovering && !e->phase2 && e->got && sl->job < e->naddrs)
		e->got[sl->job] =
			(r->handshake_ok || r->pending) ? (uint8_t)r->key_variant : GOT_NOTHING;
	push_result(s, e, r);
	probe_free(sl->p); /* closes the fd: epoll forgets it */
	sl->p = NULL;
	sl->ep = NULL;
	slot_release(s, sl, e);
}

static void probe_watch(struct scheduler *s, struct slot *sl, int op)
{
	struct epoll_event ev = { .events = (sl->events & POLLOUT) ? EPOLLOUT : EPOLLIN,
				  .data.ptr = sl };
	if (epoll_ctl(s->ep, op, probe_fd(sl->p), &ev) < 0) {
		probe_cancel(sl->p, "epoll_ctl failed");
	}
}

static void start_probe(struct scheduler *s, struct sep *e)
{
	struct slot *sl = s->free_slots;
	s->free_slots = sl->next;
	size_t job = e->next_addr++;
	const struct probe_addr *a = &e->addrs[e->phase2 ? e->vjobs[job] >> 2 : job];
	enum probe_variant variant =
		e->phase2 ? (enum probe_variant)(e->vjobs[job] & 3) : PROBE_VARIANT_DEFAULT;
	sl->ep = e;
	sl->job = job;
	sl->p = probe_new_variant(s->pctx, (const struct sockaddr *)&a->ss, a->len, e->sni,
				  s->o.timeout_ms, variant);
	sl->prev = sl->next = NULL;
	s->running++;
	e->pending++;
	/* In-flight list in start order = deadline order (one timeout for all). */
	sl->prev = s->fl_tail;
	if (s->fl_tail)
		s->fl_tail->next = sl;
	else
		s->fl_head = sl;
	s->fl_tail = sl;
	if (!sl->p) {
		/* Out of memory: record it as a failure of this address. */
		struct probe_result r = { 0 };
		probe_addr_str((const struct sockaddr *)&a->ss, r.address, sizeof(r.address));
		set_failure(&r, PROBE_OUTCOME_TLS_ERROR, "out_of_memory");
		r.variant = variant;
		if (e->discovering && !e->phase2 && e->got && job < e->naddrs)
			e->got[job] = GOT_NOTHING;
		push_result(s, e, &r);
		slot_release(s, sl, e);
		return;
	}
	sl->deadline = probe_deadline_ms(sl->p);
	sl->generation = probe_generation(sl->p);
	if (probe_done(sl->p)) {
		probe_finished(s, sl);
		return;
	}
	sl->events = probe_events(sl->p);
	probe_watch(s, sl, EPOLL_CTL_ADD);
	if (probe_done(sl->p))
		probe_finished(s, sl);
}

static void step_slot(struct scheduler *s, struct slot *sl, int64_t now)
{
	if (probe_step(sl->p, now)) {
		probe_finished(s, sl);
		return;
	}
	if (probe_generation(sl->p) != sl->generation) {
		/* a new socket (the old one's registration went with it) */
		sl->generation = probe_generation(sl->p);
		sl->events = probe_events(sl->p);
		probe_watch(s, sl, EPOLL_CTL_ADD);
		if (probe_done(sl->p))
			probe_finished(s, sl);
		return;
	}
	short ev = probe_events(sl->p);
	if (ev != sl->events) {
		sl->events = ev;
		probe_watch(s, sl, EPOLL_CTL_MOD);
		if (probe_done(sl->p))
			probe_finished(s, sl);
	}
}

/* Endpoint @e has its addresses (or its DNS failure): queue its probes. */
static void resolved(struct scheduler *s, struct sep *e)
{
	s->resolving--;
	if (e->dns_rc != 0 || e->naddrs == 0) {
		struct probe_result r = { 0 };
		snprintf(r.address, sizeof(r.address), "%s", OBS_NO_ADDRESS);
		r.port = e->port;
		set_failure(&r, PROBE_OUTCOME_DNS_ERROR, NULL);
		snprintf(r.detail, sizeof(r.detail), "%s", e->dns_err ? e->dns_err : "no address");
		e->naddrs = e->next_addr = 0;
		push_result(s, e, &r);
		endpoint_done(s, e);
		return;
	}
	e->st = E_PROBING;
	e->next_addr = 0;
	e->pending = 0;
	e->phase2 = false;
	e->discovering = discovery_due(s, e, util_now());
	if (e->discovering) {
		free(e->got);
		e->got = malloc(e->naddrs);
		if (e->got)
			memset(e->got, GOT_NOTHING, e->naddrs);
		else
			e->discovering = false;
	}
	ready_push(s, e);
}

/* Probe-now requests from the API: make those endpoints due. */
static void take_probe_now(struct scheduler *s, const int64_t *ids, size_t nids)
{
	bool reloaded = false;
	for (size_t i = 0; i < nids; i++) {
		struct sep *e = find_ep(s, ids[i]);
		if (!e && !reloaded) {
			/* created after the last reload: read the endpoints now
			 * rather than drop the request until the next one */
			char err[ERRLEN];
			reloaded = true;
			if (sched_load_endpoints(s, err, sizeof(err)) != 0)
				log_err("%s", err);
			e = find_ep(s, ids[i]);
		}
		if (e) {
			e->probe_now = true;
			s->want_scan = true;
		} else {
			log_info("probe-now: endpoint %lld is disabled or gone; not probed",
				 (long long)ids[i]);
		}
	}
}

/* The eventfd fired: resolved endpoints, probe-now requests, and endpoints
 * whose chain changed (the writer asks to discover them at once). */
static void take_wakeups(struct scheduler *s)
{
	uint64_t v;
	(void)!read(s->evfd, &v, sizeof(v));
	struct sep *list = sched_resolve_take(s);
	int64_t ids[ARRAY_SIZE(s->now_ids)];
	size_t nids;
	pthread_mutex_lock(&s->nlock);
	nids = s->nnow;
	memcpy(ids, s->now_ids, nids * sizeof(ids[0]));
	s->nnow = 0;
	int64_t disc[ARRAY_SIZE(s->disc_ids)];
	size_t ndisc = s->ndisc;
	memcpy(disc, s->disc_ids, ndisc * sizeof(disc[0]));
	s->ndisc = 0;
	pthread_mutex_unlock(&s->nlock);
	take_probe_now(s, ids, nids);
	for (size_t i = 0; i < ndisc; i++) {
		struct sep *e = find_ep(s, disc[i]);
		if (e) {
			e->discover_due = 0;
			if (!s->sweep_mode) {
				e->probe_now = true;
				s->want_scan = true;
			}
		}
	}
	while (list) {
		struct sep *e = list;
		list = e->qnext;
		resolved(s, e);
	}
}

/* Start what capacity allows: addresses of resolved endpoints first, then
 * resolve more endpoints (bounded so that addresses never pile up). */
static void start_ready(struct scheduler *s)
{
	while (s->running < s->nslots && s->ready_head) {
		struct sep *e = s->ready_head;
		/* Off the queue before its last job starts: a probe that ends at
		 * once may end the round and queue the endpoint again (phase 2). */
		if (e->next_addr + 1 >= ep_jobs(e)) {
			s->ready_head = e->qnext;
			if (!s->ready_head)
				s->ready_tail = NULL;
			e->qnext = NULL;
		}
		start_probe(s, e);
	}
}

static void fill(struct scheduler *s, bool stopping)
{
	if (stopping || s->draining)
		return;
	start_ready(s);
	/* Names the hosts file answers are ready at once: start them in the same
	 * pass (waiting for the next event would stall a sweep's first turn). */
	while (s->due_head && !s->ready_head && s->running + s->resolving < s->nslots) {
		struct sep *e = s->due_head;
		s->due_head = e->qnext;
		if (!s->due_head)
			s->due_tail = NULL;
		e->st = E_RESOLVING;
		s->resolving++;
		if (sched_resolve_inline(s, e)) {
			resolved(s, e);
			start_ready(s);
			continue;
		}
		sched_resolve_queue(s, e);
	}
}

/* Apply a reload's pool size and trust store once no probe is in flight. */
static void apply_pending(struct scheduler *s)
{
	char err[ERRLEN];
	s->draining = false;
	if (s->pending_conc != s->nslots) {
		if (sched_set_slots(s, s->pending_conc, err, sizeof(err)) == 0)
			s->o.concurrency = s->pending_conc;
		else
			log_err("reload: %s (keeping %d probes in flight)", err, s->nslots);
	}
	if (strcmp(s->pending_ca, s->ca_file) != 0) {
		struct probe_ctx *pc = probe_ctx_new(s->pending_ca, err, sizeof(err));
		if (pc) {
			probe_ctx_defer_chains(pc, true);
			sched_writer_flush(s); /* results pending on the old context are examined */
			probe_ctx_free(s->pctx);
			s->pctx = pc;
			pthread_mutex_lock(&s->wlock);
			probe_ctx_trust_id(pc, s->trust_id);
			s->trust_noted = false;
			pthread_mutex_unlock(&s->wlock);
			snprintf(s->ca_file, sizeof(s->ca_file), "%s", s->pending_ca);
			s->o.ca_file = s->ca_file;
		} else {
			log_err("reload: %s (keeping the old trust store)", err);
		}
	}
}

void sched_turn(struct scheduler *s, int64_t max_wait_ms, bool stopping)
{
	struct epoll_event evs[256];
	int64_t now = util_mono_ms(), wait = max_wait_ms;
	fill(s, stopping);
	if (s->fl_head && s->fl_head->deadline - now < wait)
		wait = s->fl_head->deadline - now;
	if (wait < 0)
		wait = 0;
	int n = epoll_wait(s->ep, evs, (int)ARRAY_SIZE(evs), (int)wait);
	now = util_mono_ms();
	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == NULL) {
			take_wakeups(s);
			continue;
		}
		struct slot *sl = evs[i].data.ptr;
		if (sl->p)
			step_slot(s, sl, now);
	}
	/* Deadlines, oldest first. */
	while (s->fl_head && s->fl_head->deadline <= now)
		step_slot(s, s->fl_head, now);
	if (s->draining && s->running == 0)
		apply_pending(s);
}
