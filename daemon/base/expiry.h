/* Certificate expiry: days left and the [alerts] expiry_days thresholds, one
 * definition for every surface (alerts, readiness, check, /metrics, API and,
 * mirrored in web/common.js, the dashboard).
 *
 * days left = floor((not_after - at) / 86400): a certificate that expires in
 * 23 h 59 min has 0 days left, one that expired a second ago has -1.
 *
 * Thresholds are day counts, stored in descending order (default 30,14,7,2).
 * With days left d and n thresholds th[0] > th[1] > ...:
 *   d > th[0]                      no alert
 *   d <= th[0]                     info
 *   d <= th[1]                     warning
 *   d <= th[2] (and any later one) critical
 * With two thresholds the second is critical, with one it is; so "30,14,7,2"
 * means info at 30, warning at 14, critical at 7 and 2.
 */
#ifndef PINWATCH_EXPIRY_H
#define PINWATCH_EXPIRY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/severity.h"

/** Most thresholds [alerts] expiry_days takes. */
#define EXPIRY_THRESHOLDS_MAX 4
/** Largest threshold accepted (days). */
#define EXPIRY_DAYS_MAX 3650

/** floor((@not_after - @at) / 86400), exact for negative differences too. */
int64_t expiry_days_left(time_t not_after, time_t at);

/**
 * Level of @days_left under thresholds @th (descending; unused slots 0), as
 * the table above says: SEVERITY_OK beyond th[0], else info, warning or
 * critical. The severity of certificate_expiring and rotation_not_ready.
 */
enum severity expiry_level(int64_t days_left, const int th[EXPIRY_THRESHOLDS_MAX]);

/**
 * The threshold @days_left has reached: the smallest th[i] >= @days_left, or 0
 * when beyond th[0]. A change of it is a new reminder ("a reminder at each
 * threshold"), also between two thresholds of the same level (7 and 2).
 */
int expiry_threshold(int64_t days_left, const int th[EXPIRY_THRESHOLDS_MAX]);

/**
 * Parse "30,14,7,2" (commas and/or spaces): 1..EXPIRY_THRESHOLDS_MAX whole
 * day counts in [1, EXPIRY_DAYS_MAX], all distinct, in descending or
 * ascending order (stored descending into @th, unused slots 0). 0, or
 * -EINVAL/-ERANGE with a message in @err (no "file:line", the caller adds it);
 * @th is unchanged on error.
 */
int expiry_thresholds_parse(const char *s, int th[EXPIRY_THRESHOLDS_MAX], char *err, size_t errlen);

/** "30,14,7,2" into @buf. Returns @buf. */
char *expiry_thresholds_format(const int th[EXPIRY_THRESHOLDS_MAX], char *buf, size_t len);

#endif
