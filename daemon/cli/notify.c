#include "cli/notify.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#define STATUS_MAX 256

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t last_kick_usec; /* monotonic time of the last WATCHDOG=1 */
static bool kicked;

/* sd_notify() returns > 0 when sent, 0 when NOTIFY_SOCKET is unset. */
static int send_state(const char *state)
{
	int rc = sd_notify(0, state);
	return rc < 0 ? rc : 0;
}

int notify_ready(void)
{
	return send_state("READY=1");
}

int notify_stopping(void)
{
	return send_state("STOPPING=1");
}

int notify_reloading(void)
{
	return send_state("RELOADING=1");
}

int notify_status(const char *fmt, ...)
{
	char msg[sizeof("STATUS=") + STATUS_MAX];
	const size_t pre = sizeof("STATUS=") - 1;
	va_list ap;

	memcpy(msg, "STATUS=", pre);
	va_start(ap, fmt);
	int n = vsnprintf(msg + pre, STATUS_MAX, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	for (char *p = msg + pre; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return send_state(msg);
}

uint64_t notify_watchdog_usec(void)
{
	uint64_t usec = 0;
	/* > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID, if set, is us. */
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}

int notify_watchdog(void)
{
	if (!notify_watchdog_usec())
		return 0;
	return send_state("WATCHDOG=1");
}

static uint64_t mono_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int notify_watchdog_kick(void)
{
	uint64_t interval = notify_watchdog_usec();
	if (!interval)
		return 0;
	uint64_t now = mono_usec();
	pthread_mutex_lock(&lock);
	bool due = !kicked || now - last_kick_usec >= interval / 2;
	if (due) {
		kicked = true;
		last_kick_usec = now;
	}
	pthread_mutex_unlock(&lock);
	if (!due)
		return 0;
	int rc = send_state("WATCHDOG=1");
	return rc < 0 ? rc : 1;
}
