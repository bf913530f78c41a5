/* Shared by the store tests: a fresh database in a temporary directory. */
#ifndef PINWATCH_TESTDB_H
#define PINWATCH_TESTDB_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "base/util.h"

/*
 * A fresh directory /tmp/pinwatch-test-@tag-XXXXXX in @dir and the path of a
 * database in it, "@dir/t.db", in @path. 0, or -1 when the names do not fit
 * or the directory cannot be made.
 */
static inline int testdb_mkdir(const char *tag, char *dir, size_t dirlen, char *path,
			       size_t pathlen)
{
	int n = snprintf(dir, dirlen, "/tmp/pinwatch-test-%s-XXXXXX", tag);
	if (n < 0 || (size_t)n >= dirlen || !mkdtemp(dir))
		return -1;
	n = snprintf(path, pathlen, "%s/t.db", dir);
	return n < 0 || (size_t)n >= pathlen ? -1 : 0;
}

/* Remove the database at @path with its -wal, -shm, -journal and .log
 * companions, then the directory @dir (which must then be empty). */
static inline void testdb_remove(const char *path, const char *dir)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal", ".log" };
	char p[PATH_MAX];
	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		int n = snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		if (n > 0 && (size_t)n < sizeof(p))
			unlink(p);
	}
	rmdir(dir);
}

struct testdb {
	char dir[64];
	char path[128];
	struct db *db;
};

static inline struct testdb *testdb_new(void)
{
	struct testdb *t = calloc(1, sizeof(*t));
	char err[ERRLEN];
	if (!t)
		return NULL;
	if (testdb_mkdir("db", t->dir, sizeof(t->dir), t->path, sizeof(t->path))) {
		free(t);
		return NULL;
	}
	t->db = db_open(t->path, DB_NO_CHECK, err, sizeof(err));
	if (!t->db) {
		fprintf(stderr, "db_open: %s\n", err);
		rmdir(t->dir);
		free(t);
		return NULL;
	}
	return t;
}

static inline void testdb_free(struct testdb *t)
{
	if (!t)
		return;
	db_close(t->db);
	testdb_remove(t->path, t->dir);
	free(t);
}

/* One integer from @sql, or -1 on error. */
static inline long long testdb_int(struct testdb *t, const char *sql)
{
	int64_t v;
	return db_query_int(t->db, sql, &v) ? -1 : (long long)v;
}

#endif
