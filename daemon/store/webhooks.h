/* The webhook tables in the store: which webhooks receive alerts, and the
 * outbox their notifications wait in (tables webhooks, webhook_outbox;
 * docs/webhooks.md). Payloads, signing and delivery live in alerts/.
 */
#ifndef PINWATCH_WEBHOOKS_H
#define PINWATCH_WEBHOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

struct db;

/** Most webhooks the store hands out (the CLI and API refuse more). */
#define WEBHOOKS_MAX 1024

/** An enabled webhook, as the alerts engine needs it. */
struct webhooks_target {
	int64_t id;
	char format[16];       /**< "generic", "slack" (schema CHECK); "" when longer */
	char min_severity[16]; /**< "info", "warning", "critical"; "" when longer */
};

/**
 * The enabled webhooks in id order (at most WEBHOOKS_MAX) into a new array
 * *out of *n (free() it; NULL when none). 0, -ENOMEM, or a negative errno of
 * the database with a message in @err.
 */
int webhooks_enabled(struct db *db, struct webhooks_target **out, size_t *n, char *err,
		     size_t errlen);

/**
 * Queue @body (the payload, copied) for webhook @webhook_id about alert
 * @alert_id under @key: a new pending outbox row due at @now, or, when the
 * webhook already has a row with that key, that row made pending again with
 * this body and no attempts (a notification is queued once per key). Runs in
 * the caller's transaction when there is one. 0 or negative errno with a
 * message in @err.
 */
int webhooks_enqueue(struct db *db, int64_t webhook_id, int64_t alert_id, const char *key,
		     const char *body, time_t now, char *err, size_t errlen);

/** Outbox rows pending and given up into *pending and *given_up. 0 or -EIO. */
int webhooks_outbox_counts(struct db *db, int64_t *pending, int64_t *given_up);

/* ---- delivery: the rows the worker (alerts/webhook_worker.c) sends ---- */

/** The head outbox row of one webhook, due for an attempt (webhooks_outbox_due). */
struct webhooks_due {
	int64_t id, webhook_id;
	int attempts;
	time_t next_attempt_at, created_at;
	char *key, *body;   /**< idempotency key and payload; owned */
	char *url, *secret; /**< the webhook's; owned; secret NULL when none */
};

/**
 * The head row of every enabled webhook when it is due at @now, in outbox id
 * order, at most @max (<= 0: none): per webhook the most severe pending row
 * (by its alert's current severity: critical, warning, then the rest), the
 * oldest first among equals, and never a row whose alert has an older row
 * still pending (a "resolved" or a downgrade never overtakes what it
 * follows). A webhook whose head is not due yet starts nothing. On success
 * *rows is a new array of *n rows (NULL when none) to free with
 * webhooks_due_free(). 0, -ENOMEM, or -EIO/-EBUSY with SQLite's message in @err.
 */
int webhooks_outbox_due(struct db *db, time_t now, size_t max, struct webhooks_due **rows,
			size_t *n, char *err, size_t errlen);
/** Free @rows from webhooks_outbox_due (NULL-safe). */
void webhooks_due_free(struct webhooks_due *rows, size_t n);

/**
 * Give up on the pending rows created at least @give_up_s before @now: state
 * given_up, last_error "gave up after <age>s: <last error or 'never
 * delivered'>" (kept, visible). Looks first and writes only when such a row
 * exists (an UPDATE takes the write lock even when nothing matches). How many
 * rows into *given_up (may be NULL). 0 or a negative errno with SQLite's
 * message in @err.
 */
int webhooks_outbox_give_up_old(struct db *db, time_t now, int64_t give_up_s, int *given_up,
				char *err, size_t errlen);

/** Delete outbox row @id: it was delivered. 0 or a negative errno with SQLite's message in @err. */
int webhooks_outbox_delivered(struct db *db, int64_t id, char *err, size_t errlen);

/** A failed delivery attempt of one outbox row, as webhooks_outbox_failed() records it. */
struct webhooks_attempt {
	int64_t id;		/**< the outbox row */
	int attempts;		/**< attempts made so far, this one included */
	long status;		/**< HTTP status; 0: none (no response) */
	const char *error;	/**< last_error (borrowed) */
	bool given_up;		/**< state given_up instead of pending */
	time_t next_attempt_at; /**< when to try again (given up: now) */
};

/**
 * Record the failed attempt @a on its row when that row is still pending (a
 * row given up or retried meanwhile is left alone). 0 or a negative errno
 * with SQLite's message in @err.
 */
int webhooks_outbox_failed(struct db *db, const struct webhooks_attempt *a, char *err,
			   size_t errlen);

/* ---- configuration rows: the contracts of alerts/webhook.h's webhook_add,
 * webhook_remove, webhook_list_json, webhook_outbox_json, webhook_outbox_retry,
 * which check their inputs and call these. ---- */

/** Longest URL the store shows redacted (alerts/webhook.h WEBHOOK_URL_MAX). */
#define WEBHOOKS_URL_MAX 2048
/** Write @url without its secrets (userinfo, query) into @out. 0 or negative errno. */
typedef int (*webhooks_redact_fn)(const char *url, char *out, size_t outlen);

/**
 * Add an enabled webhook (at most 1024: -ENOSPC) with its audit row
 * ("create" "webhook", showing @url_shown) in one transaction; id into *id.
 */
int webhooks_add(struct db *db, const char *actor, const char *url, const char *format,
		 const char *secret, const char *min_severity, const char *url_shown, time_t now,
		 int64_t *id, char *err, size_t errlen);
/** Delete webhook @id (-ENOENT), audited with the row as @redact shows it. */
int webhooks_remove(struct db *db, const char *actor, int64_t id, webhooks_redact_fn redact,
		    char *err, size_t errlen);
/** Every webhook (URL shown through @redact) with its pending and given-up counts. */
int webhooks_list_json(struct db *db, webhooks_redact_fn redact, json_t **out, char *err,
		       size_t errlen);
/** Outbox rows (of @state, NULL: any) in id order, at most @limit (<= 0: 1000). */
int webhooks_outbox_json(struct db *db, const char *state, int limit, json_t **out, char *err,
			 size_t errlen);
/** Make given-up outbox row @id pending again (-ENOENT when it is not given up); audited. */
int webhooks_outbox_retry(struct db *db, const char *actor, int64_t id, time_t now, char *err,
			  size_t errlen);
/** URL, format name and secret ("" when none) of webhook @id. 0, -ENOENT, -EIO. */
int webhooks_target_get(struct db *db, int64_t id, char *url, size_t urllen, char *format,
			size_t formatlen, char *secret, size_t secretlen, char *err, size_t errlen);

#endif
