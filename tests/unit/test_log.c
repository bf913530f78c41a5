#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/log.h"

enum env_mode { ENV_UNSET, ENV_MATCHES_STDERR, ENV_OTHER_STREAM };

/*
 * Log a few lines in a child process whose stderr is a fresh file, with
 * JOURNAL_STREAM set as @mode says (log.c decides once per process), and
 * return what the child wrote.
 */
static char *log_in_child(enum env_mode mode, char *buf, size_t len)
{
	char path[] = "/tmp/pinwatch-test-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct stat st;
		char env[64];
		if (dup2(fd, STDERR_FILENO) < 0 || fstat(STDERR_FILENO, &st) < 0)
			_exit(99);
		snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino + (mode == ENV_OTHER_STREAM));
		if (mode == ENV_UNSET)
			unsetenv("JOURNAL_STREAM");
		else
			setenv("JOURNAL_STREAM", env, 1);
		log_info("sweep done: %d probes", 3);
		log_errno(LOG_LVL_WARN, -ENOENT, "open %s", "x.db");
		log_err("bad");
		log_debug("hidden at the default level");
		fflush(stderr);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ssize_t n = pread(fd, buf, len - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	unlink(path);
	return buf;
}

static void test_log_journal_has_priority_no_timestamp(void **state)
{
	(void)state;
	char buf[1024];
	assert_string_equal(log_in_child(ENV_MATCHES_STDERR, buf, sizeof(buf)),
			    "<6>sweep done: 3 probes\n"
			    "<4>open x.db: No such file or directory\n"
			    "<3>bad\n");
}

static void check_timestamped(const char *out)
{
	regex_t re;
	assert_int_equal(regcomp(&re,
				 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z sweep "
				 "done: 3 probes\n"
				 "[0-9T:Z-]{20} warning: open x.db: No such file or directory\n"
				 "[0-9T:Z-]{20} error: bad\n$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	int rc = regexec(&re, out, 0, NULL, 0);
	regfree(&re);
	if (rc != 0)
		fail_msg("unexpected log output:\n%s", out);
}

static void test_log_terminal_has_timestamps(void **state)
{
	(void)state;
	char buf[1024];
	check_timestamped(log_in_child(ENV_UNSET, buf, sizeof(buf)));
}

static void test_log_inherited_journal_stream_ignored(void **state)
{
	(void)state;
	char buf[1024];
	/* JOURNAL_STREAM names another stream: stderr was redirected by a parent. */
	check_timestamped(log_in_child(ENV_OTHER_STREAM, buf, sizeof(buf)));
}

static void test_log_escape_table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t outlen;
		const char *out;
	} cases[] = {
		{ "plain host.example", 64, "plain host.example" },
		{ "a\nb", 64, "a\\x0ab" },
		{ "back\\slash", 64, "back\\x5cslash" },
		{ "\x1b[31mred", 64, "\\x1b[31mred" },
		{ "caf\xc3\xa9", 64, "caf\\xc3\\xa9" },
		{ "abcdef", 4, "abc" },
		{ "ab\ncd", 5, "ab" }, /* never a partial escape */
		{ "", 8, "" },
	};
	char out[64];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(log_escape(cases[i].in, out, cases[i].outlen), cases[i].out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_journal_has_priority_no_timestamp),
		cmocka_unit_test(test_log_terminal_has_timestamps),
		cmocka_unit_test(test_log_inherited_journal_stream_ignored),
		cmocka_unit_test(test_log_escape_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
