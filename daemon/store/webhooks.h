/* The webhook tables in the store: which webhooks receive alerts, and the
 * outbox their notifications wait in (tables webhooks, webhook_outbox;
 * docs/webhooks.md). Payloads, signing and delivery live in alerts/.
 */
#ifndef PINWATCH_WEBHOOKS_H
#define PINWATCH_WEBHOOKS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

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

#endif
