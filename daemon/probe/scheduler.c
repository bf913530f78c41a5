#include "probe/scheduler.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "store/db.h"
#include "store/dbhealth.h"
#include "base/log.h"
#include "http/metrics.h"
#include "probe/hostsfile.h"
#include "store/observations.h"
#include "base/util.h"

#define MAX_CONCURRENCY	 4096
#define WRITER_QUEUE_MAX 8192
#define WRITER_BATCH_MAX 2048
#define WRITER_BATCH_MIN 256 /* linger for up to WRITER_LINGER_MS to fill this many */
#define WRITER_LINGER_MS 200
#define RELOAD_EVERY_MS	 60000

enum ep_state { E_IDLE, E_QUEUED, E_RESOLVING, E_PROBING };

struct sep {
	int64_t id;
	char *host; /* malloc'ed: an estate has many endpoints */
	char *sni;
	uint16_t port;
	int64_t interval_s;
	time_t next_due;
	enum ep_state st;
	bool removed;	       /* gone from the table: freed when idle */
	bool swept;	       /* done in the current sweep */
	bool in_pass;	       /* scheduler_run: member of the current pass, not yet probed in it */
	uint64_t started_pass; /* pass during which its current probe started */
	bool probe_now;
	bool discovering;    /* this round also discovers (see round_done()) */
	bool phase2;	     /* discovery probes of this round under way */
	time_t discover_due; /* next discovery; 0: at the next probe */
	uint8_t *got;	     /* discovering: per address, what the normal probe got */
	uint16_t *vjobs;     /* phase 2: address << 2 | variant */
	size_t nvjobs;
	struct probe_addr *addrs; /* only while resolving/probing */
	size_t naddrs, next_addr; /* next_addr: next job, see ep_jobs() */
	int pending;		  /* probes started and not finished */
	int dns_rc;
	char *dns_err;	   /* malloc'ed by the resolver on failure, freed when done */
	struct sep *qnext; /* due queue / ready queue / resolver queues */
};

struct slot {
	struct probe *p;
	struct sep *ep;
	size_t job;	     /* index into the endpoint's jobs (ep_jobs()) */
	unsigned generation; /* probe_generation() when its fd was registered */
	short events;
	int64_t deadline;
	struct slot *prev, *next; /* in-flight list, in start (= deadline) order */
};

struct witem {
	int kind; /* 0 result, 1 endpoint probed, 2 sweep pass closed */
	int64_t endpoint_id;
	struct probe_result r;
	bool discovering; /* kind 0: its endpoint was discovering in this round */
	bool reused;	  /* kind 0: verdict taken from the store (obs_reuse()): pid, vid */
	int64_t pid, vid;
	time_t last, next;
	time_t discovered;   /* kind 1: discovery done at (0: not in this round) */
	int64_t pass_probes; /* kind 2 */
	double pass_secs;
	struct witem *next_item;
};

struct scheduler {
	struct sched_opts o;
	char ca_file[1024];
	char db_path[1024];
	struct db *rdb; /* loop thread */
	struct probe_ctx *pctx;
	int ep;	  /* epoll */
	int evfd; /* resolver and probe-now wake-ups */

	struct sep **eps;
	size_t neps;
	struct sep *due_head, *due_tail;     /* due, not started */
	struct sep *ready_head, *ready_tail; /* resolved, addresses left to start */
	int resolving;

	struct slot *slots;
	int nslots, running;
	struct slot *free_slots;
	struct slot *fl_head, *fl_tail;

	/* resolvers */
	pthread_t *rthreads;
	int nrthreads;
	pthread_mutex_t rlock;
	pthread_cond_t rcond;
	struct sep *rq_head, *rq_tail, *rdone_head;
	bool rstop;

	/* probe-now requests */
	pthread_mutex_t nlock;
	int64_t now_ids[64];
	size_t nnow;
	int64_t disc_ids[64]; /* writer -> loop: chain changed, discover at once */
	size_t ndisc;

	/* writer */
	pthread_t wthread;
	bool wstarted;
	struct db *wdb;
	pthread_mutex_t wlock;
	pthread_cond_t wcond, wspace;
	struct witem *wq_head, *wq_tail;
	size_t wq_len, wq_peak;
	int w_inflight; /* items taken, not yet committed */
	bool wstop;
	bool wflush; /* writer_flush() waits: no lingering */
	atomic_int_fast64_t new_rows;
	uint8_t trust_id[32]; /* of pctx (under wlock) */
	bool trust_noted;     /* obs_trust_begin() done for trust_id (under wlock) */

	int64_t wids[WRITER_BATCH_MAX]; /* writer thread: endpoints of a batch */

	pthread_mutex_t tlock; /* total: the loop and the writer add to it */
	struct sched_stats total;
	bool want_scan;
	bool draining; /* a reload waits for the pool to empty */
	int pending_conc;
	char pending_ca[1024];
	bool sweep_mode;
	size_t sweep_left;
	/* scheduler_run's sweeps ("passes", see pass_begin) */
	bool pass_mode;
	uint64_t pass_no;
	size_t pass_left;    /* members not yet probed in the pass; 0: no pass open */
	size_t pass_done;    /* members probed in the pass */
	int64_t pass_t0;     /* util_mono_ms() at its start */
	int64_t pass_probes; /* results of probes handed to the writer during the pass */
	unsigned rnd;
};

/* ---- stats ---- */

static void scheduler_stats(const struct scheduler *s, struct sched_stats *st);

static void stats_add(struct sched_stats *st, const char *outcome)
{
	char cls[32];
	size_t l = strcspn(outcome, ":");
	snprintf(cls, sizeof(cls), "%.*s", (int)(l < sizeof(cls) ? l : sizeof(cls) - 1), outcome);
	st->probes++;
	if (strcmp(cls, "ok") != 0)
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

/* Count a finished probe (its outcome known) once. */
static void probe_counted(struct scheduler *s, const struct probe_result *r)
{
	pthread_mutex_lock(&s->tlock);
	if (r->variant != PROBE_VARIANT_DEFAULT) {
		s->total.discovery_probes++; /* not an address probe of the estate */
		pthread_mutex_unlock(&s->tlock);
		return;
	}
	stats_add(&s->total, r->outcome);
	pthread_mutex_unlock(&s->tlock);
	metrics_probe_observe(r->outcome, (double)r->duration_ms / 1000.0);
}

/* Writer thread: endpoint @id saw a new chain; its discovery is due at once. */
static void discover_again(struct scheduler *s, int64_t id)
{
	pthread_mutex_lock(&s->nlock);
	if (s->ndisc < ARRAY_SIZE(s->disc_ids))
		s->disc_ids[s->ndisc++] = id;
	pthread_mutex_unlock(&s->nlock);
	uint64_t one = 1;
	(void)!write(s->evfd, &one, sizeof(one));
}

/* ---- writer thread ---- */

static void writer_push(struct scheduler *s, struct witem *it)
{
	pthread_mutex_lock(&s->wlock);
	while (s->wq_len >= WRITER_QUEUE_MAX && !s->wstop)
		pthread_cond_wait(&s->wspace, &s->wlock);
	it->next_item = NULL;
	if (s->wq_tail)
		s->wq_tail->next_item = it;
	else
		s->wq_head = it;
	s->wq_tail = it;
	s->wq_len++;
	if (s->wq_len > s->wq_peak)
		s->wq_peak = s->wq_len;
	/* Wake the writer for the first item and when a batch is full. */
	if (s->wq_len == 1 || s->wq_len == WRITER_BATCH_MIN)
		pthread_cond_signal(&s->wcond);
	pthread_mutex_unlock(&s->wlock);
}

/* A write failed because the database is read-only: tell dbhealth (which
 * logs once) instead of logging every batch. */
static bool writer_readonly(struct scheduler *s)
{
	if (!s->o.allow_readonly || !db_failed_readonly(s->wdb))
		return false;
	dbhealth_set_readonly("a write failed: read-only file system");
	return true;
}

static int writer_commit(struct scheduler *s, struct witem *batch, int64_t *ids, size_t *nids)
{
	char err[ERRLEN];
	int rc = db_begin(s->wdb);
	int64_t opened = 0;
	*nids = 0;
	if (rc) {
		if (writer_readonly(s))
			return -EROFS;
		log_err("writer: BEGIN failed: %s", db_errmsg(s->wdb));
		return rc;
	}
	for (struct witem *it = batch; it; it = it->next_item) {
		bool o = false;
		if (it->kind == 2)
			continue;
		if (it->kind == 0) {
			rc = it->reused ? obs_record_ids(s->wdb, it->endpoint_id, &it->r, it->pid,
							 it->vid, &o, err, sizeof(err))
					: obs_record(s->wdb, it->endpoint_id, &it->r, &o, err,
						     sizeof(err));
			/* A new chain seen by the normal probe outside a discovery
			 * round: discover again at once (and after a restart). */
			if (!rc && o && s->o.discover_interval_s > 0 && !it->discovering &&
			    it->r.variant == PROBE_VARIANT_DEFAULT && it->r.handshake_ok) {
				rc = obs_endpoint_discovered(s->wdb, it->endpoint_id, 0, err,
							     sizeof(err));
				if (!rc)
					discover_again(s, it->endpoint_id);
			}
			/* A discovering round probes only the other kind of key; what
			 * the normal probe got stands for its own kind (round_done()). */
			if (!rc && it->discovering && it->r.variant == PROBE_VARIANT_DEFAULT &&
			    it->r.handshake_ok && it->r.key_variant != PROBE_VARIANT_DEFAULT) {
				it->r.variant = it->r.key_variant;
				rc = it->reused ? obs_record_ids(s->wdb, it->endpoint_id, &it->r,
								 it->pid, it->vid, NULL, err,
								 sizeof(err))
						: obs_record(s->wdb, it->endpoint_id, &it->r, NULL,
							     err, sizeof(err));
				it->r.variant = PROBE_VARIANT_DEFAULT;
			}
			if (it->r.variant != PROBE_VARIANT_DEFAULT)
				o = false; /* new_rows counts observation rows */
		} else {
			rc = obs_endpoint_probed(s->wdb, it->endpoint_id, it->last, it->next, err,
						 sizeof(err));
			if (!rc && it->discovered)
				rc = obs_endpoint_discovered(s->wdb, it->endpoint_id,
							     it->discovered, err, sizeof(err));
		}
		if (rc == -EIO &&
		    sqlite3_extended_errcode(db_handle(s->wdb)) == SQLITE_CONSTRAINT_FOREIGNKEY)
			rc = 0; /* endpoint deleted meanwhile: nothing to record */
		if (rc) {
			bool ro = writer_readonly(s);
			if (!ro)
				log_err("writer: %s", err);
			db_rollback(s->wdb);
			return ro ? -EROFS : rc;
		}
		opened += o;
		if (it->kind == 1 && *nids < WRITER_BATCH_MAX)
			ids[(*nids)++] = it->endpoint_id;
	}
	if ((rc = db_commit(s->wdb)) != 0) {
		bool ro = writer_readonly(s);
		if (!ro)
			log_err("writer: COMMIT failed: %s", db_errmsg(s->wdb));
		db_rollback(s->wdb);
		return ro ? -EROFS : rc;
	}
	atomic_fetch_add(&s->new_rows, opened);
	/* Prometheus probe counters are updated once per probe in probe_counted();
	 * a pass of scheduler_run counts as a sweep once its results are stored. */
	for (struct witem *it = batch; it; it = it->next_item)
		if (it->kind == 2)
			metrics_sweep_observe((unsigned)it->pass_probes, it->pass_secs);
	return 0;
}

/* While the database is read-only (serve only): no connection yet (read-only
 * at start), or dbhealth says writes fail. */
static bool writer_degraded(const struct scheduler *s)
{
	return s->o.allow_readonly && (!s->wdb || !dbhealth_writable());
}

/* Every DBHEALTH_RETRY_S while degraded: open the writer connection as at
 * start (quick_check, migrations) or, with one open, try a real write (the
 * schema version written back unchanged: one WAL frame). */
static void writer_recover(struct scheduler *s)
{
	char err[ERRLEN];
	if (!s->wdb) {
		struct db *w = db_open(s->db_path, 0, err, sizeof(err));
		if (!w) {
			log_debug("writer: database still not writable: %s", err);
			return;
		}
		s->wdb = w;
		dbhealth_set_writable();
		return;
	}
	int64_t v = 0;
	char pragma[64];
	int rc = db_query_int(s->wdb, "PRAGMA user_version", &v);
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %lld", (long long)v);
	if (rc == 0)
		rc = db_begin(s->wdb);
	if (rc == 0 && (rc = db_exec(s->wdb, pragma, err, sizeof(err))) == 0)
		rc = db_commit(s->wdb);
	if (rc == 0) {
		dbhealth_set_writable();
		return;
	}
	db_rollback(s->wdb);
	log_debug("writer: database still not writable: %s", db_errmsg(s->wdb));
}

/* Record the trust store's identity once per context (obs_trust_begin()). */
static bool writer_note_trust(struct scheduler *s, const uint8_t trust_id[32])
{
	char err[ERRLEN];
	if (db_begin(s->wdb) != 0)
		return false;
	if (obs_trust_begin(s->wdb, trust_id, util_now(), err, sizeof(err)) != 0 ||
	    db_commit(s->wdb) != 0) {
		db_rollback(s->wdb);
		return false;
	}
	pthread_mutex_lock(&s->wlock);
	bool same = memcmp(trust_id, s->trust_id, 32) == 0;
	if (same)
		s->trust_noted = true;
	pthread_mutex_unlock(&s->wlock);
	return same;
}

/* Examine the pending chain of @it: the store's verdict for it when one
 * stands (@trust_id non-NULL), else parse and validate it. */
static void writer_examine(struct scheduler *s, struct witem *it, const uint8_t *trust_id)
{
	uint8_t dg[32];
	char err[ERRLEN];
	if (trust_id && probe_result_pending_digest(&it->r, dg) == 0 &&
	    obs_reuse(s->wdb, it->endpoint_id, &it->r, dg, trust_id, util_now(), &it->pid, &it->vid,
		      err, sizeof(err)) == 1) {
		probe_result_reuse_ok(&it->r);
		it->reused = true;
		return;
	}
	probe_result_complete(&it->r);
}

static void *writer_main(void *arg)
{
	struct scheduler *s = arg;
	int64_t *ids = s->wids;
	int64_t next_retry = util_mono_ms() + DBHEALTH_RETRY_S * 1000;
	for (;;) {
		pthread_mutex_lock(&s->wlock);
		while (!s->wq_head && !s->wstop) {
			if (!writer_degraded(s)) {
				pthread_cond_wait(&s->wcond, &s->wlock);
				continue;
			}
			int64_t left = next_retry - util_mono_ms();
			if (left <= 0)
				break;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += left / 1000;
			ts.tv_nsec += (left % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&s->wcond, &s->wlock, &ts);
		}
		if (!s->wq_head && !s->wstop) {
			/* degraded and the retry is due */
			pthread_mutex_unlock(&s->wlock);
			writer_recover(s);
			next_retry = util_mono_ms() + DBHEALTH_RETRY_S * 1000;
			continue;
		}
		/* Let a batch build up (one commit, one fsync, for many results)
		 * unless someone waits for it or it is already large. */
		if (s->wq_head && !s->wstop && !s->wflush && s->wq_len < WRITER_BATCH_MIN) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += WRITER_LINGER_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			while (!s->wstop && !s->wflush && s->wq_len < WRITER_BATCH_MIN &&
			       pthread_cond_timedwait(&s->wcond, &s->wlock, &ts) == 0)
				;
		}
		if (!s->wq_head && s->wstop) {
			pthread_mutex_unlock(&s->wlock);
			break;
		}
		/* Take up to WRITER_BATCH_MAX items: one transaction. */
		struct witem *batch = s->wq_head, *last = batch;
		size_t n = 1;
		while (last->next_item && n < WRITER_BATCH_MAX) {
			last = last->next_item;
			n++;
		}
		s->wq_head = last->next_item;
		if (!s->wq_head)
			s->wq_tail = NULL;
		last->next_item = NULL;
		s->wq_len -= n;
		s->w_inflight = (int)n;
		pthread_cond_broadcast(&s->wspace);
		pthread_mutex_unlock(&s->wlock);

		/* Chains are examined before the transaction opens, so that it stays
		 * short; an unchanged chain takes the verdict the store kept for it. */
		pthread_mutex_lock(&s->wlock);
		uint8_t trust_id[32];
		memcpy(trust_id, s->trust_id, 32);
		bool noted = s->trust_noted;
		pthread_mutex_unlock(&s->wlock);
		if (!noted && !writer_degraded(s))
			noted = writer_note_trust(s, trust_id);
		for (struct witem *it = batch; it; it = it->next_item)
			if (it->kind == 0 && it->r.pending) {
				writer_examine(s, it, noted ? trust_id : NULL);
				probe_counted(s, &it->r);
			}

		size_t nids = 0;
		int rc = -EROFS;
		if (writer_degraded(s) && util_mono_ms() >= next_retry) {
			writer_recover(s);
			next_retry = util_mono_ms() + DBHEALTH_RETRY_S * 1000;
		}
		if (!writer_degraded(s)) {
			rc = -EIO;
			for (int attempt = 0; attempt < 5 && rc && rc != -EROFS; attempt++) {
				if (attempt)
					usleep(100000u << attempt);
				rc = writer_commit(s, batch, ids, &nids);
			}
			if (rc == -EROFS)
				next_retry = util_mono_ms() + DBHEALTH_RETRY_S * 1000;
		}
		if (rc == -EROFS && s->o.allow_readonly) {
			/* read-only: counted, reported when writes work again */
			int64_t results = 0;
			for (struct witem *it = batch; it; it = it->next_item)
				results += it->kind == 0;
			dbhealth_dropped(results);
		} else if (rc) {
			log_err("writer: %zu results could not be stored", n);
		} else if (s->o.after_commit) {
			s->o.after_commit(s->o.hook_ud, ids, nids);
		}
		while (batch) {
			struct witem *nx = batch->next_item;
			probe_result_clear(&batch->r);
			free(batch);
			batch = nx;
		}
		pthread_mutex_lock(&s->wlock);
		s->w_inflight = 0;
		pthread_cond_broadcast(&s->wspace);
		pthread_mutex_unlock(&s->wlock);
	}
	return NULL;
}

/* Wait until everything queued so far is committed. */
static void writer_flush(struct scheduler *s)
{
	pthread_mutex_lock(&s->wlock);
	s->wflush = true;
	pthread_cond_broadcast(&s->wcond);
	while (s->wq_head || s->w_inflight)
		pthread_cond_wait(&s->wspace, &s->wlock);
	s->wflush = false;
	pthread_mutex_unlock(&s->wlock);
}

/* ---- resolver threads ---- */

static void *resolver_main(void *arg)
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

		size_t max = (size_t)s->o.max_addresses;
		e->naddrs = 0;
		char derr[200] = "";
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

		pthread_mutex_lock(&s->rlock);
		e->qnext = s->rdone_head;
		s->rdone_head = e;
		pthread_mutex_unlock(&s->rlock);
		uint64_t one = 1;
		(void)!write(s->evfd, &one, sizeof(one));
	}
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

static void sep_free(struct sep *e)
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
static void pass_begin(struct scheduler *s)
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
		it->kind = 2;
		it->pass_secs = (double)(util_mono_ms() - s->pass_t0) / 1000.0;
		it->pass_probes = s->pass_probes;
		log_debug("sweep pass %llu: %zu endpoints, %lld probes in %.1f s",
			  (unsigned long long)s->pass_no, s->pass_done, (long long)it->pass_probes,
			  it->pass_secs);
		writer_push(s, it);
	}
	pass_begin(s);
}

/* (Re)read enabled endpoints. New ones resume from next_probe_at, else
 * last_probe_at + interval, else spread over the first minute. */
static int load_endpoints(struct scheduler *s, char *err, size_t errlen)
{
	static const char q[] =
		"SELECT id, host, port, coalesce(sni, host), interval_s, last_probe_at, "
		"next_probe_at, discovered_at FROM endpoints WHERE enabled = 1 ORDER BY id";
	sqlite3_stmt *st = NULL;
	time_t now = util_now();
	if (sqlite3_prepare_v2(db_handle(s->rdb), q, -1, &st, NULL) != SQLITE_OK)
		return util_err(err, errlen, -EIO, "reading endpoints: %s", db_errmsg(s->rdb));
	for (size_t i = 0; i < s->neps; i++)
		s->eps[i]->removed = true;
	int rc;
	size_t cap = s->neps;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		struct sep *e = find_ep(s, id);
		if (!e) {
			e = calloc(1, sizeof(*e));
			if (!e) {
				sqlite3_finalize(st);
				return util_err(err, errlen, -ENOMEM, "out of memory");
			}
			if (s->neps == cap) {
				cap = cap ? cap * 2 : 64;
				struct sep **nv = realloc(s->eps, cap * sizeof(*nv));
				if (!nv) {
					free(e);
					sqlite3_finalize(st);
					return util_err(err, errlen, -ENOMEM, "out of memory");
				}
				s->eps = nv;
			}
			s->eps[s->neps++] = e;
			e->id = id;
			int64_t interval = sqlite3_column_int64(st, 4);
			if (sqlite3_column_type(st, 6) != SQLITE_NULL)
				e->next_due = (time_t)sqlite3_column_int64(st, 6);
			else if (sqlite3_column_type(st, 5) != SQLITE_NULL)
				e->next_due = (time_t)(sqlite3_column_int64(st, 5) + interval);
			else
				e->next_due = now + (time_t)(rand_r(&s->rnd) % 60);
			if (sqlite3_column_type(st, 7) != SQLITE_NULL)
				e->discover_due = (time_t)(sqlite3_column_int64(st, 7) +
							   s->o.discover_interval_s);
		} else if (sqlite3_column_type(st, 7) == SQLITE_NULL && e->st == E_IDLE) {
			e->discover_due = 0; /* reset (a chain change): discover at once */
		}
		e->removed = false;
		const char *h = (const char *)sqlite3_column_text(st, 1);
		const char *sn = (const char *)sqlite3_column_text(st, 3);
		/* A busy endpoint's names are in use by a resolver or probe: the
		 * change applies at the next reload. */
		if (e->st != E_IDLE && e->host && e->sni)
			continue;
		if (!e->host || strcmp(e->host, h ? h : "") != 0) {
			free(e->host);
			e->host = strdup(h ? h : "");
		}
		if (!e->sni || strcmp(e->sni, sn ? sn : "") != 0) {
			free(e->sni);
			e->sni = strdup(sn ? sn : "");
		}
		if (!e->host || !e->sni) {
			sqlite3_finalize(st);
			return util_err(err, errlen, -ENOMEM, "out of memory");
		}
		e->port = (uint16_t)sqlite3_column_int(st, 2);
		e->interval_s = sqlite3_column_int64(st, 4);
		if (e->interval_s < 10)
			e->interval_s = 10;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return util_err(err, errlen, -EIO, "reading endpoints: %s", db_errmsg(s->rdb));
	/* Free removed endpoints that are idle (busy ones go when they finish). */
	size_t w = 0;
	for (size_t i = 0; i < s->neps; i++) {
		if (s->eps[i]->removed && s->eps[i]->st == E_IDLE) {
			pass_leave(s, s->eps[i], false);
			sep_free(s->eps[i]);
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

/* Queue endpoints that are due; returns ms until the next one falls due. */
static int64_t scan_due(struct scheduler *s, time_t now)
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
		it->kind = 1;
		it->endpoint_id = e->id;
		it->last = now;
		it->next = e->next_due;
		it->discovered = discovered ? now : 0;
		writer_push(s, it);
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
		probe_counted(s, r);
	struct witem *it = calloc(1, sizeof(*it));
	if (!it) {
		probe_result_clear(r);
		return;
	}
	it->kind = 0;
	it->endpoint_id = e->id;
	it->discovering = e->discovering;
	it->r = *r;
	memset(r, 0, sizeof(*r));
	writer_push(s, it);
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

/* What the normal probe of an address got, for the choice of discovery probes. */
#define GOT_NOTHING 0xff /* no handshake: nothing to discover there now */

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
	slot_unlink(s, sl);
	sl->next = s->free_slots;
	s->free_slots = sl;
	s->running--;
	if (--e->pending == 0 && e->next_addr >= ep_jobs(e))
		round_done(s, e);
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
		snprintf(r.outcome, sizeof(r.outcome), "tls_error:out_of_memory");
		r.at = util_now();
		r.variant = variant;
		slot_unlink(s, sl);
		sl->next = s->free_slots;
		s->free_slots = sl;
		s->running--;
		if (e->discovering && !e->phase2 && e->got && job < e->naddrs)
			e->got[job] = GOT_NOTHING;
		push_result(s, e, &r);
		if (--e->pending == 0 && e->next_addr >= ep_jobs(e))
			round_done(s, e);
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

/* Resolved endpoints: queue their addresses, or record the DNS failure. */
static void resolved(struct scheduler *s, struct sep *e);

static void take_resolved(struct scheduler *s)
{
	uint64_t v;
	(void)!read(s->evfd, &v, sizeof(v));
	pthread_mutex_lock(&s->rlock);
	struct sep *list = s->rdone_head;
	s->rdone_head = NULL;
	pthread_mutex_unlock(&s->rlock);
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
	bool reloaded = false;
	for (size_t i = 0; i < nids; i++) {
		struct sep *e = find_ep(s, ids[i]);
		if (!e && !reloaded) {
			/* created after the last reload: read the endpoints now
			 * rather than drop the request until the next one */
			char err[ERRLEN];
			reloaded = true;
			if (load_endpoints(s, err, sizeof(err)) != 0)
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

/* Endpoint @e has its addresses (or its DNS failure): queue its probes. */
static void resolved(struct scheduler *s, struct sep *e)
{
	s->resolving--;
	if (e->dns_rc != 0 || e->naddrs == 0) {
		struct probe_result r = { 0 };
		snprintf(r.address, sizeof(r.address), "%s", OBS_NO_ADDRESS);
		r.port = e->port;
		snprintf(r.outcome, sizeof(r.outcome), "dns_error");
		snprintf(r.detail, sizeof(r.detail), "%s", e->dns_err ? e->dns_err : "no address");
		r.at = util_now();
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

/* A name in $PINWATCH_HOSTS_FILE is looked up on the loop thread (a binary
 * search): no resolver thread hand-off for it. true when the file answered. */
static bool resolve_inline(struct scheduler *s, struct sep *e)
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
		if (resolve_inline(s, e)) {
			resolved(s, e);
			start_ready(s);
			continue;
		}
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
}

static int set_slots(struct scheduler *s, int n, char *err, size_t errlen);

/* Apply a reload's pool size and trust store once no probe is in flight. */
static void apply_pending(struct scheduler *s)
{
	char err[ERRLEN];
	s->draining = false;
	if (s->pending_conc != s->nslots) {
		if (set_slots(s, s->pending_conc, err, sizeof(err)) == 0)
			s->o.concurrency = s->pending_conc;
		else
			log_err("reload: %s (keeping %d probes in flight)", err, s->nslots);
	}
	if (strcmp(s->pending_ca, s->ca_file) != 0) {
		struct probe_ctx *pc = probe_ctx_new(s->pending_ca, err, sizeof(err));
		if (pc) {
			probe_ctx_defer_chains(pc, true);
			writer_flush(s); /* results pending on the old context are examined */
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

/* One turn of the loop: wait at most @max_wait_ms. */
static void turn(struct scheduler *s, int64_t max_wait_ms, bool stopping)
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
			take_resolved(s);
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

/* ---- life cycle ---- */

static void opts_defaults(struct sched_opts *o)
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

static int set_slots(struct scheduler *s, int n, char *err, size_t errlen)
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
	opts_defaults(&s->o);
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
	if (set_slots(s, s->o.concurrency, err, errlen))
		goto fail;
	if (pthread_create(&s->wthread, NULL, writer_main, s) != 0) {
		util_err(err, errlen, 0, "cannot start the writer thread");
		goto fail;
	}
	s->wstarted = true;
	s->rthreads = calloc((size_t)s->o.resolver_threads, sizeof(*s->rthreads));
	if (!s->rthreads)
		goto fail;
	for (int i = 0; i < s->o.resolver_threads; i++) {
		if (pthread_create(&s->rthreads[i], NULL, resolver_main, s) != 0) {
			util_err(err, errlen, 0, "cannot start resolver threads");
			goto fail;
		}
		s->nrthreads++;
	}
	if (load_endpoints(s, err, errlen))
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
		sep_free(s->eps[i]);
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

static bool busy(const struct scheduler *s)
{
	return s->running > 0 || s->resolving > 0;
}

int scheduler_sweep(struct scheduler *s, volatile sig_atomic_t *stop, struct sched_stats *st,
		    char *err, size_t errlen)
{
	int64_t t0 = util_mono_ms();
	int64_t sweep_id = 0;
	int rc;
	struct sched_stats before, total;
	scheduler_stats(s, &before);
	int64_t rows0 = atomic_load(&s->new_rows);

	if ((rc = load_endpoints(s, err, errlen)) != 0)
		return rc;
	/* The sweeps row goes through the writer connection, outside its batches. */
	writer_flush(s);
	pthread_mutex_lock(&s->wlock);
	rc = db_begin(s->wdb) || obs_sweep_begin(s->wdb, util_now(), &sweep_id, err, errlen) ||
	     db_commit(s->wdb);
	if (rc)
		db_rollback(s->wdb);
	pthread_mutex_unlock(&s->wlock);
	if (rc)
		return util_err(err, errlen, -EIO, "recording the sweep: %s", db_errmsg(s->wdb));

	s->sweep_mode = true;
	s->sweep_left = 0;
	for (size_t i = 0; i < s->neps; i++) {
		s->eps[i]->swept = false;
		if (!s->eps[i]->removed && s->eps[i]->st == E_IDLE && s->eps[i]->host &&
		    s->eps[i]->sni)
			s->sweep_left++;
	}
	scan_due(s, util_now());
	while (s->sweep_left > 0 || busy(s)) {
		bool stopping = stop && *stop;
		if (stopping && !busy(s))
			break;
		turn(s, 1000, stopping);
	}
	s->sweep_mode = false;
	writer_flush(s);

	memset(st, 0, sizeof(*st));
	scheduler_stats(s, &total);
	st->endpoints = total.endpoints - before.endpoints;
	st->probes = total.probes - before.probes;
	st->failures = total.failures - before.failures;
	for (size_t i = 0; i < total.noutcomes; i++) {
		int64_t prev = 0;
		for (size_t k = 0; k < before.noutcomes; k++)
			if (!strcmp(before.outcomes[k].cls, total.outcomes[i].cls))
				prev = before.outcomes[k].n;
		if (total.outcomes[i].n > prev) {
			st->outcomes[st->noutcomes] = total.outcomes[i];
			st->outcomes[st->noutcomes++].n -= prev;
		}
	}
	st->new_rows = atomic_load(&s->new_rows) - rows0;
	st->discovery_probes = total.discovery_probes - before.discovery_probes;
	st->wall_ms = util_mono_ms() - t0;
	metrics_sweep_observe((unsigned)st->probes, (double)st->wall_ms / 1000.0);

	pthread_mutex_lock(&s->wlock);
	rc = db_begin(s->wdb) ||
	     obs_sweep_end(s->wdb, sweep_id, util_now(), st->probes, st->failures, err, errlen) ||
	     db_commit(s->wdb);
	if (rc)
		db_rollback(s->wdb);
	pthread_mutex_unlock(&s->wlock);
	return rc ? util_err(err, errlen, -EIO, "recording the sweep: %s", db_errmsg(s->wdb)) : 0;
}

int scheduler_run(struct scheduler *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload,
		  sched_reload_fn on_reload, void *ud, char *err, size_t errlen)
{
	int64_t next_reload = util_mono_ms() + RELOAD_EVERY_MS, next_scan = 0, next_tick = 0;
	int64_t next_reopen = 0;
	s->pass_mode = true;
	pass_begin(s);
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
				struct sched_opts no = s->o;
				if (on_reload && on_reload(ud, &no) == 0) {
					opts_defaults(&no);
					s->o.timeout_ms = no.timeout_ms;
					s->o.max_addresses = no.max_addresses;
					s->o.jitter_pct = no.jitter_pct;
					s->o.discover_interval_s = no.discover_interval_s;
					/* A new pool size or trust store needs an empty pool:
					 * stop starting probes, let those in flight end (within
					 * the timeout), then apply (apply_pending). */
					const char *nca = no.ca_file ? no.ca_file : "";
					if (no.concurrency != s->nslots ||
					    strcmp(nca, s->ca_file) != 0) {
						s->pending_conc = no.concurrency;
						snprintf(s->pending_ca, sizeof(s->pending_ca), "%s",
							 nca);
						s->draining = true;
					}
					log_info("configuration reloaded");
				}
			}
			if (load_endpoints(s, err, errlen) != 0)
				log_err("%s", err);
			next_reload = now + RELOAD_EVERY_MS;
			next_scan = 0;
		}
		int64_t wait = 1000;
		if (now >= next_scan || s->want_scan) {
			s->want_scan = false;
			int64_t d = scan_due(s, util_now());
			next_scan = now + (d < 1000 ? (d > 0 ? d : 0) : 1000);
		}
		if (next_scan - now < wait)
			wait = next_scan - now > 0 ? next_scan - now : 0;
		turn(s, wait, false);
		if (s->o.on_tick && util_mono_ms() >= next_tick) {
			struct sched_stats st;
			scheduler_stats(s, &st);
			s->o.on_tick(s->o.hook_ud, &st);
			next_tick = util_mono_ms() + 1000;
		}
	}
	/* Graceful stop: nothing new; in-flight probes end within their timeout. */
	s->due_head = s->due_tail = NULL;
	s->ready_head = s->ready_tail = NULL;
	while (busy(s))
		turn(s, 1000, true);
	writer_flush(s);
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
	uint64_t one = 1;
	(void)!write(s->evfd, &one, sizeof(one));
	return 0;
}

/* Totals since the scheduler started (loop thread only). */
static void scheduler_stats(const struct scheduler *s, struct sched_stats *st)
{
	pthread_mutex_lock(&((struct scheduler *)s)->tlock);
	*st = s->total;
	pthread_mutex_unlock(&((struct scheduler *)s)->tlock);
	st->new_rows = atomic_load(&((struct scheduler *)s)->new_rows);
}
