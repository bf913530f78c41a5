/* The scheduler's writer thread: it owns the writer connection, examines
 * the chains of finished handshakes off the event loop and commits results
 * in batches through the schedule store (store/schedule.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "probe/probe_counters.h"
#include "probe/sched_int.h"
#include "store/db.h"
#include "store/dbhealth.h"
#include "store/observations.h"

/* Writer thread: endpoint @id saw a new chain; its discovery is due at once. */
static void discover_again(struct scheduler *s, int64_t id)
{
	pthread_mutex_lock(&s->nlock);
	if (s->ndisc < ARRAY_SIZE(s->disc_ids))
		s->disc_ids[s->ndisc++] = id;
	pthread_mutex_unlock(&s->nlock);
	sched_wake(s);
}

void sched_writer_push(struct scheduler *s, struct witem *it)
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

/* The store's form of @it (a result or an endpoint's probe times). */
static struct schedule_write write_of(const struct scheduler *s, const struct witem *it)
{
	const struct probe_result *r = &it->r;
	struct schedule_write w = { .endpoint_id = it->endpoint_id };
	if (it->kind == W_PROBED) {
		w.last_probe_at = it->last;
		w.next_probe_at = it->next;
		w.discovered_at = it->discovered;
		return w;
	}
	w.r = r;
	w.reused = it->reused;
	w.pid = it->pid;
	w.vid = it->vid;
	/* A new chain seen by the normal probe outside a discovery round:
	 * discover again at once (and after a restart). */
	w.rediscover = s->o.discover_interval_s > 0 && !it->discovering &&
		       r->variant == PROBE_VARIANT_DEFAULT && r->handshake_ok;
	/* A discovering round probes only the other kind of key; what the
	 * normal probe got stands for its own kind (round_done()). */
	if (it->discovering && r->variant == PROBE_VARIANT_DEFAULT && r->handshake_ok)
		w.also_as = r->key_variant;
	return w;
}

/* Commit @batch in one transaction; the endpoints it marked probed in @ids.
 * -EROFS when the database turned out read-only under serve (dbhealth logs
 * that once, instead of every batch). */
static int writer_commit(struct scheduler *s, struct witem *batch, int64_t *ids, size_t *nids)
{
	char err[ERRLEN];
	struct schedule_status st;
	size_t n = 0;
	*nids = 0;
	for (struct witem *it = batch; it; it = it->next_item) {
		if (it->kind == W_PASS_END)
			continue;
		s->writes[n++] = write_of(s, it);
		if (it->kind == W_PROBED && *nids < WRITER_BATCH_MAX)
			ids[(*nids)++] = it->endpoint_id;
	}
	int rc = schedule_commit(s->wdb, s->writes, n, &st, err, sizeof(err));
	for (size_t i = 0; i < n; i++)
		if (s->writes[i].rediscovered)
			discover_again(s, s->writes[i].endpoint_id);
	if (rc) {
		if (st.readonly && s->o.allow_readonly) {
			dbhealth_set_readonly("a write failed: read-only file system");
			return -EROFS;
		}
		log_err("writer: %s", err);
		return rc;
	}
	atomic_fetch_add(&s->new_rows, st.opened);
	/* Prometheus probe counters are updated once per probe in
	 * sched_probe_counted(); a pass of scheduler_run counts as a sweep once
	 * its results are stored. */
	for (struct witem *it = batch; it; it = it->next_item)
		if (it->kind == W_PASS_END)
			probe_counters_sweep((unsigned)it->pass_probes, it->pass_secs);
	return 0;
}

/* While the database is read-only (serve only): no connection yet (read-only
 * at start), or dbhealth says writes fail. */
static bool writer_degraded(const struct scheduler *s)
{
	return s->o.allow_readonly && (!s->wdb || !dbhealth_writable());
}

/* Every DBHEALTH_RETRY_S while degraded: open the writer connection as at
 * start (quick_check, migrations) or, with one open, try a real write. */
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
	if (schedule_try_write(s->wdb) == 0) {
		dbhealth_set_writable();
		return;
	}
	log_debug("writer: database still not writable: %s", db_errmsg(s->wdb));
}

/* Record the trust store's identity once per context (obs_trust_begin()). */
static bool writer_note_trust(struct scheduler *s, const uint8_t trust_id[32])
{
	char err[ERRLEN];
	if (schedule_trust(s->wdb, trust_id, util_now(), err, sizeof(err)) != 0)
		return false;
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

/* Under wlock: wait for work. Returns a batch of up to WRITER_BATCH_MAX
 * items (its length in *@n), or NULL with *@recover when a degraded
 * database's retry is due, or NULL when stopping with nothing left. */
static struct witem *writer_take(struct scheduler *s, int64_t next_retry, size_t *n, bool *recover)
{
	struct timespec ts;
	*n = 0;
	*recover = false;
	while (!s->wq_head && !s->wstop) {
		if (!writer_degraded(s)) {
			pthread_cond_wait(&s->wcond, &s->wlock);
			continue;
		}
		int64_t left = next_retry - util_mono_ms();
		if (left <= 0)
			break;
		util_deadline_in(&ts, CLOCK_REALTIME, left);
		pthread_cond_timedwait(&s->wcond, &s->wlock, &ts);
	}
	if (!s->wq_head && !s->wstop) {
		*recover = true; /* degraded and the retry is due */
		return NULL;
	}
	/* Let a batch build up (one commit, one fsync, for many results)
	 * unless someone waits for it or it is already large. */
	if (s->wq_head && !s->wstop && !s->wflush && s->wq_len < WRITER_BATCH_MIN) {
		util_deadline_in(&ts, CLOCK_REALTIME, WRITER_LINGER_MS);
		while (!s->wstop && !s->wflush && s->wq_len < WRITER_BATCH_MIN &&
		       pthread_cond_timedwait(&s->wcond, &s->wlock, &ts) == 0)
			;
	}
	if (!s->wq_head)
		return NULL; /* stopping */
	/* Take up to WRITER_BATCH_MAX items: one transaction. */
	struct witem *batch = s->wq_head, *last = batch;
	*n = 1;
	while (last->next_item && *n < WRITER_BATCH_MAX) {
		last = last->next_item;
		(*n)++;
	}
	s->wq_head = last->next_item;
	if (!s->wq_head)
		s->wq_tail = NULL;
	last->next_item = NULL;
	s->wq_len -= *n;
	s->w_inflight = (int)*n;
	pthread_cond_broadcast(&s->wspace);
	return batch;
}

/* Chains are examined before the transaction opens, so that it stays
 * short; an unchanged chain takes the verdict the store kept for it. */
static void writer_examine_batch(struct scheduler *s, struct witem *batch)
{
	pthread_mutex_lock(&s->wlock);
	uint8_t trust_id[32];
	memcpy(trust_id, s->trust_id, 32);
	bool noted = s->trust_noted;
	pthread_mutex_unlock(&s->wlock);
	if (!noted && !writer_degraded(s))
		noted = writer_note_trust(s, trust_id);
	for (struct witem *it = batch; it; it = it->next_item)
		if (it->kind == W_RESULT && it->r.pending) {
			writer_examine(s, it, noted ? trust_id : NULL);
			sched_probe_counted(s, &it->r);
		}
}

/* Store @batch (@n items): retried a few times, dropped (counted) while the
 * database is read-only under serve. */
static void writer_store(struct scheduler *s, struct witem *batch, size_t n, int64_t *next_retry)
{
	size_t nids = 0;
	int rc = -EROFS;
	if (writer_degraded(s) && util_mono_ms() >= *next_retry) {
		writer_recover(s);
		*next_retry = util_mono_ms() + DBHEALTH_RETRY_S * 1000;
	}
	if (!writer_degraded(s)) {
		rc = -EIO;
		for (int attempt = 0; attempt < 5 && rc && rc != -EROFS; attempt++) {
			if (attempt)
				usleep(100000u << attempt);
			rc = writer_commit(s, batch, s->wids, &nids);
		}
		if (rc == -EROFS)
			*next_retry = util_mono_ms() + DBHEALTH_RETRY_S * 1000;
	}
	if (rc == -EROFS && s->o.allow_readonly) {
		/* read-only: counted, reported when writes work again */
		int64_t results = 0;
		for (struct witem *it = batch; it; it = it->next_item)
			results += it->kind == W_RESULT;
		dbhealth_dropped(results);
	} else if (rc) {
		log_err("writer: %zu results could not be stored", n);
	} else if (s->o.after_commit) {
		s->o.after_commit(s->o.hook_ud, s->wids, nids);
	}
}

void *sched_writer_main(void *arg)
{
	struct scheduler *s = arg;
	int64_t next_retry = util_mono_ms() + DBHEALTH_RETRY_S * 1000;
	for (;;) {
		size_t n;
		bool recover;
		pthread_mutex_lock(&s->wlock);
		struct witem *batch = writer_take(s, next_retry, &n, &recover);
		pthread_mutex_unlock(&s->wlock);
		if (recover) {
			writer_recover(s);
			next_retry = util_mono_ms() + DBHEALTH_RETRY_S * 1000;
			continue;
		}
		if (!batch)
			break;
		writer_examine_batch(s, batch);
		writer_store(s, batch, n, &next_retry);
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

void sched_writer_flush(struct scheduler *s)
{
	pthread_mutex_lock(&s->wlock);
	s->wflush = true;
	pthread_cond_broadcast(&s->wcond);
	while (s->wq_head || s->w_inflight)
		pthread_cond_wait(&s->wspace, &s->wlock);
	s->wflush = false;
	pthread_mutex_unlock(&s->wlock);
}
