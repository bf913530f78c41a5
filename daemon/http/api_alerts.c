/* Alerts, silences and webhooks routes, over alerts.h and webhook.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "http/api_internal.h"
#include "store/db.h"
#include "base/util.h"
#include "alerts/webhook.h"

void api_alerts_list(struct api_req *req)
{
	char err[ERRLEN];
	json_t *arr = NULL;
	long long limit = 500;
	const char *all = api_query(req, "all"), *sev = api_query(req, "severity"),
		   *l = api_query(req, "limit");
	if (l && util_parse_int(l, 1, 10000, &limit)) {
		api_error(req, 400, "bad_request", "limit must be an integer from 1 to 10000");
		return;
	}
	if (all && strcmp(all, "true") && strcmp(all, "false")) {
		api_error(req, 400, "bad_request", "all must be true or false");
		return;
	}
	int rc = alerts_list_json(req->db, all && !strcmp(all, "true"), (int)limit, util_now(),
				  &arr, err, sizeof(err));
	if (rc) {
		api_store_error(req, rc, err);
		return;
	}
	if (sev) {
		json_t *f = json_array(), *a;
		size_t i;
		json_array_foreach(arr, i,
				   a) if (json_is_string(json_object_get(a, "severity")) &&
					  strcmp(json_string_value(json_object_get(a, "severity")),
						 sev) == 0) json_array_append(f, a);
		json_decref(arr);
		arr = f;
	}
	api_list_response(req, arr, 0);
}

void api_silences_list(struct api_req *req)
{
	char err[ERRLEN];
	json_t *arr = NULL;
	int rc = alerts_silences_json(req->db, util_now(), &arr, err, sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else
		api_list_response(req, arr, 0);
}

/* {"fingerprint": "...", "endpoint": "host[:port]", "until": "YYYY-MM-DD[THH:MM:SSZ]", "reason":
 * "..."} */
void api_silence_add(struct api_req *req)
{
	char err[ERRLEN];
	const char *fp = NULL, *ep = NULL, *until_s = NULL, *reason = NULL;
	json_error_t jerr;
	time_t until;
	int64_t id = 0, ep_id = 0;
	if (!req->body ||
	    json_unpack_ex(req->body, &jerr, JSON_STRICT, "{s?s, s?s, s:s, s:s}", "fingerprint",
			   &fp, "endpoint", &ep, "until", &until_s, "reason", &reason)) {
		api_error(req, 400, "invalid",
			  "body must be {\"fingerprint\"|\"endpoint\", \"until\", \"reason\"}%s%s",
			  req->body ? ": " : "", req->body ? jerr.text : "");
		return;
	}
	if (util_parse_time(until_s, &until)) {
		api_error(req, 400, "invalid", "until: not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
		return;
	}
	int rc = ep ? alerts_endpoint_lookup(req->db, ep, &ep_id, err, sizeof(err)) : 0;
	if (!rc)
		rc = alerts_silence_add(req->db, req->actor, fp, ep_id, until, reason, util_now(),
					&id, err, sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else {
		api_ctx_invalidate(req->ctx);
		api_ok(req, 201, json_pack("{s:I}", "id", (json_int_t)id));
	}
}

void api_silence_remove(struct api_req *req)
{
	char err[ERRLEN];
	int64_t id;
	if (api_param_id(req, 0, &id))
		return;
	int rc = alerts_silence_remove(req->db, req->actor, id, util_now(), err, sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else {
		api_ctx_invalidate(req->ctx);
		api_ok(req, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "removed", 1));
	}
}

void api_webhooks_list(struct api_req *req)
{
	char err[ERRLEN];
	json_t *arr = NULL;
	int rc = webhook_list_json(req->db, &arr, err, sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else
		api_list_response(req, arr, 0);
}

/* {"url": "...", "format": "generic|slack", "secret": "...", "min_severity": "warning"} */
void api_webhook_add(struct api_req *req)
{
	char err[ERRLEN];
	const char *url = NULL, *fmt_s = "generic", *secret = NULL, *minsev = "warning";
	enum webhook_format fmt;
	json_error_t jerr;
	int64_t id = 0;
	if (!req->body ||
	    json_unpack_ex(req->body, &jerr, JSON_STRICT, "{s:s, s?s, s:s, s?s}", "url", &url,
			   "format", &fmt_s, "secret", &secret, "min_severity", &minsev)) {
		api_error(req, 400, "invalid",
			  "body must be {\"url\", \"secret\", \"format\"?, \"min_severity\"?}%s%s",
			  req->body ? ": " : "", req->body ? jerr.text : "");
		return;
	}
	if (webhook_format_parse(fmt_s, &fmt)) {
		api_error(req, 400, "invalid", "format: must be generic or slack");
		return;
	}
	int rc = webhook_add(req->db, req->actor, url, fmt, secret, minsev, util_now(), &id, err,
			     sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else
		api_ok(req, 201, json_pack("{s:I}", "id", (json_int_t)id));
}

void api_webhook_remove(struct api_req *req)
{
	char err[ERRLEN];
	int64_t id;
	if (api_param_id(req, 0, &id))
		return;
	int rc = webhook_remove(req->db, req->actor, id, err, sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else
		api_ok(req, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "removed", 1));
}

void api_webhook_test(struct api_req *req)
{
	char err[ERRLEN] = "";
	int64_t id;
	long status = 0;
	if (api_param_id(req, 0, &id))
		return;
	int rc = webhook_test(req->db, req->ctx->cfg, id, &status, err, sizeof(err));
	if (rc == -ENOENT)
		api_store_error(req, rc, err);
	else
		api_ok(req, 200,
		       json_pack("{s:b, s:I, s:s}", "delivered", rc == 0, "http_status",
				 (json_int_t)status, "detail", err));
}

/* GET /api/v1/webhooks/outbox[?state=pending|given_up][&limit=N]: queued and
 * given-up notifications with their last error (never the body). */
void api_webhook_outbox(struct api_req *req)
{
	char err[ERRLEN];
	json_t *arr = NULL;
	long long limit = 500;
	const char *state = api_query(req, "state"), *l = api_query(req, "limit");
	if (l && util_parse_int(l, 1, 10000, &limit)) {
		api_error(req, 400, "bad_request", "limit must be an integer from 1 to 10000");
		return;
	}
	if (state && strcmp(state, "pending") && strcmp(state, "given_up")) {
		api_error(req, 400, "bad_request", "state must be pending or given_up");
		return;
	}
	int rc = webhook_outbox_json(req->db, state, (int)limit, &arr, err, sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else
		api_ok(req, 200, json_pack("{s:o}", "items", arr));
}

/* POST /api/v1/webhooks/outbox/{id}/retry: queue a given-up notification again. */
void api_webhook_outbox_retry(struct api_req *req)
{
	char err[ERRLEN];
	int64_t id;
	if (api_param_id(req, 0, &id))
		return;
	int rc = webhook_outbox_retry(req->db, req->actor, id, util_now(), err, sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else
		api_ok(req, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", "pending"));
}
