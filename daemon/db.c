#include "db.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "util.h"

#define STMT_CACHE 128

struct stmt_slot {
	const char *key;
	sqlite3_stmt *stmt;
};

struct db {
	sqlite3 *h;
	struct stmt_slot cache[STMT_CACHE];
	size_t ncache;
};

int db_schema_version(void)
{
	int v = 0;
	for (const struct db_migration *m = db_migrations; m->version; m++)
		v = m->version;
	return v;
}

int db_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_TOOBIG:
		return -E2BIG;
	default:
		return -EIO;
	}
}

sqlite3 *db_handle(struct db *db)
{
	return db->h;
}

const char *db_errmsg(struct db *db)
{
	return sqlite3_errmsg(db->h);
}

int db_exec(struct db *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		util_err(err, errlen, 0, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return db_errno(rc);
	}
	return 0;
}

int db_begin(struct db *db)
{
	return db_exec(db, "BEGIN IMMEDIATE", NULL, 0);
}

int db_commit(struct db *db)
{
	return db_exec(db, "COMMIT", NULL, 0);
}

void db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		(void)sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

sqlite3_stmt *db_stmt(struct db *db, const char *sql)
{
	for (size_t i = 0; i < db->ncache; i++) {
		if (db->cache[i].key == sql) {
			sqlite3_stmt *s = db->cache[i].stmt;
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			return s;
		}
	}
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		return NULL;
	if (db->ncache < STMT_CACHE) {
		db->cache[db->ncache].key = sql;
		db->cache[db->ncache].stmt = s;
		db->ncache++;
	} else {
		/* Cache full: evict the oldest slot (rare; keeps memory bounded). */
		sqlite3_finalize(db->cache[0].stmt);
		memmove(&db->cache[0], &db->cache[1], sizeof(db->cache[0]) * (STMT_CACHE - 1));
		db->cache[STMT_CACHE - 1].key = sql;
		db->cache[STMT_CACHE - 1].stmt = s;
	}
	return s;
}

int db_query_int(struct db *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db->h, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_errno(rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
}

static int check_pragmas(struct db *db, unsigned flags, char *err, size_t errlen)
{
	int64_t v;
	char jm[16] = "";
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(db->h, "PRAGMA journal_mode", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);
		snprintf(jm, sizeof(jm), "%s", t ? (const char *)t : "");
	}
	sqlite3_finalize(s);
	if (strcmp(jm, "wal") != 0 && !(flags & DB_READONLY))
		return util_err(err, errlen, -EIO, "journal_mode is '%s', expected wal", jm);
	if (db_query_int(db, "PRAGMA foreign_keys", &v) || v != 1)
		return util_err(err, errlen, -EIO, "foreign_keys could not be enabled");
	if (db_query_int(db, "PRAGMA synchronous", &v) || v != 2)
		return util_err(err, errlen, -EIO, "synchronous=FULL could not be set");
	if (db_query_int(db, "PRAGMA busy_timeout", &v) || v != 5000)
		return util_err(err, errlen, -EIO, "busy_timeout could not be set");
	return 0;
}

static int quick_check(struct db *db, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db->h, "PRAGMA quick_check", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return util_err(err, errlen, db_errno(rc), "quick_check: %s",
				sqlite3_errmsg(db->h));
	rc = sqlite3_step(s);
	const unsigned char *t = rc == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
	int ok = t && strcmp((const char *)t, "ok") == 0;
	if (!ok)
		util_err(err, errlen, 0, "database failed quick_check: %s",
			 t ? (const char *)t : sqlite3_errmsg(db->h));
	sqlite3_finalize(s);
	return ok ? 0 : -EBADMSG;
}

static int migrate(struct db *db, char *err, size_t errlen)
{
	int64_t cur;
	char msg[ERRLEN];
	int rc;

	if (db_query_int(db, "PRAGMA user_version", &cur))
		return util_err(err, errlen, -EIO, "reading user_version: %s", db_errmsg(db));
	int latest = db_schema_version();
	if (cur > latest)
		return util_err(
			err, errlen, -EPROTO,
			"database schema version %lld is newer than this pinwatch supports (%d); "
			"upgrade pinwatch or use another database",
			(long long)cur, latest);
	for (const struct db_migration *m = db_migrations; m->version; m++) {
		if (m->version <= cur)
			continue;
		if ((rc = db_begin(db)) != 0)
			return util_err(err, errlen, rc, "migration %03d_%s: %s", m->version,
					m->name, db_errmsg(db));
		rc = db_exec(db, m->sql, msg, sizeof(msg));
		if (rc == 0) {
			char pragma[64];
			snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", m->version);
			rc = db_exec(db, pragma, msg, sizeof(msg));
		}
		if (rc == 0)
			rc = db_commit(db);
		if (rc != 0) {
			db_rollback(db);
			return util_err(err, errlen, rc, "migration %03d_%s failed: %s", m->version,
					m->name, msg);
		}
	}
	return 0;
}

/* SQLite says "unable to open database file" or "disk I/O error" when the
 * file system is read-only or full: name the cause for the operator. */
static const char *fs_hint(const char *path, unsigned flags)
{
	char dir[4096];
	struct statvfs sv;
	if (flags & DB_READONLY || snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir) ||
	    statvfs(dirname(dir), &sv) != 0)
		return "";
	if (sv.f_flag & ST_RDONLY)
		return " (the file system is read-only)";
	if (sv.f_bavail == 0)
		return " (no space left on the file system)";
	return "";
}

struct db *db_open(const char *path, unsigned flags, char *err, size_t errlen)
{
	struct db *db = calloc(1, sizeof(*db));
	int oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	int rc;
	char msg[ERRLEN];

	if (!db) {
		util_err(err, errlen, 0, "out of memory");
		return NULL;
	}
	if (flags & DB_READONLY)
		oflags |= SQLITE_OPEN_READONLY;
	else
		oflags |= SQLITE_OPEN_READWRITE | ((flags & DB_NO_CREATE) ? 0 : SQLITE_OPEN_CREATE);
	rc = sqlite3_open_v2(path, &db->h, oflags, NULL);
	if (rc != SQLITE_OK) {
		util_err(err, errlen, 0, "cannot open database %s: %s%s", path,
			 db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc), fs_hint(path, flags));
		goto fail;
	}
	sqlite3_extended_result_codes(db->h, 1);
	if (db_exec(db,
		    "PRAGMA busy_timeout = 5000;"
		    "PRAGMA foreign_keys = ON;"
		    "PRAGMA synchronous = FULL;",
		    msg, sizeof(msg)) ||
	    (!(flags & DB_READONLY) &&
	     db_exec(db, "PRAGMA journal_mode = WAL", msg, sizeof(msg)))) {
		util_err(err, errlen, 0, "database %s: %s%s", path, msg, fs_hint(path, flags));
		goto fail;
	}
	if (check_pragmas(db, flags, msg, sizeof(msg)) ||
	    (!(flags & DB_NO_CHECK) && quick_check(db, msg, sizeof(msg)))) {
		util_err(err, errlen, 0, "database %s: %s", path, msg);
		goto fail;
	}
	if (flags & DB_READONLY) {
		int64_t cur = 0;
		if (db_query_int(db, "PRAGMA user_version", &cur) || cur != db_schema_version()) {
			util_err(err, errlen, 0, "database %s: schema version %lld, expected %d",
				 path, (long long)cur, db_schema_version());
			goto fail;
		}
	} else if (migrate(db, msg, sizeof(msg))) {
		util_err(err, errlen, 0, "database %s: %s%s", path, msg, fs_hint(path, flags));
		goto fail;
	}
	return db;
fail:
	db_close(db);
	return NULL;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->ncache; i++)
		sqlite3_finalize(db->cache[i].stmt);
	sqlite3_close(db->h);
	free(db);
}
