/* libFuzzer harness: the $PINWATCH_HOSTS_FILE parser and lookups. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "probe/hostsfile.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERRLEN];
	struct sockaddr_storage ss[4];
	socklen_t lens[4];
	size_t n;

	if (size > HOSTSFILE_MAX_BYTES)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (hostsfile_set(text, err, sizeof(err)) == 0) {
		(void)hostsfile_lookup("cdn.shop.test", 443, ss, lens, 4, &n, err, sizeof(err));
		(void)hostsfile_lookup("a", 1, ss, lens, 4, &n, err, sizeof(err));
	}
	free(text);
	return 0;
}
