/* libFuzzer harness: TrustKit configuration written in Objective-C or Swift
 * (the tolerant source scanner). */
#include "fuzz_policies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_policies(importers_parse_trustkit_source, data, size);
}
