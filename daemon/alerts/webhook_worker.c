/* The delivery worker: drains webhook_outbox with libcurl's multi interface.
 *
 * Per webhook one row at a time is attempted, the most severe pending one
 * first (start_due(); "resolved" never overtakes "firing" of the same
 * alert); different webhooks run concurrently, so a
 * hanging receiver holds only its own slot, for at most [webhook] timeout_ms.
 * The thread owns its own database connection; probing never waits for it.
 */
#include <curl/curl.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "store/db.h"
#include "store/dbhealth.h"
#include "store/webhooks.h"
#include "base/log.h"
#include "base/util.h"
#include "alerts/webhook.h"
#include "alerts/webhook_int.h"

#define MAX_INFLIGHT 64

struct xfer {
	CURL *e;
	struct curl_slist *hdrs;
	char *body;
	int64_t row_id, webhook_id;
	int attempts;
	time_t created_at;
	char errbuf[CURL_ERROR_SIZE];
};

struct deliverer {
	const struct config *cfg;
	struct db *db;
	CURLM *multi;
	struct xfer *x[MAX_INFLIGHT];
	size_t nx;
	int delivered;
};

static double jitter(void)
{
	uint32_t r = 0;
	if (gnutls_rnd(GNUTLS_RND_NONCE, &r, sizeof(r)) < 0)
		return 0.5;
	return (double)r / 4294967296.0;
}

static void xfer_free(struct xfer *x)
{
	if (!x)
		return;
	curl_easy_cleanup(x->e);
	curl_slist_free_all(x->hdrs);
	free(x->body);
	free(x);
}

static bool in_flight(const struct deliverer *d, int64_t webhook_id)
{
	for (size_t i = 0; i < d->nx; i++)
		if (d->x[i]->webhook_id == webhook_id)
			return true;
	return false;
}

/* Rows older than give_up_after stop being retried (kept, visible). */
static void give_up_old(struct deliverer *d, time_t now)
{
	char err[ERRLEN];
	int n = 0;
	if (webhooks_outbox_give_up_old(d->db, now, d->cfg->webhook_give_up_s, &n, err,
					sizeof(err)))
		log_warn("webhook outbox: cannot mark old rows: %s", err);
	else if (n > 0)
		log_warn("webhook outbox: gave up on %d notification(s) older than %llds", n,
			 (long long)d->cfg->webhook_give_up_s);
}

/* Start the head row of every enabled webhook that is due and idle
 * (webhooks_outbox_due() says which row is the head). Rows of webhooks in
 * flight are skipped: at most d->nx of them, so MAX_INFLIGHT heads are
 * enough to fill every free slot. Returns how many started, or a negative
 * errno with the message in @err. */
static int start_due(struct deliverer *d, time_t now, char *err, size_t errlen)
{
	struct webhooks_due *due = NULL;
	size_t n = 0;
	int started = 0;
	int rc = webhooks_outbox_due(d->db, now, MAX_INFLIGHT, &due, &n, err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && d->nx < MAX_INFLIGHT; i++) {
		if (in_flight(d, due[i].webhook_id))
			continue;
		struct xfer *x = calloc(1, sizeof(*x));
		if (!x)
			break;
		x->row_id = due[i].id;
		x->webhook_id = due[i].webhook_id;
		x->attempts = due[i].attempts;
		x->created_at = due[i].created_at;
		x->body = due[i].body; /* taken over */
		due[i].body = NULL;
		if (x->body)
			x->e = webhook_request_new(d->cfg, due[i].url, due[i].secret, x->body,
						   due[i].key, now, &x->hdrs, x->errbuf);
		if (!x->e || curl_easy_setopt(x->e, CURLOPT_PRIVATE, x) != CURLE_OK ||
		    curl_multi_add_handle(d->multi, x->e) != CURLM_OK) {
			xfer_free(x);
			break;
		}
		d->x[d->nx++] = x;
		started++;
	}
	webhooks_due_free(due, n);
	return started;
}

static void record(struct deliverer *d, struct xfer *x, CURLcode cc, long status, time_t now)
{
	char msg[CURL_ERROR_SIZE + 64], esc[CURL_ERROR_SIZE * 4], err[ERRLEN];
	enum webhook_verdict v = webhook_classify(cc == CURLE_OK, status);

	if (v == WEBHOOK_DELIVERED) {
		if (webhooks_outbox_delivered(d->db, x->row_id, err, sizeof(err)))
			goto dberr;
		d->delivered++;
		log_debug("webhook %lld: delivered outbox row %lld (HTTP %ld)",
			  (long long)x->webhook_id, (long long)x->row_id, status);
		return;
	}
	if (cc != CURLE_OK)
		snprintf(msg, sizeof(msg), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
	else if (status >= 300 && status < 400)
		snprintf(msg, sizeof(msg), "HTTP %ld (redirects are not followed)", status);
	else
		snprintf(msg, sizeof(msg), "HTTP %ld", status);
	int attempts = x->attempts + 1;
	bool give_up = v == WEBHOOK_PERMANENT || now - x->created_at >= d->cfg->webhook_give_up_s;
	int64_t delay = webhook_backoff(attempts, d->cfg->webhook_backoff_cap_s, jitter());
	log_escape(msg, esc, sizeof(esc));
	if (give_up)
		log_warn("webhook %lld: giving up on outbox row %lld after %d attempt(s): %s",
			 (long long)x->webhook_id, (long long)x->row_id, attempts, esc);
	else
		log_info("webhook %lld: attempt %d for outbox row %lld failed (%s); retry in %llds",
			 (long long)x->webhook_id, attempts, (long long)x->row_id, esc,
			 (long long)delay);
	struct webhooks_attempt a = {
		.id = x->row_id,
		.attempts = attempts,
		.status = cc == CURLE_OK ? status : 0,
		.error = msg,
		.given_up = give_up,
		.next_attempt_at = give_up ? now : now + delay,
	};
	if (!webhooks_outbox_failed(d->db, &a, err, sizeof(err)))
		return;
dberr:
	/* The row stays as it was: it is attempted again (at-least-once). */
	log_warn("webhook outbox: cannot record the outcome of row %lld: %s", (long long)x->row_id,
		 err);
}

/* Record every finished transfer; returns how many finished. */
static int collect(struct deliverer *d, time_t now)
{
	CURLMsg *m;
	int left, done = 0;
	while ((m = curl_multi_info_read(d->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct xfer *x = NULL;
		long status = 0;
		CURLcode cc = m->data.result;
		CURL *e = m->easy_handle;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
		if (cc == CURLE_OK)
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
		curl_multi_remove_handle(d->multi, e);
		if (!x)
			continue;
		record(d, x, cc, status, now);
		for (size_t i = 0; i < d->nx; i++) {
			if (d->x[i] == x) {
				d->x[i] = d->x[--d->nx];
				break;
			}
		}
		xfer_free(x);
		done++;
	}
	return done;
}

static void abandon_all(struct deliverer *d)
{
	for (size_t i = 0; i < d->nx; i++) {
		curl_multi_remove_handle(d->multi, d->x[i]->e);
		xfer_free(d->x[i]);
	}
	d->nx = 0;
}

int webhook_deliver_due(struct db *db, const struct config *cfg, time_t now, int *delivered,
			char *err, size_t errlen)
{
	struct deliverer d = { .cfg = cfg, .db = db };
	int rc = 0;
	if (delivered)
		*delivered = 0;
	d.multi = curl_multi_init();
	if (!d.multi)
		return util_err(err, errlen, -ENOMEM, "curl_multi_init failed");
	give_up_old(&d, now);
	/* Rounds: after a delivery the next row of that webhook may be due. */
	for (int round = 0; round < 10000; round++) {
		char msg[ERRLEN];
		int started = start_due(&d, now, msg, sizeof(msg));
		if (started < 0) {
			rc = util_err(err, errlen, started, "reading the outbox: %s", msg);
			break;
		}
		if (started == 0)
			break;
		int before = d.delivered, running = 1;
		while (running) {
			if (curl_multi_perform(d.multi, &running) != CURLM_OK)
				break;
			if (running)
				curl_multi_poll(d.multi, NULL, 0, 200, NULL);
		}
		collect(&d, now);
		abandon_all(&d);
		if (d.delivered == before)
			break;
	}
	abandon_all(&d);
	curl_multi_cleanup(d.multi);
	if (delivered)
		*delivered = d.delivered;
	return rc;
}

/* ---- the thread --------------------------------------------------------- */

struct webhook_worker {
	struct config cfg;
	struct deliverer d;
	pthread_t thread;
	atomic_bool stop;
	atomic_bool kicked;
};

static void *worker_main(void *arg)
{
	struct webhook_worker *w = arg;
	struct deliverer *d = &w->d;
	int64_t last_scan = 0;

	while (!atomic_load(&w->stop)) {
		int64_t ms = util_mono_ms();
		bool kicked = atomic_exchange(&w->kicked, false);
		/* Nothing new goes out while the database is read-only (dbhealth.h):
		 * a delivery that cannot be recorded would be repeated. */
		if ((kicked || ms - last_scan >= 1000) && !dbhealth_writable()) {
			last_scan = ms;
		} else if (kicked || ms - last_scan >= 1000) {
			char err[ERRLEN];
			if (dbhealth_refresh(&d->db, DB_NO_CREATE, err, sizeof(err)) < 0)
				log_warn("webhook outbox: reopening the database: %s", err);
			time_t now = util_now();
			give_up_old(d, now);
			if (start_due(d, now, err, sizeof(err)) < 0)
				log_warn("webhook outbox: cannot read: %s", err);
			last_scan = ms;
		}
		int running = 0;
		curl_multi_perform(d->multi, &running);
		if (collect(d, util_now()) > 0)
			last_scan = 0; /* a slot is free: the next row of that webhook may go now */
		if (atomic_load(&w->stop))
			break;
		curl_multi_poll(d->multi, NULL, 0, last_scan ? 1000 : 10, NULL);
	}
	abandon_all(d);
	return NULL;
}

struct webhook_worker *webhook_worker_new(const struct config *cfg, const char *db_path, char *err,
					  size_t errlen)
{
	struct webhook_worker *w = calloc(1, sizeof(*w));
	if (!w) {
		util_err(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	w->cfg = *cfg;
	w->d.cfg = &w->cfg;
	atomic_init(&w->stop, false);
	atomic_init(&w->kicked, true);
	w->d.db = db_open(db_path, DB_NO_CREATE | DB_RO_FALLBACK, err, errlen);
	if (!w->d.db)
		goto fail;
	w->d.multi = curl_multi_init();
	if (!w->d.multi) {
		util_err(err, errlen, -ENOMEM, "curl_multi_init failed");
		goto fail;
	}
	int rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc) {
		util_err(err, errlen, -rc, "cannot start the webhook thread: %s", strerror(rc));
		goto fail;
	}
	return w;
fail:
	if (w->d.multi)
		curl_multi_cleanup(w->d.multi);
	db_close(w->d.db);
	free(w);
	curl_global_cleanup();
	return NULL;
}

void webhook_worker_kick(struct webhook_worker *w)
{
	if (!w)
		return;
	atomic_store(&w->kicked, true);
	curl_multi_wakeup(w->d.multi);
}

void webhook_worker_free(struct webhook_worker *w)
{
	if (!w)
		return;
	atomic_store(&w->stop, true);
	curl_multi_wakeup(w->d.multi);
	pthread_join(w->thread, NULL);
	curl_multi_cleanup(w->d.multi);
	db_close(w->d.db);
	free(w);
	curl_global_cleanup();
}
