#include "store/tokens.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

#include "store/audit.h"
#include "store/db.h"
#include "store/dbhealth.h"
#include "base/util.h"

static const char *const role_names[] = { NULL, "read", "write", "admin" };

const char *tokens_role_name(enum token_role r)
{
	if ((unsigned)r >= ARRAY_SIZE(role_names))
		return NULL;
	return role_names[r];
}

int tokens_parse_role(const char *s, enum token_role *out)
{
	for (size_t i = 1; s && i < ARRAY_SIZE(role_names); i++) {
		if (strcmp(s, role_names[i]) == 0) {
			*out = (enum token_role)i;
			return 0;
		}
	}
	return -EINVAL;
}

int tokens_check_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > TOKEN_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

/* The digest is over the whole presented string, prefix included. */
static int token_digest(const char *token, uint8_t out[32])
{
	return util_sha256(token, strlen(token), out);
}

static int token_well_formed(const char *t)
{
	if (!t || strncmp(t, "pwt_", 4) != 0 || strlen(t) != TOKEN_LEN - 1)
		return 0;
	for (const char *p = t + 4; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

int tokens_create(struct db *db, const char *name, enum token_role role, const char *actor,
		  char *out, size_t outlen, char *err, size_t errlen)
{
	uint8_t rnd[32], digest[32];
	char hex[65];
	int rc;

	if (tokens_check_name(name))
		return util_err(err, errlen, -EINVAL,
				"token name must be 1-%d characters of A-Z a-z 0-9 . _ -",
				TOKEN_NAME_MAX);
	if (!tokens_role_name(role))
		return util_err(err, errlen, -EINVAL, "role must be read, write or admin");
	if (outlen < TOKEN_LEN)
		return util_err(err, errlen, -ENOSPC, "token buffer too small");
	if (gnutls_rnd(GNUTLS_RND_KEY, rnd, sizeof(rnd)) < 0)
		return util_err(err, errlen, -EIO, "random number generator failed");
	snprintf(out, outlen, "pwt_%s", util_hex(rnd, sizeof(rnd), hex));
	memset(rnd, 0, sizeof(rnd));
	if (token_digest(out, digest))
		return util_err(err, errlen, -EIO, "SHA-256 failed");

	if (db_begin(db))
		return util_err(err, errlen, -EIO, "begin: %s", db_errmsg(db));
	sqlite3_stmt *st = db_stmt(db, "INSERT INTO tokens (name, role, hash, created_at) "
				       "VALUES (?, ?, ?, ?)");
	if (!st) {
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
		goto fail;
	}
	struct db_binder b = db_binder(st);
	db_bind_text(&b, name);
	db_bind_text(&b, tokens_role_name(role));
	db_bind_blob(&b, digest, sizeof(digest));
	db_bind_int64(&b, (int64_t)util_now());
	rc = db_bound_step(&b);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		rc = db_errno(rc);
		if (rc == -EEXIST)
			util_err(err, errlen, rc, "a token named '%s' already exists", name);
		else
			util_err(err, errlen, rc, "%s", db_errmsg(db));
		goto fail;
	}
	json_t *after = json_pack("{s:s, s:s}", "name", name, "role", tokens_role_name(role));
	rc = after ? audit_append(db, actor, "create", "token", name, NULL, after, err, errlen)
		   : util_err(err, errlen, -ENOMEM, "out of memory");
	json_decref(after);
	if (rc)
		goto fail;
	if (db_commit(db)) {
		rc = util_err(err, errlen, -EIO, "commit: %s", db_errmsg(db));
		goto fail;
	}
	return 0;
fail:
	db_rollback(db);
	memset(out, 0, outlen);
	return rc;
}

int tokens_revoke(struct db *db, const char *name, const char *actor, char *err, size_t errlen)
{
	int rc;
	if (db_begin(db))
		return util_err(err, errlen, -EIO, "begin: %s", db_errmsg(db));
	sqlite3_stmt *st = db_stmt(db, "UPDATE tokens SET revoked_at = ? "
				       "WHERE name = ? AND revoked_at IS NULL");
	if (!st) {
		rc = util_err(err, errlen, -EIO, "%s", db_errmsg(db));
		goto fail;
	}
	struct db_binder b = db_binder(st);
	db_bind_int64(&b, (int64_t)util_now());
	db_bind_text(&b, name);
	rc = db_bound_step(&b);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		rc = util_err(err, errlen, db_errno(rc), "%s", db_errmsg(db));
		goto fail;
	}
	if (sqlite3_changes(db_handle(db)) == 0) {
		rc = util_err(err, errlen, -ENOENT, "no active token named '%s'", name);
		goto fail;
	}
	json_t *before = json_pack("{s:s, s:b}", "name", name, "revoked", 0);
	json_t *after = json_pack("{s:s, s:b}", "name", name, "revoked", 1);
	rc = before && after
		     ? audit_append(db, actor, "revoke", "token", name, before, after, err, errlen)
		     : util_err(err, errlen, -ENOMEM, "out of memory");
	json_decref(before);
	json_decref(after);
	if (rc)
		goto fail;
	if (db_commit(db)) {
		rc = util_err(err, errlen, -EIO, "commit: %s", db_errmsg(db));
		goto fail;
	}
	return 0;
fail:
	db_rollback(db);
	return rc;
}

static json_t *time_or_null(sqlite3_stmt *st, int col)
{
	char buf[32];
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	return json_string(util_fmt_time((time_t)sqlite3_column_int64(st, col), buf, sizeof(buf)));
}

json_t *tokens_list(struct db *db, char *err, size_t errlen)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT name, role, created_at, last_used_at, revoked_at "
				       "FROM tokens ORDER BY name");
	if (!st) {
		util_err(err, errlen, -EIO, "%s", db_errmsg(db));
		return NULL;
	}
	json_t *arr = json_array();
	int rc;
	while (arr && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o}", "name",
				      (const char *)sqlite3_column_text(st, 0), "role",
				      (const char *)sqlite3_column_text(st, 1), "created_at",
				      time_or_null(st, 2), "last_used_at", time_or_null(st, 3),
				      "revoked_at", time_or_null(st, 4));
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	if (arr && rc != SQLITE_DONE) {
		util_err(err, errlen, -EIO, "%s", db_errmsg(db));
		json_decref(arr);
		arr = NULL;
	} else if (!arr) {
		util_err(err, errlen, -ENOMEM, "out of memory");
	}
	sqlite3_reset(st);
	return arr;
}

enum token_role tokens_verify(struct db *db, const char *token, char *name, size_t namelen)
{
	uint8_t digest[32];
	enum token_role role = TOKEN_NONE;

	if (!token_well_formed(token) || token_digest(token, digest))
		return TOKEN_NONE;
	sqlite3_stmt *st = db_stmt(db, "SELECT hash, name, role, id FROM tokens "
				       "WHERE hash = ? AND revoked_at IS NULL");
	if (!st)
		return TOKEN_NONE;
	struct db_binder b = db_binder(st);
	db_bind_blob(&b, digest, sizeof(digest));
	int64_t id = 0;
	if (db_bound_step(&b) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32 &&
	    gnutls_memcmp(sqlite3_column_blob(st, 0), digest, 32) == 0 &&
	    tokens_parse_role((const char *)sqlite3_column_text(st, 2), &role) == 0) {
		snprintf(name, namelen, "%s", (const char *)sqlite3_column_text(st, 1));
		id = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	if (role != TOKEN_NONE && dbhealth_writable()) {
		/* Best effort and at most once a minute per token: a busy writer must not
		 * fail a read (and a read-only database is not even tried). */
		sqlite3_stmt *up =
			db_stmt(db, "UPDATE tokens SET last_used_at = ?1 WHERE id = ?2 "
				    "AND (last_used_at IS NULL OR last_used_at < ?1 - 60)");
		if (up) {
			sqlite3_busy_timeout(db_handle(db), 0);
			struct db_binder ub = db_binder(up);
			db_bind_int64(&ub, (int64_t)util_now());
			db_bind_int64(&ub, id);
			(void)db_bound_step(&ub); /* best effort, bind errors included */
			sqlite3_reset(up);
			sqlite3_busy_timeout(db_handle(db), 5000);
		}
	}
	return role;
}
