/* libFuzzer harness: TrustKit configuration in an Info.plist, binary
 * (bplist00, libplist) or XML: the path import-ipa takes. */
#include "fuzz_policies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_policies(importers_parse_trustkit_plist, data, size);
}
