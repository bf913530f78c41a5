#include "base/severity.h"

#include <errno.h>
#include <string.h>

#include "base/util.h"

static const char *const names[SEVERITY_COUNT] = {
	[SEVERITY_OK] = "ok",
	[SEVERITY_INFO] = "info",
	[SEVERITY_WARNING] = "warning",
	[SEVERITY_CRITICAL] = "critical",
};

const char *severity_name(enum severity s)
{
	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "unknown";
}

int severity_parse(const char *s, enum severity lowest, enum severity *out)
{
	for (unsigned i = (unsigned)lowest; s && i < ARRAY_SIZE(names); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum severity)i;
			return 0;
		}
	}
	return -EINVAL;
}
