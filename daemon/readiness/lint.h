/* Pin lint: the mistakes in an inventory that strand users or leave
 * endpoints unprotected. The core is a pure function over struct inventory
 * (no database, no clock: the evaluation time is a parameter); the CLI
 * (`pinwatch lint`, cli_lint.c) loads the inventory and prints findings.
 */
#ifndef PINWATCH_LINT_H
#define PINWATCH_LINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "model/model.h"

/** Days before a pin set's expiry from which lint warns. */
#define LINT_EXPIRY_WARN_DAYS 30
/** Hard cap of findings kept (further ones are counted in `dropped`). */
#define LINT_MAX_FINDINGS 100000

enum lint_severity { LINT_INFO = 0, LINT_WARNING = 1, LINT_CRITICAL = 2 };

/**
 * Rule identifiers (the `rule` field of a finding):
 *  - "too-few-pins": an enforcing policy with fewer than two pins
 *  - "no-backup-pin": an enforcing policy with two or more pins, none `backup`
 *  - "pin-set-expiring": a pin set expiring within LINT_EXPIRY_WARN_DAYS days
 *  - "pin-set-expired": a pin set whose expiry date has passed
 *  - "pattern-unmatched": a policy pattern that covers no inventoried endpoint
 *    (readiness_pattern_covers())
 *  - "endpoint-unpinned": an enabled production endpoint no app version pins at
 *    the evaluation time (coverage and precedence: readiness_pattern_covers() and
 *    readiness_pattern_specificity(); an exclusion or expired pin set does not pin)
 *  - "version-no-adoption": a version without any adoption figure
 *  - "adoption-over-one": an app whose versions' latest shares sum above 1
 */
struct lint_finding {
	const char *rule; /**< static string */
	enum lint_severity severity;
	char *app;	/**< NULL when not about an app */
	char *version;	/**< NULL when not about a version */
	char *pattern;	/**< NULL when not about a policy */
	char *endpoint; /**< "host:port", NULL when not about an endpoint */
	char *message;	/**< one plain sentence */
};

struct lint_report {
	struct lint_finding *findings;
	size_t nfindings;
	size_t dropped;
};

/**
 * Lint @inv as of @now (pin expiry and latest adoption are evaluated at that
 * time). Findings are appended to @out in a stable order (apps, versions and
 * policies in inventory order, then endpoints). Returns 0 or -ENOMEM.
 */
int lint_run(const struct inventory *inv, time_t now, struct lint_report *out);

/** Release the contents of @r and zero it. NULL-safe. */
void lint_report_free(struct lint_report *r);

/** "info", "warning", "critical". */
const char *lint_severity_name(enum lint_severity s);

/** JSON array of findings {rule, severity, app, version, pattern, endpoint, message}. */
json_t *lint_report_json(const struct lint_report *r);

#endif
