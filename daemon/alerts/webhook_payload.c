/* Webhook payloads (generic Alertmanager-like, Slack text) and signatures. */
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "alerts/webhook.h"

/* ---- payloads ----------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static void fmt_ts(time_t t, char *buf, size_t len)
{
	if (t <= 0)
		snprintf(buf, len, "0001-01-01T00:00:00Z"); /* Alertmanager's "not set" */
	else
		util_fmt_time(t, buf, len);
}

/* The dashboard link: the condition's own, else one built from base_url. */
static void dashboard_link(const struct webhook_alert *a, const char *base, char *out, size_t len)
{
	const char *own = json_string_value(json_object_get(a->details, "link"));
	out[0] = 0;
	if (own && (!strncmp(own, "http://", 7) || !strncmp(own, "https://", 8))) {
		snprintf(out, len, "%s", own);
		return;
	}
	if (!base || !*base)
		return;
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	if (a->endpoint_id > 0)
		snprintf(out, len, "%.*s/endpoint?id=%lld", (int)bl, base,
			 (long long)a->endpoint_id);
	else
		snprintf(out, len, "%.*s/alerts", (int)bl, base);
}

/* Reasons as one string ("\n"-joined), capped. */
static void reasons_text(json_t *details, char *out, size_t len)
{
	json_t *r = json_object_get(details, "reasons");
	size_t i, off = 0;
	json_t *v;
	out[0] = 0;
	json_array_foreach(r, i, v)
	{
		const char *s = json_string_value(v);
		if (!s)
			continue;
		int n = snprintf(out + off, len - off, "%s%s", off ? "\n" : "", s);
		if (n < 0 || (size_t)n >= len - off) {
			out[len - 1] = 0;
			break;
		}
		off += (size_t)n;
	}
}

static json_t *generic_payload(const struct webhook_alert *a, const char *base,
			       const char *receiver)
{
	char starts[32], ends[32], link[1024], reasons[8192];
	fmt_ts(a->starts_at, starts, sizeof(starts));
	fmt_ts(a->ends_at, ends, sizeof(ends));
	dashboard_link(a, base, link, sizeof(link));
	reasons_text(a->details, reasons, sizeof(reasons));

	json_t *labels = json_pack("{s:s, s:s, s:o, s:o, s:s}", "alertname", a->kind, "severity",
				   a->severity, "endpoint", str_or_null(a->endpoint), "app",
				   str_or_null(a->app), "fingerprint", a->fingerprint);
	json_t *ann = json_pack("{s:s, s:s}", "summary", a->summary ? a->summary : "", "reasons",
				reasons);
	json_t *pw = json_object();
	if (!labels || !ann || !pw)
		goto fail;
	json_t *share = json_object_get(a->details, "stranded_share");
	json_object_set_new(pw, "alert_id", json_integer(a->alert_id));
	json_object_set_new(pw, "kind", json_string(a->kind));
	json_object_set(pw, "stranded_share", json_is_number(share) ? share : json_null());
	json_t *versions = json_object_get(a->details, "versions");
	json_object_set_new(pw, "versions",
			    json_is_array(versions) ? json_deep_copy(versions) : json_array());
	json_t *rs = json_object_get(a->details, "reasons");
	json_object_set_new(pw, "reasons", json_is_array(rs) ? json_deep_copy(rs) : json_array());
	json_object_set_new(pw, "dashboard", str_or_null(link));
	json_object_set_new(pw, "details", a->details ? json_deep_copy(a->details) : json_null());

	json_t *alert = json_pack("{s:s, s:O, s:O, s:s, s:s, s:o, s:s, s:o}", "status", a->status,
				  "labels", labels, "annotations", ann, "startsAt", starts,
				  "endsAt", ends, "generatorURL", str_or_null(link), "fingerprint",
				  a->fingerprint, "pinwatch", pw);
	pw = NULL;
	if (!alert)
		goto fail;
	json_t *root =
		json_pack("{s:s, s:s, s:s, s:s, s:{s:s}, s:O, s:O, s:o, s:i, s:[o]}", "version",
			  "4", "groupKey", a->fingerprint, "status", a->status, "receiver",
			  receiver ? receiver : "pinwatch", "groupLabels", "alertname", a->kind,
			  "commonLabels", labels, "commonAnnotations", ann, "externalURL",
			  str_or_null(base), "truncatedAlerts", 0, "alerts", alert);
	json_decref(labels);
	json_decref(ann);
	return root;
fail:
	json_decref(labels);
	json_decref(ann);
	json_decref(pw);
	return NULL;
}

/* Slack's mrkdwn needs only &, < and > escaped; anything else is literal. */
static void sb_text(struct strbuf *b, const char *s)
{
	for (; s && *s && !strbuf_err(b); s++) {
		if (*s == '&')
			strbuf_addstr(b, "&amp;");
		else if (*s == '<')
			strbuf_addstr(b, "&lt;");
		else if (*s == '>')
			strbuf_addstr(b, "&gt;");
		else if ((unsigned char)*s < 0x20 && *s != '\n')
			strbuf_addc(b, ' ');
		else
			strbuf_addc(b, *s);
	}
}

static json_t *slack_payload(const struct webhook_alert *a, const char *base)
{
	enum { CAP = 16 * 1024 }; /* bytes with the NUL */
	char link[1024];
	struct strbuf b;
	strbuf_init(&b, CAP - 1);
	bool firing = !strcmp(a->status, "firing");
	strbuf_addf(&b, "[%s] ", firing ? "FIRING" : "RESOLVED");
	sb_text(&b, a->severity);
	strbuf_addstr(&b, " ");
	sb_text(&b, a->kind);
	if (a->endpoint && *a->endpoint) {
		strbuf_addstr(&b, " ");
		sb_text(&b, a->endpoint);
	}
	if (a->app && *a->app) {
		strbuf_addstr(&b, " / ");
		sb_text(&b, a->app);
	}
	strbuf_addstr(&b, "\n");
	sb_text(&b, a->summary);
	json_t *share = json_object_get(a->details, "stranded_share");
	if (json_is_number(share))
		strbuf_addf(&b, "\nStranded share: %.1f%%", json_number_value(share) * 100.0);
	json_t *vs = json_object_get(a->details, "versions");
	if (json_array_size(vs)) {
		size_t i;
		json_t *v;
		strbuf_addstr(&b, "\nVersions:");
		json_array_foreach(vs, i, v)
		{
			const char *name =
				json_is_string(v)
					? json_string_value(v)
					: json_string_value(json_object_get(v, "version"));
			json_t *vsh = json_object_get(v, "share");
			if (!name)
				continue;
			strbuf_addstr(&b, i ? ", " : " ");
			sb_text(&b, name);
			if (json_is_number(vsh))
				strbuf_addf(&b, " (%.1f%%)", json_number_value(vsh) * 100.0);
		}
	}
	json_t *rs = json_object_get(a->details, "reasons");
	size_t i;
	json_t *v;
	json_array_foreach(rs, i, v)
	{
		if (!json_is_string(v))
			continue;
		strbuf_addstr(&b, "\n- ");
		sb_text(&b, json_string_value(v));
	}
	if (!firing) {
		char t[32];
		strbuf_addf(&b, "\nResolved at %s", util_fmt_time(a->ends_at, t, sizeof(t)));
	}
	dashboard_link(a, base, link, sizeof(link));
	if (link[0]) {
		/* A URL in <...|...> must not contain | or > : escaping keeps it literal. */
		strbuf_addstr(&b, "\n<");
		sb_text(&b, link);
		strbuf_addstr(&b, "|Open in pinwatch>");
	}
	if (strbuf_err(&b) == -E2BIG) {
		/* Over the cap: cut at the limit rather than fail the notification. */
		strbuf_truncate(&b, CAP - 8);
		strbuf_addstr(&b, " [...]");
	}
	json_t *root = strbuf_err(&b) ? NULL : json_pack("{s:s}", "text", strbuf_ptr(&b));
	strbuf_free(&b);
	return root;
}

char *webhook_payload(enum webhook_format fmt, const struct webhook_alert *a, const char *base_url,
		      const char *receiver)
{
	if (!a || !a->fingerprint || !a->kind || !a->severity || !a->status)
		return NULL;
	json_t *j = fmt == WEBHOOK_SLACK ? slack_payload(a, base_url)
					 : generic_payload(a, base_url, receiver);
	if (!j)
		return NULL;
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(j);
	if (s && strlen(s) > WEBHOOK_BODY_MAX) {
		free(s);
		if (!a->details)
			return NULL;
		/* Oversized details (reasons, versions) must not block the alert:
		 * send it without them. */
		struct webhook_alert lean = *a;
		lean.details = NULL;
		return webhook_payload(fmt, &lean, base_url, receiver);
	}
	return s;
}

int webhook_signature(const char *secret, const char *body, size_t len, char *out, size_t outlen)
{
	uint8_t mac[32];
	char hex[65];
	if (!secret || outlen < 72)
		return -EINVAL;
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, secret, strlen(secret), body, len, mac) < 0)
		return -EIO;
	util_hex(mac, sizeof(mac), hex);
	snprintf(out, outlen, "sha256=%s", hex);
	return 0;
}

int64_t webhook_backoff(int attempts, int64_t cap_s, double rnd)
{
	if (cap_s < 1)
		cap_s = 1;
	if (attempts < 1)
		attempts = 1;
	int64_t base = attempts > 40 ? cap_s : (int64_t)1 << (attempts - 1);
	if (base > cap_s)
		base = cap_s;
	if (!(rnd >= 0.0 && rnd < 1.0))
		rnd = 0.0;
	int64_t d = (int64_t)llround((double)base * (0.5 + 0.5 * rnd));
	return d < 1 ? 1 : d;
}

enum webhook_verdict webhook_classify(bool curl_ok, long http_status)
{
	if (!curl_ok)
		return WEBHOOK_RETRY; /* connect error, timeout, reset: the receiver may recover */
	if (http_status >= 200 && http_status <= 299)
		return WEBHOOK_DELIVERED;
	if (http_status >= 500 || http_status == 408 || http_status == 429)
		return WEBHOOK_RETRY;
	return WEBHOOK_PERMANENT; /* other 4xx, 3xx (redirects are not followed), 1xx */
}
