#include "base/expiry.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"

int64_t expiry_days_left(time_t not_after, time_t at)
{
	int64_t diff = (int64_t)not_after - (int64_t)at;
	return diff >= 0 ? diff / 86400 : -((-diff + 86399) / 86400);
}

static int count(const int th[EXPIRY_THRESHOLDS_MAX])
{
	int n = 0;
	while (n < EXPIRY_THRESHOLDS_MAX && th[n] > 0)
		n++;
	return n;
}

enum severity expiry_level(int64_t days_left, const int th[EXPIRY_THRESHOLDS_MAX])
{
	int n = count(th);
	if (n == 0 || days_left > th[0])
		return SEVERITY_OK;
	/* The third threshold, or the last one when fewer are given, is critical. */
	int crit = n >= 3 ? 2 : n - 1;
	if (days_left <= th[crit])
		return SEVERITY_CRITICAL;
	if (n >= 2 && days_left <= th[1])
		return SEVERITY_WARNING;
	return SEVERITY_INFO;
}

int expiry_threshold(int64_t days_left, const int th[EXPIRY_THRESHOLDS_MAX])
{
	int n = count(th), reached = 0;
	for (int i = 0; i < n && days_left <= th[i]; i++)
		reached = th[i];
	return reached;
}

int expiry_thresholds_parse(const char *s, int th[EXPIRY_THRESHOLDS_MAX], char *err, size_t errlen)
{
	int tmp[EXPIRY_THRESHOLDS_MAX] = { 0 }, n = 0;
	bool up = true, down = true;
	char buf[128];
	long long v;

	if (strlen(s) >= sizeof(buf))
		return util_err(err, errlen, -ERANGE, "value too long");
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *save = NULL, *t = strtok_r(buf, ", \t", &save); t;
	     t = strtok_r(NULL, ", \t", &save)) {
		if (n == EXPIRY_THRESHOLDS_MAX)
			return util_err(err, errlen, -EINVAL,
					"at most %d day counts (such as 30,14,7,2), got '%s'",
					EXPIRY_THRESHOLDS_MAX, s);
		if (util_parse_int(t, 1, EXPIRY_DAYS_MAX, &v))
			return util_err(err, errlen, -EINVAL,
					"'%s' is not a day count in [1, %d] (in '%s')", t,
					EXPIRY_DAYS_MAX, s);
		for (int i = 0; i < n; i++)
			if (tmp[i] == (int)v)
				return util_err(err, errlen, -EINVAL,
						"%lld days is given twice in '%s'", v, s);
		if (n && v > tmp[n - 1])
			down = false;
		if (n && v < tmp[n - 1])
			up = false;
		tmp[n++] = (int)v;
	}
	if (n == 0)
		return util_err(err, errlen, -EINVAL,
				"expected 1 to %d day counts such as 30,14,7,2, got nothing",
				EXPIRY_THRESHOLDS_MAX);
	if (!up && !down)
		return util_err(err, errlen, -EINVAL,
				"'%s' is in neither descending (30,14,7,2) nor ascending order", s);
	for (int i = 0; i < EXPIRY_THRESHOLDS_MAX; i++)
		th[i] = i < n ? tmp[down ? i : n - 1 - i] : 0;
	return 0;
}

char *expiry_thresholds_format(const int th[EXPIRY_THRESHOLDS_MAX], char *buf, size_t len)
{
	size_t off = 0;
	if (len)
		buf[0] = 0;
	for (int i = 0; i < count(th) && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%d", i ? "," : "", th[i]);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
	return buf;
}
