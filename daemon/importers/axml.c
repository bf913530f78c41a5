/* Android binary XML and string pools (see axml.h). */
#include "importers/axml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define RES_STRING_POOL_TYPE	   0x0001
#define RES_XML_TYPE		   0x0003
#define RES_XML_START_NAMESPACE	   0x0100
#define RES_XML_END_NAMESPACE	   0x0101
#define RES_XML_START_ELEMENT	   0x0102
#define RES_XML_END_ELEMENT	   0x0103
#define RES_XML_CDATA		   0x0104
#define RES_XML_RESOURCE_MAP	   0x0180
#define STRING_POOL_UTF8	   0x100
#define NO_INDEX		   0xffffffffu
#define ATTR_VERSION_NAME	   0x0101021cu
#define ATTR_NETWORK_SECURITY_CONF 0x01010527u
#define SCRATCH			   65536
#define MAX_NS			   32

int axml_chunk(const uint8_t *p, size_t avail, size_t minhdr, uint16_t *type, uint16_t *hsize,
	       uint32_t *size)
{
	if (avail < 8)
		return -EINVAL;
	*type = axml_u16(p);
	*hsize = axml_u16(p + 2);
	*size = axml_u32(p + 4);
	if (*hsize < minhdr || *hsize < 8 || *size < *hsize || *size > avail)
		return -EINVAL;
	return 0;
}

int axml_pool_init(struct axml_pool *pool, const uint8_t *p, size_t avail, char *err, size_t errlen)
{
	uint16_t type, hsize;
	uint32_t size;
	memset(pool, 0, sizeof(*pool));
	if (axml_chunk(p, avail, 28, &type, &hsize, &size) || type != RES_STRING_POOL_TYPE)
		return util_err(err, errlen, -EINVAL, "string pool: truncated or malformed header");
	uint32_t count = axml_u32(p + 8), flags = axml_u32(p + 16), start = axml_u32(p + 20);
	if (count > AXML_MAX_STR)
		return util_err(err, errlen, -EINVAL, "string pool: %u strings (limit %u)", count,
				AXML_MAX_STR);
	if ((uint64_t)hsize + (uint64_t)count * 4 > size ||
	    (count && (start < hsize || start > size)))
		return util_err(err, errlen, -EINVAL,
				"string pool: %u strings do not fit in %u bytes", count, size);
	pool->chunk = p;
	pool->size = size;
	pool->count = count;
	pool->offsets = hsize;
	pool->strings = start;
	pool->utf8 = (flags & STRING_POOL_UTF8) != 0;
	return 0;
}

/* Append code point @cp as UTF-8; -E2BIG when it does not fit. */
static int put_utf8(char *out, size_t cap, size_t *n, uint32_t cp)
{
	uint8_t b[4];
	size_t k;
	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | (cp >> 6));
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | (cp >> 12));
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | (cp >> 18));
		b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (uint8_t)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (*n + k >= cap)
		return -E2BIG;
	memcpy(out + *n, b, k);
	*n += k;
	return 0;
}

/* Length of a valid UTF-8 sequence at @s (@left bytes), 0 when invalid. */
static size_t utf8_seq(const uint8_t *s, size_t left)
{
	uint8_t c = s[0];
	size_t k = c < 0x80		? 1
		   : (c & 0xe0) == 0xc0 ? 2
		   : (c & 0xf0) == 0xe0 ? 3
		   : (c & 0xf8) == 0xf0 ? 4
					: 0;
	if (!k || k > left || (k == 2 && c < 0xc2) || (k == 4 && c > 0xf4))
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (k == 3 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0)))
		return 0;
	if (k == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90)))
		return 0;
	return k;
}

int axml_pool_str(const struct axml_pool *pool, uint32_t idx, char *out, size_t cap)
{
	if (!cap)
		return -E2BIG;
	out[0] = '\0';
	if (!pool->chunk || idx >= pool->count)
		return -ERANGE;
	uint64_t pos =
		(uint64_t)pool->strings + axml_u32(pool->chunk + pool->offsets + 4 * (size_t)idx);
	const uint8_t *c = pool->chunk;
	size_t end = pool->size, n = 0;
	if (pool->utf8) {
		/* two lengths (UTF-16 units, then bytes), each 1 or 2 bytes */
		for (int i = 0; i < 2; i++) {
			if (pos + 1 > end)
				return -EINVAL;
			uint32_t l = c[pos++];
			if (l & 0x80) {
				if (pos + 1 > end)
					return -EINVAL;
				l = ((l & 0x7f) << 8) | c[pos++];
			}
			if (i == 1) {
				if (pos + l > end)
					return -EINVAL;
				if (l >= cap)
					return -E2BIG;
				const uint8_t *s = c + pos;
				for (size_t j = 0; j < l;) {
					if (s[j] == 0)
						break;
					size_t k = utf8_seq(s + j, l - j);
					if (!k) {
						out[n++] = '?';
						j++;
						continue;
					}
					memcpy(out + n, s + j, k);
					n += k;
					j += k;
				}
			}
		}
	} else {
		if (pos + 2 > end)
			return -EINVAL;
		uint32_t l = axml_u16(c + pos);
		pos += 2;
		if (l & 0x8000) {
			if (pos + 2 > end)
				return -EINVAL;
			l = ((l & 0x7fff) << 16) | axml_u16(c + pos);
			pos += 2;
		}
		if (pos + (uint64_t)l * 2 > end)
			return -EINVAL;
		for (uint32_t j = 0; j < l; j++) {
			uint32_t u = axml_u16(c + pos + 2 * (size_t)j);
			if (u == 0)
				break;
			if (u >= 0xd800 && u < 0xdc00 && j + 1 < l) {
				uint32_t lo = axml_u16(c + pos + 2 * (size_t)(j + 1));
				if (lo >= 0xdc00 && lo < 0xe000) {
					u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
					j++;
				} else {
					u = '?';
				}
			} else if (u >= 0xd800 && u < 0xe000) {
				u = '?';
			}
			if (put_utf8(out, cap, &n, u))
				return -E2BIG;
		}
	}
	out[n] = '\0';
	return 0;
}

/* ---- binary XML to libxml2 --------------------------------------------- */

struct ax {
	const char *name;
	char *err;
	size_t errlen;
	struct axml_pool pool;
	const uint8_t *resmap;
	uint32_t nresmap;
	uint32_t ns_prefix[MAX_NS], ns_uri[MAX_NS];
	size_t nns;
	axml_ref_fn ref;
	void *ctx;
	xmlDocPtr doc;
	xmlNodePtr cur;
	int depth;
	size_t nodes, text;
	char *s1, *s2, *s3; /* scratch strings */
};

static int ax_fail(struct ax *a, int rc, uint32_t line, const char *fmt, const char *arg)
{
	char msg[256];
	snprintf(msg, sizeof(msg), fmt, arg);
	if (line)
		return util_err(a->err, a->errlen, rc, "%s: binary XML line %u: %s", a->name, line,
				msg);
	return util_err(a->err, a->errlen, rc, "%s: binary XML: %s", a->name, msg);
}

/* String @idx into @out; counts towards the text cap. */
static int ax_str(struct ax *a, uint32_t idx, char *out, uint32_t line)
{
	if (!a->pool.chunk)
		return ax_fail(a, -EINVAL, line, "%s", "node before the string pool");
	int rc = axml_pool_str(&a->pool, idx, out, SCRATCH);
	if (rc == -E2BIG)
		return ax_fail(a, -E2BIG, line, "%s", "string longer than 65535 bytes");
	if (rc)
		return ax_fail(a, -EINVAL, line, "%s", "string index out of range or malformed");
	a->text += strlen(out);
	if (a->text > AXML_MAX_TEXT)
		return ax_fail(a, -E2BIG, line, "%s", "more than 16 MiB of text");
	return 0;
}

static int ax_value(struct ax *a, const uint8_t *attr, uint32_t line, char *out)
{
	uint32_t raw = axml_u32(attr + 8), data = axml_u32(attr + 16);
	uint8_t type = attr[15];
	if ((type == AXML_TYPE_REFERENCE || type == AXML_TYPE_DYNAMIC_REFERENCE) && data != 0) {
		if (!a->ref || a->ref(a->ctx, data, out, SCRATCH) != 0)
			snprintf(out, SCRATCH, "@0x%08x", data);
		return 0;
	}
	if (raw != NO_INDEX)
		return ax_str(a, raw, out, line);
	switch (type) {
	case AXML_TYPE_STRING:
		return ax_str(a, data, out, line);
	case AXML_TYPE_INT_BOOLEAN:
		snprintf(out, SCRATCH, "%s", data ? "true" : "false");
		break;
	case AXML_TYPE_INT_DEC:
		snprintf(out, SCRATCH, "%d", (int32_t)data);
		break;
	case AXML_TYPE_NULL:
		out[0] = '\0';
		break;
	default:
		snprintf(out, SCRATCH, "0x%08x", data);
		break;
	}
	return 0;
}

static int ax_start(struct ax *a, const uint8_t *c, uint16_t hsize, uint32_t size, uint32_t line)
{
	if (size - hsize < 20)
		return ax_fail(a, -EINVAL, line, "%s", "truncated start element");
	const uint8_t *ext = c + hsize;
	uint32_t name = axml_u32(ext + 4);
	uint16_t astart = axml_u16(ext + 8), asize = axml_u16(ext + 10),
		 acount = axml_u16(ext + 12);
	if (acount && (asize < 20 || (uint64_t)hsize + astart + (uint64_t)asize * acount > size))
		return ax_fail(a, -EINVAL, line, "%s", "attributes outside their element chunk");
	if (++a->nodes > AXML_MAX_NODES)
		return ax_fail(a, -E2BIG, line, "%s", "more than 100000 nodes");
	if (a->depth >= AXML_MAX_DEPTH)
		return ax_fail(a, -EINVAL, line, "%s", "elements nested more than 64 deep");
	if (!a->cur && xmlDocGetRootElement(a->doc))
		return ax_fail(a, -EINVAL, line, "%s", "a second root element");
	int rc = ax_str(a, name, a->s1, line);
	if (rc)
		return rc;
	xmlNodePtr el = xmlNewDocNode(a->doc, NULL, BAD_CAST(a->s1[0] ? a->s1 : "_"), NULL);
	if (!el)
		return -ENOMEM;
	el->line = line > 65535 ? 65535 : (unsigned short)line;
	if (a->cur)
		xmlAddChild(a->cur, el);
	else
		xmlDocSetRootElement(a->doc, el);
	a->cur = el;
	a->depth++;
	for (uint16_t i = 0; i < acount; i++) {
		const uint8_t *at = ext + astart + (size_t)asize * i;
		uint32_t ans = axml_u32(at), aname = axml_u32(at + 4);
		const char *an = NULL;
		if (aname < a->nresmap) {
			uint32_t id = axml_u32(a->resmap + 4 * (size_t)aname);
			an = id == ATTR_VERSION_NAME		? "versionName"
			     : id == ATTR_NETWORK_SECURITY_CONF ? "networkSecurityConfig"
								: NULL;
		}
		if (!an) {
			if ((rc = ax_str(a, aname, a->s2, line)))
				return rc;
			an = a->s2[0] ? a->s2 : "_";
		}
		if ((rc = ax_value(a, at, line, a->s3)))
			return rc;
		xmlNsPtr ns = NULL;
		if (ans != NO_INDEX) {
			char *uri = an == a->s2 ? a->s1 : a->s2; /* a free scratch */
			if ((rc = ax_str(a, ans, uri, line)))
				return rc;
			ns = xmlSearchNsByHref(a->doc, el, BAD_CAST uri);
			if (!ns) {
				char prefix[64] = "ns";
				for (size_t k = 0; k < a->nns; k++) {
					if (a->ns_uri[k] == ans &&
					    axml_pool_str(&a->pool, a->ns_prefix[k], prefix,
							  sizeof(prefix)) != 0)
						snprintf(prefix, sizeof(prefix), "ns");
				}
				if (!prefix[0])
					snprintf(prefix, sizeof(prefix), "ns");
				ns = xmlNewNs(el, BAD_CAST uri, BAD_CAST prefix);
			}
		}
		if (!xmlNewNsProp(el, ns, BAD_CAST an, BAD_CAST a->s3))
			return -ENOMEM;
	}
	return 0;
}

static int ax_chunk(struct ax *a, const uint8_t *c, uint16_t type, uint16_t hsize, uint32_t size)
{
	int rc;
	if (type == RES_STRING_POOL_TYPE) {
		if (a->pool.chunk)
			return ax_fail(a, -EINVAL, 0, "%s", "a second string pool");
		rc = axml_pool_init(&a->pool, c, size, a->s1, SCRATCH);
		return rc ? ax_fail(a, rc, 0, "%s", a->s1) : 0;
	}
	if (type == RES_XML_RESOURCE_MAP) {
		a->resmap = c + hsize;
		a->nresmap = (size - hsize) / 4;
		return 0;
	}
	if (type < RES_XML_START_NAMESPACE || type > RES_XML_CDATA)
		return 0; /* unknown chunks are skipped, as Android does */
	if (hsize < 16)
		return ax_fail(a, -EINVAL, 0, "%s", "node header shorter than 16 bytes");
	uint32_t line = axml_u32(c + 8);
	switch (type) {
	case RES_XML_START_NAMESPACE:
		if (size - hsize < 8)
			return ax_fail(a, -EINVAL, line, "%s", "truncated namespace");
		if (a->nns < MAX_NS) {
			a->ns_prefix[a->nns] = axml_u32(c + hsize);
			a->ns_uri[a->nns++] = axml_u32(c + hsize + 4);
		}
		return 0;
	case RES_XML_START_ELEMENT:
		return ax_start(a, c, hsize, size, line);
	case RES_XML_END_ELEMENT:
		if (!a->cur)
			return ax_fail(a, -EINVAL, line, "%s", "end of an element never started");
		a->cur = a->cur->parent && a->cur->parent->type == XML_ELEMENT_NODE ? a->cur->parent
										    : NULL;
		a->depth--;
		return 0;
	case RES_XML_CDATA:
		if (size - hsize < 12)
			return ax_fail(a, -EINVAL, line, "%s", "truncated text");
		if (!a->cur)
			return 0;
		if (++a->nodes > AXML_MAX_NODES)
			return ax_fail(a, -E2BIG, line, "%s", "more than 100000 nodes");
		if ((rc = ax_str(a, axml_u32(c + hsize), a->s1, line)))
			return rc;
		xmlNodePtr t = xmlNewDocText(a->doc, BAD_CAST a->s1);
		if (!t)
			return -ENOMEM;
		xmlAddChild(a->cur, t);
		return 0;
	default:
		return 0;
	}
}

int axml_to_doc(const uint8_t *buf, size_t len, const char *name, axml_ref_fn ref, void *ctx,
		xmlDocPtr *out, char *err, size_t errlen)
{
	struct ax a = { .name = name, .err = err, .errlen = errlen, .ref = ref, .ctx = ctx };
	uint16_t type, hsize;
	uint32_t size;
	int rc = 0;
	*out = NULL;
	if (len < 8 || axml_u16(buf) != RES_XML_TYPE)
		return util_err(err, errlen, -EINVAL,
				"%s: not Android binary XML (no XML chunk header)", name);
	if (axml_chunk(buf, len, 8, &type, &hsize, &size))
		return util_err(err, errlen, -EINVAL,
				"%s: binary XML: truncated (the header says %u bytes, %zu present)",
				name, axml_u32(buf + 4), len);
	xmlInitParser();
	a.s1 = malloc(SCRATCH);
	a.s2 = malloc(SCRATCH);
	a.s3 = malloc(SCRATCH);
	a.doc = xmlNewDoc(BAD_CAST "1.0");
	if (!a.s1 || !a.s2 || !a.s3 || !a.doc) {
		rc = util_err(err, errlen, -ENOMEM, "%s: out of memory", name);
		goto out;
	}
	for (size_t off = hsize; off < size;) {
		uint16_t ct, ch;
		uint32_t cs;
		if (axml_chunk(buf + off, size - off, 8, &ct, &ch, &cs)) {
			rc = util_err(err, errlen, -EINVAL,
				      "%s: binary XML: truncated or malformed chunk at offset %zu",
				      name, off);
			goto out;
		}
		if ((rc = ax_chunk(&a, buf + off, ct, ch, cs))) {
			if (rc == -ENOMEM)
				util_err(err, errlen, rc, "%s: out of memory", name);
			goto out;
		}
		off += cs;
	}
	if (!xmlDocGetRootElement(a.doc))
		rc = util_err(err, errlen, -EINVAL, "%s: binary XML without a root element", name);
	else if (a.depth != 0)
		rc = util_err(err, errlen, -EINVAL, "%s: binary XML ends inside <%s>", name,
			      (const char *)a.cur->name);
out:
	free(a.s1);
	free(a.s2);
	free(a.s3);
	if (rc)
		xmlFreeDoc(a.doc);
	else
		*out = a.doc;
	return rc;
}
