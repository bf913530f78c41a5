/* libFuzzer harness: reports_parse_trustkit() on arbitrary bytes. */
#include "fuzz_reports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_reports(reports_parse_trustkit, data, size);
}
