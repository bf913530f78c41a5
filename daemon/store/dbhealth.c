#include "store/dbhealth.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "store/db.h"
#include "base/log.h"
#include "base/util.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool readonly;
static atomic_int_fast64_t dropped, dropped_at_ro;
static char db_path[4096];
static char reason[256];
static time_t ro_since;

void dbhealth_init(const char *path)
{
	pthread_mutex_lock(&mu);
	snprintf(db_path, sizeof(db_path), "%s", path ? path : "");
	reason[0] = 0;
	ro_since = 0;
	atomic_store(&readonly, false);
	atomic_store(&dropped, 0);
	atomic_store(&dropped_at_ro, 0);
	pthread_mutex_unlock(&mu);
}

bool dbhealth_writable(void)
{
	return !atomic_load(&readonly);
}

void dbhealth_set_readonly(const char *why)
{
	pthread_mutex_lock(&mu);
	snprintf(reason, sizeof(reason), "%s", why && *why ? why : "writes fail");
	if (!atomic_load(&readonly)) {
		ro_since = util_now();
		atomic_store(&dropped_at_ro, atomic_load(&dropped));
		atomic_store(&readonly, true);
		log_err("database %s is read-only (%s): serving reads; writes are refused and "
			"probe results dropped until it can be written again (retried every %d s)",
			db_path, reason, DBHEALTH_RETRY_S);
	}
	pthread_mutex_unlock(&mu);
}

void dbhealth_set_writable(void)
{
	pthread_mutex_lock(&mu);
	if (atomic_load(&readonly)) {
		atomic_store(&readonly, false);
		log_info("database %s is writable again after %lld s; %lld probe result(s) "
			 "gathered while it was read-only were dropped",
			 db_path, (long long)(util_now() - ro_since),
			 (long long)(atomic_load(&dropped) - atomic_load(&dropped_at_ro)));
		reason[0] = 0;
		ro_since = 0;
	}
	pthread_mutex_unlock(&mu);
}

void dbhealth_dropped(int64_t n)
{
	atomic_fetch_add(&dropped, n);
}

int64_t dbhealth_dropped_total(void)
{
	return atomic_load(&dropped);
}

bool dbhealth_describe(char *out, size_t outlen)
{
	if (outlen)
		out[0] = 0;
	if (dbhealth_writable())
		return false;
	pthread_mutex_lock(&mu);
	char since[32] = "";
	struct tm tm;
	if (ro_since && gmtime_r(&ro_since, &tm))
		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(out, outlen, "database %s is read-only since %s (%s)", db_path, since, reason);
	pthread_mutex_unlock(&mu);
	return true;
}

int dbhealth_refresh(struct db **db, unsigned flags, char *err, size_t errlen)
{
	if (!db_should_reopen(*db, dbhealth_writable()))
		return 0;
	char path[4096];
	if (util_path(path, sizeof(path), "%s", sqlite3_db_filename(db_handle(*db), "main")))
		return util_err(err, errlen, -ENAMETOOLONG, "database path too long");
	struct db *n = db_open(path, flags | DB_RO_FALLBACK, err, errlen);
	if (!n)
		return -EIO;
	db_close(*db);
	*db = n;
	return 1;
}
