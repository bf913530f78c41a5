/* Shared body of the pin-failure report harnesses (fuzz_reports_hpkp,
 * fuzz_reports_trustkit): parse arbitrary bytes, use and free the result. */
#ifndef PINWATCH_FUZZ_REPORTS_H
#define PINWATCH_FUZZ_REPORTS_H

#include <stddef.h>
#include <stdint.h>

#include "signals/reports.h"
#include "base/util.h"

typedef int (*fuzz_reports_parser)(const char *body, size_t len, struct report *out, char *err,
				   size_t errlen);

static inline int fuzz_reports(fuzz_reports_parser parse, const uint8_t *data, size_t size)
{
	struct report r;
	char err[ERRLEN];
	if (size > REPORTS_MAX_BODY_DEFAULT)
		return 0;
	if (parse((const char *)data, size, &r, err, sizeof(err)) == 0) {
		uint8_t fp[32];
		reports_chain_fingerprint(&r, fp);
		reports_clear(&r);
	}
	return 0;
}

#endif
