/* Readiness verdicts as JSON, for `pinwatch check/whatif --json` and the API. */
#ifndef PINWATCH_READINESS_JSON_H
#define PINWATCH_READINESS_JSON_H

#include <jansson.h>

#include "readiness/readiness.h"

/** {stranded_share, unknown_share, ready, stranded_versions[{version, share}], ...}; new ref. */
json_t *readiness_scenario_json(const struct readiness_scenario *s);

/**
 * One endpoint as docs/readiness.md "JSON shape": host, port, severity,
 * addresses[] {address, outcome, chain[] {subject, issuer, not_after, pin}},
 * expiry {not_after, days_left} (null when nothing observed), apps[] {app, now,
 * key_rotation, ca_change, same_key_renewal, forecast, reasons[]}, reasons[].
 * New reference, NULL on allocation failure.
 */
json_t *readiness_endpoint_json(const struct readiness_endpoint_verdict *v);

/** {at, severity, summary{ok,info,warning,critical}, endpoints[], findings[]}; new ref. */
json_t *readiness_report_json(const struct readiness_report *r);

/**
 * {host, port, at, candidate[], max_stranded, max_stranded_share, risk,
 * apps[] {app, stranded_share, unknown_share, stranded_versions[], ready,
 * exceeds, current, reasons[]}}; new ref. @max_stranded is the gate
 * (--max-stranded): risk = some app's stranded share exceeds it.
 */
json_t *readiness_whatif_json(const struct readiness_whatif *w, const char *host, int port,
			      double max_stranded, const struct readiness_chain *candidate);

#endif
