/* libFuzzer harness: an .ipa archive in memory (libzip, the choice of
 * Payload/<App>.app/Info.plist, the inflate cap, then the plist path). */
#include "fuzz_policies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_policies r;
	char err[ERRLEN] = "", version[IMPORTERS_MAX_VERSION];
	if (importers_parse_ipa((const char *)data, size, "fuzz.ipa", version, &r, err,
				sizeof(err)) == 0) {
		if (strlen(version) >= sizeof(version))
			__builtin_trap();
		importers_policies_free(&r);
	} else if (r.npolicies != 0 || err[0] == '\0') {
		__builtin_trap();
	}
	return 0;
}
