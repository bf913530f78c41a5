/* Shared by the store tests: a fresh database in a temporary directory. */
#ifndef PINWATCH_TESTDB_H
#define PINWATCH_TESTDB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "base/util.h"

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
	snprintf(t->dir, sizeof(t->dir), "/tmp/pinwatch-test-XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return NULL;
	}
	snprintf(t->path, sizeof(t->path), "%s/t.db", t->dir);
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
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[160];
	if (!t)
		return;
	db_close(t->db);
	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		snprintf(p, sizeof(p), "%s%s", t->path, sfx[i]);
		unlink(p);
	}
	rmdir(t->dir);
	free(t);
}

/* One integer from @sql, or -1 on error. */
static inline long long testdb_int(struct testdb *t, const char *sql)
{
	int64_t v;
	return db_query_int(t->db, sql, &v) ? -1 : (long long)v;
}

#endif
