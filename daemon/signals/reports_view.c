/* Pin-failure reports: cluster listing for the API/dashboard, and the alert
 * conditions that make a new cluster fire pin_failures_reported. */
#include "signals/reports.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/reports.h"
#include "base/array.h"
#include "base/util.h"

int reports_clusters_json(struct db *db, int limit, int days, time_t now, json_t **out, char *err,
			  size_t errlen)
{
	char since[16];
	if (limit <= 0 || limit > 10000)
		limit = 1000;
	if (days <= 0 || days > 3660)
		days = 30;
	util_fmt_date(now - (time_t)(days - 1) * 86400, since, sizeof(since));
	return reports_db_clusters_json(db, limit, since, out, err, errlen);
}

static void reports_alerts_free_items(struct reports_alert *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		json_decref(a[i].details);
}

void reports_alerts_free(struct reports_alert *a, size_t n)
{
	reports_alerts_free_items(a, n);
	free(a);
}

static const char *class_explanation(const char *cls)
{
	if (!strcmp(cls, "matches_server"))
		return "users see the chain the server presents, so the app's pins are wrong: "
		       "users of this version are stranded";
	if (!strcmp(cls, "differs"))
		return "users see a chain the server does not present: TLS interception "
		       "(corporate inspection, captive portal) or an attack";
	if (!strcmp(cls, "unknown_host"))
		return "the host is not in the inventory: wrong domain mapping in the app's pins "
		       "or an unwatched endpoint";
	return "the endpoint has not been observed around the report time";
}

static size_t last_folded;

size_t reports_alerts_folded(void)
{
	return __atomic_load_n(&last_folded, __ATOMIC_RELAXED);
}

void reports_quote(const char *in, size_t max, char *out, size_t outlen)
{
	size_t o = 0, n = in ? strlen(in) : 0;
	bool cut = false;
	if (outlen < 3) {
		if (outlen)
			out[0] = 0;
		return;
	}
	/* room for the quotes, "..." and the terminator */
	if (max > outlen - 6)
		max = outlen - 6;
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)in[n] & 0xc0) == 0x80)
			n--; /* do not cut a UTF-8 sequence */
		cut = true;
	}
	out[o++] = '`';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		out[o++] = c < 0x20 || c == 0x7f ? '?' : c == '`' ? '\'' : (char)c;
	}
	if (cut) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '`';
	out[o] = 0;
}

struct cond_rank {
	enum severity sev;
	int individual;	 /* a corroborated cluster of a known version */
	int64_t sources; /* source groups (aggregate: the most of one cluster) */
	int64_t reports;
	int64_t last_seen;
};

struct cond_build {
	struct reports_alert *a;
	struct cond_rank *rank;
	size_t n, acap, rcap;
};

static struct reports_alert *build_push(struct cond_build *b, const struct cond_rank *r)
{
	if (ARRAY_RESERVE(b->a, b->acap, b->n + 1, ARRAY_MAX_ITEMS) ||
	    ARRAY_RESERVE(b->rank, b->rcap, b->n + 1, ARRAY_MAX_ITEMS))
		return NULL;
	memset(&b->a[b->n], 0, sizeof(b->a[b->n]));
	b->rank[b->n] = *r;
	return &b->a[b->n++];
}

/* Clusters of one host and port that make no condition of their own. */
struct host_agg {
	char host[REPORTS_MAX_STRING + 1];
	int port;
	int64_t clusters, reports, max_sources, first_seen, last_seen, endpoint_id;
	bool corroborated;
	json_t *classes;  /* classification -> clusters */
	json_t *versions; /* up to AGG_VERSIONS distinct version strings */
};

#define AGG_VERSIONS 5

static void agg_reset(struct host_agg *g, const char *host, int port)
{
	json_decref(g->classes);
	json_decref(g->versions);
	memset(g, 0, sizeof(*g));
	snprintf(g->host, sizeof(g->host), "%s", host ? host : "");
	g->port = port;
	g->classes = json_object();
	g->versions = json_array();
}

static int agg_flush(struct cond_build *b, struct host_agg *g)
{
	if (g->clusters == 0)
		return 0;
	if (!g->classes || !g->versions)
		return -ENOMEM;
	struct cond_rank r = { g->endpoint_id && g->corroborated ? SEVERITY_WARNING : SEVERITY_INFO,
			       0, g->max_sources, g->reports, g->last_seen };
	struct reports_alert *c = build_push(b, &r);
	if (!c)
		return -ENOMEM;
	uint8_t d[32];
	char buf[REPORTS_MAX_STRING + 32], hex[65], qhost[96];
	int len = snprintf(buf, sizeof(buf), "aggregate%c%s%c%d", 0, g->host, 0, g->port);
	if (len < 0 || (size_t)len >= sizeof(buf) || util_sha256(buf, (size_t)len, d))
		return -EIO;
	util_hex(d, 8, hex);
	c->kind = "pin_failures_reported";
	snprintf(c->fingerprint, sizeof(c->fingerprint), "pin_failures_reported-%s", hex);
	c->endpoint_id = g->endpoint_id;
	c->severity = r.sev;
	snprintf(buf, sizeof(buf), "%s:%d", g->host, g->port);
	reports_quote(buf, 80, qhost, sizeof(qhost));
	snprintf(c->summary, sizeof(c->summary),
		 "%lld pin-failure report%s in %lld cluster%s for %s (unknown app versions or a "
		 "single source each; at most %lld source%s behind one cluster)",
		 (long long)g->reports, g->reports == 1 ? "" : "s", (long long)g->clusters,
		 g->clusters == 1 ? "" : "s", qhost, (long long)g->max_sources,
		 g->max_sources == 1 ? "" : "s");
	c->details = json_pack(
		"{s:b,s:s,s:i,s:I,s:I,s:I,s:I,s:I,s:O,s:O,s:[s]}", "aggregated", 1, "host", g->host,
		"port", g->port, "clusters", (json_int_t)g->clusters, "report_count",
		(json_int_t)g->reports, "sources", (json_int_t)g->max_sources, "first_seen",
		(json_int_t)g->first_seen, "last_seen", (json_int_t)g->last_seen, "classifications",
		g->classes, "versions_seen", g->versions, "reasons",
		"reports for app versions pinwatch does not know, or from a single "
		"source each, are counted per host: anyone can send them");
	g->clusters = 0;
	return c->details ? 0 : -ENOMEM;
}

static int cmp_rank(const struct cond_rank *x, const struct cond_rank *y)
{
	if (x->sev != y->sev)
		return y->sev > x->sev ? 1 : -1;
	if (x->individual != y->individual)
		return y->individual - x->individual;
	if (x->sources != y->sources)
		return x->sources < y->sources ? 1 : -1;
	if (x->reports != y->reports)
		return x->reports < y->reports ? 1 : -1;
	if (x->last_seen != y->last_seen)
		return x->last_seen < y->last_seen ? 1 : -1;
	return 0;
}

/* Sort the conditions by rank, most important first (insertion order breaks ties). */
static int sort_conds(struct cond_build *b)
{
	if (b->n < 2)
		return 0;
	size_t *idx = malloc(b->n * sizeof(*idx));
	struct reports_alert *sa = malloc(b->n * sizeof(*sa));
	struct cond_rank *sr = malloc(b->n * sizeof(*sr));
	if (!idx || !sa || !sr) {
		free(idx);
		free(sa);
		free(sr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < b->n; i++)
		idx[i] = i;
	/* stable (equal ranks keep the order of the clusters): bottom-up merge sort */
	size_t *tmp = malloc(b->n * sizeof(*tmp));
	if (!tmp) {
		free(idx);
		free(sa);
		free(sr);
		return -ENOMEM;
	}
	for (size_t w = 1; w < b->n; w *= 2) {
		for (size_t lo = 0; lo < b->n; lo += 2 * w) {
			size_t mid = lo + w < b->n ? lo + w : b->n;
			size_t hi = lo + 2 * w < b->n ? lo + 2 * w : b->n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				tmp[k++] = cmp_rank(&b->rank[idx[j]], &b->rank[idx[i]]) < 0
						   ? idx[j++]
						   : idx[i++];
			while (i < mid)
				tmp[k++] = idx[i++];
			while (j < hi)
				tmp[k++] = idx[j++];
		}
		memcpy(idx, tmp, b->n * sizeof(*idx));
	}
	for (size_t i = 0; i < b->n; i++) {
		sa[i] = b->a[idx[i]];
		sr[i] = b->rank[idx[i]];
	}
	memcpy(b->a, sa, b->n * sizeof(*sa));
	memcpy(b->rank, sr, b->n * sizeof(*sr));
	free(tmp);
	free(idx);
	free(sa);
	free(sr);
	return 0;
}

/* What add_cluster() works on: the conditions built so far and the
 * aggregate of the current host and port. */
struct cond_walk {
	struct cond_build b;
	struct host_agg g;
};

static int add_cluster(void *ctx, const struct reports_db_active *row)
{
	struct cond_walk *w = ctx;
	struct cond_build *b = &w->b;
	struct host_agg *g = &w->g;
	const char *cls = row->classification;
	const char *app = row->app;
	const char *ver = row->app_version;
	const char *host = row->hostname;
	int port = row->port;
	int64_t reports = row->report_count;
	int64_t first = row->first_seen, last = row->last_seen;
	int64_t endpoint_id = row->endpoint_id;
	int64_t sources = row->sources;
	bool corroborated = sources >= REPORTS_CORROBORATING_SOURCES;
	if (!cls || !row->key)
		return -EIO;

	if (!row->known_version || !corroborated) {
		/* Anyone can send these: counted per host, never paged one by one. */
		if (g->clusters == 0 || strcmp(g->host, host ? host : "") || g->port != port) {
			int rc = agg_flush(b, g);
			if (rc)
				return rc;
			agg_reset(g, host, port);
		}
		if (!g->classes || !g->versions)
			return -ENOMEM;
		if (g->clusters == 0 || first < g->first_seen)
			g->first_seen = first;
		if (last > g->last_seen)
			g->last_seen = last;
		g->clusters++;
		g->reports += reports;
		if (sources > g->max_sources)
			g->max_sources = sources;
		if (corroborated && strcmp(cls, "unobserved"))
			g->corroborated = true;
		if (endpoint_id)
			g->endpoint_id = endpoint_id;
		json_t *cnt = json_object_get(g->classes, cls);
		json_object_set_new(g->classes, cls, json_integer(json_integer_value(cnt) + 1));
		if (ver && json_array_size(g->versions) < AGG_VERSIONS) {
			bool seen = false;
			size_t i;
			json_t *v;
			json_array_foreach(g->versions, i, v)
			{
				if (!strcmp(json_string_value(v), ver))
					seen = true;
			}
			if (!seen)
				json_array_append_new(g->versions, json_string(ver));
		}
		return 0;
	}

	enum severity sev = !strcmp(cls, "matches_server") ? SEVERITY_CRITICAL
			    : !strcmp(cls, "unobserved")   ? SEVERITY_INFO
							   : SEVERITY_WARNING;
	struct cond_rank r = { sev, 1, sources, reports, last };
	struct reports_alert *c = build_push(b, &r);
	if (!c)
		return -ENOMEM;
	char hex[65], qapp[96], qver[96], hp[REPORTS_MAX_STRING + 16], qhost[96];
	util_hex(row->key, 32, hex);
	hex[16] = '\0';
	c->kind = "pin_failures_reported";
	snprintf(c->fingerprint, sizeof(c->fingerprint), "pin_failures_reported-%s", hex);
	c->endpoint_id = endpoint_id;
	c->app_id = row->app_id;
	c->severity = sev;
	/* the app's name is ours when the app is known; the rest came in the report */
	if (row->app_known)
		snprintf(qapp, sizeof(qapp), "%.80s", app);
	else
		reports_quote(app ? app : "", 64, qapp, sizeof(qapp));
	reports_quote(ver ? ver : "", 64, qver, sizeof(qver));
	snprintf(hp, sizeof(hp), "%s:%d", host ? host : "?", port);
	reports_quote(hp, 80, qhost, sizeof(qhost));
	snprintf(c->summary, sizeof(c->summary),
		 "%lld pin-failure report%s from %s %s for %s (%s, %lld sources)",
		 (long long)reports, reports == 1 ? "" : "s", qapp, qver, qhost, cls,
		 (long long)sources);
	c->details = json_pack("{s:I,s:s,s:s?,s:s?,s:s,s:i,s:I,s:I,s:I,s:I,s:s?,s:[s]}",
			       "cluster_id", (json_int_t)row->id, "classification", cls, "app", app,
			       "version", ver, "host", host ? host : "", "port", port,
			       "report_count", (json_int_t)reports, "sources", (json_int_t)sources,
			       "first_seen", (json_int_t)first, "last_seen", (json_int_t)last,
			       "issuer_seen", row->leaf_issuer, "reasons", class_explanation(cls));
	return c->details ? 0 : -ENOMEM;
}

/* More than @cap conditions in @b: keep the first cap - 1 and let the last
 * place say what was folded (their number in *@folded, when given). */
static int fold_overflow(struct cond_build *b, size_t cap, size_t *folded)
{
	size_t drop = b->n - (cap - 1);
	int64_t reports = 0;
	for (size_t i = cap - 1; i < b->n; i++)
		reports += b->rank[i].reports;
	reports_alerts_free_items(b->a + cap - 1, drop);
	b->n = cap - 1;
	struct cond_rank r = { SEVERITY_WARNING, 0, 0, 0, 0 };
	struct reports_alert *c = build_push(b, &r);
	if (!c)
		return -ENOMEM;
	c->kind = "pin_failures_reported";
	snprintf(c->fingerprint, sizeof(c->fingerprint), "%s", REPORTS_OVERFLOW_FINGERPRINT);
	c->severity = SEVERITY_WARNING;
	snprintf(c->summary, sizeof(c->summary),
		 "pin-failure reports make more alert conditions than the cap of "
		 "%zu: %zu less severe or less corroborated ones (%lld reports) are "
		 "not alerted one by one; see GET /api/v1/reports/clusters",
		 cap, drop, (long long)reports);
	c->details = json_pack("{s:I,s:I,s:I,s:[s]}", "cap", (json_int_t)cap, "folded",
			       (json_int_t)drop, "report_count", (json_int_t)reports, "reasons",
			       "a flood of reports (possibly forged: the route is "
			       "public) reached the cap; the most severe and most "
			       "corroborated conditions are kept");
	if (!c->details)
		return -ENOMEM;
	if (folded)
		*folded = drop;
	return 0;
}

int reports_alert_conds_capped(struct db *db, time_t now, int64_t window_s, size_t cap,
			       struct reports_alert **out, size_t *n, size_t *folded, char *err,
			       size_t errlen)
{
	struct cond_walk w = { 0 };
	*out = NULL;
	*n = 0;
	if (folded)
		*folded = 0;
	if (cap < 1)
		cap = 1;
	int rc = reports_db_active(db, now - window_s, add_cluster, &w, err, errlen);
	bool read = rc == 0; /* else the store said why */
	if (!rc)
		rc = agg_flush(&w.b, &w.g);
	json_decref(w.g.classes);
	json_decref(w.g.versions);
	if (!rc)
		rc = sort_conds(&w.b);
	if (!rc && w.b.n > cap)
		rc = fold_overflow(&w.b, cap, folded);
	free(w.b.rank);
	if (rc) {
		reports_alerts_free(w.b.a, w.b.n);
		if (read)
			util_err(err, errlen, rc, "reading clusters: %s",
				 rc == -ENOMEM ? "out of memory" : "a malformed row");
		return rc;
	}
	*out = w.b.a;
	*n = w.b.n;
	return 0;
}

int reports_alert_conds(struct db *db, time_t now, int64_t window_s, struct reports_alert **out,
			size_t *n, char *err, size_t errlen)
{
	size_t folded = 0;
	int rc = reports_alert_conds_capped(db, now, window_s, REPORTS_MAX_ALERTS, out, n, &folded,
					    err, errlen);
	if (rc == 0)
		__atomic_store_n(&last_folded, folded, __ATOMIC_RELAXED);
	return rc;
}
