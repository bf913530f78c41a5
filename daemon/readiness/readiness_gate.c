/* The renewal gate (readiness_gate.h): certification paths of a candidate
 * chain, the checks every TLS client makes before pins, and the what-if of
 * each path. GnuTLS and the store live here, not in the pure engine. */
#include "readiness/readiness_gate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "base/util.h"
#include "pki/x509.h"
#include "readiness/readiness_int.h"
#include "readiness/readiness_load.h"

#define EPS 1e-9
/* The reason naming the paths is cut at this many bytes. */
#define GATE_REASON_MAX 1499

/* ---- checks ------------------------------------------------------------ */

void readiness_gate_free(struct readiness_gate *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nfailures; i++)
		free(g->failures[i]);
	for (size_t i = 0; i < g->npaths; i++)
		readiness_chain_free(&g->paths[i]);
	free(g->paths);
	for (size_t i = 0; i < g->nnot_on_path; i++)
		free(g->not_on_path[i]);
	free(g->not_on_path);
	memset(g, 0, sizeof(*g));
}

static int fail(struct readiness_gate *g, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct readiness_gate *g, const char *kind, const char *fmt, ...)
{
	char buf[700];
	va_list ap;
	if (g->nfailures >= READINESS_GATE_MAX_FAILURES)
		return 0;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	char *s = strdup(buf);
	if (!s)
		return -ENOMEM;
	g->failed[g->nfailures] = kind;
	g->failures[g->nfailures++] = s;
	return 0;
}

static int chain_from_path(const struct x509_chain *p, struct readiness_chain *out)
{
	memset(out, 0, sizeof(*out));
	out->certs = calloc(p->n ? p->n : 1, sizeof(*out->certs));
	if (!out->certs)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		const struct x509_cert_info *x = &p->certs[i];
		struct readiness_cert *c = &out->certs[out->ncerts++];
		memcpy(c->pin, x->spki_pin, 32);
		memcpy(c->sha256, x->sha256, 32);
		c->subject = strdup(x->subject);
		c->issuer = strdup(x->issuer);
		c->not_before = x->not_before;
		c->not_after = x->not_after;
		c->is_ca = x->is_ca;
		if (!c->subject || !c->issuer) {
			readiness_chain_free(out);
			return -ENOMEM;
		}
	}
	return 0;
}

/* The first certificate of @p not valid at @at, or NULL. */
static const struct x509_cert_info *invalid_at(const struct x509_chain *p, time_t at)
{
	for (size_t i = 0; i < p->n; i++)
		if (at < p->certs[i].not_before || at > p->certs[i].not_after)
			return &p->certs[i];
	return NULL;
}

static int fail_validity(struct readiness_gate *g, const struct x509_cert_info *c, bool leaf,
			 time_t at)
{
	char d[16];
	const char *what = leaf ? "the leaf certificate" : "the CA certificate";
	if (at > c->not_after)
		return fail(g, "expired", "%s %s expired on %s", what, c->subject,
			    util_fmt_date(c->not_after, d, sizeof(d)));
	return fail(g, "not_yet_valid", "%s %s is not valid before %s", what, c->subject,
		    util_fmt_date(c->not_before, d, sizeof(d)));
}

/* Whether every certificate of @p other than anchors of the store is one
 * the candidate holds (pool indexes below @nsent). */
static bool path_sent_only(const struct x509_path *p, size_t nsent)
{
	for (size_t k = 1; k < p->certs.n; k++)
		if (p->src[k] != X509_SRC_ANCHOR && (p->src[k] < 0 || (size_t)p->src[k] >= nsent))
			return false;
	return true;
}

static int keep_path(struct readiness_gate *g, const struct x509_chain *p)
{
	size_t cap = g->npaths; /* no capacity kept: the array grows on every path */
	int rc = ARRAY_RESERVE(g->paths, cap, g->npaths + 1, ARRAY_MAX_ITEMS);
	if (rc)
		return rc;
	rc = chain_from_path(p, &g->paths[g->npaths]);
	if (!rc)
		g->npaths++;
	return rc;
}

/* What one gate check holds while it runs. */
struct gate_run {
	struct x509_chain ch; /* the candidate, leaf first */
	gnutls_x509_crt_t crts[READINESS_MAX_CHAIN];
	gnutls_x509_crt_t *pool; /* issuers to build paths from */
	size_t npool;
	struct x509_paths ps;
	bool *on_path; /* [ch.n]: the candidate's certificate i is on a kept path */
};

static void gate_run_clear(struct gate_run *r)
{
	x509_paths_clear(&r->ps);
	for (size_t i = 0; i < r->ch.n; i++)
		if (r->crts[i])
			gnutls_x509_crt_deinit(r->crts[i]);
	free(r->pool);
	free(r->on_path);
	x509_chain_clear(&r->ch);
}

/* The candidate's certificates as GnuTLS objects (r->ch parsed). 0, -EINVAL
 * (a certificate cannot be read) or -ENOMEM, with a message. */
static int gate_import(struct gate_run *r, char *err, size_t errlen)
{
	for (size_t i = 0; i < r->ch.n; i++) {
		gnutls_datum_t d = { r->ch.certs[i].der, (unsigned)r->ch.certs[i].der_len };
		if (gnutls_x509_crt_init(&r->crts[i]) < 0) {
			r->crts[i] = NULL;
			return util_err(err, errlen, -ENOMEM, "out of memory");
		}
		if (gnutls_x509_crt_import(r->crts[i], &d, GNUTLS_X509_FMT_DER) < 0)
			return util_err(err, errlen, -EINVAL, "certificate %zu cannot be read",
					i + 1);
	}
	return 0;
}

/* The candidate's own certificates first, then what pinwatch observed (the
 * same certificate twice would only give the same path twice). -ENOMEM. */
static int gate_pool(struct gate_run *r, const gnutls_x509_crt_t *observed, size_t nobserved)
{
	r->pool = calloc(r->ch.n + nobserved + 1, sizeof(*r->pool));
	r->on_path = calloc(r->ch.n + 1, sizeof(*r->on_path));
	if (!r->pool || !r->on_path)
		return -ENOMEM;
	for (size_t i = 1; i < r->ch.n; i++)
		r->pool[r->npool++] = r->crts[i];
	for (size_t i = 0; i < nobserved; i++) {
		bool dup = false;
		for (size_t k = 1; k < r->ch.n && !dup; k++)
			dup = gnutls_x509_crt_equals(observed[i], r->crts[k]) != 0;
		if (!dup)
			r->pool[r->npool++] = observed[i];
	}
	return 0;
}

/* The leaf's own checks: valid at @at, covers @host. 0 or -ENOMEM. */
static int gate_leaf(struct readiness_gate *g, const struct gate_run *r, const char *host,
		     time_t at)
{
	const struct x509_cert_info *leaf = &r->ch.certs[0];
	int rc = 0;
	if (at < leaf->not_before || at > leaf->not_after)
		rc = fail_validity(g, leaf, true, at);
	if (!rc && host && !gnutls_x509_crt_check_hostname2(r->crts[0], host, 0))
		rc = fail(g, "hostname", "the leaf certificate %s does not cover %s", leaf->subject,
			  host);
	return rc;
}

/* Mark the candidate's certificates on path @p. */
static void mark_on_path(struct gate_run *r, const struct x509_path *p)
{
	for (size_t k = 1; k < p->certs.n; k++)
		if (p->src[k] >= 0 && (size_t)p->src[k] + 1 < r->ch.n)
			r->on_path[p->src[k] + 1] = true;
}

/* Keep every path a client accepts at @at, or fail the check saying why
 * none is (and keep the one that came closest, for the report). 0 or -ENOMEM. */
static int gate_paths(struct readiness_gate *g, struct gate_run *r, time_t at)
{
	const struct x509_paths *ps = &r->ps;
	size_t nsent = r->ch.n - 1;
	int rc;
	/* Android's TrustManagerImpl and OkHttp's chain cleaner complete a chain
	 * from the trust store and the certificates the server sent, and look
	 * elsewhere (Android: intermediates cached from earlier connections;
	 * here: what pinwatch observed) only when that fails. */
	bool sent_only = false;
	for (size_t i = 0; i < ps->n && !sent_only; i++)
		sent_only = ps->v[i].trusted && !invalid_at(&ps->v[i].certs, at) &&
			    path_sent_only(&ps->v[i], nsent);
	size_t ntrusted = 0, nvalid = 0;
	for (size_t i = 0; i < ps->n; i++) {
		if (!ps->v[i].trusted)
			continue;
		ntrusted++;
		if (invalid_at(&ps->v[i].certs, at))
			continue;
		if (sent_only && !path_sent_only(&ps->v[i], nsent))
			continue;
		nvalid++;
		if ((rc = keep_path(g, &ps->v[i].certs)))
			return rc;
		mark_on_path(r, &ps->v[i]);
	}
	if (ntrusted == 0) {
		rc = fail(g, "untrusted",
			  "the chain does not build to a trust anchor (the configured ca_file, "
			  "else the system store): %s",
			  ps->n ? ps->v[0].reason : "no path");
		if (rc)
			return rc;
	} else if (nvalid == 0 && !g->nfailures) {
		/* Every trusted path holds a CA certificate invalid at T. */
		const struct x509_cert_info *bad = NULL;
		for (size_t i = 0; i < ps->n && !bad; i++)
			if (ps->v[i].trusted)
				bad = invalid_at(&ps->v[i].certs, at);
		if (bad && (rc = fail_validity(g, bad, false, at)))
			return rc;
	}
	if (g->npaths == 0) {
		/* Nothing a client accepts: keep the path that came closest, for the
		 * report (trusted ones sort first). */
		struct x509_chain leafonly = { .certs = r->ch.certs, .n = 1 };
		if ((rc = keep_path(g, ps->n ? &ps->v[0].certs : &leafonly)))
			return rc;
		if (ps->n)
			mark_on_path(r, &ps->v[0]);
	}
	return 0;
}

/* The subjects of the candidate's certificates on no kept path. 0 or -ENOMEM. */
static int gate_not_on_path(struct readiness_gate *g, const struct gate_run *r)
{
	for (size_t i = 1; i < r->ch.n; i++) {
		if (r->on_path[i])
			continue;
		size_t cap = g->nnot_on_path;
		if (ARRAY_RESERVE(g->not_on_path, cap, g->nnot_on_path + 1, ARRAY_MAX_ITEMS))
			return -ENOMEM;
		if (!(g->not_on_path[g->nnot_on_path] = strdup(r->ch.certs[i].subject)))
			return -ENOMEM;
		g->nnot_on_path++;
	}
	return 0;
}

int readiness_gate_check(struct x509_trust *trust, const gnutls_x509_crt_t *observed,
			 size_t nobserved, const char *pem, size_t len, const char *host, time_t at,
			 struct readiness_gate *out, char *err, size_t errlen)
{
	struct gate_run r = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	if (!pem || len == 0)
		return util_err(err, errlen, -EINVAL, "empty certificate chain");
	rc = x509_chain_parse((const uint8_t *)pem, len, READINESS_MAX_CHAIN, &r.ch, err, errlen);
	if (rc == -E2BIG)
		return util_err(err, errlen, -EINVAL, "more than %d certificates in the chain",
				READINESS_MAX_CHAIN);
	if (rc)
		return rc; /* -EINVAL (with the reason) or -ENOMEM */
	if ((rc = gate_import(&r, err, errlen)))
		goto done;
	if ((rc = gate_pool(&r, observed, nobserved)))
		goto nomem;
	out->checked = true;
	if ((rc = gate_leaf(out, &r, host, at)))
		goto nomem;
	if ((rc = x509_paths_build(trust, r.crts[0], r.pool, r.npool, &r.ps, err, errlen)))
		goto done;
	out->truncated = r.ps.truncated;
	if ((rc = gate_paths(out, &r, at)))
		goto nomem;
	if ((rc = gate_not_on_path(out, &r)))
		goto nomem;
	out->ok = out->nfailures == 0;
	rc = 0;
	goto done;
nomem:
	rc = util_err(err, errlen, -ENOMEM, "out of memory");
done:
	if (rc)
		readiness_gate_free(out);
	gate_run_clear(&r);
	return rc;
}

/* ---- what-if over the paths -------------------------------------------- */

/* @path (may be NULL) deep-copied, then the bare @pins. */
static int chain_with_pins(const struct readiness_chain *path, const uint8_t (*pins)[32],
			   size_t npins, struct readiness_chain *out)
{
	size_t n = (path ? path->ncerts : 0) + npins;
	memset(out, 0, sizeof(*out));
	out->certs = calloc(n ? n : 1, sizeof(*out->certs));
	if (!out->certs)
		return -ENOMEM;
	for (size_t i = 0; path && i < path->ncerts; i++) {
		if (readiness_cert_copy(&out->certs[out->ncerts], &path->certs[i])) {
			readiness_chain_free(out);
			return -ENOMEM;
		}
		out->ncerts++;
	}
	for (size_t i = 0; i < npins; i++)
		memcpy(out->certs[out->ncerts++].pin, pins[i], 32);
	return 0;
}

static bool worse(const struct readiness_scenario *a, const struct readiness_scenario *b)
{
	if (a->stranded_share > b->stranded_share + EPS)
		return true;
	return a->stranded_share > b->stranded_share - EPS &&
	       a->unknown_share > b->unknown_share + EPS;
}

static const char *path_anchor(const struct readiness_chain *p)
{
	const char *s = p->ncerts ? p->certs[p->ncerts - 1].subject : NULL;
	return s ? s : "?";
}

/* Every user of @wa's app is stranded: the TLS handshake fails before pins. */
static int strand_all(struct readiness_whatif_app *wa, const struct readiness_gate *g, time_t at)
{
	struct readiness_scenario *s = &wa->candidate;
	const struct app *app = wa->app;
	struct readiness_version_share *vs =
		calloc(app->nversions ? app->nversions : 1, sizeof(*vs));
	if (!vs)
		return -ENOMEM;
	for (size_t i = 0; i < app->nversions; i++) {
		const struct adoption_sample *a = model_latest_adoption(&app->versions[i], at);
		vs[i].version = &app->versions[i];
		vs[i].known = a != NULL;
		vs[i].share = a ? a->share : 0;
	}
	free(s->stranded);
	s->stranded = vs;
	s->nstranded = app->nversions;
	s->evaluated = true;
	s->stranded_share = 1;
	s->unknown_share = 0;
	s->surviving_share = 0;
	s->ready = false;
	readiness_strv_free(&wa->reasons);
	for (size_t i = 0; i < g->nfailures; i++) {
		int rc = readiness_strv_add(&wa->reasons,
					    "The candidate fails a check every TLS client makes "
					    "before pins: %s. Every user of %s would be stranded, "
					    "pinned or not.",
					    g->failures[i], app->name);
		if (rc)
			return rc;
	}
	return 0;
}

int readiness_gate_whatif(const struct readiness_index *idx, const char *host,
			  const struct readiness_gate *g, const uint8_t (*pins)[32], size_t npins,
			  const struct readiness_observed *current, time_t at,
			  struct readiness_whatif *out, bool *path_dependent)
{
	size_t npaths = g && g->checked ? g->npaths : 0;
	struct readiness_whatif *ws = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (path_dependent)
		*path_dependent = false;
	if (npaths == 0 && npins == 0)
		return -EINVAL;
	size_t nw = npaths ? npaths : 1;
	ws = calloc(nw, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	for (size_t p = 0; p < nw && !rc; p++) {
		struct readiness_chain c;
		if ((rc = chain_with_pins(npaths ? &g->paths[p] : NULL, pins, npins, &c)))
			break;
		rc = readiness_whatif_eval(idx, host, &c, current, at, &ws[p]);
		readiness_chain_free(&c);
	}
	if (rc)
		goto done;
	/* Each app keeps its worst path: the client may build any of them. The
	 * apps are the same, in the same order, for every path of one host. */
	*out = ws[0];
	memset(&ws[0], 0, sizeof(ws[0]));
	for (size_t i = 0; i < out->napps && !rc; i++) {
		struct readiness_whatif_app *best = &out->apps[i];
		double sh[X509_PATHS_MAX + 1] = { 0 };
		bool differs = false;
		sh[0] = best->candidate.stranded_share;
		for (size_t p = 1; p < nw && p <= X509_PATHS_MAX; p++) {
			if (i >= ws[p].napps || ws[p].apps[i].app != best->app)
				continue;
			const struct readiness_scenario *o = &ws[p].apps[i].candidate;
			sh[p] = o->stranded_share;
			differs |= worse(o, &best->candidate) || worse(&best->candidate, o);
		}
		for (size_t p = 1; p < nw; p++) {
			if (i >= ws[p].napps || ws[p].apps[i].app != best->app)
				continue;
			if (worse(&ws[p].apps[i].candidate, &best->candidate)) {
				struct readiness_whatif_app tmp = *best;
				*best = ws[p].apps[i];
				ws[p].apps[i] = tmp;
			}
		}
		if (!differs)
			continue;
		if (path_dependent)
			*path_dependent = true;
		struct strbuf sb;
		strbuf_init(&sb, GATE_REASON_MAX);
		rd_sb_add(&sb, "The verdict for %s depends on the path the client builds:",
			  best->app->name);
		for (size_t p = 0; p < npaths && p <= X509_PATHS_MAX; p++)
			rd_sb_add(&sb, "%s via %s %.1f%% stranded", p ? ";" : "",
				  path_anchor(&g->paths[p]), 100 * sh[p]);
		rd_sb_str(&sb, ". The gate counts the worst.");
		rc = rd_sb_push(&best->reasons, &sb);
	}
	if (!rc && g && g->checked && !g->ok)
		for (size_t i = 0; i < out->napps && !rc; i++)
			rc = strand_all(&out->apps[i], g, at);
	out->max_stranded = out->max_unknown = 0;
	for (size_t i = 0; i < out->napps; i++) {
		if (out->apps[i].candidate.stranded_share > out->max_stranded)
			out->max_stranded = out->apps[i].candidate.stranded_share;
		if (out->apps[i].candidate.unknown_share > out->max_unknown)
			out->max_unknown = out->apps[i].candidate.unknown_share;
	}
done:
	for (size_t p = 0; p < nw; p++)
		readiness_whatif_free(&ws[p]);
	free(ws);
	if (rc)
		readiness_whatif_free(out);
	return rc;
}

json_t *readiness_gate_json(const struct readiness_gate *g, bool path_dependent)
{
	json_t *failed = json_array(), *failures = json_array(), *nop = json_array();
	for (size_t i = 0; g && failed && failures && i < g->nfailures; i++) {
		json_array_append_new(failed, json_string(g->failed[i]));
		json_array_append_new(failures, json_string(g->failures[i]));
	}
	for (size_t i = 0; g && nop && i < g->nnot_on_path; i++)
		json_array_append_new(nop, json_string(g->not_on_path[i]));
	bool checked = g && g->checked;
	return json_pack("{s:b, s:b, s:o*, s:o*, s:I, s:b, s:o*}", "checked", checked, "ok",
			 checked && g->ok, "failed", failed, "failures", failures, "paths",
			 (json_int_t)(checked ? g->npaths : 0), "path_dependent", path_dependent,
			 "not_on_path", nop);
}

int readiness_chain_complete_verified(const char *pem, size_t len,
				      const gnutls_x509_crt_t *observed, size_t nobserved,
				      struct readiness_chain *out, char *err, size_t errlen)
{
	struct readiness_gate g;
	memset(out, 0, sizeof(*out));
	/* No store and no time: only the path (the first one found). */
	int rc =
		readiness_gate_check(NULL, observed, nobserved, pem, len, NULL, 0, &g, err, errlen);
	if (rc)
		return rc;
	if (g.npaths) {
		*out = g.paths[0];
		memset(&g.paths[0], 0, sizeof(g.paths[0]));
	}
	readiness_gate_free(&g);
	return 0;
}
