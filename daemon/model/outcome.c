#include "model/outcome.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* In enum order; `reason`: the class is stored as "<name>:<reason>". */
static const struct {
	const char *name;
	bool reason;
} outcomes[PROBE_NOUTCOMES] = {
	[PROBE_OUTCOME_OK] = { "ok", false },
	[PROBE_OUTCOME_DNS_ERROR] = { "dns_error", false },
	[PROBE_OUTCOME_REFUSED] = { "refused", false },
	[PROBE_OUTCOME_UNREACHABLE] = { "unreachable", false },
	[PROBE_OUTCOME_TIMEOUT] = { "timeout", false },
	[PROBE_OUTCOME_TLS_ALERT] = { "tls_alert", true },
	[PROBE_OUTCOME_TLS_ERROR] = { "tls_error", true },
	[PROBE_OUTCOME_UNTRUSTED] = { "untrusted", false },
	[PROBE_OUTCOME_NAME_MISMATCH] = { "name_mismatch", false },
	[PROBE_OUTCOME_EXPIRED] = { "expired", false },
};

static bool in_range(enum probe_outcome o)
{
	return (unsigned)o < PROBE_NOUTCOMES;
}

const char *probe_outcome_name(enum probe_outcome o)
{
	return in_range(o) ? outcomes[o].name : "unknown";
}

int probe_outcome_parse(const char *s, enum probe_outcome *out)
{
	if (!s)
		return -EINVAL;
	size_t n = strcspn(s, ":");
	for (size_t i = 0; i < PROBE_NOUTCOMES; i++) {
		if (strlen(outcomes[i].name) != n || memcmp(s, outcomes[i].name, n) != 0)
			continue;
		if (s[n] == ':' && !outcomes[i].reason)
			return -EINVAL;
		*out = (enum probe_outcome)i;
		return 0;
	}
	return -EINVAL;
}

bool probe_outcome_is(const char *s, enum probe_outcome o)
{
	enum probe_outcome got;
	return probe_outcome_parse(s, &got) == 0 && got == o;
}

int probe_outcome_format(char *buf, size_t len, enum probe_outcome o, const char *reason)
{
	bool with = reason && *reason;
	if (!in_range(o) || (with && !outcomes[o].reason))
		return -EINVAL;
	int n = with ? snprintf(buf, len, "%s:%s", outcomes[o].name, reason)
		     : snprintf(buf, len, "%s", outcomes[o].name);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
