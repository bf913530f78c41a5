/* Pin-failure reports: limits, storage with inventory join, clustering,
 * classification, quota, and the alert conditions of new clusters. */
#include "signals/reports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/reports.h"
#include "base/strbuf.h"
#include "base/util.h"

/* ---- Limits ---- */

#define PROBE_SLOTS 8
#define SOURCE_LEN  64

struct bucket {
	char key[SOURCE_LEN];
	double tokens;
	time_t last;
	bool used;
};

struct reports_limits {
	pthread_mutex_t lock;
	size_t max_body;
	double rate, burst;
	int64_t max_reports;
	struct bucket *slots;
	size_t nslots;
	struct reports_stats stats;
};

struct reports_limits *reports_limits_new(size_t max_body, double rate, double burst,
					  size_t max_sources, int64_t max_reports)
{
	if (max_body == 0 || max_body > REPORTS_MAX_BODY_HARD || !(rate > 0) || !(burst >= 1) ||
	    max_sources < PROBE_SLOTS || max_sources > (1u << 20) || max_reports < 1)
		return NULL;
	struct reports_limits *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->slots = calloc(max_sources, sizeof(*l->slots));
	if (!l->slots || pthread_mutex_init(&l->lock, NULL) != 0) {
		free(l->slots);
		free(l);
		return NULL;
	}
	l->nslots = max_sources;
	l->max_body = max_body;
	l->rate = rate;
	l->burst = burst;
	l->max_reports = max_reports;
	return l;
}

void reports_limits_free(struct reports_limits *lim)
{
	if (!lim)
		return;
	pthread_mutex_destroy(&lim->lock);
	free(lim->slots);
	free(lim);
}

void reports_limits_stats(struct reports_limits *lim, struct reports_stats *out)
{
	pthread_mutex_lock(&lim->lock);
	*out = lim->stats;
	pthread_mutex_unlock(&lim->lock);
}

/* IPv6 clients own whole /64s: key them by prefix so that rotating the
 * interface identifier does not yield a fresh bucket per request. */
static void source_key(const char *source, char key[SOURCE_LEN])
{
	reports_source_group(source, key, SOURCE_LEN);
}

void reports_source_group(const char *source, char *out, size_t outlen)
{
	struct in6_addr a6;
	char buf[INET6_ADDRSTRLEN];
	if (source && strchr(source, ':') && inet_pton(AF_INET6, source, &a6) == 1) {
		/* an IPv4 client of a dual-stack socket is that IPv4 address */
		if (IN6_IS_ADDR_V4MAPPED(&a6) &&
		    inet_ntop(AF_INET, a6.s6_addr + 12, buf, sizeof(buf))) {
			snprintf(out, outlen, "%s", buf);
			return;
		}
		memset(a6.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &a6, buf, sizeof(buf))) {
			snprintf(out, outlen, "%s/64", buf);
			return;
		}
	}
	snprintf(out, outlen, "%s", source && *source ? source : "unknown");
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int take_locked(struct reports_limits *l, const char *source, time_t now)
{
	char key[SOURCE_LEN];
	source_key(source, key);
	size_t start = (size_t)(fnv1a(key) % l->nslots);
	struct bucket *b = NULL, *victim = NULL;
	for (size_t i = 0; i < PROBE_SLOTS; i++) {
		struct bucket *s = &l->slots[(start + i) % l->nslots];
		if (s->used && strcmp(s->key, key) == 0) {
			b = s;
			break;
		}
		if (!victim || (!s->used && victim->used) ||
		    (s->used == victim->used && s->last < victim->last))
			victim = s;
	}
	if (!b) {
		/* Unknown source: take a free slot of the probe window, else the
		 * least recently seen one (table size stays bounded). */
		b = victim;
		snprintf(b->key, sizeof(b->key), "%s", key);
		b->tokens = l->burst;
		b->last = now;
		b->used = true;
	}
	if (now > b->last) {
		b->tokens += (double)(now - b->last) * l->rate;
		if (b->tokens > l->burst)
			b->tokens = l->burst;
		b->last = now;
	}
	if (b->tokens < 1.0) {
		l->stats.rate_limited++;
		return 0;
	}
	b->tokens -= 1.0;
	return 1;
}

int reports_limits_take(struct reports_limits *lim, const char *source, time_t now)
{
	pthread_mutex_lock(&lim->lock);
	int ok = take_locked(lim, source, now);
	pthread_mutex_unlock(&lim->lock);
	return ok;
}

static void count(struct reports_limits *lim, uint64_t *field)
{
	pthread_mutex_lock(&lim->lock);
	(*field)++;
	pthread_mutex_unlock(&lim->lock);
}

/* ---- Store ---- */

static const struct report_cert *seen_leaf(const struct report *r)
{
	if (r->nserved)
		return &r->served[0];
	return r->nvalidated ? &r->validated[0] : NULL;
}

#define CLASSIFY_WINDOW (7 * 86400)

static int classify(struct db *db, const struct report *r, int64_t endpoint_id, time_t now,
		    enum report_class *out, char *err, size_t errlen)
{
	if (!endpoint_id) {
		*out = REPORT_UNKNOWN_HOST;
		return 0;
	}
	/* The device clock may be wrong; trust it only when it is not in the future. */
	time_t t = r->date_time > 0 && r->date_time <= now ? r->date_time : now;
	const struct report_cert *leaf = seen_leaf(r);
	bool any, match;
	int rc = reports_db_observed(db, endpoint_id, (int64_t)t - CLASSIFY_WINDOW,
				     (int64_t)t + 86400, leaf ? leaf->sha256 : NULL,
				     leaf ? leaf->spki : NULL, &any, &match, err, errlen);
	if (rc)
		return rc;
	*out = match ? REPORT_MATCHES_SERVER : any ? REPORT_DIFFERS : REPORT_UNOBSERVED;
	return 0;
}

static char *chain_json(const struct report_cert *c, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		char hex[65], b64[45];
		json_array_append_new(a, json_pack("{s:s,s:s}", "sha256",
						   util_hex(c[i].sha256, 32, hex), "spki",
						   util_pin_b64(c[i].spki, b64)));
	}
	char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return s;
}

static char *pins_json(const struct report *r)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < r->nknown; i++) {
		char b64[45];
		json_array_append_new(a, json_string(util_pin_b64(r->known_pins[i], b64)));
	}
	char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return s;
}

static void cluster_key(const struct report *r, uint8_t out[32])
{
	uint8_t fp[32];
	char buf[1024];
	char hex[65];
	reports_chain_fingerprint(r, fp);
	/* NUL-separated so that no field can shift into another. */
	int n = snprintf(buf, sizeof(buf), "%s%c%s%c%s%c%d%c%s", r->bundle_id ? r->bundle_id : "",
			 0, r->app_version ? r->app_version : "", 0, r->hostname, 0, r->port, 0,
			 util_hex(fp, 32, hex));
	if (n < 0 || (size_t)n >= sizeof(buf) || util_sha256(buf, (size_t)n, out))
		memset(out, 0, 32);
}

/* Count @r into its cluster (created when new; clusters are keyed by
 * attacker-chosen data, any chain makes a new one: a new cluster keeps
 * their number and their day counts bounded). */
static int count_cluster(struct db *db, const struct report *r, const struct reports_db_join *j,
			 enum report_class cls, time_t now, struct reports_stored *out, char *err,
			 size_t errlen)
{
	const struct report_cert *leaf = seen_leaf(r);
	struct reports_db_cluster c = {
		.join = *j,
		.bundle_id = r->bundle_id,
		.app_version = r->app_version,
		.hostname = r->hostname,
		.port = r->port,
		.chain_length = (int)(r->nserved ? r->nserved : r->nvalidated),
		.leaf_sha256 = leaf ? leaf->sha256 : NULL,
		.leaf_spki = leaf ? leaf->spki : NULL,
		.leaf_subject = leaf ? leaf->subject : NULL,
		.leaf_issuer = leaf ? leaf->issuer : NULL,
		.classification = reports_class_name(cls),
	};
	char day[16], oldest[16];
	cluster_key(r, c.key);
	reports_chain_fingerprint(r, c.chain_sha256);
	int rc = reports_db_cluster_count(db, &c, now, util_fmt_date(now, day, sizeof(day)),
					  &out->cluster_id, &out->new_cluster, err, errlen);
	if (rc || !out->new_cluster)
		return rc;
	return reports_db_bound_clusters(
		db, out->cluster_id, REPORTS_MAX_CLUSTERS,
		util_fmt_date(now - (time_t)REPORTS_DAYS_KEPT * 86400, oldest, sizeof(oldest)),
		&out->clusters_evicted, err, errlen);
}

static int insert_report(struct db *db, const struct report *r, const char *source, time_t now,
			 const struct reports_db_join *j, enum report_class cls,
			 struct reports_stored *out, char *err, size_t errlen)
{
	char group[SOURCE_LEN];
	char *served = chain_json(r->served, r->nserved);
	char *validated = chain_json(r->validated, r->nvalidated);
	char *pins = pins_json(r);
	struct reports_db_report row = {
		.received_at = now,
		.source = source,
		.source_group = group,
		.format = reports_format_name(r->format),
		.bundle_id = r->bundle_id,
		.app_version = r->app_version,
		.platform = r->platform,
		.platform_version = r->platform_version,
		.trustkit_version = r->trustkit_version,
		.hostname = r->hostname,
		.noted_hostname = r->noted_hostname,
		.port = r->port,
		.include_subdomains = r->include_subdomains,
		.enforce = r->enforce,
		.validation_result = r->validation_result,
		.date_time = r->date_time,
		.expiration = r->expiration[0] ? r->expiration : NULL,
		.served_chain = served,
		.validated_chain = validated,
		.known_pins = pins,
		.join = *j,
		.cluster_id = out->cluster_id,
		.classification = reports_class_name(cls),
	};
	int rc;
	reports_source_group(source, group, sizeof(group));
	if (!served || !validated || !pins)
		rc = util_err(err, errlen, -ENOMEM, "out of memory");
	else
		rc = reports_db_insert(db, &row, &out->report_id, err, errlen);
	free(served);
	free(validated);
	free(pins);
	return rc;
}

int reports_store(struct db *db, const struct report *r, const char *source, time_t now,
		  int64_t max_reports, struct reports_stored *out, char *err, size_t errlen)
{
	struct reports_db_join j;
	enum report_class cls = REPORT_UNOBSERVED;
	int rc;

	memset(out, 0, sizeof(*out));
	if (max_reports < 1)
		return util_err(err, errlen, -EINVAL, "report quota must be at least 1");
	if ((rc = db_begin(db)))
		return util_err(err, errlen, rc, "starting a transaction: %s", db_errmsg(db));
	if ((rc = reports_db_join(db, r->bundle_id, r->platform, r->app_version, r->hostname,
				  r->port ? r->port : 443, &j, err, errlen)))
		goto fail;
	if ((rc = classify(db, r, j.endpoint_id, now, &cls, err, errlen)))
		goto fail;
	if ((rc = count_cluster(db, r, &j, cls, now, out, err, errlen)))
		goto fail;
	if ((rc = insert_report(db, r, source, now, &j, cls, out, err, errlen)))
		goto fail;
	if ((rc = reports_db_evict(db, max_reports, &out->evicted, err, errlen)))
		goto fail;
	if ((rc = db_commit(db))) {
		util_err(err, errlen, rc, "committing: %s", db_errmsg(db));
		goto fail;
	}
	out->classification = cls;
	return 0;
fail:
	db_rollback(db);
	out->new_cluster = false;
	return rc;
}

/* Shared by both ingest entry points: @root NULL means parse @body. */
static int ingest(struct db *db, const char *body, json_t *root, size_t len, const char *source_ip,
		  time_t now, struct reports_limits *lim, char *err, size_t errlen)
{
	struct report r;
	struct reports_stored st;
	char source[SOURCE_LEN];

	if (len > lim->max_body) {
		count(lim, &lim->stats.too_large);
		util_err(err, errlen, 0, "body: larger than %zu bytes", lim->max_body);
		return 413;
	}
	if (!reports_limits_take(lim, source_ip, now)) {
		util_err(err, errlen, 0, "too many reports from this source; retry later");
		return 429;
	}
	int prc = root ? reports_parse_value(root, &r, err, errlen)
		       : reports_parse(body, len, &r, err, errlen);
	if (prc) {
		count(lim, &lim->stats.bad);
		return 400;
	}
	snprintf(source, sizeof(source), "%s", source_ip && *source_ip ? source_ip : "unknown");
	int rc = reports_store(db, &r, source, now, lim->max_reports, &st, err, errlen);
	reports_clear(&r);
	if (rc) {
		count(lim, &lim->stats.failed);
		return rc < 0 ? rc : -EIO;
	}
	pthread_mutex_lock(&lim->lock);
	lim->stats.accepted++;
	lim->stats.evicted += (uint64_t)st.evicted;
	if (st.new_cluster)
		lim->stats.new_clusters++;
	pthread_mutex_unlock(&lim->lock);
	return 202;
}

int reports_ingest(struct db *db, const char *body, size_t len, const char *source_ip, time_t now,
		   struct reports_limits *lim, char *err, size_t errlen)
{
	return ingest(db, body, NULL, len, source_ip, now, lim, err, errlen);
}

int reports_ingest_value(struct db *db, json_t *root, size_t len, const char *source_ip, time_t now,
			 struct reports_limits *lim, char *err, size_t errlen)
{
	if (!root) {
		count(lim, &lim->stats.bad);
		util_err(err, errlen, 0, "body: expected a JSON object");
		return 400;
	}
	return ingest(db, NULL, root, len, source_ip, now, lim, err, errlen);
}

int reports_metrics_append(struct reports_limits *lim, char **buf, size_t *len)
{
	struct reports_stats st;
	reports_limits_stats(lim, &st);
	struct strbuf b;
	strbuf_init(&b, SIZE_MAX); /* the text so far has no cap either */
	strbuf_add(&b, *buf, *len);
	strbuf_addf(&b,
		    "# HELP pinwatch_reports_total Pin-failure reports received, by outcome.\n"
		    "# TYPE pinwatch_reports_total counter\n"
		    "pinwatch_reports_total{outcome=\"accepted\"} %llu\n"
		    "pinwatch_reports_total{outcome=\"bad\"} %llu\n"
		    "pinwatch_reports_total{outcome=\"too_large\"} %llu\n"
		    "pinwatch_reports_total{outcome=\"rate_limited\"} %llu\n"
		    "pinwatch_reports_total{outcome=\"failed\"} %llu\n"
		    "# HELP pinwatch_reports_evicted_total Stored reports removed by the quota.\n"
		    "# TYPE pinwatch_reports_evicted_total counter\n"
		    "pinwatch_reports_evicted_total %llu\n"
		    "# HELP pinwatch_report_clusters_created_total Report clusters created.\n"
		    "# TYPE pinwatch_report_clusters_created_total counter\n"
		    "pinwatch_report_clusters_created_total %llu\n",
		    (unsigned long long)st.accepted, (unsigned long long)st.bad,
		    (unsigned long long)st.too_large, (unsigned long long)st.rate_limited,
		    (unsigned long long)st.failed, (unsigned long long)st.evicted,
		    (unsigned long long)st.new_clusters);
	size_t n;
	char *out = strbuf_take(&b, &n);
	if (!out)
		return -ENOMEM;
	free(*buf);
	*buf = out;
	*len = n;
	return 0;
}
