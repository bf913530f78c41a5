/* The scheduler's insides, shared by its files (not for other modules):
 *   scheduler.c      life cycle, scheduler_sweep/run/probe_now, totals
 *   sched_loop.c     the event loop: endpoints, passes, due queue, probes
 *   sched_resolve.c  resolver threads and the hosts-file shortcut
 *   sched_writer.c   the writer thread: examines chains, commits batches
 *                    through store/schedule.h
 * Threads: the loop thread owns everything not marked otherwise; the
 * resolver threads touch an endpoint only while it is E_RESOLVING; the
 * writer thread owns wdb and the items it took.
 */
#ifndef PINWATCH_SCHED_INT_H
#define PINWATCH_SCHED_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "probe/scheduler.h"
#include "store/schedule.h"

#define MAX_CONCURRENCY	 4096
#define WRITER_QUEUE_MAX 8192
#define WRITER_BATCH_MAX 2048
#define WRITER_BATCH_MIN 256 /* linger for up to WRITER_LINGER_MS to fill this many */
#define WRITER_LINGER_MS 200
#define RELOAD_EVERY_MS	 60000

/* What the normal probe of an address got, for the choice of discovery probes. */
#define GOT_NOTHING 0xff /* no handshake: nothing to discover there now */

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

enum witem_kind {
	W_RESULT,   /* a probe result */
	W_PROBED,   /* an endpoint's round ended: its probe times */
	W_PASS_END, /* a pass of scheduler_run closed: count it once the batch is stored */
};

struct witem {
	enum witem_kind kind;
	int64_t endpoint_id;
	struct probe_result r;
	bool discovering; /* W_RESULT: its endpoint was discovering in this round */
	bool reused;	  /* W_RESULT: verdict taken from the store (obs_reuse()): pid, vid */
	int64_t pid, vid;
	time_t last, next;
	time_t discovered;   /* W_PROBED: discovery done at (0: not in this round) */
	int64_t pass_probes; /* W_PASS_END */
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
	size_t neps, epscap;
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
	bool wflush; /* sched_writer_flush() waits: no lingering */
	atomic_int_fast64_t new_rows;
	uint8_t trust_id[32]; /* of pctx (under wlock) */
	bool trust_noted;     /* obs_trust_begin() done for trust_id (under wlock) */

	int64_t wids[WRITER_BATCH_MAX];			/* writer thread: endpoints of a batch */
	struct schedule_write writes[WRITER_BATCH_MAX]; /* writer thread: a batch for the store */

	pthread_mutex_t tlock; /* total: the loop and the writer add to it */
	struct sched_stats total;
	bool want_scan;
	bool draining; /* a reload waits for the pool to empty */
	int pending_conc;
	char pending_ca[1024];
	bool sweep_mode;
	size_t sweep_left;
	/* scheduler_run's sweeps ("passes", see sched_pass_begin) */
	bool pass_mode;
	uint64_t pass_no;
	size_t pass_left;    /* members not yet probed in the pass; 0: no pass open */
	size_t pass_done;    /* members probed in the pass */
	int64_t pass_t0;     /* util_mono_ms() at its start */
	int64_t pass_probes; /* results of probes handed to the writer during the pass */
	unsigned rnd;
};

/* ---- scheduler.c ---- */

/** Count a finished probe (its outcome known) once: totals and /metrics. Any thread. */
void sched_probe_counted(struct scheduler *s, const struct probe_result *r);
/** Totals since the scheduler started (loop thread). */
void sched_stats_get(struct scheduler *s, struct sched_stats *st);
/** Apply defaults and bounds to @o. */
void sched_opts_defaults(struct sched_opts *o);
/** (Re)size the probe pool to @n slots; none may be in flight. 0 or negative errno. */
int sched_set_slots(struct scheduler *s, int n, char *err, size_t errlen);

/* ---- sched_loop.c (loop thread) ---- */

/** (Re)read the enabled endpoints (store/schedule.h); 0 or negative errno. */
int sched_load_endpoints(struct scheduler *s, char *err, size_t errlen);
/** Free an endpoint and what it holds. */
void sched_ep_free(struct sep *e);
/** Open the next pass of scheduler_run over every endpoint. */
void sched_pass_begin(struct scheduler *s);
/** Queue endpoints that are due; ms until the next one falls due. */
int64_t sched_scan_due(struct scheduler *s, time_t now);
/** One turn of the loop: wait at most @max_wait_ms. */
void sched_turn(struct scheduler *s, int64_t max_wait_ms, bool stopping);
/** Probes in flight or names being resolved. */
bool sched_busy(const struct scheduler *s);
/** Wake the loop (eventfd). Any thread. */
void sched_wake(struct scheduler *s);

/* ---- sched_resolve.c ---- */

/** Resolver thread body. */
void *sched_resolver_main(void *arg);
/** Loop thread: resolve @e from $PINWATCH_HOSTS_FILE; true when the file answered. */
bool sched_resolve_inline(struct scheduler *s, struct sep *e);
/** Loop thread: hand @e to the resolver threads. */
void sched_resolve_queue(struct scheduler *s, struct sep *e);
/** Loop thread: take the endpoints the resolvers finished (a list through qnext). */
struct sep *sched_resolve_take(struct scheduler *s);

/* ---- sched_writer.c ---- */

/** Writer thread body. */
void *sched_writer_main(void *arg);
/** Queue @it for the writer (blocks while the queue is full); takes ownership. */
void sched_writer_push(struct scheduler *s, struct witem *it);
/** Wait until everything queued so far is committed. */
void sched_writer_flush(struct scheduler *s);

#endif
