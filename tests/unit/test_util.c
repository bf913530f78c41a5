#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/util.h"

static void test_parse_date_table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int rc;
		time_t t;
	} cases[] = {
		{ "1970-01-01", 0, 0 },		 { "2026-11-27", 0, 1795737600 },
		{ "2024-02-29", 0, 1709164800 }, { "2023-02-29", -EINVAL, 0 },
		{ "2026-13-01", -EINVAL, 0 },	 { "2026-00-10", -EINVAL, 0 },
		{ "2026-04-31", -EINVAL, 0 },	 { "2026-4-01", -EINVAL, 0 },
		{ "2026-04-01x", -EINVAL, 0 },	 { "", -EINVAL, 0 },
		{ "1969-12-31", -EINVAL, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		time_t t = -1;
		assert_int_equal(util_parse_date(cases[i].in, &t), cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(t, cases[i].t);
	}
}

static void test_parse_time_roundtrip(void **state)
{
	(void)state;
	time_t t;
	char buf[32];
	assert_int_equal(util_parse_time("2026-11-27T13:45:01Z", &t), 0);
	assert_string_equal(util_fmt_time(t, buf, sizeof(buf)), "2026-11-27T13:45:01Z");
	assert_string_equal(util_fmt_date(t, buf, sizeof(buf)), "2026-11-27");
	assert_int_equal(util_parse_time("2026-11-27T24:00:00Z", &t), -EINVAL);
	assert_int_equal(util_parse_time("2026-11-27 13:45:01", &t), -EINVAL);
}

static void test_parse_duration_table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int rc;
		int64_t s;
	} cases[] = {
		{ "90", 0, 90 },
		{ "90s", 0, 90 },
		{ "5m", 0, 300 },
		{ "24h", 0, 86400 },
		{ "7d", 0, 604800 },
		{ "2w", 0, 1209600 },
		{ "0", -ERANGE, 0 },
		{ "-5m", -EINVAL, 0 },
		{ "5 m", -EINVAL, 0 },
		{ "5mm", -EINVAL, 0 },
		{ "m", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "99999999999d", -ERANGE, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t s = -1;
		assert_int_equal(util_parse_duration(cases[i].in, &s), cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(s, cases[i].s);
	}
}

static void test_parse_pin_forms(void **state)
{
	(void)state;
	uint8_t pin[32], zero[32] = { 0 };
	char b64[45], err[128];
	memset(pin, 0xab, sizeof(pin));
	util_pin_b64(pin, b64);
	assert_int_equal(strlen(b64), 44);

	uint8_t out[32];
	char prefixed[64];
	snprintf(prefixed, sizeof(prefixed), "sha256/%s", b64);
	assert_int_equal(util_parse_pin(prefixed, out, err, sizeof(err)), 0);
	assert_memory_equal(out, pin, 32);
	assert_int_equal(util_parse_pin(b64, out, err, sizeof(err)), 0);
	assert_memory_equal(out, pin, 32);
	assert_int_equal(
		util_parse_pin("abababababababababababababababababababababababababababababababab",
			       out, err, sizeof(err)),
		0);
	assert_memory_equal(out, pin, 32);
	/* 31 bytes, 33 bytes, garbage, empty */
	assert_int_equal(util_parse_pin("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", out, err,
					sizeof(err)),
			 -EINVAL);
	assert_string_equal(
		err,
		"not 32 bytes of base64: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==' decodes "
		"to 31 bytes");
	assert_int_equal(util_parse_pin("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", out,
					err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(util_parse_pin("not base64 at all!!", out, err, sizeof(err)), -EINVAL);
	assert_int_equal(util_parse_pin("", out, err, sizeof(err)), -EINVAL);
	assert_int_equal(util_parse_pin("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", out, err,
					sizeof(err)),
			 0);
	assert_memory_equal(out, zero, 32);
}

/* Base64 pins as Android, okio and Apple decode them; the stored form is the
 * canonical re-encoding. */
static void test_pin_decode_b64_table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int rc;
		const char *canonical; /* re-encoded pin, or a needle of the error */
	} cases[] = {
		/* canonical, unpadded, with blanks and a line break */
		{ "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=", 0,
		  "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=" },
		{ "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M", 0,
		  "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=" },
		{ " C5+lpZ7tcVwmwQIMcRtPbsQtWLAB\nXhQzejna0wHFr8M= ", 0,
		  "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=" },
		/* TrustKit's placeholder backup pin: non-zero unused bits (B = 000001) */
		{ "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=", 0,
		  "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=" },
		{ "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", 0,
		  "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/", 0,
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA8=" },
		/* lengths: 31, 33 (44 characters without padding) and 3 bytes */
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", -EINVAL, "decodes to 31 bytes" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", -EINVAL, "decodes to 33 bytes" },
		{ "Zm9v", -EINVAL, "'Zm9v' decodes to 3 bytes" },
		{ "", -EINVAL, "'' decodes to 0 bytes" },
		/* padding present but wrong: too much, too little, in the middle */
		{ "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M==", -EINVAL, "is not base64" },
		{ "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8=", -EINVAL, "is not base64" },
		{ "C5+lpZ7tcVwmwQIM=cRtPbsQtWLABXhQzejna0wHFr8M", -EINVAL, "is not base64" },
		/* one character alone in the last group: 6 bits are no byte */
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", -EINVAL, "is not base64" },
		/* foreign characters, URL-safe alphabet included (Android would skip them) */
		{ "C5-lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=", -EINVAL,
		  "'C5-lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=' is not base64" },
		{ "sha256/C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=", -EINVAL, "is not base64" },
		{ "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M\x01", -EINVAL, "r8M?' is not" },
		/* a long value is cut in the message */
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		  "AAAAAAAAAAAAAAAA",
		  -EINVAL, "AAAA...' decodes to more than 66 bytes" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t out[32];
		char err[256] = "", b64[48];
		int rc = util_pin_decode_b64(cases[i].in, out, err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): rc %d, want %d (%s)", i, cases[i].in, rc,
				 cases[i].rc, err);
		if (rc == 0) {
			assert_string_equal(util_pin_b64(out, b64), cases[i].canonical);
		} else if (!strstr(err, cases[i].canonical) ||
			   strncmp(err, "not 32 bytes of base64: '", 25)) {
			fail_msg("case %zu: error '%s' lacks '%s'", i, err, cases[i].canonical);
		}
	}
	/* util_parse_pin takes the same forms after its prefix */
	uint8_t a[32], b[32];
	char err[256];
	assert_int_equal(util_parse_pin("sha256/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", a,
					err, sizeof(err)),
			 0);
	assert_int_equal(
		util_parse_pin("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=", b, err, sizeof(err)),
		0);
	assert_memory_equal(a, b, 32);
}

static void test_hex_roundtrip(void **state)
{
	(void)state;
	uint8_t in[4] = { 0x00, 0x7f, 0x80, 0xff }, out[4];
	char hex[9];
	assert_string_equal(util_hex(in, 4, hex), "007f80ff");
	assert_int_equal(util_unhex("007F80fF", out, 4), 0);
	assert_memory_equal(in, out, 4);
	assert_int_equal(util_unhex("007f80f", out, 4), -EINVAL);
	assert_int_equal(util_unhex("007f80fg", out, 4), -EINVAL);
	assert_int_equal(util_unhex("007f80ff0", out, 4), -EINVAL);
	assert_int_equal(util_unhex("00:f80ff", out, 4), -EINVAL); /* GnuTLS would skip ':' */
	assert_int_equal(util_unhex("", out, 0), 0);
	assert_string_equal(util_hex(in, 0, hex), "");
}

static void test_sha256_known_vector(void **state)
{
	(void)state;
	uint8_t d[32];
	char hex[65];
	assert_int_equal(util_sha256("abc", 3, d), 0);
	assert_string_equal(util_hex(d, 32, hex),
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_sha256_parts_table(void **state)
{
	(void)state;
	static const char abc[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	/* the same digest whichever way the input is cut, empty pieces included */
	uint8_t whole[32], d[32];
	assert_int_equal(util_sha256(abc, strlen(abc), whole), 0);
	for (size_t cut = 0; cut <= strlen(abc); cut += 7) {
		const struct util_piece p[] = { { abc, cut },
						{ "", 0 },
						{ abc + cut, strlen(abc) - cut } };
		assert_int_equal(util_sha256_parts(p, 3, d), 0);
		assert_memory_equal(d, whole, 32);
	}
	char hex[65];
	assert_int_equal(util_sha256_parts(NULL, 0, d), 0);
	assert_string_equal(util_hex(d, 32, hex),
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_parse_hostport_table(void **state)
{
	(void)state;
	enum {
		NEED = UTIL_HOSTPORT_NEED_PORT,
		ZERO = UTIL_HOSTPORT_PORT_ZERO,
		EMPTY = UTIL_HOSTPORT_EMPTY_HOST
	};
	static const struct {
		const char *s;
		unsigned flags;
		int rc;
		const char *host;
		int port; /* -1: left as the caller's default */
	} cases[] = {
		{ "example.com", 0, 0, "example.com", -1 },
		{ "example.com:8443", 0, 0, "example.com", 8443 },
		{ "example.com:1", 0, 0, "example.com", 1 },
		{ "example.com:65535", 0, 0, "example.com", 65535 },
		{ "example.com:65536", 0, -ERANGE, NULL, 0 },
		{ "example.com:0", 0, -ERANGE, NULL, 0 },
		{ "example.com:0", ZERO, 0, "example.com", 0 },
		{ "example.com:", 0, -ERANGE, NULL, 0 },
		{ "example.com:x1", 0, -ERANGE, NULL, 0 },
		{ "example.com", NEED, -EINVAL, NULL, 0 },
		{ "[::1]:443", NEED, 0, "::1", 443 },
		{ "[::1]", 0, 0, "::1", -1 },
		{ "[::1]", NEED, -EINVAL, NULL, 0 },
		{ "[::1]x", 0, -EINVAL, NULL, 0 },
		{ "[]:443", EMPTY, -EINVAL, NULL, 0 },
		{ "[::1:443", 0, -EINVAL, NULL, 0 },
		{ "::1", 0, 0, "::1", -1 },
		{ "fe80::1:443", 0, 0, "fe80::1:443", -1 }, /* bare IPv6: all host */
		{ "::1", NEED, -EINVAL, NULL, 0 },
		{ ":8080", 0, -EINVAL, NULL, 0 },
		{ ":8080", EMPTY | NEED, 0, "", 8080 },
		{ "", 0, -EINVAL, NULL, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char host[64] = "unchanged";
		int port = -1;
		int rc = util_parse_hostport(cases[i].s, cases[i].flags, host, sizeof(host), &port);
		if (rc != cases[i].rc)
			fail_msg("'%s': rc %d, want %d", cases[i].s, rc, cases[i].rc);
		if (rc)
			continue;
		assert_string_equal(host, cases[i].host);
		assert_int_equal(port, cases[i].port);
	}
	/* the host must fit with its NUL */
	char small[4];
	int port = 443;
	assert_int_equal(util_parse_hostport("abc:1", 0, small, sizeof(small), &port), 0);
	assert_string_equal(small, "abc");
	assert_int_equal(util_parse_hostport("abcd:1", 0, small, sizeof(small), &port), -EINVAL);
	assert_int_equal(util_parse_hostport("[abcd]", 0, small, sizeof(small), &port), -EINVAL);
}

static void test_has_ctrl_table(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		bool ctrl;
	} cases[] = {
		{ "", false },	       { "plain text", false }, { "tab\there", true },
		{ "nl\n", true },      { "\x1f", true },	{ " ", false },
		{ "\x7f", true },      { "~", false },		{ "caf\xc3\xa9", false },
		{ "\x01start", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (util_has_ctrl(cases[i].s) != cases[i].ctrl)
			fail_msg("case %zu: want %d", i, cases[i].ctrl);
}

static void test_path_table(void **state)
{
	(void)state;
	static const struct {
		size_t len; /* buffer size given */
		const char *dir, *name;
		int rc;
		const char *want;
	} cases[] = {
		{ 32, "/var/lib", "pw.db", 0, "/var/lib/pw.db" },
		{ 15, "/var/lib", "pw.db", 0, "/var/lib/pw.db" }, /* exactly fits */
		{ 14, "/var/lib", "pw.db", -ENAMETOOLONG, "" },	  /* one byte short */
		{ 2, "", "", 0, "/" },
		{ 1, "", "", -ENAMETOOLONG, "" },
		{ 0, "a", "b", -ENAMETOOLONG, NULL }, /* nothing written */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32] = "unchanged";
		int rc = util_path(buf, cases[i].len, "%s/%s", cases[i].dir, cases[i].name);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
		assert_string_equal(buf, cases[i].want ? cases[i].want : "unchanged");
	}
	assert_int_equal(util_path(NULL, 8, "x"), -ENAMETOOLONG);
}

/* util_deadline_in: @ms ahead on the clock asked for, nanoseconds normalised. */
static void test_util_deadline_in_table(void **state)
{
	(void)state;
	static const int64_t ms[] = { 0, 1, 999, 1000, 1001, 1999, 86400000 };
	static const clockid_t clocks[] = { CLOCK_REALTIME, CLOCK_MONOTONIC };
	for (size_t c = 0; c < ARRAY_SIZE(clocks); c++)
		for (size_t i = 0; i < ARRAY_SIZE(ms); i++) {
			struct timespec before, ts;
			clock_gettime(clocks[c], &before);
			util_deadline_in(&ts, clocks[c], ms[i]);
			assert_true(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
			int64_t ahead = (int64_t)(ts.tv_sec - before.tv_sec) * 1000 +
					(ts.tv_nsec - before.tv_nsec) / 1000000;
			/* at least @ms ahead of the earlier reading (less one ms of
			 * rounding), and not a day off: on the clock asked for */
			if (ahead < ms[i] - 1 || ahead > ms[i] + 60000)
				fail_msg("clock %zu, %lld ms: %lld ms ahead", c, (long long)ms[i],
					 (long long)ahead);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util_deadline_in_table),
		cmocka_unit_test(test_parse_date_table),
		cmocka_unit_test(test_parse_time_roundtrip),
		cmocka_unit_test(test_parse_duration_table),
		cmocka_unit_test(test_parse_pin_forms),
		cmocka_unit_test(test_pin_decode_b64_table),
		cmocka_unit_test(test_hex_roundtrip),
		cmocka_unit_test(test_sha256_known_vector),
		cmocka_unit_test(test_sha256_parts_table),
		cmocka_unit_test(test_parse_hostport_table),
		cmocka_unit_test(test_has_ctrl_table),
		cmocka_unit_test(test_path_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
