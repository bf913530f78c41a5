/* The webhook tables in the store: which webhooks receive alerts, and the
 * outbox their notifications wait in (tables webhooks, webhook_outbox;
 * docs/webhooks.md). Payloads, signing and delivery live in alerts/.
 */
#ifndef PINWATCH_WEBHOOKS_H
#define PINWATCH_WEBHOOKS_H

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
