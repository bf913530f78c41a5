/* Pin-failure reports (POST from apps in the field, unauthenticated and rate
 * limited per source address) and candidate certificates (CT, manual). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "candidates.h"
#include "db.h"
#include "reports.h"
#include "util.h"

static const char *status_error(int status)
{
	switch (status) {
	case 400:
		return "invalid";
	case 404:
		return "not_found";
	case 413:
		return "too_large";
	case 429:
		return "rate_limited";
	default:
		return "internal";
	}
}

void api_reports_post(struct api_req *req)
{
	char err[ERRLEN] = "";
	if (!req->body) {
		api_error(req, 400, "invalid", "a report body is required");
		return;
	}
	int st = reports_ingest_value(req->db, req->body, req->bodylen, req->client, util_now(),
				      req->ctx->reports, err, sizeof(err));
	if (st == 202)
		api_ok(req, 202, json_pack("{s:s}", "status", "accepted"));
	else
		api_error(req, st, status_error(st), "%s", err[0] ? err : "report refused");
}

void api_reports_list(struct api_req *req)
{
	char err[ERRLEN];
	long long limit = 100, days = 30;
	const char *l = api_query(req, "limit"), *d = api_query(req, "days");
	json_t *out = NULL;
	if ((l && util_parse_int(l, 1, 1000, &limit)) || (d && util_parse_int(d, 1, 366, &days))) {
		api_error(req, 400, "bad_request", "limit must be 1..1000 and days 1..366");
		return;
	}
	int rc = reports_clusters_json(req->db, (int)limit, (int)days, util_now(), &out, err,
				       sizeof(err));
	if (rc)
		api_error(req, 500, "database", "%s", err);
	else
		api_list_response(req, out, 0);
}

void api_candidates_post(struct api_req *req)
{
	char err[ERRLEN] = "";
	json_t *resp = NULL;
	if (!req->body) {
		api_error(req, 400, "invalid",
			  "body {\"pem\": \"...\", \"source\": \"ct|manual\", \"host\": \"...\"} "
			  "required");
		return;
	}
	char *text = json_dumps(req->body, JSON_COMPACT);
	if (!text) {
		api_error(req, 500, "internal", "out of memory");
		return;
	}
	int st = candidates_api_post(req->db, text, strlen(text), util_now(), &resp, err,
				     sizeof(err));
	free(text);
	if (st == 200 || st == 201) {
		api_ctx_invalidate(req->ctx);
		api_ok(req, st, resp);
	} else {
		json_decref(resp);
		api_error(req, st >= 400 && st < 600 ? st : 500, status_error(st), "%s",
			  err[0] ? err : "refused");
	}
}

void api_candidates_list(struct api_req *req)
{
	char err[ERRLEN];
	json_t *out = NULL;
	int rc = candidates_json(req->db, 0, &out, err, sizeof(err));
	if (rc)
		api_error(req, 500, "database", "%s", err);
	else
		api_list_response(req, out, 0);
}

void api_candidate_get(struct api_req *req)
{
	char err[ERRLEN];
	int64_t id;
	json_t *out = NULL;
	if (api_param_id(req, 0, &id))
		return;
	int rc = candidates_json(req->db, id, &out, err, sizeof(err));
	if (rc == -ENOENT)
		api_error(req, 404, "not_found", "%s", err);
	else if (rc)
		api_error(req, 500, "database", "%s", err);
	else
		api_ok(req, 200, out);
}

void api_candidate_delete(struct api_req *req)
{
	char err[ERRLEN];
	int64_t id;
	if (api_param_id(req, 0, &id))
		return;
	int rc = candidates_remove(req->db, id, err, sizeof(err));
	if (rc == -ENOENT)
		api_error(req, 404, "not_found", "%s", err);
	else if (rc)
		api_error(req, 500, "database", "%s", err);
	else {
		api_ctx_invalidate(req->ctx);
		api_ok(req, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "deleted", 1));
	}
}
