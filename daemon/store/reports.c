/* The pin-failure report tables: inventory join, observed leaves, clusters
 * and their day counts, reports and the quotas. See store/reports.h. */
#include "store/reports.h"

#include <errno.h>
#include <string.h>

#include "store/db.h"
#include "base/util.h"

static void bind_id_or_null(struct db_binder *b, int64_t v)
{
	if (v > 0)
		db_bind_int64(b, v);
	else
		db_bind_null(b);
}

static void bind_tri(struct db_binder *b, int v)
{
	if (v >= 0)
		db_bind_int64(b, v);
	else
		db_bind_null(b);
}

static void bind_join(struct db_binder *b, const struct reports_db_join *j)
{
	bind_id_or_null(b, j->app_id);
	bind_id_or_null(b, j->version_id);
	bind_id_or_null(b, j->endpoint_id);
}

static const char SQL_APP[] = "SELECT id FROM apps WHERE bundle_id = ?1 "
			      "ORDER BY (platform = lower(?2)) DESC, id LIMIT 1";
static const char SQL_VERSION[] = "SELECT id FROM versions WHERE app_id = ?1 AND version = ?2";
static const char SQL_ENDPOINT[] = "SELECT id FROM endpoints WHERE host = ?1 "
				   "ORDER BY (port = ?2) DESC, (port = 443) DESC, id LIMIT 1";

int reports_db_join(struct db *db, const char *bundle_id, const char *platform,
		    const char *app_version, const char *host, int port,
		    struct reports_db_join *out, char *err, size_t errlen)
{
	struct db_binder b;
	int rc;
	memset(out, 0, sizeof(*out));
	if (bundle_id) {
		b = db_binder(db_stmt(db, SQL_APP));
		db_bind_text(&b, bundle_id);
		db_bind_text(&b, platform ? platform : "");
		if ((rc = db_run_int(db, &b, &out->app_id, NULL, "looking up the app", err,
				     errlen)))
			return rc;
	}
	if (out->app_id && app_version) {
		b = db_binder(db_stmt(db, SQL_VERSION));
		db_bind_int64(&b, out->app_id);
		db_bind_text(&b, app_version);
		if ((rc = db_run_int(db, &b, &out->version_id, NULL, "looking up the version", err,
				     errlen)))
			return rc;
	}
	b = db_binder(db_stmt(db, SQL_ENDPOINT));
	db_bind_text(&b, host);
	db_bind_int64(&b, port);
	return db_run_int(db, &b, &out->endpoint_id, NULL, "looking up the endpoint", err, errlen);
}

/* Leaf certificates of the chains observed for an endpoint around a time. */
static const char SQL_OBSERVED[] =
	"SELECT c.sha256, c.spki_sha256 FROM observations o "
	"JOIN chain_certs cc ON cc.chain_id = o.presented_chain_id AND cc.pos = 0 "
	"JOIN certificates c ON c.id = cc.cert_id "
	"WHERE o.endpoint_id = ?1 AND o.last_seen >= ?2 AND o.first_seen <= ?3";

static bool col_is(sqlite3_stmt *s, int col, const uint8_t *want)
{
	const void *have = sqlite3_column_blob(s, col);
	return want && have && sqlite3_column_bytes(s, col) == 32 && memcmp(have, want, 32) == 0;
}

int reports_db_observed(struct db *db, int64_t endpoint_id, int64_t from, int64_t to,
			const uint8_t *leaf_sha, const uint8_t *leaf_spki, bool *any, bool *match,
			char *err, size_t errlen)
{
	static const char what[] = "reading observations";
	struct db_binder b = db_binder(db_stmt(db, SQL_OBSERVED));
	*any = *match = false;
	db_bind_int64(&b, endpoint_id);
	db_bind_int64(&b, from);
	db_bind_int64(&b, to);
	if (db_bound(&b) != SQLITE_OK)
		return db_run(db, &b, what, err, errlen);
	int src;
	while ((src = sqlite3_step(b.st)) == SQLITE_ROW) {
		*any = true;
		if (col_is(b.st, 0, leaf_sha) || col_is(b.st, 1, leaf_spki)) {
			*match = true;
			break;
		}
	}
	int rc = 0;
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = db_stmt_fail(db, src, what, err, errlen);
	sqlite3_reset(b.st);
	return rc;
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

static int cluster_new(struct db *db, const struct reports_db_cluster *c, time_t now, int64_t *id,
		       char *err, size_t errlen)
{
	struct db_binder b = db_binder(db_stmt(db, SQL_CLUSTER_NEW));
	db_bind_blob(&b, c->key, 32);
	bind_join(&b, &c->join);
	db_bind_text(&b, c->bundle_id);
	db_bind_text(&b, c->app_version);
	db_bind_text(&b, c->hostname);
	db_bind_int64(&b, c->port);
	db_bind_blob(&b, c->chain_sha256, 32);
	db_bind_int64(&b, c->chain_length);
	if (c->leaf_sha256) {
		db_bind_blob(&b, c->leaf_sha256, 32);
		db_bind_blob(&b, c->leaf_spki, 32);
	} else {
		db_bind_null(&b);
		db_bind_null(&b);
	}
	db_bind_text(&b, c->leaf_subject);
	db_bind_text(&b, c->leaf_issuer);
	db_bind_text(&b, c->classification);
	db_bind_int64(&b, now);
	int rc = db_run(db, &b, "creating the cluster", err, errlen);
	if (!rc)
		*id = sqlite3_last_insert_rowid(db_handle(db));
	return rc;
}

int reports_db_cluster_count(struct db *db, const struct reports_db_cluster *c, time_t now,
			     const char *day, int64_t *id, bool *created, char *err, size_t errlen)
{
	struct db_binder b = db_binder(db_stmt(db, SQL_CLUSTER_GET));
	int rc;
	*created = false;
	db_bind_blob(&b, c->key, 32);
	if ((rc = db_run_int(db, &b, id, NULL, "reading clusters", err, errlen)))
		return rc;
	if (*id) {
		b = db_binder(db_stmt(db, SQL_CLUSTER_UPD));
		db_bind_int64(&b, *id);
		bind_join(&b, &c->join);
		db_bind_text(&b, c->classification);
		db_bind_int64(&b, now);
		rc = db_run(db, &b, "updating the cluster", err, errlen);
	} else {
		rc = cluster_new(db, c, now, id, err, errlen);
		*created = rc == 0;
	}
	if (rc)
		return rc;
	b = db_binder(db_stmt(db, SQL_DAY));
	db_bind_int64(&b, *id);
	db_bind_text(&b, day);
	return db_run(db, &b, "counting the day", err, errlen);
}

static const char SQL_CLUSTER_COUNT[] = "SELECT count(*) FROM report_clusters";
/* Over a quota, clusters and reports of unknown app versions go first (anyone
 * can make those up), then the least recently seen: a flood of forged
 * reports cannot evict a genuine cluster or the sources that corroborate it
 * while it has forged ones left to evict. Both orders have an index. */
static const char SQL_CLUSTER_EVICT[] =
	"DELETE FROM report_clusters WHERE id IN (SELECT id FROM report_clusters WHERE id != ?2 "
	"ORDER BY version_id IS NOT NULL, last_seen, id LIMIT ?1)";
static const char SQL_DAYS_PRUNE[] = "DELETE FROM report_cluster_days WHERE day < ?1";

int reports_db_bound_clusters(struct db *db, int64_t keep, int64_t max, const char *oldest_day,
			      int *evicted, char *err, size_t errlen)
{
	struct db_binder b = db_binder(db_stmt(db, SQL_CLUSTER_COUNT));
	int64_t n;
	int rc;
	*evicted = 0;
	if ((rc = db_run_int(db, &b, &n, NULL, "counting clusters", err, errlen)))
		return rc;
	if (n > max) {
		b = db_binder(db_stmt(db, SQL_CLUSTER_EVICT));
		db_bind_int64(&b, n - max);
		db_bind_int64(&b, keep);
		if ((rc = db_run(db, &b, "evicting clusters", err, errlen)))
			return rc;
		*evicted = (int)(n - max);
	}
	b = db_binder(db_stmt(db, SQL_DAYS_PRUNE));
	db_bind_text(&b, oldest_day);
	return db_run(db, &b, "pruning day counts", err, errlen);
}

static const char SQL_REPORT[] =
	"INSERT INTO reports (received_at, source, format, bundle_id, app_version, platform, "
	"platform_version, trustkit_version, hostname, port, noted_hostname, include_subdomains, "
	"enforce, validation_result, date_time, expiration_date, served_chain, validated_chain, "
	"known_pins, app_id, version_id, endpoint_id, cluster_id, classification, source_group) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
	"?19, ?20, ?21, ?22, ?23, ?24, ?25)";

int reports_db_insert(struct db *db, const struct reports_db_report *r, int64_t *id, char *err,
		      size_t errlen)
{
	struct db_binder b = db_binder(db_stmt(db, SQL_REPORT));
	db_bind_int64(&b, r->received_at);
	db_bind_text(&b, r->source);
	db_bind_text(&b, r->format);
	db_bind_text(&b, r->bundle_id);
	db_bind_text(&b, r->app_version);
	db_bind_text(&b, r->platform);
	db_bind_text(&b, r->platform_version);
	db_bind_text(&b, r->trustkit_version);
	db_bind_text(&b, r->hostname);
	db_bind_int64(&b, r->port);
	db_bind_text(&b, r->noted_hostname);
	bind_tri(&b, r->include_subdomains);
	bind_tri(&b, r->enforce);
	bind_tri(&b, r->validation_result);
	if (r->date_time)
		db_bind_int64(&b, r->date_time);
	else
		db_bind_null(&b);
	db_bind_text(&b, r->expiration);
	db_bind_text(&b, r->served_chain);
	db_bind_text(&b, r->validated_chain);
	db_bind_text(&b, r->known_pins);
	bind_join(&b, &r->join);
	db_bind_int64(&b, r->cluster_id);
	db_bind_text(&b, r->classification);
	db_bind_text(&b, r->source_group);
	int rc = db_run(db, &b, "storing the report", err, errlen);
	*id = rc ? 0 : sqlite3_last_insert_rowid(db_handle(db));
	return rc;
}

static const char SQL_COUNT[] = "SELECT count(*) FROM reports";
static const char SQL_EVICT[] = "DELETE FROM reports WHERE id IN (SELECT id FROM reports ORDER BY "
				"version_id IS NOT NULL, received_at, id LIMIT ?1)";

int reports_db_evict(struct db *db, int64_t max, int *evicted, char *err, size_t errlen)
{
	struct db_binder b = db_binder(db_stmt(db, SQL_COUNT));
	int64_t n;
	int rc;
	*evicted = 0;
	if ((rc = db_run_int(db, &b, &n, NULL, "counting reports", err, errlen)))
		return rc;
	if (n <= max)
		return 0;
	b = db_binder(db_stmt(db, SQL_EVICT));
	db_bind_int64(&b, n - max);
	if ((rc = db_run(db, &b, "evicting reports", err, errlen)))
		return rc;
	*evicted = sqlite3_changes(db_handle(db));
	return 0;
}

/* ---- listing ---- */

static const char SQL_CLUSTERS[] =
	"SELECT k.id, k.classification, a.name, k.bundle_id, k.app_version, k.hostname, k.port, "
	"k.report_count, k.first_seen, k.last_seen, k.leaf_sha256, k.leaf_spki, k.leaf_subject, "
	"k.leaf_issuer, k.endpoint_id, k.app_id, k.version_id "
	"FROM report_clusters k LEFT JOIN apps a ON a.id = k.app_id "
	"ORDER BY k.last_seen DESC, k.id DESC LIMIT ?1";
static const char SQL_DAYS[] =
	"SELECT day, count FROM report_cluster_days WHERE cluster_id = ?1 AND day >= ?2 "
	"ORDER BY day";

static json_t *text_or_null(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	return t ? json_string((const char *)t) : json_null();
}

static json_t *id_or_null(sqlite3_stmt *s, int col)
{
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return json_null();
	return json_integer(sqlite3_column_int64(s, col));
}

static json_t *hex_or_null(sqlite3_stmt *s, int col)
{
	char hex[65];
	if (sqlite3_column_bytes(s, col) != 32)
		return json_null();
	return json_string(util_hex(sqlite3_column_blob(s, col), 32, hex));
}

static json_t *pin_or_null(sqlite3_stmt *s, int col)
{
	char b64[45];
	if (sqlite3_column_bytes(s, col) != 32)
		return json_null();
	return json_string(util_pin_b64(sqlite3_column_blob(s, col), b64));
}

static int nomem(char *err, size_t errlen)
{
	return util_err(err, errlen, -ENOMEM, "reading clusters: out of memory");
}

/* The day counts of @cluster from @since on into a new array *out. */
static int days_json(struct db *db, int64_t cluster, const char *since, json_t **out, char *err,
		     size_t errlen)
{
	struct db_binder b = db_binder(db_stmt(db, SQL_DAYS));
	db_bind_int64(&b, cluster);
	db_bind_text(&b, since);
	if (db_bound(&b) != SQLITE_OK)
		return db_run(db, &b, "reading clusters", err, errlen);
	json_t *a = json_array();
	int src = SQLITE_DONE, rc = 0;
	while (!rc && a && (src = sqlite3_step(b.st)) == SQLITE_ROW) {
		json_t *d =
			json_pack("{s:s,s:I}", "day", (const char *)sqlite3_column_text(b.st, 0),
				  "count", (json_int_t)sqlite3_column_int64(b.st, 1));
		if (!d || json_array_append_new(a, d))
			rc = nomem(err, errlen);
	}
	if (!a)
		rc = nomem(err, errlen);
	else if (!rc && src != SQLITE_DONE)
		rc = db_stmt_fail(db, src, "reading clusters", err, errlen);
	sqlite3_reset(b.st);
	if (rc) {
		json_decref(a);
		return rc;
	}
	*out = a;
	return 0;
}

static json_t *cluster_json(sqlite3_stmt *s, json_t *days)
{
	return json_pack("{s:I,s:s,s:o,s:o,s:o,s:s,s:i,s:I,s:I,s:I,s:{s:o,s:o,s:o,s:o},s:o,s:o,s:o,"
			 "s:o}",
			 "id", (json_int_t)sqlite3_column_int64(s, 0), "classification",
			 (const char *)sqlite3_column_text(s, 1), "app", text_or_null(s, 2),
			 "bundle_id", text_or_null(s, 3), "app_version", text_or_null(s, 4), "host",
			 (const char *)sqlite3_column_text(s, 5), "port", sqlite3_column_int(s, 6),
			 "report_count", (json_int_t)sqlite3_column_int64(s, 7), "first_seen",
			 (json_int_t)sqlite3_column_int64(s, 8), "last_seen",
			 (json_int_t)sqlite3_column_int64(s, 9), "leaf", "sha256",
			 hex_or_null(s, 10), "spki", pin_or_null(s, 11), "subject",
			 text_or_null(s, 12), "issuer", text_or_null(s, 13), "endpoint_id",
			 id_or_null(s, 14), "app_id", id_or_null(s, 15), "version_id",
			 id_or_null(s, 16), "days", days);
}

int reports_db_clusters_json(struct db *db, int64_t limit, const char *since_day, json_t **out,
			     char *err, size_t errlen)
{
	/* days_json() steps another cached statement while this one is
	 * stepping; the two are distinct statements, so this is safe. */
	struct db_binder b = db_binder(db_stmt(db, SQL_CLUSTERS));
	*out = NULL;
	db_bind_int64(&b, limit);
	if (db_bound(&b) != SQLITE_OK)
		return db_run(db, &b, "reading clusters", err, errlen);
	json_t *arr = json_array();
	int rc = arr ? 0 : nomem(err, errlen), src = SQLITE_DONE;
	while (!rc && (src = sqlite3_step(b.st)) == SQLITE_ROW) {
		json_t *d = NULL;
		if ((rc = days_json(db, sqlite3_column_int64(b.st, 0), since_day, &d, err, errlen)))
			break;
		json_t *o = cluster_json(b.st, d);
		if (!o || json_array_append_new(arr, o))
			rc = nomem(err, errlen);
	}
	if (!rc && src != SQLITE_DONE)
		rc = db_stmt_fail(db, src, "reading clusters", err, errlen);
	sqlite3_reset(b.st);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

/* Every active cluster, grouped by host and port (aggregates are built from
 * consecutive rows). Sources count as source groups (IPv6 /64). The number of
 * rows is bounded by the cluster cap. */
static const char SQL_ACTIVE[] =
	"SELECT k.id, k.key, k.classification, coalesce(a.name, k.bundle_id), k.app_version, "
	"k.hostname, k.port, k.report_count, k.first_seen, k.last_seen, k.endpoint_id, k.app_id, "
	"k.leaf_issuer, (SELECT count(DISTINCT coalesce(r.source_group, r.source)) FROM reports r "
	"WHERE r.cluster_id = k.id), k.version_id, a.name IS NOT NULL "
	"FROM report_clusters k LEFT JOIN apps a ON a.id = k.app_id "
	"WHERE k.last_seen >= ?1 ORDER BY k.hostname, k.port, k.id";

static void active_row(sqlite3_stmt *s, struct reports_db_active *r)
{
	r->id = sqlite3_column_int64(s, 0);
	r->key = sqlite3_column_bytes(s, 1) == 32 ? sqlite3_column_blob(s, 1) : NULL;
	r->classification = (const char *)sqlite3_column_text(s, 2);
	r->app = (const char *)sqlite3_column_text(s, 3);
	r->app_version = (const char *)sqlite3_column_text(s, 4);
	r->hostname = (const char *)sqlite3_column_text(s, 5);
	r->port = sqlite3_column_int(s, 6);
	r->report_count = sqlite3_column_int64(s, 7);
	r->first_seen = sqlite3_column_int64(s, 8);
	r->last_seen = sqlite3_column_int64(s, 9);
	r->endpoint_id = sqlite3_column_int64(s, 10);
	r->app_id = sqlite3_column_int64(s, 11);
	r->leaf_issuer = (const char *)sqlite3_column_text(s, 12);
	r->sources = sqlite3_column_int64(s, 13);
	r->known_version = sqlite3_column_type(s, 14) != SQLITE_NULL;
	r->app_known = sqlite3_column_int(s, 15) != 0;
}

int reports_db_active(struct db *db, time_t since,
		      int (*fn)(void *ctx, const struct reports_db_active *row), void *ctx,
		      char *err, size_t errlen)
{
	struct db_binder b = db_binder(db_stmt(db, SQL_ACTIVE));
	db_bind_int64(&b, since);
	if (db_bound(&b) != SQLITE_OK)
		return db_run(db, &b, "reading clusters", err, errlen);
	int rc = 0, src;
	while ((src = sqlite3_step(b.st)) == SQLITE_ROW) {
		struct reports_db_active row;
		active_row(b.st, &row);
		if ((rc = fn(ctx, &row)))
			break;
	}
	if (rc == -ENOMEM)
		nomem(err, errlen);
	else if (rc)
		util_err(err, errlen, rc, "reading clusters: a malformed row");
	else if (src != SQLITE_DONE)
		rc = db_stmt_fail(db, src, "reading clusters", err, errlen);
	sqlite3_reset(b.st);
	return rc;
}
