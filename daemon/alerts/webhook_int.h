/* Internals shared by webhook.c and webhook_worker.c (not a public API). */
#ifndef PINWATCH_WEBHOOK_INT_H
#define PINWATCH_WEBHOOK_INT_H

#include <curl/curl.h>
#include <time.h>

struct config;

/**
 * A configured POST of @body to @url: signature (when @secret is non-empty),
 * timestamp and idempotency headers, the configured timeouts, no redirects,
 * http/https only, no proxy unless configured. The request borrows @body and
 * @errbuf (CURL_ERROR_SIZE) until it is cleaned up; the caller frees *hdrs
 * (curl_slist_free_all) after curl_easy_cleanup. NULL on failure.
 */
CURL *webhook_request_new(const struct config *cfg, const char *url, const char *secret,
			  const char *body, const char *idem_key, time_t now,
			  struct curl_slist **hdrs, char *errbuf);

/** @url as scheme://host[:port], with "/..." when a path or query followed. 0 or -EINVAL/-ENOSPC.
 */
int webhook_redact_url(const char *url, char *out, size_t outlen);

#endif
