/* libFuzzer harness: OkHttp CertificatePinner pins, as the line form and as
 * Kotlin / Java source. Each input is parsed as it is (the importer picks
 * the form) and again spliced into a Kotlin builder chain, so that the
 * source scanner (tokenizer, constants, templates, add() arguments) is
 * reached from any input. Seeds: tests/data/okhttp. */
#include <stdlib.h>

#include "fuzz_policies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char head[] = "package f\nconst val H = \"api.example.com\"\n"
				   "val p = CertificatePinner.Builder()\n  .add(H, ";
	static const char tail[] = ")\n  .build()\n";
	fuzz_policies(importers_parse_okhttp, data, size);
	if (size > IMPORTERS_MAX_CONFIG)
		return 0;
	uint8_t *buf = malloc(sizeof(head) + size + sizeof(tail));
	if (!buf)
		return 0;
	memcpy(buf, head, sizeof(head) - 1);
	memcpy(buf + sizeof(head) - 1, data, size);
	memcpy(buf + sizeof(head) - 1 + size, tail, sizeof(tail) - 1);
	fuzz_policies(importers_parse_okhttp, buf, sizeof(head) - 1 + size + sizeof(tail) - 1);
	free(buf);
	return 0;
}
