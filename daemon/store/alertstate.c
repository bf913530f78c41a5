#include "store/alertstate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "store/db.h"

/* The rows of one endpoint being gathered; the strings are owned. */
struct group {
	struct alertstate_endpoint ep;
	struct alertstate_addr a[ALERTSTATE_MAX_ADDRS];
};

static void group_clear(struct group *g)
{
	for (size_t i = 0; i < g->ep.naddrs; i++) {
		free((char *)g->a[i].address);
		free((char *)g->a[i].outcome);
		free((char *)g->a[i].detail);
	}
	g->ep.naddrs = 0;
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? strdup((const char *)t) : NULL;
}

int alertstate_failing(struct db *db, alertstate_endpoint_fn fn, void *ctx, char *err,
		       size_t errlen)
{
	static const char sql[] =
		"SELECT e.id, e.host, e.port, o.address, o.outcome, o.presented_chain_id IS NOT "
		"NULL,"
		" o.detail, (SELECT coalesce(sum(f.probe_count), 0) FROM observations f"
		"  WHERE f.endpoint_id = o.endpoint_id AND f.address = o.address AND f.outcome <> "
		"'ok'"
		"  AND f.last_seen > coalesce((SELECT max(k.last_seen) FROM observations k"
		"   WHERE k.endpoint_id = o.endpoint_id AND k.address = o.address AND k.outcome = "
		"'ok'), -1))"
		" FROM observations o JOIN endpoints e ON e.id = o.endpoint_id"
		" WHERE e.enabled = 1 AND o.outcome <> 'ok'"
		" AND o.id = (SELECT o2.id FROM observations o2 WHERE o2.endpoint_id = "
		"o.endpoint_id"
		"  AND o2.address = o.address ORDER BY o2.last_seen DESC, o2.id DESC LIMIT 1)"
		" AND o.last_seen >= (SELECT max(o3.last_seen) FROM observations o3"
		"  WHERE o3.endpoint_id = o.endpoint_id) - e.interval_s"
		" ORDER BY e.id, o.address";
	struct group *g = calloc(1, sizeof(*g));
	int rc = 0, step = SQLITE_DONE;
	if (!g)
		return util_err(err, errlen, -ENOMEM, "out of memory");
	g->ep.addrs = g->a;
	sqlite3_stmt *s = db_stmt(db, sql);
	if (!s) {
		rc = util_err(err, errlen, -EIO, "reading observations: %s", db_errmsg(db));
		goto out;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t eid = sqlite3_column_int64(s, 0);
		if (eid != g->ep.id && g->ep.naddrs) {
			rc = fn(&g->ep, ctx);
			group_clear(g);
			if (rc)
				break;
		}
		g->ep.id = eid;
		const unsigned char *host = sqlite3_column_text(s, 1);
		snprintf(g->ep.host, sizeof(g->ep.host), "%s", host ? (const char *)host : "");
		g->ep.port = sqlite3_column_int(s, 2);
		if (g->ep.naddrs == ALERTSTATE_MAX_ADDRS)
			continue;
		struct alertstate_addr *x = &g->a[g->ep.naddrs++];
		x->address = col_dup(s, 3);
		x->outcome = col_dup(s, 4);
		x->has_chain = sqlite3_column_int(s, 5) != 0;
		x->detail = col_dup(s, 6);
		x->consecutive = sqlite3_column_int64(s, 7);
		if (!x->address || !x->outcome ||
		    (!x->detail && sqlite3_column_type(s, 6) != SQLITE_NULL)) {
			rc = util_err(err, errlen, -ENOMEM, "out of memory");
			break;
		}
	}
	sqlite3_reset(s);
	if (rc == 0 && step != SQLITE_DONE)
		rc = util_err(err, errlen, db_errno(step), "reading observations: %s",
			      db_errmsg(db));
	if (rc == 0 && g->ep.naddrs)
		rc = fn(&g->ep, ctx);
out:
	group_clear(g);
	free(g);
	return rc;
}
