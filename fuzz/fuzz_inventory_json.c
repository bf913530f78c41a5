/* libFuzzer harness for the inventory JSON parser (invfile_parse_text).
 *
 * Besides "no crash, no leak, no UB", it checks the round-trip property
 * import/export relies on: whatever parses must serialise to canonical text
 * that parses again to the same canonical text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "importers/invfile.h"
#include "model/json.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inventory inv, again;
	char err[ERRLEN];

	if (size > (1u << 20))
		return 0;
	if (invfile_parse_text((const char *)data, size, &inv, err, sizeof(err)) != 0)
		return 0;
	json_t *j = model_inventory_to_json(&inv);
	char *first = j ? invfile_dumps(j) : NULL;
	json_decref(j);
	model_inventory_free(&inv);
	if (!first)
		return 0; /* out of memory */
	if (invfile_parse_text(first, strlen(first), &again, err, sizeof(err)) != 0)
		abort(); /* our own export must import */
	j = model_inventory_to_json(&again);
	char *second = j ? invfile_dumps(j) : NULL;
	json_decref(j);
	model_inventory_free(&again);
	if (second && strcmp(first, second) != 0)
		abort(); /* export -> import -> export must be identical */
	free(first);
	free(second);
	return 0;
}
