/* Shared body of the pin-policy importer harnesses (fuzz_nsc, fuzz_trustkit,
 * fuzz_okhttp): each parses arbitrary bytes with its importer and checks the
 * same contract. */
#ifndef PINWATCH_FUZZ_POLICIES_H
#define PINWATCH_FUZZ_POLICIES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "importers/importers.h"
#include "base/util.h"

typedef int (*fuzz_policies_parser)(const char *buf, size_t len, const char *name,
				    struct import_policies *out, char *err, size_t errlen);

static inline int fuzz_policies(fuzz_policies_parser parse, const uint8_t *data, size_t size)
{
	struct import_policies r;
	char err[ERRLEN] = "";
	if (parse((const char *)data, size, "fuzz", &r, err, sizeof(err)) == 0) {
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

#endif
