/* Webhook payloads, signatures, configuration rows and the test request.
 * The delivery worker lives in webhook_worker.c. */
#include "alerts/webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/severity.h"
#include "store/webhooks.h"
#include "store/audit.h"
#include "build_config.h"
#include "base/config.h"
#include "store/db.h"
#include "base/util.h"
#include "alerts/webhook_int.h"

_Static_assert(WEBHOOKS_URL_MAX == WEBHOOK_URL_MAX, "the store shows URLs of any length");

/* "generic" / "slack". */
static const char *webhook_format_name(enum webhook_format f)
{
	return f == WEBHOOK_SLACK ? "slack" : "generic";
}

int webhook_format_parse(const char *s, enum webhook_format *out)
{
	if (s && !strcmp(s, "generic"))
		*out = WEBHOOK_GENERIC;
	else if (s && !strcmp(s, "slack"))
		*out = WEBHOOK_SLACK;
	else
		return -EINVAL;
	return 0;
}

int webhook_url_check(const char *url, char *err, size_t errlen)
{
	char *scheme = NULL, *host = NULL;
	int rc = 0;

	if (!url || !*url)
		return util_err(err, errlen, -EINVAL, "empty URL");
	if (strlen(url) > WEBHOOK_URL_MAX)
		return util_err(err, errlen, -EINVAL, "URL longer than %d bytes", WEBHOOK_URL_MAX);
	CURLU *u = curl_url();
	if (!u)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (uc != CURLUE_OK) {
		rc = util_err(err, errlen, -EINVAL, "not a valid absolute URL: %s",
			      curl_url_strerror(uc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		rc = util_err(err, errlen, -EINVAL, "only http:// and https:// URLs are accepted");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
		rc = util_err(err, errlen, -EINVAL, "URL has no host");
		goto out;
	}
	/* The schema's CHECK wants the scheme in lower case at the start. */
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		rc = util_err(err, errlen, -EINVAL, "URL must start with http:// or https://");
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

int webhook_redact_url(const char *url, char *out, size_t outlen)
{
	/* Webhook URLs carry their credentials anywhere after the host (Slack's
	 * /services/T/B/XYZ, ?token=, user:password@): scheme, host and port only. */
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
	int rc = -EINVAL;
	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		(void)curl_url_get(u, CURLUPART_PORT, &port, 0);
		(void)curl_url_get(u, CURLUPART_PATH, &path, 0);
		(void)curl_url_get(u, CURLUPART_QUERY, &query, 0);
		bool more = (path && path[0] && strcmp(path, "/")) || (query && query[0]);
		int n = snprintf(out, outlen, "%s://%s%s%s%s", scheme, host, port ? ":" : "",
				 port ? port : "", more ? "/..." : "");
		rc = n < 0 || (size_t)n >= outlen ? -ENOSPC : 0;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return rc;
}

/* ---- requests ----------------------------------------------------------- */

static size_t discard(char *ptr, size_t size, size_t nmemb, void *user)
{
	(void)ptr;
	(void)user;
	return size * nmemb;
}

CURL *webhook_request_new(const struct config *cfg, const char *url, const char *secret,
			  const char *body, const char *idem_key, time_t now,
			  struct curl_slist **hdrs, char *errbuf)
{
	char sig[80], h[512];
	struct curl_slist *l = NULL, *t;
	CURL *e = curl_easy_init();
	*hdrs = NULL;
	if (!e)
		return NULL;

#define ADD(str)                                        \
	do {                                            \
		if (!(t = curl_slist_append(l, (str)))) \
			goto fail;                      \
		l = t;                                  \
	} while (0)
	ADD("Content-Type: application/json");
	ADD("Expect:");
	snprintf(h, sizeof(h), "X-Pinwatch-Timestamp: %lld", (long long)now);
	ADD(h);
	if (secret && *secret) {
		if (webhook_signature(secret, body, strlen(body), sig, sizeof(sig)))
			goto fail;
		snprintf(h, sizeof(h), "X-Pinwatch-Signature: %s", sig);
		ADD(h);
	}
	if (idem_key && strlen(idem_key) < 400) {
		snprintf(h, sizeof(h), "Idempotency-Key: %s", idem_key);
		ADD(h);
	}
#undef ADD
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK)
		goto fail;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, l);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(e, CURLOPT_USERAGENT, "pinwatch/" PINWATCH_VERSION);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->webhook_connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->webhook_timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* Never take a proxy from the environment: only the configured one. */
	curl_easy_setopt(e, CURLOPT_PROXY, cfg->webhook_proxy);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(1 << 20));
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	errbuf[0] = 0;
	*hdrs = l;
	return e;
fail:
	curl_slist_free_all(l);
	curl_easy_cleanup(e);
	return NULL;
}

/* ---- configuration rows ------------------------------------------------- */

int webhook_add(struct db *db, const char *actor, const char *url, enum webhook_format fmt,
		const char *secret, const char *min_severity, time_t now, int64_t *id, char *err,
		size_t errlen)
{
	enum severity sev = SEVERITY_WARNING;
	int rc = webhook_url_check(url, err, errlen);
	if (rc)
		return rc;
	if (!secret || !*secret)
		return util_err(err, errlen, -EINVAL,
				"a secret is required (it signs every request)");
	if (strlen(secret) > WEBHOOK_SECRET_MAX)
		return util_err(err, errlen, -EINVAL, "secret longer than %d bytes",
				WEBHOOK_SECRET_MAX);
	if (util_has_ctrl(secret))
		return util_err(err, errlen, -EINVAL, "secret contains control characters");
	if (min_severity && severity_parse(min_severity, SEVERITY_INFO, &sev))
		return util_err(err, errlen, -EINVAL,
				"min-severity must be info, warning or critical, got '%s'",
				min_severity);
	char red[WEBHOOK_URL_MAX + 16];
	if (webhook_redact_url(url, red, sizeof(red)))
		snprintf(red, sizeof(red), "?");
	return webhooks_add(db, actor, url, webhook_format_name(fmt), secret, severity_name(sev),
			    red, now, id, err, errlen);
}

int webhook_remove(struct db *db, const char *actor, int64_t id, char *err, size_t errlen)
{
	return webhooks_remove(db, actor, id, webhook_redact_url, err, errlen);
}

int webhook_list_json(struct db *db, json_t **out, char *err, size_t errlen)
{
	return webhooks_list_json(db, webhook_redact_url, out, err, errlen);
}

int webhook_outbox_counts(struct db *db, int64_t *pending, int64_t *given_up)
{
	return webhooks_outbox_counts(db, pending, given_up);
}

int webhook_outbox_json(struct db *db, const char *state, int limit, json_t **out, char *err,
			size_t errlen)
{
	return webhooks_outbox_json(db, state, limit, out, err, errlen);
}

int webhook_outbox_retry(struct db *db, const char *actor, int64_t id, time_t now, char *err,
			 size_t errlen)
{
	return webhooks_outbox_retry(db, actor, id, now, err, errlen);
}

int webhook_test(struct db *db, const struct config *cfg, int64_t id, long *http_status, char *err,
		 size_t errlen)
{
	char url[WEBHOOK_URL_MAX + 1], secret[WEBHOOK_SECRET_MAX + 1] = "", fp[64], key[128];
	char receiver[64], errbuf[CURL_ERROR_SIZE], format[16] = "";
	enum webhook_format fmt = WEBHOOK_GENERIC;
	time_t now = util_now();

	*http_status = 0;
	int rc = webhooks_target_get(db, id, url, sizeof(url), format, sizeof(format), secret,
				     sizeof(secret), err, errlen);
	if (rc)
		return rc;
	(void)webhook_format_parse(format, &fmt);

	snprintf(fp, sizeof(fp), "pinwatch-test-%lld", (long long)id);
	snprintf(key, sizeof(key), "%s:firing:%lld", fp, (long long)now);
	snprintf(receiver, sizeof(receiver), "pinwatch-webhook-%lld", (long long)id);
	json_t *details = json_pack("{s:[s]}", "reasons",
				    "This is a test notification sent by 'pinwatch webhook test'.");
	struct webhook_alert a = { .fingerprint = fp,
				   .kind = "test",
				   .severity = SEVERITY_INFO,
				   .status = "firing",
				   .summary = "pinwatch test notification: the webhook works",
				   .details = details,
				   .starts_at = now };
	char *body = webhook_payload(fmt, &a, cfg->http_base_url, receiver);
	json_decref(details);
	if (!body)
		return util_err(err, errlen, -ENOMEM, "cannot build payload");
	struct curl_slist *hdrs = NULL;
	CURL *e = webhook_request_new(cfg, url, secret, body, key, now, &hdrs, errbuf);
	if (!e) {
		free(body);
		return util_err(err, errlen, -ENOMEM, "cannot set up the request");
	}
	CURLcode cc = curl_easy_perform(e);
	if (cc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, http_status);
	switch (webhook_classify(cc == CURLE_OK, *http_status)) {
	case WEBHOOK_DELIVERED:
		rc = 0;
		break;
	default:
		if (cc != CURLE_OK)
			rc = util_err(err, errlen, -EIO, "%s",
				      errbuf[0] ? errbuf : curl_easy_strerror(cc));
		else
			rc = util_err(err, errlen, -EPROTO, "receiver answered HTTP %ld",
				      *http_status);
	}
	curl_easy_cleanup(e);
	curl_slist_free_all(hdrs);
	free(body);
	return rc;
}
