#include "store/db.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/util.h"

#define STMT_CACHE 128

struct stmt_slot {
	const char *key;
	sqlite3_stmt *stmt;
};

struct db {
	sqlite3 *h;
	struct stmt_slot cache[STMT_CACHE];
	size_t ncache;
	bool ro;	/* opened read-only (DB_READONLY or the DB_RO_FALLBACK path) */
	bool immutable; /* opened with immutable=1 (see open_ro) */
	char why[160];	/* DB_RO_FALLBACK: why the connection is read-only */
	char path[4096];
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

int db_last_errno(struct db *db)
{
	return db_errno(sqlite3_errcode(db->h));
}

/* access(2), not open(2): closing a descriptor of the database file would
 * drop every POSIX lock this process holds on it (SQLite's among them). */
bool db_fs_readonly(const struct db *db)
{
	return access(db->path, W_OK) != 0 && errno == EROFS;
}

/* db_errno(), but an I/O error caused by a read-only file system (the file
 * system was remounted under an open connection) is -EROFS, not -EIO. */
static int conn_errno(struct db *db, int rc)
{
	if (((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN) &&
	    (sqlite3_system_errno(db->h) == EROFS || db_fs_readonly(db)))
		return -EROFS;
	return db_errno(rc);
}

bool db_failed_readonly(struct db *db)
{
	int rc = sqlite3_extended_errcode(db->h);
	if ((rc & 0xff) == SQLITE_READONLY)
		return true;
	return conn_errno(db, rc) == -EROFS;
}

bool db_readonly(const struct db *db)
{
	return db->ro;
}

const char *db_readonly_why(const struct db *db)
{
	return db->why;
}

int db_exec(struct db *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		util_err(err, errlen, 0, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return conn_errno(db, rc);
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

int db_tx_begin(struct db *db, bool *owned, char *err, size_t errlen)
{
	*owned = false;
	if (!sqlite3_get_autocommit(db->h))
		return 0;
	int rc = db_begin(db);
	if (rc)
		return util_err(err, errlen, rc, "cannot start a transaction: %s", db_errmsg(db));
	*owned = true;
	return 0;
}

int db_tx_end(struct db *db, bool owned, int rc, char *err, size_t errlen)
{
	if (!owned)
		return rc;
	if (rc) {
		db_rollback(db);
		return rc;
	}
	rc = db_commit(db);
	if (rc) {
		util_err(err, errlen, rc, "commit failed: %s", db_errmsg(db));
		db_rollback(db);
	}
	return rc;
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

static bool fs_readonly(const char *path)
{
	char dir[4096];
	struct statvfs sv;
	if (util_path(dir, sizeof(dir), "%s", path) || statvfs(dirname(dir), &sv) != 0)
		return false;
	return (sv.f_flag & ST_RDONLY) != 0;
}

/* SQLite says "unable to open database file" or "disk I/O error" when the
 * file system is read-only or full: name the cause for the operator. */
static const char *fs_hint(const char *path, unsigned flags)
{
	char dir[4096];
	struct statvfs sv;
	if (flags & DB_READONLY || util_path(dir, sizeof(dir), "%s", path) ||
	    statvfs(dirname(dir), &sv) != 0)
		return "";
	if (sv.f_flag & ST_RDONLY)
		return " (the file system is read-only)";
	if (sv.f_bavail == 0)
		return " (no space left on the file system)";
	return "";
}

/* No committed transaction can be waiting in @path's WAL: the -wal file is
 * absent or empty. */
static bool wal_empty(const char *path)
{
	char wal[4096 + 8];
	struct stat st;
	if (util_path(wal, sizeof(wal), "%s-wal", path))
		return false; /* cannot tell: not empty */
	if (stat(wal, &st) != 0)
		return errno == ENOENT;
	return st.st_size == 0;
}

/* "file:" URI for @path with immutable=1 (percent-encoded by libcurl;
 * SQLite decodes every escape of the path, '/' included). */
static int immutable_uri(const char *path, char *out, size_t outlen)
{
	char *esc = curl_easy_escape(NULL, path, 0);
	if (!esc)
		return -ENOMEM;
	int w = snprintf(out, outlen, "file:%s?immutable=1", esc);
	curl_free(esc);
	return w < 0 || (size_t)w >= outlen ? -ENAMETOOLONG : 0;
}

/* Open @db->path read-only. A WAL database can be read by a read-only
 * connection only when its -shm can be opened (or created) and its -wal
 * exists: after a clean shutdown both are gone, and on a read-only file
 * system neither can be created, so the first read fails with "unable to
 * open database file". For DB_RO_FALLBACK the database is then opened with
 * immutable=1 (no locks, no -wal/-shm), but only when BOTH hold:
 *  - statvfs says the file system is read-only for us, so this process
 *    cannot change the file, and
 *  - there is no -wal content: immutable ignores the WAL, so committed
 *    transactions still in it would be invisible.
 * Another mount of the same file system could still change the file (a
 * read-only bind mount): our reads may then be stale or fail, never write;
 * db_should_reopen() notices a WAL appearing and callers reopen. */
static int open_ro(struct db *db, unsigned flags, char *err, size_t errlen)
{
	int oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_READONLY;
	int64_t v;
	int rc = sqlite3_open_v2(db->path, &db->h, oflags, NULL);
	if (rc == SQLITE_OK)
		sqlite3_extended_result_codes(db->h, 1);
	if (rc == SQLITE_OK && db_query_int(db, "PRAGMA user_version", &v) == 0)
		return 0;
	if (!(flags & DB_RO_FALLBACK) || !fs_readonly(db->path) || !wal_empty(db->path))
		return util_err(err, errlen, -EROFS, "cannot open database %s read-only: %s%s",
				db->path, db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc),
				fs_hint(db->path, 0));
	sqlite3_close(db->h);
	db->h = NULL;
	char uri[3 * 4096 + 32];
	if (immutable_uri(db->path, uri, sizeof(uri)))
		return util_err(err, errlen, -ENAMETOOLONG, "database path too long");
	rc = sqlite3_open_v2(uri, &db->h, oflags | SQLITE_OPEN_URI, NULL);
	if (rc != SQLITE_OK)
		return util_err(err, errlen, -EIO, "cannot open database %s read-only: %s",
				db->path, db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
	sqlite3_extended_result_codes(db->h, 1);
	db->immutable = true;
	return 0;
}

bool db_should_reopen(struct db *db, bool writable)
{
	if (!db || !db->ro || !db->why[0])
		return false;
	return writable || (db->immutable && !wal_empty(db->path));
}

/* Connection settings of every open (none of them writes). */
static const char CONN_PRAGMAS[] = "PRAGMA busy_timeout = 5000;"
				   "PRAGMA foreign_keys = ON;"
				   "PRAGMA synchronous = FULL;";

/* DB_RO_FALLBACK: give up the read-write connection (@why it cannot write,
 * or NULL when db->why says it already) and open read-only instead. */
static int fall_back_ro(struct db *db, unsigned flags, const char *why, char *err, size_t errlen)
{
	sqlite3_close(db->h);
	db->h = NULL;
	if (why)
		snprintf(db->why, sizeof(db->why), "%s", why);
	db->ro = true;
	return open_ro(db, flags, err, errlen);
}

/* The database holds webhook secrets: a new one is created 0600 whatever the
 * umask. SQLite gives its -wal and -shm files the mode of the database file
 * (unix VFS: robust_open() fchmods them to it), so they follow. An existing
 * file keeps its mode; failures are left for sqlite3_open_v2() to report. */
static void create_private(const char *path)
{
	if (!path[0] || path[0] == ':' || !strncmp(path, "file:", 5))
		return;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	(void)fchmod(fd, 0600);
	close(fd);
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
	if (util_path(db->path, sizeof(db->path), "%s", path)) {
		util_err(err, errlen, 0, "database path too long: %.64s...", path);
		goto fail;
	}
	if (flags & DB_READONLY) {
		db->ro = true;
		if (open_ro(db, flags & ~DB_RO_FALLBACK, err, errlen))
			goto fail;
		goto opened;
	}
	oflags |= SQLITE_OPEN_READWRITE | ((flags & DB_NO_CREATE) ? 0 : SQLITE_OPEN_CREATE);
	if (!(flags & DB_NO_CREATE))
		create_private(path);
	rc = sqlite3_open_v2(path, &db->h, oflags, NULL);
	if (rc == SQLITE_OK && sqlite3_db_readonly(db->h, "main") == 1) {
		/* SQLite fell back to a read-only open by itself: the file (or its
		 * file system) cannot be written. */
		snprintf(db->why, sizeof(db->why), "%s",
			 fs_readonly(path) ? "the file system is read-only"
					   : "the file cannot be opened for writing");
		if (!(flags & DB_RO_FALLBACK)) {
			util_err(err, errlen, 0, "database %s is read-only (%s)", path, db->why);
			goto fail;
		}
	} else if (rc != SQLITE_OK) {
		bool rofs = fs_readonly(path);
		util_err(err, errlen, 0, "cannot open database %s: %s%s", path,
			 db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc), fs_hint(path, flags));
		if (!(flags & DB_RO_FALLBACK) || !rofs)
			goto fail;
		snprintf(db->why, sizeof(db->why), "the file system is read-only");
	}
	if (db->why[0]) {
		if (fall_back_ro(db, flags, NULL, err, errlen))
			goto fail;
		goto opened;
	}
	sqlite3_extended_result_codes(db->h, 1);
	if (db_exec(db, CONN_PRAGMAS, msg, sizeof(msg)) ||
	    db_exec(db, "PRAGMA journal_mode = WAL", msg, sizeof(msg))) {
		bool rofs = fs_readonly(path);
		util_err(err, errlen, 0, "database %s: %s%s", path, msg, fs_hint(path, flags));
		if (!(flags & DB_RO_FALLBACK) || !rofs ||
		    fall_back_ro(db, flags, "the file system is read-only", err, errlen))
			goto fail;
	}
opened:
	if (db->ro && db_exec(db, CONN_PRAGMAS, msg, sizeof(msg))) {
		util_err(err, errlen, 0, "database %s: %s", path, msg);
		goto fail;
	}
	if (check_pragmas(db, db->ro ? DB_READONLY : 0, msg, sizeof(msg)) ||
	    (!(flags & DB_NO_CHECK) && quick_check(db, msg, sizeof(msg)))) {
		util_err(err, errlen, 0, "database %s: %s", path, msg);
		goto fail;
	}
	if (db->ro) {
		int64_t cur = 0;
		if (db_query_int(db, "PRAGMA user_version", &cur) || cur != db_schema_version()) {
			util_err(err, errlen, 0, "database %s: schema version %lld, expected %d%s",
				 path, (long long)cur, db_schema_version(),
				 db->why[0] ? " (a read-only database cannot be migrated)" : "");
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

/* One step of a sticky binder: run @rc = bind(...) only while no earlier
 * bind failed, then move to the next parameter. */
#define BINDER_STEP(b, call)              \
	do {                              \
		if ((b)->rc == SQLITE_OK) \
			(b)->rc = (call); \
		(b)->next++;              \
	} while (0)

void db_bind_int64(struct db_binder *b, int64_t v)
{
	BINDER_STEP(b, sqlite3_bind_int64(b->st, b->next, v));
}

void db_bind_double(struct db_binder *b, double v)
{
	BINDER_STEP(b, sqlite3_bind_double(b->st, b->next, v));
}

void db_bind_text(struct db_binder *b, const char *s)
{
	BINDER_STEP(b, s ? sqlite3_bind_text(b->st, b->next, s, -1, SQLITE_STATIC)
			 : sqlite3_bind_null(b->st, b->next));
}

void db_bind_blob(struct db_binder *b, const void *p, size_t n)
{
	BINDER_STEP(b, n > INT_MAX ? SQLITE_TOOBIG
				   : sqlite3_bind_blob(b->st, b->next, p, (int)n, SQLITE_STATIC));
}

void db_bind_null(struct db_binder *b)
{
	BINDER_STEP(b, sqlite3_bind_null(b->st, b->next));
}

int db_stmt_fail(struct db *db, int src, const char *what, char *err, size_t errlen)
{
	if (src == SQLITE_OK)
		src = sqlite3_errcode(db->h);
	int rc = db_errno(src) == -EBUSY ? -EBUSY : -EIO;
	return util_err(err, errlen, rc, "%s: %s", what, db_errmsg(db));
}

/* Check the binding of @b and step it once (no reset): 0 with the step's
 * SQLITE_ROW or SQLITE_DONE in *src, or the error. */
static int run_step(struct db *db, struct db_binder *b, int *src, const char *what, char *err,
		    size_t errlen)
{
	*src = SQLITE_ERROR;
	if (db_bound(b) != SQLITE_OK)
		return db_stmt_fail(db, b->st ? db_bound(b) : SQLITE_OK, what, err, errlen);
	*src = sqlite3_step(b->st);
	if (*src != SQLITE_ROW && *src != SQLITE_DONE)
		return db_stmt_fail(db, *src, what, err, errlen);
	return 0;
}

int db_run(struct db *db, struct db_binder *b, const char *what, char *err, size_t errlen)
{
	int src;
	int rc = run_step(db, b, &src, what, err, errlen);
	if (b->st)
		sqlite3_reset(b->st);
	return rc;
}

int db_run_int(struct db *db, struct db_binder *b, int64_t *out, bool *found, const char *what,
	       char *err, size_t errlen)
{
	int src;
	int rc = run_step(db, b, &src, what, err, errlen);
	bool row = rc == 0 && src == SQLITE_ROW;
	*out = row ? sqlite3_column_int64(b->st, 0) : 0;
	if (found)
		*found = row;
	if (b->st)
		sqlite3_reset(b->st);
	return rc;
}
