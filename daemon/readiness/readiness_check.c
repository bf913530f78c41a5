/* check and what-if against the store: inventory_load + readiness_load + the
 * pure engine, for the CLI and the HTTP API (readiness_load.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/inventory.h"
#include "readiness/readiness_json.h"
#include "readiness/readiness_load.h"
#include "base/util.h"
#include "pki/x509.h"
#include "readiness/readiness_gate.h"

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

int readiness_check_db(struct db *db, time_t at, json_t **out, enum severity *worst, char *err,
		       size_t errlen)
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

/* The inventoried endpoint for @host (and @port, or its only port when 0).
 * -1: not inventoried; -2: several ports and none given (names them). */
static long find_endpoint(const struct inventory *inv, const char *host, int port, char *ports,
			  size_t plen)
{
	long found = -1;
	size_t used = 0;
	ports[0] = '\0';
	for (size_t i = 0; i < inv->nendpoints; i++) {
		const struct endpoint *ep = &inv->endpoints[i];
		if (strcmp(ep->host, host) != 0)
			continue;
		if (port && ep->port == port)
			return (long)i;
		if (!port) {
			int n = snprintf(ports + used, plen - used, "%s%d", used ? ", " : "",
					 ep->port);
			if (n > 0 && (size_t)n < plen - used)
				used += (size_t)n;
			found = found == -1 ? (long)i : -2;
		}
	}
	return found;
}

/* The request's own checks; its host normalised into @host. 0 or -EINVAL. */
static int whatif_req_check(const struct readiness_whatif_req *req, char *host, size_t hostlen,
			    char *err, size_t errlen)
{
	if (!req->host || snprintf(host, hostlen, "%s", req->host) >= (int)hostlen ||
	    model_normalize_host(host))
		return util_err(err, errlen, -EINVAL, "host: not a valid host name");
	if (req->port < 0 || req->port > 65535)
		return util_err(err, errlen, -EINVAL, "port: must be 1..65535");
	if (!(req->max_stranded >= 0 && req->max_stranded <= 1))
		return util_err(err, errlen, -EINVAL, "max_stranded: must be within [0, 1]");
	if (req->npins == 0 && !req->pem)
		return util_err(err, errlen, -EINVAL, "give a candidate chain (PEM) or pins");
	if (req->npins > READINESS_MAX_CAND_PINS)
		return util_err(err, errlen, -EINVAL, "at most %d candidate pins",
				READINESS_MAX_CAND_PINS);
	return 0;
}

/* The endpoint of @inv the request names (*@ei; -1: none, with @any_host)
 * and its port (*@port: the endpoint's, else 443 when not given). 0 or
 * -EINVAL with a message. */
static int whatif_endpoint(const struct inventory *inv, const char *host, bool any_host, int *port,
			   long *ei, char *err, size_t errlen)
{
	char ports[128];
	*ei = find_endpoint(inv, host, *port, ports, sizeof(ports));
	if (*ei == -2)
		return util_err(err, errlen, -EINVAL,
				"%s is inventoried on ports %s: give the port of the endpoint",
				host, ports);
	if (*ei < 0 && !any_host) {
		if (*port)
			return util_err(err, errlen, -EINVAL,
					"%s:%d is not an inventoried endpoint (a typo? use "
					"--any-host / \"any_host\" to evaluate any name)",
					host, *port);
		return util_err(err, errlen, -EINVAL,
				"%s is not an inventoried endpoint (a typo? use --any-host "
				"/ \"any_host\" to evaluate any name)",
				host);
	}
	if (*ei >= 0)
		*port = inv->endpoints[*ei].port;
	else if (!*port)
		*port = 443;
	return 0;
}

/* The checks of the request's candidate chain (readiness_gate_check()) against
 * the trust store and the CA certificates observed by req->at. */
static int whatif_gate(struct db *db, const struct readiness_whatif_req *req, const char *host,
		       struct readiness_gate *gate, char *err, size_t errlen)
{
	gnutls_x509_crt_t *pool = NULL;
	size_t npool = 0;
	struct x509_trust *trust = x509_trust_new(req->ca_file, err, errlen);
	if (!trust)
		return -EIO;
	int rc = readiness_load_ca_crts(db, req->at, &pool, &npool, err, errlen);
	if (!rc)
		rc = readiness_gate_check(trust, pool, npool, req->pem, req->pemlen, host, req->at,
					  gate, err, errlen);
	readiness_ca_crts_free(pool, npool);
	x509_trust_free(trust);
	return rc;
}

/* The candidate shown: the first path a client may build, then the pins. 0 or -ENOMEM. */
static int whatif_shown(const struct readiness_gate *gate, const struct readiness_whatif_req *req,
			struct readiness_chain *shown, char *err, size_t errlen)
{
	struct readiness_cert *sc =
		calloc((gate->npaths ? gate->paths[0].ncerts : 0) + req->npins + 1, sizeof(*sc));
	if (!sc)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	shown->certs = sc;
	for (size_t i = 0; gate->npaths && i < gate->paths[0].ncerts; i++) {
		if (readiness_cert_copy(&sc[shown->ncerts], &gate->paths[0].certs[i]))
			return util_err(err, errlen, -ENOMEM, "out of memory");
		shown->ncerts++;
	}
	for (size_t i = 0; i < req->npins; i++)
		memcpy(sc[shown->ncerts++].pin, req->pins[i], 32);
	return 0;
}

int readiness_whatif_db(struct db *db, const struct readiness_whatif_req *req, json_t **out,
			bool *risk, char *err, size_t errlen)
{
	struct inventory inv = { 0 };
	struct readiness_observed cur = { 0 };
	struct readiness_gate gate = { 0 };
	struct readiness_chain shown = { 0 };
	struct readiness_index *idx = NULL;
	struct readiness_whatif w = { 0 };
	bool path_dependent = false;
	char host[256];
	int port = req->port;
	long ei;
	*out = NULL;
	*risk = false;

	int rc = whatif_req_check(req, host, sizeof(host), err, errlen);
	if (rc)
		return rc;
	if ((rc = inventory_load(db, &inv, err, errlen)))
		return rc;
	if ((rc = whatif_endpoint(&inv, host, req->any_host, &port, &ei, err, errlen)))
		goto done;
	if (req->pem && (rc = whatif_gate(db, req, host, &gate, err, errlen)))
		goto done;
	if (ei >= 0 &&
	    (rc = readiness_load_endpoint(db, inv.endpoints[ei].id, req->at, &cur, err, errlen)))
		goto done;
	idx = readiness_index_new(&inv);
	if (!idx) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto done;
	}
	rc = readiness_gate_whatif(idx, host, req->pem ? &gate : NULL, req->pins, req->npins,
				   cur.naddrs ? &cur : NULL, req->at, &w, &path_dependent);
	if (rc) {
		rc = util_err(err, errlen, rc, "evaluating the candidate failed");
		goto done;
	}
	if ((rc = whatif_shown(&gate, req, &shown, err, errlen)))
		goto done;
	*out = readiness_whatif_json(&w, host, port, req->max_stranded, &shown);
	json_t *checks = readiness_gate_json(req->pem ? &gate : NULL, path_dependent);
	if (!*out || !checks || json_object_set_new(*out, "checks", checks)) {
		json_decref(*out);
		*out = NULL;
		rc = util_err(err, errlen, -ENOMEM, "out of memory building JSON");
		goto done;
	}
	bool failed = req->pem && !gate.ok;
	*risk = failed || w.max_stranded > req->max_stranded + 1e-9;
	if (failed)
		json_object_set_new(*out, "risk", json_true());
	json_object_set_new(*out, "inventoried", json_boolean(ei >= 0));
done:
	readiness_whatif_free(&w);
	readiness_index_free(idx);
	readiness_observed_free(&cur);
	readiness_chain_free(&shown);
	readiness_gate_free(&gate);
	model_inventory_free(&inv);
	return rc;
}

/* ---- observation history ---------------------------------------------- */

/* A stored chain loaded once per call. */
struct hist_chain {
	int64_t id;
	struct readiness_chain c;
};

/* A period already evaluated: same chains at the same time give the same JSON. */
struct hist_memo {
	int64_t presented, validated;
	time_t at;
	json_t *j;
};

struct hist_ctx {
	struct db *db;
	struct hist_chain *chains; /* room for two per row */
	size_t nchains;
	struct hist_memo *memo; /* room for one per row */
	size_t nmemo;
};

static int hist_chain(struct hist_ctx *h, int64_t id, const struct readiness_chain **out, char *err,
		      size_t errlen)
{
	static const struct readiness_chain none = { 0 };
	*out = &none;
	if (id <= 0)
		return 0;
	for (size_t i = 0; i < h->nchains; i++)
		if (h->chains[i].id == id) {
			*out = &h->chains[i].c;
			return 0;
		}
	struct hist_chain *c = &h->chains[h->nchains];
	int rc = readiness_load_chain(h->db, id, &c->c, err, errlen);
	if (rc)
		return rc;
	c->id = id;
	h->nchains++;
	*out = &c->c;
	return 0;
}

static json_t *share6(double x)
{
	return json_real(round(x * 1e6) / 1e6);
}

/* The engine's "now" for one period: its chains at its last_seen. */
static int period_json(const struct readiness_index *idx, const char *host,
		       struct readiness_period *p, const struct readiness_chain *pres,
		       const struct readiness_chain *val, json_t **out)
{
	const struct readiness_chain *ev = val->ncerts ? val : pres;
	*out = NULL;
	if (!ev->ncerts) {
		*out = json_null(); /* nothing was presented: no pin check took place */
		return 0;
	}
	/* borrowed chains: the address is not freed */
	struct readiness_address a = { .address = p->address,
				       .outcome = p->outcome,
				       .presented = *pres,
				       .validated = *val,
				       .first_seen = p->first_seen,
				       .last_seen = p->last_seen };
	struct readiness_observed obs = { .addrs = &a, .naddrs = 1 };
	struct readiness_whatif w;
	int rc = readiness_whatif_eval(idx, host, ev, &obs, p->last_seen, &w);
	if (rc)
		return rc;
	json_t *apps = json_array();
	double worst = 0;
	for (size_t i = 0; apps && i < w.napps; i++) {
		const struct readiness_scenario *s = &w.apps[i].current;
		if (!s->nenforcing)
			continue; /* covers the host but pins nothing at that time */
		json_t *o = readiness_scenario_json(s);
		if (!o || json_object_set_new(o, "app", json_string(w.apps[i].app->name)) ||
		    json_array_append_new(apps, o)) {
			json_decref(apps);
			apps = NULL;
			break;
		}
		json_object_del(o, "address"); /* a memoised period serves several addresses */
		if (s->stranded_share > worst)
			worst = s->stranded_share;
	}
	char at[32];
	if (apps)
		*out = json_pack("{s:s, s:s, s:b, s:o, s:o}", "evaluated_at",
				 util_fmt_time(p->last_seen, at, sizeof(at)), "chain_source",
				 ev == val ? "validated" : "presented", "stranded", worst > 1e-9,
				 "max_stranded_share", share6(worst), "apps", apps);
	readiness_whatif_free(&w);
	return *out ? 0 : -ENOMEM;
}

int readiness_history_db(struct db *db, int64_t endpoint_id, const int64_t *ids, size_t n,
			 json_t **out, char *err, size_t errlen)
{
	struct inventory inv = { 0 };
	struct readiness_index *idx = NULL;
	struct hist_ctx h = { .db = db };
	const char *host = NULL;
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		out[i] = NULL;
	if (n == 0)
		return 0;
	if (n > READINESS_MAX_HISTORY)
		return util_err(err, errlen, -EINVAL, "more than %d observation rows",
				READINESS_MAX_HISTORY);
	if ((rc = inventory_load(db, &inv, err, errlen)) != 0)
		return rc;
	for (size_t i = 0; i < inv.nendpoints && !host; i++)
		if (inv.endpoints[i].id == endpoint_id)
			host = inv.endpoints[i].host;
	h.chains = calloc(2 * n, sizeof(*h.chains));
	h.memo = calloc(n, sizeof(*h.memo));
	if (!h.chains || !h.memo || !(idx = readiness_index_new(&inv))) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		struct readiness_period p;
		if (!host) {
			out[i] = json_null(); /* deleted meanwhile */
			continue;
		}
		rc = readiness_load_period(db, endpoint_id, ids[i], &p, err, errlen);
		if (rc == -ENOENT) {
			out[i] = json_null();
			rc = 0;
			continue;
		}
		if (rc)
			break;
		size_t m;
		for (m = 0; m < h.nmemo; m++)
			if (h.memo[m].presented == p.presented_chain_id &&
			    h.memo[m].validated == p.validated_chain_id &&
			    h.memo[m].at == p.last_seen)
				break;
		if (m == h.nmemo) {
			const struct readiness_chain *pres, *val;
			json_t *j = NULL;
			rc = hist_chain(&h, p.presented_chain_id, &pres, err, errlen);
			if (!rc)
				rc = hist_chain(&h, p.validated_chain_id, &val, err, errlen);
			if (!rc && (rc = period_json(idx, host, &p, pres, val, &j)) != 0)
				rc = util_err(err, errlen, rc, "evaluating observation %lld failed",
					      (long long)p.id);
			if (rc)
				break;
			h.memo[h.nmemo++] =
				(struct hist_memo){ p.presented_chain_id, p.validated_chain_id,
						    p.last_seen, j };
		}
		out[i] = json_incref(h.memo[m].j);
	}
done:
	for (size_t i = 0; rc && i < n; i++) {
		json_decref(out[i]);
		out[i] = NULL;
	}
	for (size_t i = 0; h.memo && i < h.nmemo; i++)
		json_decref(h.memo[i].j);
	for (size_t i = 0; h.chains && i < h.nchains; i++)
		readiness_chain_free(&h.chains[i].c);
	free(h.memo);
	free(h.chains);
	readiness_index_free(idx);
	model_inventory_free(&inv);
	return rc;
}
