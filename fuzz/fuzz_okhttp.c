/* libFuzzer harness: OkHttp CertificatePinner pin lines. */
#include "fuzz_policies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_policies(importers_parse_okhttp, data, size);
}
