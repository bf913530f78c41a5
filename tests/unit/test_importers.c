#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include "importers/importers.h"
#include "importers/importers_int.h"
#include "base/util.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must be defined"
#endif

#define PIN_A	  "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M="
#define PIN_B	  "jQJTbIh0grw0/1TkHSumWb+Fs0Ggogr621gT3PvPKG0="
#define PIN_C	  "r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E="
#define PIN_D	  "++MBgDH5WGvL9Bcn5Be30cRcL0f5O+NyoXuWtQdX1aI="
#define PIN_E	  "hxqRlPTu1bMS/0DITB1SSu0vd4u/8l8TjPgfaAp63Gc="
#define PIN_F	  "diGVwiVYbubAI3RW4hB9xU8e/CH2GnkuvVFZE8zmgzI="
#define HASHES_AB "\"TSKPublicKeyHashes\": [\"" PIN_A "\", \"" PIN_B "\"]"

typedef int (*parse_fn)(const char *, size_t, const char *, struct import_policies *, char *,
			size_t);

static char *load(const char *rel, size_t *len)
{
	char path[512];
	char *buf = NULL;
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, rel);
	int rc = util_read_file(path, 64u << 20, &buf, len);
	if (rc != 0)
		fail_msg("cannot read %s: %d", path, rc);
	return buf;
}

static int parse_file(parse_fn fn, const char *rel, struct import_policies *out, char *err)
{
	size_t len;
	char *buf = load(rel, &len);
	const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	int rc = fn(buf, len, base, out, err, ERRLEN);
	free(buf);
	return rc;
}

static int parse_str(parse_fn fn, const char *text, struct import_policies *out, char *err)
{
	return fn(text, strlen(text), "t", out, err, ERRLEN);
}

static const struct pin_policy *find(const struct import_policies *r, const char *pattern,
				     bool incl)
{
	for (size_t i = 0; i < r->npolicies; i++)
		if (!strcmp(r->policies[i].pattern, pattern) &&
		    r->policies[i].include_subdomains == incl)
			return &r->policies[i];
	fail_msg("no policy %s (include_subdomains=%d)", pattern, incl);
	return NULL;
}

static bool has_note(const struct import_policies *r, const char *needle)
{
	for (size_t i = 0; i < r->nnotes; i++)
		if (strstr(r->notes[i], needle))
			return true;
	return false;
}

/* Check a policy's pins in order: b64 list, role of each (c/b). */
static void check_pins(const struct pin_policy *p, const char *const *pins, const char *roles)
{
	size_t n = strlen(roles);
	assert_int_equal(p->npins, n);
	for (size_t i = 0; i < n; i++) {
		char b64[48];
		assert_string_equal(util_pin_b64(p->pins[i].sha256, b64), pins[i]);
		assert_int_equal(p->pins[i].role, roles[i] == 'c' ? PIN_CURRENT : PIN_BACKUP);
	}
}

static void expect_error(parse_fn fn, const char *text, const char *needle)
{
	struct import_policies r;
	char err[ERRLEN] = "";
	int rc = parse_str(fn, text, &r, err);
	if (rc == 0)
		fail_msg("accepted, expected error containing '%s':\n%s", needle, text);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not contain '%s'", err, needle);
	assert_int_equal(r.npolicies, 0);
	assert_null(r.policies);
}

/* ---- NSC ---------------------------------------------------------------- */

static void test_nsc_realistic(void **state)
{
	(void)state;
	struct import_policies r;
	char err[ERRLEN] = "";
	assert_int_equal(parse_file(importers_parse_nsc, "nsc/shop_android.xml", &r, err), 0);
	assert_int_equal(r.npolicies, 5);

	const char *ab[] = { PIN_A, PIN_B }, *cd[] = { PIN_C, PIN_D };
	const struct pin_policy *p = find(&r, "api.example.com", true);
	assert_true(p->enforce);
	assert_string_equal(p->expires, "2027-06-01");
	assert_string_equal(p->source, "nsc");
	check_pins(p, ab, "cb");

	p = find(&r, "checkout.example.com", false);
	check_pins(p, ab, "cb");
	assert_string_equal(p->expires, "2027-06-01");

	/* own pin-set: own pins, and no expiration (it is the pin-set's attribute) */
	p = find(&r, "legacy.api.example.com", false);
	check_pins(p, cd, "cb");
	assert_string_equal(p->expires, "");
	assert_true(p->enforce);

	/* nested without pin-set inherits the parent's */
	p = find(&r, "uploads.api.example.com", true);
	check_pins(p, ab, "cb");
	assert_string_equal(p->expires, "2027-06-01");

	/* nested with an empty pin-set un-pins: exclusion */
	p = find(&r, "status.api.example.com", false);
	assert_false(p->enforce);
	assert_int_equal(p->npins, 0);

	/* sorted by pattern */
	for (size_t i = 1; i < r.npolicies; i++)
		assert_true(strcmp(r.policies[i - 1].pattern, r.policies[i].pattern) <= 0);

	/* base-config's anchors (system) do not override pins */
	for (size_t i = 0; i < r.npolicies; i++)
		assert_int_equal(r.policies[i].noverride_anchors, 0);
	assert_true(has_note(&r, "debug-overrides"));
	assert_true(has_note(&r, "10.0.2.2"));
	importers_policies_free(&r);
}

static void test_nsc_trustkit_config(void **state)
{
	(void)state;
	struct import_policies r;
	char err[ERRLEN] = "";
	const char *ef[] = { PIN_E, PIN_F };
	assert_int_equal(parse_file(importers_parse_nsc, "nsc/bank_trustkit_android.xml", &r, err),
			 0);
	assert_int_equal(r.npolicies, 2);
	/* enforcePinning="false" does not stop Android 7+ from enforcing the
	 * pin-set (TrustKit only softens connections made through it): kept
	 * enforced, with a note naming the line. */
	const struct pin_policy *p = find(&r, "bank.example.org", true);
	assert_true(p->enforce);
	check_pins(p, ef, "cb");
	assert_string_equal(p->expires, "2027-01-15");
	p = find(&r, "payments.bank.example.org", false);
	assert_true(p->enforce);
	check_pins(p, ef, "cb");
	assert_string_equal(p->expires, "2027-01-15");
	assert_true(has_note(&r, "bank_trustkit_android.xml:9: trustkit-config enforcePinning"));
	importers_policies_free(&r);
}

/* TrustKit-Android's getting-started shape: enforcePinning="false" with a
 * report-uri, a debug CA overriding pins in debug-overrides. In a release
 * build on Android 7+ the platform enforces the pin-set and ignores
 * debug-overrides: one enforced policy, no override anchors. */
static void test_nsc_trustkit_getting_started(void **state)
{
	(void)state;
	struct import_policies r;
	char err[ERRLEN] = "";
	const char *ef[] = { PIN_E, PIN_F };
	assert_int_equal(parse_file(importers_parse_nsc, "nsc/trustkit_android_getting_started.xml",
				    &r, err),
			 0);
	assert_int_equal(r.npolicies, 1);
	const struct pin_policy *p = find(&r, "www.news.example.org", false);
	assert_true(p->enforce);
	check_pins(p, ef, "cb");
	assert_string_equal(p->expires, "");
	assert_int_equal(p->noverride_anchors, 0);
	assert_true(has_note(&r, ":15: trustkit-config enforcePinning=\"false\": kept enforced"));
	assert_true(has_note(&r, ":20: <debug-overrides> ignored"));
	importers_policies_free(&r);
}

static void test_nsc_sibling_unpins(void **state)
{
	(void)state;
	/* Android picks the most specific domain-config, even a sibling: an
	 * unpinned exact domain under a pinned includeSubdomains one un-pins it. */
	struct import_policies r;
	char err[ERRLEN] = "";
	const char *xml =
		"<network-security-config>"
		"<domain-config><domain includeSubdomains=\"true\">example.com</domain>"
		"<pin-set><pin digest=\"SHA-256\">" PIN_A "</pin><pin digest=\"SHA-256\">" PIN_B
		"</pin></pin-set></domain-config>"
		"<domain-config cleartextTrafficPermitted=\"true\"><domain>cdn.example.com</domain>"
		"</domain-config>"
		"<domain-config><domain>other.example.net</domain></domain-config>"
		"</network-security-config>";
	assert_int_equal(parse_str(importers_parse_nsc, xml, &r, err), 0);
	assert_int_equal(r.npolicies, 2);
	const struct pin_policy *p = find(&r, "cdn.example.com", false);
	assert_false(p->enforce);
	assert_int_equal(p->npins, 0);
	assert_true(has_note(&r, "other.example.net"));
	importers_policies_free(&r);
}

static void check_anchors(const struct pin_policy *p, const char *const *want, size_t n)
{
	if (p->noverride_anchors != n)
		fail_msg("%s: %zu override anchors, expected %zu", p->pattern, p->noverride_anchors,
			 n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(p->override_anchors[i], want[i]);
}

static void test_nsc_override_pins(void **state)
{
	(void)state;
	struct import_policies r;
	char err[ERRLEN] = "";
	const char *ab[] = { PIN_A, PIN_B }, *c[] = { PIN_C };
	assert_int_equal(parse_file(importers_parse_nsc, "nsc/override_pins.xml", &r, err), 0);
	assert_int_equal(r.npolicies, 4);
	/* base-config comes last in the file and still is the parent */
	const char *base[] = { "@raw/corp_proxy_ca" }, *sysuser[] = { "system", "user" };
	const struct pin_policy *p = find(&r, "corp.example.com", true);
	check_pins(p, ab, "cb");
	assert_string_equal(p->expires, "2027-03-31");
	check_anchors(p, base, 1);
	/* own <trust-anchors> replace the inherited ones */
	p = find(&r, "pay.corp.example.com", false);
	check_pins(p, ab, "cb");
	check_anchors(p, NULL, 0);
	/* nested without trust-anchors: the parent's (here the base-config's) */
	p = find(&r, "wiki.corp.example.com", false);
	check_pins(p, ab, "cb");
	assert_string_equal(p->expires, "2027-03-31");
	check_anchors(p, base, 1);
	p = find(&r, "partner.example.net", false);
	check_pins(p, c, "c");
	check_anchors(p, sysuser, 2);
	/* a text file has no resources: the anchor is kept by name, noted */
	assert_true(has_note(&r, "@raw/corp_proxy_ca kept by name"));
	/* debug-overrides (overridePins="true" by default there) is ignored */
	assert_true(has_note(&r, "debug-overrides> ignored"));
	importers_policies_free(&r);
}

/* A resolver as the APK importer gives: @raw/ resources to pins. */
static int fake_anchor(void *ctx, const char *src, char (*pins)[IMP_ANCHOR_LEN], size_t cap,
		       size_t *n, char *msg, size_t msglen)
{
	(void)ctx;
	(void)cap;
	if (!strcmp(src, "@raw/corp_proxy_ca")) {
		snprintf(pins[0], IMP_ANCHOR_LEN, "sha256/" PIN_E);
		snprintf(pins[1], IMP_ANCHOR_LEN, "sha256/" PIN_F);
		*n = 2;
		return 0;
	}
	if (!strcmp(src, "@raw/garbage"))
		return util_err(msg, msglen, -EINVAL, "no certificate in res/raw/garbage.pem");
	return -ENOENT;
}

static void test_nsc_override_pins_resolved(void **state)
{
	(void)state;
	struct import_policies r;
	char err[ERRLEN] = "";
	size_t len;
	char *buf = load("nsc/override_pins.xml", &len);
	xmlDocPtr doc = imp_xml_read(buf, len, "o.xml", err, sizeof(err));
	assert_non_null(doc);
	struct imp_nsc_resolver res = { .anchor = fake_anchor };
	assert_int_equal(imp_parse_nsc_doc(doc, "o.xml", &res, &r, err, sizeof(err)), 0);
	const char *two[] = { "sha256/" PIN_E, "sha256/" PIN_F };
	check_anchors(find(&r, "corp.example.com", true), two, 2);
	check_anchors(find(&r, "wiki.corp.example.com", false), two, 2);
	check_anchors(find(&r, "pay.corp.example.com", false), NULL, 0);
	importers_policies_free(&r);
	xmlFreeDoc(doc);
	free(buf);

	const char *bad =
		"<network-security-config><domain-config><domain>a.example.com</domain>"
		"<pin-set><pin digest=\"SHA-256\">" PIN_A "</pin></pin-set>\n"
		"<trust-anchors><certificates src=\"@raw/garbage\" overridePins=\"true\"/>"
		"</trust-anchors></domain-config></network-security-config>";
	doc = imp_xml_read(bad, strlen(bad), "g.xml", err, sizeof(err));
	assert_non_null(doc);
	assert_int_equal(imp_parse_nsc_doc(doc, "g.xml", &res, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "g.xml:2: certificates src=\"@raw/garbage\": no certificate"));
	assert_int_equal(r.npolicies, 0);
	xmlFreeDoc(doc);
}

static void test_nsc_trust_anchor_errors(void **state)
{
	(void)state;
#define NSC(body) "<network-security-config>\n" body "\n</network-security-config>"
#define DOM	  "<domain-config><domain>a.example.com</domain>"
#define PINS	  "<pin-set><pin digest=\"SHA-256\">" PIN_A "</pin></pin-set>"
	static const struct {
		const char *xml;
		const char *needle;
	} cases[] = {
		{ NSC(DOM PINS "<trust-anchors><certificates/></trust-anchors></domain-config>"),
		  "t:2: <certificates> without a src attribute" },
		{ NSC(DOM PINS "<trust-anchors><certificates src=\"corp\"/></trust-anchors>"
			       "</domain-config>"),
		  "certificates src=\"corp\": expected \"system\", \"user\"" },
		{ NSC(DOM PINS "<trust-anchors><certificates src=\"system\" overridePins=\"1\"/>"
			       "</trust-anchors></domain-config>"),
		  "overridePins=\"1\": expected" },
		{ NSC(DOM PINS "<trust-anchors/><trust-anchors/></domain-config>"),
		  "more than one <trust-anchors>" },
		{ NSC("<base-config><domain>a.example.com</domain></base-config>"),
		  "t:2: <domain> is not allowed in <base-config>" },
		{ NSC("<base-config>" PINS "</base-config>"), "<pin-set> is not allowed" },
		{ NSC("<base-config/>\n<base-config/>"),
		  "t:3: only one <base-config> is allowed (first at line 2)" },
		{ NSC("<debug-overrides/>\n<debug-overrides/>"), "only one <debug-overrides>" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		expect_error(importers_parse_nsc, cases[i].xml, cases[i].needle);
#undef NSC
#undef DOM
#undef PINS
}

/* Pins written without padding or with non-zero trailing bits, as Android's
 * Base64.decode() accepts them. Needs the shared pin decoder that accepts
 * those forms (branch trustkit); skipped while it does not. */
static void test_nsc_unpadded_pins(void **state)
{
	(void)state;
	uint8_t probe[32];
	if (imp_b64_pin("C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M", probe) != 0 ||
	    imp_b64_pin("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=", probe) != 0) {
		print_message("imp_b64_pin() refuses unpadded/non-canonical base64: skipped\n");
		skip();
	}
	struct import_policies r;
	char err[ERRLEN] = "";
	if (parse_file(importers_parse_nsc, "nsc/unpadded_pins.xml", &r, err) != 0)
		fail_msg("%s", err);
	/* stored canonically */
	const char *want[] = { PIN_A, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=" };
	const struct pin_policy *p = find(&r, "api.example.com", true);
	check_pins(p, want, "cb");
	assert_string_equal(p->expires, "2027-06-01");
	importers_policies_free(&r);
}

static void test_nsc_hostile_files(void **state)
{
	(void)state;
	static const struct {
		const char *file;
		const char *needle;
	} cases[] = {
		{ "nsc/truncated.xml", "truncated.xml:" },
		{ "nsc/billion_laughs.xml", "billion_laughs.xml:" },
		{ "nsc/external_entity.xml", "external_entity.xml:2: DOCTYPE" },
		{ "nsc/sha1_digest.xml",
		  "sha1_digest.xml:7: pin digest=\"SHA-1\" is not supported" },
		{ "nsc/latin1_bytes.xml", "latin1_bytes.xml:4:" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct import_policies r;
		char err[ERRLEN] = "";
		int rc = parse_file(importers_parse_nsc, cases[i].file, &r, err);
		if (rc == 0 || !strstr(err, cases[i].needle))
			fail_msg("%s: rc %d, error '%s', expected '%s'", cases[i].file, rc, err,
				 cases[i].needle);
		assert_int_equal(r.npolicies, 0);
		/* nothing of /etc/passwd may leak into a message */
		assert_null(strstr(err, "root:"));
	}
}

/* An external entity must be neither read from disk nor fetched from the
 * network: watch the file with inotify and a loopback socket for a connect. */
static void test_nsc_external_entity_not_fetched(void **state)
{
	(void)state;
	char dir[] = "/tmp/pinwatch-xxe-XXXXXX", file[128], xml[1024];
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/secret", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs("api.example.com", f);
	fclose(f);
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(in >= 0);
	assert_true(inotify_add_watch(in, file, IN_OPEN | IN_ACCESS) >= 0);

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(ls >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);

	static const char *const forms[] = {
		/* general entities in content */
		"<!DOCTYPE network-security-config [<!ENTITY x SYSTEM \"file://%s\">"
		"<!ENTITY n SYSTEM \"http://127.0.0.1:%d/p\">]>"
		"<network-security-config><domain-config><domain>&x;</domain>"
		"<pin-set><pin digest=\"SHA-256\">&n;</pin></pin-set></domain-config>"
		"</network-security-config>",
		/* parameter entities and an external DTD */
		"<!DOCTYPE network-security-config SYSTEM \"file://%s\" [<!ENTITY %% p SYSTEM "
		"\"http://127.0.0.1:%d/d.dtd\"> %%p;]><network-security-config/>",
	};
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		struct import_policies r;
		char err[ERRLEN] = "";
		snprintf(xml, sizeof(xml), forms[i], file, ntohs(sa.sin_port));
		assert_int_equal(
			importers_parse_nsc(xml, strlen(xml), "x.xml", &r, err, sizeof(err)),
			-EINVAL);
		assert_null(strstr(err, "api.example.com"));
	}
	char ev[4096];
	assert_true(read(in, ev, sizeof(ev)) < 0); /* the file was never opened */
	assert_true(accept(ls, NULL, NULL) < 0);   /* nobody connected */
	close(ls);
	close(in);
	unlink(file);
	rmdir(dir);
}

static void test_nsc_bad_input_table(void **state)
{
	(void)state;
#define NSC(body)                                                          \
	"<?xml version=\"1.0\"?>\n<network-security-config>\n" body "\n</" \
	"network-security-config>\n"
#define PINS "<pin-set><pin digest=\"SHA-256\">" PIN_A "</pin></pin-set>"
	static const struct {
		const char *xml;
		const char *needle;
	} cases[] = {
		{ NSC("<domain-config>" PINS "</domain-config>"),
		  "t:3: domain-config without a <domain>" },
		{ NSC("<domain-config><domain>a.example.com</domain>" PINS "</domain-config>\n"
		      "<domain-config><domain>A.example.com.</domain>" PINS "</domain-config>"),
		  "t:4: duplicate domain 'a.example.com' (first at line 3)" },
		{ NSC("<domain-config><domain includeSubdomains=\"yes\">a.example.com</domain>" PINS
		      "</domain-config>"),
		  "includeSubdomains=\"yes\": expected \"true\" or \"false\"" },
		{ NSC("<domain-config><domain>a.example.com</domain><pin-set "
		      "expiration=\"2027-02-30\">"
		      "<pin digest=\"SHA-256\">" PIN_A "</pin></pin-set></domain-config>"),
		  "expiration=\"2027-02-30\": expected YYYY-MM-DD" },
		{ NSC("<domain-config><domain>a.example.com</domain><pin-set>"
		      "<pin digest=\"SHA-256\">AAAA</pin></pin-set></domain-config>"),
		  "not 32 bytes of base64" },
		{ NSC("<domain-config><domain>a.example.com</domain><pin-set>"
		      "<pin>" PIN_A "</pin></pin-set></domain-config>"),
		  "without digest=\"SHA-256\"" },
		{ NSC("<domain-config><domain>a.example.com</domain>" PINS PINS "</domain-config>"),
		  "more than one <pin-set>" },
		{ NSC("<domain-config><domain>*.example.com</domain>" PINS "</domain-config>"),
		  "not a valid host name" },
		{ NSC("<domain-config><domain>a.example.com<b/></domain>" PINS "</domain-config>"),
		  "must contain only text" },
		{ NSC("<domain-config><domain>a.example.com</domain>"
		      "<trustkit-config enforcePinning=\"maybe\"/>" PINS "</domain-config>"),
		  "enforcePinning=\"maybe\"" },
		{ "<?xml version=\"1.0\"?><manifest/>", "t:1: the root element must be" },
		{ "", "t:" },
		{ "not xml at all", "t:1:" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		expect_error(importers_parse_nsc, cases[i].xml, cases[i].needle);
#undef NSC
#undef PINS
}

static void test_nsc_deep_nesting(void **state)
{
	(void)state;
	/* 40 nested domain-configs: over our cap of 32 */
	size_t cap = 64 * 1024, off = 0;
	char *x = malloc(cap);
	assert_non_null(x);
	off += (size_t)snprintf(x + off, cap - off, "<network-security-config>");
	for (int i = 0; i < 40; i++)
		off += (size_t)snprintf(x + off, cap - off,
					"<domain-config><domain>d%d.example.com</domain>", i);
	for (int i = 0; i < 40; i++)
		off += (size_t)snprintf(x + off, cap - off, "</domain-config>");
	snprintf(x + off, cap - off, "</network-security-config>");
	expect_error(importers_parse_nsc, x, "nested too deeply");
	free(x);

	/* 100000 nested elements: libxml2's own depth limit stops it */
	size_t n = 100000;
	x = malloc(n * 7 + 64);
	assert_non_null(x);
	off = (size_t)sprintf(x, "<network-security-config>");
	for (size_t i = 0; i < n; i++)
		memcpy(x + off + i * 3, "<a>", 3);
	off += n * 3;
	for (size_t i = 0; i < n; i++)
		memcpy(x + off + i * 4, "</a>", 4);
	off += n * 4;
	strcpy(x + off, "</network-security-config>");
	expect_error(importers_parse_nsc, x, "t:1:");
	free(x);
}

static void test_nsc_huge_and_nul(void **state)
{
	(void)state;
	struct import_policies r;
	char err[ERRLEN] = "";
	size_t n = IMPORTERS_MAX_CONFIG + 1;
	char *x = malloc(n);
	assert_non_null(x);
	memset(x, ' ', n);
	memcpy(x, "<network-security-config>", 25);
	assert_int_equal(importers_parse_nsc(x, n, "big.xml", &r, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "big.xml: larger than"));
	free(x);
	const char nul[] = "<network-security-config>\0</network-security-config>";
	assert_int_equal(importers_parse_nsc(nul, sizeof(nul) - 1, "nul.xml", &r, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "NUL"));
}

/* ---- TrustKit ------------------------------------------------------------- */

static void check_trustkit_realistic(const struct import_policies *r)
{
	const char *ab[] = { PIN_A, PIN_B }, *cd[] = { PIN_C, PIN_D };
	assert_int_equal(r->npolicies, 3);
	const struct pin_policy *p = find(r, "api.example.com", true);
	assert_true(p->enforce);
	assert_string_equal(p->expires, "2027-06-01");
	assert_string_equal(p->source, "trustkit");
	check_pins(p, ab, "cb");
	p = find(r, "status.api.example.com", false);
	assert_false(p->enforce);
	assert_int_equal(p->npins, 0);
	p = find(r, "analytics.example.com", false);
	assert_false(p->enforce);
	check_pins(p, cd, "cb");
}

static void test_trustkit_json_realistic(void **state)
{
	(void)state;
	struct import_policies r;
	char err[ERRLEN] = "";
	assert_int_equal(parse_file(importers_parse_trustkit, "trustkit/shop_ios.json", &r, err),
			 0);
	check_trustkit_realistic(&r);
	/* report settings and swizzling are noted, not silently dropped */
	assert_true(has_note(&r, "TSKSwizzleNetworkDelegates: swizzling"));
	assert_true(has_note(&r, "[\"api.example.com\"]: report settings"));
	importers_policies_free(&r);
}

static void check_same_policies(const struct import_policies *j, const struct import_policies *p)
{
	assert_int_equal(j->npolicies, p->npolicies);
	for (size_t i = 0; i < j->npolicies; i++) {
		const struct pin_policy *a = &j->policies[i], *b = &p->policies[i];
		assert_string_equal(a->pattern, b->pattern);
		assert_int_equal(a->include_subdomains, b->include_subdomains);
		assert_int_equal(a->enforce, b->enforce);
		assert_string_equal(a->expires, b->expires);
		assert_int_equal(a->expires_at, b->expires_at);
		assert_string_equal(a->source, b->source);
		assert_int_equal(a->npins, b->npins);
		for (size_t k = 0; k < a->npins; k++) {
			assert_memory_equal(a->pins[k].sha256, b->pins[k].sha256, 32);
			assert_int_equal(a->pins[k].role, b->pins[k].role);
		}
	}
}

/* The same configuration as an Info.plist (XML and binary, string keys), as
 * JSON, and as the AppDelegate.m / AppDelegate.swift code of TrustKit's
 * README: identical policies. */
static void test_trustkit_all_forms_identical(void **state)
{
	(void)state;
	static const char *const files[] = {
		"trustkit/Info.plist",
		"trustkit/Info.bplist",
		"trustkit/AppDelegate.m",
		"trustkit/AppDelegate.swift",
	};
	struct import_policies j, p;
	char err[ERRLEN] = "";
	assert_int_equal(parse_file(importers_parse_trustkit, "trustkit/shop_ios.json", &j, err),
			 0);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		int rc = parse_file(importers_parse_trustkit, files[i], &p, err);
		if (rc)
			fail_msg("%s: %s", files[i], err);
		check_trustkit_realistic(&p);
		check_same_policies(&j, &p);
		/* code uses the constant names: that is normal there, no note */
		assert_false(has_note(&p, "constant names"));
		importers_policies_free(&p);
	}
	importers_policies_free(&j);
}

static void test_trustkit_wrong_types_file(void **state)
{
	(void)state;
	struct import_policies r;
	char err[ERRLEN] = "";
	assert_int_equal(parse_file(importers_parse_trustkit, "trustkit/wrong_types.json", &r, err),
			 -EINVAL);
	assert_string_equal(err, "wrong_types.json: TSKPinnedDomains[\"api.example.com\"]"
				 ".TSKIncludeSubdomains: expected a boolean, got an array");
}

static void test_trustkit_bad_input_table(void **state)
{
	(void)state;
#define DOM(body) "{\"TSKPinnedDomains\": {\"api.example.com\": {" body "}}}"
#define HASHES	  "\"TSKPublicKeyHashes\": [\"" PIN_A "\", \"" PIN_B "\"]"
#define PL(body)                                                                          \
	"<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>TSKConfiguration</key>" \
	"<dict><key>TSKPinnedDomains</key><dict>" body "</dict></dict></dict></plist>"
	static const struct {
		const char *text;
		const char *needle;
	} cases[] = {
		{ DOM("\"TSKPublicKeyHashes\": [\"" PIN_A "\", \"Zm9v\"]"),
		  "t: TSKPinnedDomains[\"api.example.com\"].TSKPublicKeyHashes[1]: not 32 bytes of "
		  "base64: 'Zm9v' decodes to 3 bytes" },
		{ DOM("\"TSKPublicKeyHashes\": [\"" PIN_A "\", \"sha256/" PIN_B "\"]"),
		  "TSKPublicKeyHashes[1]: not 32 bytes of base64: 'sha256/" },
		{ DOM("\"TSKPublicKeyHashes\": [\"" PIN_A "\", 7]"),
		  "TSKPublicKeyHashes[1]: expected a string, got an integer" },
		/* TrustKit raises at start: an enforcing domain needs a backup pin,
		 * a report-only one a pin; duplicates count once */
		{ DOM("\"TSKIncludeSubdomains\": true"),
		  "0 distinct pins in TSKPublicKeyHashes; TrustKit requires 2" },
		{ DOM("\"TSKPublicKeyHashes\": [\"" PIN_A "\"]"),
		  "1 distinct pin in TSKPublicKeyHashes; TrustKit requires 2 for an enforcing" },
		{ DOM("\"TSKPublicKeyHashes\": [\"" PIN_A "\", \"" PIN_A "\"]"),
		  "1 distinct pin in TSKPublicKeyHashes" },
		{ DOM("\"TSKEnforcePinning\": false, \"TSKPublicKeyHashes\": []"),
		  "TrustKit requires 1 for a report-only domain" },
		{ DOM(HASHES ", \"TSKExpirationDate\": 20270601"),
		  ".TSKExpirationDate: expected a date string" },
		{ DOM(HASHES ", \"TSKEnforcePinning\": []"),
		  ".TSKEnforcePinning: expected a boolean, got an array" },
		{ DOM(HASHES ", \"TSKReportUris\": \"https://r.example.com\""),
		  ".TSKReportUris: expected an array of strings" },
		{ DOM(HASHES ", \"kTSKPublicKeyHashes\": [\"" PIN_C "\", \"" PIN_D "\"]"),
		  "given twice (as TSKPublicKeyHashes and kTSKPublicKeyHashes)" },
		{ "{\"TSKPinnedDomains\": {\"*.example.com\": {" HASHES "}}}", "wildcard" },
		{ "{\"TSKPinnedDomains\": {\"exa mple.com\": {" HASHES "}}}",
		  "not a valid host name" },
		/* exclusions: TrustKit's key is "kSKExcludeSubdomainFromParentPolicy" */
		{ "{\"TSKPinnedDomains\": {\"a.example.com\": "
		  "{\"kSKExcludeSubdomainFromParentPolicy\": true}}}",
		  "no parent domain has TSKIncludeSubdomains" },
		{ "{\"TSKPinnedDomains\": {\"example.com\": {\"TSKIncludeSubdomains\": "
		  "true, " HASHES
		  "}, \"a.example.com\": {\"TSKExcludeSubdomainFromParentPolicy\": true}}}",
		  "TSKExcludeSubdomainFromParentPolicy: TrustKit does not read this key: the value "
		  "of its constant kTSKExcludeSubdomainFromParentPolicy is "
		  "\"kSKExcludeSubdomainFromParentPolicy\"" },
		{ "{\"TSKPinnedDomains\": {\"example.com\": {\"TSKIncludeSubdomains\": "
		  "true, " HASHES
		  "}, \"a.example.com\": {\"kSKExcludeSubdomainFromParentPolicy\": true, " HASHES
		  "}}}",
		  "may have no other key, found TSKPublicKeyHashes" },
		{ "{\"TSKPinnedDomains\": []}",
		  "TSKPinnedDomains: expected a dictionary, got an array" },
		{ "{\"TSKSwizzleNetworkDelegates\": true, \"TSKPinnedDomains\": {}, \"X\": 1}",
		  "t: TSKPinnedDomains: no pinned domain; TrustKit raises at start" },
		{ "{\"TSKConfiguration\": {\"TSKSwizzleNetworkDelegates\": false}}",
		  "TSKConfiguration: TSKPinnedDomains is missing" },
		{ "{\"TSKConfiguration\": {\"TSKSwizzleNetworkDelegates\": \"x\", "
		  "\"TSKPinnedDomains\": {\"a.example.com\": {" HASHES "}}}}",
		  "" /* a string is a boolean to TrustKit: accepted */ },
		{ "{\"CFBundleName\": \"x\"}", "neither a TSKConfiguration" },
		{ "{\"TSKPinnedDomains\": {}, \"TSKPinnedDomains\": {}}", "t:1:" },
		{ "{\"TSKPinnedDomains\": {\"a.example.com\": {\n" HASHES ",}}}", "t:2:" },
		{ "{\"TSKPinnedDomains\": {\"caf\xe9.example.com\": {}}}", "t:1:" },
		{ "[1, 2]", "no TrustKit configuration found" },
		{ "", "no TrustKit configuration found" },
		{ PL("<key>api.example.com</key><dict><key>TSKPublicKeyHashes</"
		     "key><array><string>" PIN_A "</string><integer>1</integer></array></dict>"),
		  "TSKPublicKeyHashes[1]: expected a string, got an integer" },
		{ PL("<key>api.example.com</key>"), "without a value" },
		/* a plist <date> is no "yyyy-MM-dd" string (TrustKit would raise) */
		{ PL("<key>api.example.com</key><dict><key>TSKPublicKeyHashes</"
		     "key><array><string>" PIN_A "</string><string>" PIN_B
		     "</string></array><key>TSKExpirationDate</key>"
		     "<date>2027-06-01T00:00:00Z</date></dict>"),
		  ".TSKExpirationDate: expected a date string \"yyyy-MM-dd\", got null (or a plist "
		  "<date> or <data>)" },
		{ PL("<key>api.example.com</key><dict/><key>api.example.com</key><dict/>"),
		  "duplicate key 'api.example.com'" },
		{ PL("<key>api.example.com</key><dict><key>TSKIncludeSubdomains</key><yes/></"
		     "dict>"),
		  "unknown plist element <yes>" },
		{ "<?xml version=\"1.0\"?><!DOCTYPE plist [<!ENTITY e "
		  "\"x\">]><plist><dict/></plist>",
		  "DOCTYPE" },
		{ "<?xml version=\"1.0\"?><plist><array/></plist>",
		  "the plist must hold a <dict>" },
		{ "<?xml version=\"1.0\"?><dict/>", "the root element must be <plist>" },
		{ "bplist00\x01\x02garbage", "binary plist: not a binary plist (too short" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (!cases[i].needle[0]) {
			struct import_policies r;
			char err[ERRLEN] = "";
			if (parse_str(importers_parse_trustkit, cases[i].text, &r, err))
				fail_msg("case %zu refused: %s", i, err);
			importers_policies_free(&r);
			continue;
		}
		expect_error(importers_parse_trustkit, cases[i].text, cases[i].needle);
	}
#undef DOM
#undef HASHES
#undef PL
}

/* TrustKit's defaults and its lenient readings, each noted for the user. */
static void test_trustkit_defaults_and_notes(void **state)
{
	(void)state;
	struct import_policies r;
	char err[ERRLEN] = "";
	const char *j =
		"{\"kTSKSwizzleNetworkDelegates\": true, \"kTSKPinnedDomains\": {"
		"\"api.example.com\": {\"kTSKPublicKeyHashes\": [\"" PIN_A "\", "
		"\"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=\"], \"kTSKFuture\": 1},"
		"\"cdn.example.com\": {\"TSKEnforcePinning\": \"NO\", "
		"\"TSKIncludeSubdomains\": 1, \"TSKExpirationDate\": \"2027-6-1\", "
		"\"TSKPublicKeyHashes\": [\"r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E\"]},"
		"\"img.example.com\": {\"TSKExpirationDate\": \"June 2027\", "
		"\"TSKPublicKeyAlgorithms\": [\"TSKAlgorithmRsa2048\"], " HASHES_AB "}}}";
	assert_int_equal(parse_str(importers_parse_trustkit, j, &r, err), 0);
	assert_int_equal(r.npolicies, 3);
	const struct pin_policy *p = find(&r, "api.example.com", false);
	assert_true(p->enforce);	     /* TrustKit's default */
	assert_false(p->include_subdomains); /* TrustKit's default */
	assert_string_equal(p->expires, ""); /* no expiry unless given */
	/* TrustKit's placeholder backup pin is 32 bytes, stored canonically */
	const char *aplaceholder[] = { PIN_A, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=" };
	check_pins(p, aplaceholder, "cb");
	p = find(&r, "cdn.example.com", true);
	assert_false(p->enforce);		       /* "NO" read as -boolValue does */
	assert_string_equal(p->expires, "2027-06-01"); /* NSDateFormatter reads 2027-6-1 */
	assert_int_equal(p->npins, 1);		       /* report-only: one pin is enough */
	p = find(&r, "img.example.com", false);
	assert_string_equal(p->expires, ""); /* unreadable date: TrustKit never expires */
	assert_true(has_note(&r, "constant names (kTSK"));
	assert_true(has_note(&r, "kTSKFuture: not a domain key TrustKit reads"));
	assert_true(has_note(&r, "the string 'NO' where a boolean belongs; TrustKit reads it "
				 "as NO"));
	assert_true(has_note(&r, "'June 2027' is not a yyyy-MM-dd date; TrustKit ignores it"));
	assert_true(has_note(&r, "TSKPublicKeyAlgorithms is deprecated"));
	assert_true(has_note(&r, "TSKPublicKeyHashes[0]: not in canonical padded form"));
	importers_policies_free(&r);
}

/* Configurations written in code: the README's shapes and what goes wrong. */
static void test_trustkit_source_table(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *needle; /* error, or "" when it must import */
		size_t npolicies;
	} cases[] = {
		/* TrustKit's README, Objective-C */
		{ "NSDictionary *trustKitConfig =\n  @{\n    kTSKSwizzleNetworkDelegates: @NO,\n"
		  "    kTSKPinnedDomains : @{\n      @\"www.datatheorem.com\" : @{\n"
		  "        kTSKExpirationDate: @\"2017-12-01\",\n        kTSKPublicKeyHashes : @[\n"
		  "          @\"HXXQgxueCIU5TTLHob/bPbwcKOKw6DkfsTWYHbxbqTY=\",\n"
		  "          @\"0SDf3cRToyZJaMsoS17oF72VMavLxj/N7WBNasNuiR8=\"\n          ],\n"
		  "        kTSKEnforcePinning : @NO,\n        },\n      @\"yahoo.com\" : @{\n"
		  "        kTSKPublicKeyHashes : @[\n"
		  "          @\"TQEtdMbmwFgYUifM4LDF+xgEtd0z69mPGmkp014d6ZY=\",\n"
		  "          @\"rFjc3wG7lTZe43zeYTvPq8k4xdDEutCmIhI5dn4oCeE=\",\n          ],\n"
		  "        kTSKIncludeSubdomains : @YES\n        }\n      }};\n"
		  "[TrustKit initSharedInstanceWithConfiguration:trustKitConfig];\n",
		  "", 2 },
		/* TrustKit's README, Swift */
		{ "let trustKitConfig = [\n    kTSKSwizzleNetworkDelegates: false,\n"
		  "    kTSKPinnedDomains: [\n        \"yahoo.com\": [\n"
		  "            kTSKExpirationDate: \"2017-12-01\",\n"
		  "            kTSKPublicKeyHashes: [\n"
		  "                \"JbQbUG5JMJUoI6brnx0x3vZF6jilxsapbXGVfjhN8Fg=\",\n"
		  "                \"WoiWRyIOVNa9ihaBciRSC7XHjliYS9VwUGOIud4PB18=\"\n"
		  "            ],]]] as [String : Any]\n"
		  "TrustKit.initSharedInstance(withConfiguration:trustKitConfig)\n",
		  "", 1 },
		/* constants of the same file: #define, Swift let, @(YES), string keys */
		{ "#define API_HOST @\"api.example.com\"\nNSDictionary *c = @{ "
		  "@\"TSKPinnedDomains\": "
		  "@{ API_HOST: @{ @\"TSKIncludeSubdomains\": @(YES), kTSKPublicKeyHashes: "
		  "@[@\"" PIN_A "\", @\"" PIN_B "\"] } } };",
		  "", 1 },
		/* NSNumber spelled out, both languages */
		{ "NSDictionary *c = @{ kTSKPinnedDomains: @{ @\"a.example.com\": @{ "
		  "kTSKEnforcePinning: [NSNumber numberWithBool:NO], kTSKPublicKeyHashes: "
		  "@[@\"" PIN_A "\"] } } };",
		  "", 1 },
		{ "let c = [kTSKPinnedDomains: [\"a.example.com\": [kTSKEnforcePinning: "
		  "NSNumber(value: false), kTSKPublicKeyHashes: [\"" PIN_A "\"]]]]",
		  "", 1 },
		{ "let c = [kTSKPinnedDomains: [\"a.example.com\": [kTSKEnforcePinning: "
		  "NSNumber(value: flag), kTSKPublicKeyHashes: [\"" PIN_A "\"]]]]",
		  "t:1: an NSNumber other than", 0 },
		/* braces in comments and strings do not confuse the scanner */
		{ "/* { [ */ let s = \"}]\" // ]\nlet c = [kTSKPinnedDomains: [\"a.example.com\": "
		  "[kTSKPublicKeyHashes: [\"" PIN_A "\", \"" PIN_B "\"]]]]",
		  "", 1 },
		/* a host held in a variable, a call, interpolation: named by line */
		{ "func f(host: String) {\n  let c = [kTSKPinnedDomains: [\n    host: "
		  "[kTSKPublicKeyHashes: [\"" PIN_A "\", \"" PIN_B "\"]]]]\n}",
		  "t:3: 'host' is not a literal nor a string constant of this file", 0 },
		{ "let c = [kTSKPinnedDomains: [\n\"a.example.com\": [kTSKPublicKeyHashes: "
		  "Pins.all()]]]",
		  "t:2: 'Pins....': a call or member access", 0 },
		{ "let c = [kTSKPinnedDomains: [\"\\(env).example.com\": [:]]]",
		  "t:1: string interpolation", 0 },
		{ "let c = [kTSKPinnedDomains: [\"a.example.com\": [kTSKPublicKeyHashes: [\"" PIN_A
		  "\"]",
		  "the literal is not closed", 0 },
		{ "let c = [kTSKPinnedDomains: [\"a.example.com\": [kTSKPublicKeyHashes: [\"" PIN_A
		  "\" + x]]]]",
		  "expected ',' or ']'", 0 },
		{ "let c = [kTSKPinnedDomains: [:]]", "no pinned domain", 0 },
		/* errors found after the scan carry the line of the value */
		{ "let c = [\n  kTSKPinnedDomains: [\n    \"a.example.com\": [\n"
		  "      kTSKPublicKeyHashes: [\"" PIN_A "\", \"AAAA\"]]]]",
		  "t:4: kTSKPinnedDomains[\"a.example.com\"].TSKPublicKeyHashes[1]: not 32 bytes",
		  0 },
		{ "class AppDelegate {}\n", "no TrustKit configuration found", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct import_policies r;
		char err[ERRLEN] = "";
		int rc = parse_str(importers_parse_trustkit, cases[i].text, &r, err);
		if (cases[i].needle[0]) {
			if (rc == 0 || !strstr(err, cases[i].needle))
				fail_msg("case %zu: rc %d, error '%s', want '%s'", i, rc, err,
					 cases[i].needle);
			assert_int_equal(r.npolicies, 0);
			continue;
		}
		if (rc)
			fail_msg("case %zu: %s", i, err);
		assert_int_equal(r.npolicies, cases[i].npolicies);
		importers_policies_free(&r);
	}

	/* the README's Objective-C policies, exactly */
	struct import_policies r;
	char err[ERRLEN] = "";
	assert_int_equal(parse_str(importers_parse_trustkit, cases[0].text, &r, err), 0);
	const char *dt[] = { "HXXQgxueCIU5TTLHob/bPbwcKOKw6DkfsTWYHbxbqTY=",
			     "0SDf3cRToyZJaMsoS17oF72VMavLxj/N7WBNasNuiR8=" };
	const char *yh[] = { "TQEtdMbmwFgYUifM4LDF+xgEtd0z69mPGmkp014d6ZY=",
			     "rFjc3wG7lTZe43zeYTvPq8k4xdDEutCmIhI5dn4oCeE=" };
	const struct pin_policy *p = find(&r, "www.datatheorem.com", false);
	assert_false(p->enforce);
	assert_string_equal(p->expires, "2017-12-01");
	check_pins(p, dt, "cb");
	p = find(&r, "yahoo.com", true);
	assert_true(p->enforce);
	assert_string_equal(p->expires, "");
	check_pins(p, yh, "cb");
	importers_policies_free(&r);

	/* two configurations (#if DEBUG / #else): the first is read, noted */
	const char *two = "#if DEBUG\nlet c = [kTSKPinnedDomains: [\"a.example.com\": "
			  "[kTSKEnforcePinning: false, kTSKPublicKeyHashes: [\"" PIN_A "\"]]]]\n"
			  "#else\nlet c = [kTSKPinnedDomains: [\"b.example.com\": "
			  "[kTSKPublicKeyHashes: [\"" PIN_A "\", \"" PIN_B "\"]]]]\n#endif\n";
	assert_int_equal(parse_str(importers_parse_trustkit, two, &r, err), 0);
	assert_int_equal(r.npolicies, 1);
	assert_string_equal(r.policies[0].pattern, "a.example.com");
	assert_true(has_note(&r, "1 more TrustKit configuration in the file"));
	importers_policies_free(&r);
}

/* A minimal binary plist: objects given as bytes, then the offset table
 * (1-byte offsets) and the trailer (1-byte refs). Top object 0. */
static size_t mk_bplist(uint8_t *out, const uint8_t *const *objs, const size_t *lens, size_t n)
{
	size_t o = 8, offs[16];
	memcpy(out, "bplist00", 8);
	for (size_t i = 0; i < n; i++) {
		offs[i] = o;
		memcpy(out + o, objs[i], lens[i]);
		o += lens[i];
	}
	size_t table = o;
	for (size_t i = 0; i < n; i++)
		out[o++] = (uint8_t)offs[i];
	memset(out + o, 0, 32);
	out[o + 6] = 1; /* offset size */
	out[o + 7] = 1; /* ref size */
	out[o + 15] = (uint8_t)n;
	out[o + 31] = (uint8_t)table;
	return o + 32;
}

/* The binary plist reader on hostile and boundary input (what an .ipa may
 * hold): bounded, never crashes, says why. */
static void test_bplist_table(void **state)
{
	(void)state;
	static const uint8_t dict1[] = { 0xd1, 0x01, 0x02 }; /* {obj1: obj2} */
	static const uint8_t key[] = { 0x5f, 0x10, 0x10, 'T', 'S', 'K', 'C', 'o', 'n', 'f',
				       'i',  'g',  'u',	 'r', 'a', 't', 'i', 'o', 'n' };
	static const uint8_t utf16[] = { 0x63, 0x00, 'c', 0x00, 'a', 0x00, 0xe9 }; /* "caé" */
	static const uint8_t nul[] = { 0x52, 'a', 0x00 };
	static const uint8_t t[] = { 0x09 };
	static const uint8_t selfref[] = { 0xa1, 0x00 }; /* [itself] */
	static const uint8_t badref[] = { 0xd1, 0x01, 0x07 };
	static const uint8_t longstr[] = { 0x5f, 0x10, 0xff, 'a' };
	static const uint8_t intkey[] = { 0x10, 0x05 };
	char err[ERRLEN];
	uint8_t buf[256];
	json_t *root;
	struct {
		const uint8_t *objs[4];
		size_t lens[4];
		size_t n;
		const char *needle; /* "" when it must parse */
	} cases[] = {
		{ { dict1, key, t }, { sizeof(dict1), sizeof(key), sizeof(t) }, 3, "" },
		{ { dict1, utf16, t }, { sizeof(dict1), sizeof(utf16), sizeof(t) }, 3, "" },
		{ { dict1, nul, t }, { sizeof(dict1), sizeof(nul), sizeof(t) }, 3, "holds a NUL" },
		{ { dict1, intkey, t },
		  { sizeof(dict1), sizeof(intkey), sizeof(t) },
		  3,
		  "key is not a string" },
		{ { badref, key, t },
		  { sizeof(badref), sizeof(key), sizeof(t) },
		  3,
		  "reference out of range" },
		{ { dict1, longstr, t },
		  { sizeof(dict1), sizeof(longstr), sizeof(t) },
		  3,
		  "larger than the file" },
		{ { selfref }, { sizeof(selfref) }, 1, "nested too deeply" },
		{ { t }, { sizeof(t) }, 1, "must hold a dictionary" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = mk_bplist(buf, cases[i].objs, cases[i].lens, cases[i].n);
		err[0] = '\0';
		int rc = imp_bplist_to_json((const char *)buf, n, &root, err, sizeof(err));
		if (!cases[i].needle[0]) {
			if (rc)
				fail_msg("case %zu: %s", i, err);
			assert_true(json_is_object(root));
			json_decref(root);
		} else if (rc != -EINVAL || !strstr(err, cases[i].needle)) {
			fail_msg("case %zu: rc %d '%s', want '%s'", i, rc, err, cases[i].needle);
		}
	}
	/* the UTF-16 key came out as UTF-8 */
	size_t n = mk_bplist(buf, cases[1].objs, cases[1].lens, 3);
	assert_int_equal(imp_bplist_to_json((const char *)buf, n, &root, err, sizeof(err)), 0);
	assert_non_null(json_object_get(root, "ca\xc3\xa9"));
	json_decref(root);
	/* every truncation of a valid file is refused cleanly */
	n = mk_bplist(buf, cases[0].objs, cases[0].lens, 3);
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(
			imp_bplist_to_json((const char *)buf, cut, &root, err, sizeof(err)),
			-EINVAL);

	/* files: a NUL inside a key (crashed libplist 2.2), shared references 40
	 * deep (2^40 values when expanded) and 20 deep (10^6 values) */
	static const struct {
		const char *file, *needle;
	} files[] = {
		{ "bplist/nul_in_key.bplist", "a string holds a NUL" },
		{ "bplist/deep_shared.bplist", "nested too deeply" },
		{ "bplist/wide_shared.bplist", "more than 100000 values" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		struct import_policies r;
		err[0] = '\0';
		assert_int_equal(parse_file(importers_parse_trustkit, files[i].file, &r, err),
				 -EINVAL);
		if (!strstr(err, files[i].needle))
			fail_msg("%s: '%s'", files[i].file, err);
		assert_int_equal(r.npolicies, 0);
	}
}

static void test_trustkit_deep_and_huge(void **state)
{
	(void)state;
	/* JSON nested far deeper than any config: refused, no crash */
	size_t n = 5000, off = 0;
	char *x = malloc(n * 2 + 64);
	assert_non_null(x);
	for (size_t i = 0; i < n; i++)
		x[off++] = '[';
	for (size_t i = 0; i < n; i++)
		x[off++] = ']';
	x[off] = '\0';
	expect_error(importers_parse_trustkit_json, x, "t:1:");
	free(x);

	/* plist dicts nested past our cap */
	size_t cap = 64 * 1024;
	x = malloc(cap);
	assert_non_null(x);
	off = (size_t)snprintf(x, cap, "<plist><dict>");
	for (int i = 0; i < 40; i++)
		off += (size_t)snprintf(x + off, cap - off, "<key>k</key><dict>");
	for (int i = 0; i < 40; i++)
		off += (size_t)snprintf(x + off, cap - off, "</dict>");
	snprintf(x + off, cap - off, "</dict></plist>");
	expect_error(importers_parse_trustkit, x, "plist nested too deeply");
	free(x);

	/* code literals nested past our cap */
	off = (size_t)snprintf(x = malloc(cap), cap, "let c = [kTSKPinnedDomains: ");
	for (int i = 0; i < 40; i++)
		off += (size_t)snprintf(x + off, cap - off, "[\"k\": ");
	for (int i = 0; i < 40; i++)
		off += (size_t)snprintf(x + off, cap - off, "]");
	snprintf(x + off, cap - off, "]");
	expect_error(importers_parse_trustkit, x, "literal nested too deeply");
	free(x);

	/* over the size cap, either form */
	struct import_policies r;
	char err[ERRLEN];
	n = IMPORTERS_MAX_CONFIG + 1;
	x = malloc(n);
	assert_non_null(x);
	memset(x, ' ', n);
	x[0] = '{';
	assert_int_equal(importers_parse_trustkit(x, n, "big.json", &r, err, sizeof(err)), -EFBIG);
	x[0] = '<';
	assert_int_equal(importers_parse_trustkit(x, n, "big.plist", &r, err, sizeof(err)), -EFBIG);
	x[0] = '@';
	assert_int_equal(importers_parse_trustkit(x, n, "big.m", &r, err, sizeof(err)), -EFBIG);
	memcpy(x, "bplist00", 8);
	assert_int_equal(importers_parse_trustkit(x, n, "big.bplist", &r, err, sizeof(err)),
			 -EFBIG);
	free(x);
}

/* ---- OkHttp ---------------------------------------------------------------- */

static void test_okhttp_realistic(void **state)
{
	(void)state;
	struct import_policies r;
	char err[ERRLEN] = "";
	int rc = parse_file(importers_parse_okhttp, "okhttp/shop_android_pins.txt", &r, err);
	if (rc)
		fail_msg("%s", err);
	assert_int_equal(r.npolicies, 4);
	const char *ab[] = { PIN_A, PIN_B }, *cd[] = { PIN_C, PIN_D }, *e[] = { PIN_E },
		   *af[] = { PIN_A, PIN_F };
	const struct pin_policy *p = find(&r, "api.example.com", false);
	check_pins(p, ab, "cb"); /* two lines, one policy */
	assert_true(p->enforce);
	assert_string_equal(p->source, "okhttp");
	check_pins(find(&r, "**.cdn.example.com", false), cd, "cb");
	check_pins(find(&r, "*.img.example.com", false), e, "c");
	check_pins(find(&r, "checkout.example.com", false), af, "cb"); /* quoted, lower-cased */
	importers_policies_free(&r);
}

static void test_okhttp_bad_input_table(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *needle;
	} cases[] = {
		{ "# pins\napi.example.com sha1/BOGUSBOGUSBOGUSBOGUSBOGUSBOG=\n",
		  "t:2: sha1/BOGUSBOGUSBOGUSBOGUSBOGUSBOG=: pinwatch needs sha256 pins" },
		{ "api.example.com " PIN_A "\n", "t:1: pin '" PIN_A "' must start with sha256/" },
		{ "api.example.com sha256/AAAA\n",
		  "t:1: not 32 bytes of base64: 'AAAA' decodes to 3 bytes" },
		{ "*.com sha256/" PIN_A "\n", "t:1: '*.com' is not a host pattern" },
		{ "a.*.example.com sha256/" PIN_A "\n", "is not a host pattern" },
		{ "api.example.com\n", "t:1: pattern api.example.com without any sha256/ pin" },
		{ "# nothing here\n\n", "t: no pins found" },
		{ "", "t: no pins found" },
		{ "ok.example.com sha256/" PIN_A "\nbad..example.com sha256/" PIN_A "\n",
		  "t:2: 'bad..example.com' is not a host pattern" },
		{ "caf\xc3\xa9.example.com sha256/" PIN_A "\n", "is not a host pattern" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		expect_error(importers_parse_okhttp, cases[i].text, cases[i].needle);

	/* NUL byte and over-long line */
	struct import_policies r;
	char err[ERRLEN];
	const char nul[] = "api.example.com sha256/" PIN_A "\0\n";
	assert_int_equal(importers_parse_okhttp(nul, sizeof(nul) - 1, "t", &r, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "t:1: NUL byte"));
	char *big = malloc(IMPORTERS_MAX_CONFIG + 1);
	assert_non_null(big);
	memset(big, '#', IMPORTERS_MAX_CONFIG + 1);
	assert_int_equal(importers_parse_okhttp(big, IMPORTERS_MAX_CONFIG + 1, "big.txt", &r, err,
						sizeof(err)),
			 -EFBIG);
	assert_non_null(strstr(err, "big.txt: larger than"));
	free(big);
	char *longl = malloc(20000);
	assert_non_null(longl);
	memset(longl, 'a', 19999);
	longl[19999] = '\0';
	expect_error(importers_parse_okhttp, longl, "t:1: line longer than");
	free(longl);
}

static void test_assign_roles(void **state)
{
	(void)state;
	struct import_policies r;
	char err[ERRLEN] = "";
	uint8_t backup[2][32];
	assert_int_equal(
		parse_file(importers_parse_okhttp, "okhttp/shop_android_pins.txt", &r, err), 0);
	assert_int_equal(util_parse_pin(PIN_A, backup[0], err, sizeof(err)), 0);
	assert_int_equal(
		importers_assign_roles(&r, (const uint8_t(*)[32])backup, 1, err, sizeof(err)), 0);
	const char *ab[] = { PIN_A, PIN_B }, *af[] = { PIN_A, PIN_F }, *cd[] = { PIN_C, PIN_D };
	check_pins(find(&r, "api.example.com", false), ab, "bc");
	check_pins(find(&r, "checkout.example.com", false), af, "bc");
	check_pins(find(&r, "**.cdn.example.com", false), cd, "cc");
	/* a backup pin that is nowhere in the file is a typo */
	assert_int_equal(util_parse_pin("sha256/" PIN_B, backup[0], err, sizeof(err)), 0);
	memset(backup[1], 0x42, 32);
	assert_int_equal(
		importers_assign_roles(&r, (const uint8_t(*)[32])backup, 2, err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "is not a pin of any policy"));
	importers_policies_free(&r);
}

/* ---- Adoption CSV ------------------------------------------------------------ */

static int parse_csv_file(const char *rel, struct adoption_csv *out, char *err)
{
	size_t len;
	char *buf = load(rel, &len);
	int rc = importers_parse_adoption_csv(buf, len, strrchr(rel, '/') + 1, out, err, ERRLEN);
	free(buf);
	return rc;
}

static void test_csv_shares_crlf_quotes(void **state)
{
	(void)state;
	struct adoption_csv a;
	char err[ERRLEN] = "";
	assert_int_equal(parse_csv_file("csv/play_console_shares.csv", &a, err), 0);
	assert_false(a.from_users);
	assert_int_equal(a.nrows, 5);
	assert_string_equal(a.rows[0].version, "4.2.0");
	assert_string_equal(a.rows[0].at, "2026-11-20");
	assert_float_equal(a.rows[0].share, 0.31, 1e-12);
	assert_int_equal(a.rows[0].active_users, -1);
	assert_int_equal(a.rows[0].line, 2);
	assert_string_equal(a.rows[2].version, "4.0.0 \"legacy\"");
	assert_string_equal(a.rows[4].at, "2026-11-27");
	assert_float_equal(a.rows[4].share, 0.40, 1e-12);
	importers_adoption_free(&a);
}

static void test_csv_users_bom(void **state)
{
	(void)state;
	struct adoption_csv a;
	char err[ERRLEN] = "";
	assert_int_equal(parse_csv_file("csv/firebase_users.csv", &a, err), 0);
	assert_true(a.from_users);
	assert_int_equal(a.nrows, 3);
	assert_int_equal(a.rows[0].active_users, 310000);
	assert_float_equal(a.rows[0].share, 0.31, 1e-12);
	assert_float_equal(a.rows[1].share, 0.52, 1e-12);
	assert_float_equal(a.rows[2].share, 0.17, 1e-12);
	importers_adoption_free(&a);
}

static void test_csv_percent_and_sum_file(void **state)
{
	(void)state;
	struct adoption_csv a;
	char err[ERRLEN] = "";
	assert_int_equal(parse_csv_file("csv/no_header_percent.csv", &a, err), 0);
	assert_false(a.from_users);
	assert_float_equal(a.rows[1].share, 0.52, 1e-12);
	importers_adoption_free(&a);
	assert_int_equal(parse_csv_file("csv/sum_above_one.csv", &a, err), -EINVAL);
	assert_non_null(strstr(err, "sum_above_one.csv: shares for 2026-11-20 sum to 1.130000"));
	assert_int_equal(a.nrows, 0);
}

static void test_csv_table(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int rc;
		bool users;
		size_t rows;
		double share0;
		const char *needle;
	} cases[] = {
		/* value-form detection without a header */
		{ "4.2.0,310,2026-11-20\n4.1.0,690,2026-11-20\n", 0, true, 2, 0.31, NULL },
		{ "4.2.0,0.5,2026-11-20\n4.1.0,1,2026-11-21\n", 0, false, 2, 0.5, NULL },
		{ "4.2.0,5e-1,2026-11-20\n", 0, false, 1, 0.5, NULL },
		/* header in any order */
		{ "date,version,active_users\n2026-11-20,4.2.0,1\n2026-11-20,4.1.0,3\n", 0, true, 2,
		  0.25, NULL },
		{ "Version,Share,At\n4.2.0,1,2026-11-20\n", 0, false, 1, 1.0, NULL },
		/* users sum of zero: shares 0 */
		{ "version,active_users,date\n4.2.0,0,2026-11-20\n", 0, true, 1, 0.0, NULL },
		/* sums: exactly 1 is fine, above is not; dates independent */
		{ "a,0.5,2026-11-20\nb,0.5,2026-11-20\na,0.7,2026-11-21\n", 0, false, 3, 0.5,
		  NULL },
		{ "a,0.5,2026-11-20\nb,0.5000001,2026-11-20\n", -EINVAL, false, 0, 0,
		  "shares for 2026-11-20 sum to" },
		/* bad rows */
		{ "4.2.0,0.31\n", -EINVAL, false, 0, 0, "t:1: expected 3 columns" },
		{ "version,share,date\n4.2.0,0.31,2026-11-20,x\n", -EINVAL, false, 0, 0,
		  "t:2: expected 3 columns" },
		{ "version,share,date\n4.2.0,-0.1,2026-11-20\n", -EINVAL, false, 0, 0,
		  "t:2: negative share" },
		{ "version,share,date\n4.2.0,1.5,2026-11-20\n", -EINVAL, false, 0, 0,
		  "t:2: share 1.5 above 1" },
		{ "version,active_users,date\n4.2.0,-3,2026-11-20\n", -EINVAL, false, 0, 0,
		  "t:2: negative active users" },
		{ "version,active_users,date\n4.2.0,3.5,2026-11-20\n", -EINVAL, false, 0, 0,
		  "t:2: active users must be a whole number" },
		{ "version,share,date\n4.2.0,abc,2026-11-20\n", -EINVAL, false, 0, 0,
		  "t:2: 'abc' is not a number" },
		{ "version,share,date\n4.2.0,nan,2026-11-20\n", -EINVAL, false, 0, 0,
		  "not a number" },
		{ "version,share,date\n4.2.0,0.1,20.11.2026\n", -EINVAL, false, 0, 0,
		  "t:2: date '20.11.2026' is not YYYY-MM-DD" },
		{ "version,share,date\n,0.1,2026-11-20\n", -EINVAL, false, 0, 0,
		  "t:2: empty version" },
		{ "version,share,date\n4.2.0,,2026-11-20\n", -EINVAL, false, 0, 0,
		  "t:2: empty value" },
		{ "a,0.1,2026-11-20\n\nb,0.1,2026-11-20\na,0.2,2026-11-20\n", -EINVAL, false, 0, 0,
		  "t:4: version a listed twice for 2026-11-20 (also line 1)" },
		{ "\"4.2.0,0.1,2026-11-20\n", -EINVAL, false, 0, 0,
		  "t:1: unterminated quoted field" },
		{ "\"4.2.0\"x,0.1,2026-11-20\n", -EINVAL, false, 0, 0,
		  "text after a closing quote" },
		{ "4.2\"0,0.1,2026-11-20\n", -EINVAL, false, 0, 0,
		  "quote inside an unquoted field" },
		{ "4.2.\xff,0.1,2026-11-20\n", -EINVAL, false, 0, 0,
		  "t:1: version is not valid UTF-8" },
		{ "version,share,when\n", -EINVAL, false, 0, 0, "t:1: header has no date column" },
		{ "version,share,share\n", -EINVAL, false, 0, 0, "names column 'share' twice" },
		{ "version,share\n", -EINVAL, false, 0, 0, "t:1: header has no date column" },
		{ "version,share,date\n", -EINVAL, false, 0, 0, "t: no adoption rows" },
		{ "", -EINVAL, false, 0, 0, "no adoption rows" },
		{ "a,b,c,d,e,f,g,h,i\n", -EINVAL, false, 0, 0, "t:1: expected 3 columns" },
		{ "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,a,b,c,d,e,f,g,h,i,j,k,l,m,n,"
		  "o,p,q,r,s,t,u,v,w,x,y,z,a,b,c,d,e,f,g,h,i,j,k,l,m\n",
		  -EINVAL, false, 0, 0, "more than 64 columns" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct adoption_csv a;
		char err[ERRLEN] = "";
		int rc = importers_parse_adoption_csv(cases[i].text, strlen(cases[i].text), "t", &a,
						      err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d (%s), expected %d", i, rc, err, cases[i].rc);
		if (rc) {
			if (!strstr(err, cases[i].needle))
				fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].needle);
			assert_int_equal(a.nrows, 0);
			continue;
		}
		assert_int_equal(a.from_users, cases[i].users);
		assert_int_equal(a.nrows, cases[i].rows);
		assert_float_equal(a.rows[0].share, cases[i].share0, 1e-12);
		importers_adoption_free(&a);
	}
}

static void test_csv_huge(void **state)
{
	(void)state;
	struct adoption_csv a;
	char err[ERRLEN];
	size_t n = IMPORTERS_MAX_CSV + 1;
	char *x = malloc(n);
	assert_non_null(x);
	memset(x, '\n', n);
	assert_int_equal(importers_parse_adoption_csv(x, n, "big.csv", &a, err, sizeof(err)),
			 -EFBIG);
	free(x);
	/* many rows, within caps: parses, and duplicate detection stays fast (sorted) */
	size_t rows = 100000, cap = rows * 40;
	x = malloc(cap);
	assert_non_null(x);
	size_t off = 0;
	for (size_t i = 0; i < rows; i++)
		off += (size_t)snprintf(x + off, cap - off, "v%zu,%zu,2026-11-%02zu\n", i, i % 1000,
					1 + i % 28);
	assert_int_equal(importers_parse_adoption_csv(x, off, "many.csv", &a, err, sizeof(err)), 0);
	assert_int_equal(a.nrows, rows);
	assert_true(a.from_users);
	importers_adoption_free(&a);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nsc_realistic),
		cmocka_unit_test(test_nsc_trustkit_config),
		cmocka_unit_test(test_nsc_trustkit_getting_started),
		cmocka_unit_test(test_nsc_sibling_unpins),
		cmocka_unit_test(test_nsc_override_pins),
		cmocka_unit_test(test_nsc_override_pins_resolved),
		cmocka_unit_test(test_nsc_trust_anchor_errors),
		cmocka_unit_test(test_nsc_unpadded_pins),
		cmocka_unit_test(test_nsc_hostile_files),
		cmocka_unit_test(test_nsc_external_entity_not_fetched),
		cmocka_unit_test(test_nsc_bad_input_table),
		cmocka_unit_test(test_nsc_deep_nesting),
		cmocka_unit_test(test_nsc_huge_and_nul),
		cmocka_unit_test(test_trustkit_json_realistic),
		cmocka_unit_test(test_trustkit_all_forms_identical),
		cmocka_unit_test(test_trustkit_wrong_types_file),
		cmocka_unit_test(test_trustkit_bad_input_table),
		cmocka_unit_test(test_trustkit_defaults_and_notes),
		cmocka_unit_test(test_trustkit_source_table),
		cmocka_unit_test(test_bplist_table),
		cmocka_unit_test(test_trustkit_deep_and_huge),
		cmocka_unit_test(test_okhttp_realistic),
		cmocka_unit_test(test_okhttp_bad_input_table),
		cmocka_unit_test(test_assign_roles),
		cmocka_unit_test(test_csv_shares_crlf_quotes),
		cmocka_unit_test(test_csv_users_bom),
		cmocka_unit_test(test_csv_percent_and_sum_file),
		cmocka_unit_test(test_csv_table),
		cmocka_unit_test(test_csv_huge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
