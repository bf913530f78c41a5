/* OkHttp CertificatePinner import from Kotlin and Java source, pasted
 * snippets and the line form: exact patterns, pins and roles of realistic
 * files (tests/data/okhttp), a table of source shapes, and hostile input. */
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

#define PIN_A "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M="
#define PIN_B "jQJTbIh0grw0/1TkHSumWb+Fs0Ggogr621gT3PvPKG0="
#define PIN_C "r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E="
#define PIN_D "++MBgDH5WGvL9Bcn5Be30cRcL0f5O+NyoXuWtQdX1aI="
#define PIN_E "hxqRlPTu1bMS/0DITB1SSu0vd4u/8l8TjPgfaAp63Gc="
#define PIN_F "diGVwiVYbubAI3RW4hB9xU8e/CH2GnkuvVFZE8zmgzI="
#define PIN_Z "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static const char *const letters[] = { PIN_A, PIN_B, PIN_C, PIN_D, PIN_E, PIN_F, PIN_Z };

static char *load(const char *rel, size_t *len)
{
	char path[512];
	char *buf = NULL;
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, rel);
	int rc = util_read_file(path, 4u << 20, &buf, len);
	if (rc != 0)
		fail_msg("cannot read %s: %d", path, rc);
	return buf;
}

/* "pattern=AB pattern2=C": every policy with its pins as letters (A = PIN_A,
 * ..., Z = PIN_Z) in order, lower case for backup pins. */
static void summary(const struct import_policies *r, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < r->npolicies; i++) {
		const struct pin_policy *p = &r->policies[i];
		assert_true(p->enforce);
		assert_false(p->include_subdomains);
		assert_string_equal(p->source, "okhttp");
		o += (size_t)snprintf(out + o, cap - o, "%s%s=", i ? " " : "", p->pattern);
		for (size_t k = 0; k < p->npins; k++) {
			char b64[48];
			util_pin_b64(p->pins[k].sha256, b64);
			char l = '?';
			for (size_t m = 0; m < sizeof(letters) / sizeof(letters[0]); m++)
				if (!strcmp(b64, letters[m]))
					l = m == 6 ? 'Z' : (char)('A' + m);
			if (p->pins[k].role == PIN_BACKUP)
				l = (char)(l - 'A' + 'a');
			o += (size_t)snprintf(out + o, cap - o, "%c", l);
		}
		assert_true(o < cap);
	}
}

static void expect_file(const char *rel, const char *want)
{
	size_t len;
	char *buf = load(rel, &len);
	struct import_policies r;
	char err[ERRLEN] = "", got[1024];
	int rc = importers_parse_okhttp(buf, len, strrchr(rel, '/') + 1, &r, err, sizeof(err));
	free(buf);
	if (rc)
		fail_msg("%s: %s", rel, err);
	summary(&r, got, sizeof(got));
	if (strcmp(got, want))
		fail_msg("%s:\n got  %s\n want %s", rel, got, want);
	importers_policies_free(&r);
}

static void test_okhttp_kotlin_file(void **state)
{
	(void)state;
	/* object with const vals, arrayOf spread, "**.$CDN_DOMAIN" template,
	 * multi-line add with a trailing comma, two adds of one host merged and
	 * lower-cased like OkHttp's toCanonicalHost(). */
	expect_file("okhttp/ShopPinning.kt", "**.cdn.example.com=Cd *.img.example.com=E "
					     "api.example.com=Ab checkout.example.com=Af");
}

static void test_okhttp_java_file(void **state)
{
	(void)state;
	/* static final Strings with '+', a String[] initializer passed as
	 * varargs, a builder variable, a local String as in OkHttp's KDoc. */
	expect_file("okhttp/PinnedHttpClient.java",
		    "**.cdn.example.com=Cd api.example.com=Ab auth.example.com=Ef");
}

static void test_okhttp_pasted_snippet(void **state)
{
	(void)state;
	expect_file("okhttp/pasted_snippet.txt", "**.cdn.example.com=C api.example.com=Ab");
	/* the line form still reads as before */
	expect_file("okhttp/shop_android_pins.txt", "**.cdn.example.com=Cd *.img.example.com=E "
						    "api.example.com=Ab checkout.example.com=Af");
}

static void test_okhttp_file_errors(void **state)
{
	(void)state;
	static const struct {
		const char *rel, *needle;
	} cases[] = {
		{ "okhttp/unresolvable_host.kt",
		  "unresolvable_host.kt:10: host is the variable 'hostName', which is not a "
		  "constant of this file" },
		{ "okhttp/sha1_pin.java", "sha1_pin.java:9: sha1/BOGUSBOGUSBOGUSBOGUSBOGUSBOG=: "
					  "pinwatch needs sha256 pins" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		char *buf = load(cases[i].rel, &len);
		struct import_policies r;
		char err[ERRLEN] = "";
		int rc = importers_parse_okhttp(buf, len, strrchr(cases[i].rel, '/') + 1, &r, err,
						sizeof(err));
		free(buf);
		assert_int_equal(rc, -EINVAL);
		if (!strstr(err, cases[i].needle))
			fail_msg("'%s' does not contain '%s'", err, cases[i].needle);
		assert_int_equal(r.npolicies, 0);
		assert_null(r.policies);
	}
}

#define KT_HEAD "package com.example.app\n\nimport okhttp3.CertificatePinner\n\n"

static void test_okhttp_source_table(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *want; /* summary, or an error needle when rc != 0 */
		int rc;
	} cases[] = {
		/* OkHttp's KDoc sample: a local String and the pin pasted from the
		 * pinning failure, one add() per pin */
		{ "String hostname = \"publicobject.com\";\n"
		  "CertificatePinner certificatePinner = new CertificatePinner.Builder()\n"
		  "    .add(hostname, \"sha256/" PIN_Z "\")\n    .build();\n",
		  "publicobject.com=Z", 0 },
		{ "CertificatePinner certificatePinner = new CertificatePinner.Builder()\n"
		  "    .add(\"publicobject.com\", \"sha256/" PIN_A "\")\n"
		  "    .add(\"publicobject.com\", \"sha256/" PIN_B "\")\n"
		  "    .add(\"publicobject.com\", \"sha256/" PIN_C "\")\n    .build();\n",
		  "publicobject.com=Abc", 0 },
		/* comments everywhere, a trailing comma, one call over many lines */
		{ KT_HEAD "val p = CertificatePinner.Builder() // pins\n  .add( /* host */ "
			  "\"api.example.com\", // leaf\n  \"sha256/" PIN_A "\", /* backup: */\n"
			  "  \"sha256/" PIN_B "\",\n  )\n  .build()\n",
		  "api.example.com=Ab", 0 },
		/* apply { add() } and a typed builder parameter of a helper */
		{ KT_HEAD "fun pins() = CertificatePinner.Builder().apply {\n"
			  "    add(\"**.example.com\", \"sha256/" PIN_C "\")\n}.build()\n"
			  "fun more(builder: CertificatePinner.Builder) {\n"
			  "    builder.add(\"*.example.org\", \"sha256/" PIN_D "\")\n}\n",
		  "**.example.com=C *.example.org=D", 0 },
		/* companion object constants, listOf spread, templates, toTypedArray,
		 * an element of a list */
		{ KT_HEAD "class Net {\n  companion object {\n"
			  "    private const val DOMAIN = \"example.com\"\n"
			  "    private val PINS = listOf(\"sha256/" PIN_A "\", \"sha256/" PIN_B
			  "\")\n"
			  "  }\n"
			  "  val p = CertificatePinner.Builder()\n"
			  "    .add(\"api.${DOMAIN}\", *PINS.toTypedArray())\n"
			  "    .add(\"**.$DOMAIN\", PINS[1])\n    .build()\n}\n",
		  "**.example.com=B api.example.com=Ab", 0 },
		/* Java: Arrays.asList, List.of, a qualified constant of a nested class */
		{ "class Pins {\n  static final class Keys {\n"
		  "    static final String LEAF = \"sha256/\" + \"" PIN_E "\";\n  }\n"
		  "  private static final List<String> CDN = Arrays.asList(\"sha256/" PIN_C "\",\n"
		  "      \"sha256/" PIN_D "\");\n"
		  "  CertificatePinner p = new CertificatePinner.Builder()\n"
		  "      .add(\"cdn.example.com\", CDN.toArray(new String[0]))\n"
		  "      .build();\n}\n",
		  "t:8: pin is an expression pinwatch cannot evaluate", -EINVAL },
		{ "class Pins {\n  static final class Keys {\n"
		  "    static final String LEAF = \"sha256/\" + \"" PIN_E "\";\n  }\n"
		  "  CertificatePinner p = new CertificatePinner.Builder()\n"
		  "      .add(\"a.example.com\", Keys.LEAF, \"sha256/" PIN_F "\").build();\n}\n",
		  "a.example.com=Ef", 0 },
		/* an extension function on the builder: "return add(" with a pin */
		{ KT_HEAD "fun CertificatePinner.Builder.shop(): CertificatePinner.Builder {\n"
			  "    return add(\"shop.example.com\", \"sha256/" PIN_B "\")\n}\n"
			  "fun add(a: String, b: String) = Unit\n",
		  "shop.example.com=B", 0 },
		/* a package line and unrelated add() calls are not hosts */
		{ KT_HEAD
		  "val list = mutableListOf<String>()\nfun f() { list.add(\"x\") }\n"
		  "val p = CertificatePinner.Builder().add(\"a.example.com\", \"sha256/" PIN_A
		  "\").build()\n",
		  "a.example.com=A", 0 },
		{ "package com.example.app\n", "t: no CertificatePinner.Builder().add", -EINVAL },
		{ KT_HEAD "val p = CertificatePinner.Builder().add(\"a.example.com\").build()\n",
		  "t: no CertificatePinner.Builder().add", -EINVAL },
		/* what pinwatch cannot know is named by line */
		{ KT_HEAD "fun p(hostName: String) = CertificatePinner.Builder()\n"
			  "  .add(hostName, \"sha256/" PIN_A "\").build()\n",
		  "t:6: host is the variable 'hostName', which is not a constant of this file",
		  -EINVAL },
		{ KT_HEAD "val p = CertificatePinner.Builder()\n"
			  "  .add(BuildConfig.API_HOST, \"sha256/" PIN_A "\").build()\n",
		  "t:6: host is 'BuildConfig.API_HOST', which is not a constant of this file",
		  -EINVAL },
		{ KT_HEAD "val p = CertificatePinner.Builder()\n  .add(\"a.example.com\",\n"
			  "     CertificatePinner.pin(cert)).build()\n",
		  "t:7: pin is an expression pinwatch cannot evaluate", -EINVAL },
		{ KT_HEAD "var HOST = \"a.example.com\"\nval p = CertificatePinner.Builder()\n"
			  "  .add(HOST, \"sha256/" PIN_A "\").build()\n",
		  "t:7: host is 'HOST' (line 5), a var that may change", -EINVAL },
		{ KT_HEAD "object A { const val H = \"a.example.com\" }\n"
			  "object B { const val H = \"b.example.com\" }\n"
			  "val p = CertificatePinner.Builder().add(H, \"sha256/" PIN_A
			  "\").build()\n",
		  "host is 'H', declared with different values at lines 5 and 6", -EINVAL },
		{ KT_HEAD "val H = H + \"x\"\n"
			  "val p = CertificatePinner.Builder().add(H, \"sha256/" PIN_A
			  "\").build()\n",
		  "which is defined in terms of itself", -EINVAL },
		{ KT_HEAD "val H = \"API.EXAMPLE.COM\".lowercase()\n"
			  "val p = CertificatePinner.Builder().add(H, \"sha256/" PIN_A
			  "\").build()\n",
		  "t:6: host is 'H' (line 5), whose value pinwatch cannot read", -EINVAL },
		{ KT_HEAD
		  "val p = CertificatePinner.Builder()\n"
		  "  .add(\"a.example.com\", \"sha1/BOGUSBOGUSBOGUSBOGUSBOGUSBOG=\").build()\n",
		  "t:6: sha1/BOGUSBOGUSBOGUSBOGUSBOGUSBOG=: pinwatch needs sha256 pins", -EINVAL },
		{ KT_HEAD "val p = CertificatePinner.Builder().add(\"a.example.com\", \"" PIN_A
			  "\").build()\n",
		  "t:5: pin '" PIN_A "' must start with sha256/", -EINVAL },
		{ KT_HEAD "val p = CertificatePinner.Builder()\n"
			  "  .add(\"a.example.com\", \"sha256/AAAA\").build()\n",
		  "t:6: not 32 bytes of base64: 'AAAA' decodes to 3 bytes", -EINVAL },
		{ KT_HEAD "val p = CertificatePinner.Builder()\n"
			  "  .add(\"a.*.example.com\", \"sha256/" PIN_A "\").build()\n",
		  "t:6: 'a.*.example.com' is not a host pattern", -EINVAL },
		{ KT_HEAD
		  "val p = CertificatePinner.Builder()\n  .add(\"a.example.com, \"sha256/" PIN_A
		  "\")\n",
		  "t:6: unterminated string literal", -EINVAL },
		{ KT_HEAD "/* pins\nval p = CertificatePinner.Builder()\n",
		  "t:5: unterminated /* comment", -EINVAL },
		{ KT_HEAD
		  "val p = CertificatePinner.Builder()\n  .add(\"a.example.com\", \"sha256/" PIN_A
		  "\"\n",
		  "t:6: add( is never closed", -EINVAL },
		{ KT_HEAD "val p = CertificatePinner.Builder().add(\"a.example.com\", , \"x\")\n",
		  "t:5: add() with an empty argument", -EINVAL },
		{ KT_HEAD "val p = CertificatePinner.Builder().add(\"\"\"a.example.com\"\"\", "
			  "\"${PIN}\")\n",
		  "t:5: pin is a string template naming 'PIN', which is not a constant", -EINVAL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct import_policies r;
		char err[ERRLEN] = "", got[1024];
		int rc = importers_parse_okhttp(cases[i].text, strlen(cases[i].text), "t", &r, err,
						sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d, want %d (%s)\n%s", i, rc, cases[i].rc, err,
				 cases[i].text);
		if (rc) {
			if (!strstr(err, cases[i].want))
				fail_msg("case %zu: '%s' does not contain '%s'", i, err,
					 cases[i].want);
			assert_int_equal(r.npolicies, 0);
			continue;
		}
		summary(&r, got, sizeof(got));
		if (strcmp(got, cases[i].want))
			fail_msg("case %zu:\n got  %s\n want %s", i, got, cases[i].want);
		importers_policies_free(&r);
	}
}

static void test_okhttp_no_pins_note(void **state)
{
	(void)state;
	const char *text = KT_HEAD "val p = CertificatePinner.Builder()\n"
				   "  .add(\"a.example.com\")\n"
				   "  .add(\"b.example.com\", \"sha256/" PIN_A "\").build()\n";
	struct import_policies r;
	char err[ERRLEN] = "";
	assert_int_equal(importers_parse_okhttp(text, strlen(text), "t", &r, err, sizeof(err)), 0);
	assert_int_equal(r.npolicies, 1);
	assert_int_equal(r.nnotes, 1);
	assert_non_null(strstr(r.notes[0], "t:6: add(\"a.example.com\") has no pins"));
	importers_policies_free(&r);

	/* an empty array pins nothing either; a mutable list is no constant */
	text = KT_HEAD "val NONE = arrayOf<String>()\nval p = CertificatePinner.Builder()\n"
		       "  .add(\"a.example.com\", *NONE)\n"
		       "  .add(\"b.example.com\", \"sha256/" PIN_A "\").build()\n";
	assert_int_equal(importers_parse_okhttp(text, strlen(text), "t", &r, err, sizeof(err)), 0);
	assert_int_equal(r.npolicies, 1);
	assert_string_equal(r.policies[0].pattern, "b.example.com");
	assert_int_equal(r.nnotes, 1);
	assert_non_null(strstr(r.notes[0], "t:7: add(\"a.example.com\") has no pins"));
	importers_policies_free(&r);
	text = KT_HEAD "val PINS = mutableListOf(\"sha256/" PIN_A "\")\n"
		       "val p = CertificatePinner.Builder().add(\"a.example.com\", "
		       "*PINS.toTypedArray())\n";
	assert_int_equal(importers_parse_okhttp(text, strlen(text), "t", &r, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(
		strstr(err, "t:6: pin is 'PINS' (line 5), whose value pinwatch cannot read"));
}

/* Bounds: deep brackets, many tokens, long strings, long constant chains. */
static void test_okhttp_hostile(void **state)
{
	(void)state;
	struct import_policies r;
	char err[ERRLEN];
	size_t n = 4096;
	char *deep = malloc(n + 64);
	assert_non_null(deep);
	memcpy(deep, "CertificatePinner.Builder().add(", 32);
	memset(deep + 32, '(', n);
	deep[32 + n] = '\0';
	assert_int_equal(importers_parse_okhttp(deep, strlen(deep), "t", &r, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "t:1: brackets nested deeper than"));
	free(deep);

	/* 1M tokens of "," in 1 MiB */
	size_t big = IMPORTERS_MAX_CONFIG;
	char *plus = malloc(big);
	assert_non_null(plus);
	memcpy(plus, "val x = 1\n", 10);
	memset(plus + 10, ',', big - 10);
	assert_int_equal(importers_parse_okhttp(plus, big, "t", &r, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "tokens"));
	free(plus);

	/* a chain of 40 constants each naming the previous: depth is bounded */
	char chain[8192];
	size_t o = (size_t)snprintf(chain, sizeof(chain), "val C0 = \"a.example.com\"\n");
	for (int i = 1; i < 40; i++)
		o += (size_t)snprintf(chain + o, sizeof(chain) - o, "val C%d = C%d\n", i, i - 1);
	snprintf(chain + o, sizeof(chain) - o,
		 "val p = CertificatePinner.Builder().add(C39, \"sha256/" PIN_A "\")\n");
	assert_int_equal(importers_parse_okhttp(chain, strlen(chain), "t", &r, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "t:41: host is 'C39' (line 40), whose value"));
	if (!strstr(err, "deeper than"))
		fail_msg("%s", err);

	/* a string concatenated past the cap */
	o = (size_t)snprintf(chain, sizeof(chain), "val S = \"%0600d\"\nval T = S + S\n", 0);
	snprintf(chain + o, sizeof(chain) - o,
		 "val p = CertificatePinner.Builder().add(T, \"sha256/" PIN_A "\")\n");
	assert_int_equal(importers_parse_okhttp(chain, strlen(chain), "t", &r, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "a string longer than 1024 bytes"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_okhttp_kotlin_file),
		cmocka_unit_test(test_okhttp_java_file),
		cmocka_unit_test(test_okhttp_pasted_snippet),
		cmocka_unit_test(test_okhttp_file_errors),
		cmocka_unit_test(test_okhttp_source_table),
		cmocka_unit_test(test_okhttp_no_pins_note),
		cmocka_unit_test(test_okhttp_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
