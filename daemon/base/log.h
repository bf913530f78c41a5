/* Logging: one place that writes diagnostics, to stderr.
 *
 * Under systemd (JOURNAL_STREAM names our stderr) lines carry a syslog priority prefix and
 * no timestamp (journald adds one); otherwise an ISO-8601 UTC timestamp.
 * Attacker-controlled text (certificate fields, report bodies) must be passed
 * through log_escape() before it reaches a format string argument.
 */
#ifndef PINWATCH_LOG_H
#define PINWATCH_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARN = 4, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

/** Set the most verbose level written (default LOG_LVL_INFO). */
void log_set_level(enum log_level lvl);
/** Parse "err|warn|info|debug"; returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Like log_msg, appending ": strerror(errnum)". */
void log_errno(enum log_level lvl, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/**
 * Copy @in into @out (size @outlen, always NUL-terminated) replacing control
 * characters, backslashes and non-ASCII bytes by \xNN so that a log line
 * cannot be forged or broken by untrusted input. Returns @out.
 */
char *log_escape(const char *in, char *out, size_t outlen);

#endif
