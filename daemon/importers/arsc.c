/* resources.arsc reader (see arsc.h). */
#include "importers/arsc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importers/axml.h"
#include "base/array.h"
#include "base/util.h"

#define RES_STRING_POOL_TYPE 0x0001
#define RES_TABLE_TYPE	     0x0002
#define RES_TABLE_PACKAGE    0x0200
#define RES_TABLE_TYPE_TYPE  0x0201
#define TYPE_FLAG_SPARSE     0x01
#define TYPE_FLAG_OFFSET16   0x02
#define ENTRY_FLAG_COMPLEX   0x0001
#define ENTRY_FLAG_COMPACT   0x0008
#define NO_ENTRY	     0xffffffffu
#define NAME_MAX_LEN	     256

struct arsc_type {
	const uint8_t *c;
	uint32_t size, hsize, count, start;
	uint8_t id, flags;
	bool def;
	size_t pkg;
};

struct arsc_pkg {
	uint32_t id, type_off;
	struct axml_pool types, keys;
};

struct arsc {
	struct axml_pool values;
	struct arsc_pkg pkgs[ARSC_MAX_PACKAGES];
	size_t npkgs;
	struct arsc_type *types;
	size_t ntypes, captypes;
};

void arsc_free(struct arsc *t)
{
	if (!t)
		return;
	free(t->types);
	free(t);
}

static int add_type(struct arsc *t, const uint8_t *c, uint16_t hsize, uint32_t size, size_t pkg,
		    char *err, size_t errlen)
{
	if (hsize < 24)
		return util_err(err, errlen, -EINVAL,
				"resources.arsc: type chunk header too short");
	uint32_t cfgsize = axml_u32(c + 20);
	struct arsc_type ty = { .c = c,
				.size = size,
				.hsize = hsize,
				.id = c[8],
				.flags = c[9],
				.count = axml_u32(c + 12),
				.start = axml_u32(c + 16),
				.pkg = pkg };
	if (ty.id == 0 || cfgsize < 4 || 20 + (uint64_t)cfgsize > hsize || ty.start > size)
		return util_err(err, errlen, -EINVAL, "resources.arsc: malformed type chunk");
	uint64_t per =
		(ty.flags & (TYPE_FLAG_SPARSE | TYPE_FLAG_OFFSET16)) == TYPE_FLAG_OFFSET16 ? 2 : 4;
	if (ty.count > 65536 || hsize + per * ty.count > size)
		return util_err(err, errlen, -EINVAL,
				"resources.arsc: %u entries do not fit in their type chunk",
				ty.count);
	ty.def = true;
	for (uint32_t i = 4; i < cfgsize; i++)
		if (c[20 + i]) {
			ty.def = false;
			break;
		}
	if (t->ntypes >= ARSC_MAX_TYPES)
		return util_err(err, errlen, -EINVAL, "resources.arsc: more than %d type chunks",
				ARSC_MAX_TYPES);
	if (ARRAY_RESERVE(t->types, t->captypes, t->ntypes + 1, ARSC_MAX_TYPES))
		return util_err(err, errlen, -ENOMEM, "resources.arsc: out of memory");
	t->types[t->ntypes++] = ty;
	return 0;
}

static int add_package(struct arsc *t, const uint8_t *c, uint16_t hsize, uint32_t size, char *err,
		       size_t errlen)
{
	char msg[ERRLEN];
	if (hsize < 284)
		return util_err(err, errlen, -EINVAL, "resources.arsc: package header too short");
	if (t->npkgs >= ARSC_MAX_PACKAGES)
		return util_err(err, errlen, -EINVAL, "resources.arsc: more than %d packages",
				ARSC_MAX_PACKAGES);
	struct arsc_pkg *p = &t->pkgs[t->npkgs];
	p->id = axml_u32(c + 8);
	uint32_t ts = axml_u32(c + 268), ks = axml_u32(c + 276);
	p->type_off = hsize >= 288 ? axml_u32(c + 284) : 0;
	if (ts >= size || ks >= size ||
	    axml_pool_init(&p->types, c + ts, size - ts, msg, sizeof(msg)) ||
	    axml_pool_init(&p->keys, c + ks, size - ks, msg, sizeof(msg)))
		return util_err(err, errlen, -EINVAL,
				"resources.arsc: package type or key names malformed");
	size_t pkg = t->npkgs++;
	for (size_t off = hsize; off < size;) {
		uint16_t ct, ch;
		uint32_t cs;
		if (axml_chunk(c + off, size - off, 8, &ct, &ch, &cs))
			return util_err(err, errlen, -EINVAL,
					"resources.arsc: truncated or malformed chunk in package");
		if (ct == RES_TABLE_TYPE_TYPE) {
			int rc = add_type(t, c + off, ch, cs, pkg, err, errlen);
			if (rc)
				return rc;
		}
		off += cs;
	}
	return 0;
}

struct arsc *arsc_parse(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	uint16_t type, hsize;
	uint32_t size;
	char msg[ERRLEN];
	if (axml_chunk(buf, len, 12, &type, &hsize, &size) || type != RES_TABLE_TYPE) {
		util_err(err, errlen, -EINVAL, "resources.arsc: not a resource table");
		return NULL;
	}
	struct arsc *t = calloc(1, sizeof(*t));
	if (!t) {
		util_err(err, errlen, -ENOMEM, "resources.arsc: out of memory");
		return NULL;
	}
	for (size_t off = hsize; off < size;) {
		uint16_t ct, ch;
		uint32_t cs;
		int rc = 0;
		if (axml_chunk(buf + off, size - off, 8, &ct, &ch, &cs)) {
			util_err(err, errlen, -EINVAL,
				 "resources.arsc: truncated or malformed chunk at offset %zu", off);
			goto fail;
		}
		if (ct == RES_STRING_POOL_TYPE && !t->values.chunk) {
			if (axml_pool_init(&t->values, buf + off, cs, msg, sizeof(msg))) {
				util_err(err, errlen, -EINVAL, "resources.arsc: %s", msg);
				goto fail;
			}
		} else if (ct == RES_TABLE_PACKAGE) {
			rc = add_package(t, buf + off, ch, cs, err, errlen);
		}
		if (rc)
			goto fail;
		off += cs;
	}
	return t;
fail:
	arsc_free(t);
	return NULL;
}

/* The entry @e of type chunk @ty: pointer and bytes left, or NULL. */
static const uint8_t *entry_at(const struct arsc_type *ty, uint32_t e, size_t *left)
{
	const uint8_t *offs = ty->c + ty->hsize;
	uint64_t off = NO_ENTRY;
	if (ty->flags & TYPE_FLAG_SPARSE) {
		for (uint32_t i = 0; i < ty->count; i++) {
			if (axml_u16(offs + 4 * (size_t)i) == e) {
				off = (uint64_t)axml_u16(offs + 4 * (size_t)i + 2) * 4;
				break;
			}
		}
	} else if (e < ty->count) {
		if (ty->flags & TYPE_FLAG_OFFSET16) {
			uint16_t v = axml_u16(offs + 2 * (size_t)e);
			off = v == 0xffff ? NO_ENTRY : (uint64_t)v * 4;
		} else {
			off = axml_u32(offs + 4 * (size_t)e);
		}
	}
	if (off == NO_ENTRY || (uint64_t)ty->start + off + 8 > ty->size)
		return NULL;
	*left = ty->size - ty->start - (size_t)off;
	return ty->c + ty->start + off;
}

/* Key index and value of an entry; -EINVAL for complex or malformed ones. */
static int entry_read(const uint8_t *en, size_t left, uint32_t *key, uint8_t *vtype,
		      uint32_t *vdata)
{
	uint16_t esize = axml_u16(en), flags = axml_u16(en + 2);
	if (flags & ENTRY_FLAG_COMPACT) {
		*key = esize;
		*vtype = (uint8_t)(flags >> 8);
		*vdata = axml_u32(en + 4);
		return 0;
	}
	*key = axml_u32(en + 4);
	if (flags & ENTRY_FLAG_COMPLEX)
		return -EINVAL;
	if (esize < 8 || (uint64_t)esize + 8 > left)
		return -EINVAL;
	*vtype = en[esize + 3];
	*vdata = axml_u32(en + esize + 4);
	return 0;
}

static const struct arsc_type *find_entry(const struct arsc *t, uint32_t resid, const uint8_t **en,
					  size_t *left)
{
	uint32_t pkg = resid >> 24, tid = (resid >> 16) & 0xff, e = resid & 0xffff;
	const struct arsc_type *found = NULL;
	for (size_t i = 0; i < t->ntypes; i++) {
		const struct arsc_type *ty = &t->types[i];
		if (ty->id != tid || t->pkgs[ty->pkg].id != pkg)
			continue;
		size_t l = 0;
		const uint8_t *p = entry_at(ty, e, &l);
		if (!p)
			continue;
		if (!found || ty->def) {
			found = ty;
			*en = p;
			*left = l;
		}
		if (ty->def)
			break;
	}
	return found;
}

int arsc_value(const struct arsc *t, uint32_t resid, struct arsc_value *v, char *err, size_t errlen)
{
	const uint8_t *en = NULL;
	size_t left = 0;
	uint32_t key;
	const struct arsc_type *ty = find_entry(t, resid, &en, &left);
	if (!ty)
		return util_err(err, errlen, -ENOENT, "resource 0x%08x is not in resources.arsc",
				resid);
	if (entry_read(en, left, &key, &v->type, &v->data))
		return util_err(err, errlen, -EINVAL,
				"resource 0x%08x: not a simple value (or malformed)", resid);
	v->nondefault = !ty->def;
	return 0;
}

int arsc_string(const struct arsc *t, uint32_t resid, char *out, size_t cap, char *err,
		size_t errlen)
{
	for (int hop = 0; hop < 8; hop++) {
		struct arsc_value v;
		int rc = arsc_value(t, resid, &v, err, errlen);
		if (rc)
			return rc;
		if (v.type == AXML_TYPE_REFERENCE) {
			resid = v.data;
			continue;
		}
		if (v.type != AXML_TYPE_STRING)
			return util_err(err, errlen, -EINVAL,
					"resource 0x%08x is not a string (type 0x%02x)", resid,
					v.type);
		if (axml_pool_str(&t->values, v.data, out, cap))
			return util_err(err, errlen, -EINVAL,
					"resource 0x%08x: string out of range or too long", resid);
		return 0;
	}
	return util_err(err, errlen, -EINVAL, "resource 0x%08x: more than 8 references", resid);
}

int arsc_name(const struct arsc *t, uint32_t resid, char *out, size_t cap)
{
	const uint8_t *en = NULL;
	size_t left = 0;
	uint32_t key, vdata;
	uint8_t vtype;
	char type[NAME_MAX_LEN], name[NAME_MAX_LEN];
	const struct arsc_type *ty = find_entry(t, resid, &en, &left);
	if (!ty)
		return -ENOENT;
	const struct arsc_pkg *p = &t->pkgs[ty->pkg];
	(void)entry_read(en, left, &key, &vtype, &vdata); /* the key is read even for bags */
	uint32_t tidx = ty->id - 1u - p->type_off;
	if (ty->id <= p->type_off || axml_pool_str(&p->types, tidx, type, sizeof(type)) ||
	    axml_pool_str(&p->keys, key, name, sizeof(name)))
		return -ENOENT;
	int n = snprintf(out, cap, "%s/%s", type, name);
	return n < 0 || (size_t)n >= cap ? -E2BIG : 0;
}

/* Slot @i of a type chunk: its entry index and pointer (NULL when empty). */
static const uint8_t *entry_slot(const struct arsc_type *ty, uint32_t i, uint32_t *e, size_t *left)
{
	if (ty->flags & TYPE_FLAG_SPARSE) {
		const uint8_t *pair = ty->c + ty->hsize + 4 * (size_t)i;
		uint64_t off = (uint64_t)axml_u16(pair + 2) * 4;
		*e = axml_u16(pair);
		if ((uint64_t)ty->start + off + 8 > ty->size)
			return NULL;
		*left = ty->size - ty->start - (size_t)off;
		return ty->c + ty->start + off;
	}
	*e = i;
	return entry_at(ty, i, left);
}

int arsc_find(const struct arsc *t, const char *type, const char *name, uint32_t *resid)
{
	char buf[NAME_MAX_LEN];
	size_t budget = 1u << 20; /* entries looked at: bounded work on hostile tables */
	for (size_t i = 0; i < t->ntypes; i++) {
		const struct arsc_type *ty = &t->types[i];
		const struct arsc_pkg *p = &t->pkgs[ty->pkg];
		if (ty->id <= p->type_off ||
		    axml_pool_str(&p->types, ty->id - 1u - p->type_off, buf, sizeof(buf)) ||
		    strcmp(buf, type) != 0)
			continue;
		for (uint32_t k = 0; k < ty->count; k++) {
			const uint8_t *en;
			size_t left;
			uint32_t e, key, vdata;
			uint8_t vtype;
			if (budget-- == 0)
				return -ENOENT;
			if (!(en = entry_slot(ty, k, &e, &left)))
				continue;
			(void)entry_read(en, left, &key, &vtype, &vdata);
			if (axml_pool_str(&p->keys, key, buf, sizeof(buf)) == 0 &&
			    strcmp(buf, name) == 0) {
				*resid = (p->id << 24) | ((uint32_t)ty->id << 16) | e;
				return 0;
			}
		}
	}
	return -ENOENT;
}
