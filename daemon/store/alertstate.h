/* What the alerts engine evaluates that lives in other nouns' tables, read
 * for alerts/alerts_eval.c: the addresses whose latest probe failed
 * (observations joined with endpoints). The engine decides what they mean;
 * this module only reads rows.
 */
#ifndef PINWATCH_ALERTSTATE_H
#define PINWATCH_ALERTSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/** Most failing addresses handed out per endpoint (the rest are skipped). */
#define ALERTSTATE_MAX_ADDRS 256
/** Longest host name handed out (longer ones are truncated). */
#define ALERTSTATE_HOST_MAX 300

/** One address of an endpoint whose latest observation is not "ok". */
struct alertstate_addr {
	const char *address, *outcome;
	const char *detail;  /**< NULL when none */
	bool has_chain;	     /**< a chain was presented (it did not validate) */
	int64_t consecutive; /**< probes since the address was last ok */
};

/** An enabled endpoint with its failing addresses, ordered by address. */
struct alertstate_endpoint {
	int64_t id;
	char host[ALERTSTATE_HOST_MAX];
	int port;
	const struct alertstate_addr *addrs;
	size_t naddrs; /**< 1..ALERTSTATE_MAX_ADDRS */
};

/** Called once per endpoint; what it is given lives until it returns. */
typedef int (*alertstate_endpoint_fn)(const struct alertstate_endpoint *ep, void *ctx);

/**
 * For every enabled endpoint (in id order) with at least one failing address,
 * call @fn with them. A failing address is one whose latest observation row
 * is not "ok" and that is still served: seen within one probe interval of
 * the endpoint's latest observation; its consecutive count sums probe_count
 * over its rows not "ok" since its latest "ok" row.
 * 0; what @fn returned when nonzero (it stops the walk; no message); -ENOMEM;
 * or a negative errno of the database (-EBUSY, -EIO...) with "reading
 * observations: <SQLite's message>" in @err.
 */
int alertstate_failing(struct db *db, alertstate_endpoint_fn fn, void *ctx, char *err,
		       size_t errlen);

#endif
