#include "store/audit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "base/util.h"

static const char zero_hash[] = "0000000000000000000000000000000000000000000000000000000000000000";

/* Largest before/after text accepted into one row (a whole app with many versions fits). */
#define AUDIT_MAX_JSON (16u << 20)

static size_t netstring_len(const char *s)
{
	if (!s)
		return 2;
	return strlen(s) + 22; /* up to 20 digits, ':' and ',' */
}

static size_t put_netstring(char *p, size_t cap, const char *s)
{
	int n;
	if (!s)
		n = snprintf(p, cap, "~,");
	else
		n = snprintf(p, cap, "%zu:%s,", strlen(s), s);
	return n < 0 ? 0 : (size_t)n;
}

int audit_canonical(int64_t at, const char *actor, const char *action, const char *object_type,
		    const char *object_id, const char *before, const char *after, char **out,
		    size_t *outlen)
{
	char atbuf[24];
	snprintf(atbuf, sizeof(atbuf), "%" PRId64, at);
	const char *fields[] = { atbuf, actor, action, object_type, object_id, before, after };
	size_t cap = 1;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		cap += netstring_len(fields[i]);
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	size_t len = 0;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		len += put_netstring(buf + len, cap - len, fields[i]);
	*out = buf;
	*outlen = len;
	return 0;
}

static int row_hash(const char *prev, int64_t at, const char *actor, const char *action,
		    const char *type, const char *id, const char *before, const char *after,
		    char out[AUDIT_HASH_HEX])
{
	char *canon = NULL;
	size_t clen = 0;
	int rc = audit_canonical(at, actor, action, type, id, before, after, &canon, &clen);
	if (rc)
		return rc;
	const struct util_piece parts[] = { { prev, 64 }, { canon, clen } };
	uint8_t digest[32];
	rc = util_sha256_parts(parts, 2, digest);
	free(canon);
	if (rc)
		return rc;
	util_hex(digest, 32, out);
	return 0;
}

static char *dump_json(json_t *j, int *rc)
{
	*rc = 0;
	if (!j)
		return NULL;
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII |
					JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
	if (!s)
		*rc = -ENOMEM;
	else if (strlen(s) > AUDIT_MAX_JSON) {
		free(s);
		s = NULL;
		*rc = -E2BIG;
	}
	return s;
}

static int last_hash(struct db *db, char out[AUDIT_HASH_HEX], int64_t *count)
{
	static const char sql[] = "SELECT hash, (SELECT count(*) FROM audit_log) FROM audit_log "
				  "ORDER BY id DESC LIMIT 1";
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return -EIO;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(s, 0);
		snprintf(out, AUDIT_HASH_HEX, "%s", h ? (const char *)h : "");
		if (count)
			*count = sqlite3_column_int64(s, 1);
	} else if (rc == SQLITE_DONE) {
		memcpy(out, zero_hash, AUDIT_HASH_HEX);
		if (count)
			*count = 0;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_errno(rc);
}

int audit_head(struct db *db, char out[AUDIT_HASH_HEX], int64_t *count, char *err, size_t errlen)
{
	int rc = last_hash(db, out, count);
	if (rc)
		return util_err(err, errlen, rc, "reading the audit log: %s", db_errmsg(db));
	return 0;
}

int audit_append(struct db *db, const char *actor, const char *action, const char *object_type,
		 const char *object_id, json_t *before, json_t *after, char *err, size_t errlen)
{
	static const char sql[] =
		"INSERT INTO audit_log (at, actor, action, object_type, object_id, "
		"before, after, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)";
	char prev[AUDIT_HASH_HEX], hash[AUDIT_HASH_HEX];
	char *b = NULL, *a = NULL;
	int rc;

	if (sqlite3_get_autocommit(db_handle(db)))
		return util_err(err, errlen, -EINVAL, "audit_append outside a transaction");
	if (!actor || !*actor || strlen(actor) > 128 || !action || !*action ||
	    strlen(action) > 64 || !object_type || !*object_type || strlen(object_type) > 64)
		return util_err(err, errlen, -EINVAL,
				"audit row: bad actor, action or object type");
	b = dump_json(before, &rc);
	if (rc)
		goto fail;
	a = dump_json(after, &rc);
	if (rc)
		goto fail;
	if ((rc = last_hash(db, prev, NULL)) != 0)
		goto fail;
	int64_t at = (int64_t)util_now();
	if ((rc = row_hash(prev, at, actor, action, object_type, object_id, b, a, hash)) != 0)
		goto fail;
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s) {
		rc = -EIO;
		goto fail;
	}
	struct db_binder bd = db_binder(s);
	db_bind_int64(&bd, at);
	db_bind_text(&bd, actor);
	db_bind_text(&bd, action);
	db_bind_text(&bd, object_type);
	db_bind_text(&bd, object_id);
	db_bind_text(&bd, b);
	db_bind_text(&bd, a);
	db_bind_text(&bd, prev);
	db_bind_text(&bd, hash);
	int src = db_bound_step(&bd);
	sqlite3_reset(s);
	rc = src == SQLITE_DONE ? 0 : db_errno(src);
fail:
	if (rc)
		util_err(err, errlen, rc, "writing the audit log: %s",
			 rc == -ENOMEM	? "out of memory"
			 : rc == -E2BIG ? "object too large"
					: db_errmsg(db));
	free(b);
	free(a);
	return rc;
}

int audit_commit(struct db *db, const char *actor, const char *action, const char *object_type,
		 int64_t object_id, json_t *before, json_t *after, char *err, size_t errlen)
{
	char ids[24];
	snprintf(ids, sizeof(ids), "%lld", (long long)object_id);
	int rc = audit_append(db, actor, action, object_type, ids, before, after, err, errlen);
	if (!rc && (rc = db_commit(db)) != 0)
		util_err(err, errlen, rc, "%s", db_errmsg(db));
	if (rc)
		db_rollback(db);
	return rc;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static json_t *parse_or_string(const char *t)
{
	if (!t)
		return json_null();
	json_t *j = json_loads(t, JSON_DECODE_ANY, NULL);
	return j ? j : json_string(t); /* tampered text is still shown, as a string */
}

int audit_list(struct db *db, const struct audit_filter *f, json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
		"SELECT id, at, actor, action, object_type, object_id, before, after, prev_hash, "
		"hash "
		"FROM audit_log WHERE at >= ?1 AND id > ?2 AND (?3 IS NULL OR object_type = ?3) "
		"AND (?4 IS NULL OR object_id = ?4) ORDER BY id LIMIT ?5";
	struct audit_filter none = { 0 };
	if (!f)
		f = &none;
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return util_err(err, errlen, -EIO, "reading the audit log: %s", db_errmsg(db));
	struct db_binder b = db_binder(s);
	db_bind_int64(&b, (int64_t)f->since);
	db_bind_int64(&b, f->after_id);
	db_bind_text(&b, f->object_type);
	db_bind_text(&b, f->object_type ? f->object_id : NULL);
	db_bind_int64(&b, f->limit > 0 ? f->limit : -1);
	if (db_bound(&b) != SQLITE_OK)
		return util_err(err, errlen, db_errno(db_bound(&b)), "reading the audit log: %s",
				db_errmsg(db));
	json_t *arr = json_array();
	int rc;
	while (arr && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		char when[32];
		util_fmt_time((time_t)sqlite3_column_int64(s, 1), when, sizeof(when));
		const char *oid = col_text(s, 5);
		json_t *row = json_pack("{sI ss ss ss ss so so so ss ss}", "id",
					(json_int_t)sqlite3_column_int64(s, 0), "at", when, "actor",
					col_text(s, 2) ? col_text(s, 2) : "", "action",
					col_text(s, 3) ? col_text(s, 3) : "", "object_type",
					col_text(s, 4) ? col_text(s, 4) : "", "object_id",
					oid ? json_string(oid) : json_null(), "before",
					parse_or_string(col_text(s, 6)), "after",
					parse_or_string(col_text(s, 7)), "prev_hash",
					col_text(s, 8) ? col_text(s, 8) : "", "hash",
					col_text(s, 9) ? col_text(s, 9) : "");
		if (!row || json_array_append_new(arr, row)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	sqlite3_reset(s);
	if (!arr)
		return util_err(err, errlen, -ENOMEM, "out of memory listing the audit log");
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return util_err(err, errlen, db_errno(rc), "reading the audit log: %s",
				db_errmsg(db));
	}
	*out = arr;
	return 0;
}

/* Every text column is NULL or TEXT without NUL bytes: text hidden after a
 * NUL would otherwise escape the hash, which is computed over C strings. */
static bool plain_text_row(sqlite3_stmt *s)
{
	for (int i = 2; i <= 9; i++) {
		int t = sqlite3_column_type(s, i);
		if (t == SQLITE_NULL)
			continue;
		if (t != SQLITE_TEXT)
			return false;
		const char *v = col_text(s, i);
		if (!v || strlen(v) != (size_t)sqlite3_column_bytes(s, i))
			return false;
	}
	return true;
}

int audit_verify(struct db *db, const char *expect_head, struct audit_verify_result *res, char *err,
		 size_t errlen)
{
	static const char sql[] = "SELECT id, at, actor, action, object_type, object_id, before, "
				  "after, prev_hash, hash FROM audit_log ORDER BY id";
	char prev[AUDIT_HASH_HEX], h[AUDIT_HASH_HEX];
	int rc = 0, src;

	memset(res, 0, sizeof(*res));
	memcpy(prev, zero_hash, AUDIT_HASH_HEX);
	bool head_seen = expect_head && strcmp(expect_head, zero_hash) == 0;
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s)
		return util_err(err, errlen, -EIO, "reading the audit log: %s", db_errmsg(db));
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		res->rows++;
		/* types first: sqlite3_column_text() converts and spoils column_type() */
		if (sqlite3_column_type(s, 1) != SQLITE_INTEGER || !plain_text_row(s) ||
		    !col_text(s, 2) || !col_text(s, 3) || !col_text(s, 4)) {
			res->bad_id = id;
			snprintf(res->reason, sizeof(res->reason),
				 "row has missing or mistyped fields (the row was edited)");
			break;
		}
		const char *stored_prev = col_text(s, 8), *stored = col_text(s, 9);
		if (!stored_prev || strcmp(stored_prev, prev) != 0) {
			res->bad_id = id;
			snprintf(
				res->reason, sizeof(res->reason),
				"prev_hash does not match the previous row's hash (a row before it "
				"was deleted or changed)");
			break;
		}
		rc = row_hash(prev, sqlite3_column_int64(s, 1), col_text(s, 2), col_text(s, 3),
			      col_text(s, 4), col_text(s, 5), col_text(s, 6), col_text(s, 7), h);
		if (rc) {
			sqlite3_reset(s);
			return util_err(err, errlen, rc, "hashing the audit log: out of memory");
		}
		if (!stored || strcmp(stored, h) != 0) {
			res->bad_id = id;
			snprintf(res->reason, sizeof(res->reason),
				 "content does not match its hash (the row was edited)");
			break;
		}
		memcpy(prev, h, AUDIT_HASH_HEX);
		if (expect_head && strcmp(expect_head, h) == 0)
			head_seen = true;
	}
	sqlite3_reset(s);
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		return util_err(err, errlen, db_errno(src), "reading the audit log: %s",
				db_errmsg(db));
	memcpy(res->head, prev, AUDIT_HASH_HEX);
	if (res->bad_id)
		return -EBADMSG;
	if (expect_head && !head_seen) {
		res->head_missing = true;
		snprintf(res->reason, sizeof(res->reason),
			 "the expected head %.64s is not in the chain (rows were deleted from the "
			 "tail or the log was rewritten)",
			 expect_head);
		return -EBADMSG;
	}
	return 0;
}
