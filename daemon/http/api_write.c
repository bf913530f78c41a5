/* Write routes over the inventory (endpoints, apps, versions, pin policies,
 * adoption), bulk import/export and audit verification. Validation is the
 * import's own (invfile.h); every write goes through the store modules
 * (inventory.h, apps.h), which append the audit row in the same transaction
 * with the actor "token:<name>". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/api_internal.h"
#include "store/apps.h"
#include "store/audit.h"
#include "store/db.h"
#include "store/inventory.h"
#include "importers/invfile.h"
#include "model/json.h"
#include "model/model.h"
#include "base/util.h"

static int need_object(struct api_req *req)
{
	if (!json_is_object(req->body)) {
		api_error(req, 400, "invalid", "the body must be a JSON object");
		return -EINVAL;
	}
	return 0;
}

static void changed_ok(struct api_req *req, int status, json_t *obj)
{
	api_ctx_invalidate(req->ctx);
	api_ok(req, status, obj);
}

/* ---- endpoints -------------------------------------------------------- */

static json_t *endpoint_json(const struct endpoint *e)
{
	json_t *j = model_endpoint_to_json(e);
	if (j)
		json_object_set_new(j, "id", json_integer(e->id));
	return j;
}

void api_endpoint_create(struct api_req *req)
{
	char err[ERRLEN];
	struct endpoint e;
	if (need_object(req))
		return;
	int rc = invfile_parse_endpoint(req->body, "", &e, err, sizeof(err));
	if (rc) {
		api_store_error(req, rc, err);
		return;
	}
	rc = inventory_endpoint_create(req->db, req->actor, &e, err, sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else
		changed_ok(req, 201, endpoint_json(&e));
	model_endpoint_free(&e);
}

/* Fetch endpoint {id} into @cur. 0 or an error response set. */
static int endpoint_by_param(struct api_req *req, struct endpoint *cur)
{
	char err[ERRLEN];
	int64_t id;
	if (api_param_id(req, 0, &id))
		return -EINVAL;
	int rc = inventory_endpoint_get_id(req->db, id, cur, err, sizeof(err));
	if (rc) {
		api_store_error(req, rc, err);
		return rc;
	}
	return 0;
}

void api_endpoint_update(struct api_req *req)
{
	char err[ERRLEN];
	struct endpoint cur, e;
	bool changed = false;
	if (need_object(req) || endpoint_by_param(req, &cur))
		return;
	/* host and port identify the endpoint: they may be omitted, not changed */
	json_t *b = json_deep_copy(req->body);
	if (!json_object_get(b, "host"))
		json_object_set_new(b, "host", json_string(cur.host));
	if (!json_object_get(b, "port"))
		json_object_set_new(b, "port", json_integer(cur.port));
	int rc = invfile_parse_endpoint(b, "", &e, err, sizeof(err));
	json_decref(b);
	if (rc) {
		api_store_error(req, rc, err);
		model_endpoint_free(&cur);
		return;
	}
	if (strcmp(e.host, cur.host) != 0 || e.port != cur.port) {
		api_error(req, 400, "invalid",
			  "host/port: cannot be changed (delete and create instead)");
	} else {
		rc = inventory_endpoint_update(req->db, req->actor, &e, &changed, err, sizeof(err));
		if (rc) {
			api_store_error(req, rc, err);
		} else {
			json_t *j = endpoint_json(&e);
			json_object_set_new(j, "changed", json_boolean(changed));
			changed_ok(req, 200, j);
		}
	}
	model_endpoint_free(&e);
	model_endpoint_free(&cur);
}

void api_endpoint_delete(struct api_req *req)
{
	char err[ERRLEN];
	struct endpoint cur;
	if (endpoint_by_param(req, &cur))
		return;
	int rc = inventory_endpoint_delete(req->db, req->actor, cur.host, cur.port, err,
					   sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else
		changed_ok(req, 200,
			   json_pack("{s:I, s:b}", "id", (json_int_t)cur.id, "deleted", 1));
	model_endpoint_free(&cur);
}

/* ---- apps ------------------------------------------------------------- */

/* The name of app {id} into @name. 0 or an error response set. */
static int app_name(struct api_req *req, char *name, size_t len)
{
	int64_t id;
	char err[ERRLEN];
	if (api_param_id(req, 0, &id))
		return -EINVAL;
	int rc = apps_name(req->db, id, name, len, err, sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	return rc;
}

static json_t *app_json(const struct app *a)
{
	json_t *j = model_app_to_json(a, false);
	if (j)
		json_object_set_new(j, "id", json_integer(a->id));
	return j;
}

void api_app_create(struct api_req *req)
{
	char err[ERRLEN];
	struct app a;
	if (need_object(req))
		return;
	int rc = invfile_parse_app(req->body, "", false, &a, err, sizeof(err));
	if (rc) {
		api_store_error(req, rc, err);
		return;
	}
	rc = apps_create(req->db, req->actor, &a, err, sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else
		changed_ok(req, 201, app_json(&a));
	model_app_free(&a);
}

void api_app_update(struct api_req *req)
{
	char err[ERRLEN], name[160];
	struct app a;
	bool changed = false;
	if (need_object(req) || app_name(req, name, sizeof(name)))
		return;
	json_t *b = json_deep_copy(req->body);
	if (!json_object_get(b, "name"))
		json_object_set_new(b, "name", json_string(name));
	int rc = invfile_parse_app(b, "", false, &a, err, sizeof(err));
	json_decref(b);
	if (rc) {
		api_store_error(req, rc, err);
		return;
	}
	if (strcmp(a.name, name) != 0)
		api_error(req, 400, "invalid", "name: cannot be changed");
	else if ((rc = apps_update(req->db, req->actor, &a, &changed, err, sizeof(err))))
		api_store_error(req, rc, err);
	else {
		json_t *j = app_json(&a);
		json_object_set_new(j, "changed", json_boolean(changed));
		changed_ok(req, 200, j);
	}
	model_app_free(&a);
}

void api_app_delete(struct api_req *req)
{
	char err[ERRLEN], name[160];
	if (app_name(req, name, sizeof(name)))
		return;
	int rc = apps_delete(req->db, req->actor, name, err, sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else
		changed_ok(req, 200, json_pack("{s:s, s:b}", "name", name, "deleted", 1));
}

/* ---- versions --------------------------------------------------------- */

void api_version_get(struct api_req *req)
{
	char err[ERRLEN], name[160];
	struct app_version v;
	if (app_name(req, name, sizeof(name)))
		return;
	int rc = apps_version_get(req->db, name, req->params[1], &v, err, sizeof(err));
	if (rc) {
		api_store_error(req, rc, err);
		return;
	}
	api_ok(req, 200, model_version_to_json(&v));
	model_version_free(&v);
}

static void version_write(struct api_req *req, bool create)
{
	char err[ERRLEN], name[160];
	struct app_version v;
	bool changed = true;
	if (need_object(req) || app_name(req, name, sizeof(name)))
		return;
	json_t *b = json_deep_copy(req->body);
	if (!create && !json_object_get(b, "version"))
		json_object_set_new(b, "version", json_string(req->params[1]));
	int rc = invfile_parse_version(b, "", &v, err, sizeof(err));
	json_decref(b);
	if (rc) {
		api_store_error(req, rc, err);
		return;
	}
	if (!create && strcmp(v.version, req->params[1]) != 0)
		api_error(req, 400, "invalid", "version: cannot be changed");
	else if ((rc = create ? apps_version_create(req->db, req->actor, name, &v, err, sizeof(err))
			      : apps_version_replace(req->db, req->actor, name, &v, &changed, err,
						     sizeof(err))))
		api_store_error(req, rc, err);
	else {
		json_t *j = model_version_to_json(&v);
		json_object_set_new(j, "changed", json_boolean(changed));
		changed_ok(req, create ? 201 : 200, j);
	}
	model_version_free(&v);
}

void api_version_create(struct api_req *req)
{
	version_write(req, true);
}

void api_version_replace(struct api_req *req)
{
	version_write(req, false);
}

void api_version_delete(struct api_req *req)
{
	char err[ERRLEN], name[160];
	if (app_name(req, name, sizeof(name)))
		return;
	int rc = apps_version_delete(req->db, req->actor, name, req->params[1], err, sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else
		changed_ok(req, 200,
			   json_pack("{s:s, s:s, s:b}", "app", name, "version", req->params[1],
				     "deleted", 1));
}

/* ---- pin policies ----------------------------------------------------- */

void api_policy_put(struct api_req *req)
{
	char err[ERRLEN], name[160];
	struct pin_policy p;
	bool changed = false;
	if (need_object(req) || app_name(req, name, sizeof(name)))
		return;
	int rc = invfile_parse_policy(req->body, "", &p, err, sizeof(err));
	if (rc) {
		api_store_error(req, rc, err);
		return;
	}
	rc = apps_policy_put(req->db, req->actor, name, req->params[1], &p, &changed, err,
			     sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else {
		json_t *j = model_policy_to_json(&p);
		json_object_set_new(j, "changed", json_boolean(changed));
		changed_ok(req, 200, j);
	}
	model_policy_free(&p);
}

void api_policy_delete(struct api_req *req)
{
	char err[ERRLEN], name[160];
	const char *pattern = api_query(req, "pattern"),
		   *inc = api_query(req, "include_subdomains");
	if (app_name(req, name, sizeof(name)))
		return;
	if (!pattern || (inc && strcmp(inc, "true") && strcmp(inc, "false"))) {
		api_error(req, 400, "invalid",
			  "query: pattern=... required, include_subdomains=true|false optional");
		return;
	}
	int rc = apps_policy_delete(req->db, req->actor, name, req->params[1], pattern,
				    inc && !strcmp(inc, "true"), err, sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else
		changed_ok(req, 200, json_pack("{s:s, s:b}", "pattern", pattern, "deleted", 1));
}

/* ---- adoption --------------------------------------------------------- */

#define ADOPTION_MAX 10000

/* Body: {"samples": [{"version": "4.2.0", "at": "2026-11-20", "share": 0.31, "active_users":
 * 1200}]} */
void api_adoption_add(struct api_req *req)
{
	char err[ERRLEN], name[160], path[64];
	if (need_object(req) || app_name(req, name, sizeof(name)))
		return;
	json_t *samples = json_object_get(req->body, "samples");
	if (!json_is_array(samples) || json_array_size(samples) == 0 ||
	    json_array_size(samples) > ADOPTION_MAX || json_object_size(req->body) != 1) {
		api_error(req, 400, "invalid",
			  "body must be {\"samples\": [...]} with 1 to %d samples", ADOPTION_MAX);
		return;
	}
	size_t n = json_array_size(samples), i;
	struct adoption_row *rows = calloc(n, sizeof(*rows));
	if (!rows) {
		api_error(req, 500, "internal", "out of memory");
		return;
	}
	json_t *s;
	int rc = 0;
	json_array_foreach(samples, i, s)
	{
		struct adoption_sample a;
		json_t *copy = json_deep_copy(s);
		const char *ver = json_string_value(json_object_get(s, "version"));
		snprintf(path, sizeof(path), "samples[%zu]", i);
		if (!ver) {
			json_decref(copy);
			rc = util_err(err, sizeof(err), -EINVAL,
				      "%s.version: missing or not a string", path);
			break;
		}
		json_object_del(copy, "version");
		rc = invfile_parse_adoption(copy, path, &a, err, sizeof(err));
		json_decref(copy);
		if (rc)
			break;
		rows[i].version = ver;
		memcpy(rows[i].at, a.at, sizeof(rows[i].at));
		rows[i].share = a.share;
		rows[i].active_users = a.active_users;
	}
	if (!rc)
		rc = apps_add_adoption(req->db, req->actor, name, rows, n, err, sizeof(err));
	free(rows);
	if (rc)
		api_store_error(req, rc, err);
	else
		changed_ok(req, 200,
			   json_pack("{s:s, s:I}", "app", name, "samples", (json_int_t)n));
}

void api_adoption_delete(struct api_req *req)
{
	char err[ERRLEN], name[160];
	if (app_name(req, name, sizeof(name)))
		return;
	int rc = apps_adoption_delete(req->db, req->actor, name, req->params[1], req->params[2],
				      err, sizeof(err));
	if (rc)
		api_store_error(req, rc, err);
	else
		changed_ok(req, 200,
			   json_pack("{s:s, s:s, s:b}", "version", req->params[1], "at",
				     req->params[2], "deleted", 1));
}

/* ---- bulk inventory --------------------------------------------------- */

void api_inventory_export(struct api_req *req)
{
	char err[ERRLEN];
	struct inventory inv;
	int rc = inventory_load(req->db, &inv, err, sizeof(err));
	if (rc) {
		api_store_error(req, rc, err);
		return;
	}
	api_ok(req, 200, model_inventory_to_json(&inv));
	model_inventory_free(&inv);
}

void api_inventory_import(struct api_req *req)
{
	char err[ERRLEN];
	struct inventory inv;
	struct inventory_import_stats st = { 0 };
	const char *prune = api_query(req, "prune");
	if (prune && strcmp(prune, "true") && strcmp(prune, "false")) {
		api_error(req, 400, "invalid", "prune must be true or false");
		return;
	}
	if (!req->body) {
		api_error(req, 400, "invalid", "the inventory document is required");
		return;
	}
	int rc = invfile_parse(req->body, &inv, err, sizeof(err));
	if (rc) {
		api_store_error(req, rc, err);
		return;
	}
	rc = inventory_import(req->db, req->actor, &inv, prune && !strcmp(prune, "true"), &st, err,
			      sizeof(err));
	model_inventory_free(&inv);
	if (rc)
		api_store_error(req, rc, err);
	else
		changed_ok(req, 200,
			   json_pack("{s:I, s:I, s:I, s:I, s:I}", "created", (json_int_t)st.created,
				     "updated", (json_int_t)st.updated, "deleted",
				     (json_int_t)st.deleted, "unchanged", (json_int_t)st.unchanged,
				     "audit_rows", (json_int_t)st.audit_rows));
}

/* ---- audit verify ----------------------------------------------------- */

void api_audit_verify(struct api_req *req)
{
	char err[ERRLEN];
	struct audit_verify_result res;
	const char *head = api_query(req, "head");
	memset(&res, 0, sizeof(res));
	int rc = audit_verify(req->db, head, &res, err, sizeof(err));
	if (rc && rc != -EBADMSG) {
		api_store_error(req, rc, err);
		return;
	}
	api_ok(req, 200,
	       json_pack("{s:b, s:I, s:o, s:s, s:s, s:b}", "ok", rc == 0, "rows",
			 (json_int_t)res.rows, "bad_id",
			 res.bad_id ? json_integer(res.bad_id) : json_null(), "detail", res.reason,
			 "head", res.head, "head_missing", res.head_missing));
}
