/* Adoption CSV: the exports teams download (Google Play Console statistics,
 * App Store Connect analytics, Firebase / Google Analytics) with exact
 * versions, dates, counts and shares, the encodings and shapes they come in,
 * and hostile input. The plain form is tested in test_importers.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "importers/importers.h"
#include "base/util.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must be defined"
#endif

static int parse_file(const char *rel, const struct adoption_csv_opts *opts,
		      struct adoption_csv *out, char *err)
{
	char path[512];
	char *buf = NULL;
	size_t len;
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, rel);
	if (util_read_file(path, 4u << 20, &buf, &len))
		fail_msg("cannot read %s", path);
	int rc = importers_parse_adoption_csv_opts(buf, len, strrchr(rel, '/') + 1, opts, out, err,
						   ERRLEN);
	free(buf);
	return rc;
}

/* "version@date=count" of every row, in order, ';'-separated. */
static void rows_summary(const struct adoption_csv *a, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < a->nrows; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%s@%s=%lld", i ? ";" : "",
				      a->rows[i].version, a->rows[i].at,
				      (long long)a->rows[i].active_users);
	assert_true(o < cap);
}

static void expect_rows(const struct adoption_csv *a, const char *want)
{
	char got[2048];
	rows_summary(a, got, sizeof(got));
	if (strcmp(got, want))
		fail_msg("\n got  %s\n want %s", got, want);
}

static const struct adoption_csv_row *row(const struct adoption_csv *a, const char *version,
					  const char *at)
{
	for (size_t i = 0; i < a->nrows; i++)
		if (!strcmp(a->rows[i].version, version) && !strcmp(a->rows[i].at, at))
			return &a->rows[i];
	fail_msg("no row %s at %s", version, at);
	return NULL;
}

static void test_csv_play_console_utf16(void **state)
{
	(void)state;
	struct adoption_csv a;
	char err[ERRLEN] = "";
	/* installs_com.example.shop_202611_app_version.csv as Play writes it:
	 * UTF-16LE with a BOM, versions by versionCode, Active Device Installs */
	if (parse_file("csv/play-console.csv", NULL, &a, err))
		fail_msg("%s", err);
	assert_true(a.from_users);
	assert_true(a.version_codes);
	assert_string_equal(a.format, "Google Play Console statistics");
	assert_string_equal(a.encoding, "UTF-16LE");
	expect_rows(&a, "39000@2026-11-25=12190;40700@2026-11-25=181240;40800@2026-11-25=300910;"
			"40900@2026-11-25=360420;39000@2026-11-26=12150;40700@2026-11-26=180890;"
			"40800@2026-11-26=300420;40900@2026-11-26=368310;39000@2026-11-27=12000;"
			"40700@2026-11-27=180000;40800@2026-11-27=300000;40900@2026-11-27=372000");
	/* 2026-11-27: 864000 devices in all */
	assert_float_equal(row(&a, "40900", "2026-11-27")->share, 372000.0 / 864000.0, 1e-12);
	assert_float_equal(row(&a, "39000", "2026-11-27")->share, 12000.0 / 864000.0, 1e-12);
	assert_int_equal(row(&a, "40800", "2026-11-25")->line, 4);
	importers_adoption_free(&a);

	/* --version-code: codes become versions; two codes of one version (per-ABI
	 * builds) are added up, the shares of the date do not change */
	const struct adoption_code codes[] = { { "40700", "4.7.0" },
					       { "40800", "4.8.0" },
					       { "40900", "4.9.0" },
					       { "39000", "4.9.0" } };
	const struct adoption_csv_opts opts = { .codes = codes, .ncodes = 4 };
	if (parse_file("csv/play-console.csv", &opts, &a, err))
		fail_msg("%s", err);
	assert_int_equal(a.nrows, 9);
	assert_int_equal(row(&a, "4.9.0", "2026-11-27")->active_users, 384000);
	assert_float_equal(row(&a, "4.9.0", "2026-11-27")->share, 384000.0 / 864000.0, 1e-12);
	assert_float_equal(row(&a, "4.7.0", "2026-11-26")->share, 180890.0 / 861770.0, 1e-12);
	importers_adoption_free(&a);
}

static void test_csv_app_store_connect(void **state)
{
	(void)state;
	struct adoption_csv a;
	char err[ERRLEN] = "";
	/* App Sessions report, tab-separated, one row per device and territory */
	if (parse_file("csv/app_store_connect_sessions.txt", NULL, &a, err))
		fail_msg("%s", err);
	assert_string_equal(a.format, "App Store Connect analytics");
	assert_null(a.encoding);
	assert_false(a.version_codes);
	expect_rows(&a, "4.9@2026-11-26=45000;4.8@2026-11-26=24000;4.7@2026-11-26=8000;"
			"4.1@2026-11-26=3000");
	assert_float_equal(a.rows[0].share, 0.5625, 1e-12);
	assert_float_equal(a.rows[3].share, 0.0375, 1e-12);
	importers_adoption_free(&a);
}

static void test_csv_firebase(void **state)
{
	(void)state;
	struct adoption_csv a;
	char err[ERRLEN] = "";
	/* '#' preamble; no Date column: the figures are dated at the end date;
	 * '(not set)' counts in the total and is not a row */
	if (parse_file("csv/firebase_app_versions.csv", NULL, &a, err))
		fail_msg("%s", err);
	assert_string_equal(a.format, "Firebase / Google Analytics");
	expect_rows(&a, "4.9@2026-11-26=41250;4.8@2026-11-26=24000;4.7@2026-11-26=8000;"
			"4.1@2026-11-26=3000");
	assert_int_equal(a.unnamed, 1);
	assert_float_equal(a.rows[0].share, 41250.0 / 77000.0, 1e-12);
	assert_int_equal(a.rows[0].line, 11);
	importers_adoption_free(&a);
}

/* UTF-16 of @s (ASCII) with a BOM, little or big endian, into @out. */
static size_t utf16(const char *s, bool be, char *out, size_t cap)
{
	size_t n = 0;
	out[n++] = be ? '\xfe' : '\xff';
	out[n++] = be ? '\xff' : '\xfe';
	for (; *s && n + 2 <= cap; s++) {
		out[n++] = be ? '\0' : *s;
		out[n++] = be ? *s : '\0';
	}
	return n;
}

static void test_csv_encodings(void **state)
{
	(void)state;
	char buf[512], err[ERRLEN];
	struct adoption_csv a;
	/* UTF-16BE with CRLF */
	size_t n =
		utf16("App Version,Unique Devices,Date\r\n4.9,3,2026-11-26\r\n4.8,1,2026-11-26\r\n",
		      true, buf, sizeof(buf));
	assert_int_equal(importers_parse_adoption_csv(buf, n, "t", &a, err, sizeof(err)), 0);
	assert_string_equal(a.encoding, "UTF-16BE");
	expect_rows(&a, "4.9@2026-11-26=3;4.8@2026-11-26=1");
	assert_float_equal(a.rows[0].share, 0.75, 1e-12);
	importers_adoption_free(&a);
	/* a non-ASCII version and a surrogate pair survive the conversion */
	const char le[] = "\xff\xfe"
			  "v\0e\0r\0s\0i\0o\0n\0,\0s\0h\0a\0r\0e\0,\0d\0a\0t\0e\0\n\0"
			  "4\0\xe9\0\x3d\xd8\x00\xde,\0"
			  "1\0,\0002\0000\0002\0006\0-\0001\0001\0-\0002\0006\0\n\0";
	assert_int_equal(
		importers_parse_adoption_csv(le, sizeof(le) - 1, "t", &a, err, sizeof(err)), 0);
	assert_string_equal(a.rows[0].version, "4\xc3\xa9\xf0\x9f\x98\x80");
	importers_adoption_free(&a);

	static const struct {
		const char *text;
		size_t len;
		const char *needle;
	} bad[] = {
		{ "\xff\xfe"
		  "a\0,",
		  5, "t: UTF-16 file with an odd number of bytes" },
		{ "\xff\xfe"
		  "a\0\n\0\x00\xdc",
		  8, "t:2: invalid UTF-16 (unpaired surrogate)" },
		{ "\xff\xfe"
		  "a\0\n\0\n\0\x00\xd8"
		  "a\0",
		  10, "t:3: invalid UTF-16 (unpaired surrogate)" },
		{ "v\0e\0r\0\n\0", 8,
		  "t:1: NUL byte; not a text file (UTF-16 without a byte-order "
		  "mark?)" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = importers_parse_adoption_csv(bad[i].text, bad[i].len, "t", &a, err,
						      sizeof(err));
		assert_int_equal(rc, -EINVAL);
		if (!strstr(err, bad[i].needle))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].needle);
		assert_int_equal(a.nrows, 0);
	}
}

static void test_csv_export_table(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *want; /* rows summary, or the error needle */
		int rc;
	} cases[] = {
		/* Google Analytics with a Date dimension: YYYYMMDD, Users */
		{ "# Start date: 20261101\n# End date: 20261102\nDate,App version,Users\n"
		  "20261101,4.9,30\n20261101,4.8,10\n20261102,4.9,40\n",
		  "4.9@2026-11-01=30;4.8@2026-11-01=10;4.9@2026-11-02=40", 0 },
		/* a BigQuery query over the Firebase export, saved as CSV */
		{ "event_date,app_version,users\n20261125,4.9.0,120\n20261125,4.8.0,80\n",
		  "4.9.0@2026-11-25=120;4.8.0@2026-11-25=80", 0 },
		/* the next table of a download ends the first one */
		{ "# End date: 20261102\nApp version,Active users\n4.9,3\n\n# Next\n"
		  "Country,Active users\nDE,3\n",
		  "4.9@2026-11-02=3", 0 },
		/* counts written with thousands separators, quoted */
		{ "version,active_users,date\n4.9,\"1,250,000\",2026-11-20\n4.8,\"750,000\",2026-"
		  "11-20\n",
		  "4.9@2026-11-20=1250000;4.8@2026-11-20=750000", 0 },
		/* columns in any order, extras ignored, the best count column read */
		{ "Territory,Users,Date,Unique Devices,App Version\nDE,9,2026-11-20,4,4.9\n"
		  "US,9,2026-11-20,6,4.9\n",
		  "4.9@2026-11-20=10", 0 },
		{ "Date,Package Name,App Version Code,Daily Device Installs,Active Device "
		  "Installs\n"
		  "2026-11-20,com.example.shop,40900,5,100\n",
		  "40900@2026-11-20=100", 0 },
		/* a version name column wins over the version code (Play's reviews
		 * reports have both) */
		{ "Package Name,App Version Code,App Version Name,Date,Users\n"
		  "com.example.shop,40900,4.9.0,2026-11-20,7\n",
		  "4.9.0@2026-11-20=7", 0 },
		/* a share column wins over counts */
		{ "version,users,share,date\n4.9,10,0.4,2026-11-20\n", "4.9@2026-11-20=-1", 0 },
		/* tab-separated plain file */
		{ "version\tshare\tdate\n4.9\t0.4\t2026-11-20\n", "4.9@2026-11-20=-1", 0 },
		/* errors name the line */
		{ "version,active_users,date\n4.9,\"1,25\",2026-11-20\n",
		  "t:2: '1,25' is not a number", -EINVAL },
		{ "version,active_users,date\n4.9,\",125\",2026-11-20\n",
		  "t:2: ',125' is not a number", -EINVAL },
		{ "Date,Package Name,App Version Code,Active Device Installs\n"
		  "2026-11-20,com.example.shop,40900\n",
		  "t:2: expected 4 columns as in the header, got 3", -EINVAL },
		{ "Date,Package Name,Daily Device Installs,Active Device Installs\n"
		  "2026-11-20,com.example.shop,1,2\n",
		  "t:1: header has no version column", -EINVAL },
		{ "App version,Active users\n4.9,3\n", "t:1: header has no date column", -EINVAL },
		{ "Date,App Version,Users,Users\n", "t:1: header names column 'Users' twice",
		  -EINVAL },
		{ "Date,App Version,Version,Users\n",
		  "t:1: header names column 'Version' twice (also 'App Version')", -EINVAL },
		{ "# End date: 2026-13-01\nApp version,Users\n4.9,3\n",
		  "t:3: date '2026-13-01' is not YYYY-MM-DD or YYYYMMDD", -EINVAL },
		{ "Date,App version,Users\n20261131,4.9,3\n", "t:2: date '20261131' is not",
		  -EINVAL },
		{ "Date,App version,Users\n2026-11-20,(not set),3\n",
		  "t: no adoption rows of a named version", -EINVAL },
		/* the plain form still refuses a version listed twice */
		{ "version,active_users,date\n4.9,1,2026-11-20\n4.9,2,2026-11-20\n",
		  "t:3: version 4.9 listed twice for 2026-11-20 (also line 2)", -EINVAL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct adoption_csv a;
		char err[ERRLEN] = "";
		int rc = importers_parse_adoption_csv(cases[i].text, strlen(cases[i].text), "t", &a,
						      err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d (%s), want %d", i, rc, err, cases[i].rc);
		if (rc) {
			if (!strstr(err, cases[i].want))
				fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].want);
			assert_int_equal(a.nrows, 0);
			continue;
		}
		char got[512];
		rows_summary(&a, got, sizeof(got));
		if (strcmp(got, cases[i].want))
			fail_msg("case %zu:\n got  %s\n want %s", i, got, cases[i].want);
		importers_adoption_free(&a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_play_console_utf16),
		cmocka_unit_test(test_csv_app_store_connect),
		cmocka_unit_test(test_csv_firebase),
		cmocka_unit_test(test_csv_encodings),
		cmocka_unit_test(test_csv_export_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
