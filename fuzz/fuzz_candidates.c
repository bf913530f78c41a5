/* libFuzzer harness: candidate chain parsing (PEM/DER from CT or uploads). */
#include <stddef.h>
#include <stdint.h>

#include "signals/candidates.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERRLEN];
	(void)candidates_chain_check(data, size, err, sizeof(err));
	return 0;
}
