/* Small shared helpers: error strings, dates, durations, hashing, encoding. */
#ifndef PINWATCH_UTIL_H
#define PINWATCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** Size of the error-message buffers passed down to low layers. */
#define ERRLEN 512

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/**
 * Format a message into @err (size @errlen) if @err is non-NULL. Truncation is
 * harmless here: messages are for people. Always returns @rc so that callers
 * can write `return util_err(err, errlen, -EINVAL, "...")`.
 */
int util_err(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/**
 * Format a file-system path into @out (@outlen bytes) as snprintf does. A
 * path that does not fit is an error, not a silently different file.
 * Returns 0, or -ENAMETOOLONG (then @out is "") or -EINVAL on a format error.
 */
int util_path(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** Parse "YYYY-MM-DD" (strictly; a real calendar day) to 00:00:00 UTC. 0 or -EINVAL. */
int util_parse_date(const char *s, time_t *out);
/** Parse "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" to UTC. 0 or -EINVAL. */
int util_parse_time(const char *s, time_t *out);
/** Format @t as "YYYY-MM-DD" into @buf (>= 11 bytes). Returns @buf. */
char *util_fmt_date(time_t t, char *buf, size_t len);
/** Format @t as "YYYY-MM-DDTHH:MM:SSZ" into @buf (>= 21 bytes). Returns @buf. */
char *util_fmt_time(time_t t, char *buf, size_t len);

/**
 * Parse a duration: a bare number of seconds, or a number with unit s, m, h,
 * d or w ("90s", "5m", "24h", "7d"). Bounds [1 s, 10 years]. 0 or -EINVAL/-ERANGE.
 */
int util_parse_duration(const char *s, int64_t *seconds);

/** Parse a decimal integer in [min, max], whole string. 0, -EINVAL or -ERANGE. */
int util_parse_int(const char *s, long long min, long long max, long long *out);
/** Parse a finite double in [min, max], whole string. 0, -EINVAL or -ERANGE. */
int util_parse_double(const char *s, double min, double max, double *out);

/** Flags of util_parse_hostport(). */
enum {
	UTIL_HOSTPORT_NEED_PORT = 1u << 0,  /**< a missing port is an error */
	UTIL_HOSTPORT_PORT_ZERO = 1u << 1,  /**< port 0 is allowed ("any free port") */
	UTIL_HOSTPORT_EMPTY_HOST = 1u << 2, /**< ":PORT" (empty host) is allowed */
};

/**
 * Split "HOST", "HOST:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 literal (two
 * or more colons, no brackets: all host, no port) into @host (brackets
 * removed, capacity @hostlen) and *@port. Without a port *@port is left as the
 * caller set it (its default). The port is decimal, 1..65535 (0 too with
 * UTIL_HOSTPORT_PORT_ZERO). Returns 0, -ERANGE (bad port) or -EINVAL (empty
 * or too long host, empty brackets, text after ']', a port missing under
 * UTIL_HOSTPORT_NEED_PORT).
 */
int util_parse_hostport(const char *s, unsigned flags, char *host, size_t hostlen, int *port);

/** True when @s has a control character (below 0x20, or DEL). */
bool util_has_ctrl(const char *s);

/** SHA-256 of @len bytes at @data into @out. 0 or negative GnuTLS code mapped to -EIO. */
int util_sha256(const void *data, size_t len, uint8_t out[32]);
/** A piece of input of util_sha256_parts(). */
struct util_piece {
	const void *data;
	size_t len;
};
/** SHA-256 of the concatenation of @n pieces, hashed in turn (nothing copied). 0 or -EIO. */
int util_sha256_parts(const struct util_piece *parts, size_t n, uint8_t out[32]);

/** Lower-case hex of @len bytes into @out (size >= 2*len+1). Returns @out. */
char *util_hex(const uint8_t *in, size_t len, char *out);
/** Decode exactly @len bytes of hex (either case). 0 or -EINVAL. */
int util_unhex(const char *in, uint8_t *out, size_t len);

/**
 * Decode standard base64 @in into @out (capacity @cap). Stores the decoded
 * length in @outlen. 0, -EINVAL (not base64) or -ENOSPC.
 */
int util_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen);

/**
 * Decode a base64 pin (util_b64_decode_lenient) that must give 32 bytes.
 * 0, or -EINVAL with "not 32 bytes of base64: '<value>' decodes to N bytes"
 * (or "... is not base64 (...)") in @err; the value is escaped and cut.
 */
int util_pin_decode_b64(const char *s, uint8_t out[32], char *err, size_t errlen);

/**
 * Parse a pin as users write it: "sha256/<base64>", or bare base64 (as
 * util_pin_decode_b64), or 64 hex digits. Writes the 32-byte digest. 0 or
 * -EINVAL with a reason in @err.
 */
int util_parse_pin(const char *s, uint8_t out[32], char *err, size_t errlen);
/** Canonical base64 of a 32-byte pin into @out (>= 45 bytes). Returns @out. */
char *util_pin_b64(const uint8_t pin[32], char *out);

/**
 * Read a whole file (at most @cap bytes; larger is -EFBIG) into a fresh
 * NUL-terminated buffer. Caller frees *out. 0 or negative errno.
 */
int util_read_file(const char *path, size_t cap, char **out, size_t *outlen);

/** Current wall-clock time in seconds; monotonic milliseconds. */
time_t util_now(void);
int64_t util_mono_ms(void);
/** @ts: the time on @clock @ms from now (the deadline pthread_cond_timedwait
 * takes: CLOCK_REALTIME, or the clock its condition variable was made with). */
void util_deadline_in(struct timespec *ts, clockid_t clock, int64_t ms);

#endif
