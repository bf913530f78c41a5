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
	static const char sql[] =
		"UPDATE webhook_outbox SET state = 'given_up', last_error = 'gave up after ' ||"
		" (?1 - created_at) || 's: ' || coalesce(last_error, 'never delivered')"
		" WHERE state = 'pending' AND created_at <= ?1 - ?2";
	static const char sql_any[] = "SELECT 1 FROM webhook_outbox WHERE state = 'pending'"
				      " AND created_at <= ?1 - ?2 LIMIT 1";
	/* Look first: an UPDATE takes the write lock even when nothing matches,
	 * and this runs every second next to the prober's writer. */
	sqlite3_stmt *s = db_stmt(d->db, sql_any);
	if (!s)
		return;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, d->cfg->webhook_give_up_s);
	int any = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_reset(s);
	if (!any || !(s = db_stmt(d->db, sql)))
		return;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, d->cfg->webhook_give_up_s);
	if (sqlite3_step(s) != SQLITE_DONE)
		log_warn("webhook outbox: cannot mark old rows: %s", db_errmsg(d->db));
	else if (sqlite3_changes(db_handle(d->db)) > 0)
		log_warn("webhook outbox: gave up on %d notification(s) older than %llds",
			 sqlite3_changes(db_handle(d->db)), (long long)d->cfg->webhook_give_up_s);
	sqlite3_reset(s);
}

/* Start the head row of every enabled webhook that is due and idle. The head
 * is the most severe pending row (by its alert's current severity; a
 * critical never waits behind warnings and infos), the oldest first among
 * equals, and never a row whose alert has an older row still pending (a
 * "resolved" or a downgrade never overtakes what it follows). */
static int start_due(struct deliverer *d, time_t now)
{
	static const char sql[] =
		"SELECT o.id, o.webhook_id, o.idempotency_key, o.body, o.attempts, "
		"o.next_attempt_at,"
		" o.created_at, w.url, w.secret FROM webhooks w JOIN webhook_outbox o ON o.id ="
		" (SELECT h.id FROM webhook_outbox h LEFT JOIN alerts a ON a.id = h.alert_id"
		"  WHERE h.webhook_id = w.id AND h.state = 'pending' AND (h.alert_id IS NULL OR"
		"  NOT EXISTS (SELECT 1 FROM webhook_outbox p WHERE p.webhook_id = h.webhook_id"
		"  AND p.state = 'pending' AND p.alert_id = h.alert_id AND p.id < h.id))"
		"  ORDER BY CASE a.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1"
		"  ELSE 2 END, h.id LIMIT 1)"
		" WHERE w.enabled = 1 ORDER BY o.id";
	sqlite3_stmt *s = db_stmt(d->db, sql);
	int rc, started = 0;
	if (!s)
		return -EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && d->nx < MAX_INFLIGHT) {
		int64_t wid = sqlite3_column_int64(s, 1);
		if (sqlite3_column_int64(s, 5) > now || in_flight(d, wid))
			continue;
		struct xfer *x = calloc(1, sizeof(*x));
		if (!x)
			break;
		x->row_id = sqlite3_column_int64(s, 0);
		x->webhook_id = wid;
		x->attempts = sqlite3_column_int(s, 4);
		x->created_at = (time_t)sqlite3_column_int64(s, 6);
		x->body = strdup((const char *)sqlite3_column_text(s, 3));
		const char *key = (const char *)sqlite3_column_text(s, 2);
		const char *url = (const char *)sqlite3_column_text(s, 7);
		const char *secret = (const char *)sqlite3_column_text(s, 8);
		if (x->body)
			x->e = webhook_request_new(d->cfg, url, secret, x->body, key, now, &x->hdrs,
						   x->errbuf);
		if (!x->e || curl_easy_setopt(x->e, CURLOPT_PRIVATE, x) != CURLE_OK ||
		    curl_multi_add_handle(d->multi, x->e) != CURLM_OK) {
			xfer_free(x);
			break;
		}
		d->x[d->nx++] = x;
		started++;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? started : -EIO;
}

static void record(struct deliverer *d, struct xfer *x, CURLcode cc, long status, time_t now)
{
	static const char sql_del[] = "DELETE FROM webhook_outbox WHERE id = ?";
	static const char sql_upd[] =
		"UPDATE webhook_outbox SET attempts = ?2, last_status = NULLIF(?3, 0), last_error "
		"= ?4,"
		" state = ?5, next_attempt_at = ?6 WHERE id = ?1 AND state = 'pending'";
	char msg[CURL_ERROR_SIZE + 64], esc[CURL_ERROR_SIZE * 4];
	enum webhook_verdict v = webhook_classify(cc == CURLE_OK, status);
	sqlite3_stmt *s;

	if (v == WEBHOOK_DELIVERED) {
		if (!(s = db_stmt(d->db, sql_del)))
			goto dberr;
		sqlite3_bind_int64(s, 1, x->row_id);
		int rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
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
	if (!(s = db_stmt(d->db, sql_upd)))
		goto dberr;
	sqlite3_bind_int64(s, 1, x->row_id);
	sqlite3_bind_int(s, 2, attempts);
	sqlite3_bind_int64(s, 3, cc == CURLE_OK ? status : 0);
	sqlite3_bind_text(s, 4, msg, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 5, give_up ? "given_up" : "pending", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, give_up ? now : now + delay);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return;
dberr:
	/* The row stays as it was: it is attempted again (at-least-once). */
	log_warn("webhook outbox: cannot record the outcome of row %lld: %s", (long long)x->row_id,
		 db_errmsg(d->db));
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
		int started = start_due(&d, now);
		if (started < 0) {
			rc = util_err(err, errlen, -EIO, "reading the outbox: %s", db_errmsg(db));
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
			if (start_due(d, now) < 0)
				log_warn("webhook outbox: cannot read: %s", db_errmsg(d->db));
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
