/* Read routes over the inventory, observations and the audit log. Lists use
 * keyset pagination on the row id: the cursor is the last id returned. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/api_internal.h"
#include "store/db.h"
#include "readiness/readiness_load.h"
#include "base/expiry.h"
#include "base/util.h"

/* ---- endpoints -------------------------------------------------------- */

#define ENDPOINT_COLS                                                                        \
	"e.id, e.host, e.port, e.sni, e.environment, e.owner, e.third_party, e.interval_s, " \
	"e.enabled, e.last_probe_at, e.next_probe_at, "                                      \
	"(SELECT json_group_array(tag) FROM (SELECT tag FROM endpoint_tags t "               \
	"WHERE t.endpoint_id = e.id ORDER BY tag))"

static json_t *endpoint_row(sqlite3_stmt *st)
{
	char iv[32];
	snprintf(iv, sizeof(iv), "%llds", (long long)sqlite3_column_int64(st, 7));
	json_t *tags = json_loads((const char *)sqlite3_column_text(st, 11), 0, NULL);
	return json_pack("{s:I, s:o, s:i, s:o, s:o, s:o, s:o, s:b, s:s, s:I, s:b, s:o, s:o}", "id",
			 (json_int_t)sqlite3_column_int64(st, 0), "host", api_col_text(st, 1),
			 "port", sqlite3_column_int(st, 2), "sni", api_col_text(st, 3),
			 "environment", api_col_text(st, 4), "owner", api_col_text(st, 5), "tags",
			 tags ? tags : json_array(), "third_party", sqlite3_column_int(st, 6),
			 "interval", iv, "interval_s", (json_int_t)sqlite3_column_int64(st, 7),
			 "enabled", sqlite3_column_int(st, 8), "last_probe_at", api_col_time(st, 9),
			 "next_probe_at", api_col_time(st, 10));
}

/* Steps @st (already bound), appending rows made by @row; sets the page response. */
static void run_list(struct api_req *req, sqlite3_stmt *st, int64_t limit,
		     json_t *(*row)(sqlite3_stmt *))
{
	json_t *items = json_array();
	int64_t last = 0, n = 0;
	int rc = SQLITE_DONE;
	bool more = false;
	while (items && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit) {
			more = true;
			break;
		}
		json_t *o = row(st);
		if (!o || json_array_append_new(items, o)) {
			json_decref(items);
			items = NULL;
			break;
		}
		last = sqlite3_column_int64(st, 0);
		n++;
	}
	if (items && !more && rc != SQLITE_DONE) {
		json_decref(items);
		api_db_error(req);
		sqlite3_reset(st);
		return;
	}
	sqlite3_reset(st);
	api_list_response(req, items, more ? last : 0);
}

void api_endpoints_list(struct api_req *req)
{
	int64_t limit, cursor;
	if (api_page(req, &limit, &cursor))
		return;
	const char *env = api_query(req, "environment"), *owner = api_query(req, "owner"),
		   *tag = api_query(req, "tag"), *host = api_query(req, "host");
	sqlite3_stmt *st = db_stmt(
		req->db, "SELECT " ENDPOINT_COLS " FROM endpoints e WHERE e.id > ?1 "
			 "AND (?2 IS NULL OR e.environment = ?2) AND (?3 IS NULL OR e.owner = ?3) "
			 "AND (?4 IS NULL OR EXISTS (SELECT 1 FROM endpoint_tags t WHERE "
			 "t.endpoint_id = e.id AND t.tag = ?4)) "
			 "AND (?5 IS NULL OR e.host = ?5) "
			 "ORDER BY e.id LIMIT ?6");
	if (!st) {
		api_db_error(req);
		return;
	}
	sqlite3_bind_int64(st, 1, cursor);
	if (env)
		sqlite3_bind_text(st, 2, env, -1, SQLITE_STATIC);
	if (owner)
		sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
	if (tag)
		sqlite3_bind_text(st, 4, tag, -1, SQLITE_STATIC);
	if (host)
		sqlite3_bind_text(st, 5, host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, limit + 1);
	run_list(req, st, limit, endpoint_row);
}

void api_endpoint_get(struct api_req *req)
{
	int64_t id;
	if (api_param_id(req, 0, &id))
		return;
	sqlite3_stmt *st =
		db_stmt(req->db, "SELECT " ENDPOINT_COLS " FROM endpoints e WHERE e.id = ?");
	if (!st) {
		api_db_error(req);
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		api_ok(req, 200, endpoint_row(st));
	else if (rc == SQLITE_DONE)
		api_error(req, 404, "not_found", "no endpoint with id %lld", (long long)id);
	else
		api_db_error(req);
	sqlite3_reset(st);
}

static int endpoint_exists(struct api_req *req, int64_t id)
{
	sqlite3_stmt *st = db_stmt(req->db, "SELECT 1 FROM endpoints WHERE id = ?");
	if (!st) {
		api_db_error(req);
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE) {
		api_error(req, 404, "not_found", "no endpoint with id %lld", (long long)id);
		return -ENOENT;
	}
	api_db_error(req);
	return -EIO;
}

/* ---- observations ----------------------------------------------------- */

/* The certificates of chain @chain_id, in order; null for no chain. */
static json_t *chain_json(struct db *db, sqlite3_stmt *src, int col)
{
	if (sqlite3_column_type(src, col) == SQLITE_NULL)
		return json_null();
	int64_t chain_id = sqlite3_column_int64(src, col);
	sqlite3_stmt *st = db_stmt(
		db,
		"SELECT c.subject, c.issuer, c.serial, c.not_before, c.not_after, c.spki_sha256, "
		"c.sha256, c.is_ca, c.key_type, c.key_bits FROM chain_certs cc "
		"JOIN certificates c ON c.id = cc.cert_id WHERE cc.chain_id = ? ORDER BY cc.pos");
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, chain_id);
	json_t *arr = json_array();
	while (arr && sqlite3_step(st) == SQLITE_ROW) {
		char pin[48] = "", hex[65] = "", nb[32], na[32];
		if (sqlite3_column_bytes(st, 5) == 32)
			util_pin_b64(sqlite3_column_blob(st, 5), pin);
		if (sqlite3_column_bytes(st, 6) == 32)
			util_hex(sqlite3_column_blob(st, 6), 32, hex);
		json_t *o = json_pack(
			"{s:o, s:o, s:o, s:s, s:s, s:s, s:s, s:b, s:o, s:i}", "subject",
			api_col_text(st, 0), "issuer", api_col_text(st, 1), "serial",
			api_col_text(st, 2), "not_before",
			util_fmt_time((time_t)sqlite3_column_int64(st, 3), nb, sizeof(nb)),
			"not_after",
			util_fmt_time((time_t)sqlite3_column_int64(st, 4), na, sizeof(na)), "pin",
			pin, "sha256", hex, "is_ca", sqlite3_column_int(st, 7), "key_type",
			api_col_text(st, 8), "key_bits", sqlite3_column_int(st, 9));
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	sqlite3_reset(st);
	return arr;
}

#define OBS_COLS                                                                   \
	"o.id, o.address, o.outcome, o.presented_chain_id, o.validated_chain_id, " \
	"o.tls_version, o.cipher, o.trusted, o.name_ok, o.detail, o.first_seen, "  \
	"o.last_seen, o.probe_count, o.duration_ms"

static json_t *obs_row(struct db *db, sqlite3_stmt *st)
{
	json_t *pres = chain_json(db, st, 3), *val = chain_json(db, st, 4);
	json_t *o = json_pack(
		"{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o}", "id",
		(json_int_t)sqlite3_column_int64(st, 0), "address", api_col_text(st, 1), "outcome",
		api_col_text(st, 2), "presented_chain", pres ? pres : json_null(),
		"validated_chain", val ? val : json_null(), "tls_version", api_col_text(st, 5),
		"cipher", api_col_text(st, 6), "trusted",
		sqlite3_column_type(st, 7) == SQLITE_NULL ? json_null()
							  : json_boolean(sqlite3_column_int(st, 7)),
		"name_ok",
		sqlite3_column_type(st, 8) == SQLITE_NULL ? json_null()
							  : json_boolean(sqlite3_column_int(st, 8)),
		"detail", api_col_text(st, 9), "first_seen", api_col_time(st, 10), "last_seen",
		api_col_time(st, 11), "probe_count", (json_int_t)sqlite3_column_int64(st, 12),
		"duration_ms",
		sqlite3_column_type(st, 13) == SQLITE_NULL
			? json_null()
			: json_integer(sqlite3_column_int64(st, 13)));
	return o;
}

/* run_list() takes a row function without the db; observation rows need it. */
static __thread struct db *obs_db;
static json_t *obs_row_tls(sqlite3_stmt *st)
{
	return obs_row(obs_db, st);
}

void api_endpoint_observations(struct api_req *req)
{
	int64_t id;
	if (api_param_id(req, 0, &id) || endpoint_exists(req, id))
		return;
	sqlite3_stmt *st = db_stmt(
		req->db,
		"SELECT " OBS_COLS " FROM observations o WHERE o.id IN "
		"(SELECT max(id) FROM observations WHERE endpoint_id = ?1 GROUP BY address) "
		"ORDER BY o.address");
	if (!st) {
		api_db_error(req);
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	obs_db = req->db;
	run_list(req, st, API_LIMIT_MAX, obs_row_tls);
	if (req->status == 200)
		json_object_set_new(req->json, "endpoint_id", json_integer(id));
}

/* Each period of a history page gets "readiness": the engine's verdict on its
 * chain at its time (readiness_history_db). */
static void history_readiness(struct api_req *req, int64_t endpoint_id)
{
	json_t *items = json_object_get(req->json, "items");
	size_t n = json_array_size(items);
	char err[ERRLEN] = "";
	if (n == 0)
		return;
	int64_t *ids = calloc(n, sizeof(*ids));
	json_t **rd = calloc(n, sizeof(*rd));
	int rc = ids && rd ? 0 : util_err(err, sizeof(err), -ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < n; i++)
		ids[i] = json_integer_value(json_object_get(json_array_get(items, i), "id"));
	if (!rc)
		rc = readiness_history_db(req->db, endpoint_id, ids, n, rd, err, sizeof(err));
	for (size_t i = 0; !rc && i < n; i++)
		json_object_set_new(json_array_get(items, i), "readiness", rd[i]);
	free(ids);
	free(rd);
	if (rc)
		api_store_error(req, rc, err);
}

void api_endpoint_history(struct api_req *req)
{
	int64_t id, limit, cursor;
	if (api_param_id(req, 0, &id) || api_page(req, &limit, &cursor) || endpoint_exists(req, id))
		return;
	const char *addr = api_query(req, "address");
	/* newest first: the cursor is an upper bound */
	sqlite3_stmt *st =
		db_stmt(req->db, "SELECT " OBS_COLS " FROM observations o WHERE o.endpoint_id = ?1 "
				 "AND (?2 = 0 OR o.id < ?2) AND (?3 IS NULL OR o.address = ?3) "
				 "ORDER BY o.id DESC LIMIT ?4");
	if (!st) {
		api_db_error(req);
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, cursor);
	if (addr)
		sqlite3_bind_text(st, 3, addr, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, limit + 1);
	obs_db = req->db;
	run_list(req, st, limit, obs_row_tls);
	if (req->status == 200)
		history_readiness(req, id);
}

/* ---- apps ------------------------------------------------------------- */

static json_t *app_row(sqlite3_stmt *st)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:f, s:o, s:I}", "id",
			 (json_int_t)sqlite3_column_int64(st, 0), "name", api_col_text(st, 1),
			 "platform", api_col_text(st, 2), "bundle_id", api_col_text(st, 3),
			 "adoption_threshold", sqlite3_column_double(st, 4), "failure_mode",
			 api_col_text(st, 5), "versions", (json_int_t)sqlite3_column_int64(st, 6));
}

#define APP_COLS                                                                        \
	"a.id, a.name, a.platform, a.bundle_id, a.adoption_threshold, a.failure_mode, " \
	"(SELECT count(*) FROM versions v WHERE v.app_id = a.id)"

void api_apps_list(struct api_req *req)
{
	int64_t limit, cursor;
	if (api_page(req, &limit, &cursor))
		return;
	const char *platform = api_query(req, "platform");
	sqlite3_stmt *st =
		db_stmt(req->db, "SELECT " APP_COLS " FROM apps a WHERE a.id > ?1 "
				 "AND (?2 IS NULL OR a.platform = ?2) ORDER BY a.id LIMIT ?3");
	if (!st) {
		api_db_error(req);
		return;
	}
	sqlite3_bind_int64(st, 1, cursor);
	if (platform)
		sqlite3_bind_text(st, 2, platform, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit + 1);
	run_list(req, st, limit, app_row);
}

/* Versions of app @app_id with adoption history and pin policies. */
static json_t *app_versions(struct db *db, int64_t app_id)
{
	sqlite3_stmt *vs =
		db_stmt(db, "SELECT id, version, released FROM versions WHERE app_id = ? "
			    "ORDER BY coalesce(released, ''), id");
	sqlite3_stmt *as = db_stmt(db, "SELECT at, share, active_users FROM adoption "
				       "WHERE version_id = ? ORDER BY at");
	sqlite3_stmt *ps =
		db_stmt(db, "SELECT id, pattern, include_subdomains, enforce, expires, source "
			    "FROM pin_policies WHERE version_id = ? ORDER BY pattern, id");
	sqlite3_stmt *ns = db_stmt(db, "SELECT sha256, role FROM pins WHERE policy_id = ? "
				       "ORDER BY role DESC, sha256");
	if (!vs || !as || !ps || !ns)
		return NULL;
	json_t *arr = json_array();
	sqlite3_bind_int64(vs, 1, app_id);
	while (arr && sqlite3_step(vs) == SQLITE_ROW) {
		int64_t vid = sqlite3_column_int64(vs, 0);
		json_t *ad = json_array(), *pol = json_array();
		sqlite3_bind_int64(as, 1, vid);
		while (ad && sqlite3_step(as) == SQLITE_ROW)
			json_array_append_new(
				ad, json_pack("{s:o, s:f, s:o}", "at", api_col_text(as, 0), "share",
					      sqlite3_column_double(as, 1), "active_users",
					      sqlite3_column_type(as, 2) == SQLITE_NULL
						      ? json_null()
						      : json_integer(sqlite3_column_int64(as, 2))));
		sqlite3_reset(as);
		sqlite3_bind_int64(ps, 1, vid);
		while (pol && sqlite3_step(ps) == SQLITE_ROW) {
			json_t *pins = json_array();
			sqlite3_bind_int64(ns, 1, sqlite3_column_int64(ps, 0));
			while (pins && sqlite3_step(ns) == SQLITE_ROW)
				json_array_append_new(pins, json_pack("{s:o, s:o}", "sha256",
								      api_col_text(ns, 0), "role",
								      api_col_text(ns, 1)));
			sqlite3_reset(ns);
			json_array_append_new(
				pol, json_pack("{s:I, s:o, s:b, s:b, s:o, s:o, s:o}", "id",
					       (json_int_t)sqlite3_column_int64(ps, 0), "pattern",
					       api_col_text(ps, 1), "include_subdomains",
					       sqlite3_column_int(ps, 2), "enforce",
					       sqlite3_column_int(ps, 3), "expires",
					       api_col_text(ps, 4), "source", api_col_text(ps, 5),
					       "pins", pins ? pins : json_array()));
		}
		sqlite3_reset(ps);
		json_t *v =
			json_pack("{s:I, s:o, s:o, s:o, s:o}", "id", (json_int_t)vid, "version",
				  api_col_text(vs, 1), "released", api_col_text(vs, 2), "adoption",
				  ad ? ad : json_array(), "pin_policies", pol ? pol : json_array());
		if (!v || json_array_append_new(arr, v)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	sqlite3_reset(vs);
	return arr;
}

void api_app_get(struct api_req *req)
{
	int64_t id;
	if (api_param_id(req, 0, &id))
		return;
	sqlite3_stmt *st = db_stmt(req->db, "SELECT " APP_COLS " FROM apps a WHERE a.id = ?");
	if (!st) {
		api_db_error(req);
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	json_t *app = rc == SQLITE_ROW ? app_row(st) : NULL;
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		api_error(req, 404, "not_found", "no app with id %lld", (long long)id);
		return;
	}
	if (rc != SQLITE_ROW) {
		api_db_error(req);
		return;
	}
	json_t *versions = app_versions(req->db, id);
	if (!versions) {
		json_decref(app);
		api_db_error(req);
		return;
	}
	json_object_set_new(app, "versions", versions);
	api_ok(req, 200, app);
}

/* ---- audit ------------------------------------------------------------ */

static json_t *json_col(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	json_t *j = json_loads((const char *)sqlite3_column_text(st, col), JSON_DECODE_ANY, NULL);
	return j ? j : api_col_text(st, col);
}

static json_t *audit_row(sqlite3_stmt *st)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
			 (json_int_t)sqlite3_column_int64(st, 0), "at", api_col_time(st, 1),
			 "actor", api_col_text(st, 2), "action", api_col_text(st, 3), "object_type",
			 api_col_text(st, 4), "object_id", api_col_text(st, 5), "before",
			 json_col(st, 6), "after", json_col(st, 7), "prev_hash",
			 api_col_text(st, 8), "hash", api_col_text(st, 9));
}

void api_audit_list(struct api_req *req)
{
	int64_t limit, cursor;
	time_t since = 0, until = 0;
	if (api_page(req, &limit, &cursor))
		return;
	const char *actor = api_query(req, "actor"), *action = api_query(req, "action"),
		   *otype = api_query(req, "object_type"), *oid = api_query(req, "object_id"),
		   *s_since = api_query(req, "since"), *s_until = api_query(req, "until");
	if ((s_since && util_parse_time(s_since, &since)) ||
	    (s_until && util_parse_time(s_until, &until))) {
		api_error(req, 400, "bad_request",
			  "since/until must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
		return;
	}
	sqlite3_stmt *st = db_stmt(
		req->db, "SELECT id, at, actor, action, object_type, object_id, before, after, "
			 "prev_hash, hash "
			 "FROM audit_log WHERE (?1 = 0 OR id < ?1) AND (?2 IS NULL OR actor = ?2) "
			 "AND (?3 IS NULL OR action = ?3) AND (?4 IS NULL OR object_type = ?4) "
			 "AND (?5 IS NULL OR object_id = ?5) AND (?6 = 0 OR at >= ?6) AND (?7 = 0 "
			 "OR at < ?7) "
			 "ORDER BY id DESC LIMIT ?8");
	if (!st) {
		api_db_error(req);
		return;
	}
	sqlite3_bind_int64(st, 1, cursor);
	if (actor)
		sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
	if (action)
		sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	if (otype)
		sqlite3_bind_text(st, 4, otype, -1, SQLITE_STATIC);
	if (oid)
		sqlite3_bind_text(st, 5, oid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)since);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)until);
	sqlite3_bind_int64(st, 8, limit + 1);
	run_list(req, st, limit, audit_row);
}

/* ---- certificates served now ------------------------------------------ */

static json_t *cert_row(sqlite3_stmt *st)
{
	char pin[48] = "", nb[32], na[32];
	if (sqlite3_column_bytes(st, 5) == 32)
		util_pin_b64(sqlite3_column_blob(st, 5), pin);
	json_t *eps = json_loads((const char *)sqlite3_column_text(st, 7), 0, NULL);
	json_t *addrs = json_loads((const char *)sqlite3_column_text(st, 8), 0, NULL);
	time_t not_after = (time_t)sqlite3_column_int64(st, 4);
	return json_pack("{s:I, s:o, s:o, s:s, s:s, s:s, s:b, s:o, s:o, s:I}", "id",
			 (json_int_t)sqlite3_column_int64(st, 0), "subject", api_col_text(st, 1),
			 "issuer", api_col_text(st, 2), "not_before",
			 util_fmt_time((time_t)sqlite3_column_int64(st, 3), nb, sizeof(nb)),
			 "not_after", util_fmt_time(not_after, na, sizeof(na)), "pin", pin, "is_ca",
			 sqlite3_column_int(st, 6), "endpoints", eps ? eps : json_array(),
			 "addresses", addrs ? addrs : json_array(), "days_left",
			 (json_int_t)expiry_days_left(not_after, util_now()));
}

void api_certificates_list(struct api_req *req)
{
	int64_t limit, cursor;
	if (api_page(req, &limit, &cursor))
		return;
	sqlite3_stmt *st = db_stmt(
		req->db,
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
		"ORDER BY c.id LIMIT ?2");
	if (!st) {
		api_db_error(req);
		return;
	}
	sqlite3_bind_int64(st, 1, cursor);
	sqlite3_bind_int64(st, 2, limit + 1);
	run_list(req, st, limit, cert_row);
}
