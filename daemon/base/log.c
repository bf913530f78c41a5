#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum log_level max_level = LOG_LVL_INFO;
static int journal = -1;

void log_set_level(enum log_level lvl)
{
	max_level = lvl;
}

int log_parse_level(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level lvl;
	} names[] = { { "err", LOG_LVL_ERR },	{ "error", LOG_LVL_ERR },
		      { "warn", LOG_LVL_WARN }, { "warning", LOG_LVL_WARN },
		      { "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG } };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].lvl;
			return 0;
		}
	}
	return -EINVAL;
}

/* systemd sets JOURNAL_STREAM=<dev>:<inode> of the stream it connected to
 * stderr; a child whose stderr was redirected elsewhere inherits the variable,
 * so compare it with what stderr really is (sd_journal_stream_fd(3)). */
static int stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void vlog(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	char line[2048];
	size_t n = 0;

	if (lvl > max_level)
		return;
	if (journal < 0)
		journal = stderr_is_journal();
	if (journal) {
		n = (size_t)snprintf(line, sizeof(line), "<%d>", (int)lvl);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
		static const char *const tag[] = { [LOG_LVL_ERR] = "error: ",
						   [LOG_LVL_WARN] = "warning: ",
						   [LOG_LVL_INFO] = "",
						   [LOG_LVL_DEBUG] = "debug: " };
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s", tag[lvl] ? tag[lvl] : "");
	}
	if (n < sizeof(line)) {
		int w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		if (w > 0)
			n += (size_t)w;
	}
	if (errnum && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, ": %s", strerror(errnum));
	if (n >= sizeof(line) - 1) {
		n = sizeof(line) - 5;
		memcpy(line + n, "...", 3);
		n += 3;
	}
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(lvl, 0, fmt, ap);
	va_end(ap);
}

void log_errno(enum log_level lvl, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(lvl, errnum < 0 ? -errnum : errnum, fmt, ap);
	va_end(ap);
}

char *log_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outlen == 0)
		return out;
	for (; in && *in && o + 1 < outlen; in++) {
		unsigned char c = (unsigned char)*in;
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			if (o + 5 > outlen)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}
