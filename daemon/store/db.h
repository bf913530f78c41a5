/* SQLite access: open with pragmas, embedded migrations, statement helpers.
 *
 * One `struct db` wraps one connection. The daemon owns exactly one writer
 * connection; readers (HTTP handlers) open their own with DB_READONLY.
 */
#ifndef PINWATCH_DB_H
#define PINWATCH_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/** One embedded migration (generated from schema/NNN_name.sql). */
struct db_migration {
	int version;
	const char *name;
	const char *sql;
};
/** Terminated by an entry with version 0. */
extern const struct db_migration db_migrations[];

enum db_flags {
	DB_READONLY = 1 << 0,  /**< open read-only; no migrations (schema must be current) */
	DB_NO_CREATE = 1 << 1, /**< fail if the file does not exist */
	DB_NO_CHECK = 1 << 2,  /**< skip PRAGMA quick_check (for tests/benchmarks on large files) */
	/** when the database cannot be opened for writing because its file system
	 *  (or the file) is read-only, open it read-only instead (no migrations:
	 *  the schema must be current); db_readonly() then says so */
	DB_RO_FALLBACK = 1 << 3,
};

/**
 * Open (creating unless DB_NO_CREATE) the database at @path, set WAL,
 * synchronous=FULL, foreign_keys=ON, busy_timeout=5000, read them back, run
 * quick_check and apply pending migrations, each in one transaction.
 * A database whose user_version is newer than this binary knows is refused.
 * Returns NULL with a message in @err on failure.
 */
struct db *db_open(const char *path, unsigned flags, char *err, size_t errlen);
/** Close; NULL-safe. Finalizes cached statements. */
void db_close(struct db *db);

/** The raw handle, owned by @db. */
sqlite3 *db_handle(struct db *db);
/** Schema version this binary applies (highest embedded migration). */
int db_schema_version(void);

/** BEGIN IMMEDIATE / COMMIT / ROLLBACK. 0 or -EIO (message in @err when given). */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/**
 * Join or open a transaction. When @db's connection is inside one already
 * (sqlite3_get_autocommit() == 0), join it: *owned is false and its owner
 * commits or rolls back. Otherwise BEGIN IMMEDIATE and *owned is true. 0, or
 * the negative errno with "cannot start a transaction: <why>" in @err.
 *
 *	bool owned;
 *	int rc = db_tx_begin(db, &owned, err, errlen);
 *	if (rc)
 *		return rc;
 *	rc = ...writes...;
 *	return db_tx_end(db, owned, rc, err, errlen);
 */
int db_tx_begin(struct db *db, bool *owned, char *err, size_t errlen);
/**
 * End what db_tx_begin() started. When @owned: COMMIT if @rc is 0 (rolled
 * back, with "commit failed: <why>" in @err, when the COMMIT fails), ROLLBACK
 * otherwise. A joined transaction (@owned false) is left to its owner, failed
 * or not. Returns @rc, or the COMMIT's negative errno.
 */
int db_tx_end(struct db *db, bool owned, int rc, char *err, size_t errlen);

/** Run SQL without results. 0 or -EIO with sqlite's message in @err. */
int db_exec(struct db *db, const char *sql, char *err, size_t errlen);

/**
 * A prepared statement from @db's cache keyed by @sql's address (pass string
 * literals). Reset and bindings cleared before it is returned; do not
 * finalize it. NULL on error (db_errmsg tells why).
 */
sqlite3_stmt *db_stmt(struct db *db, const char *sql);
/** Last SQLite error message of @db's connection. */
const char *db_errmsg(struct db *db);
/** The last SQLite error of @db's connection as db_errno() maps it (0: none). */
int db_last_errno(struct db *db);

/**
 * True when @db is a read-only connection: opened with DB_READONLY, or
 * opened read-only by DB_RO_FALLBACK because the database could not be
 * written (db_readonly_why() tells why).
 */
bool db_readonly(const struct db *db);
/** Why a DB_RO_FALLBACK connection is read-only ("" otherwise). */
const char *db_readonly_why(const struct db *db);

/**
 * True when @db, a DB_RO_FALLBACK connection opened read-only, should be
 * closed and opened again: @writable (the database can be written again), or
 * it was opened immutable and a WAL has appeared since (someone writes it).
 * False for every other connection, and for NULL.
 */
bool db_should_reopen(struct db *db, bool writable);

/**
 * True when the last failure on @db came from read-only storage: SQLite's
 * SQLITE_READONLY family, or an I/O error while the file system refuses
 * writes (errno EROFS, or db_fs_readonly(): it was made read-only under an
 * open connection).
 */
bool db_failed_readonly(struct db *db);

/**
 * True when the file system holding @db's file refuses writes now:
 * access(W_OK) fails with EROFS. The check for an I/O error whose
 * errno SQLite did not keep.
 */
bool db_fs_readonly(const struct db *db);

/** Map an SQLite result code to a negative errno (-EBUSY, -ENOSPC, -EROFS, -EEXIST, -EIO...). */
int db_errno(int rc);

/** Run @sql (one row, one integer column) and return it in @out. 0 or -EIO/-ENOENT. */
int db_query_int(struct db *db, const char *sql, int64_t *out);

/**
 * Checked, sticky parameter binding. Each db_bind_*() binds the next
 * parameter (?1, ?2, ... in call order) unless an earlier one failed; the
 * first SQLite error is kept in @rc and db_bound() returns it, so a caller
 * binds everything and checks once:
 *
 *	struct db_binder b = db_binder(st);
 *	db_bind_int64(&b, id);
 *	db_bind_text(&b, name);
 *	if (db_bound(&b) != SQLITE_OK) ...
 *
 * Text and blobs are bound SQLITE_STATIC: keep them alive until the
 * statement is stepped and reset. db_bind_text(NULL) binds SQL NULL.
 */
struct db_binder {
	sqlite3_stmt *st;
	int next; /**< index of the next parameter (1-based) */
	int rc;	  /**< SQLITE_OK or the first error */
};
static inline struct db_binder db_binder(sqlite3_stmt *st)
{
	return (struct db_binder){ .st = st, .next = 1, .rc = st ? SQLITE_OK : SQLITE_MISUSE };
}
void db_bind_int64(struct db_binder *b, int64_t v);
void db_bind_double(struct db_binder *b, double v);
void db_bind_text(struct db_binder *b, const char *s);
void db_bind_blob(struct db_binder *b, const void *p, size_t n);
void db_bind_null(struct db_binder *b);
/** SQLITE_OK when every bind so far succeeded, else the first error. */
static inline int db_bound(const struct db_binder *b)
{
	return b->rc;
}
/** sqlite3_step() of @b's statement when every bind succeeded, else the
 * first bind error (the statement is not stepped). */
static inline int db_bound_step(const struct db_binder *b)
{
	return b->rc == SQLITE_OK ? sqlite3_step(b->st) : b->rc;
}

/**
 * A failed statement of @db as an error: -EBUSY when @src (an SQLite result
 * code; SQLITE_OK: the connection's last error) says busy or locked, else
 * -EIO, with "@what: <SQLite's message>" in @err. Never another errno, so
 * that callers' -ENOENT/-EINVAL/-ENOSPC keep their meaning.
 */
int db_stmt_fail(struct db *db, int src, const char *what, char *err, size_t errlen);

/**
 * Step the statement of @b (from db_stmt(), every parameter bound) once, for
 * a statement that writes (or whose rows do not matter), then reset it. A
 * statement that could not be prepared (NULL), be bound or be run fails as
 * db_stmt_fail() says. 0 or that error.
 */
int db_run(struct db *db, struct db_binder *b, const char *what, char *err, size_t errlen);

/**
 * As db_run() for a statement of at most one row: its first column as an
 * integer into *out (0 when there is no row) and *found (optional) set
 * when there is a row.
 */
int db_run_int(struct db *db, struct db_binder *b, int64_t *out, bool *found, const char *what,
	       char *err, size_t errlen);

#endif
