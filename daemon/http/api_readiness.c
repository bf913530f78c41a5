/* Readiness routes (/api/v1/readiness, /readiness/{id}, /whatif, /lint) and
 * the readiness snapshot cache.
 *
 * Evaluating 10,000 endpoints takes a while; reading them must not. The
 * first reader after a change builds a snapshot (inventory + latest
 * observations -> readiness_eval -> one pre-rendered JSON text per endpoint,
 * sorted worst first) and every later reader shares it by reference. A
 * snapshot is stale when the server's generation moved (a sweep finished, an
 * API write), when the database says something changed (newest observation,
 * newest audit row: every inventory change writes one, endpoint count), or
 * after SNAP_MAX_AGE_S (time alone moves expiry days and adoption dates).
 * The server's warmer thread (http.c) rebuilds after sweeps and writes and
 * before the age limit, so that readers rarely pay for a build.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/api_internal.h"
#include "store/db.h"
#include "store/inventory.h"
#include "readiness/lint.h"
#include "http/metrics.h"
#include "readiness/readiness.h"
#include "readiness/readiness_json.h"
#include "readiness/readiness_load.h"
#include "base/config.h"
#include "base/strbuf.h"
#include "base/util.h"

#define SNAP_MAX_AGE_S 60 /* readers rebuild an older snapshot */
#define SNAP_WARM_S    30 /* the warmer rebuilds one older than this */

struct snap_app {
	const char *name;   /* into snap->inv */
	bool now_ok, kr_ok; /* evaluated */
	double now, kr;
};

struct snap_ep {
	int64_t id;
	const struct endpoint *ep; /* into snap->inv */
	enum readiness_severity sev;
	double worst_now, worst_kr;
	bool has_expiry;
	int64_t days_left;
	char *json;
	size_t jsonlen;
	struct snap_app *apps;
	size_t napps;
};

struct api_snapshot {
	int refs; /* under ctx->lock */
	uint64_t generation;
	int64_t key[3];
	time_t built_at;
	struct inventory inv;
	struct snap_ep *eps; /* worst first */
	size_t n;
	struct snap_ep **by_id; /* sorted by id */
	char *findings;		/* JSON array text */
	char *lint_findings;	/* the same findings as lint_report_json() text */
	size_t lint_dropped;
	int64_t summary[4]; /* endpoints per severity */
};

static void snap_free(struct api_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->eps[i].json);
		free(s->eps[i].apps);
	}
	free(s->eps);
	free(s->by_id);
	free(s->findings);
	free(s->lint_findings);
	model_inventory_free(&s->inv);
	free(s);
}

void api_snapshot_release(struct api_ctx *ctx, struct api_snapshot *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&ctx->lock);
	bool last = --s->refs == 0;
	pthread_mutex_unlock(&ctx->lock);
	if (last)
		snap_free(s);
}

/* Cheap change detection: three index lookups. A probe that sees nothing new
 * only moves last_seen, which changes no verdict; a new outcome or chain opens
 * a row (observations, or variant_observations for dual-certificate
 * discovery), every inventory change writes an audit row, and the endpoint count
 * catches writers that bypass the store. */
static int snap_key(struct db *db, int64_t key[3])
{
	static const char *const q[3] = {
		/* both ids only grow: the sum moves when either table opens a row */
		("SELECT coalesce(max(id), 0) + (SELECT coalesce(max(id), 0) FROM "
		 "variant_observations) FROM observations"),
		"SELECT coalesce(max(id), 0) FROM audit_log",
		"SELECT count(*) FROM endpoints",
	};
	for (int i = 0; i < 3; i++)
		if (db_query_int(db, q[i], &key[i]))
			return -EIO;
	return 0;
}

static int by_worst(const void *a, const void *b)
{
	const struct snap_ep *x = a, *y = b;
	if (x->sev != y->sev)
		return x->sev > y->sev ? -1 : 1;
	if (x->worst_now != y->worst_now)
		return x->worst_now > y->worst_now ? -1 : 1;
	if (x->worst_kr != y->worst_kr)
		return x->worst_kr > y->worst_kr ? -1 : 1;
	if (x->has_expiry != y->has_expiry)
		return x->has_expiry ? -1 : 1;
	if (x->days_left != y->days_left)
		return x->days_left < y->days_left ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int by_id(const void *a, const void *b)
{
	const struct snap_ep *x = *(struct snap_ep *const *)a, *y = *(struct snap_ep *const *)b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static struct api_snapshot *snap_build(struct db *db, time_t now, char *err, size_t errlen)
{
	struct api_snapshot *s = calloc(1, sizeof(*s));
	struct readiness_observations obs = { 0 };
	struct readiness_report rep = { 0 };
	struct readiness_index *idx = NULL;
	struct readiness_opts o;
	int rc;
	if (!s) {
		util_err(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	s->built_at = now;
	rc = inventory_load(db, &s->inv, err, errlen);
	if (!rc)
		rc = readiness_load_observations(db, &s->inv, now, &obs, err, errlen);
	if (rc)
		goto fail;
	idx = readiness_index_new(&s->inv);
	if (!idx) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	readiness_opts_default(&o, now);
	rc = readiness_eval(idx, &obs, &o, &rep);
	if (rc) {
		util_err(err, errlen, rc, "readiness evaluation failed");
		goto fail;
	}
	s->eps = calloc(rep.neps ? rep.neps : 1, sizeof(*s->eps));
	s->by_id = calloc(rep.neps ? rep.neps : 1, sizeof(*s->by_id));
	if (!s->eps || !s->by_id) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < rep.neps; i++) {
		const struct readiness_endpoint_verdict *v = &rep.eps[i];
		struct snap_ep *e = &s->eps[s->n];
		json_t *j = readiness_endpoint_json(v);
		if (!j) {
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
			goto fail;
		}
		json_object_set_new(j, "id", json_integer(v->ep->id));
		json_object_set_new(j, "environment", json_string(v->ep->environment));
		e->json = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(j);
		if (!e->json) {
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
			goto fail;
		}
		e->jsonlen = strlen(e->json);
		e->id = v->ep->id;
		e->ep = v->ep;
		e->sev = v->severity;
		e->has_expiry = v->expiry.known;
		e->days_left = v->expiry.days_left;
		e->apps = v->napps ? calloc(v->napps, sizeof(*e->apps)) : NULL;
		if (v->napps && !e->apps) {
			free(e->json);
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
			goto fail;
		}
		e->napps = v->napps;
		for (size_t a = 0; a < v->napps; a++) {
			e->apps[a] =
				(struct snap_app){ v->apps[a].app->name, v->apps[a].now.evaluated,
						   v->apps[a].key_rotation.evaluated,
						   v->apps[a].now.stranded_share,
						   v->apps[a].key_rotation.stranded_share };
			if (v->apps[a].now.evaluated &&
			    v->apps[a].now.stranded_share > e->worst_now)
				e->worst_now = v->apps[a].now.stranded_share;
			if (v->apps[a].key_rotation.evaluated &&
			    v->apps[a].key_rotation.stranded_share > e->worst_kr)
				e->worst_kr = v->apps[a].key_rotation.stranded_share;
		}
		s->n++;
	}
	qsort(s->eps, s->n, sizeof(*s->eps), by_worst);
	for (size_t i = 0; i < s->n; i++)
		s->by_id[i] = &s->eps[i];
	qsort(s->by_id, s->n, sizeof(*s->by_id), by_id);
	/* the findings alone: a report without endpoints renders just those */
	struct readiness_report only = rep;
	only.eps = NULL;
	only.neps = 0;
	json_t *rj = readiness_report_json(&only);
	json_t *f = rj ? json_object_get(rj, "findings") : NULL;
	s->findings = f ? json_dumps(f, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(rj);
	json_t *lf = lint_report_json(&rep.findings, LINT_INFO);
	s->lint_findings = lf ? json_dumps(lf, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	s->lint_dropped = rep.findings.dropped;
	json_decref(lf);
	if (!s->findings || !s->lint_findings) {
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < s->n; i++)
		s->summary[s->eps[i].sev]++;
	readiness_report_free(&rep);
	readiness_index_free(idx);
	readiness_observations_free(&obs);
	return s;
fail:
	readiness_report_free(&rep);
	readiness_index_free(idx);
	readiness_observations_free(&obs);
	snap_free(s);
	return NULL;
}

/* A reference on the current snapshot: a fresh one, or with @stale_ok one that
 * only differs in what a build in progress will fix (same generation). */
static struct api_snapshot *snap_ref(struct api_ctx *c, const int64_t key[3], time_t now,
				     bool stale_ok)
{
	pthread_mutex_lock(&c->lock);
	struct api_snapshot *s = c->snapshot;
	bool ok = s && s->generation == c->generation &&
		  (stale_ok ||
		   (!memcmp(s->key, key, sizeof(s->key)) && now - s->built_at < SNAP_MAX_AGE_S));
	if (ok)
		s->refs++;
	pthread_mutex_unlock(&c->lock);
	return ok ? s : NULL;
}

static struct api_snapshot *snap_acquire(struct api_ctx *c, struct db *db, char *err, size_t errlen)
{
	int64_t key[3];
	time_t now = util_now();
	pthread_mutex_lock(&c->lock);
	uint64_t gen =
		c->generation; /* read before the data: a change during the build makes it stale */
	pthread_mutex_unlock(&c->lock);
	if (snap_key(db, key)) {
		util_err(err, errlen, -EIO, "%s", db_errmsg(db));
		return NULL;
	}
	struct api_snapshot *s = snap_ref(c, key, now, false);
	if (s)
		return s;
	/* Someone (usually the warmer) is building: readers keep using the previous
	 * snapshot of the same generation instead of queueing behind the build.
	 * After an API write (new generation) they wait for the new one. */
	if (pthread_mutex_trylock(&c->snap_build_lock) != 0) {
		s = snap_ref(c, key, now, true);
		if (s)
			return s;
		pthread_mutex_lock(&c->snap_build_lock);
	}
	s = snap_ref(c, key, now, false);
	if (s) {
		pthread_mutex_unlock(&c->snap_build_lock);
		return s;
	}
	s = snap_build(db, now, err, errlen);
	if (!s) {
		pthread_mutex_unlock(&c->snap_build_lock);
		return NULL;
	}
	s->generation = gen;
	memcpy(s->key, key, sizeof(s->key));
	s->refs = 2; /* the cache's and the caller's */
	pthread_mutex_lock(&c->lock);
	struct api_snapshot *old = c->snapshot;
	c->snapshot = s;
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_unlock(&c->snap_build_lock);
	api_snapshot_release(c, old);
	return s;
}

static struct api_snapshot *api_snapshot_get(struct api_req *req)
{
	char err[ERRLEN];
	struct api_snapshot *s = snap_acquire(req->ctx, req->db, err, sizeof(err));
	if (!s)
		api_error(req, 500, "readiness", "%s", err);
	return s;
}

int api_snapshot_refresh(struct api_ctx *ctx, struct db *db, char *err, size_t errlen)
{
	struct api_snapshot *s = snap_acquire(ctx, db, err, errlen);
	if (!s)
		return -EIO;
	bool old = util_now() - s->built_at >= SNAP_WARM_S;
	api_snapshot_release(ctx, s);
	if (!old)
		return 0;
	/* age alone does not make it stale for readers yet: rebuild ahead of them */
	pthread_mutex_lock(&ctx->snap_build_lock);
	int64_t key[3];
	time_t now = util_now();
	pthread_mutex_lock(&ctx->lock);
	uint64_t gen = ctx->generation;
	pthread_mutex_unlock(&ctx->lock);
	s = snap_key(db, key) ? NULL : snap_build(db, now, err, errlen);
	if (!s) {
		pthread_mutex_unlock(&ctx->snap_build_lock);
		return -EIO;
	}
	s->generation = gen;
	memcpy(s->key, key, sizeof(s->key));
	s->refs = 1;
	pthread_mutex_lock(&ctx->lock);
	struct api_snapshot *prev = ctx->snapshot;
	ctx->snapshot = s;
	pthread_mutex_unlock(&ctx->lock);
	pthread_mutex_unlock(&ctx->snap_build_lock);
	api_snapshot_release(ctx, prev);
	return 0;
}

static bool has_tag(const struct endpoint *e, const char *tag)
{
	for (size_t i = 0; i < e->ntags; i++)
		if (strcmp(e->tags[i], tag) == 0)
			return true;
	return false;
}

/* Responses assembled from pre-rendered JSON never grow past this. */
#define TEXT_MAX ((256u << 20) - 1)

void api_readiness_list(struct api_req *req)
{
	int64_t limit, cursor;
	enum readiness_severity want_sev = READINESS_OK;
	const char *env = api_query(req, "environment"), *owner = api_query(req, "owner"),
		   *tag = api_query(req, "tag"), *sev = api_query(req, "severity");
	if (api_page(req, &limit, &cursor))
		return;
	if (sev) {
		bool ok = false;
		for (int i = READINESS_OK; i <= READINESS_CRITICAL; i++)
			if (strcmp(sev, readiness_severity_name((enum readiness_severity)i)) == 0) {
				want_sev = (enum readiness_severity)i;
				ok = true;
			}
		if (!ok) {
			api_error(req, 400, "bad_request",
				  "severity must be ok, info, warning or critical");
			return;
		}
	}
	struct api_snapshot *s = api_snapshot_get(req);
	if (!s)
		return;
	struct strbuf b;
	strbuf_init(&b, TEXT_MAX);
	char t[64];
	size_t pos = (size_t)cursor, emitted = 0, i;
	strbuf_addstr(&b, "{\"at\":\"");
	strbuf_addstr(&b, util_fmt_time(s->built_at, t, sizeof(t)));
	strbuf_addstr(&b, "\",\"items\":[");
	for (i = pos; i < s->n && emitted < (size_t)limit; i++) {
		const struct snap_ep *e = &s->eps[i];
		if ((env && strcmp(e->ep->environment, env)) ||
		    (owner && (!e->ep->owner || strcmp(e->ep->owner, owner))) ||
		    (tag && !has_tag(e->ep, tag)) || (sev && e->sev != want_sev))
			continue;
		if (emitted++)
			strbuf_addstr(&b, ",");
		strbuf_add(&b, e->json, e->jsonlen);
	}
	/* the cursor is a position in the worst-first order of the snapshot */
	bool more = false;
	for (size_t k = i; k < s->n && !more; k++) {
		const struct snap_ep *e = &s->eps[k];
		more = !((env && strcmp(e->ep->environment, env)) ||
			 (owner && (!e->ep->owner || strcmp(e->ep->owner, owner))) ||
			 (tag && !has_tag(e->ep, tag)) || (sev && e->sev != want_sev));
	}
	strbuf_addf(&b, "],\"total\":%lld,\"next_cursor\":", (long long)s->n);
	if (more) {
		strbuf_addf(&b, "\"%zu\"", i);
	} else {
		strbuf_addstr(&b, "null");
	}
	strbuf_addstr(&b, ",\"findings\":");
	strbuf_addstr(&b, cursor ? "null" : (s->findings ? s->findings : "[]"));
	strbuf_addstr(&b, "}\n");
	api_snapshot_release(req->ctx, s);
	size_t len;
	char *text = strbuf_take(&b, &len);
	if (!text) {
		api_error(req, 500, "internal", "out of memory");
		return;
	}
	req->text = text;
	req->textlen = len;
	req->ctype = "application/json";
}

void api_readiness_get(struct api_req *req)
{
	int64_t id;
	if (api_param_id(req, 0, &id))
		return;
	struct api_snapshot *s = api_snapshot_get(req);
	if (!s)
		return;
	struct snap_ep key = { .id = id }, *kp = &key;
	struct snap_ep **hit = bsearch(&kp, s->by_id, s->n, sizeof(*s->by_id), by_id);
	if (!hit) {
		api_snapshot_release(req->ctx, s);
		api_error(req, 404, "not_found", "no endpoint with id %lld", (long long)id);
		return;
	}
	req->text = malloc((*hit)->jsonlen + 2);
	if (req->text) {
		memcpy(req->text, (*hit)->json, (*hit)->jsonlen);
		req->text[(*hit)->jsonlen] = '\n';
		req->text[(*hit)->jsonlen + 1] = 0;
		req->textlen = (*hit)->jsonlen + 1;
		req->ctype = "application/json";
	}
	api_snapshot_release(req->ctx, s);
	if (!req->text)
		api_error(req, 500, "internal", "out of memory");
}

/* GET /api/v1/lint[?min_severity=info|warning|critical]: the findings of the
 * rule table (lint.h) the snapshot's evaluation produced, in the lint shape,
 * and the same findings in the readiness shape (readiness_findings, kept for
 * compatibility). */
void api_lint(struct api_req *req)
{
	enum lint_severity min = LINT_INFO;
	const char *ms = api_query(req, "min_severity");
	if (ms && lint_severity_parse(ms, &min)) {
		api_error(req, 400, "bad_request",
			  "min_severity must be info, warning or critical");
		return;
	}
	struct api_snapshot *s = api_snapshot_get(req);
	if (!s)
		return;
	char t[32];
	json_t *j = NULL;
	json_t *f = json_loads(s->lint_findings, 0, NULL), *rf = json_loads(s->findings, 0, NULL);
	if (f && rf) {
		/* one severity per rule: the lists are parallel */
		for (size_t i = json_array_size(f); i-- > 0;) {
			enum lint_severity sev;
			const char *name = json_string_value(
				json_object_get(json_array_get(f, i), "severity"));
			if (lint_severity_parse(name, &sev) == 0 && sev < min) {
				json_array_remove(f, i);
				json_array_remove(rf, i);
			}
		}
		j = json_pack("{s:s, s:o, s:I, s:o}", "at",
			      util_fmt_time(s->built_at, t, sizeof(t)), "findings", f, "dropped",
			      (json_int_t)s->lint_dropped, "readiness_findings", rf);
	} else {
		json_decref(f);
		json_decref(rf);
	}
	api_snapshot_release(req->ctx, s);
	api_ok(req, 200, j);
}

#define WHATIF_MAX_PINS READINESS_MAX_CAND_PINS

/* POST /api/v1/whatif {host, port?, chain_pem? and/or pins?[], at?, max_stranded?,
 * any_host?} (readiness_whatif_db: the chain checks, the inventoried host). */
void api_whatif(struct api_req *req)
{
	char err[ERRLEN];
	const char *host = NULL, *pem = NULL, *at_s = NULL;
	json_t *pins = NULL, *out = NULL;
	int port = 0, any_host = 0;
	double max_stranded = 0;
	json_error_t jerr;
	uint8_t pinv[WHATIF_MAX_PINS][32];
	bool risk = false;
	if (!req->body ||
	    json_unpack_ex(req->body, &jerr, JSON_STRICT, "{s:s, s?i, s?s, s?o, s?s, s?F, s?b}",
			   "host", &host, "port", &port, "chain_pem", &pem, "pins", &pins, "at",
			   &at_s, "max_stranded", &max_stranded, "any_host", &any_host)) {
		api_error(req, 400, "invalid",
			  "body must be {\"host\", \"port\"?, \"chain_pem\"? and/or \"pins\"?, "
			  "\"at\"?, \"max_stranded\"?, \"any_host\"?}%s%s",
			  req->body ? ": " : "", req->body ? jerr.text : "");
		return;
	}
	struct readiness_whatif_req w = { .host = host,
					  .port = port,
					  .pem = pem,
					  .pemlen = pem ? strlen(pem) : 0,
					  .at = util_now(),
					  .max_stranded = max_stranded,
					  .ca_file = req->ctx && req->ctx->cfg
							     ? req->ctx->cfg->probe_ca_file
							     : NULL,
					  .any_host = any_host != 0 };
	if (json_object_get(req->body, "port") && (port < 1 || port > 65535)) {
		api_error(req, 400, "invalid", "port: must be 1..65535");
		return;
	}
	if (!(max_stranded >= 0 && max_stranded <= 1)) {
		api_error(req, 400, "invalid", "max_stranded: must be within [0, 1]");
		return;
	}
	if (at_s && util_parse_time(at_s, &w.at)) {
		api_error(req, 400, "invalid", "at: not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
		return;
	}
	if (pins) {
		size_t i;
		json_t *p;
		if (!json_is_array(pins) || json_array_size(pins) > WHATIF_MAX_PINS) {
			api_error(req, 400, "invalid", "pins: an array of at most %d pins",
				  WHATIF_MAX_PINS);
			return;
		}
		json_array_foreach(pins, i, p)
		{
			char perr[ERRLEN];
			if (!json_is_string(p) ||
			    util_parse_pin(json_string_value(p), pinv[i], perr, sizeof(perr))) {
				api_error(req, 400, "invalid", "pins[%zu]: %s", i,
					  json_is_string(p) ? perr : "not a string");
				return;
			}
		}
		w.pins = (const uint8_t(*)[32])pinv;
		w.npins = json_array_size(pins);
	}
	if (!w.npins && !pem) {
		api_error(req, 400, "invalid", "give chain_pem (a PEM chain) or pins (SPKI pins)");
		return;
	}
	int rc = readiness_whatif_db(req->db, &w, &out, &risk, err, sizeof(err));
	if (rc == -EINVAL)
		api_error(req, 400, "invalid", "%s", err);
	else if (rc)
		api_error(req, rc == -EBUSY ? 503 : 500, "readiness", "%s", err);
	else
		api_ok(req, 200, out);
}

/* Prometheus series of the stranded shares, appended to /metrics. */
int api_readiness_metrics(struct api_req *req, char **text, size_t *len)
{
	struct api_snapshot *s = api_snapshot_get(req);
	if (!s)
		return -EIO;
	struct strbuf b;
	strbuf_init(&b, TEXT_MAX);
	strbuf_add(&b, *text, *len);
	char h[600], a[300];
	strbuf_addstr(
		&b,
		"# HELP pinwatch_stranded_share Share of an app's users stranded on an endpoint "
		"(scenario now: today's chains; key_rotation: next renewal with a new key).\n"
		"# TYPE pinwatch_stranded_share gauge\n");
	for (size_t i = 0; i < s->n; i++) {
		const struct snap_ep *e = &s->eps[i];
		metrics_escape_label(e->ep->host, h, sizeof(h));
		for (size_t k = 0; k < e->napps; k++) {
			metrics_escape_label(e->apps[k].name, a, sizeof(a));
			if (e->apps[k].now_ok) {
				strbuf_addf(
					&b,
					"pinwatch_stranded_share{host=\"%s\",port=\"%d\",app=\"%"
					"s\",scenario=\"now\"} %.6g\n",
					h, e->ep->port, a, e->apps[k].now);
			}
			if (e->apps[k].kr_ok) {
				strbuf_addf(
					&b,
					"pinwatch_stranded_share{host=\"%s\",port=\"%d\",app=\"%"
					"s\",scenario=\"key_rotation\"} %.6g\n",
					h, e->ep->port, a, e->apps[k].kr);
			}
		}
	}
	strbuf_addstr(&b,
		      "# HELP pinwatch_endpoints_by_severity Endpoints per readiness severity.\n"
		      "# TYPE pinwatch_endpoints_by_severity gauge\n");
	for (int i = READINESS_OK; i <= READINESS_CRITICAL; i++) {
		strbuf_addf(&b, "pinwatch_endpoints_by_severity{severity=\"%s\"} %lld\n",
			    readiness_severity_name((enum readiness_severity)i),
			    (long long)s->summary[i]);
	}
	api_snapshot_release(req->ctx, s);
	size_t outlen;
	char *out = strbuf_take(&b, &outlen);
	if (!out) {
		api_error(req, 500, "metrics", "out of memory");
		return -ENOMEM;
	}
	free(*text);
	*text = out;
	*len = outlen;
	return 0;
}

json_t *api_readiness_summary(struct api_ctx *ctx)
{
	char t[32];
	pthread_mutex_lock(&ctx->lock);
	struct api_snapshot *s = ctx->snapshot;
	json_t *j = s ? json_pack("{s:s, s:I, s:I, s:I, s:I}", "at",
				  util_fmt_time(s->built_at, t, sizeof(t)), "ok",
				  (json_int_t)s->summary[READINESS_OK], "info",
				  (json_int_t)s->summary[READINESS_INFO], "warning",
				  (json_int_t)s->summary[READINESS_WARNING], "critical",
				  (json_int_t)s->summary[READINESS_CRITICAL])
		      : NULL;
	pthread_mutex_unlock(&ctx->lock);
	return j;
}
