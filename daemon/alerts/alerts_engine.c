#include "alerts/alerts_engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts/alerts.h"
#include "base/config.h"
#include "store/db.h"
#include "store/dbhealth.h"
#include "base/log.h"
#include "base/util.h"
#include "alerts/webhook.h"

struct alerts_engine {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, poked, reloaded;
	struct config cfg; /* guarded by mu; the thread works on a copy */
	char db_path[CONFIG_PATH_MAX];
	struct db *db;		       /* the evaluator's connection */
	struct webhook_worker *worker; /* owned by the thread after start */
	const struct alerts_source *extra;
	uint64_t runs;
};

static _Atomic(struct alerts_engine *) current;

struct alerts_engine *alerts_engine_current(void)
{
	return atomic_load(&current);
}

static void *engine_main(void *arg)
{
	struct alerts_engine *e = arg;
	struct config cfg;
	char err[ERRLEN];
	int64_t last = 0;

	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		/* Wait for a poke or the period; then keep the minimum spacing. */
		struct timespec ts;
		int64_t rem = ALERTS_ENGINE_PERIOD_MS - (util_mono_ms() - last);
		if (!e->poked && last && rem > 0) {
			util_deadline_in(&ts, CLOCK_MONOTONIC, rem);
			pthread_cond_timedwait(&e->cv, &e->mu, &ts);
			continue;
		}
		int64_t wait = ALERTS_ENGINE_MIN_SPACING_MS - (util_mono_ms() - last);
		if (last && wait > 0) {
			util_deadline_in(&ts, CLOCK_MONOTONIC, wait);
			pthread_cond_timedwait(&e->cv, &e->mu, &ts);
			continue;
		}
		e->poked = false;
		bool reloaded = e->reloaded;
		e->reloaded = false;
		cfg = e->cfg;
		pthread_mutex_unlock(&e->mu);

		/* Evaluating records alerts and queues notifications: not while the
		 * database is read-only (dbhealth.h); a connection opened read-only
		 * then is reopened once it can be written. */
		int reopened = dbhealth_writable()
				       ? dbhealth_refresh(&e->db, DB_NO_CREATE, err, sizeof(err))
				       : 0;
		if (!dbhealth_writable() || reopened < 0) {
			if (reopened < 0)
				log_err("alerts: reopening the database: %s", err);
			pthread_mutex_lock(&e->mu);
			e->poked = true; /* evaluate as soon as it is writable again */
			e->reloaded = e->reloaded || reloaded;
			if (!e->stop) {
				util_deadline_in(&ts, CLOCK_MONOTONIC,
						 reopened < 0 ? ALERTS_ENGINE_PERIOD_MS : 1000);
				pthread_cond_timedwait(&e->cv, &e->mu, &ts);
			}
			continue;
		}
		if (reopened)
			reloaded = true; /* the webhook worker's connection was read-only too */
		if (reloaded) {
			webhook_worker_free(e->worker);
			e->worker = webhook_worker_new(&cfg, e->db_path, err, sizeof(err));
			if (!e->worker)
				log_err("alerts: cannot restart the webhook worker: %s", err);
		}
		struct alerts_result r = { 0 };
		int rc = alerts_evaluate(e->db, &cfg, util_now(), e->extra, &r, err, sizeof(err));
		last = util_mono_ms();
		if (rc && db_failed_readonly(e->db))
			dbhealth_set_readonly("a write failed: read-only file system");
		else if (rc)
			log_warn("alerts: evaluation failed: %s", err);
		if (r.opened || r.resolved || r.changed || r.repeated)
			log_info("alerts: %d opened, %d resolved, %d changed, %d reminded; "
				 "%d notification(s) queued, %d silenced",
				 r.opened, r.resolved, r.changed, r.repeated, r.notifications,
				 r.silenced);
		if (r.notifications)
			webhook_worker_kick(e->worker);
		if (e->extra && e->extra->engine_ran)
			e->extra->engine_ran();

		pthread_mutex_lock(&e->mu);
		e->runs++;
		pthread_cond_broadcast(&e->cv);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

struct alerts_engine *alerts_engine_new(const struct config *cfg, const char *db_path,
					const struct alerts_source *extra, char *err, size_t errlen)
{
	struct alerts_engine *e = calloc(1, sizeof(*e));
	pthread_condattr_t ca;
	if (!e) {
		util_err(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	if (util_path(e->db_path, sizeof(e->db_path), "%s", db_path)) {
		util_err(err, errlen, -ENAMETOOLONG, "database path too long");
		free(e);
		return NULL;
	}
	e->cfg = *cfg;
	e->extra = extra;
	e->poked = true; /* first evaluation at once */
	pthread_mutex_init(&e->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cv, &ca);
	pthread_condattr_destroy(&ca);
	e->db = db_open(db_path, DB_NO_CREATE | DB_RO_FALLBACK, err, errlen);
	if (!e->db)
		goto fail;
	e->worker = webhook_worker_new(cfg, db_path, err, errlen);
	if (!e->worker)
		goto fail;
	int rc = pthread_create(&e->thread, NULL, engine_main, e);
	if (rc) {
		util_err(err, errlen, -rc, "cannot start the alerts thread: %s", strerror(rc));
		goto fail;
	}
	atomic_store(&current, e);
	return e;
fail:
	webhook_worker_free(e->worker);
	db_close(e->db);
	pthread_cond_destroy(&e->cv);
	pthread_mutex_destroy(&e->mu);
	free(e);
	return NULL;
}

void alerts_engine_poke(struct alerts_engine *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->mu);
	e->poked = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

void alerts_engine_reload(struct alerts_engine *e, const struct config *cfg)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->mu);
	e->cfg = *cfg;
	e->reloaded = true;
	e->poked = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

uint64_t alerts_engine_runs(struct alerts_engine *e)
{
	pthread_mutex_lock(&e->mu);
	uint64_t n = e->runs;
	pthread_mutex_unlock(&e->mu);
	return n;
}

void alerts_engine_free(struct alerts_engine *e)
{
	if (!e)
		return;
	struct alerts_engine *expected = e;
	atomic_compare_exchange_strong(&current, &expected, NULL);
	pthread_mutex_lock(&e->mu);
	e->stop = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	pthread_join(e->thread, NULL);
	webhook_worker_free(e->worker);
	db_close(e->db);
	pthread_cond_destroy(&e->cv);
	pthread_mutex_destroy(&e->mu);
	free(e);
}
