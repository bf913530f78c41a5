/* API handlers of the field signals: POST/GET /api/v1/reports (pin-failure
 * reports, public with their own limits) and /api/v1/candidates. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts_engine.h"
#include "http/api_internal.h"
#include "signals/candidates.h"
#include "store/db.h"
#include "signals/reports.h"
#include "base/config.h"
#include "base/util.h"

void api_reports_post(struct api_req *req)
{
	char err[ERRLEN] = "";
	struct reports_stats before, after;
	reports_limits_stats(req->ctx->reports, &before);
	int st = reports_ingest_value(req->db, req->body, req->bodylen, req->client, util_now(),
				      req->ctx->reports, err, sizeof(err));
	switch (st) {
	case 202:
		/* A new cluster is a new pin_failures_reported alert: evaluate soon
		 * (concurrent requests may poke once more; pokes coalesce). */
		reports_limits_stats(req->ctx->reports, &after);
		if (after.new_clusters != before.new_clusters)
			alerts_engine_poke(alerts_engine_current());
		api_ok(req, 202, json_pack("{s:s}", "status", "accepted"));
		break;
	case 400:
		api_error(req, 400, "bad_report", "%s", err);
		break;
	case 413:
		api_error(req, 413, "too_large", "%s", err);
		break;
	case 429:
		api_error(req, 429, "rate_limited", "%s", err);
		break;
	default:
		api_failure(req, st, err);
		break;
	}
}

void api_reports_list(struct api_req *req)
{
	char err[ERRLEN];
	long long days = 30, limit = 1000;
	const char *d = api_query(req, "days"), *l = api_query(req, "limit");
	if ((d && util_parse_int(d, 1, 3660, &days)) ||
	    (l && util_parse_int(l, 1, 10000, &limit))) {
		api_error(req, 400, "bad_request", "days: 1..3660, limit: 1..10000");
		return;
	}
	json_t *items = NULL;
	int rc = reports_clusters_json(req->db, (int)limit, (int)days, util_now(), &items, err,
				       sizeof(err));
	if (rc) {
		api_failure(req, rc, err);
		return;
	}
	struct reports_stats st;
	reports_limits_stats(req->ctx->reports, &st);
	api_ok(req, 200,
	       json_pack("{s:o,s:n,s:{s:I,s:I,s:I,s:I,s:I,s:I}}", "items", items, "next_cursor",
			 "counters", "accepted", (json_int_t)st.accepted, "bad", (json_int_t)st.bad,
			 "too_large", (json_int_t)st.too_large, "rate_limited",
			 (json_int_t)st.rate_limited, "evicted", (json_int_t)st.evicted,
			 "new_clusters", (json_int_t)st.new_clusters));
}

void api_candidates_list(struct api_req *req)
{
	char err[ERRLEN];
	json_t *items = NULL;
	int rc = candidates_json(req->db, 0, &items, err, sizeof(err));
	if (rc) {
		api_failure(req, rc, err);
		return;
	}
	api_ok(req, 200, json_pack("{s:o,s:n}", "items", items, "next_cursor"));
}

void api_candidates_post(struct api_req *req)
{
	char err[ERRLEN] = "";
	json_t *resp = NULL;
	int st = candidates_api_post_value(req->db, req->actor,
					   req->ctx && req->ctx->cfg ? req->ctx->cfg->probe_ca_file
								     : NULL,
					   req->body, util_now(), &resp, err, sizeof(err));
	if (st == 200 || st == 201) {
		api_ctx_invalidate(req->ctx);
		alerts_engine_poke(alerts_engine_current());
		api_ok(req, st, resp);
	} else if (st == 400 || st == 409) {
		api_error(req, st, st == 400 ? "bad_request" : "limit_reached", "%s", err);
	} else {
		api_failure(req, st, err);
	}
}

void api_candidate_get(struct api_req *req)
{
	char err[ERRLEN];
	int64_t id;
	json_t *c = NULL;
	if (api_param_id(req, 0, &id))
		return;
	int rc = candidates_json(req->db, id, &c, err, sizeof(err));
	if (rc == -ENOENT)
		api_error(req, 404, "not_found", "%s", err);
	else if (rc)
		api_failure(req, rc, err);
	else
		api_ok(req, 200, c);
}

void api_candidate_delete(struct api_req *req)
{
	char err[ERRLEN];
	int64_t id;
	if (api_param_id(req, 0, &id))
		return;
	int rc = candidates_remove(req->db, req->actor, id, err, sizeof(err));
	if (rc == -ENOENT)
		api_error(req, 404, "not_found", "%s", err);
	else if (rc)
		api_failure(req, rc, err);
	else {
		api_ctx_invalidate(req->ctx);
		alerts_engine_poke(alerts_engine_current());
		api_ok(req, 200, json_pack("{s:I}", "removed", (json_int_t)id));
	}
}
