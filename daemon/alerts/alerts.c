#include "alerts/alerts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/expiry.h"
#include "store/db.h"
#include "base/util.h"
#include "alerts/webhook.h"
#include "store/alertlog.h"
#include "store/apps.h"
#include "store/inventory.h"
#include "store/webhooks.h"

static const char *const kind_names[ALERT_KIND_COUNT] = {
	[ALERT_STRANDING_NOW] = "stranding_now",
	[ALERT_ROTATION_NOT_READY] = "rotation_not_ready",
	[ALERT_CHAIN_CHANGED] = "chain_changed",
	[ALERT_EDGES_DISAGREE] = "edges_disagree",
	[ALERT_VALIDATION_FAILED] = "validation_failed",
	[ALERT_PIN_SET_EXPIRING] = "pin_set_expiring",
	[ALERT_PROBE_FAILING] = "probe_failing",
	[ALERT_PIN_FAILURES_REPORTED] = "pin_failures_reported",
	[ALERT_CANDIDATE_WOULD_STRAND] = "candidate_would_strand",
	[ALERT_ROTATION_COMPLETED] = "rotation_completed",
	[ALERT_PLAN_OVERDUE] = "plan_overdue",
	[ALERT_CERTIFICATE_EXPIRING] = "certificate_expiring",
};

const char *alerts_kind_name(enum alert_kind kind)
{
	if ((int)kind < 0 || kind >= ALERT_KIND_COUNT)
		return "unknown";
	return kind_names[kind];
}

int alerts_kind_parse(const char *s, enum alert_kind *out)
{
	for (int i = 0; s && i < ALERT_KIND_COUNT; i++) {
		if (!strcmp(s, kind_names[i])) {
			*out = (enum alert_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

int alerts_fingerprint(enum alert_kind kind, const char *host, int port, const char *app, char *out,
		       size_t outlen)
{
	char buf[1024];
	uint8_t d[32];
	char hex[65];

	/* NUL separators keep "a" + "b:1" apart from "a:b" + "1". */
	int len = snprintf(buf, sizeof(buf), "%s%c%s%c%d%c%s", alerts_kind_name(kind), 0,
			   host ? host : "", 0, host && *host ? port : 0, 0, app ? app : "");
	if (len < 0 || (size_t)len >= sizeof(buf))
		return -ENOSPC;
	if (util_sha256(buf, (size_t)len, d))
		return -EIO;
	util_hex(d, 8, hex);
	int n = snprintf(out, outlen, "%s-%s", alerts_kind_name(kind), hex);
	return n < 0 || (size_t)n >= outlen ? -ENOSPC : 0;
}

enum alert_action alerts_decide(const struct alert_prev *prev, bool present, enum severity sev,
				time_t now, int64_t repeat_s)
{
	if (!prev->firing)
		return present ? ALERT_ACT_OPEN : ALERT_ACT_NONE;
	if (!present)
		return ALERT_ACT_RESOLVE;
	if (sev != prev->severity)
		return ALERT_ACT_CHANGE;
	if (prev->last_sent_at == 0 || now - prev->last_sent_at >= repeat_s)
		return ALERT_ACT_REPEAT;
	return ALERT_ACT_UPDATE;
}

enum severity alerts_probe_failing_severity(int64_t consecutive, int threshold)
{
	if (threshold < 1)
		threshold = 1;
	if (consecutive < threshold)
		return SEVERITY_OK;
	if (consecutive >= 3 * (int64_t)threshold)
		return SEVERITY_CRITICAL;
	return SEVERITY_WARNING;
}

/* ---- alerts_apply ------------------------------------------------------- */

struct firing_row {
	int64_t id;
	char fingerprint[ALERT_FINGERPRINT_MAX];
	enum alert_kind kind;
	enum severity severity;
	int64_t endpoint_id;
	time_t starts_at, last_sent_at;
	char *summary, *details; /* owned */
	bool seen;
};

struct hook {
	int64_t id;
	enum webhook_format format;
	enum severity min_severity;
};

struct apply_ctx {
	struct db *db;
	const struct config *cfg;
	time_t now;
	struct hook *hooks;
	size_t nhooks;
	struct alerts_result *res;
	char *err;
	size_t errlen;
};

static int cmp_cond_ptr(const void *a, const void *b)
{
	const struct alert_cond *x = *(const struct alert_cond *const *)a;
	const struct alert_cond *y = *(const struct alert_cond *const *)b;
	int c = strcmp(x->fingerprint, y->fingerprint);
	if (c)
		return c;
	return (int)y->severity - (int)x->severity; /* most severe first */
}

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct firing_row *)a)->fingerprint,
		      ((const struct firing_row *)b)->fingerprint);
}

static void free_rows(struct firing_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].summary);
		free(rows[i].details);
	}
	free(rows);
}

static int load_firing(struct apply_ctx *c, struct firing_row **out, size_t *nout)
{
	struct alertlog_row *stored = NULL;
	struct firing_row *rows = NULL;
	size_t n = 0;
	int rc = alertlog_firing(c->db, ALERT_MAX_CONDS * 4, &stored, &n, c->err, c->errlen);
	if (rc)
		return rc;
	if (n && !(rows = calloc(n, sizeof(*rows)))) {
		alertlog_rows_free(stored, n);
		return util_err(c->err, c->errlen, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct alertlog_row *s = &stored[i];
		struct firing_row *r = &rows[i];
		r->id = s->id;
		snprintf(r->fingerprint, sizeof(r->fingerprint), "%s", s->fingerprint);
		if (alerts_kind_parse(s->kind, &r->kind))
			r->kind = ALERT_KIND_COUNT; /* unknown kinds are never in scope */
		if (severity_parse(s->severity, SEVERITY_INFO, &r->severity))
			r->severity = SEVERITY_WARNING;
		r->endpoint_id = s->endpoint_id;
		r->starts_at = s->starts_at;
		r->last_sent_at = s->last_sent_at;
		r->summary = s->summary; /* taken over */
		r->details = s->details;
		s->summary = s->details = NULL;
	}
	alertlog_rows_free(stored, n);
	if (n)
		qsort(rows, n, sizeof(*rows), cmp_row);
	*out = rows;
	*nout = n;
	return 0;
}

static int load_hooks(struct apply_ctx *c)
{
	struct webhooks_target *t = NULL;
	size_t n = 0;
	int rc = webhooks_enabled(c->db, &t, &n, c->err, c->errlen);
	if (rc)
		return rc;
	if (n && !(c->hooks = calloc(n, sizeof(*c->hooks)))) {
		free(t);
		return util_err(c->err, c->errlen, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct hook *h = &c->hooks[i];
		h->id = t[i].id;
		if (webhook_format_parse(t[i].format, &h->format))
			h->format = WEBHOOK_GENERIC;
		if (severity_parse(t[i].min_severity, SEVERITY_INFO, &h->min_severity))
			h->min_severity = SEVERITY_WARNING;
	}
	c->nhooks = n;
	free(t);
	return 0;
}

static int is_silenced(struct apply_ctx *c, const char *fingerprint, int64_t endpoint_id, bool *out)
{
	return alertlog_silenced(c->db, c->now, fingerprint, endpoint_id, out, c->err, c->errlen);
}

/* Label strings of an alert row: "host:port" and the app name ("" when
 * unknown or unreadable: labels never fail an evaluation). */
static void alert_labels(struct apply_ctx *c, int64_t endpoint_id, int64_t app_id, char *ep,
			 size_t eplen, char *app, size_t applen)
{
	char err[ERRLEN];
	ep[0] = app[0] = 0;
	if (endpoint_id) {
		struct endpoint e;
		if (inventory_endpoint_get_id(c->db, endpoint_id, &e, err, sizeof(err)) == 0)
			snprintf(ep, eplen, "%s:%d", e.host, e.port);
		model_endpoint_free(&e);
	}
	if (app_id && apps_name(c->db, app_id, app, applen, err, sizeof(err)) != 0)
		app[0] = 0;
}

/* The details stored on the row: the condition's details plus the labels. */
static char *details_text(const struct alert_cond *k, const char *ep, const char *app,
			  enum severity peak)
{
	json_t *d = k->details && json_is_object(k->details) ? json_deep_copy(k->details)
							     : json_object();
	if (!d)
		return NULL;
	/* The highest severity of the episode: receivers that heard of it at that
	 * level also hear of its downgrades and its end. */
	json_object_set_new(d, "peak_severity", json_string(severity_name(peak)));
	if (ep[0])
		json_object_set_new(d, "endpoint", json_string(ep));
	if (app[0])
		json_object_set_new(d, "app", json_string(app));
	char *t = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(d);
	return t;
}

/* Whether the details' "stage" moved since the row was stored (a threshold
 * crossed): a reminder is due even when the severity stays. */
static bool stage_moved(const struct firing_row *r, const struct alert_cond *k)
{
	const char *now = json_string_value(json_object_get(k->details, "stage"));
	if (!now)
		return false;
	json_t *d = r->details ? json_loads(r->details, 0, NULL) : NULL;
	const char *was = json_string_value(json_object_get(d, "stage"));
	bool moved = !was || strcmp(was, now) != 0;
	json_decref(d);
	return moved;
}

/* Write one outbox row per matching webhook; record last_sent_at. */
static enum severity stored_peak(const struct firing_row *r)
{
	enum severity peak = r->severity, p;
	json_t *d = r->details ? json_loads(r->details, 0, NULL) : NULL;
	if (!severity_parse(json_string_value(json_object_get(d, "peak_severity")), SEVERITY_INFO,
			    &p) &&
	    p > peak)
		peak = p;
	json_decref(d);
	return peak;
}

/* Write one outbox row per enabled webhook whose min_severity is at most
 * @reach; record last_sent_at. @sev is the severity the payload states. */
static int notify(struct apply_ctx *c, int64_t alert_id, const char *fingerprint,
		  enum alert_kind kind, enum severity sev, enum severity reach, const char *status,
		  int64_t endpoint_id, const char *summary, const char *details, time_t starts_at,
		  time_t ends_at, const char *key)
{
	bool silenced = false;
	int rc = is_silenced(c, fingerprint, endpoint_id, &silenced);
	if (rc)
		return rc;
	if (silenced) {
		c->res->silenced++;
		return 0;
	}

	json_t *dj = details ? json_loads(details, 0, NULL) : NULL;
	const char *ep = dj ? json_string_value(json_object_get(dj, "endpoint")) : NULL;
	const char *app = dj ? json_string_value(json_object_get(dj, "app")) : NULL;
	struct webhook_alert wa = {
		.alert_id = alert_id,
		.fingerprint = fingerprint,
		.kind = alerts_kind_name(kind),
		.severity = sev,
		.status = status,
		.endpoint = ep,
		.endpoint_id = endpoint_id,
		.app = app,
		.summary = summary,
		.details = dj,
		.starts_at = starts_at,
		.ends_at = ends_at,
	};
	for (size_t i = 0; i < c->nhooks && rc == 0; i++) {
		const struct hook *h = &c->hooks[i];
		if (reach < h->min_severity)
			continue;
		char receiver[64];
		snprintf(receiver, sizeof(receiver), "pinwatch-webhook-%lld", (long long)h->id);
		char *body = webhook_payload(h->format, &wa, c->cfg->http_base_url, receiver);
		if (!body) {
			rc = util_err(c->err, c->errlen, -ENOMEM, "cannot build webhook payload");
			break;
		}
		rc = webhooks_enqueue(c->db, h->id, alert_id, key, body, c->now, c->err, c->errlen);
		free(body);
		if (rc == 0)
			c->res->notifications++;
	}
	json_decref(dj);
	if (rc)
		return rc;
	return alertlog_sent(c->db, alert_id, c->now, c->err, c->errlen);
}

static int make_key(char *key, size_t len, const char *fp, const char *status, time_t start,
		    time_t resend_at)
{
	int n = resend_at ? snprintf(key, len, "%s:%s:%lld:%lld", fp, status, (long long)start,
				     (long long)resend_at)
			  : snprintf(key, len, "%s:%s:%lld", fp, status, (long long)start);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

static int do_open(struct apply_ctx *c, const struct alert_cond *k)
{
	char ep[300], app[160], key[256];
	int64_t id = 0;
	alert_labels(c, k->endpoint_id, k->app_id, ep, sizeof(ep), app, sizeof(app));
	char *details = details_text(k, ep, app, k->severity);
	if (!details)
		return util_err(c->err, c->errlen, -ENOMEM, "out of memory");
	int rc = alertlog_open(c->db, k->fingerprint, alerts_kind_name(k->kind), k->endpoint_id,
			       k->app_id, severity_name(k->severity), k->summary, details, c->now,
			       &id, c->err, c->errlen);
	if (rc) {
		free(details);
		return rc;
	}
	c->res->opened++;
	rc = make_key(key, sizeof(key), k->fingerprint, "firing", c->now, 0);
	if (rc == 0 && !k->quiet)
		rc = notify(c, id, k->fingerprint, k->kind, k->severity, k->severity, "firing",
			    k->endpoint_id, k->summary, details, c->now, 0, key);
	free(details);
	return rc;
}

static int do_still_firing(struct apply_ctx *c, const struct alert_cond *k, struct firing_row *r,
			   enum alert_action act)
{
	char ep[300], app[160], key[256];
	alert_labels(c, k->endpoint_id, k->app_id, ep, sizeof(ep), app, sizeof(app));
	enum severity peak = stored_peak(r);
	if (k->severity > peak)
		peak = k->severity;
	char *details = details_text(k, ep, app, peak);
	int rc = 0;
	if (!details)
		return util_err(c->err, c->errlen, -ENOMEM, "out of memory");
	if (act == ALERT_ACT_REPEAT) {
		/* A reminder nobody would receive is no reminder: a silenced alert
		 * (never sent, so due at every evaluation) is left as it is. */
		bool silenced = false;
		if ((rc = is_silenced(c, k->fingerprint, k->endpoint_id, &silenced)) != 0) {
			free(details);
			return rc;
		}
		if (silenced)
			act = ALERT_ACT_UPDATE;
	}
	bool same = r->summary && !strcmp(r->summary, k->summary) && r->details &&
		    !strcmp(r->details, details);
	if (act != ALERT_ACT_UPDATE || !same)
		rc = alertlog_update(c->db, r->id, severity_name(k->severity), k->summary, details,
				     c->now, c->err, c->errlen);
	if (rc == 0 && (act == ALERT_ACT_CHANGE || act == ALERT_ACT_REPEAT) && !k->quiet) {
		if (act == ALERT_ACT_CHANGE)
			c->res->changed++;
		else
			c->res->repeated++;
		rc = make_key(key, sizeof(key), k->fingerprint, "firing", r->starts_at, c->now);
		if (rc == 0)
			rc = notify(c, r->id, k->fingerprint, k->kind, k->severity,
				    act == ALERT_ACT_CHANGE && r->severity > k->severity
					    ? r->severity
					    : k->severity,
				    "firing", k->endpoint_id, k->summary, details, r->starts_at, 0,
				    key);
	}
	free(details);
	return rc;
}

static int do_resolve(struct apply_ctx *c, struct firing_row *r)
{
	char key[256];
	time_t ends = c->now < r->starts_at ? r->starts_at : c->now;
	int rc = alertlog_resolve(c->db, r->id, ends, c->now, c->err, c->errlen);
	if (rc)
		return rc;
	c->res->resolved++;
	/* Receivers that never heard of the episode (silenced throughout) are not told it ended. */
	if (r->last_sent_at == 0)
		return 0;
	rc = make_key(key, sizeof(key), r->fingerprint, "resolved", r->starts_at, 0);
	if (rc)
		return rc;
	return notify(c, r->id, r->fingerprint, r->kind, r->severity, stored_peak(r), "resolved",
		      r->endpoint_id, r->summary ? r->summary : "", r->details, r->starts_at, ends,
		      key);
}

static int check_conds(const struct alert_cond *conds, size_t n, char *err, size_t errlen)
{
	if (n > ALERT_MAX_CONDS)
		return util_err(err, errlen, -E2BIG, "too many conditions (%zu > %d)", n,
				ALERT_MAX_CONDS);
	for (size_t i = 0; i < n; i++) {
		const struct alert_cond *k = &conds[i];
		size_t fl = strnlen(k->fingerprint, sizeof(k->fingerprint));
		if ((int)k->kind < 0 || k->kind >= ALERT_KIND_COUNT)
			return util_err(err, errlen, -EINVAL, "condition %zu: bad kind", i);
		if (k->severity < SEVERITY_INFO || k->severity > SEVERITY_CRITICAL)
			return util_err(err, errlen, -EINVAL, "condition %zu: bad severity", i);
		if (fl == 0 || fl == sizeof(k->fingerprint))
			return util_err(err, errlen, -EINVAL, "condition %zu: bad fingerprint", i);
		if (strnlen(k->summary, sizeof(k->summary)) == sizeof(k->summary))
			return util_err(err, errlen, -EINVAL,
					"condition %zu: summary not terminated", i);
		if (k->endpoint_id < 0 || k->app_id < 0)
			return util_err(err, errlen, -EINVAL, "condition %zu: bad id", i);
	}
	return 0;
}

int alerts_apply(struct db *db, const struct alert_cond *conds, size_t n, unsigned scope,
		 time_t now, const struct config *cfg, struct alerts_result *res, char *err,
		 size_t errlen)
{
	struct alerts_result dummy;
	struct apply_ctx c = { db, cfg, now, NULL, 0, res ? res : &dummy, err, errlen };
	const struct alert_cond **sorted = NULL;
	struct firing_row *rows = NULL;
	size_t nrows = 0;
	int rc = check_conds(conds, n, err, errlen);

	memset(c.res, 0, sizeof(*c.res));
	if (rc)
		return rc;
	if (n) {
		sorted = calloc(n, sizeof(*sorted));
		if (!sorted)
			return util_err(err, errlen, -ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++)
			sorted[i] = &conds[i];
		qsort(sorted, n, sizeof(*sorted), cmp_cond_ptr);
	}
	if ((rc = db_begin(db)) != 0) {
		free(sorted);
		return util_err(err, errlen, rc, "cannot begin transaction: %s", db_errmsg(db));
	}
	if ((rc = load_hooks(&c)) != 0 || (rc = load_firing(&c, &rows, &nrows)) != 0)
		goto fail;

	for (size_t i = 0; i < n; i++) {
		const struct alert_cond *k = sorted[i];
		if (i > 0 && !strcmp(sorted[i - 1]->fingerprint, k->fingerprint))
			continue; /* duplicate: the first (most severe) one counts */
		struct firing_row key;
		snprintf(key.fingerprint, sizeof(key.fingerprint), "%s", k->fingerprint);
		struct firing_row *r =
			nrows ? bsearch(&key, rows, nrows, sizeof(*rows), cmp_row) : NULL;
		struct alert_prev prev = { r != NULL, r ? r->severity : SEVERITY_OK,
					   r ? r->last_sent_at : 0 };
		enum alert_action act =
			alerts_decide(&prev, true, k->severity, now, cfg->alerts_repeat_s);
		if (act == ALERT_ACT_UPDATE && stage_moved(r, k))
			act = ALERT_ACT_REPEAT;
		if (r)
			r->seen = true;
		if (act == ALERT_ACT_OPEN)
			rc = do_open(&c, k);
		else
			rc = do_still_firing(&c, k, r, act);
		if (rc)
			goto fail;
	}
	for (size_t i = 0; i < nrows; i++) {
		struct firing_row *r = &rows[i];
		if (r->seen || r->kind >= ALERT_KIND_COUNT || !(scope & ALERT_SCOPE(r->kind)))
			continue;
		if ((rc = do_resolve(&c, r)) != 0)
			goto fail;
	}
	if ((rc = db_commit(db)) != 0) {
		util_err(err, errlen, rc, "cannot commit: %s", db_errmsg(db));
		goto fail;
	}
	free_rows(rows, nrows);
	free(sorted);
	free(c.hooks);
	return 0;
fail:
	db_rollback(db);
	free_rows(rows, nrows);
	free(sorted);
	free(c.hooks);
	memset(c.res, 0, sizeof(*c.res));
	return rc;
}
