/* Rotation plans from the store, evaluated (the loading edge of readiness_plan.c). */
#include "readiness/readiness_plan_db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/util.h"
#include "readiness/readiness_gate.h"
#include "readiness/readiness_load.h"
#include "store/plans.h"

int64_t readiness_plan_confirm_s(const struct config *cfg)
{
	int d = cfg && cfg->plans_confirm_days > 0 ? cfg->plans_confirm_days
						   : PLANS_DEFAULT_CONFIRM_DAYS;
	return (int64_t)d * 86400;
}

/*
 * The chain plan @p moves to, as the engine needs it: its PEM completed
 * towards an anchor with observed CA certificates (@pool may be NULL;
 * issuers confirmed by signature, readiness_chain_complete_verified), or
 * its keys as bare pins. Caller frees @out with readiness_chain_free.
 * 0, -EINVAL (stored chain unreadable) or -ENOMEM.
 */
static int readiness_plan_chain(const struct plan *p, const struct readiness_ca_pool *pool,
				struct readiness_chain *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (p->chain_pem)
		return readiness_chain_complete_verified(p->chain_pem, strlen(p->chain_pem),
							 pool ? pool->crts : NULL,
							 pool ? pool->n : 0, out, err, errlen);
	if (!p->nkeys)
		return util_err(err, errlen, -EINVAL, "plan %lld has no keys", (long long)p->id);
	out->certs = calloc(p->nkeys, sizeof(*out->certs));
	if (!out->certs)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < p->nkeys; i++)
		memcpy(out->certs[out->ncerts++].pin, p->keys[i], 32);
	return 0;
}

int readiness_plan_state_of(const struct plan *p, const struct readiness_index *idx,
			    const struct readiness_observations *obs,
			    const struct readiness_ca_pool *pool, time_t at, int64_t confirm_s,
			    struct readiness_plan_state *out, char *err, size_t errlen)
{
	struct readiness_chain chain;
	struct readiness_opts o;
	memset(out, 0, sizeof(*out));
	int rc = readiness_plan_chain(p, pool, &chain, err, errlen);
	if (rc)
		return rc;
	readiness_opts_default(&o, at);
	struct readiness_plan_in in = {
		.host = p->host,
		.port = p->port,
		.planned = &chain,
		.from_chain = p->chain_pem != NULL,
		.not_before = p->not_before_at,
		.cancelled = p->cancelled_at != 0,
		.confirm_s = confirm_s,
	};
	rc = readiness_plan_eval(idx, obs, &in, &o, out);
	readiness_chain_free(&chain);
	if (rc)
		return util_err(err, errlen, rc, "evaluating plan %lld: %s", (long long)p->id,
				strerror(-rc));
	return 0;
}

static json_t *plan_json(const struct plan *p, const struct readiness_plan_state *st)
{
	char b64[64], t[32];
	json_t *keys = json_array();
	for (size_t i = 0; keys && i < p->nkeys; i++)
		json_array_append_new(keys, json_string(util_pin_b64(p->keys[i], b64)));
	json_t *o = readiness_plan_state_json(st);
	if (!o || !keys) {
		json_decref(o);
		json_decref(keys);
		return NULL;
	}
	json_object_set_new(o, "id", json_integer(p->id));
	json_object_set_new(o, "host", json_string(p->host));
	json_object_set_new(o, "port", json_integer(p->port));
	json_object_set_new(o, "keys", keys);
	json_object_set_new(o, "from_chain", json_boolean(p->chain_pem != NULL));
	json_object_set_new(o, "not_before",
			    p->not_before[0] ? json_string(p->not_before) : json_null());
	json_object_set_new(o, "note", p->note ? json_string(p->note) : json_null());
	json_object_set_new(o, "created_at",
			    json_string(util_fmt_time(p->created_at, t, sizeof(t))));
	json_object_set_new(o, "created_by", json_string(p->created_by ? p->created_by : ""));
	json_object_set_new(o, "cancelled_at",
			    p->cancelled_at
				    ? json_string(util_fmt_time(p->cancelled_at, t, sizeof(t)))
				    : json_null());
	return o;
}

int readiness_plans_json(struct db *db, int64_t id, bool open_only, time_t at, int64_t confirm_s,
			 json_t **out, char *err, size_t errlen)
{
	struct readiness_state rs;
	struct readiness_ca_pool pool = { 0 };
	struct plan *v = NULL, one;
	size_t n = 0;
	int rc;
	*out = NULL;
	memset(&rs, 0, sizeof(rs));
	if (id > 0) {
		if ((rc = plans_get(db, id, &one, err, errlen)))
			return rc;
		v = &one;
		n = 1;
	} else if ((rc = plans_list(db, open_only, &v, &n, err, errlen))) {
		return rc;
	}
	json_t *arr = json_array();
	if (!arr) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto done;
	}
	if (n && ((rc = readiness_state_eval(db, at, &rs, err, errlen)) ||
		  (rc = readiness_load_ca_crts(db, at, &pool.crts, &pool.n, err, errlen))))
		goto done;
	for (size_t i = 0; i < n; i++) {
		struct readiness_plan_state st;
		rc = readiness_plan_state_of(&v[i], rs.idx, &rs.obs, &pool, at, confirm_s, &st, err,
					     errlen);
		json_t *o = rc ? NULL : plan_json(&v[i], &st);
		readiness_plan_state_free(&st);
		if (rc)
			goto done;
		if (!o || json_array_append_new(arr, o)) {
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
			goto done;
		}
	}
	if (id > 0) {
		*out = json_incref(json_array_get(arr, 0));
		json_decref(arr);
	} else {
		*out = arr;
	}
	arr = NULL;
done:
	json_decref(arr);
	readiness_ca_crts_free(pool.crts, pool.n);
	readiness_state_free(&rs);
	if (id > 0)
		plan_free(&one);
	else
		plans_free(v, n);
	return rc;
}
