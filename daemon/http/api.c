/* Routing, shared helpers and the server-level routes (/healthz, /metrics,
 * /api/v1/status, tokens, probe-now). Inventory and observation reads live in
 * api_read.c. */
#include "http/api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts_engine.h"
#include "http/api_internal.h"
#include "build_config.h"
#include "store/db.h"
#include "store/dbhealth.h"
#include "store/inventory.h"
#include "http/metrics.h"
#include "signals/reports.h"
#include "store/tokens.h"
#include "base/config.h"
#include "base/expiry.h"
#include "base/util.h"

#define SCHEDULER_DEAD_S 60  /* a heartbeat this recent proves the scheduler alive */
#define SCHEDULER_LAG_S	 300 /* or nothing overdue by more than this */
#define STATUS_CACHE_S	 2

struct api_route {
	const char *method;
	const char *pattern; /* "{}" matches one non-empty segment */
	enum api_access access;
	bool has_body;
	api_handler fn;
};

static void h_healthz(struct api_req *req);
static void h_metrics(struct api_req *req);
static void h_status(struct api_req *req);
static void h_tokens_list(struct api_req *req);
static void h_tokens_create(struct api_req *req);
static void h_tokens_revoke(struct api_req *req);
static void h_probe_now(struct api_req *req);

static const struct api_route routes[] = {
	{ "GET", "/healthz", API_PUBLIC, false, h_healthz },
	{ "GET", "/metrics", API_READ, false, h_metrics },
	{ "GET", "/api/v1/status", API_READ, false, h_status },
	{ "GET", "/api/v1/endpoints", API_READ, false, api_endpoints_list },
	{ "GET", "/api/v1/endpoints/{}", API_READ, false, api_endpoint_get },
	{ "GET", "/api/v1/endpoints/{}/observations", API_READ, false, api_endpoint_observations },
	{ "GET", "/api/v1/endpoints/{}/history", API_READ, false, api_endpoint_history },
	{ "POST", "/api/v1/endpoints/{}/probe", API_WRITE, false, h_probe_now },
	{ "POST", "/api/v1/endpoints", API_WRITE, true, api_endpoint_create },
	{ "PUT", "/api/v1/endpoints/{}", API_WRITE, true, api_endpoint_update },
	{ "DELETE", "/api/v1/endpoints/{}", API_WRITE, false, api_endpoint_delete },
	{ "GET", "/api/v1/apps", API_READ, false, api_apps_list },
	{ "POST", "/api/v1/apps", API_WRITE, true, api_app_create },
	{ "GET", "/api/v1/apps/{}", API_READ, false, api_app_get },
	{ "PUT", "/api/v1/apps/{}", API_WRITE, true, api_app_update },
	{ "DELETE", "/api/v1/apps/{}", API_WRITE, false, api_app_delete },
	{ "POST", "/api/v1/apps/{}/versions", API_WRITE, true, api_version_create },
	{ "GET", "/api/v1/apps/{}/versions/{}", API_READ, false, api_version_get },
	{ "PUT", "/api/v1/apps/{}/versions/{}", API_WRITE, true, api_version_replace },
	{ "DELETE", "/api/v1/apps/{}/versions/{}", API_WRITE, false, api_version_delete },
	{ "PUT", "/api/v1/apps/{}/versions/{}/policies", API_WRITE, true, api_policy_put },
	{ "DELETE", "/api/v1/apps/{}/versions/{}/policies", API_WRITE, false, api_policy_delete },
	{ "POST", "/api/v1/apps/{}/adoption", API_WRITE, true, api_adoption_add },
	{ "DELETE", "/api/v1/apps/{}/versions/{}/adoption/{}", API_WRITE, false,
	  api_adoption_delete },
	{ "GET", "/api/v1/inventory", API_READ, false, api_inventory_export },
	{ "POST", "/api/v1/inventory", API_WRITE, true, api_inventory_import },
	{ "GET", "/api/v1/audit", API_READ, false, api_audit_list },
	{ "GET", "/api/v1/audit/verify", API_READ, false, api_audit_verify },
	{ "GET", "/api/v1/certificates", API_READ, false, api_certificates_list },
	{ "GET", "/api/v1/readiness", API_READ, false, api_readiness_list },
	{ "GET", "/api/v1/readiness/{}", API_READ, false, api_readiness_get },
	{ "POST", "/api/v1/whatif", API_READ, true, api_whatif },
	{ "GET", "/api/v1/lint", API_READ, false, api_lint },
	{ "GET", "/api/v1/alerts", API_READ, false, api_alerts_list },
	{ "GET", "/api/v1/alerts/silences", API_READ, false, api_silences_list },
	{ "POST", "/api/v1/alerts/silences", API_WRITE, true, api_silence_add },
	{ "DELETE", "/api/v1/alerts/silences/{}", API_WRITE, false, api_silence_remove },
	{ "POST", "/api/v1/reports", API_PUBLIC, true, api_reports_post },
	{ "GET", "/api/v1/reports", API_READ, false, api_reports_list },
	{ "GET", "/api/v1/candidates", API_READ, false, api_candidates_list },
	{ "POST", "/api/v1/candidates", API_WRITE, true, api_candidates_post },
	{ "GET", "/api/v1/candidates/{}", API_READ, false, api_candidate_get },
	{ "DELETE", "/api/v1/candidates/{}", API_WRITE, false, api_candidate_delete },
	{ "GET", "/api/v1/plans", API_READ, false, api_plans_list },
	{ "POST", "/api/v1/plans", API_WRITE, true, api_plans_post },
	{ "GET", "/api/v1/plans/{}", API_READ, false, api_plan_get },
	{ "DELETE", "/api/v1/plans/{}", API_WRITE, false, api_plan_cancel },
	{ "GET", "/api/v1/webhooks", API_ADMIN, false, api_webhooks_list },
	{ "POST", "/api/v1/webhooks", API_ADMIN, true, api_webhook_add },
	{ "DELETE", "/api/v1/webhooks/{}", API_ADMIN, false, api_webhook_remove },
	{ "POST", "/api/v1/webhooks/{}/test", API_ADMIN, false, api_webhook_test },
	{ "GET", "/api/v1/webhooks/outbox", API_ADMIN, false, api_webhook_outbox },
	{ "POST", "/api/v1/webhooks/outbox/{}/retry", API_ADMIN, false, api_webhook_outbox_retry },
	{ "GET", "/api/v1/tokens", API_ADMIN, false, h_tokens_list },
	{ "POST", "/api/v1/tokens", API_ADMIN, true, h_tokens_create },
	{ "DELETE", "/api/v1/tokens/{}", API_ADMIN, false, h_tokens_revoke },
};

/* ---- routing ---------------------------------------------------------- */

/* Match @path against @pattern; on success store the parameters (pointing
 * into @scratch, a copy of path) in @req. */
static bool match(const char *pattern, const char *path, struct api_req *req)
{
	const char *p = pattern, *s = path;
	char *w = req->scratch;
	size_t np = 0;
	while (*p && *s) {
		if (p[0] == '{' && p[1] == '}') {
			size_t n = strcspn(s, "/");
			if (n == 0 || np >= API_MAX_PARAMS)
				return false;
			memcpy(w, s, n);
			w[n] = 0;
			req->params[np++] = w;
			w += n + 1;
			s += n;
			p += 2;
		} else if (*p == *s) {
			p++;
			s++;
		} else {
			return false;
		}
	}
	if (*p || *s)
		return false;
	req->nparams = np;
	return true;
}

const struct api_route *api_route_find(struct api_req *req, int *status, char *allow,
				       size_t allowlen)
{
	size_t used = 0;
	bool path_known = false;
	if (allowlen)
		allow[0] = 0;
	/* A trailing slash is tolerated on collection routes. */
	size_t n = strlen(req->path);
	if (n > 1 && req->path[n - 1] == '/')
		req->path[n - 1] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		if (!match(routes[i].pattern, req->path, req))
			continue;
		if (req->method && strcmp(routes[i].method, req->method) == 0)
			return &routes[i];
		path_known = true;
		int w = snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "",
				 routes[i].method);
		if (w > 0 && (size_t)w < allowlen - used)
			used += (size_t)w;
	}
	req->nparams = 0;
	*status = path_known ? 405 : 404;
	return NULL;
}

enum api_access api_route_access(const struct api_route *r)
{
	return r->access;
}

bool api_route_has_body(const struct api_route *r)
{
	return r->has_body;
}

/* Routes that change the database (or, probe-now, whose results would be
 * stored): everything but GET and the what-if computation. */
static bool route_writes(const struct api_route *r)
{
	return strcmp(r->method, "GET") != 0 && r->fn != api_whatif;
}

static void readonly_error(struct api_req *req)
{
	char why[ERRLEN];
	if (!dbhealth_describe(why, sizeof(why)))
		snprintf(why, sizeof(why), "the database is read-only");
	api_error(req, 503, "unavailable",
		  "%s: reads are served, writes are refused until it can be written again "
		  "(retried every %d s)",
		  why, DBHEALTH_RETRY_S);
}

void api_dispatch(const struct api_route *r, struct api_req *req)
{
	req->status = 200;
	if (route_writes(r) && !dbhealth_writable()) {
		readonly_error(req);
		return;
	}
	r->fn(req);
	if (!req->json && !req->text && req->status != 204)
		api_error(req, 500, "internal", "the handler produced no response");
	/* The file system became read-only under the server: whatever the
	 * handler made of the I/O error, say what it is. The connection's error
	 * code may be gone already (a rollback succeeded after the failed
	 * write): the file system is asked too. */
	if (req->status >= 500 && req->db &&
	    (db_failed_readonly(req->db) || (route_writes(r) && db_fs_readonly(req->db)))) {
		dbhealth_set_readonly("a write failed: read-only file system");
		readonly_error(req);
	}
}

/* ---- helpers ---------------------------------------------------------- */

void api_error(struct api_req *req, int status, const char *error, const char *fmt, ...)
{
	char detail[ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	json_decref(req->json);
	free(req->text);
	req->text = NULL;
	req->status = status;
	req->json = json_pack("{s:s, s:s}", "error", error, "detail", detail);
}

const char *api_query(const struct api_req *req, const char *key)
{
	for (size_t i = 0; i < req->nquery; i++)
		if (strcmp(req->qkey[i], key) == 0)
			return req->qval[i];
	return NULL;
}

void api_ok(struct api_req *req, int status, json_t *j)
{
	if (!j) {
		api_error(req, 500, "internal", "out of memory");
		return;
	}
	json_decref(req->json);
	req->status = status;
	req->json = j;
}

void api_store_error(struct api_req *req, int rc, const char *err)
{
	switch (rc) {
	case -EINVAL:
		api_error(req, 400, "invalid", "%s", err);
		break;
	case -ENOENT:
		api_error(req, 404, "not_found", "%s", err);
		break;
	case -EEXIST:
		api_error(req, 409, "conflict", "%s", err);
		break;
	default:
		api_failure(req, rc, err);
		break;
	}
}

void api_failure(struct api_req *req, int rc, const char *err)
{
	if (rc == -EBUSY)
		api_error(req, 503, "busy", "%s", err);
	else if (rc == -ENOSPC || rc == -EROFS)
		api_error(req, 503, "unavailable", "the database cannot be written: %s", err);
	else
		api_error(req, 500, "database", "%s", err);
}

void api_db_error(struct api_req *req)
{
	int rc = db_last_errno(req->db);
	if (rc == -EBUSY)
		api_error(req, 503, "busy", "database busy: %s", db_errmsg(req->db));
	else if (rc == -ENOSPC || rc == -EROFS)
		api_error(req, 503, "unavailable", "the database cannot be written: %s",
			  db_errmsg(req->db));
	else
		api_error(req, 500, "database", "%s", db_errmsg(req->db));
}

int api_page(struct api_req *req, int64_t *limit, int64_t *cursor)
{
	long long v;
	const char *l = api_query(req, "limit"), *c = api_query(req, "cursor");
	*limit = API_LIMIT_DEFAULT;
	*cursor = 0;
	if (l) {
		if (util_parse_int(l, 1, API_LIMIT_MAX, &v)) {
			api_error(req, 400, "bad_request", "limit must be an integer from 1 to %d",
				  API_LIMIT_MAX);
			return -EINVAL;
		}
		*limit = v;
	}
	if (c && *c) {
		if (util_parse_int(c, 1, INT64_MAX, &v)) {
			api_error(req, 400, "bad_request",
				  "cursor must be a value returned as next_cursor");
			return -EINVAL;
		}
		*cursor = v;
	}
	return 0;
}

void api_list_response(struct api_req *req, json_t *items, int64_t next_cursor)
{
	char buf[32];
	if (!items) {
		api_error(req, 500, "internal", "out of memory");
		return;
	}
	snprintf(buf, sizeof(buf), "%lld", (long long)next_cursor);
	api_ok(req, 200,
	       json_pack("{s:o, s:o}", "items", items, "next_cursor",
			 next_cursor ? json_string(buf) : json_null()));
}

int api_param_id(struct api_req *req, size_t i, int64_t *out)
{
	long long v;
	if (i >= req->nparams || util_parse_int(req->params[i], 1, INT64_MAX, &v)) {
		api_error(req, 400, "bad_request", "'%.64s' is not an id",
			  i < req->nparams ? req->params[i] : "");
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int api_parse_body(struct api_req *req, const char *buf, size_t len, json_t **out)
{
	json_error_t jerr;
	*out = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*out)
		return 0;
	api_error(req, 400, "bad_json", "line %d column %d (byte %d): %s", jerr.line, jerr.column,
		  jerr.position, jerr.text);
	return -EINVAL;
}

int api_ctx_init(struct api_ctx *ctx, bool public_read)
{
	const struct config *cfg = ctx->cfg;
	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = cfg;
	if (pthread_mutex_init(&ctx->lock, NULL))
		return -ENOMEM;
	if (pthread_mutex_init(&ctx->snap_build_lock, NULL)) {
		pthread_mutex_destroy(&ctx->lock);
		return -ENOMEM;
	}
	if (pthread_cond_init(&ctx->warm_cond, NULL)) {
		pthread_mutex_destroy(&ctx->snap_build_lock);
		pthread_mutex_destroy(&ctx->lock);
		return -ENOMEM;
	}
	ctx->warm_kick = true; /* build the first snapshot right away */
	ctx->public_read = public_read;
	/* reports come from apps in the field: 30 at once, then one a second per address */
	ctx->reports = reports_limits_new(REPORTS_MAX_BODY_DEFAULT, 1.0, 30, 10000, 100000);
	if (!ctx->reports) {
		pthread_cond_destroy(&ctx->warm_cond);
		pthread_mutex_destroy(&ctx->snap_build_lock);
		pthread_mutex_destroy(&ctx->lock);
		return -ENOMEM;
	}
	ctx->started_at = util_now();
	ctx->generation = 1;
	return 0;
}

void api_ctx_destroy(struct api_ctx *ctx)
{
	free(ctx->cache_status);
	ctx->cache_status = NULL;
	struct api_snapshot *s = ctx->snapshot;
	ctx->snapshot = NULL;
	api_snapshot_release(ctx, s);
	reports_limits_free(ctx->reports);
	ctx->reports = NULL;
	pthread_cond_destroy(&ctx->warm_cond);
	pthread_mutex_destroy(&ctx->snap_build_lock);
	pthread_mutex_destroy(&ctx->lock);
}

void api_ctx_invalidate(struct api_ctx *ctx)
{
	pthread_mutex_lock(&ctx->lock);
	ctx->generation++;
	ctx->warm_kick = true;
	pthread_cond_signal(&ctx->warm_cond);
	pthread_mutex_unlock(&ctx->lock);
	/* An inventory change re-evaluates alerts soon (no-op without serve). */
	alerts_engine_poke(alerts_engine_current());
}

/* ---- server routes ---------------------------------------------------- */

static void h_healthz(struct api_req *req)
{
	int64_t one = 0, due = 0;
	time_t now = util_now();
	bool db_ok = db_query_int(req->db, "SELECT 1", &one) == 0 && one == 1;
	/* how far behind the schedule is: the most overdue enabled endpoint */
	if (db_ok && db_query_int(req->db,
				  "SELECT coalesce(min(next_probe_at), 0) FROM endpoints "
				  "WHERE enabled = 1 AND next_probe_at IS NOT NULL",
				  &due))
		db_ok = false;
	int64_t lag = due && now > due ? now - due : 0;
	pthread_mutex_lock(&req->ctx->lock);
	time_t seen = req->ctx->scheduler_seen, sweep = req->ctx->last_sweep;
	pthread_mutex_unlock(&req->ctx->lock);
	/* The scheduler must have started; it is alive while it commits results or,
	 * between commits on a quiet estate, while nothing is overdue. */
	bool sched_ok = seen && (now - seen <= SCHEDULER_DEAD_S || lag <= SCHEDULER_LAG_S);
	/* Read-only: reads work, nothing new is stored; not healthy either. */
	char why[ERRLEN];
	bool writable = !dbhealth_describe(why, sizeof(why));
	const char *status = !db_ok || !sched_ok ? "unhealthy" : !writable ? "degraded" : "ok";
	json_t *j = json_pack("{s:s, s:b, s:b, s:o, s:I, s:o, s:b}", "status", status, "database",
			      db_ok, "scheduler", sched_ok, "scheduler_heartbeat_age_s",
			      seen ? json_integer(now - seen) : json_null(), "schedule_lag_s",
			      (json_int_t)lag, "last_sweep_age_s",
			      sweep ? json_integer(now - sweep) : json_null(), "database_writable",
			      writable);
	if (j && !writable)
		json_object_set_new(j, "database_error", json_string(why));
	api_ok(req, db_ok && sched_ok && writable ? 200 : 503, j);
}

static void h_metrics(struct api_req *req)
{
	char err[ERRLEN];
	char *out = NULL;
	size_t len = 0;
	if (metrics_render(req->db, &out, &len, err, sizeof(err))) {
		api_error(req, 500, "metrics", "%s", err);
		return;
	}
	if (api_readiness_metrics(req, &out, &len)) {
		free(out);
		return;
	}
	if (req->ctx->reports && reports_metrics_append(req->ctx->reports, &out, &len)) {
		free(out);
		api_error(req, 500, "metrics", "out of memory");
		return;
	}
	req->text = out;
	req->textlen = len;
	req->ctype = "text/plain; version=0.0.4; charset=utf-8";
}

static json_t *status_build(struct api_req *req)
{
	static const char *const counts[][2] = {
		{ "endpoints", "SELECT count(*) FROM endpoints" },
		{ "endpoints_enabled", "SELECT count(*) FROM endpoints WHERE enabled = 1" },
		{ "apps", "SELECT count(*) FROM apps" },
		{ "versions", "SELECT count(*) FROM versions" },
		{ "alerts_firing", "SELECT count(*) FROM alerts WHERE status = 'firing'" },
		{ "alerts_critical",
		  "SELECT count(*) FROM alerts WHERE status = 'firing' AND severity = 'critical'" },
		{ "webhook_queue", "SELECT count(*) FROM webhook_outbox WHERE state = 'pending'" },
		{ "observations", "SELECT count(*) FROM observations" },
	};
	json_t *j = json_object();
	for (size_t i = 0; j && i < ARRAY_SIZE(counts); i++) {
		int64_t v;
		if (db_query_int(req->db, counts[i][1], &v)) {
			json_decref(j);
			return NULL;
		}
		json_object_set_new(j, counts[i][0], json_integer(v));
	}
	return j;
}

static void h_status(struct api_req *req)
{
	struct api_ctx *c = req->ctx;
	time_t now = util_now();
	/* The counts are cached for a moment so that a dashboard refreshing on many
	 * screens costs the database nothing. */
	pthread_mutex_lock(&c->lock);
	uint64_t gen = c->generation;
	time_t seen = c->scheduler_seen, sweep = c->last_sweep;
	char *cached = c->cache_status && c->cache_status_gen == gen &&
				       now - c->cache_status_at < STATUS_CACHE_S
			       ? strdup(c->cache_status)
			       : NULL;
	pthread_mutex_unlock(&c->lock);
	json_t *counts = NULL;
	if (cached) {
		counts = json_loads(cached, 0, NULL);
		free(cached);
	}
	if (!counts) {
		counts = status_build(req);
		if (!counts) {
			api_db_error(req);
			return;
		}
		char *s = json_dumps(counts, JSON_COMPACT);
		pthread_mutex_lock(&c->lock);
		if (s && c->generation == gen) {
			free(c->cache_status);
			c->cache_status = s;
			/* time-bounded too: CLI imports do not bump the generation */
			c->cache_status_gen = gen;
			c->cache_status_at = now;
			s = NULL;
		}
		pthread_mutex_unlock(&c->lock);
		free(s);
	}
	char t[32];
	json_object_set_new(counts, "version", json_string(PINWATCH_VERSION));
	json_object_set_new(counts, "schema_version", json_integer(db_schema_version()));
	json_object_set_new(counts, "now", json_string(util_fmt_time(now, t, sizeof(t))));
	json_object_set_new(counts, "uptime_s", json_integer(now - c->started_at));
	json_object_set_new(counts, "last_sweep",
			    sweep ? json_string(util_fmt_time(sweep, t, sizeof(t))) : json_null());
	json_object_set_new(counts, "scheduler_alive",
			    json_boolean(seen && now - seen <= SCHEDULER_DEAD_S));
	json_object_set_new(counts, "public_read", json_boolean(c->public_read));
	/* The dashboard sorts and colours expiry by the thresholds the alerts use. */
	json_t *th = json_array();
	for (int i = 0;
	     th && c->cfg && i < EXPIRY_THRESHOLDS_MAX && c->cfg->alerts_expiry_days[i] > 0; i++)
		json_array_append_new(th, json_integer(c->cfg->alerts_expiry_days[i]));
	json_object_set_new(counts, "expiry_days", th ? th : json_null());
	/* from the readiness snapshot when one exists; status never evaluates */
	json_t *sev = api_readiness_summary(c);
	json_object_set_new(counts, "readiness", sev ? sev : json_null());
	api_ok(req, 200, counts);
}

static void h_tokens_list(struct api_req *req)
{
	char err[ERRLEN];
	json_t *l = tokens_list(req->db, err, sizeof(err));
	if (!l) {
		api_error(req, 500, "database", "%s", err);
		return;
	}
	api_list_response(req, l, 0);
}

static void h_tokens_create(struct api_req *req)
{
	char err[ERRLEN], tok[TOKEN_LEN];
	const char *name = NULL, *role_s = NULL;
	enum token_role role;
	json_error_t jerr;
	if (!req->body || json_unpack_ex(req->body, &jerr, JSON_STRICT, "{s:s, s:s}", "name", &name,
					 "role", &role_s)) {
		api_error(req, 400, "bad_request",
			  "body must be {\"name\": \"...\", \"role\": \"read|write|admin\"}%s%s",
			  req->body ? ": " : "", req->body ? jerr.text : "");
		return;
	}
	if (tokens_parse_role(role_s, &role)) {
		api_error(req, 400, "bad_request", "role: must be read, write or admin");
		return;
	}
	int rc = tokens_create(req->db, name, role, req->actor, tok, sizeof(tok), err, sizeof(err));
	if (rc == -EEXIST)
		api_error(req, 409, "conflict", "%s", err);
	else if (rc == -EINVAL)
		api_error(req, 400, "bad_request", "%s", err);
	else if (rc)
		api_error(req, rc == -EBUSY ? 503 : 500, "database", "%s", err);
	else
		api_ok(req, 201,
		       json_pack("{s:s, s:s, s:s}", "name", name, "role", role_s, "token", tok));
	explicit_bzero(tok, sizeof(tok));
}

static void h_tokens_revoke(struct api_req *req)
{
	char err[ERRLEN];
	int rc = tokens_revoke(req->db, req->params[0], req->actor, err, sizeof(err));
	if (rc == -ENOENT)
		api_error(req, 404, "not_found", "%s", err);
	else if (rc)
		api_error(req, rc == -EBUSY ? 503 : 500, "database", "%s", err);
	else
		api_ok(req, 200, json_pack("{s:s}", "revoked", req->params[0]));
}

static void h_probe_now(struct api_req *req)
{
	int64_t id;
	char err[ERRLEN] = "";
	if (api_param_id(req, 0, &id))
		return;
	struct endpoint ep;
	int erc = inventory_endpoint_get_id(req->db, id, &ep, err, sizeof(err));
	bool enabled = ep.enabled;
	model_endpoint_free(&ep);
	if (erc == -ENOENT) {
		api_error(req, 404, "not_found", "no endpoint with id %lld", (long long)id);
		return;
	}
	if (erc) {
		api_store_error(req, erc, err);
		return;
	}
	err[0] = '\0';
	if (!enabled) {
		/* the scheduler probes enabled endpoints only: say so, not 202 */
		api_error(req, 409, "conflict", "endpoint %lld is disabled; enable it first",
			  (long long)id);
		return;
	}
	pthread_mutex_lock(&req->ctx->lock);
	http_probe_now_fn fn = req->ctx->probe_now;
	void *pctx = req->ctx->probe_ctx;
	pthread_mutex_unlock(&req->ctx->lock);
	if (!fn) {
		api_error(req, 503, "unavailable", "the scheduler is not running");
		return;
	}
	int rc = fn(pctx, id, err, sizeof(err));
	if (rc == -ENOENT)
		api_error(req, 404, "not_found", "%s", err[0] ? err : "no such endpoint");
	else if (rc == -EBUSY)
		api_error(req, 503, "busy", "%s", err[0] ? err : "probe queue full");
	else if (rc)
		api_error(req, 500, "probe", "%s", err[0] ? err : strerror(-rc));
	else
		api_ok(req, 202,
		       json_pack("{s:I, s:s}", "endpoint_id", (json_int_t)id, "status", "queued"));
}
