/* libFuzzer harness: the daemon's INI configuration (config_load, then
 * config_validate and the [http] listen parser on whatever it accepted). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/config.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64], err[ERRLEN];
	struct config c;

	if (fd < 0 && (fd = memfd_create("fuzz_config", MFD_CLOEXEC)) < 0)
		return 0;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	config_defaults(&c);
	if (config_load(&c, path, err, sizeof(err)) == 0)
		(void)config_validate(&c, err, sizeof(err));
	/* The listen parser also on the raw bytes (NUL-terminated copy). */
	char buf[300];
	size_t n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;
	memcpy(buf, data, n);
	buf[n] = '\0';
	(void)config_parse_listen(buf, NULL, NULL, err, sizeof(err));
	return 0;
}
