/* libFuzzer harness: adoption CSV. */
#include <stddef.h>
#include <stdint.h>

#include "importers/importers.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct adoption_csv a;
	char err[ERRLEN] = "";
	if (importers_parse_adoption_csv((const char *)data, size, "fuzz", &a, err, sizeof(err)) ==
	    0) {
		for (size_t i = 0; i < a.nrows; i++)
			if (!(a.rows[i].share >= 0.0 && a.rows[i].share <= 1.0) ||
			    !a.rows[i].version)
				__builtin_trap();
		importers_adoption_free(&a);
	} else if (a.nrows != 0 || err[0] == '\0') {
		__builtin_trap();
	}
	return 0;
}
