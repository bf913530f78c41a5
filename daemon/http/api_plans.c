/* /api/v1/plans: rotation plans (read to list and show, write to add and cancel). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts_engine.h"
#include "base/config.h"
#include "base/util.h"
#include "http/api_internal.h"
#include "readiness/readiness.h"
#include "readiness/readiness_load.h"
#include "readiness/readiness_plan_db.h"
#include "store/plans.h"

static int64_t confirm_s(const struct api_req *req)
{
	return readiness_plan_confirm_s(req->ctx->cfg);
}

static void reply(struct api_req *req, int rc, const char *err, json_t *out)
{
	if (rc == -ENOENT)
		api_error(req, 404, "not_found", "%s", err);
	else if (rc)
		api_error(req, 500, "internal", "%s", err);
	else
		api_ok(req, 200, out);
}

/* GET /api/v1/plans[?all=true] */
void api_plans_list(struct api_req *req)
{
	char err[ERRLEN];
	json_t *items = NULL;
	const char *all = api_query(req, "all");
	int rc = readiness_plans_json(req->db, 0, !(all && !strcmp(all, "true")), util_now(),
				      confirm_s(req), &items, err, sizeof(err));
	if (rc)
		reply(req, rc, err, NULL);
	else
		api_ok(req, 200, json_pack("{s:o,s:n}", "items", items, "next_cursor"));
}

/* GET /api/v1/plans/{id} */
void api_plan_get(struct api_req *req)
{
	char err[ERRLEN];
	int64_t id;
	json_t *out = NULL;
	if (api_param_id(req, 0, &id))
		return;
	int rc = readiness_plans_json(req->db, id, false, util_now(), confirm_s(req), &out, err,
				      sizeof(err));
	reply(req, rc, err, out);
}

/* The planned keys of a body: the chain's certificates (leaf first) or pins[]. */
static int body_keys(struct api_req *req, const char *pem, json_t *pins, struct plan *p)
{
	char err[ERRLEN];
	p->keys = calloc(PLANS_MAX_KEYS, 32);
	if (!p->keys) {
		api_error(req, 500, "internal", "out of memory");
		return -ENOMEM;
	}
	if (pem) {
		struct readiness_chain chain = { 0 };
		if (strlen(pem) > PLANS_MAX_CHAIN ||
		    readiness_chain_from_pem(pem, strlen(pem), &chain, err, sizeof(err))) {
			api_error(req, 400, "invalid", "chain_pem: %s",
				  strlen(pem) > PLANS_MAX_CHAIN ? "too large" : err);
			return -EINVAL;
		}
		for (size_t i = 0; i < chain.ncerts && p->nkeys < PLANS_MAX_KEYS; i++) {
			bool dup = false;
			for (size_t k = 0; k < p->nkeys && !dup; k++)
				dup = !memcmp(p->keys[k], chain.certs[i].pin, 32);
			if (!dup)
				memcpy(p->keys[p->nkeys++], chain.certs[i].pin, 32);
		}
		readiness_chain_free(&chain);
		if (!(p->chain_pem = strdup(pem))) {
			api_error(req, 500, "internal", "out of memory");
			return -ENOMEM;
		}
		return 0;
	}
	size_t i;
	json_t *x;
	if (!json_is_array(pins) || json_array_size(pins) == 0 ||
	    json_array_size(pins) > PLANS_MAX_KEYS) {
		api_error(req, 400, "invalid", "pins: an array of 1 to %d SPKI pins",
			  PLANS_MAX_KEYS);
		return -EINVAL;
	}
	json_array_foreach(pins, i, x)
	{
		if (!json_is_string(x) ||
		    util_parse_pin(json_string_value(x), p->keys[p->nkeys], err, sizeof(err))) {
			api_error(req, 400, "invalid", "pins[%zu]: %s", i,
				  json_is_string(x) ? err : "expected a string");
			return -EINVAL;
		}
		p->nkeys++;
	}
	return 0;
}

/* POST /api/v1/plans {host, port?, chain_pem? | pins?[], not_before?, note?} */
void api_plans_post(struct api_req *req)
{
	char err[ERRLEN];
	const char *host = NULL, *pem = NULL, *nb = NULL, *note = NULL;
	json_t *pins = NULL, *out = NULL;
	int port = 443;
	json_error_t jerr;
	struct plan p = { 0 };
	if (!req->body ||
	    json_unpack_ex(req->body, &jerr, JSON_STRICT, "{s:s, s?i, s?s, s?o, s?s, s?s}", "host",
			   &host, "port", &port, "chain_pem", &pem, "pins", &pins, "not_before",
			   &nb, "note", &note)) {
		api_error(req, 400, "invalid",
			  "body must be {\"host\", \"port\"?, \"chain_pem\" or \"pins\", "
			  "\"not_before\"?, \"note\"?}%s%s",
			  req->body ? ": " : "", req->body ? jerr.text : "");
		return;
	}
	if (!pem == !pins) {
		api_error(req, 400, "invalid", "give either chain_pem (a PEM chain) or pins");
		return;
	}
	if (nb &&
	    snprintf(p.not_before, sizeof(p.not_before), "%s", nb) >= (int)sizeof(p.not_before)) {
		api_error(req, 400, "invalid", "not_before: not a date (YYYY-MM-DD)");
		return;
	}
	p.port = port;
	if (!(p.host = strdup(host)) || (note && !(p.note = strdup(note)))) {
		api_error(req, 500, "internal", "out of memory");
		goto out;
	}
	if (body_keys(req, pem, pins, &p))
		goto out;
	int rc = plans_add(req->db, req->actor, &p, err, sizeof(err));
	if (rc) {
		if (rc == -EINVAL)
			api_error(req, 400, "invalid", "%s", err);
		else if (rc == -ENOSPC)
			api_error(req, 409, "limit_reached", "%s", err);
		else
			api_store_error(req, rc, err);
		goto out;
	}
	api_ctx_invalidate(req->ctx);
	alerts_engine_poke(alerts_engine_current());
	rc = readiness_plans_json(req->db, p.id, false, util_now(), confirm_s(req), &out, err,
				  sizeof(err));
	if (rc)
		reply(req, rc, err, NULL);
	else
		api_ok(req, 201, out);
out:
	plan_free(&p);
}

/* DELETE /api/v1/plans/{id}: cancel (the plan and its history stay). */
void api_plan_cancel(struct api_req *req)
{
	char err[ERRLEN];
	int64_t id;
	if (api_param_id(req, 0, &id))
		return;
	int rc = plans_cancel(req->db, req->actor, id, err, sizeof(err));
	if (rc == -ENOENT) {
		api_error(req, 404, "not_found", "%s", err);
	} else if (rc) {
		api_store_error(req, rc, err);
	} else {
		api_ctx_invalidate(req->ctx);
		alerts_engine_poke(alerts_engine_current());
		api_ok(req, 200, json_pack("{s:I}", "cancelled", (json_int_t)id));
	}
}
