/* libFuzzer harness: the Host header / URL authority parser of the HTTP
 * server (http_authority_host), fed by every client and by [http] base_url. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[256];
	size_t outlen = 1 + (size ? data[0] % sizeof(out) : 0);
	if (size)
		data++, size--;
	memset(out, 'Z', sizeof(out));
	if (!http_authority_host((const char *)data, size, out, outlen))
		return 0;
	/* accepted: terminated within @outlen, lower case, no byte <= space */
	size_t n = strnlen(out, outlen);
	if (n == 0 || n >= outlen)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] <= ' ' || (out[i] >= 'A' && out[i] <= 'Z') ||
		    out[i] == '/' || out[i] == '@')
			abort();
	return 0;
}
