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

static int sql_fail(struct db *db, char *err, size_t errlen, const char *what)
{
	return util_err(err, errlen, -EIO, "%s: %s", what, db_errmsg(db));
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static void bind_id_or_null(sqlite3_stmt *s, int i, int64_t v)
{
	if (v > 0)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

static void bind_tri(sqlite3_stmt *s, int i, int v)
{
	if (v >= 0)
		sqlite3_bind_int(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

/* Run a statement expected to return at most one integer row. */
static int step_id(sqlite3_stmt *s, int64_t *out)
{
	int rc = sqlite3_step(s);
	*out = 0;
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

static const char SQL_APP[] = "SELECT id FROM apps WHERE bundle_id = ?1 "
			      "ORDER BY (platform = lower(?2)) DESC, id LIMIT 1";
static const char SQL_VERSION[] = "SELECT id FROM versions WHERE app_id = ?1 AND version = ?2";
static const char SQL_ENDPOINT[] = "SELECT id FROM endpoints WHERE host = ?1 "
				   "ORDER BY (port = ?2) DESC, (port = 443) DESC, id LIMIT 1";
/* Leaf certificates of the chains observed for an endpoint around a time. */
static const char SQL_OBSERVED[] =
	"SELECT c.sha256, c.spki_sha256 FROM observations o "
	"JOIN chain_certs cc ON cc.chain_id = o.presented_chain_id AND cc.pos = 0 "
	"JOIN certificates c ON c.id = cc.cert_id "
	"WHERE o.endpoint_id = ?1 AND o.last_seen >= ?2 AND o.first_seen <= ?3";

struct join {
	int64_t app_id, version_id, endpoint_id;
};

static int join_inventory(struct db *db, const struct report *r, struct join *j, char *err,
			  size_t errlen)
{
	sqlite3_stmt *s;
	memset(j, 0, sizeof(*j));
	if (r->bundle_id) {
		if (!(s = db_stmt(db, SQL_APP)))
			return sql_fail(db, err, errlen, "looking up the app");
		sqlite3_bind_text(s, 1, r->bundle_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 2, r->platform ? r->platform : "", -1, SQLITE_TRANSIENT);
		if (step_id(s, &j->app_id))
			return sql_fail(db, err, errlen, "looking up the app");
	}
	if (j->app_id && r->app_version) {
		if (!(s = db_stmt(db, SQL_VERSION)))
			return sql_fail(db, err, errlen, "looking up the version");
		sqlite3_bind_int64(s, 1, j->app_id);
		sqlite3_bind_text(s, 2, r->app_version, -1, SQLITE_TRANSIENT);
		if (step_id(s, &j->version_id))
			return sql_fail(db, err, errlen, "looking up the version");
	}
	if (!(s = db_stmt(db, SQL_ENDPOINT)))
		return sql_fail(db, err, errlen, "looking up the endpoint");
	sqlite3_bind_text(s, 1, r->hostname, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 2, r->port ? r->port : 443);
	if (step_id(s, &j->endpoint_id))
		return sql_fail(db, err, errlen, "looking up the endpoint");
	return 0;
}

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
	sqlite3_stmt *s = db_stmt(db, SQL_OBSERVED);
	if (!s)
		return sql_fail(db, err, errlen, "reading observations");
	sqlite3_bind_int64(s, 1, endpoint_id);
	sqlite3_bind_int64(s, 2, (int64_t)t - CLASSIFY_WINDOW);
	sqlite3_bind_int64(s, 3, (int64_t)t + 86400);
	bool any = false, match = false;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		any = true;
		const void *sha = sqlite3_column_blob(s, 0);
		const void *spki = sqlite3_column_blob(s, 1);
		if (leaf && ((sha && sqlite3_column_bytes(s, 0) == 32 &&
			      memcmp(sha, leaf->sha256, 32) == 0) ||
			     (spki && sqlite3_column_bytes(s, 1) == 32 &&
			      memcmp(spki, leaf->spki, 32) == 0))) {
			match = true;
			break;
		}
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sql_fail(db, err, errlen, "reading observations");
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

static const char SQL_CLUSTER_GET[] = "SELECT id FROM report_clusters WHERE key = ?1";
static const char SQL_CLUSTER_NEW[] =
	"INSERT INTO report_clusters (key, app_id, version_id, endpoint_id, bundle_id, "
	"app_version, hostname, port, chain_sha256, chain_length, leaf_sha256, leaf_spki, "
	"leaf_subject, leaf_issuer, classification, first_seen, last_seen, report_count) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16, 1)";
static const char SQL_CLUSTER_UPD[] =
	"UPDATE report_clusters SET app_id = ?2, version_id = ?3, endpoint_id = ?4, "
	"classification = ?5, last_seen = max(last_seen, ?6), report_count = report_count + 1 "
	"WHERE id = ?1";
static const char SQL_DAY[] =
	"INSERT INTO report_cluster_days (cluster_id, day, count) VALUES (?1, ?2, 1) "
	"ON CONFLICT (cluster_id, day) DO UPDATE SET count = count + 1";
static const char SQL_REPORT[] =
	"INSERT INTO reports (received_at, source, format, bundle_id, app_version, platform, "
	"platform_version, trustkit_version, hostname, port, noted_hostname, include_subdomains, "
	"enforce, validation_result, date_time, expiration_date, served_chain, validated_chain, "
	"known_pins, app_id, version_id, endpoint_id, cluster_id, classification, source_group) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
	"?19, ?20, ?21, ?22, ?23, ?24, ?25)";
static const char SQL_COUNT[] = "SELECT count(*) FROM reports";
static const char SQL_CLUSTER_COUNT[] = "SELECT count(*) FROM report_clusters";
/* Over a quota, clusters and reports of unknown app versions go first (anyone
 * can make those up), then the least recently seen: a flood of forged
 * reports cannot evict a genuine cluster or the sources that corroborate it
 * while it has forged ones left to evict. Both orders have an index. */
static const char SQL_CLUSTER_EVICT[] =
	"DELETE FROM report_clusters WHERE id IN (SELECT id FROM report_clusters WHERE id != ?2 "
	"ORDER BY version_id IS NOT NULL, last_seen, id LIMIT ?1)";
static const char SQL_DAYS_PRUNE[] = "DELETE FROM report_cluster_days WHERE day < ?1";
static const char SQL_EVICT[] = "DELETE FROM reports WHERE id IN (SELECT id FROM reports ORDER BY "
				"version_id IS NOT NULL, received_at, id LIMIT ?1)";

/* Clusters are keyed by attacker-chosen data (any chain makes a new one):
 * keep their number and their day counts bounded. */
static int bound_clusters(struct db *db, struct reports_stored *out, time_t now, char *err,
			  size_t errlen)
{
	int64_t n;
	char day[16];
	sqlite3_stmt *s = db_stmt(db, SQL_CLUSTER_COUNT);
	if (!s || step_id(s, &n))
		return sql_fail(db, err, errlen, "counting clusters");
	if (n > REPORTS_MAX_CLUSTERS) {
		if (!(s = db_stmt(db, SQL_CLUSTER_EVICT)))
			return sql_fail(db, err, errlen, "evicting clusters");
		sqlite3_bind_int64(s, 1, n - REPORTS_MAX_CLUSTERS);
		sqlite3_bind_int64(s, 2, out->cluster_id);
		int rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return sql_fail(db, err, errlen, "evicting clusters");
		out->clusters_evicted = (int)(n - REPORTS_MAX_CLUSTERS);
	}
	if (!(s = db_stmt(db, SQL_DAYS_PRUNE)))
		return sql_fail(db, err, errlen, "pruning day counts");
	sqlite3_bind_text(s, 1,
			  util_fmt_date(now - (time_t)REPORTS_DAYS_KEPT * 86400, day, sizeof(day)),
			  -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return sql_fail(db, err, errlen, "pruning day counts");
	return 0;
}

static int upsert_cluster(struct db *db, const struct report *r, const struct join *j,
			  enum report_class cls, time_t now, struct reports_stored *out, char *err,
			  size_t errlen)
{
	uint8_t key[32], fp[32];
	cluster_key(r, key);
	reports_chain_fingerprint(r, fp);
	sqlite3_stmt *s = db_stmt(db, SQL_CLUSTER_GET);
	if (!s)
		return sql_fail(db, err, errlen, "reading clusters");
	sqlite3_bind_blob(s, 1, key, 32, SQLITE_TRANSIENT);
	if (step_id(s, &out->cluster_id))
		return sql_fail(db, err, errlen, "reading clusters");
	if (out->cluster_id) {
		if (!(s = db_stmt(db, SQL_CLUSTER_UPD)))
			return sql_fail(db, err, errlen, "updating the cluster");
		sqlite3_bind_int64(s, 1, out->cluster_id);
		bind_id_or_null(s, 2, j->app_id);
		bind_id_or_null(s, 3, j->version_id);
		bind_id_or_null(s, 4, j->endpoint_id);
		sqlite3_bind_text(s, 5, reports_class_name(cls), -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 6, now);
		int rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return sql_fail(db, err, errlen, "updating the cluster");
		return 0;
	}
	const struct report_cert *leaf = seen_leaf(r);
	if (!(s = db_stmt(db, SQL_CLUSTER_NEW)))
		return sql_fail(db, err, errlen, "creating the cluster");
	sqlite3_bind_blob(s, 1, key, 32, SQLITE_TRANSIENT);
	bind_id_or_null(s, 2, j->app_id);
	bind_id_or_null(s, 3, j->version_id);
	bind_id_or_null(s, 4, j->endpoint_id);
	bind_text_or_null(s, 5, r->bundle_id);
	bind_text_or_null(s, 6, r->app_version);
	sqlite3_bind_text(s, 7, r->hostname, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 8, r->port);
	sqlite3_bind_blob(s, 9, fp, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 10, (int)(r->nserved ? r->nserved : r->nvalidated));
	if (leaf) {
		sqlite3_bind_blob(s, 11, leaf->sha256, 32, SQLITE_TRANSIENT);
		sqlite3_bind_blob(s, 12, leaf->spki, 32, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 13, leaf->subject, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 14, leaf->issuer, -1, SQLITE_TRANSIENT);
	}
	sqlite3_bind_text(s, 15, reports_class_name(cls), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 16, now);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return sql_fail(db, err, errlen, "creating the cluster");
	out->cluster_id = sqlite3_last_insert_rowid(db_handle(db));
	out->new_cluster = true;
	return bound_clusters(db, out, now, err, errlen);
}

static int insert_report(struct db *db, const struct report *r, const char *source, time_t now,
			 const struct join *j, enum report_class cls, struct reports_stored *out,
			 char *err, size_t errlen)
{
	char *served = chain_json(r->served, r->nserved);
	char *validated = chain_json(r->validated, r->nvalidated);
	char *pins = pins_json(r);
	int rc = -ENOMEM;
	if (!served || !validated || !pins) {
		util_err(err, errlen, rc, "out of memory");
		goto out;
	}
	sqlite3_stmt *s = db_stmt(db, SQL_REPORT);
	if (!s) {
		rc = sql_fail(db, err, errlen, "storing the report");
		goto out;
	}
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, source, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, reports_format_name(r->format), -1, SQLITE_STATIC);
	bind_text_or_null(s, 4, r->bundle_id);
	bind_text_or_null(s, 5, r->app_version);
	bind_text_or_null(s, 6, r->platform);
	bind_text_or_null(s, 7, r->platform_version);
	bind_text_or_null(s, 8, r->trustkit_version);
	sqlite3_bind_text(s, 9, r->hostname, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 10, r->port);
	bind_text_or_null(s, 11, r->noted_hostname);
	bind_tri(s, 12, r->include_subdomains);
	bind_tri(s, 13, r->enforce);
	bind_tri(s, 14, r->validation_result);
	if (r->date_time)
		sqlite3_bind_int64(s, 15, r->date_time);
	bind_text_or_null(s, 16, r->expiration[0] ? r->expiration : NULL);
	sqlite3_bind_text(s, 17, served, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 18, validated, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 19, pins, -1, SQLITE_TRANSIENT);
	bind_id_or_null(s, 20, j->app_id);
	bind_id_or_null(s, 21, j->version_id);
	bind_id_or_null(s, 22, j->endpoint_id);
	sqlite3_bind_int64(s, 23, out->cluster_id);
	sqlite3_bind_text(s, 24, reports_class_name(cls), -1, SQLITE_STATIC);
	char group[SOURCE_LEN];
	reports_source_group(source, group, sizeof(group));
	sqlite3_bind_text(s, 25, group, -1, SQLITE_TRANSIENT);
	int src = sqlite3_step(s);
	sqlite3_reset(s);
	if (src != SQLITE_DONE) {
		rc = sql_fail(db, err, errlen, "storing the report");
		goto out;
	}
	out->report_id = sqlite3_last_insert_rowid(db_handle(db));
	rc = 0;
out:
	free(served);
	free(validated);
	free(pins);
	return rc;
}

static int evict(struct db *db, int64_t max_reports, int *evicted, char *err, size_t errlen)
{
	int64_t n;
	sqlite3_stmt *s = db_stmt(db, SQL_COUNT);
	if (!s || step_id(s, &n))
		return sql_fail(db, err, errlen, "counting reports");
	*evicted = 0;
	if (n <= max_reports)
		return 0;
	if (!(s = db_stmt(db, SQL_EVICT)))
		return sql_fail(db, err, errlen, "evicting reports");
	sqlite3_bind_int64(s, 1, n - max_reports);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return sql_fail(db, err, errlen, "evicting reports");
	*evicted = sqlite3_changes(db_handle(db));
	return 0;
}

int reports_store(struct db *db, const struct report *r, const char *source, time_t now,
		  int64_t max_reports, struct reports_stored *out, char *err, size_t errlen)
{
	struct join j;
	enum report_class cls = REPORT_UNOBSERVED;
	char day[16];
	int rc;

	memset(out, 0, sizeof(*out));
	if (max_reports < 1)
		return util_err(err, errlen, -EINVAL, "report quota must be at least 1");
	if ((rc = db_begin(db)))
		return util_err(err, errlen, rc, "starting a transaction: %s", db_errmsg(db));
	if ((rc = join_inventory(db, r, &j, err, errlen)) ||
	    (rc = classify(db, r, j.endpoint_id, now, &cls, err, errlen)) ||
	    (rc = upsert_cluster(db, r, &j, cls, now, out, err, errlen)))
		goto fail;
	sqlite3_stmt *s = db_stmt(db, SQL_DAY);
	if (!s) {
		rc = sql_fail(db, err, errlen, "counting the day");
		goto fail;
	}
	sqlite3_bind_int64(s, 1, out->cluster_id);
	sqlite3_bind_text(s, 2, util_fmt_date(now, day, sizeof(day)), -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		rc = sql_fail(db, err, errlen, "counting the day");
		goto fail;
	}
	if ((rc = insert_report(db, r, source, now, &j, cls, out, err, errlen)) ||
	    (rc = evict(db, max_reports, &out->evicted, err, errlen)))
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
		return 500;
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
	char add[1024];
	reports_limits_stats(lim, &st);
	int n = snprintf(
		add, sizeof(add),
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
	if (n < 0 || (size_t)n >= sizeof(add))
		return -ENOSPC;
	char *nb = realloc(*buf, *len + (size_t)n + 1);
	if (!nb)
		return -ENOMEM;
	memcpy(nb + *len, add, (size_t)n + 1);
	*buf = nb;
	*len += (size_t)n;
	return 0;
}
