/* One severity for every rule, verdict and alert: lint findings, readiness
 * verdicts, alerts and webhook thresholds, certificate expiry levels.
 *
 * Ordered: a higher value is more severe, so severities compare with < and
 * >. SEVERITY_OK means "nothing to report" (a readiness verdict that is ok,
 * no alert, an expiry beyond every threshold). The names are what every
 * surface prints (JSON, CLI, webhooks, /metrics, the database).
 */
#ifndef PINWATCH_SEVERITY_H
#define PINWATCH_SEVERITY_H

enum severity { SEVERITY_OK = 0, SEVERITY_INFO, SEVERITY_WARNING, SEVERITY_CRITICAL };

/** Number of severities (SEVERITY_OK..SEVERITY_CRITICAL), for tables indexed by one. */
#define SEVERITY_COUNT 4

/** "ok", "info", "warning", "critical"; "unknown" for values out of range. */
const char *severity_name(enum severity s);

/**
 * Parse a name of severity_name() that is at least @lowest (SEVERITY_INFO:
 * what a rule, an alert or a threshold can be; SEVERITY_OK: any) into *out.
 * 0, or -EINVAL (NULL, unknown, below @lowest) with *out unchanged.
 */
int severity_parse(const char *s, enum severity lowest, enum severity *out);

/** The more severe of @a and @b. */
static inline enum severity severity_max(enum severity a, enum severity b)
{
	return a > b ? a : b;
}

#endif
