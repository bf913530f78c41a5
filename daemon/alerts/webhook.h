/* Webhooks: configuration rows, payloads (generic Alertmanager-like and
 * Slack), signatures, and the delivery worker that drains webhook_outbox.
 *
 * Delivery is at-least-once: an outbox row is written in the transaction that
 * changes the alert (alerts.c) and deleted only after the receiver answered
 * 2xx. 5xx, 408, 429, timeouts and connection errors are retried with
 * exponential backoff and jitter (capped at [webhook] backoff_cap); other
 * answers (3xx — redirects are never followed — and 4xx) are permanent and
 * the row becomes 'given_up', as does a row older than [webhook]
 * give_up_after. Per webhook, rows are delivered one at a time in id order so
 * that "resolved" never overtakes "firing"; different webhooks are served
 * concurrently (curl multi), so a hanging receiver delays only itself, and at
 * most by [webhook] timeout_ms per attempt.
 */
#ifndef PINWATCH_WEBHOOK_H
#define PINWATCH_WEBHOOK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/severity.h"

struct db;
struct config;

enum webhook_format { WEBHOOK_GENERIC = 0, WEBHOOK_SLACK = 1 };

#define WEBHOOK_URL_MAX	   2048
#define WEBHOOK_SECRET_MAX 256
/** Hard cap on one payload (bytes). */
#define WEBHOOK_BODY_MAX (256 * 1024)

/** One alert notification as the payload builders see it (all borrowed). */
struct webhook_alert {
	int64_t alert_id;
	const char *fingerprint;
	const char *kind;	/**< alerts_kind_name() */
	enum severity severity; /**< SEVERITY_INFO..SEVERITY_CRITICAL (severity_name()) */
	const char *status;	/**< "firing" | "resolved" */
	const char *endpoint;	/**< "host:port" or NULL */
	int64_t endpoint_id;	/**< 0: none */
	const char *app;	/**< app name or NULL */
	const char *summary;
	json_t *details; /**< may be NULL; see struct alert_cond */
	time_t starts_at;
	time_t ends_at; /**< 0 while firing */
};

/** Parse a format name. 0 or -EINVAL. */
int webhook_format_parse(const char *s, enum webhook_format *out);

/**
 * Check that @url is an absolute http:// or https:// URL with a host, using
 * libcurl's URL API, and at most WEBHOOK_URL_MAX bytes. 0 or -EINVAL with
 * the reason in @err.
 */
int webhook_url_check(const char *url, char *err, size_t errlen);

/**
 * Build the request body for @a in format @fmt. @base_url ([http] base_url,
 * may be empty) makes the dashboard link; @receiver names the webhook in the
 * generic payload. Returns a malloc'd NUL-terminated JSON text (caller
 * frees), or NULL (out of memory, or still larger than WEBHOOK_BODY_MAX
 * without @a->details: details that make it larger are left out).
 * Slack text has <, > and & escaped as Slack requires; JSON encoding is
 * jansson's, so untrusted text cannot break out of its string.
 */
char *webhook_payload(enum webhook_format fmt, const struct webhook_alert *a, const char *base_url,
		      const char *receiver);

/**
 * "sha256=<hex HMAC-SHA256(@secret, @body)>" into @out (>= 72 bytes).
 * 0 or -EIO.
 */
int webhook_signature(const char *secret, const char *body, size_t len, char *out, size_t outlen);

/**
 * Retry delay in seconds after @attempts failed attempts (>= 1):
 * min(cap, 2^(attempts-1)) scaled by a jitter factor in [0.5, 1.0] taken from
 * @rnd in [0, 1); at least 1 second. Pure.
 */
int64_t webhook_backoff(int attempts, int64_t cap_s, double rnd);

/** How one attempt ended. */
enum webhook_verdict { WEBHOOK_DELIVERED, WEBHOOK_RETRY, WEBHOOK_PERMANENT };

/**
 * Classify an attempt: @curl_ok whether the transfer completed (a CURLcode of
 * CURLE_OK), @http_status the response code. Pure.
 */
enum webhook_verdict webhook_classify(bool curl_ok, long http_status);

/** Add a webhook (URL checked, secret required, audited). 0 or negative errno, id in *id. */
int webhook_add(struct db *db, const char *actor, const char *url, enum webhook_format fmt,
		const char *secret, const char *min_severity, time_t now, int64_t *id, char *err,
		size_t errlen);
/** Remove webhook @id and its outbox rows (audited). 0, -ENOENT or -EIO. */
int webhook_remove(struct db *db, const char *actor, int64_t id, char *err, size_t errlen);
/**
 * Webhooks as a JSON array: id, url, format, min_severity, enabled,
 * created_at, has_secret, pending, given_up. Never the secret. Caller owns *out.
 */
int webhook_list_json(struct db *db, json_t **out, char *err, size_t errlen);

/** Outbox rows in state 'pending' and 'given_up' (for the API and /metrics). 0 or -EIO. */
int webhook_outbox_counts(struct db *db, int64_t *pending, int64_t *given_up);

/**
 * Outbox rows as a JSON array (oldest first, at most @limit): id, webhook_id,
 * alert_id, idempotency_key, state, attempts, next_attempt_at, last_status,
 * last_error, created_at — not the body. @state: "pending", "given_up" or
 * NULL for both. Caller owns *out. 0 or -EIO.
 */
int webhook_outbox_json(struct db *db, const char *state, int limit, json_t **out, char *err,
			size_t errlen);

/**
 * Put given-up outbox row @id back in the queue (attempts 0, due now, age
 * counted from @now), audited. 0, -ENOENT (no such given-up row) or -EIO.
 */
int webhook_outbox_retry(struct db *db, const char *actor, int64_t id, time_t now, char *err,
			 size_t errlen);

/**
 * Send one test notification to webhook @id now, synchronously, with the
 * configured timeouts; no outbox row. *http_status gets the answer (0 when
 * none). 0 on 2xx, -EPROTO on another status, -EIO on a transfer error,
 * -ENOENT for an unknown id; message in @err.
 */
int webhook_test(struct db *db, const struct config *cfg, int64_t id, long *http_status, char *err,
		 size_t errlen);

struct webhook_worker;

/**
 * Start the delivery thread with its own connection to @db_path. @cfg is
 * copied. NULL on failure with a message in @err.
 */
struct webhook_worker *webhook_worker_new(const struct config *cfg, const char *db_path, char *err,
					  size_t errlen);
/** Wake the worker (after alerts_apply() wrote rows). Thread-safe; NULL-safe. */
void webhook_worker_kick(struct webhook_worker *w);
/**
 * Stop the thread (in-flight attempts are abandoned and stay pending, so they
 * are retried at the next start) and free. Returns within about a second.
 * NULL-safe.
 */
void webhook_worker_free(struct webhook_worker *w);

/**
 * Run one pass synchronously on @db (tests and `pinwatch webhook flush`):
 * attempt every due row, wait for them (bounded by the timeouts), record the
 * outcomes. Stores the number of rows delivered in *delivered (may be NULL).
 * 0 or negative errno.
 */
int webhook_deliver_due(struct db *db, const struct config *cfg, time_t now, int *delivered,
			char *err, size_t errlen);

#endif
