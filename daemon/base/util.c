#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/array.h"

int util_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int util_path(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;
	if (!out || outlen == 0)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	int n = vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return n < 0 ? -EINVAL : -ENAMETOOLONG;
	}
	return 0;
}

static int parse_digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

static int parse_ymd(const char *s, int *y, int *m, int *d)
{
	if (parse_digits(s, 4, y) || s[4] != '-' || parse_digits(s + 5, 2, m) || s[7] != '-' ||
	    parse_digits(s + 8, 2, d))
		return -EINVAL;
	if (*y < 1970 || *y > 9999 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
		return -EINVAL;
	return 0;
}

int util_parse_date(const char *s, time_t *out)
{
	int y, m, d;
	if (!s || strlen(s) != 10 || parse_ymd(s, &y, &m, &d))
		return -EINVAL;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d };
	*out = timegm(&tm);
	return 0;
}

int util_parse_time(const char *s, time_t *out)
{
	int y, mo, d, h, mi, sec;
	if (!s)
		return -EINVAL;
	size_t len = strlen(s);
	if (len == 10)
		return util_parse_date(s, out);
	if (len != 20 || parse_ymd(s, &y, &mo, &d) || s[10] != 'T' || parse_digits(s + 11, 2, &h) ||
	    s[13] != ':' || parse_digits(s + 14, 2, &mi) || s[16] != ':' ||
	    parse_digits(s + 17, 2, &sec) || s[19] != 'Z' || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	struct tm tm = { .tm_year = y - 1900,
			 .tm_mon = mo - 1,
			 .tm_mday = d,
			 .tm_hour = h,
			 .tm_min = mi,
			 .tm_sec = sec };
	*out = timegm(&tm);
	return 0;
}

char *util_fmt_date(time_t t, char *buf, size_t len)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, len, "invalid");
	return buf;
}

char *util_fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "invalid");
	return buf;
}

int util_parse_duration(const char *s, int64_t *seconds)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	int64_t mult = 1;
	if (*end) {
		switch (*end) {
		case 's':
			mult = 1;
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		case 'w':
			mult = 7 * 86400;
			break;
		default:
			return -EINVAL;
		}
		if (end[1])
			return -EINVAL;
	}
	const int64_t max = 10LL * 366 * 86400;
	if (v == 0 || v > (unsigned long long)(max / mult))
		return -ERANGE;
	*seconds = (int64_t)v * mult;
	return 0;
}

int util_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || *end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int util_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || !isfinite(v))
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int util_sha256(const void *data, size_t len, uint8_t out[32])
{
	return gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out) < 0 ? -EIO : 0;
}

int util_sha256_parts(const struct util_piece *parts, size_t n, uint8_t out[32])
{
	gnutls_hash_hd_t h;
	int rc = 0;
	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		return -EIO;
	for (size_t i = 0; i < n && !rc; i++)
		if (gnutls_hash(h, parts[i].data, parts[i].len) < 0)
			rc = -EIO;
	gnutls_hash_deinit(h, out);
	return rc;
}

int util_parse_hostport(const char *s, unsigned flags, char *host, size_t hostlen, int *port)
{
	const char *h = s, *ps = NULL;
	size_t n;
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e || e == s + 1)
			return -EINVAL;
		h = s + 1;
		n = (size_t)(e - h);
		if (e[1] == ':')
			ps = e + 2;
		else if (e[1] != '\0')
			return -EINVAL;
	} else {
		const char *c = strchr(s, ':');
		if (c && !strchr(c + 1, ':')) {
			n = (size_t)(c - s);
			ps = c + 1;
		} else {
			n = strlen(s); /* no port, or a bare IPv6 literal */
		}
	}
	if ((n == 0 && !(flags & UTIL_HOSTPORT_EMPTY_HOST)) || n >= hostlen)
		return -EINVAL;
	if (!ps && (flags & UTIL_HOSTPORT_NEED_PORT))
		return -EINVAL;
	long long p = 0;
	if (ps && util_parse_int(ps, flags & UTIL_HOSTPORT_PORT_ZERO ? 0 : 1, 65535, &p) != 0)
		return -ERANGE;
	memcpy(host, h, n);
	host[n] = '\0';
	if (ps)
		*port = (int)p;
	return 0;
}

bool util_has_ctrl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

char *util_hex(const uint8_t *in, size_t len, char *out)
{
	gnutls_datum_t d = { (unsigned char *)in, (unsigned)len };
	size_t n = 2 * len + 1;
	if (gnutls_hex_encode(&d, out, &n) < 0)
		out[0] = '\0';
	return out;
}

int util_unhex(const char *in, uint8_t *out, size_t len)
{
	/* GnuTLS skips separators such as ':' in "00:ff": only digits pass here */
	if (strlen(in) != 2 * len || strspn(in, "0123456789abcdefABCDEF") != 2 * len)
		return -EINVAL;
	gnutls_datum_t d = { (unsigned char *)in, (unsigned)(2 * len) };
	size_t n = len;
	if (gnutls_hex_decode(&d, out, &n) < 0 || n != len)
		return -EINVAL;
	return 0;
}

/* Standard base64 of @len bytes into @out (size >= 4*((len+2)/3)+1). 0 or -ENOSPC. */
static int util_b64_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	gnutls_datum_t d = { (unsigned char *)in, (unsigned)len }, r = { NULL, 0 };
	if (gnutls_base64_encode2(&d, &r) < 0)
		return -ENOMEM;
	if (r.size + 1 > outlen) {
		gnutls_free(r.data);
		return -ENOSPC;
	}
	memcpy(out, r.data, r.size);
	out[r.size] = '\0';
	gnutls_free(r.data);
	return 0;
}

int util_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t n = strlen(in);
	/* GnuTLS accepts embedded newlines; pins and tokens never have them. */
	if (n == 0 || n % 4 != 0 ||
	    strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != n)
		return -EINVAL;
	gnutls_datum_t d = { (unsigned char *)in, (unsigned)n }, r = { NULL, 0 };
	if (gnutls_base64_decode2(&d, &r) < 0)
		return -EINVAL;
	if (r.size > cap) {
		gnutls_free(r.data);
		return -ENOSPC;
	}
	memcpy(out, r.data, r.size);
	*outlen = r.size;
	gnutls_free(r.data);
	return 0;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool b64_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Decode base64 as Android (android.util.Base64), OkHttp (okio) and Apple
 * decode pins: standard alphabet, blanks and line breaks skipped, padding
 * optional but, when present, complete ('=' only at the end, at most two, the
 * group filled to four characters), unused trailing bits ignored whatever
 * their value. A single character left in the last group is an error (6 bits
 * are no byte). 0, -EINVAL (not base64) or -ENOSPC (more than @cap bytes).
 */
static int util_b64_decode_lenient(const char *in, uint8_t *out, size_t cap, size_t *outlen)
{
	uint32_t word = 0;
	size_t nchars = 0, n = 0, pad = 0;

	*outlen = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if (b64_blank(*p))
			continue;
		if (*p == '=') {
			pad++;
			continue;
		}
		int v = b64_value(*p);
		if (v < 0 || pad) /* a foreign byte, or data after padding */
			return -EINVAL;
		word = (word << 6) | (uint32_t)v;
		if (++nchars % 4 == 0) {
			if (n + 3 > cap)
				return -ENOSPC;
			out[n++] = (uint8_t)(word >> 16);
			out[n++] = (uint8_t)(word >> 8);
			out[n++] = (uint8_t)word;
			word = 0;
		}
	}
	size_t rest = nchars % 4;
	/* padding, when given, fills the last group to four characters exactly */
	if (rest == 1 || (pad && (rest == 0 || rest + pad != 4)))
		return -EINVAL;
	if (rest) {
		if (n + rest - 1 > cap)
			return -ENOSPC;
		word <<= 6 * (4 - rest); /* the unused low bits are dropped */
		out[n++] = (uint8_t)(word >> 16);
		if (rest == 3)
			out[n++] = (uint8_t)(word >> 8);
	}
	*outlen = n;
	return 0;
}

/* The value as shown in an error: printable ASCII, at most 60 characters. */
static const char *pin_shown(const char *s, char *buf, size_t len)
{
	size_t o = 0, i = 0;
	for (; s[i] && o + 4 < len && i < 60; i++)
		buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'') ? s[i] : '?';
	if (s[i] && o + 4 < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

int util_pin_decode_b64(const char *s, uint8_t out[32], char *err, size_t errlen)
{
	uint8_t buf[66];
	size_t n = 0;
	char shown[72];
	int rc = util_b64_decode_lenient(s, buf, sizeof(buf), &n);

	if (rc == 0 && n == 32) {
		memcpy(out, buf, 32);
		return 0;
	}
	pin_shown(s, shown, sizeof(shown));
	if (rc == -ENOSPC)
		return util_err(err, errlen, -EINVAL,
				"not 32 bytes of base64: '%s' decodes to more than %zu bytes",
				shown, sizeof(buf));
	if (rc)
		return util_err(err, errlen, -EINVAL, "not 32 bytes of base64: '%s' is not base64",
				shown);
	return util_err(err, errlen, -EINVAL, "not 32 bytes of base64: '%s' decodes to %zu bytes",
			shown, n);
}

int util_parse_pin(const char *s, uint8_t out[32], char *err, size_t errlen)
{
	if (!s || !*s)
		return util_err(err, errlen, -EINVAL, "empty pin");
	if (strncmp(s, "sha256/", 7) == 0)
		s += 7;
	else if (strncmp(s, "pin-sha256=", 11) == 0)
		s += 11;
	if (strlen(s) == 64 && util_unhex(s, out, 32) == 0)
		return 0;
	return util_pin_decode_b64(s, out, err, errlen);
}

char *util_pin_b64(const uint8_t pin[32], char *out)
{
	if (util_b64_encode(pin, 32, out, 45) != 0)
		out[0] = '\0';
	return out;
}

int util_read_file(const char *path, size_t cap, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	size_t alloc = 4096, len = 0;
	char *buf = malloc(alloc + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (len == alloc) {
			if (alloc >= cap) {
				free(buf);
				close(fd);
				return -EFBIG;
			}
			size_t size = alloc + 1; /* the text and its NUL */
			int rc = ARRAY_RESERVE(buf, size, len + 2, cap < SIZE_MAX ? cap + 1 : cap);
			if (rc) {
				free(buf);
				close(fd);
				return rc;
			}
			alloc = size - 1;
		}
		ssize_t r = read(fd, buf + len, alloc - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			free(buf);
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

time_t util_now(void)
{
	return time(NULL);
}

int64_t util_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void util_deadline_in(struct timespec *ts, clockid_t clock, int64_t ms)
{
	clock_gettime(clock, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}
