/* libFuzzer harness: OkHttp CertificatePinner pin lines. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "importers.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_policies r;
	char err[ERRLEN] = "";
	if (importers_parse_okhttp((const char *)data, size, "fuzz", &r, err, sizeof(err)) == 0) {
		/* exercise the result: every policy is well-formed */
		for (size_t i = 0; i < r.npolicies; i++)
			if (!r.policies[i].pattern || strlen(r.policies[i].pattern) > 256 ||
			    r.policies[i].npins > IMPORTERS_MAX_PINS)
				__builtin_trap();
		importers_policies_free(&r);
	} else if (r.npolicies != 0 || err[0] == '\0') {
		__builtin_trap(); /* failure must leave nothing behind and say why */
	}
	return 0;
}
