/* libFuzzer harness: reports_parse_trustkit() on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "reports.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report r;
	char err[ERRLEN];
	if (size > REPORTS_MAX_BODY_DEFAULT)
		return 0;
	if (reports_parse_trustkit((const char *)data, size, &r, err, sizeof(err)) == 0) {
		uint8_t fp[32];
		reports_chain_fingerprint(&r, fp);
		reports_clear(&r);
	}
	return 0;
}
