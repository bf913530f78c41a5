/* Alerts as people see and steer them: listing, silences (stored by
 * store/alertlog.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "store/alertlog.h"
#include "base/util.h"

int alerts_list_json(struct db *db, bool all, int limit, time_t now, json_t **out, char *err,
		     size_t errlen)
{
	return alertlog_list_json(db, all, limit, now, out, err, errlen);
}

int alerts_firing_counts(struct db *db, int64_t out[4])
{
	return alertlog_firing_counts(db, out);
}

int alerts_endpoint_lookup(struct db *db, const char *spec, int64_t *id, char *err, size_t errlen)
{
	return alertlog_endpoint_lookup(db, spec, id, err, errlen);
}

static int valid_text(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int alerts_silence_add(struct db *db, const char *actor, const char *fingerprint,
		       int64_t endpoint_id, time_t until, const char *reason, time_t now,
		       int64_t *id, char *err, size_t errlen)
{
	if ((!fingerprint || !*fingerprint) && endpoint_id <= 0)
		return util_err(err, errlen, -EINVAL, "a fingerprint or an endpoint is required");
	if (fingerprint && *fingerprint && !valid_text(fingerprint, ALERT_FINGERPRINT_MAX - 1))
		return util_err(err, errlen, -EINVAL, "bad fingerprint");
	if (!valid_text(reason, 1024))
		return util_err(err, errlen, -EINVAL,
				"a reason of 1 to 1024 printable characters is required");
	if (until <= now)
		return util_err(err, errlen, -EINVAL, "the silence must end in the future");
	return alertlog_silence_add(db, actor, fingerprint, endpoint_id, until, reason, now, id,
				    err, errlen);
}

int alerts_silence_remove(struct db *db, const char *actor, int64_t id, time_t now, char *err,
			  size_t errlen)
{
	return alertlog_silence_remove(db, actor, id, now, err, errlen);
}

int alerts_silences_json(struct db *db, time_t now, json_t **out, char *err, size_t errlen)
{
	return alertlog_silences_json(db, now, out, err, errlen);
}
