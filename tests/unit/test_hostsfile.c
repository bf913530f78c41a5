#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "probe/hostsfile.h"
#include "probe/probe.h"
#include "base/util.h"

static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[64];
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	}
	return buf;
}

static void test_hostsfile_lookup_table(void **state)
{
	(void)state;
	char err[ERRLEN], buf[80];
	struct sockaddr_storage ss[8];
	socklen_t lens[8];
	size_t n;

	assert_int_equal(hostsfile_set("# demo edges\n"
				       "127.0.0.2   cdn.shop.test   static.shop.test\n"
				       "\n"
				       "127.0.0.3\tCDN.shop.test. # second edge\n"
				       "::1 cdn.shop.test\n"
				       "127.0.0.2 cdn.shop.test\n" /* duplicate */
				       "127.0.0.1 api.shop.test\r\n",
				       err, sizeof(err)),
			 0);
	assert_int_equal(hostsfile_lookup("cdn.shop.test", 8443, ss, lens, 8, &n, err, sizeof(err)),
			 1);
	assert_int_equal(n, 3);
	assert_string_equal(addr_str(&ss[0], buf, sizeof(buf)), "127.0.0.2:8443");
	assert_string_equal(addr_str(&ss[1], buf, sizeof(buf)), "127.0.0.3:8443");
	assert_string_equal(addr_str(&ss[2], buf, sizeof(buf)), "[::1]:8443");
	assert_int_equal(lens[0], sizeof(struct sockaddr_in));
	assert_int_equal(lens[2], sizeof(struct sockaddr_in6));

	/* Case, trailing dot, cap on the number returned. */
	assert_int_equal(hostsfile_lookup("Cdn.Shop.Test.", 1, ss, lens, 2, &n, err, sizeof(err)),
			 1);
	assert_int_equal(n, 2);
	assert_int_equal(hostsfile_lookup("static.shop.test", 1, ss, lens, 8, &n, err, sizeof(err)),
			 1);
	assert_int_equal(n, 1);
	assert_int_equal(hostsfile_lookup("api.shop.test", 1, ss, lens, 8, &n, err, sizeof(err)),
			 1);
	assert_string_equal(addr_str(&ss[0], buf, sizeof(buf)), "127.0.0.1:1");
	/* Not listed: fall through to DNS. */
	assert_int_equal(hostsfile_lookup("shop.test", 1, ss, lens, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(hostsfile_lookup("xcdn.shop.test", 1, ss, lens, 8, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 0);

	assert_int_equal(hostsfile_set(NULL, err, sizeof(err)), 0);
	assert_int_equal(hostsfile_lookup("cdn.shop.test", 1, ss, lens, 8, &n, err, sizeof(err)),
			 0);
}

/* The table is sorted once and searched: every one of 4,096 names (the cap)
 * is found with its own address, names that sort before, after and between
 * them are not, and a name that prefixes another is its own entry. */
static void test_hostsfile_lookup_many(void **state)
{
	(void)state;
	char err[ERRLEN], buf[80], name[64];
	struct sockaddr_storage ss[4];
	socklen_t lens[4];
	size_t n, len = 0, cap = 4096 * 40;
	char *text = malloc(cap);
	assert_non_null(text);
	/* Written in descending order so that the file order is not the sorted one. */
	for (int i = 4095; i >= 0; i--)
		len += (size_t)snprintf(text + len, cap - len, "10.%d.%d.1 h%d.test\n", i / 256,
					i % 256, i);
	assert_int_equal(hostsfile_set(text, err, sizeof(err)), 0);
	free(text);
	for (int i = 0; i < 4096; i++) {
		char want[32];
		snprintf(name, sizeof(name), "H%d.TEST", i);
		snprintf(want, sizeof(want), "10.%d.%d.1:443", i / 256, i % 256);
		assert_int_equal(hostsfile_lookup(name, 443, ss, lens, 4, &n, err, sizeof(err)), 1);
		assert_int_equal(n, 1);
		assert_string_equal(addr_str(&ss[0], buf, sizeof(buf)), want);
	}
	static const char *const absent[] = { "a.test",	    "h.test",  "h0.tes", "h0.test0",
					      "h4096.test", "zz.test", "h10",	 "" };
	for (size_t i = 0; i < ARRAY_SIZE(absent); i++)
		assert_int_equal(
			hostsfile_lookup(absent[i], 443, ss, lens, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(hostsfile_set(NULL, err, sizeof(err)), 0);
}

static void test_hostsfile_bad_files(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "999.1.1.1 x.test\n", "line 1: not an IP address" },
		{ "# ok\n127.0.0.1\n", "line 2: address without a host name" },
		{ "127.0.0.1 a\nexample.com 127.0.0.1\n", "line 2: not an IP address" },
	};
	char err[ERRLEN];
	struct sockaddr_storage ss[2];
	socklen_t lens[2];
	size_t n;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(hostsfile_set(cases[i].text, err, sizeof(err)), -EINVAL);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].want);
		/* An unusable file fails lookups rather than falling back to DNS. */
		assert_int_equal(hostsfile_lookup("a", 1, ss, lens, 2, &n, err, sizeof(err)),
				 -EINVAL);
	}
	char big[2048];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(hostsfile_set(big, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(hostsfile_set(NULL, err, sizeof(err)), 0);
}

/* In a child (the file is read once per process): probe_resolve honours
 * $PINWATCH_HOSTS_FILE. Returns the child's exit status. */
static int resolve_in_child(const char *file_text, const char *host, char *out, size_t outlen)
{
	char path[] = "/tmp/pinwatch-test-hosts-XXXXXX";
	int pfd[2];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	if (file_text)
		assert_int_equal(write(fd, file_text, strlen(file_text)),
				 (ssize_t)strlen(file_text));
	close(fd);
	if (!file_text)
		unlink(path); /* a missing file */
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct probe_addr a[8];
		size_t n;
		char err[ERRLEN], buf[80], line[512] = "";
		close(pfd[0]);
		setenv(HOSTSFILE_ENV, path, 1);
		int rc = probe_resolve(host, 443, a, 8, &n, err, sizeof(err));
		if (rc) {
			snprintf(line, sizeof(line), "%s", err);
		} else {
			for (size_t i = 0; i < n; i++) {
				size_t l = strlen(line);
				snprintf(line + l, sizeof(line) - l, "%s%s", i ? " " : "",
					 addr_str(&a[i].ss, buf, sizeof(buf)));
			}
		}
		if (write(pfd[1], line, strlen(line)) < 0)
			_exit(9);
		_exit(rc ? 1 : 0);
	}
	close(pfd[1]);
	ssize_t r = read(pfd[0], out, outlen - 1);
	out[r > 0 ? r : 0] = '\0';
	close(pfd[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	unlink(path);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_hostsfile_probe_resolve_uses_env(void **state)
{
	(void)state;
	char out[512];
	const char *hosts = "127.0.0.2 cdn.shop.test\n127.0.0.3 cdn.shop.test\n";
	assert_int_equal(resolve_in_child(hosts, "cdn.shop.test", out, sizeof(out)), 0);
	assert_string_equal(out, "127.0.0.2:443 127.0.0.3:443");
	/* Names the file does not list still resolve normally. */
	assert_int_equal(resolve_in_child(hosts, "127.0.0.9", out, sizeof(out)), 0);
	assert_string_equal(out, "127.0.0.9:443");
	/* A missing file is an error naming the variable, not silent DNS. */
	assert_int_equal(resolve_in_child(NULL, "cdn.shop.test", out, sizeof(out)), 1);
	assert_non_null(strstr(out, HOSTSFILE_ENV "="));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* First: the file is read once per process, and the children
		 * must inherit a process that has not read it yet. */
		cmocka_unit_test(test_hostsfile_probe_resolve_uses_env),
		cmocka_unit_test(test_hostsfile_lookup_table),
		cmocka_unit_test(test_hostsfile_lookup_many),
		cmocka_unit_test(test_hostsfile_bad_files),
	};
	unsetenv(HOSTSFILE_ENV);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
