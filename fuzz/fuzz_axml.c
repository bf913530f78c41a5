/* libFuzzer harness: Android binary XML (AndroidManifest.xml, res/xml/...)
 * to a libxml2 document, then the NSC importer on that document. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "importers/axml.h"
#include "importers/importers_int.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ref(void *ctx, uint32_t id, char *out, size_t cap)
{
	(void)ctx;
	snprintf(out, cap, "@raw/r%u", id & 0xff);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERRLEN] = "";
	xmlDocPtr doc = NULL;
	if (axml_to_doc(data, size, "fuzz", ref, NULL, &doc, err, sizeof(err)) != 0) {
		if (doc || err[0] == '\0')
			__builtin_trap(); /* failure leaves nothing and says why */
		return 0;
	}
	struct import_policies r;
	if (imp_parse_nsc_doc(doc, "fuzz", NULL, &r, err, sizeof(err)) == 0)
		importers_policies_free(&r);
	else if (r.npolicies != 0 || err[0] == '\0')
		__builtin_trap();
	xmlFreeDoc(doc);
	return 0;
}
