/* Android binary XML and resource table readers (axml.c, arsc.c): documents
 * built here byte by byte in both string encodings, then cut and corrupted
 * at every offset. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <libxml/tree.h>

#include "importers/arsc.h"
#include "importers/axml.h"
#include "base/util.h"

/* ---- a little byte builder ------------------------------------------------ */

struct bb {
	uint8_t b[1 << 16];
	size_t n;
};

static void u8(struct bb *b, uint8_t v)
{
	assert_true(b->n < sizeof(b->b));
	b->b[b->n++] = v;
}
static void u16(struct bb *b, uint16_t v)
{
	u8(b, (uint8_t)v);
	u8(b, (uint8_t)(v >> 8));
}
static void u32(struct bb *b, uint32_t v)
{
	u16(b, (uint16_t)v);
	u16(b, (uint16_t)(v >> 16));
}
static void set32(struct bb *b, size_t at, uint32_t v)
{
	b->b[at] = (uint8_t)v;
	b->b[at + 1] = (uint8_t)(v >> 8);
	b->b[at + 2] = (uint8_t)(v >> 16);
	b->b[at + 3] = (uint8_t)(v >> 24);
}
static void pad4(struct bb *b)
{
	while (b->n % 4)
		u8(b, 0);
}
/* Start a chunk; returns its offset (size patched by end_chunk). */
static size_t chunk(struct bb *b, uint16_t type, uint16_t hsize)
{
	size_t at = b->n;
	u16(b, type);
	u16(b, hsize);
	u32(b, 0);
	return at;
}
static void end_chunk(struct bb *b, size_t at)
{
	set32(b, at + 4, (uint32_t)(b->n - at));
}

/* A string pool of @n ASCII/UTF-8 strings, UTF-8 or UTF-16 encoded. */
static void pool(struct bb *b, const char *const *s, size_t n, bool utf8)
{
	size_t at = chunk(b, 0x0001, 28);
	u32(b, (uint32_t)n);
	u32(b, 0);
	u32(b, utf8 ? 0x100 : 0);
	size_t start_at = b->n;
	u32(b, 0);
	u32(b, 0);
	size_t offs = b->n;
	for (size_t i = 0; i < n; i++)
		u32(b, 0);
	set32(b, start_at, (uint32_t)(b->n - at));
	size_t data = b->n;
	for (size_t i = 0; i < n; i++) {
		set32(b, offs + 4 * i, (uint32_t)(b->n - data));
		size_t len = strlen(s[i]);
		if (utf8) {
			u8(b, (uint8_t)len); /* ASCII: as many UTF-16 units as bytes */
			u8(b, (uint8_t)len);
			for (size_t k = 0; k < len; k++)
				u8(b, (uint8_t)s[i][k]);
			u8(b, 0);
		} else {
			u16(b, (uint16_t)len);
			for (size_t k = 0; k < len; k++)
				u16(b, (uint8_t)s[i][k]);
			u16(b, 0);
		}
	}
	pad4(b);
	end_chunk(b, at);
}

#define NONE 0xffffffffu
enum { S_NSC, S_DOMAIN, S_INCL, S_HOST, S_PIN, S_SRC, S_ANDROID, S_A, S_NS_URI, S_VNAME };
static const char *const strs[] = {
	"network-security-config",
	"domain",
	"includeSubdomains",
	"api.example.com",
	"pin-set",
	"src",
	"android",
	"a",
	AXML_ANDROID_NS,
	"versionName",
};

struct attr {
	uint32_t ns, name, raw;
	uint8_t type;
	uint32_t data;
};

static void start(struct bb *b, uint32_t line, uint32_t name, const struct attr *a, size_t na)
{
	size_t at = chunk(b, 0x0102, 16);
	u32(b, line);
	u32(b, NONE);
	u32(b, NONE);
	u32(b, name);
	u16(b, 20);
	u16(b, 20);
	u16(b, (uint16_t)na);
	u16(b, 0);
	u16(b, 0);
	u16(b, 0);
	for (size_t i = 0; i < na; i++) {
		u32(b, a[i].ns);
		u32(b, a[i].name);
		u32(b, a[i].raw);
		u16(b, 8);
		u8(b, 0);
		u8(b, a[i].type);
		u32(b, a[i].data);
	}
	end_chunk(b, at);
}
static void end(struct bb *b, uint32_t line, uint32_t name)
{
	size_t at = chunk(b, 0x0103, 16);
	u32(b, line);
	u32(b, NONE);
	u32(b, NONE);
	u32(b, name);
	end_chunk(b, at);
}
static void text(struct bb *b, uint32_t line, uint32_t s)
{
	size_t at = chunk(b, 0x0104, 16);
	u32(b, line);
	u32(b, NONE);
	u32(b, s);
	u16(b, 8);
	u8(b, 0);
	u8(b, 0);
	u32(b, 0);
	end_chunk(b, at);
}

/* <network-security-config><domain includeSubdomains=true(typed, no raw)
 * android:versionName(resource map)="a">api.example.com</domain>... */
static void build_doc(struct bb *b, bool utf8)
{
	b->n = 0;
	size_t top = chunk(b, 0x0003, 8);
	pool(b, strs, sizeof(strs) / sizeof(strs[0]), utf8);
	size_t rm = chunk(b, 0x0180, 8); /* resource map: string S_NSC.. ids */
	for (int i = 0; i <= S_VNAME; i++)
		u32(b, i == S_A ? 0x0101021c : 0);
	end_chunk(b, rm);
	size_t ns = chunk(b, 0x0100, 16);
	u32(b, 1);
	u32(b, NONE);
	u32(b, S_ANDROID);
	u32(b, S_NS_URI);
	end_chunk(b, ns);
	start(b, 3, S_NSC, NULL, 0);
	struct attr at[] = {
		{ NONE, S_INCL, NONE, AXML_TYPE_INT_BOOLEAN, 0xffffffff },
		{ S_NS_URI, S_A, S_HOST, AXML_TYPE_STRING, S_HOST },
		{ NONE, S_SRC, NONE, AXML_TYPE_REFERENCE, 0x7f020000 },
	};
	start(b, 4, S_DOMAIN, at, 3);
	text(b, 4, S_HOST);
	end(b, 4, S_DOMAIN);
	end(b, 5, S_NSC);
	end_chunk(b, top);
}

static int ref_name(void *ctx, uint32_t id, char *out, size_t cap)
{
	(void)ctx;
	snprintf(out, cap, id == 0x7f020000 ? "@raw/debug_ca" : "@?");
	return 0;
}

static void test_axml_to_doc_both_encodings(void **state)
{
	(void)state;
	static struct bb b;
	for (int utf8 = 0; utf8 < 2; utf8++) {
		char err[ERRLEN] = "";
		xmlDocPtr doc = NULL;
		build_doc(&b, utf8);
		assert_int_equal(axml_to_doc(b.b, b.n, "t", ref_name, NULL, &doc, err, sizeof(err)),
				 0);
		xmlNodePtr root = xmlDocGetRootElement(doc);
		assert_string_equal((const char *)root->name, "network-security-config");
		assert_int_equal(xmlGetLineNo(root), 3);
		xmlNodePtr d = root->children;
		assert_non_null(d);
		assert_string_equal((const char *)d->name, "domain");
		assert_int_equal(xmlGetLineNo(d), 4);
		xmlChar *v = xmlGetProp(d, BAD_CAST "includeSubdomains");
		assert_string_equal((const char *)v, "true"); /* typed boolean, no raw string */
		xmlFree(v);
		/* named by the resource map id, in the android namespace */
		v = xmlGetNsProp(d, BAD_CAST "versionName", BAD_CAST AXML_ANDROID_NS);
		assert_string_equal((const char *)v, "api.example.com");
		xmlFree(v);
		v = xmlGetProp(d, BAD_CAST "src");
		assert_string_equal((const char *)v, "@raw/debug_ca");
		xmlFree(v);
		v = xmlNodeGetContent(d);
		assert_string_equal((const char *)v, "api.example.com");
		xmlFree(v);
		xmlFreeDoc(doc);
		/* without a resolver a reference stays an id */
		assert_int_equal(axml_to_doc(b.b, b.n, "t", NULL, NULL, &doc, err, sizeof(err)), 0);
		v = xmlGetProp(xmlDocGetRootElement(doc)->children, BAD_CAST "src");
		assert_string_equal((const char *)v, "@0x7f020000");
		xmlFree(v);
		xmlFreeDoc(doc);
	}
}

/* Every prefix and every single-byte corruption: an error with a message or
 * a document, never a crash (ASan/UBSan builds check the reads). */
static void test_axml_to_doc_cut_and_corrupted(void **state)
{
	(void)state;
	static struct bb b;
	build_doc(&b, false);
	for (size_t n = 0; n < b.n; n++) {
		char err[ERRLEN] = "";
		xmlDocPtr doc = NULL;
		if (axml_to_doc(b.b, n, "t", NULL, NULL, &doc, err, sizeof(err)) == 0)
			fail_msg("a %zu-byte prefix of %zu was accepted", n, b.n);
		assert_null(doc);
		assert_true(strncmp(err, "t:", 2) == 0);
	}
	for (size_t i = 0; i < b.n; i++) {
		for (int v = 0; v < 3; v++) {
			static const uint8_t vals[] = { 0x00, 0x7f, 0xff };
			uint8_t keep = b.b[i];
			char err[ERRLEN] = "";
			xmlDocPtr doc = NULL;
			b.b[i] = vals[v];
			int rc = axml_to_doc(b.b, b.n, "t", ref_name, NULL, &doc, err, sizeof(err));
			if (rc == 0)
				xmlFreeDoc(doc);
			else
				assert_true(err[0] != '\0');
			b.b[i] = keep;
		}
	}
}

static void test_axml_to_doc_hostile(void **state)
{
	(void)state;
	static struct bb b;
	struct {
		const char *what;
		size_t off; /* byte to patch (0: none) */
		uint32_t val;
		const char *needle;
	} cases[] = {
		{ "string count", 8 + 8, 0x7fffffff, "string pool" },
		{ "strings start past the pool", 8 + 20, 0xfffffff0, "string pool" },
		{ "top chunk longer than the file", 4, 0x10000000, "binary XML: truncated" },
		{ "first chunk size", 8 + 4, 0xfffffff0, "malformed chunk at offset 8" },
		{ "not XML", 0, 0x00000002, "not Android binary XML" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[ERRLEN] = "";
		xmlDocPtr doc = NULL;
		build_doc(&b, true);
		set32(&b, cases[i].off, cases[i].val);
		if (axml_to_doc(b.b, b.n, "t", NULL, NULL, &doc, err, sizeof(err)) == 0 ||
		    !strstr(err, cases[i].needle))
			fail_msg("%s: '%s', expected '%s'", cases[i].what, err, cases[i].needle);
	}

	/* nesting deeper than 64 */
	b.n = 0;
	size_t top = chunk(&b, 0x0003, 8);
	pool(&b, strs, 2, false);
	for (int i = 0; i < 70; i++)
		start(&b, 1, S_DOMAIN, NULL, 0);
	end_chunk(&b, top);
	char err[ERRLEN] = "";
	xmlDocPtr doc = NULL;
	assert_int_equal(axml_to_doc(b.b, b.n, "t", NULL, NULL, &doc, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nested more than 64"));

	/* an end without a start; unclosed; a second root; a node before the pool */
	b.n = 0;
	top = chunk(&b, 0x0003, 8);
	pool(&b, strs, 2, false);
	end(&b, 7, S_NSC);
	end_chunk(&b, top);
	assert_int_equal(axml_to_doc(b.b, b.n, "t", NULL, NULL, &doc, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "t: binary XML line 7: end of an element never started"));
	b.n = 0;
	top = chunk(&b, 0x0003, 8);
	pool(&b, strs, 2, false);
	start(&b, 1, S_NSC, NULL, 0);
	end_chunk(&b, top);
	assert_int_equal(axml_to_doc(b.b, b.n, "t", NULL, NULL, &doc, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ends inside <network-security-config>"));
	b.n = 0;
	top = chunk(&b, 0x0003, 8);
	pool(&b, strs, 2, false);
	start(&b, 1, S_NSC, NULL, 0);
	end(&b, 1, S_NSC);
	start(&b, 2, S_NSC, NULL, 0);
	end(&b, 2, S_NSC);
	end_chunk(&b, top);
	assert_int_equal(axml_to_doc(b.b, b.n, "t", NULL, NULL, &doc, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 2: a second root element"));
	b.n = 0;
	top = chunk(&b, 0x0003, 8);
	start(&b, 1, S_NSC, NULL, 0);
	end_chunk(&b, top);
	assert_int_equal(axml_to_doc(b.b, b.n, "t", NULL, NULL, &doc, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "node before the string pool"));
}

static void test_axml_pool_str_boundaries(void **state)
{
	(void)state;
	static struct bb b;
	/* hand-written entries: a 200-byte UTF-8 string (two-byte lengths), a
	 * UTF-16 surrogate pair, a lone surrogate, invalid UTF-8 */
	char out[512];
	struct axml_pool p;
	char err[ERRLEN];

	b.n = 0;
	size_t at = chunk(&b, 0x0001, 28);
	u32(&b, 3);
	u32(&b, 0);
	u32(&b, 0x100);
	u32(&b, 28 + 12);
	u32(&b, 0);
	u32(&b, 0);
	u32(&b, 0);
	u32(&b, 0);
	size_t d = b.n;
	u8(&b, 0x80 | 0);
	u8(&b, 200); /* 200 UTF-16 units */
	u8(&b, 0x80 | 0);
	u8(&b, 200); /* 200 bytes */
	for (int i = 0; i < 200; i++)
		u8(&b, 'x');
	u8(&b, 0);
	set32(&b, at + 32, (uint32_t)(b.n - d));
	u8(&b, 3);
	u8(&b, 3);
	u8(&b, 'a');
	u8(&b, 0xc0); /* invalid: overlong lead byte */
	u8(&b, 'b');
	u8(&b, 0);
	set32(&b, at + 36, (uint32_t)(b.n - d));
	u8(&b, 10);
	u8(&b, 10); /* claims 10 bytes, the chunk ends first */
	u8(&b, 'z');
	end_chunk(&b, at);
	assert_int_equal(axml_pool_init(&p, b.b, b.n, err, sizeof(err)), 0);
	assert_int_equal(axml_pool_str(&p, 0, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 200);
	assert_int_equal(axml_pool_str(&p, 0, out, 200), -E2BIG); /* 200 + NUL does not fit */
	assert_int_equal(axml_pool_str(&p, 0, out, 201), 0);
	assert_int_equal(axml_pool_str(&p, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "a?b");
	assert_int_equal(axml_pool_str(&p, 2, out, sizeof(out)), -EINVAL);
	assert_int_equal(axml_pool_str(&p, 3, out, sizeof(out)), -ERANGE);

	b.n = 0;
	at = chunk(&b, 0x0001, 28);
	u32(&b, 2);
	u32(&b, 0);
	u32(&b, 0);
	u32(&b, 28 + 8);
	u32(&b, 0);
	u32(&b, 0);
	u32(&b, 0);
	d = b.n;
	u16(&b, 2);
	u16(&b, 0xd83d); /* U+1F512 LOCK as a surrogate pair */
	u16(&b, 0xdd12);
	u16(&b, 0);
	set32(&b, at + 32, (uint32_t)(b.n - d));
	u16(&b, 2);
	u16(&b, 0xdc00); /* a lone low surrogate */
	u16(&b, 'k');
	u16(&b, 0);
	end_chunk(&b, at);
	assert_int_equal(axml_pool_init(&p, b.b, b.n, err, sizeof(err)), 0);
	assert_int_equal(axml_pool_str(&p, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "\xf0\x9f\x94\x92");
	assert_int_equal(axml_pool_str(&p, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "?k");
}

/* ---- resources.arsc --------------------------------------------------------- */

/* One package 0x7f: type 1 "xml" (default config) entry 0 "nsc" ->
 * "res/xml/nsc.xml"; type 2 "raw" only in a v24 config, entry 0 "ca" ->
 * "res/raw/ca.pem"; type 3 "string", entry 0 "loop" a reference to itself. */
enum layout { DENSE, SPARSE, OFFSET16, COMPACT };

static void build_table_as(struct bb *b, enum layout lay)
{
	static const char *const values[] = { "res/xml/nsc.xml", "res/raw/ca.pem" };
	static const char *const types[] = { "xml", "raw", "string" };
	static const char *const keys[] = { "nsc", "ca", "loop" };
	b->n = 0;
	size_t top = chunk(b, 0x0002, 12);
	u32(b, 1);
	pool(b, values, 2, true);
	size_t pkg = chunk(b, 0x0200, 288);
	u32(b, 0x7f);
	for (int i = 0; i < 128; i++)
		u16(b, 0);
	size_t tsat = b->n;
	u32(b, 0);
	u32(b, 3);
	size_t ksat = b->n;
	u32(b, 0);
	u32(b, 3);
	u32(b, 0);
	set32(b, tsat, (uint32_t)(b->n - pkg));
	pool(b, types, 3, false);
	set32(b, ksat, (uint32_t)(b->n - pkg));
	pool(b, keys, 3, true);
	for (uint8_t t = 1; t <= 3; t++) {
		/* sparse tables list entry 5 only (ids 0x7fXX0005); the others entry 0 */
		size_t ty = chunk(b, 0x0201, 20 + 64);
		u8(b, t);
		u8(b, lay == SPARSE ? 0x01 : lay == OFFSET16 ? 0x02 : 0);
		u16(b, 0);
		u32(b, 1);
		u32(b, 20 + 64 + 4);
		u32(b, 64);
		for (int i = 4; i < 64; i++)
			u8(b, t == 2 && i == 28 ? 24 : 0); /* raw: sdkVersion 24 */
		if (lay == SPARSE) {
			u16(b, 5); /* entry index */
			u16(b, 0); /* offset / 4 */
		} else if (lay == OFFSET16) {
			u16(b, 0);
			u16(b, 0); /* padding */
		} else {
			u32(b, 0); /* entry 0 at offset 0 */
		}
		uint8_t vt = t == 3 ? AXML_TYPE_REFERENCE : AXML_TYPE_STRING;
		uint32_t vd = t == 3 ? (lay == SPARSE ? 0x7f030005 : 0x7f030000) : t - 1u;
		if (lay == COMPACT) {
			u16(b, (uint16_t)(t - 1u));	      /* key */
			u16(b, (uint16_t)(0x0008 | vt << 8)); /* FLAG_COMPACT, type */
			u32(b, vd);
		} else {
			u16(b, 8);
			u16(b, 0);
			u32(b, t - 1u); /* key */
			u16(b, 8);
			u8(b, 0);
			u8(b, vt);
			u32(b, vd);
		}
		end_chunk(b, ty);
	}
	end_chunk(b, pkg);
	end_chunk(b, top);
}

static void build_table(struct bb *b)
{
	build_table_as(b, DENSE);
}

/* The entry layouts of newer build tools: sparse types (aapt2
 * --enable-sparse-encoding), 16-bit offsets and compact entries (Android
 * 14's aapt2). */
static void test_arsc_layouts(void **state)
{
	(void)state;
	static struct bb b;
	static const struct {
		enum layout lay;
		uint32_t e;
	} cases[] = { { SPARSE, 5 }, { OFFSET16, 0 }, { COMPACT, 0 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[ERRLEN] = "", out[256];
		uint32_t id = 0;
		build_table_as(&b, cases[i].lay);
		struct arsc *t = arsc_parse(b.b, b.n, err, sizeof(err));
		if (!t)
			fail_msg("layout %d: %s", cases[i].lay, err);
		assert_int_equal(
			arsc_string(t, 0x7f010000 | cases[i].e, out, sizeof(out), err, sizeof(err)),
			0);
		assert_string_equal(out, "res/xml/nsc.xml");
		assert_int_equal(arsc_name(t, 0x7f010000 | cases[i].e, out, sizeof(out)), 0);
		assert_string_equal(out, "xml/nsc");
		assert_int_equal(arsc_find(t, "raw", "ca", &id), 0);
		assert_int_equal(id, 0x7f020000 | cases[i].e);
		/* a reference loop is still caught */
		assert_int_equal(
			arsc_string(t, 0x7f030000 | cases[i].e, out, sizeof(out), err, sizeof(err)),
			-EINVAL);
		/* the slot next to it is empty */
		struct arsc_value v;
		assert_int_equal(arsc_value(t, (0x7f010001 | cases[i].e) + (cases[i].e ? 1 : 0), &v,
					    err, sizeof(err)),
				 -ENOENT);
		arsc_free(t);
	}
}

static void test_arsc_lookups(void **state)
{
	(void)state;
	static struct bb b;
	char err[ERRLEN] = "", out[256];
	build_table(&b);
	struct arsc *t = arsc_parse(b.b, b.n, err, sizeof(err));
	if (!t)
		fail_msg("%s", err);
	assert_int_equal(arsc_string(t, 0x7f010000, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "res/xml/nsc.xml");
	assert_int_equal(arsc_name(t, 0x7f010000, out, sizeof(out)), 0);
	assert_string_equal(out, "xml/nsc");
	/* only in a non-default configuration: still found, and flagged */
	struct arsc_value v;
	assert_int_equal(arsc_value(t, 0x7f020000, &v, err, sizeof(err)), 0);
	assert_int_equal(v.nondefault, 1);
	uint32_t id = 0;
	assert_int_equal(arsc_find(t, "raw", "ca", &id), 0);
	assert_int_equal(id, 0x7f020000);
	assert_int_equal(arsc_string(t, id, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "res/raw/ca.pem");
	/* boundaries: missing entry, type, package; a reference loop */
	assert_int_equal(arsc_find(t, "raw", "nope", &id), -ENOENT);
	assert_int_equal(arsc_find(t, "drawable", "ca", &id), -ENOENT);
	assert_int_equal(arsc_value(t, 0x7f010001, &v, err, sizeof(err)), -ENOENT);
	assert_int_equal(arsc_value(t, 0x7f090000, &v, err, sizeof(err)), -ENOENT);
	assert_int_equal(arsc_value(t, 0x01010000, &v, err, sizeof(err)), -ENOENT);
	assert_int_equal(arsc_name(t, 0x7f010001, out, sizeof(out)), -ENOENT);
	assert_int_equal(arsc_name(t, 0x7f010000, out, 7), -E2BIG);
	assert_int_equal(arsc_string(t, 0x7f030000, out, sizeof(out), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 8 references"));
	arsc_free(t);
}

static void test_arsc_cut_and_corrupted(void **state)
{
	(void)state;
	static struct bb b;
	char err[ERRLEN], out[256];
	for (int lay = DENSE; lay <= COMPACT; lay++) {
		build_table_as(&b, (enum layout)lay);
		for (size_t n = 0; n < b.n; n++) {
			err[0] = '\0';
			struct arsc *t = arsc_parse(b.b, n, err, sizeof(err));
			if (t)
				fail_msg("a %zu-byte prefix of %zu was accepted", n, b.n);
			assert_true(strncmp(err, "resources.arsc:", 15) == 0);
		}
		for (size_t i = 0; i < b.n; i++) {
			uint8_t keep = b.b[i];
			for (int k = 0; k < 2; k++) {
				b.b[i] = k ? 0xff : 0x00;
				struct arsc *t = arsc_parse(b.b, b.n, err, sizeof(err));
				if (!t)
					continue;
				uint32_t id;
				struct arsc_value v;
				for (uint32_t e = 0; e < 6; e += 5) {
					(void)arsc_string(t, 0x7f010000 | e, out, sizeof(out), err,
							  sizeof(err));
					(void)arsc_string(t, 0x7f030000 | e, out, sizeof(out), err,
							  sizeof(err));
					(void)arsc_value(t, 0x7f020000 | e, &v, err, sizeof(err));
					(void)arsc_name(t, 0x7f020000 | e, out, sizeof(out));
				}
				(void)arsc_find(t, "raw", "ca", &id);
				arsc_free(t);
			}
			b.b[i] = keep;
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_axml_to_doc_both_encodings),
		cmocka_unit_test(test_axml_to_doc_cut_and_corrupted),
		cmocka_unit_test(test_axml_to_doc_hostile),
		cmocka_unit_test(test_axml_pool_str_boundaries),
		cmocka_unit_test(test_arsc_lookups),
		cmocka_unit_test(test_arsc_layouts),
		cmocka_unit_test(test_arsc_cut_and_corrupted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
