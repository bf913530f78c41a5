/* Binary property lists ("bplist00", what Xcode writes into an .ipa) read
 * into a JSON tree, bounded for hostile input.
 *
 * Why not libplist: Debian 12's libplist 2.2 aborts on an assertion when a
 * dictionary key holds a NUL byte, and expands shared object references into
 * copies, so a 300-byte file with 40 levels of [a, a] takes all memory
 * (both found by fuzz/fuzz_trustkit_plist). This reader follows Apple's
 * CFBinaryPList format: the 32-byte trailer gives the offset table; objects
 * are a marker byte (type << 4 | size) plus payload. Every offset and length
 * is checked against the object area, nesting is capped at
 * IMPORTERS_MAX_NESTING and the tree at BP_MAX_NODES nodes (shared references
 * count each time they are reached), strings with a NUL are refused. Dates,
 * data and UIDs become JSON null: TrustKit reads none of them. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importers/importers.h"
#include "importers/importers_int.h"
#include "base/util.h"

#define BP_MAX_NODES 100000

struct bp {
	const uint8_t *b;
	size_t len;
	size_t objs_end; /* objects lie in [8, objs_end) */
	size_t table;	 /* offset table */
	unsigned off_size, ref_size;
	uint64_t nobjects;
	size_t nodes;
	char *msg;
	size_t msglen;
};

static uint64_t be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static int bad(struct bp *p, const char *what)
{
	return util_err(p->msg, p->msglen, -EINVAL, "binary plist: %s", what);
}

/* Offset of object @ref, checked. */
static int obj_offset(struct bp *p, uint64_t ref, size_t *off)
{
	if (ref >= p->nobjects)
		return bad(p, "object reference out of range");
	uint64_t o = be(p->b + p->table + ref * p->off_size, p->off_size);
	if (o < 8 || o >= p->objs_end)
		return bad(p, "object offset out of range");
	*off = (size_t)o;
	return 0;
}

/* The element count after marker @m at @off; @pos is set past it. */
static int count_of(struct bp *p, size_t off, uint8_t m, uint64_t *count, size_t *pos)
{
	*pos = off + 1;
	if ((m & 0xf) != 0xf) {
		*count = m & 0xf;
		return 0;
	}
	if (*pos >= p->objs_end || (p->b[*pos] & 0xf0) != 0x10)
		return bad(p, "bad length marker");
	unsigned n = 1u << (p->b[*pos] & 0x0f);
	if (n > 8 || *pos + 1 + n > p->objs_end)
		return bad(p, "bad length");
	*count = be(p->b + *pos + 1, n);
	*pos += 1 + n;
	return 0;
}

/* @n units of @unit bytes from @pos fit in the object area. */
static bool fits(const struct bp *p, size_t pos, uint64_t n, unsigned unit)
{
	return n <= (p->objs_end - pos) / unit;
}

static int utf16_string(struct bp *p, size_t pos, uint64_t n, json_t **out)
{
	/* at most 3 UTF-8 bytes per UTF-16 unit (a pair gives 4 for 2 units) */
	char *s = malloc((size_t)n * 3 + 1);
	size_t o = 0;
	if (!s)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t c = (uint32_t)be(p->b + pos + 2 * i, 2);
		if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
			uint32_t lo = (uint32_t)be(p->b + pos + 2 * (i + 1), 2);
			if (lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			}
		}
		if (c == 0 || (c >= 0xd800 && c < 0xe000)) {
			free(s);
			return bad(p, c ? "a lone UTF-16 surrogate" : "a string holds a NUL");
		}
		if (c < 0x80) {
			s[o++] = (char)c;
		} else if (c < 0x800) {
			s[o++] = (char)(0xc0 | (c >> 6));
			s[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			s[o++] = (char)(0xe0 | (c >> 12));
			s[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			s[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			s[o++] = (char)(0xf0 | (c >> 18));
			s[o++] = (char)(0x80 | ((c >> 12) & 0x3f));
			s[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			s[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	*out = json_stringn(s, o);
	free(s);
	return *out ? 0 : -ENOMEM;
}

static int bp_obj(struct bp *p, uint64_t ref, int depth, json_t **out);

static int container(struct bp *p, size_t pos, uint64_t n, bool dict, int depth, json_t **out)
{
	if (!fits(p, pos, n, p->ref_size) || (dict && !fits(p, pos, 2 * n, p->ref_size)))
		return bad(p, "container larger than the file");
	json_t *c = dict ? json_object() : json_array();
	if (!c)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++) {
		json_t *k = NULL, *v = NULL;
		int rc = 0;
		if (dict) {
			rc = bp_obj(p, be(p->b + pos + i * p->ref_size, p->ref_size), depth + 1,
				    &k);
			if (!rc && !json_is_string(k))
				rc = bad(p, "a dictionary key is not a string");
			if (!rc && json_object_get(c, json_string_value(k)))
				rc = bad(p, "a dictionary key is given twice");
		}
		if (!rc)
			rc = bp_obj(p,
				    be(p->b + pos + (dict ? n + i : i) * p->ref_size, p->ref_size),
				    depth + 1, &v);
		if (!rc && (dict ? json_object_set_new(c, json_string_value(k), v)
				 : json_array_append_new(c, v)))
			rc = -ENOMEM;
		json_decref(k);
		if (rc) {
			json_decref(c);
			return rc;
		}
	}
	*out = c;
	return 0;
}

static int bp_obj(struct bp *p, uint64_t ref, int depth, json_t **out)
{
	size_t off = 0, pos = 0;
	uint64_t n;
	int rc;
	*out = NULL;
	if (depth > IMPORTERS_MAX_NESTING)
		return bad(p, "nested too deeply");
	if (++p->nodes > BP_MAX_NODES)
		return bad(p, "more than 100000 values (shared references?)");
	if ((rc = obj_offset(p, ref, &off)))
		return rc;
	uint8_t m = p->b[off];
	switch (m >> 4) {
	case 0x0:
		if (m == 0x08 || m == 0x09)
			*out = json_boolean(m == 0x09);
		else if (m == 0x00)
			*out = json_null();
		else
			return bad(p, "unknown simple value");
		break;
	case 0x1: {
		unsigned sz = 1u << (m & 0xf);
		if (sz > 8 || off + 1 + sz > p->objs_end)
			return bad(p, "bad integer");
		uint64_t u = be(p->b + off + 1, sz);
		*out = json_integer(sz == 8 ? (json_int_t)u : (json_int_t)(int64_t)u);
		break;
	}
	case 0x2: {
		unsigned sz = 1u << (m & 0xf);
		if ((sz != 4 && sz != 8) || off + 1 + sz > p->objs_end)
			return bad(p, "bad real");
		uint64_t u = be(p->b + off + 1, sz);
		double d;
		if (sz == 4) {
			float f;
			uint32_t u32 = (uint32_t)u;
			memcpy(&f, &u32, 4);
			d = f;
		} else {
			memcpy(&d, &u, 8);
		}
		*out = isfinite(d) ? json_real(d) : json_null();
		break;
	}
	case 0x3: /* date */
		if (m != 0x33 || off + 9 > p->objs_end)
			return bad(p, "bad date");
		*out = json_null();
		break;
	case 0x4: /* data */
	case 0x8: /* UID */
		if ((rc = count_of(p, off, m, &n, &pos)))
			return rc;
		if (!fits(p, pos, (m >> 4) == 0x8 ? (uint64_t)(m & 0xf) + 1 : n, 1))
			return bad(p, "data larger than the file");
		*out = json_null();
		break;
	case 0x5: /* ASCII */
	case 0x7: /* UTF-8 */
		if ((rc = count_of(p, off, m, &n, &pos)))
			return rc;
		if (!fits(p, pos, n, 1))
			return bad(p, "string larger than the file");
		if (memchr(p->b + pos, 0, (size_t)n))
			return bad(p, "a string holds a NUL");
		*out = json_stringn((const char *)p->b + pos, (size_t)n);
		if (!*out)
			return bad(p, "a string is not valid UTF-8");
		break;
	case 0x6:
		if ((rc = count_of(p, off, m, &n, &pos)))
			return rc;
		if (!fits(p, pos, n, 2))
			return bad(p, "string larger than the file");
		return utf16_string(p, pos, n, out);
	case 0xa: /* array */
	case 0xc: /* set */
	case 0xd: /* dict */
		if ((rc = count_of(p, off, m, &n, &pos)))
			return rc;
		return container(p, pos, n, (m >> 4) == 0xd, depth, out);
	default:
		return bad(p, "unknown object type");
	}
	return *out ? 0 : -ENOMEM;
}

int imp_bplist_to_json(const char *buf, size_t len, json_t **root, char *msg, size_t msglen)
{
	struct bp p = { .b = (const uint8_t *)buf, .len = len, .msg = msg, .msglen = msglen };
	*root = NULL;
	if (len < 8 + 1 + 32 || memcmp(buf, "bplist00", 8))
		return bad(&p, "not a binary plist (too short or no bplist00 header)");
	const uint8_t *t = p.b + len - 32;
	p.off_size = t[6];
	p.ref_size = t[7];
	p.nobjects = be(t + 8, 8);
	uint64_t top = be(t + 16, 8), table = be(t + 24, 8);
	if (p.off_size < 1 || p.off_size > 8 || p.ref_size < 1 || p.ref_size > 8)
		return bad(&p, "bad trailer sizes");
	if (p.nobjects == 0 || p.nobjects > len || top >= p.nobjects || table < 9 ||
	    table > len - 32 || p.nobjects > (len - 32 - table) / p.off_size)
		return bad(&p, "bad trailer");
	p.table = (size_t)table;
	p.objs_end = (size_t)table;
	int rc = bp_obj(&p, top, 1, root);
	if (rc == 0 && !json_is_object(*root)) {
		json_decref(*root);
		*root = NULL;
		return bad(&p, "the plist must hold a dictionary");
	}
	return rc;
}
