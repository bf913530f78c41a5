/* libFuzzer harness: resources.arsc. Parse, then look up the ids and names
 * an APK import asks for (and ids taken from the input itself). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "importers/arsc.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERRLEN] = "", out[512];
	struct arsc *t = arsc_parse(data, size, err, sizeof(err));
	if (!t) {
		if (err[0] == '\0')
			__builtin_trap();
		return 0;
	}
	uint32_t ids[4] = { 0x7f010000, 0x7f020000, 0x7f030001, 0 };
	if (size >= 4)
		ids[3] = (uint32_t)data[size - 4] << 24 | (uint32_t)data[size - 3] << 16 |
			 (uint32_t)data[size - 2] << 8 | data[size - 1];
	for (size_t i = 0; i < 4; i++) {
		struct arsc_value v;
		(void)arsc_value(t, ids[i], &v, err, sizeof(err));
		if (arsc_string(t, ids[i], out, sizeof(out), err, sizeof(err)) == 0 &&
		    strlen(out) >= sizeof(out))
			__builtin_trap();
		(void)arsc_name(t, ids[i], out, sizeof(out));
	}
	uint32_t id;
	(void)arsc_find(t, "raw", "debug_ca", &id);
	(void)arsc_find(t, "xml", "network_security_config", &id);
	arsc_free(t);
	return 0;
}
