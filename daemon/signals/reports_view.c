/* Pin-failure reports: cluster listing for the API/dashboard, and the alert
 * conditions that make a new cluster fire pin_failures_reported. */
#include "signals/reports.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "base/util.h"

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

static int days_json(struct db *db, int64_t cluster, const char *since, json_t **out)
{
	sqlite3_stmt *s = db_stmt(db, SQL_DAYS);
	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, cluster);
	sqlite3_bind_text(s, 2, since, -1, SQLITE_TRANSIENT);
	json_t *a = json_array();
	int rc;
	while (a && (rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(a, json_pack("{s:s,s:I}", "day",
						   (const char *)sqlite3_column_text(s, 0), "count",
						   (json_int_t)sqlite3_column_int64(s, 1)));
	sqlite3_reset(s);
	if (!a)
		return -ENOMEM;
	*out = a;
	return 0;
}

int reports_clusters_json(struct db *db, int limit, int days, time_t now, json_t **out, char *err,
			  size_t errlen)
{
	char since[16];
	/* days_json reuses a cached statement while SQL_CLUSTERS is stepping;
	 * the two are distinct statements, so this is safe. */
	sqlite3_stmt *s = db_stmt(db, SQL_CLUSTERS);
	if (!s)
		return util_err(err, errlen, -EIO, "reading clusters: %s", db_errmsg(db));
	if (limit <= 0 || limit > 10000)
		limit = 1000;
	if (days <= 0 || days > 3660)
		days = 30;
	util_fmt_date(now - (time_t)(days - 1) * 86400, since, sizeof(since));
	sqlite3_bind_int(s, 1, limit);
	json_t *arr = json_array();
	int rc = 0, src;
	while (arr && (src = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *d = NULL;
		if ((rc = days_json(db, sqlite3_column_int64(s, 0), since, &d)))
			break;
		json_t *o = json_pack(
			"{s:I,s:s,s:o,s:o,s:o,s:s,s:i,s:I,s:I,s:I,s:{s:o,s:o,s:o,s:o},s:o,s:o,s:o,"
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
			sqlite3_column_type(s, 14) == SQLITE_NULL
				? json_null()
				: json_integer(sqlite3_column_int64(s, 14)),
			"app_id",
			sqlite3_column_type(s, 15) == SQLITE_NULL
				? json_null()
				: json_integer(sqlite3_column_int64(s, 15)),
			"version_id",
			sqlite3_column_type(s, 16) == SQLITE_NULL
				? json_null()
				: json_integer(sqlite3_column_int64(s, 16)),
			"days", d);
		if (!o || json_array_append_new(arr, o)) {
			rc = -ENOMEM;
			break;
		}
	}
	if (!rc && arr && src != SQLITE_DONE)
		rc = -EIO;
	sqlite3_reset(s);
	if (!arr)
		rc = -ENOMEM;
	if (rc) {
		json_decref(arr);
		return util_err(err, errlen, rc, "reading clusters: %s",
				rc == -ENOMEM ? "out of memory" : db_errmsg(db));
	}
	*out = arr;
	return 0;
}

void reports_alerts_free(struct reports_alert *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		json_decref(a[i].details);
	free(a);
}

static const char SQL_ACTIVE[] =
	"SELECT k.id, k.key, k.classification, coalesce(a.name, k.bundle_id), k.app_version, "
	"k.hostname, k.port, k.report_count, k.first_seen, k.last_seen, k.endpoint_id, k.app_id, "
	"k.leaf_issuer, (SELECT count(DISTINCT r.source) FROM reports r WHERE r.cluster_id = k.id) "
	"FROM report_clusters k LEFT JOIN apps a ON a.id = k.app_id "
	"WHERE k.last_seen >= ?1 ORDER BY k.id LIMIT 10000";

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

int reports_alert_conds(struct db *db, time_t now, int64_t window_s, struct reports_alert **out,
			size_t *n, char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = db_stmt(db, SQL_ACTIVE);
	if (!s)
		return util_err(err, errlen, -EIO, "reading clusters: %s", db_errmsg(db));
	sqlite3_bind_int64(s, 1, (int64_t)now - window_s);
	struct reports_alert *a = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0, src;
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct reports_alert *na = realloc(a, ncap * sizeof(*a));
			if (!na) {
				rc = -ENOMEM;
				break;
			}
			a = na;
			cap = ncap;
		}
		struct reports_alert *c = &a[cnt];
		memset(c, 0, sizeof(*c));
		const char *cls = (const char *)sqlite3_column_text(s, 2);
		const char *app = (const char *)sqlite3_column_text(s, 3);
		const char *ver = (const char *)sqlite3_column_text(s, 4);
		const char *host = (const char *)sqlite3_column_text(s, 5);
		int port = sqlite3_column_int(s, 6);
		int64_t reports = sqlite3_column_int64(s, 7);
		char hex[65];
		if (sqlite3_column_bytes(s, 1) != 32) {
			rc = -EIO;
			break;
		}
		util_hex(sqlite3_column_blob(s, 1), 32, hex);
		hex[16] = '\0';
		c->kind = "pin_failures_reported";
		snprintf(c->fingerprint, sizeof(c->fingerprint), "pin_failures_reported-%s", hex);
		c->endpoint_id = sqlite3_column_int64(s, 10);
		c->app_id = sqlite3_column_int64(s, 11);
		/* The route is public: one source alone (one device, or one forger)
		 * does not page anyone; reports from two or more addresses do. */
		int64_t sources = sqlite3_column_int64(s, 13);
		bool corroborated = sources >= REPORTS_CORROBORATING_SOURCES;
		if (!strcmp(cls, "matches_server"))
			c->severity = corroborated ? "critical" : "warning";
		else if (!strcmp(cls, "unobserved"))
			c->severity = "info";
		else
			c->severity = corroborated ? "warning" : "info";
		snprintf(c->summary, sizeof(c->summary),
			 "%lld pin-failure report%s from %s %s for %s:%d (%s)", (long long)reports,
			 reports == 1 ? "" : "s", app ? app : "an unknown app", ver ? ver : "",
			 host ? host : "?", port, cls);
		c->details = json_pack("{s:I,s:s,s:s?,s:s?,s:s,s:i,s:I,s:I,s:I,s:I,s:s?,s:[s]}",
				       "cluster_id", (json_int_t)sqlite3_column_int64(s, 0),
				       "classification", cls, "app", app, "version", ver, "host",
				       host ? host : "", "port", port, "report_count",
				       (json_int_t)reports, "sources", (json_int_t)sources,
				       "first_seen", (json_int_t)sqlite3_column_int64(s, 8),
				       "last_seen", (json_int_t)sqlite3_column_int64(s, 9),
				       "issuer_seen", (const char *)sqlite3_column_text(s, 12),
				       "reasons", class_explanation(cls));
		if (!c->details) {
			rc = -ENOMEM;
			break;
		}
		cnt++;
	}
	if (!rc && src != SQLITE_DONE)
		rc = -EIO;
	sqlite3_reset(s);
	if (rc) {
		reports_alerts_free(a, cnt);
		return util_err(err, errlen, rc, "reading clusters: %s",
				rc == -ENOMEM ? "out of memory" : db_errmsg(db));
	}
	*out = a;
	*n = cnt;
	return 0;
}
