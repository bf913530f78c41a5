/* Candidates: storage, evaluation against covered endpoints, JSON, alert
 * conditions and the POST /api/v1/candidates handler. */
#include "signals/candidates.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit.h"
#include "store/candidates.h"
#include "store/db.h"
#include "store/inventory.h"
#include "readiness/readiness.h"
#include "readiness/readiness_gate.h"
#include "readiness/readiness_json.h"
#include "readiness/readiness_load.h"
#include "signals/reports.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "pki/x509.h"

/* "ct" / "manual"; parse them. 0 or -EINVAL. */
static const char *candidates_source_name(enum candidate_source s)
{
	return s == CANDIDATE_CT ? "ct" : "manual";
}

int candidates_parse_source(const char *s, enum candidate_source *out)
{
	if (s && !strcmp(s, "ct"))
		*out = CANDIDATE_CT;
	else if (s && !strcmp(s, "manual"))
		*out = CANDIDATE_MANUAL;
	else
		return -EINVAL;
	return 0;
}

/* A parsed candidate chain. */
struct cand {
	gnutls_x509_crt_t *crts;
	unsigned n;
	char *pem; /* normalised: every certificate re-exported as PEM */
	uint8_t chain_sha[32];
	uint8_t leaf_sha[32];
	uint8_t (*pins)[32];
	char *subject, *issuer;
	time_t not_before, not_after;
	json_t *dns_names;
};

static void cand_free(struct cand *c)
{
	for (unsigned i = 0; c->crts && i < c->n; i++)
		gnutls_x509_crt_deinit(c->crts[i]);
	gnutls_free(c->crts);
	free(c->pem);
	free(c->pins);
	free(c->subject);
	free(c->issuer);
	json_decref(c->dns_names);
	memset(c, 0, sizeof(*c));
}

static int cand_parse(const uint8_t *data, size_t len, struct cand *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (len == 0 || len > CANDIDATES_MAX_FILE)
		return util_err(err, errlen, -EINVAL, "chain: empty or larger than %d bytes",
				CANDIDATES_MAX_FILE);
	gnutls_datum_t in = x509_datum(data, len);
	bool pem = memmem(data, len, "-----BEGIN", 10) != NULL;
	int rc = gnutls_x509_crt_list_import2(&c->crts, &c->n, &in,
					      pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER, 0);
	if (rc < 0 || c->n == 0) {
		c->crts = NULL;
		c->n = 0;
		return util_err(err, errlen, -EINVAL, "chain: no certificate could be read (%s)",
				rc < 0 ? gnutls_strerror(rc) : "empty");
	}
	if (c->n > CANDIDATES_MAX_CHAIN)
		return util_err(err, errlen, -EINVAL, "chain: more than %d certificates",
				CANDIDATES_MAX_CHAIN);
	c->pins = calloc(c->n, sizeof(*c->pins));
	uint8_t hashes[CANDIDATES_MAX_CHAIN * 32];
	if (!c->pins)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	struct strbuf text; /* the chain as PEM */
	strbuf_init(&text, 2 * CANDIDATES_MAX_FILE - 1);
	for (unsigned i = 0; i < c->n; i++) {
		gnutls_datum_t der = { NULL, 0 }, p = { NULL, 0 }, spki = { NULL, 0 };
		gnutls_pubkey_t pub = NULL;
		int ok = gnutls_x509_crt_export2(c->crts[i], GNUTLS_X509_FMT_DER, &der) >= 0 &&
			 gnutls_x509_crt_export2(c->crts[i], GNUTLS_X509_FMT_PEM, &p) >= 0 &&
			 gnutls_pubkey_init(&pub) >= 0 &&
			 gnutls_pubkey_import_x509(pub, c->crts[i], 0) >= 0 &&
			 gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki) >= 0 &&
			 util_sha256(der.data, der.size, hashes + 32 * i) == 0 &&
			 util_sha256(spki.data, spki.size, c->pins[i]) == 0;
		if (ok)
			ok = strbuf_add(&text, p.data, p.size) == 0;
		gnutls_free(der.data);
		gnutls_free(p.data);
		gnutls_free(spki.data);
		gnutls_pubkey_deinit(pub);
		if (!ok) {
			strbuf_free(&text);
			return util_err(err, errlen, -EINVAL,
					"chain: certificate %u cannot be encoded", i);
		}
	}
	c->pem = strbuf_take(&text, NULL);
	if (!c->pem)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	memcpy(c->leaf_sha, hashes, 32);
	struct x509_chain_fp fp;
	x509_chain_fp_init(&fp);
	for (unsigned i = 0; i < c->n; i++)
		x509_chain_fp_add(&fp, hashes + 32 * i);
	if (x509_chain_fp_end(&fp, c->chain_sha))
		return util_err(err, errlen, -EIO, "hashing failed");
	c->subject = x509_dn_string(c->crts[0], false, X509_MAX_DN);
	c->issuer = x509_dn_string(c->crts[0], true, X509_MAX_DN);
	c->not_before = gnutls_x509_crt_get_activation_time(c->crts[0]);
	c->not_after = gnutls_x509_crt_get_expiration_time(c->crts[0]);
	c->dns_names = json_array();
	if (!c->subject || !c->issuer || !c->dns_names)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < 1000; i++) {
		char name[256];
		size_t nlen = sizeof(name);
		unsigned type;
		rc = gnutls_x509_crt_get_subject_alt_name2(c->crts[0], i, name, &nlen, &type, NULL);
		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (rc == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue;
		if (rc < 0)
			break;
		if (type == GNUTLS_SAN_DNSNAME && nlen < sizeof(name)) {
			name[nlen] = '\0';
			json_array_append_new(c->dns_names, json_string(name));
		}
	}
	return 0;
}

int candidates_chain_check(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	struct cand c;
	int rc = cand_parse(data, len, &c, err, errlen);
	cand_free(&c);
	return rc;
}

/* ---- evaluation ---- */

static json_t *strv_json(const struct readiness_strv *sv)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

/* One endpoint's what-if as {endpoint_id, host, port, max_stranded,
 * max_unknown, apps[]}; apps as readiness_scenario_json plus app, app_id,
 * reasons. */
static json_t *endpoint_verdict(const struct endpoint *ep, const struct readiness_whatif *w)
{
	json_t *apps = json_array();
	for (size_t i = 0; apps && i < w->napps; i++) {
		const struct readiness_whatif_app *a = &w->apps[i];
		json_t *o = readiness_scenario_json(&a->candidate);
		if (!o || json_object_set_new(o, "app", json_string(a->app->name)) ||
		    json_object_set_new(o, "app_id", json_integer(a->app->id)) ||
		    json_object_set_new(o, "reasons", strv_json(&a->reasons)) ||
		    json_array_append_new(apps, o)) {
			json_decref(apps);
			return NULL;
		}
	}
	if (!apps)
		return NULL;
	return json_pack("{s:I,s:s,s:i,s:f,s:f,s:o}", "endpoint_id", (json_int_t)ep->id, "host",
			 ep->host, "port", ep->port, "max_stranded", w->max_stranded, "max_unknown",
			 w->max_unknown, "apps", apps);
}

/* What every evaluation needs, loaded once per batch. */
struct evalctx {
	struct inventory inv;
	struct readiness_index *idx;
	struct x509_trust *trust; /* the anchors clients would use (ca_file or system) */
	gnutls_x509_crt_t *pool;  /* CA certificates pinwatch observed */
	size_t npool;
};

static void evalctx_free(struct evalctx *x)
{
	readiness_index_free(x->idx);
	readiness_ca_crts_free(x->pool, x->npool);
	x509_trust_free(x->trust);
	model_inventory_free(&x->inv);
	memset(x, 0, sizeof(*x));
}

static int evalctx_load(struct db *db, const char *ca_file, time_t now, struct evalctx *x,
			char *err, size_t errlen)
{
	int rc;
	memset(x, 0, sizeof(*x));
	if ((rc = inventory_load(db, &x->inv, err, errlen)) ||
	    (rc = readiness_load_ca_crts(db, now, &x->pool, &x->npool, err, errlen)))
		goto fail;
	if (!(x->trust = x509_trust_new(ca_file, err, errlen))) {
		rc = -EIO;
		goto fail;
	}
	if (!(x->idx = readiness_index_new(&x->inv))) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	return 0;
fail:
	evalctx_free(x);
	return rc;
}

/* Evaluate @c (for @host, or every enabled endpoint its leaf covers) at @at
 * into a verdict object: first the checks every client makes (validity,
 * name, trust; readiness_gate.h), then the pins against each path a client
 * can build from the leaf (issuers confirmed by signature among the
 * candidate, the observed CA certificates and the trust store). A chain
 * failing a check strands every user of every app with a policy for the
 * endpoint. */
static int evaluate(const struct evalctx *x, const struct cand *c, const char *host, time_t at,
		    json_t **verdict, double *max_out, bool *strands, char *err, size_t errlen)
{
	json_t *eps = NULL, *reasons = json_array();
	double max = 0, max_unknown = 0;
	bool failed = false, expired = at > c->not_after;
	char date[16];
	int rc = 0;

	if (!(eps = json_array()) || !reasons) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < x->inv.nendpoints; i++) {
		const struct endpoint *ep = &x->inv.endpoints[i];
		/* With a host the name check is the gate's (a wrong name strands);
		 * without one, the endpoints are those the leaf names. */
		if (!ep->enabled || (host && strcmp(host, ep->host)) ||
		    (!host && !gnutls_x509_crt_check_hostname2(c->crts[0], ep->host, 0)))
			continue;
		struct readiness_gate g;
		struct readiness_whatif w;
		bool pd = false;
		if ((rc = readiness_gate_check(x->trust, x->pool, x->npool, c->pem, strlen(c->pem),
					       ep->host, at, &g, err, errlen)))
			goto out;
		rc = readiness_gate_whatif(x->idx, ep->host, &g, NULL, 0, NULL, at, &w, &pd);
		if (rc) {
			readiness_gate_free(&g);
			util_err(err, errlen, rc, "evaluating %s: %s", ep->host, strerror(-rc));
			goto out;
		}
		json_t *ej = endpoint_verdict(ep, &w);
		json_t *ck = readiness_gate_json(&g, pd);
		if (!g.ok) {
			failed = true;
			for (size_t k = 0; k < g.nfailures; k++)
				json_array_append_new(reasons,
						      json_sprintf("%s:%d: %s", ep->host, ep->port,
								   g.failures[k]));
		}
		if (w.max_stranded > max)
			max = w.max_stranded;
		if (w.max_unknown > max_unknown)
			max_unknown = w.max_unknown;
		readiness_whatif_free(&w);
		readiness_gate_free(&g);
		if (!ej || !ck || json_object_set_new(ej, "checks", ck) ||
		    json_array_append_new(eps, ej)) {
			if (ej)
				json_decref(ej);
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
			goto out;
		}
	}
	/* Users whose version is unknown might be on an at-risk version: that
	 * is a risk too (a warning rather than a critical alert). A chain no
	 * client accepts strands everyone, pinned or not. */
	if (failed)
		max = 1;
	*strands = failed || max > 1e-9 || max_unknown > 1e-9;
	*max_out = max;
	*verdict = json_pack(
		"{s:s,s:f,s:f,s:b,s:b,s:b,s:O,s:O}", "at", util_fmt_date(at, date, sizeof(date)),
		"max_stranded", max, "max_unknown", max_unknown, "would_strand", *strands,
		"expired", expired, "checks_failed", failed, "endpoints", eps, "reasons", reasons);
	if (!*verdict)
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
out:
	json_decref(eps);
	json_decref(reasons);
	return rc;
}

static int evaluate_locked(struct db *db, const struct evalctx *x, int64_t id, time_t now,
			   char *err, size_t errlen)
{
	char *pem, *host;
	int64_t nb;
	int rc = candidates_db_load(db, id, &pem, &host, &nb, err, errlen);
	if (rc)
		return rc;
	struct cand c;
	json_t *verdict = NULL;
	double max = 0;
	bool strands = false;
	/* A certificate not valid yet is evaluated when it becomes valid (CT
	 * shows it before deployment); an expired one now, where it fails the
	 * validity check: deploying it would strand everyone. */
	rc = cand_parse((const uint8_t *)pem, strlen(pem), &c, err, errlen);
	if (!rc)
		rc = evaluate(x, &c, host, nb > now ? nb : now, &verdict, &max, &strands, err,
			      errlen);
	cand_free(&c);
	free(pem);
	free(host);
	if (rc)
		return rc;
	char *vtext = json_dumps(verdict, JSON_COMPACT);
	json_decref(verdict);
	if (!vtext)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	rc = candidates_db_save_verdict(db, id, now, vtext, max, strands, err, errlen);
	free(vtext);
	return rc;
}

int candidates_evaluate(struct db *db, const char *ca_file, int64_t id, time_t now, char *err,
			size_t errlen)
{
	struct evalctx x;
	int rc = db_begin(db);
	if (rc)
		return util_err(err, errlen, rc, "starting a transaction: %s", db_errmsg(db));
	if (!(rc = evalctx_load(db, ca_file, now, &x, err, errlen))) {
		rc = evaluate_locked(db, &x, id, now, err, errlen);
		evalctx_free(&x);
	}
	if (!rc && (rc = db_commit(db)))
		util_err(err, errlen, rc, "committing: %s", db_errmsg(db));
	if (rc)
		db_rollback(db);
	return rc;
}

int candidates_evaluate_all(struct db *db, const char *ca_file, time_t now, char *err,
			    size_t errlen)
{
	int64_t *ids = NULL;
	size_t n = 0;
	struct evalctx x;
	int rc = db_begin(db);
	if (rc)
		return util_err(err, errlen, rc, "starting a transaction: %s", db_errmsg(db));
	rc = candidates_db_ids(db, &ids, &n, err, errlen);
	if (!rc && n && !(rc = evalctx_load(db, ca_file, now, &x, err, errlen))) {
		for (size_t i = 0; i < n && !rc; i++) {
			rc = evaluate_locked(db, &x, ids[i], now, err, errlen);
			/* One unreadable row (edited by hand) must not stop the others. */
			if (rc == -EINVAL)
				rc = 0;
		}
		evalctx_free(&x);
	}
	free(ids);
	if (!rc && (rc = db_commit(db)))
		util_err(err, errlen, rc, "committing: %s", db_errmsg(db));
	if (rc)
		db_rollback(db);
	return rc;
}

/* The audited view of a candidate: identity, not the derived verdict. */
static json_t *audit_view(struct db *db, int64_t id)
{
	json_t *c = NULL;
	if (candidates_json(db, id, &c, NULL, 0))
		return NULL;
	json_t *v = json_pack(
		"{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "id", json_object_get(c, "id"), "source",
		json_object_get(c, "source"), "host", json_object_get(c, "host"), "subject",
		json_object_get(c, "subject"), "issuer", json_object_get(c, "issuer"),
		"leaf_sha256", json_object_get(c, "leaf_sha256"), "not_before",
		json_object_get(c, "not_before"), "not_after", json_object_get(c, "not_after"),
		"dns_names", json_object_get(c, "dns_names"));
	json_decref(c);
	return v;
}

static int audit_change(struct db *db, const char *actor, const char *action, int64_t id,
			json_t *before, json_t *after, char *err, size_t errlen)
{
	char ids[24];
	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	if (!before && !after)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	return audit_append(db, actor, action, "candidate", ids, before, after, err, errlen);
}

/* The pins and DNS names of @c as JSON text into *pins and *dns (malloc'ed). */
static int cand_texts(const struct cand *c, char **pins, char **dns, char *err, size_t errlen)
{
	json_t *pa = json_array();
	for (unsigned i = 0; pa && i < c->n; i++) {
		char b64[45];
		json_array_append_new(pa, json_string(util_pin_b64(c->pins[i], b64)));
	}
	*pins = pa ? json_dumps(pa, JSON_COMPACT) : NULL;
	json_decref(pa);
	*dns = json_dumps(c->dns_names, JSON_COMPACT);
	if (*pins && *dns)
		return 0;
	free(*pins);
	free(*dns);
	*pins = *dns = NULL;
	return util_err(err, errlen, -ENOMEM, "out of memory");
}

/* Record @c for @host ("": none) in the caller's transaction unless its
 * chain is known (*existed), audited; its id into *id. */
static int record(struct db *db, const char *actor, const struct cand *c,
		  enum candidate_source source, const char *host, time_t now, int64_t *id,
		  bool *existed, char *err, size_t errlen)
{
	int64_t count;
	int rc;
	if (host[0]) {
		/* A typo must not pass the gate as "covers nothing". */
		bool known;
		if ((rc = candidates_db_host_known(db, host, &known, err, errlen)))
			return rc;
		if (!known)
			return util_err(err, errlen, -EINVAL,
					"host: %s is not an inventoried endpoint", host);
	}
	if ((rc = candidates_db_find(db, c->chain_sha, id, err, errlen)))
		return rc;
	if ((*existed = *id != 0))
		return 0;
	if ((rc = candidates_db_count_live(db, now, &count, err, errlen)))
		return rc;
	if (count >= CANDIDATES_MAX)
		return util_err(err, errlen, -ENOSPC,
				"%lld unexpired candidates recorded (the limit): remove some first",
				(long long)count);
	struct candidates_db_row row = {
		.source = candidates_source_name(source),
		.host = host[0] ? host : NULL,
		.chain_pem = c->pem,
		.chain_length = (int)c->n,
		.subject = c->subject,
		.issuer = c->issuer,
		.not_before = c->not_before,
		.not_after = c->not_after,
		.added_at = now,
	};
	char *pins, *dns;
	memcpy(row.chain_sha256, c->chain_sha, 32);
	memcpy(row.leaf_sha256, c->leaf_sha, 32);
	if ((rc = cand_texts(c, &pins, &dns, err, errlen)))
		return rc;
	row.pins = pins;
	row.dns_names = dns;
	rc = candidates_db_insert(db, &row, id, err, errlen);
	free(pins);
	free(dns);
	if (rc)
		return rc;
	json_t *after = audit_view(db, *id);
	rc = audit_change(db, actor, "create", *id, NULL, after, err, errlen);
	json_decref(after);
	return rc;
}

int candidates_add(struct db *db, const char *actor, const char *ca_file, const uint8_t *data,
		   size_t len, enum candidate_source source, const char *host_in, time_t now,
		   int64_t *id, bool *existed, char *err, size_t errlen)
{
	struct cand c;
	struct evalctx x;
	char host[256] = "";
	int rc;

	*existed = false;
	*id = 0;
	if (host_in) {
		if (snprintf(host, sizeof(host), "%s", host_in) >= (int)sizeof(host) ||
		    model_normalize_host(host))
			return util_err(err, errlen, -EINVAL, "host: not a valid host name");
	}
	if ((rc = cand_parse(data, len, &c, err, errlen)))
		goto out;
	if ((rc = db_begin(db))) {
		util_err(err, errlen, rc, "starting a transaction: %s", db_errmsg(db));
		goto out;
	}
	rc = record(db, actor, &c, source, host, now, id, existed, err, errlen);
	if (!rc && !(rc = evalctx_load(db, ca_file, now, &x, err, errlen))) {
		rc = evaluate_locked(db, &x, *id, now, err, errlen);
		evalctx_free(&x);
	}
	if (!rc && (rc = db_commit(db)))
		util_err(err, errlen, rc, "committing: %s", db_errmsg(db));
	if (rc) {
		db_rollback(db);
		*id = 0;
	}
out:
	cand_free(&c);
	return rc;
}

int candidates_remove(struct db *db, const char *actor, int64_t id, char *err, size_t errlen)
{
	int rc = db_begin(db);
	if (rc)
		return util_err(err, errlen, rc, "starting a transaction: %s", db_errmsg(db));
	json_t *before = audit_view(db, id);
	if (!before) {
		db_rollback(db);
		return util_err(err, errlen, -ENOENT, "no candidate %lld", (long long)id);
	}
	if ((rc = candidates_db_delete(db, id, err, errlen)))
		goto out;
	if ((rc = audit_change(db, actor, "delete", id, before, NULL, err, errlen)))
		goto out;
	if ((rc = db_commit(db)))
		util_err(err, errlen, rc, "committing: %s", db_errmsg(db));
out:
	if (rc)
		db_rollback(db);
	json_decref(before);
	return rc;
}

int candidates_json(struct db *db, int64_t id, json_t **out, char *err, size_t errlen)
{
	return candidates_db_json(db, id, out, err, errlen);
}

int candidates_alert_conds(struct db *db, struct reports_alert **out, size_t *n, char *err,
			   size_t errlen)
{
	json_t *all = NULL;
	*out = NULL;
	*n = 0;
	int rc = candidates_json(db, 0, &all, err, errlen);
	if (rc)
		return rc;
	size_t cnt = 0, total = json_array_size(all);
	struct reports_alert *a = total ? calloc(total, sizeof(*a)) : NULL;
	if (total && !a) {
		json_decref(all);
		return util_err(err, errlen, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < total; i++) {
		json_t *c = json_array_get(all, i);
		json_t *v = json_object_get(c, "verdict");
		/* An expired certificate is no pending deployment: no alert (the
		 * verdict still says deploying it would strand everyone). */
		if (!json_is_true(json_object_get(c, "would_strand")) ||
		    json_is_true(json_object_get(v, "expired")))
			continue;
		double max = json_real_value(json_object_get(c, "max_stranded"));
		struct reports_alert *al = &a[cnt++];
		al->kind = "candidate_would_strand";
		snprintf(al->fingerprint, sizeof(al->fingerprint), "candidate_would_strand-%.16s",
			 json_string_value(json_object_get(c, "leaf_sha256")));
		al->severity = max > 0 ? SEVERITY_CRITICAL : SEVERITY_WARNING;
		/* The worst endpoint and app name the alert. */
		json_t *eps = json_object_get(v, "endpoints"), *ep;
		size_t k;
		double worst = -1;
		const char *worst_host = "";
		json_array_foreach(eps, k, ep)
		{
			double m = json_real_value(json_object_get(ep, "max_stranded"));
			if (m > worst) {
				worst = m;
				worst_host = json_string_value(json_object_get(ep, "host"));
				al->endpoint_id =
					json_integer_value(json_object_get(ep, "endpoint_id"));
				json_t *apps = json_object_get(ep, "apps"), *ap;
				size_t j;
				double wa = -1;
				json_array_foreach(apps, j, ap)
				{
					double sh = json_real_value(
						json_object_get(ap, "stranded_share"));
					if (sh > wa) {
						wa = sh;
						al->app_id = json_integer_value(
							json_object_get(ap, "app_id"));
					}
				}
			}
		}
		snprintf(
			al->summary, sizeof(al->summary),
			"Candidate certificate %s (issuer %s) would strand %.1f%% of users on %s%s",
			json_string_value(json_object_get(c, "subject")),
			json_string_value(json_object_get(c, "issuer")), max * 100,
			worst_host ? worst_host : "",
			json_array_size(eps) > 1 ? " and other endpoints" : "");
		al->details =
			json_pack("{s:O,s:f,s:O,s:O,s:[s]}", "candidate_id",
				  json_object_get(c, "id"), "stranded_share", max, "source",
				  json_object_get(c, "source"), "endpoints", eps, "reasons",
				  "deploying this certificate would strand users of app versions "
				  "that pin none of its keys");
		if (!al->details) {
			reports_alerts_free(a, cnt);
			json_decref(all);
			return util_err(err, errlen, -ENOMEM, "out of memory");
		}
	}
	json_decref(all);
	*out = a;
	*n = cnt;
	return 0;
}

int candidates_api_post_value(struct db *db, const char *actor, const char *ca_file, json_t *root,
			      time_t now, json_t **resp, char *err, size_t errlen)
{
	*resp = NULL;
	if (!json_is_object(root)) {
		util_err(err, errlen, 0, "body: expected a JSON object {\"pem\": ...}");
		return 400;
	}
	json_t *pem = json_object_get(root, "pem");
	json_t *src = json_object_get(root, "source");
	json_t *host = json_object_get(root, "host");
	enum candidate_source source = CANDIDATE_MANUAL;
	if (!json_is_string(pem)) {
		util_err(err, errlen, 0, "pem: expected a string holding the PEM chain");
		return 400;
	}
	if (src && !json_is_null(src) &&
	    (!json_is_string(src) || candidates_parse_source(json_string_value(src), &source))) {
		util_err(err, errlen, 0, "source: expected \"ct\" or \"manual\"");
		return 400;
	}
	if (host && !json_is_null(host) && !json_is_string(host)) {
		util_err(err, errlen, 0, "host: expected a string");
		return 400;
	}
	int64_t id;
	bool existed;
	int rc = candidates_add(db, actor, ca_file, (const uint8_t *)json_string_value(pem),
				json_string_length(pem), source,
				json_is_string(host) ? json_string_value(host) : NULL, now, &id,
				&existed, err, errlen);
	if (rc == -EINVAL)
		return 400;
	if (rc == -ENOSPC)
		return 409;
	if (rc)
		return rc;
	if ((rc = candidates_json(db, id, resp, err, errlen)))
		return rc == -ENOENT ? -EIO : rc;
	return existed ? 200 : 201;
}

int candidates_api_post(struct db *db, const char *actor, const char *ca_file, const char *body,
			size_t len, time_t now, json_t **resp, char *err, size_t errlen)
{
	json_error_t je;
	*resp = NULL;
	if (len > 2 * CANDIDATES_MAX_FILE) {
		util_err(err, errlen, 0, "body: larger than %d bytes", 2 * CANDIDATES_MAX_FILE);
		return 413;
	}
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		util_err(err, errlen, 0, "body: expected a JSON object: %s", je.text);
		return 400;
	}
	int status = candidates_api_post_value(db, actor, ca_file, root, now, resp, err, errlen);
	json_decref(root);
	return status;
}
