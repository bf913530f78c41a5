/* Read routes over the inventory, observations and the audit log, answered
 * from the store's read views (store/views.h). Lists use keyset pagination
 * on the row id: the cursor is the last id returned. A busy or failing
 * database gives a 503/500, never a shortened list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/api_internal.h"
#include "store/views.h"
#include "readiness/readiness_load.h"
#include "base/util.h"

/* The answer to a read view's error @rc (message @err). */
static void read_error(struct api_req *req, int rc, const char *err)
{
	if (rc == -ENOMEM)
		api_error(req, 500, "internal", "out of memory");
	else
		api_store_error(req, rc, err);
}

/* A list answer from a read view: its items, or its error. */
static void list_answer(struct api_req *req, int rc, json_t *items, int64_t next, const char *err)
{
	if (rc)
		read_error(req, rc, err);
	else
		api_list_response(req, items, next);
}

/* ---- endpoints -------------------------------------------------------- */

void api_endpoints_list(struct api_req *req)
{
	int64_t limit, cursor, next = 0;
	char err[ERRLEN];
	json_t *items = NULL;
	if (api_page(req, &limit, &cursor))
		return;
	struct views_endpoint_filter f = {
		.environment = api_query(req, "environment"),
		.owner = api_query(req, "owner"),
		.tag = api_query(req, "tag"),
		.host = api_query(req, "host"),
	};
	int rc = views_endpoints(req->db, &f, cursor, limit, &items, &next, err, sizeof(err));
	list_answer(req, rc, items, next, err);
}

void api_endpoint_get(struct api_req *req)
{
	int64_t id;
	char err[ERRLEN];
	json_t *o = NULL;
	if (api_param_id(req, 0, &id))
		return;
	int rc = views_endpoint(req->db, id, &o, err, sizeof(err));
	if (rc)
		read_error(req, rc, err);
	else
		api_ok(req, 200, o);
}

/* 0 when endpoint @id exists; otherwise the answer (404, 503, 500) is set. */
static int endpoint_exists(struct api_req *req, int64_t id)
{
	char err[ERRLEN];
	int rc = views_endpoint_exists(req->db, id, err, sizeof(err));
	if (rc)
		read_error(req, rc, err);
	return rc;
}

/* ---- observations ----------------------------------------------------- */

void api_endpoint_observations(struct api_req *req)
{
	int64_t id, next = 0;
	char err[ERRLEN];
	json_t *items = NULL;
	if (api_param_id(req, 0, &id) || endpoint_exists(req, id))
		return;
	int rc = views_observations_latest(req->db, id, API_LIMIT_MAX, &items, &next, err,
					   sizeof(err));
	list_answer(req, rc, items, next, err);
	if (req->status == 200)
		json_object_set_new(req->json, "endpoint_id", json_integer(id));
}

/* Each period of a history page gets "readiness": the engine's verdict on its
 * chain at its time (readiness_history_db). */
static void history_readiness(struct api_req *req, int64_t endpoint_id)
{
	json_t *items = json_object_get(req->json, "items");
	size_t n = json_array_size(items);
	char err[ERRLEN] = "";
	if (n == 0)
		return;
	int64_t *ids = calloc(n, sizeof(*ids));
	json_t **rd = calloc(n, sizeof(*rd));
	int rc = ids && rd ? 0 : util_err(err, sizeof(err), -ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < n; i++)
		ids[i] = json_integer_value(json_object_get(json_array_get(items, i), "id"));
	if (!rc)
		rc = readiness_history_db(req->db, endpoint_id, ids, n, rd, err, sizeof(err));
	for (size_t i = 0; !rc && i < n; i++)
		json_object_set_new(json_array_get(items, i), "readiness", rd[i]);
	free(ids);
	free(rd);
	if (rc)
		api_store_error(req, rc, err);
}

void api_endpoint_history(struct api_req *req)
{
	int64_t id, limit, cursor, next = 0;
	char err[ERRLEN];
	json_t *items = NULL;
	if (api_param_id(req, 0, &id) || api_page(req, &limit, &cursor) || endpoint_exists(req, id))
		return;
	/* newest first: the cursor is an upper bound */
	int rc = views_observations_history(req->db, id, api_query(req, "address"), cursor, limit,
					    &items, &next, err, sizeof(err));
	list_answer(req, rc, items, next, err);
	if (req->status == 200)
		history_readiness(req, id);
}

/* ---- apps ------------------------------------------------------------- */

void api_apps_list(struct api_req *req)
{
	int64_t limit, cursor, next = 0;
	char err[ERRLEN];
	json_t *items = NULL;
	if (api_page(req, &limit, &cursor))
		return;
	int rc = views_apps(req->db, api_query(req, "platform"), cursor, limit, &items, &next, err,
			    sizeof(err));
	list_answer(req, rc, items, next, err);
}

void api_app_get(struct api_req *req)
{
	int64_t id;
	char err[ERRLEN];
	json_t *app = NULL;
	if (api_param_id(req, 0, &id))
		return;
	int rc = views_app(req->db, id, &app, err, sizeof(err));
	if (rc)
		read_error(req, rc, err);
	else
		api_ok(req, 200, app);
}

/* ---- audit ------------------------------------------------------------ */

void api_audit_list(struct api_req *req)
{
	int64_t limit, cursor, next = 0;
	char err[ERRLEN];
	json_t *items = NULL;
	struct views_audit_filter f = { 0 };
	if (api_page(req, &limit, &cursor))
		return;
	const char *s_since = api_query(req, "since"), *s_until = api_query(req, "until");
	if ((s_since && util_parse_time(s_since, &f.since)) ||
	    (s_until && util_parse_time(s_until, &f.until))) {
		api_error(req, 400, "bad_request",
			  "since/until must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
		return;
	}
	f.actor = api_query(req, "actor");
	f.action = api_query(req, "action");
	f.object_type = api_query(req, "object_type");
	f.object_id = api_query(req, "object_id");
	int rc = views_audit(req->db, &f, cursor, limit, &items, &next, err, sizeof(err));
	list_answer(req, rc, items, next, err);
}

/* ---- certificates served now ------------------------------------------ */

void api_certificates_list(struct api_req *req)
{
	int64_t limit, cursor, next = 0;
	char err[ERRLEN];
	json_t *items = NULL;
	if (api_page(req, &limit, &cursor))
		return;
	int rc = views_certificates(req->db, util_now(), cursor, limit, &items, &next, err,
				    sizeof(err));
	list_answer(req, rc, items, next, err);
}
