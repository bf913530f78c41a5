#include "store/schedule.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/db.h"
#include "store/observations.h"
#include "base/util.h"

static const char Q_ENDPOINTS[] =
	"SELECT id, host, port, coalesce(sni, host), interval_s, last_probe_at, next_probe_at, "
	"discovered_at FROM endpoints WHERE enabled = 1 ORDER BY id";

/* Column @i as a time, with whether it is set. */
static bool col_time(sqlite3_stmt *st, int i, time_t *out)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return false;
	*out = (time_t)sqlite3_column_int64(st, i);
	return true;
}

int schedule_endpoints(struct db *db, schedule_endpoint_fn fn, void *ud, char *err, size_t errlen)
{
	sqlite3_stmt *st = db_stmt(db, Q_ENDPOINTS);
	if (!st)
		return util_err(err, errlen, -EIO, "reading endpoints: %s", db_errmsg(db));
	int rc, frc = 0;
	while (frc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 1);
		const char *sn = (const char *)sqlite3_column_text(st, 3);
		struct schedule_endpoint e = {
			.id = sqlite3_column_int64(st, 0),
			.host = h ? h : "",
			.sni = sn ? sn : "",
			.port = (uint16_t)sqlite3_column_int(st, 2),
			.interval_s = sqlite3_column_int64(st, 4),
		};
		e.has_last_probe = col_time(st, 5, &e.last_probe_at);
		e.has_next_probe = col_time(st, 6, &e.next_probe_at);
		e.has_discovered = col_time(st, 7, &e.discovered_at);
		frc = fn(ud, &e, err, errlen);
	}
	if (frc) {
		sqlite3_reset(st); /* ends the read transaction */
		return frc;
	}
	if (rc != SQLITE_DONE) {
		rc = util_err(err, errlen, -EIO, "reading endpoints: %s", db_errmsg(db));
		sqlite3_reset(st);
		return rc;
	}
	sqlite3_reset(st);
	return 0;
}

/* A failed write of @db: remember whether the storage refused it (before a
 * rollback clears the connection's error), roll back, return @rc. */
static int tx_fail(struct db *db, int rc, bool *readonly)
{
	if (readonly)
		*readonly = db_failed_readonly(db);
	db_rollback(db);
	return rc;
}

/* An insert that failed on a foreign key: its endpoint was deleted meanwhile. */
static bool endpoint_gone(struct db *db, int rc)
{
	return rc == -EIO &&
	       sqlite3_extended_errcode(db_handle(db)) == SQLITE_CONSTRAINT_FOREIGNKEY;
}

static int record(struct db *db, const struct schedule_write *w, const struct probe_result *r,
		  bool *opened, char *err, size_t errlen)
{
	return w->reused
		       ? obs_record_ids(db, w->endpoint_id, r, w->pid, w->vid, opened, err, errlen)
		       : obs_record(db, w->endpoint_id, r, opened, err, errlen);
}

/* One write of a batch; *@opened: it opened an observation row. */
static int write_one(struct db *db, struct schedule_write *w, bool *opened, char *err,
		     size_t errlen)
{
	int rc;
	*opened = false;
	if (!w->r) {
		rc = obs_endpoint_probed(db, w->endpoint_id, w->last_probe_at, w->next_probe_at,
					 err, errlen);
		if (!rc && w->discovered_at)
			rc = obs_endpoint_discovered(db, w->endpoint_id, w->discovered_at, err,
						     errlen);
		return rc;
	}
	if ((rc = record(db, w, w->r, opened, err, errlen)) != 0)
		return rc;
	if (*opened && w->rediscover) {
		if ((rc = obs_endpoint_discovered(db, w->endpoint_id, 0, err, errlen)) != 0)
			return rc;
		w->rediscovered = true;
	}
	if (w->also_as != PROBE_VARIANT_DEFAULT) {
		struct probe_result as = *w->r; /* shares the chains: read only */
		as.variant = w->also_as;
		if ((rc = record(db, w, &as, NULL, err, errlen)) != 0)
			return rc;
	}
	if (w->r->variant != PROBE_VARIANT_DEFAULT)
		*opened = false; /* opened counts observation rows */
	return 0;
}

int schedule_commit(struct db *db, struct schedule_write *w, size_t n, struct schedule_status *st,
		    char *err, size_t errlen)
{
	int rc;
	st->opened = 0;
	st->readonly = false;
	for (size_t i = 0; i < n; i++)
		w[i].rediscovered = false;
	if ((rc = db_begin(db)) != 0) {
		util_err(err, errlen, rc, "BEGIN failed: %s", db_errmsg(db));
		return tx_fail(db, rc, &st->readonly);
	}
	int64_t opened = 0;
	for (size_t i = 0; i < n; i++) {
		bool o = false;
		rc = write_one(db, &w[i], &o, err, errlen);
		if (rc && endpoint_gone(db, rc))
			rc = 0; /* nothing to record for it */
		if (rc)
			return tx_fail(db, rc, &st->readonly);
		opened += o;
	}
	if ((rc = db_commit(db)) != 0) {
		util_err(err, errlen, rc, "COMMIT failed: %s", db_errmsg(db));
		return tx_fail(db, rc, &st->readonly);
	}
	st->opened = opened;
	return 0;
}

int schedule_trust(struct db *db, const uint8_t trust_id[32], time_t now, char *err, size_t errlen)
{
	int rc = db_begin(db);
	if (rc)
		return util_err(err, errlen, rc, "BEGIN failed: %s", db_errmsg(db));
	if ((rc = obs_trust_begin(db, trust_id, now, err, errlen)) != 0)
		return tx_fail(db, rc, NULL);
	if ((rc = db_commit(db)) != 0) {
		util_err(err, errlen, rc, "COMMIT failed: %s", db_errmsg(db));
		return tx_fail(db, rc, NULL);
	}
	return 0;
}

int schedule_try_write(struct db *db)
{
	int64_t v = 0;
	char pragma[64];
	int rc = db_query_int(db, "PRAGMA user_version", &v);
	if (rc == 0 && snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %lld",
				(long long)v) >= (int)sizeof(pragma))
		rc = -EOVERFLOW;
	if (rc == 0)
		rc = db_begin(db);
	if (rc == 0 && (rc = db_exec(db, pragma, NULL, 0)) == 0)
		rc = db_commit(db);
	if (rc == 0)
		return 0;
	return tx_fail(db, rc, NULL);
}

/* The sweeps row's transaction failed at @rc: roll back, say why. */
static int sweep_fail(struct db *db, int rc, char *err, size_t errlen)
{
	util_err(err, errlen, rc, "recording the sweep: %s", db_errmsg(db));
	return tx_fail(db, rc, NULL);
}

int schedule_sweep_begin(struct db *db, time_t started_at, int64_t *id, char *err, size_t errlen)
{
	int rc = db_begin(db);
	if (rc == 0)
		rc = obs_sweep_begin(db, started_at, id, err, errlen);
	if (rc == 0)
		rc = db_commit(db);
	return rc ? sweep_fail(db, rc, err, errlen) : 0;
}

int schedule_sweep_end(struct db *db, int64_t id, time_t finished_at, int64_t probes,
		       int64_t failures, char *err, size_t errlen)
{
	int rc = db_begin(db);
	if (rc == 0)
		rc = obs_sweep_end(db, id, finished_at, probes, failures, err, errlen);
	if (rc == 0)
		rc = db_commit(db);
	return rc ? sweep_fail(db, rc, err, errlen) : 0;
}
