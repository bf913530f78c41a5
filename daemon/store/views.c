#include "store/views.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "store/db.h"
#include "base/expiry.h"
#include "base/util.h"

/* What the row builders need besides the statement. */
struct view {
	struct db *db;
	time_t now;
	char *err;
	size_t errlen;
};

typedef int (*view_row_fn)(struct view *v, sqlite3_stmt *st, json_t **out);

static int nomem(struct view *v)
{
	return util_err(v->err, v->errlen, -ENOMEM, "out of memory");
}

/* A database failure: step result @src (0: look at the connection, after a
 * failed prepare). Never -ENOENT/-EEXIST/-EINVAL, which mean something else
 * to callers. */
static int db_fail(struct view *v, int src, const char *what)
{
	int rc = db_errno(src ? src : sqlite3_errcode(db_handle(v->db)));
	if (rc == -EBUSY)
		return util_err(v->err, v->errlen, rc, "database busy: %s: %s", what,
				db_errmsg(v->db));
	if (rc == 0 || rc == -ENOENT || rc == -EEXIST || rc == -EINVAL)
		rc = -EIO;
	return util_err(v->err, v->errlen, rc, "%s: %s", what, db_errmsg(v->db));
}

static json_t *col_text(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	return json_string((const char *)sqlite3_column_text(st, col));
}

static json_t *col_time(sqlite3_stmt *st, int col)
{
	char buf[32];
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	return json_string(util_fmt_time((time_t)sqlite3_column_int64(st, col), buf, sizeof(buf)));
}

/* One parameter of a view's statement: an integer, or text (NULL: SQL NULL). */
struct vparam {
	bool is_text;
	int64_t i;
	const char *s;
};
#define P_INT(x)         \
	{                \
		.i = (x) \
	}
#define P_TEXT(x)                         \
	{                                 \
		.is_text = true, .s = (x) \
	}

/* The cached statement @sql with @p bound as ?1, ?2, ...; NULL with the
 * error (*rc, message in @v) when it cannot be prepared or bound. */
static sqlite3_stmt *prepare(struct view *v, const char *sql, const struct vparam *p, size_t np,
			     const char *what, int *rc)
{
	sqlite3_stmt *st = db_stmt(v->db, sql);
	struct db_binder b = db_binder(st);
	for (size_t i = 0; st && i < np; i++) {
		if (p[i].is_text)
			db_bind_text(&b, p[i].s);
		else
			db_bind_int64(&b, p[i].i);
	}
	if (st && db_bound(&b) == SQLITE_OK)
		return st;
	*rc = db_fail(v, st ? db_bound(&b) : 0, what);
	if (st)
		sqlite3_reset(st);
	return NULL;
}

/* Runs @sql with @p, collecting rows made by @row; the first column is the
 * row id (the cursor). At most @limit rows (the statement asks for one more
 * to tell whether more follow); a negative @limit: all rows. */
static int run_list(struct view *v, const char *sql, const struct vparam *p, size_t np,
		    int64_t limit, view_row_fn row, const char *what, json_t **items, int64_t *next)
{
	int64_t last = 0, n = 0;
	int src = SQLITE_DONE, rc = 0;
	bool more = false;
	*items = NULL;
	*next = 0;
	sqlite3_stmt *st = prepare(v, sql, p, np, what, &rc);
	if (!st)
		return rc;
	json_t *arr = json_array();
	if (!arr)
		rc = nomem(v);
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit) {
			more = true;
			break;
		}
		json_t *o = NULL;
		if ((rc = row(v, st, &o)))
			break;
		if (json_array_append_new(arr, o)) {
			rc = nomem(v);
			break;
		}
		last = sqlite3_column_int64(st, 0);
		n++;
	}
	if (!rc && !more && src != SQLITE_DONE)
		rc = db_fail(v, src, what);
	sqlite3_reset(st);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*items = arr;
	*next = more ? last : 0;
	return 0;
}

/* All rows of @sql with ?1 = @id made by @row into a new array *out. */
static int collect(struct view *v, const char *sql, int64_t id, view_row_fn row, const char *what,
		   json_t **out)
{
	const struct vparam p[] = { P_INT(id) };
	int64_t next;
	return run_list(v, sql, p, 1, -1, row, what, out, &next);
}

/* At most one row of @sql with ?1 = @id made by @row. -ENOENT ("no @what")
 * when none. */
static int run_one(struct view *v, const char *sql, int64_t id, view_row_fn row, const char *what,
		   json_t **out)
{
	const struct vparam p[] = { P_INT(id) };
	int rc = 0;
	*out = NULL;
	sqlite3_stmt *st = prepare(v, sql, p, 1, what, &rc);
	if (!st)
		return rc;
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		rc = row(v, st, out);
	else if (src == SQLITE_DONE)
		rc = util_err(v->err, v->errlen, -ENOENT, "no %s", what);
	else
		rc = db_fail(v, src, what);
	sqlite3_reset(st);
	return rc;
}

/* ---- endpoints -------------------------------------------------------- */

#define ENDPOINT_COLS                                                                        \
	"e.id, e.host, e.port, e.sni, e.environment, e.owner, e.third_party, e.interval_s, " \
	"e.enabled, e.last_probe_at, e.next_probe_at, "                                      \
	"(SELECT json_group_array(tag) FROM (SELECT tag FROM endpoint_tags t "               \
	"WHERE t.endpoint_id = e.id ORDER BY tag))"

static int endpoint_row(struct view *v, sqlite3_stmt *st, json_t **out)
{
	char iv[32];
	snprintf(iv, sizeof(iv), "%llds", (long long)sqlite3_column_int64(st, 7));
	json_t *tags = json_loads((const char *)sqlite3_column_text(st, 11), 0, NULL);
	*out = json_pack("{s:I, s:o, s:i, s:o, s:o, s:o, s:o, s:b, s:s, s:I, s:b, s:o, s:o}", "id",
			 (json_int_t)sqlite3_column_int64(st, 0), "host", col_text(st, 1), "port",
			 sqlite3_column_int(st, 2), "sni", col_text(st, 3), "environment",
			 col_text(st, 4), "owner", col_text(st, 5), "tags",
			 tags ? tags : json_array(), "third_party", sqlite3_column_int(st, 6),
			 "interval", iv, "interval_s", (json_int_t)sqlite3_column_int64(st, 7),
			 "enabled", sqlite3_column_int(st, 8), "last_probe_at", col_time(st, 9),
			 "next_probe_at", col_time(st, 10));
	return *out ? 0 : nomem(v);
}

int views_endpoints(struct db *db, const struct views_endpoint_filter *f, int64_t cursor,
		    int64_t limit, json_t **items, int64_t *next, char *err, size_t errlen)
{
	static const char sql[] =
		"SELECT " ENDPOINT_COLS " FROM endpoints e WHERE e.id > ?1 "
		"AND (?2 IS NULL OR e.environment = ?2) AND (?3 IS NULL OR e.owner = ?3) "
		"AND (?4 IS NULL OR EXISTS (SELECT 1 FROM endpoint_tags t WHERE "
		"t.endpoint_id = e.id AND t.tag = ?4)) "
		"AND (?5 IS NULL OR e.host = ?5) "
		"ORDER BY e.id LIMIT ?6";
	struct view v = { .db = db, .err = err, .errlen = errlen };
	const struct vparam p[] = { P_INT(cursor),  P_TEXT(f->environment), P_TEXT(f->owner),
				    P_TEXT(f->tag), P_TEXT(f->host),	    P_INT(limit + 1) };
	return run_list(&v, sql, p, ARRAY_SIZE(p), limit, endpoint_row, "reading endpoints", items,
			next);
}

int views_endpoint(struct db *db, int64_t id, json_t **out, char *err, size_t errlen)
{
	static const char sql[] = "SELECT " ENDPOINT_COLS " FROM endpoints e WHERE e.id = ?";
	struct view v = { .db = db, .err = err, .errlen = errlen };
	char what[64];
	snprintf(what, sizeof(what), "endpoint with id %lld", (long long)id);
	return run_one(&v, sql, id, endpoint_row, what, out);
}

static int exists_row(struct view *v, sqlite3_stmt *st, json_t **out)
{
	(void)st;
	*out = json_true();
	return *out ? 0 : nomem(v);
}

int views_endpoint_exists(struct db *db, int64_t id, char *err, size_t errlen)
{
	static const char sql[] = "SELECT 1 FROM endpoints WHERE id = ?";
	struct view v = { .db = db, .err = err, .errlen = errlen };
	char what[64];
	json_t *o = NULL;
	snprintf(what, sizeof(what), "endpoint with id %lld", (long long)id);
	int rc = run_one(&v, sql, id, exists_row, what, &o);
	json_decref(o);
	return rc;
}

/* ---- observations ----------------------------------------------------- */

static int cert_json(struct view *v, sqlite3_stmt *st, json_t **out)
{
	char pin[48] = "", hex[65] = "", nb[32], na[32];
	if (sqlite3_column_bytes(st, 5) == 32)
		util_pin_b64(sqlite3_column_blob(st, 5), pin);
	if (sqlite3_column_bytes(st, 6) == 32)
		util_hex(sqlite3_column_blob(st, 6), 32, hex);
	*out = json_pack(
		"{s:o, s:o, s:o, s:s, s:s, s:s, s:s, s:b, s:o, s:i}", "subject", col_text(st, 0),
		"issuer", col_text(st, 1), "serial", col_text(st, 2), "not_before",
		util_fmt_time((time_t)sqlite3_column_int64(st, 3), nb, sizeof(nb)), "not_after",
		util_fmt_time((time_t)sqlite3_column_int64(st, 4), na, sizeof(na)), "pin", pin,
		"sha256", hex, "is_ca", sqlite3_column_int(st, 7), "key_type", col_text(st, 8),
		"key_bits", sqlite3_column_int(st, 9));
	return *out ? 0 : nomem(v);
}

/* The certificates of the chain in column @col of @src, in order; null for
 * no chain. */
static int chain_json(struct view *v, sqlite3_stmt *src, int col, json_t **out)
{
	static const char sql[] =
		"SELECT c.subject, c.issuer, c.serial, c.not_before, c.not_after, c.spki_sha256, "
		"c.sha256, c.is_ca, c.key_type, c.key_bits FROM chain_certs cc "
		"JOIN certificates c ON c.id = cc.cert_id WHERE cc.chain_id = ? ORDER BY cc.pos";
	*out = NULL;
	if (sqlite3_column_type(src, col) == SQLITE_NULL)
		return (*out = json_null()) ? 0 : nomem(v);
	return collect(v, sql, sqlite3_column_int64(src, col), cert_json, "reading a chain", out);
}

#define OBS_COLS                                                                   \
	"o.id, o.address, o.outcome, o.presented_chain_id, o.validated_chain_id, " \
	"o.tls_version, o.cipher, o.trusted, o.name_ok, o.detail, o.first_seen, "  \
	"o.last_seen, o.probe_count, o.duration_ms"

static json_t *col_bool(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL
		       ? json_null()
		       : json_boolean(sqlite3_column_int(st, col));
}

static int obs_row(struct view *v, sqlite3_stmt *st, json_t **out)
{
	json_t *pres = NULL, *val = NULL;
	int rc = chain_json(v, st, 3, &pres);
	if (!rc)
		rc = chain_json(v, st, 4, &val);
	if (rc) {
		json_decref(pres);
		return rc;
	}
	*out = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o}",
			 "id", (json_int_t)sqlite3_column_int64(st, 0), "address", col_text(st, 1),
			 "outcome", col_text(st, 2), "presented_chain", pres, "validated_chain",
			 val, "tls_version", col_text(st, 5), "cipher", col_text(st, 6), "trusted",
			 col_bool(st, 7), "name_ok", col_bool(st, 8), "detail", col_text(st, 9),
			 "first_seen", col_time(st, 10), "last_seen", col_time(st, 11),
			 "probe_count", (json_int_t)sqlite3_column_int64(st, 12), "duration_ms",
			 sqlite3_column_type(st, 13) == SQLITE_NULL
				 ? json_null()
				 : json_integer(sqlite3_column_int64(st, 13)));
	return *out ? 0 : nomem(v);
}

int views_observations_latest(struct db *db, int64_t endpoint_id, int64_t limit, json_t **items,
			      int64_t *next, char *err, size_t errlen)
{
	static const char sql[] =
		"SELECT " OBS_COLS " FROM observations o WHERE o.id IN "
		"(SELECT max(id) FROM observations WHERE endpoint_id = ?1 GROUP BY address) "
		"ORDER BY o.address";
	struct view v = { .db = db, .err = err, .errlen = errlen };
	const struct vparam p[] = { P_INT(endpoint_id) };
	return run_list(&v, sql, p, ARRAY_SIZE(p), limit, obs_row, "reading observations", items,
			next);
}

int views_observations_history(struct db *db, int64_t endpoint_id, const char *address,
			       int64_t cursor, int64_t limit, json_t **items, int64_t *next,
			       char *err, size_t errlen)
{
	static const char sql[] =
		"SELECT " OBS_COLS " FROM observations o WHERE o.endpoint_id = ?1 "
		"AND (?2 = 0 OR o.id < ?2) AND (?3 IS NULL OR o.address = ?3) "
		"ORDER BY o.id DESC LIMIT ?4";
	struct view v = { .db = db, .err = err, .errlen = errlen };
	const struct vparam p[] = { P_INT(endpoint_id), P_INT(cursor), P_TEXT(address),
				    P_INT(limit + 1) };
	return run_list(&v, sql, p, ARRAY_SIZE(p), limit, obs_row, "reading observations", items,
			next);
}

/* ---- apps ------------------------------------------------------------- */

#define APP_COLS                                                                        \
	"a.id, a.name, a.platform, a.bundle_id, a.adoption_threshold, a.failure_mode, " \
	"(SELECT count(*) FROM versions v WHERE v.app_id = a.id)"

static int app_row(struct view *v, sqlite3_stmt *st, json_t **out)
{
	*out = json_pack("{s:I, s:o, s:o, s:o, s:f, s:o, s:I}", "id",
			 (json_int_t)sqlite3_column_int64(st, 0), "name", col_text(st, 1),
			 "platform", col_text(st, 2), "bundle_id", col_text(st, 3),
			 "adoption_threshold", sqlite3_column_double(st, 4), "failure_mode",
			 col_text(st, 5), "versions", (json_int_t)sqlite3_column_int64(st, 6));
	return *out ? 0 : nomem(v);
}

int views_apps(struct db *db, const char *platform, int64_t cursor, int64_t limit, json_t **items,
	       int64_t *next, char *err, size_t errlen)
{
	static const char sql[] = "SELECT " APP_COLS " FROM apps a WHERE a.id > ?1 "
				  "AND (?2 IS NULL OR a.platform = ?2) ORDER BY a.id LIMIT ?3";
	struct view v = { .db = db, .err = err, .errlen = errlen };
	const struct vparam p[] = { P_INT(cursor), P_TEXT(platform), P_INT(limit + 1) };
	return run_list(&v, sql, p, ARRAY_SIZE(p), limit, app_row, "reading apps", items, next);
}

static int adoption_row(struct view *v, sqlite3_stmt *st, json_t **out)
{
	*out = json_pack("{s:o, s:f, s:o}", "at", col_text(st, 0), "share",
			 sqlite3_column_double(st, 1), "active_users",
			 sqlite3_column_type(st, 2) == SQLITE_NULL
				 ? json_null()
				 : json_integer(sqlite3_column_int64(st, 2)));
	return *out ? 0 : nomem(v);
}

static int pin_row(struct view *v, sqlite3_stmt *st, json_t **out)
{
	*out = json_pack("{s:o, s:o}", "sha256", col_text(st, 0), "role", col_text(st, 1));
	return *out ? 0 : nomem(v);
}

static int policy_row(struct view *v, sqlite3_stmt *st, json_t **out)
{
	static const char sql[] = "SELECT sha256, role FROM pins WHERE policy_id = ? "
				  "ORDER BY role DESC, sha256";
	json_t *pins = NULL;
	int rc = collect(v, sql, sqlite3_column_int64(st, 0), pin_row, "reading pins", &pins);
	if (rc)
		return rc;
	*out = json_pack("{s:I, s:o, s:b, s:b, s:o, s:o, s:o}", "id",
			 (json_int_t)sqlite3_column_int64(st, 0), "pattern", col_text(st, 1),
			 "include_subdomains", sqlite3_column_int(st, 2), "enforce",
			 sqlite3_column_int(st, 3), "expires", col_text(st, 4), "source",
			 col_text(st, 5), "pins", pins);
	return *out ? 0 : nomem(v);
}

static int version_row(struct view *v, sqlite3_stmt *st, json_t **out)
{
	static const char sql_ad[] = "SELECT at, share, active_users FROM adoption "
				     "WHERE version_id = ? ORDER BY at";
	static const char sql_pol[] =
		"SELECT id, pattern, include_subdomains, enforce, expires, source "
		"FROM pin_policies WHERE version_id = ? ORDER BY pattern, id";
	int64_t vid = sqlite3_column_int64(st, 0);
	json_t *ad = NULL, *pol = NULL;
	int rc = collect(v, sql_ad, vid, adoption_row, "reading adoption", &ad);
	if (!rc)
		rc = collect(v, sql_pol, vid, policy_row, "reading pin policies", &pol);
	if (rc) {
		json_decref(ad);
		return rc;
	}
	*out = json_pack("{s:I, s:o, s:o, s:o, s:o}", "id", (json_int_t)vid, "version",
			 col_text(st, 1), "released", col_text(st, 2), "adoption", ad,
			 "pin_policies", pol);
	return *out ? 0 : nomem(v);
}

int views_app(struct db *db, int64_t id, json_t **out, char *err, size_t errlen)
{
	static const char sql[] = "SELECT " APP_COLS " FROM apps a WHERE a.id = ?";
	static const char sql_v[] = "SELECT id, version, released FROM versions WHERE app_id = ? "
				    "ORDER BY coalesce(released, ''), id";
	struct view v = { .db = db, .err = err, .errlen = errlen };
	char what[64];
	snprintf(what, sizeof(what), "app with id %lld", (long long)id);
	json_t *app = NULL, *versions = NULL;
	*out = NULL;
	int rc = run_one(&v, sql, id, app_row, what, &app);
	if (!rc)
		rc = collect(&v, sql_v, id, version_row, "reading versions", &versions);
	if (!rc && json_object_set_new(app, "versions", versions))
		rc = nomem(&v);
	if (rc) {
		json_decref(app);
		return rc;
	}
	*out = app;
	return 0;
}

/* ---- audit ------------------------------------------------------------ */

static json_t *json_col(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	json_t *j = json_loads((const char *)sqlite3_column_text(st, col), JSON_DECODE_ANY, NULL);
	return j ? j : col_text(st, col);
}

static int audit_row(struct view *v, sqlite3_stmt *st, json_t **out)
{
	*out = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
			 (json_int_t)sqlite3_column_int64(st, 0), "at", col_time(st, 1), "actor",
			 col_text(st, 2), "action", col_text(st, 3), "object_type", col_text(st, 4),
			 "object_id", col_text(st, 5), "before", json_col(st, 6), "after",
			 json_col(st, 7), "prev_hash", col_text(st, 8), "hash", col_text(st, 9));
	return *out ? 0 : nomem(v);
}

int views_audit(struct db *db, const struct views_audit_filter *f, int64_t cursor, int64_t limit,
		json_t **items, int64_t *next, char *err, size_t errlen)
{
	static const char sql[] =
		"SELECT id, at, actor, action, object_type, object_id, before, after, "
		"prev_hash, hash "
		"FROM audit_log WHERE (?1 = 0 OR id < ?1) AND (?2 IS NULL OR actor = ?2) "
		"AND (?3 IS NULL OR action = ?3) AND (?4 IS NULL OR object_type = ?4) "
		"AND (?5 IS NULL OR object_id = ?5) AND (?6 = 0 OR at >= ?6) AND (?7 = 0 "
		"OR at < ?7) "
		"ORDER BY id DESC LIMIT ?8";
	struct view v = { .db = db, .err = err, .errlen = errlen };
	const struct vparam p[] = { P_INT(cursor),
				    P_TEXT(f->actor),
				    P_TEXT(f->action),
				    P_TEXT(f->object_type),
				    P_TEXT(f->object_id),
				    P_INT((int64_t)f->since),
				    P_INT((int64_t)f->until),
				    P_INT(limit + 1) };
	return run_list(&v, sql, p, ARRAY_SIZE(p), limit, audit_row, "reading the audit log", items,
			next);
}

/* ---- certificates served now ------------------------------------------ */

static int cert_row(struct view *v, sqlite3_stmt *st, json_t **out)
{
	char pin[48] = "", nb[32], na[32];
	if (sqlite3_column_bytes(st, 5) == 32)
		util_pin_b64(sqlite3_column_blob(st, 5), pin);
	json_t *eps = json_loads((const char *)sqlite3_column_text(st, 7), 0, NULL);
	json_t *addrs = json_loads((const char *)sqlite3_column_text(st, 8), 0, NULL);
	time_t not_after = (time_t)sqlite3_column_int64(st, 4);
	*out = json_pack("{s:I, s:o, s:o, s:s, s:s, s:s, s:b, s:o, s:o, s:I}", "id",
			 (json_int_t)sqlite3_column_int64(st, 0), "subject", col_text(st, 1),
			 "issuer", col_text(st, 2), "not_before",
			 util_fmt_time((time_t)sqlite3_column_int64(st, 3), nb, sizeof(nb)),
			 "not_after", util_fmt_time(not_after, na, sizeof(na)), "pin", pin, "is_ca",
			 sqlite3_column_int(st, 6), "endpoints", eps ? eps : json_array(),
			 "addresses", addrs ? addrs : json_array(), "days_left",
			 (json_int_t)expiry_days_left(not_after, v->now));
	return *out ? 0 : nomem(v);
}

int views_certificates(struct db *db, time_t now, int64_t cursor, int64_t limit, json_t **items,
		       int64_t *next, char *err, size_t errlen)
{
	static const char sql[] =
		"WITH latest AS (SELECT o.endpoint_id, o.address, o.presented_chain_id "
		"  FROM observations o "
		"  WHERE o.id IN (SELECT max(id) FROM observations GROUP BY endpoint_id, "
		"address)), "
		"served AS (SELECT DISTINCT cc.cert_id, l.endpoint_id, l.address FROM latest l "
		"  JOIN chain_certs cc ON cc.chain_id = l.presented_chain_id) "
		"SELECT c.id, c.subject, c.issuer, c.not_before, c.not_after, c.spki_sha256, "
		"c.is_ca, "
		"  (SELECT json_group_array(e.host || ':' || e.port) FROM (SELECT DISTINCT "
		"endpoint_id FROM served s "
		"     WHERE s.cert_id = c.id LIMIT 50) x JOIN endpoints e ON e.id = "
		"x.endpoint_id), "
		"  (SELECT json_group_array(json_object('endpoint', e.host || ':' || e.port, "
		"     'address', x.address)) FROM (SELECT endpoint_id, address FROM served s "
		"     WHERE s.cert_id = c.id ORDER BY endpoint_id, address LIMIT 200) x "
		"     JOIN endpoints e ON e.id = x.endpoint_id) "
		"FROM certificates c WHERE c.id > ?1 AND c.id IN (SELECT cert_id FROM served) "
		"ORDER BY c.id LIMIT ?2";
	struct view v = { .db = db, .now = now, .err = err, .errlen = errlen };
	const struct vparam p[] = { P_INT(cursor), P_INT(limit + 1) };
	return run_list(&v, sql, p, ARRAY_SIZE(p), limit, cert_row, "reading certificates", items,
			next);
}

/* ---- for the Prometheus metrics ----------------------------------------- */

static const char *text_or_empty(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? (const char *)t : "";
}

/* The earliest notAfter of the chain in column expression @chain. */
#define MIN_NOT_AFTER(chain)                                                                     \
	"(SELECT min(c.not_after) FROM chain_certs cc JOIN certificates c ON c.id = cc.cert_id " \
	"WHERE cc.chain_id = " chain ")"
/* The latest observation of each endpoint address, with its endpoint. */
#define LATEST_OBS                                                                            \
	"FROM observations o JOIN endpoints e ON e.id = o.endpoint_id WHERE o.id IN (SELECT " \
	"max(id) FROM observations GROUP BY endpoint_id, address) "

/* Runs @sql (no parameters) calling @fn(@st, @ctx) for each row until it
 * returns non-zero. 0, @fn's error, or -EIO. */
static int run_each(struct db *db, const char *sql, int (*fn)(sqlite3_stmt *st, void *ctx),
		    void *ctx, char *err, size_t errlen)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	if (!st)
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	int src = SQLITE_DONE, rc = 0;
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW)
		rc = fn(st, ctx);
	if (!rc && src != SQLITE_DONE)
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	sqlite3_reset(st);
	return rc;
}

struct outcome_each {
	int (*fn)(void *ctx, const char *host, int port, const char *address, const char *outcome,
		  const int64_t *not_after);
	void *ctx;
};

static int outcome_each(sqlite3_stmt *st, void *ctx)
{
	struct outcome_each *o = ctx;
	int64_t na = sqlite3_column_int64(st, 4);
	return o->fn(o->ctx, text_or_empty(st, 0), sqlite3_column_int(st, 1), text_or_empty(st, 2),
		     text_or_empty(st, 3), sqlite3_column_type(st, 4) == SQLITE_NULL ? NULL : &na);
}

int views_address_outcomes(struct db *db,
			   int (*fn)(void *ctx, const char *host, int port, const char *address,
				     const char *outcome, const int64_t *not_after),
			   void *ctx, char *err, size_t errlen)
{
	/* latest observation per endpoint address, with the earliest expiry of its chain */
	static const char sql[] = "SELECT e.host, e.port, o.address, o.outcome, " MIN_NOT_AFTER(
		"o.presented_chain_id") " " LATEST_OBS "ORDER BY e.host, e.port, o.address";
	struct outcome_each o = { fn, ctx };
	return run_each(db, sql, outcome_each, &o, err, errlen);
}

struct expiry_each {
	int (*fn)(void *ctx, const char *host, int port, const char *address, int64_t not_after);
	void *ctx;
};

static int expiry_each(sqlite3_stmt *st, void *ctx)
{
	struct expiry_each *x = ctx;
	if (sqlite3_column_type(st, 3) == SQLITE_NULL)
		return 0;
	return x->fn(x->ctx, text_or_empty(st, 0), sqlite3_column_int(st, 1), text_or_empty(st, 2),
		     sqlite3_column_int64(st, 3));
}

int views_address_expiry(struct db *db,
			 int (*fn)(void *ctx, const char *host, int port, const char *address,
				   int64_t not_after),
			 void *ctx, char *err, size_t errlen)
{
	static const char sql[] =
		"SELECT e.host, e.port, o.address, coalesce("
		" (SELECT min(c.not_after) FROM chain_certs cc JOIN certificates c ON c.id = "
		"cc.cert_id"
		"  WHERE cc.chain_id = o.validated_chain_id AND (cc.pos = 0 OR cc.pos <"
		"   (SELECT max(x.pos) FROM chain_certs x WHERE x.chain_id = "
		"o.validated_chain_id))), " MIN_NOT_AFTER(
			"o.presented_chain_id") ") " LATEST_OBS "AND e.enabled = 1 ORDER BY "
						"e.host, e.port, o.address";
	struct expiry_each x = { fn, ctx };
	return run_each(db, sql, expiry_each, &x, err, errlen);
}

int views_next_probe_min(struct db *db, time_t *at, char *err, size_t errlen)
{
	int64_t v = 0;
	if (db_query_int(db,
			 "SELECT coalesce(min(next_probe_at), 0) FROM endpoints "
			 "WHERE enabled = 1 AND next_probe_at IS NOT NULL",
			 &v))
		return util_err(err, errlen, -EIO, "%s", db_errmsg(db));
	*at = (time_t)v;
	return 0;
}
