/* check and what-if against the store: inventory_load + readiness_load + the
 * pure engine, for the CLI and the HTTP API (readiness_load.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/inventory.h"
#include "readiness/readiness_json.h"
#include "readiness/readiness_load.h"
#include "base/util.h"

/* ---- check / what-if -------------------------------------------------- */

void readiness_state_free(struct readiness_state *st)
{
	if (!st)
		return;
	readiness_report_free(&st->rep);
	readiness_index_free(st->idx);
	readiness_observations_free(&st->obs);
	model_inventory_free(&st->inv);
	memset(st, 0, sizeof(*st));
}

int readiness_state_eval(struct db *db, time_t at, struct readiness_state *st, char *err,
			 size_t errlen)
{
	struct readiness_opts o;
	memset(st, 0, sizeof(*st));
	int rc = inventory_load(db, &st->inv, err, errlen);
	if (!rc)
		rc = readiness_load_observations(db, &st->inv, at, &st->obs, err, errlen);
	if (!rc && !(st->idx = readiness_index_new(&st->inv)))
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
	if (!rc) {
		readiness_opts_default(&o, at);
		if ((rc = readiness_eval(st->idx, &st->obs, &o, &st->rep)) != 0)
			rc = util_err(err, errlen, rc, "evaluating readiness: out of memory");
	}
	if (rc)
		readiness_state_free(st);
	return rc;
}

int readiness_check_db(struct db *db, time_t at, json_t **out, enum readiness_severity *worst,
		       char *err, size_t errlen)
{
	struct readiness_state st;
	*out = NULL;
	int rc = readiness_state_eval(db, at, &st, err, errlen);
	if (rc)
		return rc;
	*out = readiness_report_json(&st.rep);
	if (!*out)
		rc = util_err(err, errlen, -ENOMEM, "out of memory building JSON");
	if (worst)
		*worst = st.rep.worst;
	readiness_state_free(&st);
	return rc;
}

int readiness_endpoint_db(struct db *db, const char *host, int port, time_t at, json_t **out,
			  char *err, size_t errlen)
{
	struct inventory inv = { 0 };
	struct readiness_observed obs = { 0 };
	struct readiness_endpoint_verdict v = { 0 };
	struct readiness_index *idx = NULL;
	struct readiness_opts o;
	*out = NULL;
	int rc = inventory_load(db, &inv, err, errlen);
	if (rc)
		return rc;
	size_t i;
	for (i = 0; i < inv.nendpoints; i++)
		if (inv.endpoints[i].port == port && strcmp(inv.endpoints[i].host, host) == 0)
			break;
	if (i == inv.nendpoints) {
		rc = util_err(err, errlen, -ENOENT, "%s:%d is not inventoried", host, port);
		goto done;
	}
	rc = readiness_load_endpoint(db, inv.endpoints[i].id, at, &obs, err, errlen);
	if (rc)
		goto done;
	if (!(idx = readiness_index_new(&inv))) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto done;
	}
	readiness_opts_default(&o, at);
	if ((rc = readiness_eval_endpoint(idx, i, &obs, &o, &v)) != 0) {
		rc = util_err(err, errlen, rc, "evaluating readiness failed");
		goto done;
	}
	if (!(*out = readiness_endpoint_json(&v)))
		rc = util_err(err, errlen, -ENOMEM, "out of memory building JSON");
done:
	readiness_endpoint_verdict_free(&v);
	readiness_index_free(idx);
	readiness_observed_free(&obs);
	model_inventory_free(&inv);
	return rc;
}

int readiness_whatif_db(struct db *db, const struct readiness_whatif_req *req, json_t **out,
			bool *risk, char *err, size_t errlen)
{
	struct inventory inv = { 0 };
	struct readiness_observed cur = { 0 };
	struct readiness_chain cand = { 0 }, pool = { 0 };
	struct readiness_index *idx = NULL;
	struct readiness_whatif w = { 0 };
	char host[256];
	int port = req->port ? req->port : 443;
	*out = NULL;
	*risk = false;

	if (!req->host || snprintf(host, sizeof(host), "%s", req->host) >= (int)sizeof(host) ||
	    model_normalize_host(host))
		return util_err(err, errlen, -EINVAL, "host: not a valid host name");
	if (port < 1 || port > 65535)
		return util_err(err, errlen, -EINVAL, "port: must be 1..65535");
	if (!(req->max_stranded >= 0 && req->max_stranded <= 1))
		return util_err(err, errlen, -EINVAL, "max_stranded: must be within [0, 1]");
	if (req->npins == 0 && !req->pem)
		return util_err(err, errlen, -EINVAL, "give a candidate chain (PEM) or pins");
	if (req->npins > READINESS_MAX_CAND_PINS)
		return util_err(err, errlen, -EINVAL, "at most %d candidate pins",
				READINESS_MAX_CAND_PINS);
	int rc = 0;
	if (req->pem) {
		rc = readiness_chain_from_pem(req->pem, req->pemlen, &cand, err, errlen);
		if (rc)
			return rc;
		rc = readiness_load_ca_pool(db, &pool, err, errlen);
		if (rc)
			goto done;
		if (readiness_complete_chain(&cand, pool.certs, pool.ncerts) < 0) {
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
			goto done;
		}
	}
	if (req->npins) {
		struct readiness_cert *nc =
			realloc(cand.certs, (cand.ncerts + req->npins) * sizeof(*nc));
		if (!nc) {
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
			goto done;
		}
		cand.certs = nc;
		for (size_t i = 0; i < req->npins; i++) {
			memset(&cand.certs[cand.ncerts], 0, sizeof(cand.certs[0]));
			memcpy(cand.certs[cand.ncerts++].pin, req->pins[i], 32);
		}
	}
	rc = inventory_load(db, &inv, err, errlen);
	if (rc)
		goto done;
	for (size_t i = 0; i < inv.nendpoints; i++) {
		if (inv.endpoints[i].port == port && strcmp(inv.endpoints[i].host, host) == 0) {
			rc = readiness_load_endpoint(db, inv.endpoints[i].id, req->at, &cur, err,
						     errlen);
			break;
		}
	}
	if (rc)
		goto done;
	idx = readiness_index_new(&inv);
	if (!idx) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto done;
	}
	rc = readiness_whatif_eval(idx, host, &cand, cur.naddrs ? &cur : NULL, req->at, &w);
	if (rc) {
		rc = util_err(err, errlen, rc, "evaluating the candidate failed");
		goto done;
	}
	*out = readiness_whatif_json(&w, host, port, req->max_stranded, &cand);
	if (!*out) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory building JSON");
		goto done;
	}
	*risk = w.max_stranded > req->max_stranded + 1e-9;
done:
	readiness_whatif_free(&w);
	readiness_index_free(idx);
	readiness_observed_free(&cur);
	readiness_chain_free(&cand);
	readiness_chain_free(&pool);
	model_inventory_free(&inv);
	return rc;
}
