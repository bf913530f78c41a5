/* The scheduler's life cycle and public entry points (scheduler.h); its
 * loop, resolvers and writer live in sched_loop.c, sched_resolve.c and
 * sched_writer.c (sched_int.h). */
#include "probe/scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "model/outcome.h"
#include "probe/probe_counters.h"
#include "probe/sched_int.h"
#include "store/db.h"
#include "store/dbhealth.h"

/* ---- stats ---- */

/* The class of an outcome as `pinwatch sweep` reports it: the name of its
 * class ("tls_alert" for "tls_alert:handshake_failure"). */
static void stats_add(struct sched_stats *st, const char *outcome)
{
	enum probe_outcome oc;
	bool known = probe_outcome_parse(outcome, &oc) == 0;
	const char *cls = known ? probe_outcome_name(oc) : "unknown";
	st->probes++;
	if (!known || oc != PROBE_OUTCOME_OK)
		st->failures++;
	for (size_t i = 0; i < st->noutcomes; i++)
		if (!strcmp(st->outcomes[i].cls, cls)) {
			st->outcomes[i].n++;
			return;
		}
	if (st->noutcomes < ARRAY_SIZE(st->outcomes)) {
		snprintf(st->outcomes[st->noutcomes].cls, sizeof(st->outcomes[0].cls), "%s", cls);
		st->outcomes[st->noutcomes++].n = 1;
	}
}

void sched_probe_counted(struct scheduler *s, const struct probe_result *r)
{
	pthread_mutex_lock(&s->tlock);
	if (r->variant != PROBE_VARIANT_DEFAULT) {
		s->total.discovery_probes++; /* not an address probe of the estate */
		pthread_mutex_unlock(&s->tlock);
		return;
	}
	stats_add(&s->total, r->outcome);
	pthread_mutex_unlock(&s->tlock);
	probe_counters_probe(r->outcome, (double)r->duration_ms / 1000.0);
}

void sched_stats_get(struct scheduler *s, struct sched_stats *st)
{
	pthread_mutex_lock(&s->tlock);
	*st = s->total;
	pthread_mutex_unlock(&s->tlock);
	st->new_rows = atomic_load(&s->new_rows);
}

/* ---- life cycle ---- */

void sched_opts_defaults(struct sched_opts *o)
{
	if (o->concurrency <= 0)
		o->concurrency = 64;
	if (o->concurrency > MAX_CONCURRENCY)
		o->concurrency = MAX_CONCURRENCY;
	if (o->timeout_ms <= 0)
		o->timeout_ms = 10000;
	if (o->max_addresses <= 0)
		o->max_addresses = 16;
	if (o->max_addresses > 256)
		o->max_addresses = 256;
	if (o->jitter_pct < 0 || o->jitter_pct > 50)
		o->jitter_pct = 10;
	if (o->resolver_threads <= 0)
		o->resolver_threads = 4;
	if (o->resolver_threads > 64)
		o->resolver_threads = 64;
}

int sched_set_slots(struct scheduler *s, int n, char *err, size_t errlen)
{
	if (s->running)
		return util_err(err, errlen, -EBUSY, "probes in flight");
	struct slot *v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	free(s->slots);
	s->slots = v;
	s->nslots = n;
	s->free_slots = NULL;
	for (int i = n - 1; i >= 0; i--) {
		v[i].next = s->free_slots;
		s->free_slots = &v[i];
	}
	/* One fd per probe plus the database, resolvers and some slack. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)n + 64 ? rl.rlim_max : (rlim_t)n + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return 0;
}

/* The writer and resolver threads. */
static int start_threads(struct scheduler *s, char *err, size_t errlen)
{
	if (pthread_create(&s->wthread, NULL, sched_writer_main, s) != 0)
		return util_err(err, errlen, -EAGAIN, "cannot start the writer thread");
	s->wstarted = true;
	s->rthreads = calloc((size_t)s->o.resolver_threads, sizeof(*s->rthreads));
	if (!s->rthreads)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	for (int i = 0; i < s->o.resolver_threads; i++) {
		if (pthread_create(&s->rthreads[i], NULL, sched_resolver_main, s) != 0)
			return util_err(err, errlen, -EAGAIN, "cannot start resolver threads");
		s->nrthreads++;
	}
	return 0;
}

struct scheduler *scheduler_new(const char *db_path, const struct sched_opts *o, char *err,
				size_t errlen)
{
	struct scheduler *s = calloc(1, sizeof(*s));
	if (!s) {
		util_err(err, errlen, 0, "out of memory");
		return NULL;
	}
	s->ep = s->evfd = -1;
	s->o = *o;
	sched_opts_defaults(&s->o);
	snprintf(s->ca_file, sizeof(s->ca_file), "%s", o->ca_file ? o->ca_file : "");
	s->o.ca_file = s->ca_file;
	snprintf(s->db_path, sizeof(s->db_path), "%s", db_path);
	s->rnd = (unsigned)util_mono_ms() ^ (unsigned)getpid();
	pthread_mutex_init(&s->rlock, NULL);
	pthread_cond_init(&s->rcond, NULL);
	pthread_mutex_init(&s->nlock, NULL);
	pthread_mutex_init(&s->wlock, NULL);
	pthread_mutex_init(&s->tlock, NULL);
	pthread_cond_init(&s->wcond, NULL);
	pthread_cond_init(&s->wspace, NULL);
	if (!(s->rdb = db_open(db_path, s->o.allow_readonly ? DB_RO_FALLBACK : 0, err, errlen)))
		goto fail;
	if (db_readonly(s->rdb))
		dbhealth_set_readonly(db_readonly_why(s->rdb)); /* the writer opens it later */
	else if (!(s->wdb = db_open(db_path, DB_NO_CHECK, err, errlen)))
		goto fail;
	if (!(s->pctx = probe_ctx_new(s->ca_file, err, errlen)))
		goto fail;
	probe_ctx_defer_chains(s->pctx, true); /* examined by the writer thread */
	probe_ctx_trust_id(s->pctx, s->trust_id);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (s->ep < 0 || s->evfd < 0 || epoll_ctl(s->ep, EPOLL_CTL_ADD, s->evfd, &ev) < 0) {
		util_err(err, errlen, 0, "epoll: %s", strerror(errno));
		goto fail;
	}
	if (sched_set_slots(s, s->o.concurrency, err, errlen))
		goto fail;
	if (start_threads(s, err, errlen))
		goto fail;
	if (sched_load_endpoints(s, err, errlen))
		goto fail;
	return s;
fail:
	scheduler_free(s);
	return NULL;
}

void scheduler_free(struct scheduler *s)
{
	if (!s)
		return;
	/* Probes still in flight are abandoned (not recorded). */
	for (int i = 0; s->slots && i < s->nslots; i++)
		probe_free(s->slots[i].p);
	pthread_mutex_lock(&s->rlock);
	s->rstop = true;
	pthread_cond_broadcast(&s->rcond);
	pthread_mutex_unlock(&s->rlock);
	for (int i = 0; i < s->nrthreads; i++)
		pthread_join(s->rthreads[i], NULL);
	free(s->rthreads);
	if (s->wstarted) {
		pthread_mutex_lock(&s->wlock);
		s->wstop = true;
		pthread_cond_broadcast(&s->wcond);
		pthread_mutex_unlock(&s->wlock);
		pthread_join(s->wthread, NULL);
	}
	for (size_t i = 0; i < s->neps; i++) {
		sched_ep_free(s->eps[i]);
	}
	free(s->eps);
	free(s->slots);
	if (s->ep >= 0)
		close(s->ep);
	if (s->evfd >= 0)
		close(s->evfd);
	probe_ctx_free(s->pctx);
	db_close(s->rdb);
	db_close(s->wdb);
	pthread_mutex_destroy(&s->rlock);
	pthread_cond_destroy(&s->rcond);
	pthread_mutex_destroy(&s->nlock);
	pthread_mutex_destroy(&s->wlock);
	pthread_mutex_destroy(&s->tlock);
	pthread_cond_destroy(&s->wcond);
	pthread_cond_destroy(&s->wspace);
	free(s);
}

/* ---- sweeps ---- */

/* @st: what changed from @before to @total. */
static void stats_diff(const struct sched_stats *before, const struct sched_stats *total,
		       struct sched_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->endpoints = total->endpoints - before->endpoints;
	st->probes = total->probes - before->probes;
	st->failures = total->failures - before->failures;
	for (size_t i = 0; i < total->noutcomes; i++) {
		int64_t prev = 0;
		for (size_t k = 0; k < before->noutcomes; k++)
			if (!strcmp(before->outcomes[k].cls, total->outcomes[i].cls))
				prev = before->outcomes[k].n;
		if (total->outcomes[i].n > prev) {
			st->outcomes[st->noutcomes] = total->outcomes[i];
			st->outcomes[st->noutcomes++].n -= prev;
		}
	}
	st->new_rows = total->new_rows - before->new_rows;
	st->discovery_probes = total->discovery_probes - before->discovery_probes;
}

/* The sweeps row goes through the writer connection, outside its batches. */
static int sweep_row_begin(struct scheduler *s, int64_t *id, char *err, size_t errlen)
{
	sched_writer_flush(s);
	pthread_mutex_lock(&s->wlock);
	int rc = schedule_sweep_begin(s->wdb, util_now(), id, err, errlen);
	pthread_mutex_unlock(&s->wlock);
	return rc;
}

int scheduler_sweep(struct scheduler *s, volatile sig_atomic_t *stop, struct sched_stats *st,
		    char *err, size_t errlen)
{
	int64_t t0 = util_mono_ms();
	int64_t sweep_id = 0;
	int rc;
	struct sched_stats before, total;
	sched_stats_get(s, &before);

	if ((rc = sched_load_endpoints(s, err, errlen)) != 0)
		return rc;
	if ((rc = sweep_row_begin(s, &sweep_id, err, errlen)) != 0)
		return rc;

	s->sweep_mode = true;
	s->sweep_left = 0;
	for (size_t i = 0; i < s->neps; i++) {
		s->eps[i]->swept = false;
		if (!s->eps[i]->removed && s->eps[i]->st == E_IDLE && s->eps[i]->host &&
		    s->eps[i]->sni)
			s->sweep_left++;
	}
	sched_scan_due(s, util_now());
	while (s->sweep_left > 0 || sched_busy(s)) {
		bool stopping = stop && *stop;
		if (stopping && !sched_busy(s))
			break;
		sched_turn(s, 1000, stopping);
	}
	s->sweep_mode = false;
	sched_writer_flush(s);

	sched_stats_get(s, &total);
	stats_diff(&before, &total, st);
	st->wall_ms = util_mono_ms() - t0;
	probe_counters_sweep((unsigned)st->probes, (double)st->wall_ms / 1000.0);

	pthread_mutex_lock(&s->wlock);
	rc = schedule_sweep_end(s->wdb, sweep_id, util_now(), st->probes, st->failures, err,
				errlen);
	pthread_mutex_unlock(&s->wlock);
	return rc;
}

/* ---- the daemon loop ---- */

/* SIGHUP: re-read the configuration into the options that apply at once;
 * a new pool size or trust store waits for an empty pool. */
static void run_reload(struct scheduler *s, sched_reload_fn on_reload, void *ud)
{
	struct sched_opts no = s->o;
	if (!on_reload || on_reload(ud, &no) != 0)
		return;
	sched_opts_defaults(&no);
	s->o.timeout_ms = no.timeout_ms;
	s->o.max_addresses = no.max_addresses;
	s->o.jitter_pct = no.jitter_pct;
	s->o.discover_interval_s = no.discover_interval_s;
	/* Stop starting probes, let those in flight end (within the timeout),
	 * then apply (apply_pending in sched_loop.c). */
	const char *nca = no.ca_file ? no.ca_file : "";
	if (no.concurrency != s->nslots || strcmp(nca, s->ca_file) != 0) {
		s->pending_conc = no.concurrency;
		snprintf(s->pending_ca, sizeof(s->pending_ca), "%s", nca);
		s->draining = true;
	}
	log_info("configuration reloaded");
}

int scheduler_run(struct scheduler *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload,
		  sched_reload_fn on_reload, void *ud, char *err, size_t errlen)
{
	int64_t next_reload = util_mono_ms() + RELOAD_EVERY_MS, next_scan = 0, next_tick = 0;
	int64_t next_reopen = 0;
	s->pass_mode = true;
	sched_pass_begin(s);
	while (!(stop && *stop)) {
		int64_t now = util_mono_ms();
		/* Read-only at start: once the writer can write again (or a WAL
		 * appears), read through a normal connection and re-read at once. */
		if (now >= next_reopen && db_should_reopen(s->rdb, dbhealth_writable())) {
			int r = dbhealth_refresh(&s->rdb, DB_NO_CHECK, err, errlen);
			if (r < 0) {
				log_err("reopening the database: %s", err);
				next_reopen = now + DBHEALTH_RETRY_S * 1000;
			} else {
				next_reload = now;
			}
		}
		if ((reload && *reload) || now >= next_reload) {
			if (reload && *reload) {
				*reload = 0;
				run_reload(s, on_reload, ud);
			}
			if (sched_load_endpoints(s, err, errlen) != 0)
				log_err("%s", err);
			next_reload = now + RELOAD_EVERY_MS;
			next_scan = 0;
		}
		int64_t wait = 1000;
		if (now >= next_scan || s->want_scan) {
			s->want_scan = false;
			int64_t d = sched_scan_due(s, util_now());
			next_scan = now + (d < 1000 ? (d > 0 ? d : 0) : 1000);
		}
		if (next_scan - now < wait)
			wait = next_scan - now > 0 ? next_scan - now : 0;
		sched_turn(s, wait, false);
		if (s->o.on_tick && util_mono_ms() >= next_tick) {
			struct sched_stats st;
			sched_stats_get(s, &st);
			s->o.on_tick(s->o.hook_ud, &st);
			next_tick = util_mono_ms() + 1000;
		}
	}
	/* Graceful stop: nothing new; in-flight probes end within their timeout. */
	s->due_head = s->due_tail = NULL;
	s->ready_head = s->ready_tail = NULL;
	while (sched_busy(s))
		sched_turn(s, 1000, true);
	sched_writer_flush(s);
	s->pass_mode = false;
	return 0;
}

int scheduler_probe_now(struct scheduler *s, int64_t endpoint_id)
{
	bool full = false;
	pthread_mutex_lock(&s->nlock);
	for (size_t i = 0; i < s->nnow; i++)
		if (s->now_ids[i] == endpoint_id)
			goto queued; /* asked already: one probe answers both */
	if (s->nnow < ARRAY_SIZE(s->now_ids))
		s->now_ids[s->nnow++] = endpoint_id;
	else
		full = true;
queued:
	pthread_mutex_unlock(&s->nlock);
	if (full)
		return -EBUSY;
	sched_wake(s);
	return 0;
}
