/* Name-to-address overrides consulted before DNS, in /etc/hosts format, from
 * the file named by $PINWATCH_HOSTS_FILE (like curl's --resolve): for
 * split-horizon names, for `pinwatch demo` (whose CDN name has two loopback
 * edges) and for tests. Unset: no overrides, every lookup falls through.
 *
 * The file is read once, on first use (thread-safe), and capped at
 * HOSTSFILE_MAX_BYTES and HOSTSFILE_MAX_ENTRIES; a file that cannot be read
 * or parsed makes every lookup fail with the reason, so that a typo is not
 * silently replaced by DNS answers.
 */
#ifndef PINWATCH_HOSTSFILE_H
#define PINWATCH_HOSTSFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HOSTSFILE_ENV	      "PINWATCH_HOSTS_FILE"
#define HOSTSFILE_MAX_BYTES   (256 * 1024)
#define HOSTSFILE_MAX_ENTRIES 4096

/**
 * The addresses the override file lists for @host (case-insensitive, one
 * trailing dot ignored), in file order, with @port, into @ss/@lens (room for
 * @max; duplicates removed). Returns 1 with *n >= 1 when the host is listed,
 * 0 when it is not (or no file is configured: use DNS), or a negative errno
 * with a message in @err when the file is unusable.
 */
int hostsfile_lookup(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *lens,
		     size_t max, size_t *n, char *err, size_t errlen);

/**
 * Parse @text (hosts format) into a fresh table, replacing the one from the
 * environment (tests; not thread-safe against concurrent lookups). NULL
 * clears the overrides. 0 or -EINVAL / -E2BIG with "line N: ..." in @err.
 */
int hostsfile_set(const char *text, char *err, size_t errlen);

#endif
