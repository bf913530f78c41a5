#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/notify.h"

/* A fake systemd: a datagram socket that NOTIFY_SOCKET points to. */
struct fake {
	int fd;
	char path[108];
};

static int fake_setup(void **state)
{
	static struct fake f;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(f.path, sizeof(f.path), "/tmp/pinwatch-notify-%d.sock", (int)getpid());
	unlink(f.path);
	f.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (f.fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f.path);
	if (bind(f.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(f.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setenv("NOTIFY_SOCKET", f.path, 1);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	*state = &f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;
	close(f->fd);
	unlink(f->path);
	unsetenv("NOTIFY_SOCKET");
	return 0;
}

/* The next datagram, NUL-terminated, or "" when none is waiting. */
static const char *next_msg(struct fake *f, int wait)
{
	static char buf[1024];
	ssize_t n = recv(f->fd, buf, sizeof(buf) - 1, wait ? 0 : MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void test_notify_outside_systemd_is_noop(void **state)
{
	struct fake *f = *state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_ready(), 0);
	assert_int_equal(notify_status("idle"), 0);
	assert_int_equal(notify_stopping(), 0);
	assert_int_equal(notify_watchdog_usec(), 0);
	assert_int_equal(notify_watchdog_kick(), 0);
	assert_string_equal(next_msg(f, 0), "");
	setenv("NOTIFY_SOCKET", f->path, 1);
}

static void test_notify_states(void **state)
{
	struct fake *f = *state;
	assert_int_equal(notify_ready(), 0);
	assert_string_equal(next_msg(f, 1), "READY=1");
	assert_int_equal(notify_reloading(), 0);
	assert_string_equal(next_msg(f, 1), "RELOADING=1");
	assert_int_equal(notify_stopping(), 0);
	assert_string_equal(next_msg(f, 1), "STOPPING=1");
}

static void test_notify_status_sanitised(void **state)
{
	struct fake *f = *state;
	assert_int_equal(notify_status("sweep: %d endpoints, %s", 12, "2 failing"), 0);
	assert_string_equal(next_msg(f, 1), "STATUS=sweep: 12 endpoints, 2 failing");

	/* A host name from the inventory must not add READY=1 or other fields. */
	assert_int_equal(notify_status("probing %s", "evil\nREADY=1\r\x7f"), 0);
	assert_string_equal(next_msg(f, 1), "STATUS=probing evil?READY=1??");

	char longtext[600];
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	assert_int_equal(notify_status("%s", longtext), 0);
	const char *m = next_msg(f, 1);
	assert_int_equal(strlen(m), strlen("STATUS=") + 255);
}

static void test_notify_watchdog_enabled_only_for_us(void **state)
{
	struct fake *f = *state;
	char pid[32];

	setenv("WATCHDOG_USEC", "30000000", 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1); /* meant for another process */
	assert_int_equal(notify_watchdog_usec(), 0);
	assert_int_equal(notify_watchdog(), 0);
	assert_string_equal(next_msg(f, 0), "");

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(notify_watchdog_usec(), 30000000);
	assert_int_equal(notify_watchdog(), 0);
	assert_string_equal(next_msg(f, 1), "WATCHDOG=1");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

static void test_notify_watchdog_kick_rate_limited(void **state)
{
	struct fake *f = *state;
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	setenv("WATCHDOG_USEC", "40000", 1); /* 40 ms: a ping is due every 20 ms */
	sleep_ms(25);
	assert_int_equal(notify_watchdog_kick(), 1);
	assert_string_equal(next_msg(f, 1), "WATCHDOG=1");
	/* Not due again right away, however often the loop calls it. */
	setenv("WATCHDOG_USEC", "60000000", 1);
	for (int i = 0; i < 100; i++)
		assert_int_equal(notify_watchdog_kick(), 0);
	assert_string_equal(next_msg(f, 0), "");
	setenv("WATCHDOG_USEC", "40000", 1);
	sleep_ms(25);
	assert_int_equal(notify_watchdog_kick(), 1);
	assert_string_equal(next_msg(f, 1), "WATCHDOG=1");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	assert_int_equal(notify_watchdog_kick(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_outside_systemd_is_noop),
		cmocka_unit_test(test_notify_states),
		cmocka_unit_test(test_notify_status_sanitised),
		cmocka_unit_test(test_notify_watchdog_enabled_only_for_us),
		cmocka_unit_test(test_notify_watchdog_kick_rate_limited),
	};
	return cmocka_run_group_tests(tests, fake_setup, fake_teardown);
}
