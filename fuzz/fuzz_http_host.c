/* libFuzzer harness: the Host header / URL authority parser of the HTTP
 * server (http_authority_host), fed by every client and by [http] base_url,
 * and the Origin header parser (http_url_origin, http_url_host: libcurl's URL
 * API) on a NUL-terminated copy of the same bytes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "http/http_guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The origin is "" or lower-case "scheme://..." without path, query or blanks. */
static void check_origin(const uint8_t *data, size_t size)
{
	char url[512], origin[300], host[256];
	if (size >= sizeof(url))
		return;
	memcpy(url, data, size);
	url[size] = 0;
	http_url_origin(url, origin, sizeof(origin));
	http_url_host(url, host, sizeof(host));
	if (!origin[0])
		return;
	const char *sep = strstr(origin, "://");
	if (!sep || sep == origin || strpbrk(sep + 3, "/?# \t\r\n"))
		abort();
	for (const char *p = origin; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[256];
	check_origin(data, size);
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
