/* Shared between the api_*.c files; not part of the public API. */
#ifndef PINWATCH_API_INTERNAL_H
#define PINWATCH_API_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "http/api.h"

#define API_LIMIT_DEFAULT 100
#define API_LIMIT_MAX	  1000

typedef void (*api_handler)(struct api_req *req);

/** Parse limit/cursor. 0, or -EINVAL with a 400 response set. */
int api_page(struct api_req *req, int64_t *limit, int64_t *cursor);
/** Wrap @items (stolen) as {"items": [...], "next_cursor": "N"|null}. */
void api_list_response(struct api_req *req, json_t *items, int64_t next_cursor);
/** Path parameter @i as a positive id. 0, or -EINVAL with a 400 (bad id) response set. */
int api_param_id(struct api_req *req, size_t i, int64_t *out);
/** A 500/503 for a database failure on @req->db. */
void api_db_error(struct api_req *req);
/**
 * Answer a store/module error code with its status: -EINVAL 400, -ENOENT 404,
 * -EEXIST 409, -EBUSY 503 busy, -ENOSPC/-EROFS 503 unavailable, else 500;
 * @err (a message from the module) is the detail.
 */
void api_store_error(struct api_req *req, int rc, const char *err);
/**
 * Answer a failure (not a fault of the request) with its status: -EBUSY 503
 * busy, -ENOSPC/-EROFS 503 unavailable, anything else 500; @err is the detail.
 */
void api_failure(struct api_req *req, int rc, const char *err);
/** Set a 200/201 JSON response (stolen); NULL means out of memory (500). */
void api_ok(struct api_req *req, int status, json_t *j);

/* Handlers (api_read.c). */
void api_endpoints_list(struct api_req *req);
void api_endpoint_get(struct api_req *req);
void api_endpoint_observations(struct api_req *req);
void api_endpoint_history(struct api_req *req);
void api_apps_list(struct api_req *req);
void api_app_get(struct api_req *req);
void api_audit_list(struct api_req *req);
void api_certificates_list(struct api_req *req);

/* Readiness (api_readiness.c). */
void api_snapshot_release(struct api_ctx *ctx, struct api_snapshot *s);
void api_readiness_list(struct api_req *req);
void api_readiness_get(struct api_req *req);
void api_whatif(struct api_req *req);
/** Endpoints per severity of the current snapshot {at, ok, info, warning, critical}, or NULL
 * when none is built yet (never builds one). New reference. */
json_t *api_readiness_summary(struct api_ctx *ctx);
void api_lint(struct api_req *req);
/** Append the stranded-share series to the metrics text (*text malloc'ed, grown). */
int api_readiness_metrics(struct api_req *req, char **text, size_t *len);

/* Alerts, silences and webhooks (api_alerts.c). */
void api_alerts_list(struct api_req *req);
void api_silences_list(struct api_req *req);
void api_silence_add(struct api_req *req);
void api_silence_remove(struct api_req *req);
void api_webhooks_list(struct api_req *req);
void api_webhook_add(struct api_req *req);
void api_webhook_remove(struct api_req *req);
void api_webhook_test(struct api_req *req);
void api_webhook_outbox(struct api_req *req);
void api_webhook_outbox_retry(struct api_req *req);

/* Reports and candidates (api_signals.c). */
void api_reports_post(struct api_req *req);
void api_reports_list(struct api_req *req);
void api_candidates_post(struct api_req *req);
void api_candidates_list(struct api_req *req);
void api_candidate_get(struct api_req *req);
void api_candidate_delete(struct api_req *req);
/* api_plans.c */
void api_plans_list(struct api_req *req);
void api_plans_post(struct api_req *req);
void api_plan_get(struct api_req *req);
void api_plan_cancel(struct api_req *req);

/* Handlers (api_write.c). */
void api_endpoint_create(struct api_req *req);
void api_endpoint_update(struct api_req *req);
void api_endpoint_delete(struct api_req *req);
void api_app_create(struct api_req *req);
void api_app_update(struct api_req *req);
void api_app_delete(struct api_req *req);
void api_version_get(struct api_req *req);
void api_version_create(struct api_req *req);
void api_version_replace(struct api_req *req);
void api_version_delete(struct api_req *req);
void api_policy_put(struct api_req *req);
void api_policy_delete(struct api_req *req);
void api_adoption_add(struct api_req *req);
void api_adoption_delete(struct api_req *req);
void api_inventory_export(struct api_req *req);
void api_inventory_import(struct api_req *req);
void api_audit_verify(struct api_req *req);

#endif
